#ifndef PRIVPOP_LANG_H
#define PRIVPOP_LANG_H

#include <stddef.h>

#include "limits.h"

/*
 * RFC 6856 LANG: the session's answers through message catalogs.
 * English is built in (the texts of session.c, as they are); a catalog
 * file <tag>.txt in lang_dir translates the text after the status
 * indicator and any response code, never the code itself (RFC 2449).
 * File format (README "Languages"):
 *	# a comment
 *	@name<TAB>Deutsch
 *	English text<TAB>translation
 * where the English text is an answer's format as session.c writes it
 * after "+OK " or "-ERR " and its "[CODE] " (e.g. "Authentication
 * failed."), and the translation holds the same printf conversions
 * (%s, %u, %llu, ...) in the same order (%.0s may stand for a %s it
 * leaves out).  Texts are UTF-8 without control characters.
 */

struct lang_entry {
	const char	*en;
	const char	*tr;
};

struct lang_cat {
	char		 tag[LANG_TAG_MAX + 1];
	const char	*name;		/* the @name line, else the tag */
	struct lang_entry *e;
	size_t		 n;
	char		*buf;		/* the file, owned */
};

/* Parse the len bytes at buf (len + 1 bytes long: one is written past
 * the text; modified in place, kept by c) into c.
 * Returns 0, or -1 with the 1-based number of the bad line in
 * *line_r. */
int	lang_parse(struct lang_cat *c, char *buf, size_t len,
	    size_t *line_r);
void	lang_free(struct lang_cat *c);

/* Whether the len bytes at p are a language tag as privpop names its
 * catalogs (RFC 5646's form: alpha{1,8} *("-" alnum{1,8})). */
int	lang_tag_ok(const char *p, size_t len);

/* The slot zygote (or an inetd session) after its drop, before its
 * filter: read every catalog of the directory dirfd, which was opened
 * before the chroot, then close it. */
void	lang_load(int dirfd);
/* Add a catalog of tag made from the malloc'd buf of len + 1 bytes (taken); -1 if
 * malformed (logged) or no room. */
int	lang_add(const char *tag, char *buf, size_t len);
void	lang_reset(void);

/* Choose the language for a LANG argument (a language range, "*" the
 * default, RFC 4647 lookup: "de-CH" falls back to "de").  0 or -1. */
int	lang_select(const char *range, size_t len);
const char *lang_current(void);

/* The languages offered, English first: 0 <= i < lang_count(). */
size_t	lang_count(void);
const char *lang_tag(size_t i);
const char *lang_name(size_t i);

/* The answer format fmt in the current language: fmt itself when
 * English or untranslated, else a format with the same conversions. */
const char *lang_format(const char *fmt);
/* The same for a whole answer line (no conversions). */
const char *lang_line(const char *line);

#endif
