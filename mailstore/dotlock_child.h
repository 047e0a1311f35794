/*
 * The dotlock child of a worker whose mbox lies in a spool that only a
 * group may write to (Debian's /var/mail is root:mail 2775).  That group
 * opens every user's spool, so the worker, which parses mail written by
 * strangers, drops without it; the dotlock child alone keeps it and only
 * makes and removes "<mbox>.lock" when its worker asks.
 *
 * Forked as root by the process that becomes the worker, before either
 * drops.  Both are then the owner's uid and never dumpable: the owner
 * can attach to neither.
 */
#ifndef PRIVPOP_DOTLOCK_CHILD_H
#define PRIVPOP_DOTLOCK_CHILD_H

#include <sys/types.h>

/* MSG_LOCKD_REQUEST operations */
#define DLC_TAKE	1	/* one attempt, as mbox_dotlock_try */
#define DLC_DROP	2	/* remove the lock taken */

/*
 * As root: fork the dotlock child, which drops to uid, gid and extra,
 * closes close_fd (the worker's socket) and serves the other end of a
 * new socketpair until its worker is gone.  Returns the worker's end,
 * or -1 with errno set.
 */
int	dotlock_child_start(uid_t uid, gid_t gid, gid_t extra, int close_fd);

/* In the worker: make and remove dotlocks through the child on fd. */
void	dotlock_child_use(int fd);
/* In the worker, once it knows its mailbox needs no dotlock of the
 * spool's (mail_location = auto that found ~/Maildir): close the child's
 * socket, and the child, which holds the spool's group, ends. */
void	dotlock_child_end(void);

#endif
