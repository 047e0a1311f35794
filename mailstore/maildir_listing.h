/*
 * The Maildir listing snapshot: the file names of the messages, in
 * message order, as the last full scan found them.  While neither cur/
 * nor new/ has changed since, a login takes the names from it instead
 * of reading both directories again (100,000 entries cost about a third
 * of a second session's open).  Dovecot's Maildir sync skips its
 * readdir on the same test: the directories' mtimes.
 *
 * ".privpop-listing" in the Maildir is text:
 *	privpop-listing 1 <cur stamp> <new stamp> <count>\n
 *	cur/<name>\n or new/<name>\n	count lines, names strictly ascending
 * where a stamp is "<dev> <ino> <mtime seconds> <mtime nanoseconds>".
 *
 * It is written only when both mtimes are at least MDLIST_SETTLE_SECS
 * older than the scan: a change in the same timestamp tick as the scan
 * (coarse clocks, 2-second file systems) would leave the mtime as it
 * was and hide behind it.  It is the owner's own file and is read as
 * untrusted input: anything malformed means a full scan.
 */
#ifndef PRIVPOP_MAILDIR_LISTING_H
#define PRIVPOP_MAILDIR_LISTING_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "limits.h"
#include "mailbox.h"

#define MDLIST_FILE		".privpop-listing"
#define MDLIST_MAGIC		"privpop-listing 1 "
#define MDLIST_SETTLE_SECS	2
/* Larger listings (a million messages with long names) are not saved:
 * those mailboxes are scanned at every login. */
#define MDLIST_MAX_BYTES	((size_t)128 * 1024 * 1024)

struct mdlist_stamp {
	uint64_t	dev, ino;
	int64_t		sec;
	uint64_t	nsec;
};

/* cur/ and new/, as stat(2) shows them before a scan */
struct mdlist_dirs {
	struct mdlist_stamp	cur, new;
};

struct mdlist {
	char		*buf;	/* the file, split in place */
	const char	**names;	/* "cur/..." or "new/...", in order */
	size_t		 n;
};

/* Stamp cur/ and new/ of the Maildir dirfd.  0 or -1. */
int	mdlist_stat(int dirfd, struct mdlist_dirs *d);

/* Whether a listing taken under d may be saved at time now. */
int	mdlist_settled(const struct mdlist_dirs *d, time_t now);

/* Parse len bytes of buf (which l takes over and frees) written under
 * the stamps want.  0, or -1 with l empty when the text is not a valid
 * listing or was taken under other stamps. */
int	mdlist_parse(struct mdlist *l, char *buf, size_t len,
	    const struct mdlist_dirs *want);

/* Read MDLIST_FILE in the Maildir dirfd: 0, or -1 with l empty when it
 * is missing, stale or bad. */
int	mdlist_load(struct mdlist *l, int dirfd, const struct mdlist_dirs *want);

/* Replace MDLIST_FILE (atomically, by rename) with the names of msgs
 * (message order, none expunged) under the stamps d.  0 or -1. */
int	mdlist_save(int dirfd, const struct mdlist_dirs *d,
	    const struct mail_msg *msgs, uint32_t count);

void	mdlist_free(struct mdlist *l);

#endif
