/*
 * Runs as root in privpop-auth (its fork server, or an inetd-mode
 * helper) at start, before any request: reads or makes the install's
 * secret file.
 *
 * Runs as: root (privpop-auth).
 */
#include "config.h"

#include <sys/random.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "authsecret.h"
#include "conf.h"

/* Make the file: a private temporary name, then link(), which fails if
 * another helper (inetd mode: one per connection) made it first; then
 * that one's is read. */
static int
make_secret(const char *path, char *why, size_t whylen)
{
	unsigned char rnd[AUTH_SECRET_LEN];
	char tmp[CONF_PATH_MAX + 8], dir[CONF_PATH_MAX], *slash;
	mode_t old;
	int fd, r = -1;

	if (snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir) ||
	    snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >= (int)sizeof(tmp)) {
		snprintf(why, whylen, "%s: path too long", path);
		return -1;
	}
	if ((slash = strrchr(dir, '/')) != NULL && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0755) == -1 && errno != EEXIST) {
			snprintf(why, whylen, "mkdir %s: %s", dir,
			    strerror(errno));
			return -1;
		}
	}
	/* mkostemp makes it 600; the umask only guards the name's life */
	old = umask(077);
	fd = mkostemp(tmp, O_CLOEXEC);
	umask(old);
	if (fd == -1) {
		snprintf(why, whylen, "%s: %s", tmp, strerror(errno));
		return -1;
	}
	if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd))
		snprintf(why, whylen, "getrandom: %s", strerror(errno));
	else if (write(fd, rnd, sizeof(rnd)) != sizeof(rnd) ||
	    fsync(fd) == -1)
		snprintf(why, whylen, "%s: %s", tmp, strerror(errno));
	else if (link(tmp, path) == -1 && errno != EEXIST)
		snprintf(why, whylen, "%s: %s", path, strerror(errno));
	else
		r = 0;
	explicit_bzero(rnd, sizeof(rnd));
	close(fd);
	unlink(tmp);
	return r;
}

int
authsecret_load(const char *path, unsigned char *out, char *why,
    size_t whylen)
{
	struct stat st;
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1 &&
	    errno == ENOENT) {
		if (make_secret(path, why, whylen) == -1)
			return -1;
		fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	}
	if (fd == -1) {
		snprintf(why, whylen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_uid != geteuid() || (st.st_mode & 077) != 0 ||
	    st.st_size != AUTH_SECRET_LEN) {
		snprintf(why, whylen, "%s must be a file of %d bytes owned by "
		    "uid %u, mode 600 (remove it to have a new one made)",
		    path, AUTH_SECRET_LEN, (unsigned)geteuid());
		close(fd);
		return -1;
	}
	n = read(fd, out, AUTH_SECRET_LEN);
	close(fd);
	if (n != AUTH_SECRET_LEN) {
		snprintf(why, whylen, "%s: short read", path);
		return -1;
	}
	return 0;
}
