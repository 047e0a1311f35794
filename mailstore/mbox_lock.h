/*
 * Locking an mbox the way Debian's delivery agents do, so that privpop
 * and Postfix local, procmail, maildrop or mutt never write at once:
 *
 * dotlock  "<mbox>.lock", created like liblockfile: a unique temporary
 *          file linked to the lock name (safe on NFS), retried until the
 *          timeout; a lock older than the stale age is broken.
 * fcntl    a POSIX write lock on the whole file (F_SETLK, retried).
 * flock    a BSD lock (only where configured).
 *
 * Locks are taken in the order dotlock, fcntl, flock (as Dovecot and
 * procmail do) and released in reverse.
 */
#ifndef PRIVPOP_MBOX_LOCK_H
#define PRIVPOP_MBOX_LOCK_H

#include "conf.h"	/* MBOX_LOCK_* */
#include "limits.h"	/* DOTLOCK_PATH_MAX */

struct mbox_lock {
	int		 held;		/* MBOX_LOCK_* now held */
	int		 fd;		/* the mbox (fcntl, flock) */
	int		 dirfd;		/* where the dotlock is */
	char		 dotlock[DOTLOCK_PATH_MAX];	/* "<path>.lock" */
};

enum mbox_lock_err { ML_OK = 0, ML_TIMEOUT, ML_ERROR };

/* Take every lock in set (MBOX_LOCK_*) on path/fd within timeout
 * seconds; a dotlock older than stale seconds is removed.  path is
 * relative to dirfd (the mbox's directory, held open, so a directory
 * swapped for a symlink is not followed; or AT_FDCWD). */
enum mbox_lock_err mbox_lock(struct mbox_lock *, int dirfd, const char *path,
	    int fd, int set, int timeout, int stale);
void	mbox_unlock(struct mbox_lock *);

/* One dotlock attempt on lock (relative to dirfd): 1 taken, 0 busy (a
 * stale one or one of a process that is gone is removed), -1 error. */
int	mbox_dotlock_try(int dirfd, const char *lock, int stale);

/* Make and remove dotlocks through these instead (the worker of a
 * root:mail spool asks its dotlock child, mailstore/dotlock_child.h);
 * NULL for this process's own again. */
void	mbox_lock_set_dotlock(int (*take)(int, const char *, int),
	    void (*drop)(int, const char *));

#endif
