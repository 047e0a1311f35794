/*
 * File helpers shared by root and the mailbox owner: directories made
 * and opened without following a symlink, a temporary file beside a
 * path, a whole descriptor read, sealed memfds.  Those only the mailbox
 * owner's privpop-store uses, which check what the owner may plant, are
 * in fsutil_owner.c.
 *
 * Runs as: root (the master: control answers, transcript directories,
 * the pid file; privpop-auth: the passwd-file, its index and upgrades;
 * the configuration) and the mailbox owner (privpop-store).
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
