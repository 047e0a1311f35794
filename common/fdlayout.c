/* See fdlayout.h.  Runs between fork and exec: async-signal-safe calls
 * only (fcntl, dup2, fstat, close), no allocation, no logging.
 *
 * Runs as: root (the master, an inetd-mode slot and privpop-auth,
 * between fork and exec).
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "fdlayout.h"

int
fd_layout(const struct fd_place *p, size_t n, int lowest)
{
	struct stat want[FD_LAYOUT_MAX], got;
	int tmp[FD_LAYOUT_MAX], placed[FD_LAYOUT_MAX], top = lowest;
	size_t i, j;

	if (n > FD_LAYOUT_MAX || lowest < 0) {
		errno = EINVAL;
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (p[i].to < lowest || p[i].to >= lowest + FD_LAYOUT_MAX ||
		    p[i].from < 0) {
			errno = EINVAL;
			return -1;
		}
		for (j = 0; j < i; j++)
			if (p[j].to == p[i].to) {
				errno = EINVAL;
				return -1;
			}
		if (p[i].to >= top)
			top = p[i].to + 1;
		if (fstat(p[i].from, &want[i]) == -1)
			return -1;
	}
	/* 1: every source copied above every target, so step 2 can
	 * overwrite any number below top without losing one */
	for (i = 0; i < n; i++)
		if ((tmp[i] = fcntl(p[i].from, F_DUPFD_CLOEXEC, top)) == -1) {
			while (i > 0)
				close(tmp[--i]);
			return -1;
		}
	/* 2: the copies onto their targets (dup2 clears FD_CLOEXEC) */
	for (i = 0; i < n; i++)
		if (dup2(tmp[i], p[i].to) == -1)
			return -1;
	/* 3: nothing else from lowest up: the copies, the sources, and
	 * whatever else this process had open on the way */
	for (i = 0; i < FD_LAYOUT_MAX; i++)
		placed[i] = 0;
	for (i = 0; i < n; i++)
		placed[p[i].to - lowest] = 1;
	for (i = 0; i < (size_t)(top - lowest); i++)
		if (!placed[i])
			close(lowest + (int)i);
	closefrom(top);
	/* 4: check what the new program will find */
	for (i = 0; i < n; i++) {
		int fl = fcntl(p[i].to, F_GETFD);

		if (fl == -1 || (fl & FD_CLOEXEC) ||
		    fstat(p[i].to, &got) == -1 ||
		    got.st_dev != want[i].st_dev ||
		    got.st_ino != want[i].st_ino ||
		    (got.st_mode & S_IFMT) != (want[i].st_mode & S_IFMT)) {
			errno = EIO;
			return -1;
		}
	}
	return 0;
}

int
fd_stdio_ensure(void)
{
	int fd;

	for (fd = 0; fd <= 2; fd++) {
		int nfd;

		if (fcntl(fd, F_GETFD) != -1 || errno != EBADF)
			continue;
		/* the lowest free number: fd itself */
		if ((nfd = open("/dev/null", O_RDWR)) == -1)
			return -1;
		if (nfd != fd) {
			close(nfd);
			errno = EBADF;
			return -1;
		}
	}
	return 0;
}
