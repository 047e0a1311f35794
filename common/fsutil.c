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

	if ((fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW |
	    O_NONBLOCK)) == -1)
		return NULL;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
	    (uint64_t)st.st_size <= max)
		buf = fs_read_fd(fd, (size_t)st.st_size, len_r);
	close(fd);
	return buf;
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
