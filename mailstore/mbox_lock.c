/*
 * Runs as the mailbox owner (never root), with at most the configured
 * mail_privileged_group besides its own group, which dotlocks in a
 * root:mail 2775 spool need.
 *
 * Runs as: mailbox owner (privpop-store).
 */
#include "config.h"

#include <sys/file.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#include <linux/magic.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "limits.h"
#include "log.h"
#include "mbox_lock.h"
#include "numparse.h"

/* Pause between attempts at a busy lock. */
#define LOCK_RETRY_MS	100

static void
pause_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static int
expired(const struct timespec *start, int timeout)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	/* milliseconds: whole seconds could end a 1 s wait at once */
	return (now.tv_sec - start->tv_sec) * 1000L +
	    (now.tv_nsec - start->tv_nsec) / 1000000L >= timeout * 1000L;
}

/* Whether the directory is on NFS, where a dotlock may be another
 * host's: its pid means nothing here (a liblockfile dotlock names no
 * host), so only its age can make it stale.  fstatfs is in the
 * worker's filter for this. */
static int
on_nfs(int dirfd)
{
	struct statfs sf;

	return fstatfs(dirfd, &sf) == 0 && sf.f_type == NFS_SUPER_MAGIC;
}

/* A lock file holding the pid of a process that no longer exists (on
 * this host: a lock without a pid, or any lock on NFS, is only broken
 * by age). */
static int
holder_dead(int dirfd, const char *lock)
{
	char b[24];
	uint64_t pid;
	ssize_t n;
	size_t len;
	int fd;

	if (on_nfs(dirfd))
		return 0;
	/* O_NONBLOCK: a FIFO planted as the lock must not hang us */
	fd = openat(dirfd, lock, O_RDONLY | O_CLOEXEC | O_NOFOLLOW |
	    O_NONBLOCK);
	if (fd == -1)
		return 0;
	n = read(fd, b, sizeof(b));
	close(fd);
	if (n <= 0)
		return 0;
	{
		const char *nl = memchr(b, '\n', (size_t)n);

		len = nl != NULL ? (size_t)(nl - b) : (size_t)n;
	}
	if (parse_uint(b, len, 2, INT32_MAX, &pid) == -1)
		return 0;
	return kill((pid_t)pid, 0) == -1 && errno == ESRCH;
}

