/*
 * The Maildir size cache: the POP3 size of every message whose file
 * name carries no ",W=", so that a login does not read every message
 * again to count its CRLFs and dot-stuffing.  A Maildir message never
 * changes after delivery (only its name does, for flags), so its size
 * is keyed by the unique part of the name, as its UIDL is.
 *
 * The file, ".privpop-sizes" in the Maildir, is text:
 *	privpop-sizes 1\n
 *	<uidl> <octets>\n	one per message
 * It is the owner's own file and is read as untrusted input: anything
 * malformed discards the whole cache, which is then rebuilt.
 */
#ifndef PRIVPOP_MAILDIR_CACHE_H
#define PRIVPOP_MAILDIR_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "limits.h"
#include "mailbox.h"

#define MDCACHE_FILE		".privpop-sizes"
#define MDCACHE_MAGIC		"privpop-sizes 1\n"
/* one line per message at most: uidl, space, 20 digits, newline */
#define MDCACHE_MAX_LINE	(POP3_MAX_UIDL + 22)
#define MDCACHE_MAX_BYTES	((size_t)MAIL_MAX_MESSAGES * MDCACHE_MAX_LINE + \
				 sizeof(MDCACHE_MAGIC))

struct mdcache_ent {
	const char	*uidl;	/* NUL-terminated, inside buf */
	uint64_t	 size;
};

struct mdcache_slot {
	uint32_t	 hash;	/* low bits of the key's: most probes end
				   without a strcmp */
	uint32_t	 ent;	/* index + 1; 0 = empty */
};

struct mdcache {
	char			*buf;	/* the file, split in place */
	struct mdcache_ent	*ents;	/* in the file's (message) order */
	struct mdcache_slot	*tab;	/* open addressing, mask + 1 slots;
					   built at the first lookup that
					   misses the next line */
	size_t			 mask;
	size_t			 n;	/* entries */
	size_t			 next;	/* the entry after the last hit */
	size_t			 hits;	/* lookups that found one */
};

/* Parse len bytes of buf (which the cache takes over and frees) into c.
 * 0, or -1 with c empty when the text is not a valid cache. */
int	mdcache_parse(struct mdcache *c, char *buf, size_t len);

/* Read MDCACHE_FILE in the Maildir dirfd; a missing or bad file leaves
 * c empty. */
void	mdcache_load(struct mdcache *c, int dirfd);

/* The cached size of uidl: 0, or -1 when it is not cached.  Lookups
 * in the file's order are cheapest (the entry after the last hit is
 * tried first). */
int	mdcache_lookup(struct mdcache *c, const char *uidl, uint64_t *size_r);

/* Replace MDCACHE_FILE (atomically, by rename) with the sizes of the
 * messages not expunged whose name has no ",W=" (msgs in message order,
 * as maildir_open sorts them).  0 or -1. */
int	mdcache_save(int dirfd, const struct mail_msg *msgs, uint32_t count);

void	mdcache_free(struct mdcache *c);

#endif
