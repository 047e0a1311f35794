/*
 * The cross-host [IN-USE] lock of a Maildir: a lock file that two
 * privpop nodes sharing one Maildir (over NFS, or a cluster file
 * system) both see, so that one mailbox is never served to two sessions
 * at once, on one node or on several.
 *
 * The file, ".privpop-lock" in the Maildir, is made with the NFS-safe
 * recipe of liblockfile: the content is written to a uniquely named
 * temporary file ("<lock>.<node>.<pid>.<random>"), which is then
 * link()ed to the lock name; the lock is ours when the temporary file
 * then has two links, even when link() reported an error (NFS: the
 * server made the link but its reply was lost, and the retry said
 * EEXIST).  Its content is one line:
 *
 *	privpop-lock 1 <node> <boot id> <pid> <since>\n
 *
 * node: mail_lock_node, or the host name (1 to MDLOCK_NODE_MAX of
 * [A-Za-z0-9.-_]); boot id: /proc/sys/kernel/random/boot_id (36
 * characters of [0-9a-f-]), or "-" when it cannot be read; pid: the
 * worker's; since: when it was taken (seconds since 1970).
 *
 * While the session lives, the worker refreshes the file's mtime every
 * stale / MDLOCK_REFRESH_DIVISOR seconds (futimens(), which over NFS
 * sets the server's time), and checks each time that the lock name is
 * still its own file (a lock taken over by another node means this
 * session has lost the mailbox: it ends without expunging).  At the end
 * the file is removed.
 *
 * The stale rule (mdlock_decide): a lock is taken over when
 *  - it names this node and this boot and its pid is gone (kill(pid, 0)
 *    says ESRCH; EPERM is a live process of another user), at once; or
 *  - its mtime is more than mail_lock_stale seconds from now (before or
 *    after: a clock that ran ahead is no proof of life).  The nodes and
 *    the file server must keep their clocks within a few seconds of
 *    each other (NTP); a refresh comes every stale / 4 seconds, so a
 *    live lock is never older than that plus the skew.
 * Anything else found at the lock name (garbage content, a symlink, a
 * FIFO, a directory, a huge file: the mailbox owner may plant anything)
 * is held by someone unknown until its mtime is stale.
 *
 * Taking over is race-free across nodes: the stale lock is renamed to a
 * unique name first, and only the node whose rename succeeded goes on;
 * it then checks that the file it moved is the one it judged (same
 * inode): if another node had taken over in between, the fresh lock it
 * moved is linked back and the login is [IN-USE].  Then it makes its
 * own lock as above.
 *
 * Over NFS this relies on: link(), rename() and O_EXCL being atomic on
 * the server; close-to-open consistency (attributes read with fstat()
 * right after open() are the server's, not the attribute cache's; the
 * lock is never judged from stat() of a name); futimens() setting the
 * server's clock; clocks in sync (NTP).
 *
 * Parsed by privpop-store as the mailbox owner: the file is the owner's.
 */
#ifndef PRIVPOP_MAILDIR_LOCK_H
#define PRIVPOP_MAILDIR_LOCK_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "limits.h"
#include "mailbox.h"

#define MDLOCK_FILE		".privpop-lock"
#define MDLOCK_MAGIC		"privpop-lock 1 "
#define MDLOCK_BOOT_LEN		36	/* a UUID: 8-4-4-4-12 hex */

/* One lock's content, parsed. */
struct mdlock_info {
	char		node[MDLOCK_NODE_MAX + 1];
	char		boot[MDLOCK_BOOT_LEN + 1];	/* or "-" */
	uint32_t	pid;
	int64_t		since;
};

/* Who this worker is, for the lock it writes and the stale rule. */
struct mdlock_self {
	char		node[MDLOCK_NODE_MAX + 1];
	char		boot[MDLOCK_BOOT_LEN + 1];	/* or "-" */
	uint32_t	pid;
	int		stale;		/* seconds */
};

/* What was found at the lock name. */
struct mdlock_seen {
	int		parsed;		/* info is valid */
	struct mdlock_info info;
	time_t		mtime;		/* the last refresh */
};

/* How a pid looks from here: kill(pid, 0). */
enum mdlock_pid { MDLOCK_PID_ALIVE, MDLOCK_PID_GONE, MDLOCK_PID_UNKNOWN };

enum mdlock_verdict {
	MDLOCK_HELD,		/* [IN-USE] */
	MDLOCK_TAKE_DEAD,	/* this node, this boot, its pid gone */
	MDLOCK_TAKE_STALE,	/* not refreshed for more than stale */
};

/* The held lock of an open Maildir (all zero: none). */
struct mdlock {
	int		held;
	int		fd;		/* the lock file, while held */
	int		dirfd;		/* the Maildir's (not owned) */
	dev_t		dev;
	ino_t		ino;
	time_t		refreshed;	/* monotonic seconds */
};

/* Parse len bytes of a lock file; 0, or -1 when it is not exactly one
 * well-formed line (garbage: held by someone unknown). */
int	mdlock_parse(const char *p, size_t len, struct mdlock_info *out);

/* Format self's lock line (since: now) into buf; its length, or -1. */
int	mdlock_format(const struct mdlock_self *, time_t since, char *buf,
	    size_t bufsz);

/* Whether a node name is one (1 to MDLOCK_NODE_MAX of [A-Za-z0-9.-_]). */
int	mdlock_node_ok(const char *s);

/* The stale rule above, at time now; pid_state is asked only for a
 * lock of this node and boot. */
enum mdlock_verdict mdlock_decide(const struct mdlock_seen *,
	    const struct mdlock_self *, time_t now,
	    enum mdlock_pid (*pid_state)(uint32_t));

/* The worker's settings, from STORE_INIT: stale seconds (within
 * MDLOCK_STALE_MIN..MAX) and node name ("" = the host name).  Without
 * this call: MDLOCK_STALE_DEFAULT and the host name. */
void	mdlock_configure(int stale, const char *node);

/* Take the lock of the Maildir dirfd (path for the logs): MAIL_OK,
 * MAIL_INUSE, or MAIL_TEMP. */
enum mail_err mdlock_acquire(struct mdlock *, int dirfd, const char *path);

/* Move the stale lock judged to be (dev, ino) out of the way, as above
 * (mdlock_acquire's step, here for the tests): 0 when it was that file
 * and is gone; -1 when another node's rename came first, or a fresh
 * lock was there instead (it is linked back). */
int	mdlock_take_over(int dirfd, dev_t dev, ino_t ino, const char *path);

/* Seconds until the next refresh is due (0: now), or -1 with no lock. */
int	mdlock_next_refresh(const struct mdlock *);

/* Whether the lock name is still this lock's file; when it is and
 * touch is set, its mtime is set to now.  0, or -1: lost (taken over). */
int	mdlock_check(struct mdlock *, int touch);

/* Remove the lock file if it is still ours; close. */
void	mdlock_release(struct mdlock *);

#endif
