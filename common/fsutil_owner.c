/*
 * File helpers of privpop-store, which runs as the mailbox owner: the
 * owner may plant symlinks, hard links and FIFOs in the mailbox, so
 * nothing there is followed, blocked on or written without a check.
 *
 * Runs as: mailbox owner (privpop-store).
 */
#include "config.h"

#include <sys/random.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fsutil.h"
#include "limits.h"
#include "log.h"

int
fs_check_fd(int fd, const char *name, int how)
{
	struct stat st;

	if (fstat(fd, &st) == -1) {
		log_warn("%s", name);
		return -1;
	}
	if (!S_ISREG(st.st_mode))
		log_warnx("%s: not a regular file (mode %o); refused", name,
		    (unsigned)st.st_mode);
	else if (st.st_uid != geteuid())
		log_warnx("%s: owned by uid %lu, not by the mailbox owner "
		    "(uid %lu); refused", name, (unsigned long)st.st_uid,
		    (unsigned long)geteuid());
	else if ((how & FS_ONE_LINK) && st.st_nlink != 1)
		log_warnx("%s: has %lu hard links; refused", name,
		    (unsigned long)st.st_nlink);
	else
		return 0;
	errno = EPERM;
	return -1;
}

int
fs_openat(int dirfd, const char *name, int flags, mode_t mode, int how)
{
	int fd, e;

	/* O_NONBLOCK: a FIFO planted here must not hang the open (nor a
	 * read: it is refused below); a regular file ignores it */
	if ((fd = openat(dirfd, name, flags | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC, mode)) == -1) {
		if (errno == ELOOP)
			log_warnx("%s: a symbolic link; refused", name);
		return -1;
	}
	if (fs_check_fd(fd, name, how) == -1) {
		e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

char *
fs_read_file(int dirfd, const char *name, size_t max, size_t *len_r)
{
	struct stat st;
	char *buf = NULL;
	int fd;

	if ((fd = fs_openat(dirfd, name, O_RDONLY, 0, FS_ONE_LINK)) == -1)
		return NULL;
	if (fstat(fd, &st) == 0 && st.st_size > 0 &&
	    (uint64_t)st.st_size <= max)
		buf = fs_read_fd(fd, (size_t)st.st_size, len_r);
	close(fd);
	return buf;
}

int
fs_create_tmp(int dirfd, const char *prefix, char *name_r, size_t namesz)
{
	unsigned char r[8];
	char hex[17];
	size_t i;

	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
		return -1;
	for (i = 0; i < sizeof(r); i++)
		snprintf(hex + 2 * i, 3, "%02x", r[i]);
	if (snprintf(name_r, namesz, "%s.tmp.%s", prefix, hex) >=
	    (int)namesz) {
		errno = ENAMETOOLONG;
		return -1;
	}
	/* a new inode of our own: nothing planted can be reached */
	return openat(dirfd, name_r, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600);
}

int
fs_replace_file(int dirfd, const char *name, const void *data, size_t len)
{
	char tmp[MAIL_MAX_PATH];
	ssize_t n;
	int fd, ok;

	if (snprintf(tmp, sizeof(tmp), "%s.%ld", name, (long)getpid()) >=
	    (int)sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	(void)unlinkat(dirfd, tmp, 0);
	if ((fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
	    O_NOFOLLOW, 0600)) == -1)
		return -1;
	for (ok = 1; ok && len > 0; ) {
		if ((n = write(fd, data, len)) > 0) {
			data = (const char *)data + n;
			len -= (size_t)n;
		} else if (n == 0 || errno != EINTR)
			ok = 0;
	}
	if (close(fd) == -1)
		ok = 0;
	if (!ok || renameat(dirfd, tmp, dirfd, name) == -1) {
		int e = ok ? errno : EIO;

		(void)unlinkat(dirfd, tmp, 0);
		errno = e;
		return -1;
	}
	return 0;
}
