/*
 * File helpers.  The fs_*at and fs_open_dir functions serve
 * privpop-store, which runs as the mailbox owner: the owner may plant
 * symlinks, hard links and FIFOs in the mailbox, so nothing there is
 * followed, blocked on or written without a check.  None runs as root.
 *
 * Runs as: mailbox owner (privpop-store); fs_read_fd and fs_sealed_memfd
 * also as root (the configuration).
 */
#include "config.h"

#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsutil.h"
#include "limits.h"
#include "log.h"

int
fs_mkdirs(const char *path, mode_t mode)
{
	char p[MAIL_MAX_PATH];
	char *s;

	if (snprintf(p, sizeof(p), "%s", path) >= (int)sizeof(p) ||
	    p[0] != '/') {
		errno = EINVAL;
		return -1;
	}
	for (s = p + 1; ; s++) {
		char c;

		if (*s != '/' && *s != '\0')
			continue;
		c = *s;
		*s = '\0';
		if (mkdir(p, mode) == -1 && errno != EEXIST)
			return -1;
		*s = c;
		if (c == '\0')
			return 0;
	}
}

char *
fs_read_fd(int fd, size_t size, size_t *len_r)
{
	char *buf;
	size_t got = 0;
	ssize_t n;

	if ((buf = malloc(size + 1)) == NULL)
		return NULL;
	while (got < size) {
		n = pread(fd, buf + got, size - got, (off_t)got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	*len_r = got;
	return buf;
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

/* One component c in dfd, a directory: its descriptor, or -1. */
static int
open_component(int dfd, const char *c, int create, mode_t mode,
    const char *path)
{
	struct stat st, dst;

	if (fstatat(dfd, c, &st, AT_SYMLINK_NOFOLLOW) == -1) {
		if (errno != ENOENT || !create ||
		    (mkdirat(dfd, c, mode) == -1 && errno != EEXIST))
			return -1;
		if (fstatat(dfd, c, &st, AT_SYMLINK_NOFOLLOW) == -1)
			return -1;
	}
	if (!S_ISLNK(st.st_mode))
		return openat(dfd, c, O_PATH | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC);
	/* Only a symlink the administrator made (root's, in a directory
	 * of root's) is followed: a user's own could lead a worker that
	 * holds a group (mail) into other users' files. */
	if (st.st_uid != 0 || fstat(dfd, &dst) == -1 || dst.st_uid != 0) {
		log_warnx("%s: component %s is a symbolic link of uid %lu; "
		    "refused", path, c, (unsigned long)st.st_uid);
		errno = ELOOP;
		return -1;
	}
	return openat(dfd, c, O_PATH | O_DIRECTORY | O_CLOEXEC);
}

int
fs_open_dir(const char *path, int create, mode_t mode)
{
	char p[MAIL_MAX_PATH];
	char *c, *next;
	int dfd, fd;

	if (snprintf(p, sizeof(p), "%s", path) >= (int)sizeof(p) ||
	    p[0] != '/') {
		errno = EINVAL;
		return -1;
	}
	if ((dfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	for (c = p + 1; c != NULL && *c != '\0'; c = next) {
		if ((next = strchr(c, '/')) != NULL)
			*next++ = '\0';
		if (*c == '\0' || strcmp(c, ".") == 0)
			continue;
		if (strcmp(c, "..") == 0) {
			errno = EINVAL;
			fd = -1;
		} else
			fd = open_component(dfd, c, create, mode, path);
		close(dfd);
		if ((dfd = fd) == -1)
			return -1;
	}
	/* a real descriptor (O_PATH cannot be read or locked) */
	fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	close(dfd);
	return fd;
}

int
fs_sealed_memfd(const char *name, const void *data, size_t len)
{
	size_t off = 0;
	ssize_t n;
	int fd;

	if ((fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING)) == -1)
		return -1;
	while (off < len) {
		if ((n = write(fd, (const char *)data + off, len - off)) == -1 &&
		    errno == EINTR)
			continue;
		if (n <= 0)
			goto fail;
		off += (size_t)n;
	}
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW |
	    F_SEAL_SHRINK | F_SEAL_SEAL) == -1)
		goto fail;
	return fd;
fail:
	close(fd);
	return -1;
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

int
fs_open_parent(const char *path, uid_t owner, char *base, size_t baselen)
{
	char dir[MAIL_MAX_PATH];
	const char *slash = strrchr(path, '/');
	struct stat st;
	int fd;

	if (slash == NULL || slash[1] == '\0' ||
	    snprintf(base, baselen, "%s", slash + 1) >= (int)baselen ||
	    snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path) >=
	    (int)sizeof(dir)) {
		errno = EINVAL;
		return -1;
	}
	if ((fd = open(dir[0] != '\0' ? dir : "/", O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1)
		return -1;
	if (fstat(fd, &st) == -1) {
		close(fd);
		return -1;
	}
	if ((st.st_uid != 0 && st.st_uid != geteuid() && st.st_uid != owner) ||
	    ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0 &&
	    (st.st_mode & S_ISVTX) == 0)) {
		close(fd);
		errno = EPERM;
		return -1;
	}
	return fd;
}

int
fs_mktemp_at(int dirfd, const char *name, mode_t mode, char *tmp,
    size_t tmplen)
{
	static const char set[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
	    "qrstuvwxyz0123456789";
	unsigned char r[6];
	size_t i, n;
	int fd, tries;

	for (tries = 0; tries < 100; tries++) {
		if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
			return -1;
		n = (size_t)snprintf(tmp, tmplen, "%s.XXXXXX", name);
		if (n >= tmplen) {
			errno = ENAMETOOLONG;
			return -1;
		}
		for (i = 0; i < sizeof(r); i++)
			tmp[n - sizeof(r) + i] = set[r[i] % (sizeof(set) - 1)];
		if ((fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL |
		    O_NOFOLLOW | O_CLOEXEC, mode)) != -1 || errno != EEXIST)
			return fd;
	}
	return -1;
}