/* One attempt: 1 taken, 0 busy, -1 error. */
int
mbox_dotlock_try(int dirfd, const char *lock, int stale)
{
	char tmp[DOTLOCK_TMP_MAX];
	char host[DOTLOCK_HOST_MAX];
	struct stat st;
	int fd, r = 0;

	if (gethostname(host, sizeof(host)) == -1)
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	/* liblockfile: a unique name in the same directory, then link() */
	if (snprintf(tmp, sizeof(tmp), "%s.%ld.%ld.%s", lock, (long)getpid(),
	    (long)time(NULL), host) >= (int)sizeof(tmp))
		return -1;
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
	    O_NOFOLLOW, 0644);
	if (fd == -1)
		return -1;
	/* the holder's pid, as liblockfile writes it */
	{
		char pid[24];
		int n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());

		(void)!write(fd, pid, (size_t)n);
	}
	close(fd);
	if (linkat(dirfd, tmp, dirfd, lock, 0) == 0)
		r = 1;
	else if (fstatat(dirfd, tmp, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    st.st_nlink == 2)
		r = 1;	/* link() reported failure but did it (NFS) */
	else if (errno != EEXIST)
		r = -1;
	unlinkat(dirfd, tmp, 0);
	if (r != 0)
		return r;
	/* busy: break it when its holder is gone or it is stale */
	if (holder_dead(dirfd, lock)) {
		log_warnx("removing lock %s of a process that is gone", lock);
		unlinkat(dirfd, lock, 0);
	} else if (fstatat(dirfd, lock, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    time(NULL) - st.st_mtime > stale) {
		log_warnx("removing stale lock %s (%lds old)", lock,
		    (long)(time(NULL) - st.st_mtime));
		unlinkat(dirfd, lock, 0);
	}
	return 0;
}

static void
dotlock_remove(int dirfd, const char *lock)
{
	unlinkat(dirfd, lock, 0);
}

/* Where dotlocks are made: here, or by the dotlock child that holds
 * the spool's group (mbox_lock_set_dotlock). */
static int (*dotlock_take)(int, const char *, int) = mbox_dotlock_try;
static void (*dotlock_drop)(int, const char *) = dotlock_remove;

void
mbox_lock_set_dotlock(int (*take)(int, const char *, int),
    void (*drop)(int, const char *))
{
	/* NULL: this process's own dotlocks again */
	dotlock_take = take != NULL ? take : mbox_dotlock_try;
	dotlock_drop = drop != NULL ? drop : dotlock_remove;
}

/* One attempt at a kernel lock: 0 taken, 1 busy, -1 error. */
static int
try_fcntl(int fd)
{
	struct flock fl;

	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	if (fcntl(fd, F_SETLK, &fl) == 0)
		return 0;
	return (errno == EACCES || errno == EAGAIN || errno == EINTR) ? 1 : -1;
}

static int
try_flock(int fd)
{
	if (flock(fd, LOCK_EX | LOCK_NB) == 0)
		return 0;
	return (errno == EWOULDBLOCK || errno == EINTR) ? 1 : -1;
}

/* Retry a kernel lock until the deadline; on failure the locks taken
 * so far are given back. */
static enum mbox_lock_err
retry_kernel_lock(struct mbox_lock *l, int fd, int (*try)(int),
    const struct timespec *start, int timeout, const char *path,
    const char *what)
{
	int r;

	while ((r = try(fd)) != 0) {
		if (r == -1) {
			log_warn("%s %s", what, path);
			mbox_unlock(l);
			return ML_ERROR;
		}
		if (expired(start, timeout)) {
			mbox_unlock(l);
			return ML_TIMEOUT;
		}
		pause_ms(LOCK_RETRY_MS);
	}
	return ML_OK;
}

enum mbox_lock_err
mbox_lock(struct mbox_lock *l, int dirfd, const char *path, int fd,
    int set, int timeout, int stale)
{
	struct timespec start;
	enum mbox_lock_err e;
	int r;

	memset(l, 0, sizeof(*l));
	l->fd = fd;
	l->dirfd = dirfd;
	clock_gettime(CLOCK_MONOTONIC, &start);
	if (set & MBOX_LOCK_DOTLOCK) {
		if (snprintf(l->dotlock, sizeof(l->dotlock), "%s.lock", path) >=
		    (int)sizeof(l->dotlock))
			return ML_ERROR;
		while ((r = dotlock_take(dirfd, l->dotlock, stale)) == 0) {
			if (expired(&start, timeout))
				return ML_TIMEOUT;
			pause_ms(LOCK_RETRY_MS);
		}
		if (r == -1) {
			log_warn("dotlock %s (does the worker need "
			    "mail_privileged_group?)", l->dotlock);
			return ML_ERROR;
		}
		l->held |= MBOX_LOCK_DOTLOCK;
	}
	if ((set & MBOX_LOCK_FCNTL) && fd != -1) {
		if ((e = retry_kernel_lock(l, fd, try_fcntl, &start, timeout,
		    path, "fcntl lock")) != ML_OK)
			return e;
		l->held |= MBOX_LOCK_FCNTL;
	}
	if ((set & MBOX_LOCK_FLOCK) && fd != -1) {
		if ((e = retry_kernel_lock(l, fd, try_flock, &start, timeout,
		    path, "flock")) != ML_OK)
			return e;
		l->held |= MBOX_LOCK_FLOCK;
	}
	return ML_OK;
}

void
mbox_unlock(struct mbox_lock *l)
{
	struct flock fl;

	if (l->held & MBOX_LOCK_FLOCK)
		flock(l->fd, LOCK_UN);
	if (l->held & MBOX_LOCK_FCNTL) {
		memset(&fl, 0, sizeof(fl));
		fl.l_type = F_UNLCK;
		fl.l_whence = SEEK_SET;
		fcntl(l->fd, F_SETLK, &fl);
	}
	if (l->held & MBOX_LOCK_DOTLOCK)
		dotlock_drop(l->dirfd, l->dotlock);
	l->held = 0;
}
