#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
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
fs_read_file(int dirfd, const char *name, size_t max, size_t *len_r)
{
	struct stat st;
	char *buf;
	size_t got = 0;
	ssize_t n;
	int fd;

	if ((fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW |
	    O_NONBLOCK)) == -1)
		return NULL;
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_size <= 0 || (uint64_t)st.st_size > max ||
	    (buf = malloc((size_t)st.st_size)) == NULL) {
		close(fd);
		return NULL;
	}
	while (got < (size_t)st.st_size && (n = read(fd, buf + got,
	    (size_t)st.st_size - got)) > 0)
		got += (size_t)n;
	close(fd);
	*len_r = got;
	return buf;
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
