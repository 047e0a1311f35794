/*
 * RFC 2449 LOGIN-DELAY and EXPIRE, enforced by privpop-store (issue 19).
 * The state is two small files of the mailbox owner's, beside the
 * Maildir's own (in the Maildir) or the mbox's index files (in
 * mbox_index_dir, named after the mbox like its cache):
 *
 * - the last successful login: "privpop-login 1\n" and the time in
 *   seconds since the epoch, one line; a login less than LOGIN-DELAY
 *   seconds after it is refused and leaves it as it was;
 * - the first retrieval of each message, for EXPIRE n > 0:
 *   "privpop-expire 1\n", then a line per message, "SECONDS UIDL\n",
 *   written to a new file, synced and renamed into place; a record of a
 *   message no longer in the mailbox is dropped at the next save.
 *
 * The owner can write both files, so they are untrusted input: read
 * with fs_read_file (no symlink, a regular file of the owner's with one
 * link, a size bound of common/limits.h), and a line that does not
 * parse is skipped (its message just does not expire).  The parsers
 * here are pure functions, unit-tested and fuzzed.
 *
 * In builds with --enable-test-hooks only, a file
 * ".privpop-test-clock" in the mailbox's directory (the Maildir, or the
 * directory holding the mbox) holds a signed number of seconds that is
 * added to the clock, so that e2e tests can move days ahead.
 */
#ifndef PRIVPOP_EXPIRE_H
#define PRIVPOP_EXPIRE_H

#include <stddef.h>
#include <stdint.h>

#include "limits.h"
#include "mailbox.h"

#define EXPIRE_LOGIN_MAGIC	"privpop-login 1\n"
#define EXPIRE_REC_MAGIC	"privpop-expire 1\n"
/* Maildir: the names in the Maildir; mbox: suffixes of the index
 * files' names (mbox_index_name) */
#define EXPIRE_LOGIN_FILE	".privpop-login"
#define EXPIRE_REC_FILE		".privpop-expire"
#define EXPIRE_LOGIN_SUFFIX	".login"
#define EXPIRE_REC_SUFFIX	".expire"
#define EXPIRE_TEST_CLOCK	".privpop-test-clock"
/* A time in a record: after 1970, before the year 10000 */
#define EXPIRE_TIME_MAX		((int64_t)253402300799)
#define EXPIRE_DAY		86400

struct expire_rec {
	int64_t		 first;			/* seconds */
	char		 uidl[POP3_MAX_UIDL + 1];
};

/* The records of len bytes at buf: a malloc'd array (NULL when none)
 * in *recs_r, sorted by UIDL, duplicates dropped (the earliest kept),
 * count in *n_r.  A file without the magic line holds none.  A line
 * that is not "SECONDS UIDL" (SECONDS 1 to EXPIRE_TIME_MAX, a UIDL of 1
 * to POP3_MAX_UIDL characters 0x21 to 0x7e) is skipped, as is a last
 * line without its newline (a write cut short).  0, or -1 (memory). */
int	expire_parse(const char *buf, size_t len, struct expire_rec **recs_r,
	    uint32_t *n_r);
/* The record of uidl among n sorted ones, or NULL. */
const struct expire_rec *expire_find(const struct expire_rec *, uint32_t n,
	    const char *uidl);
/* The last login time of a login file's len bytes: 0 and *t_r, or -1
 * (malformed: as if there were none). */
int	login_parse(const char *buf, size_t len, int64_t *t_r);
/* The test clock's offset: an optional '-', digits (at most ten
 * years of seconds), an optional newline.  0 and *off_r, or -1. */
int	test_clock_parse(const char *buf, size_t len, int64_t *off_r);

/*
 * The worker's side (store_serve.c), on files in dirfd (the Maildir or
 * the mbox's index directory) under the names given.
 */
/* time(NULL), plus the test clock's offset in test builds (clockfd:
 * the directory of the mailbox, -1 for none). */
int64_t	expire_now(int clockfd);
/* Whether a login now is refused: 1 with the seconds still to wait in
 * *wait_r, else 0 (no file, a malformed one, or one in the future:
 * allowed). */
int	login_refused(int dirfd, const char *name, uint32_t delay, int64_t now,
	    uint32_t *wait_r);
/* Record now as the last login (a new file, synced, renamed). */
void	login_record(int dirfd, const char *name, int64_t now);
/* Load the records (none when the file is missing, too large or
 * malformed). */
void	expire_load(int dirfd, const char *name, struct expire_rec **recs_r,
	    uint32_t *n_r);
/* Write first[i] of every message i with first[i] != 0 and not
 * skipped (msgs[i].deleted when skip_deleted); 0 or -1 (logged). */
int	expire_save(int dirfd, const char *name, const struct mail_msg *msgs,
	    const int64_t *first, uint32_t count, int skip_deleted);

#endif
