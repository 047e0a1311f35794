/*
 * Runs as root only in dotlock_child_start(), up to the fork and, in
 * the child, its priv_drop().  The child then runs as the mailbox
 * owner with the spool's group (mail_privileged_group) and serves its
 * worker; the worker side (dotlock_child_use) runs as the owner
 * without that group.  See dotlock_child.h.
 *
 * Runs as: root up to the fork, then the mailbox owner.
 */
#include "config.h"

#include <sys/prctl.h>
#include <sys/wait.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ipc.h"
#include "ipc_master.h"
#include "limits.h"
#include "log.h"
#include "mbox_lock.h"
#include "privdrop.h"
#include "dotlock_child.h"

/* Descriptors of the dotlock child: stdio, syslog, its socket and the
 * one temporary file a dotlock attempt opens. */
#define DLC_RLIMIT_NOFILE	16

static int lockd = -1;		/* the worker's end */
static pid_t lockd_pid = -1;	/* the child, for dotlock_child_end */
static int dir_sent;		/* the child holds the mbox's directory */

static void
reply(int fd, int r, int err)
{
	if (ipc_send_lockd_result(fd, r, err) == -1)
		fatal("dotlock child: send");
}

/*
 * The first lock the worker takes is that of its mbox (it asks before
 * it has read a byte of mail, on the path privpop-auth gave it), and
 * brings the mbox's directory, held open; every later request must
 * name the same lock, in that directory, so a subverted worker gets no
 * other file made or removed in the spool.  A lock still held when the
 * worker is gone is removed.
 */
__attribute__((noreturn)) static void
serve(int fd)
{
	char pinned[sizeof(((struct mbox_lock *)0)->dotlock)];
	const char *path;
	uint32_t op, stale;
	struct msg m;
	size_t len;
	int held = 0, dirfd = -1, r, err, mfd;

	pinned[0] = '\0';
	for (;;) {
		if ((r = ipc_recv(fd, &m)) == 0)
			break;
		if (r == -1)
			fatal("dotlock child: receive");
		if ((m.fd != -1) != (dirfd == -1) ||
		    ipc_get_lockd_request(&m, &op, &path, sizeof(pinned) - 1,
		    &stale, &mfd) == -1)
			fatalx("dotlock child: malformed request");
		len = strlen(path);
		if ((op != DLC_TAKE && op != DLC_DROP) ||
		    strchr(path, '/') != NULL || len < 6 ||
		    strcmp(path + len - 5, ".lock") != 0 || stale > DOTLOCK_STALE_MAX ||
		    (dirfd == -1 && op != DLC_TAKE))
			fatalx("dotlock child: bad request");
		if (dirfd == -1) {
			dirfd = mfd;
			snprintf(pinned, sizeof(pinned), "%s", path);
		}
		if (strcmp(path, pinned) != 0)
			fatalx("dotlock child: %s is not the lock of this "
			    "worker's mbox", path);
		errno = 0;
		if (op == DLC_TAKE) {
			r = mbox_dotlock_try(dirfd, path, (int)stale);
			held |= r == 1;
		} else {
			r = unlinkat(dirfd, path, 0) == 0 || errno == ENOENT ?
			    1 : -1;
			held = 0;
		}
		err = errno;
		reply(fd, r, err);
	}
	if (held)
		unlinkat(dirfd, pinned, 0);
	_exit(0);
}

int
dotlock_child_start(uid_t uid, gid_t gid, gid_t extra, int close_fd)
{
	int sv[2];

	if (ipc_socketpair(sv) == -1)
		return -1;
	switch (lockd_pid = fork()) {
	case -1:
		close(sv[0]);
		close(sv[1]);
		return -1;
	case 0:
		close(sv[0]);
		close(close_fd);
		/* told apart from its worker in ps and /proc */
		(void)prctl(PR_SET_NAME, "privpop-lockd", 0, 0, 0);
		priv_drop(uid, gid, extra, NULL);
		priv_limit(DLC_RLIMIT_NOFILE, 1);
		serve(sv[1]);
	}
	close(sv[1]);
	return sv[0];
}

static int
ask(uint32_t op, int dirfd, const char *lock, int stale)
{
	struct msg m;
	int r, err;

	if (ipc_send_lockd_request(lockd, op, lock, (uint32_t)stale,
	    dir_sent ? -1 : dirfd) == -1)
		fatal("dotlock child: send");
	dir_sent = 1;
	/* without an answer the lock's state is unknown: end the session
	 * (the child removes a lock it holds once we are gone) */
	if (ipc_recv(lockd, &m) != 1 ||
	    ipc_get_lockd_result(&m, &r, &err) == -1)
		fatalx("dotlock child: no valid answer");
	errno = err;
	return r;
}

static int
take(int dirfd, const char *lock, int stale)
{
	return ask(DLC_TAKE, dirfd, lock, stale);
}

static void
drop(int dirfd, const char *lock)
{
	(void)ask(DLC_DROP, dirfd, lock, 0);
}

void
dotlock_child_use(int fd)
{
	lockd = fd;
	mbox_lock_set_dotlock(take, drop);
}

void
dotlock_child_end(void)
{
	if (lockd == -1)
		return;
	close(lockd);
	lockd = -1;
	mbox_lock_set_dotlock(NULL, NULL);
	/* it ends at that EOF; reaped, so not even a zombie of it holds
	 * the group's name in /proc */
	if (lockd_pid > 0)
		while (waitpid(lockd_pid, NULL, 0) == -1 && errno == EINTR)
			;
	lockd_pid = -1;
}
