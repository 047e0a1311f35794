/*
 * Another POP3 server's UIDLs for a Maildir, so that a site moving to
 * privpop keeps its clients from fetching every message again: the
 * records Dovecot and Courier keep in the Maildir, read at every open
 * (never written).  A message they cover is served the UIDL that server
 * served; the others (mail delivered since) keep privpop's own.
 *
 * dovecot-uidlist (Dovecot's maildir-uidlist.c comment; Dovecot's
 * Maildir documentation):
 *	3 V<uidvalidity> N<next uid> G<mailbox guid> ...\n
 *	<uid> [<key><value> ...] :<file name>\n
 * keys A-Z: S (file size), W (POP3 size), G (message GUID),
 * P (the POP3 UIDL: wins over pop3_uidl_format; empty: the file name),
 * O (POP3 order, not used here).  Version 1 (Dovecot 1.0, Courier's
 * courierimapuiddb) is "1 <uidvalidity> <next uid>", then
 * "<uid> <file name>".  UIDs ascend.  The UIDL of a record without P is
 * pop3_uidl_format rendered (uidlfmt.h).
 *
 * courierpop3dsizelist (Courier's pop3dserver.c, list versions 2, 3):
 *	/<version> <next uid> <uidvalidity>\n
 *	<file name> <size> <uid>:<uidvalidity>[:<utf8>]\n
 * the file name being everything before the last two fields.  Courier
 * serves "UID<uid>-<uidvalidity>" ("UID<uid>" when the uidvalidity is
 * 0), or for a uid of 0 the file name up to ':' with bytes outside
 * 0x21-0x7E and ' " + written as +XX.
 *
 * File names are matched by their unique part (up to ':'), as privpop
 * lists them.  Both files are the owner's and untrusted: a bad header
 * ignores the file, a bad line (or an unterminated last one) its
 * message; a UIDL that is not 1 to 70 characters of 0x21-0x7E, or that
 * another message of the listing has, is not served (maildir.c).
 */
#ifndef PRIVPOP_MAILDIR_UIDMAP_H
#define PRIVPOP_MAILDIR_UIDMAP_H

#include <stddef.h>
#include <stdint.h>

#include "limits.h"

#define UIDMAP_DOVECOT_FILE	"dovecot-uidlist"
#define UIDMAP_COURIER_FILE	"courierpop3dsizelist"

enum uidmap_kind {
	UIDMAP_DOVECOT = 1,
	UIDMAP_COURIER
};

struct uidmap_ent {
	const char	*key;	/* unique part of the name, in buf */
	const char	*pop3;	/* Dovecot's P value ("" too), or NULL */
	const char	*guid;	/* Dovecot's G value, or NULL */
	uint64_t	 uid;	/* Dovecot: 1 to 2^32-2; Courier: any */
	uint64_t	 uidv;	/* Courier's, per line */
	int		 dead;	/* Courier: named twice, vouches for none */
};

struct uidmap {
	int			 kind;	/* 0: empty */
	char			*buf;	/* the file, split in place */
	struct uidmap_ent	*ents;
	size_t			 n;
	uint32_t		*tab;	/* open addressing: entry + 1 */
	size_t			 mask;
	uint32_t		 uidvalidity;	/* Dovecot's header */
	size_t			 bad;	/* lines not used */
};

/* Parse len bytes of buf (taken over, freed by uidmap_free) as a file
 * of kind.  0, or -1 (the map empty) when the header is not valid. */
int	uidmap_parse(struct uidmap *, enum uidmap_kind, char *buf, size_t len);

/* Read kind's file in the Maildir dirfd: 0, or -1 (the map empty) when
 * it is missing or unusable. */
int	uidmap_load(struct uidmap *, enum uidmap_kind, int dirfd);

/* The UIDL the map gives the message whose unique part is key, with
 * pop3_uidl_format fmt for Dovecot records: 0 with a valid UIDL in
 * uidl (uidlsz > POP3_MAX_UIDL), or -1. */
int	uidmap_lookup(const struct uidmap *, const char *key, const char *fmt,
	    char *uidl, size_t uidlsz);

void	uidmap_free(struct uidmap *);

#endif
