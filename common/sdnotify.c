/*
 * sd_notify(3) in a few lines: see sdnotify.h.  Runs in the master
 * (root); it sends, and never reads, on the socket.
 *
 * Runs as: root (the master).
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sdnotify.h"

static struct sockaddr_un notify_sa;
static socklen_t notify_salen;	/* 0: no socket */

int
sdnotify_init(void)
{
	const char *e = getenv("NOTIFY_SOCKET");
	size_t len;
	int r = -1;

	notify_salen = 0;
	if (e == NULL || *e == '\0') {
		unsetenv("NOTIFY_SOCKET");
		return 0;
	}
	len = strlen(e);
	memset(&notify_sa, 0, sizeof(notify_sa));
	notify_sa.sun_family = AF_UNIX;
	/* an absolute path (with its NUL), or "@name": abstract, the @
	 * stands for the leading NUL and the name is not terminated */
	if ((e[0] == '/' && len < sizeof(notify_sa.sun_path)) ||
	    (e[0] == '@' && len >= 2 && len <= sizeof(notify_sa.sun_path))) {
		memcpy(notify_sa.sun_path, e, len);
		if (e[0] == '@')
			notify_sa.sun_path[0] = '\0';
		notify_salen = (socklen_t)(offsetof(struct sockaddr_un,
		    sun_path) + len + (e[0] == '/'));
		r = 1;
	}
	unsetenv("NOTIFY_SOCKET");
	return r;
}

int
sdnotify(const char *state)
{
	ssize_t n;
	int fd, save;

	if (notify_salen == 0)
		return 0;
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	n = sendto(fd, state, strlen(state), MSG_NOSIGNAL,
	    (struct sockaddr *)&notify_sa, notify_salen);
	save = errno;
	close(fd);
	errno = save;
	return (n == (ssize_t)strlen(state)) ? 0 : -1;
}

int
sdnotify_reloading(void)
{
	struct timespec ts;
	char msg[64];

	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
		return sdnotify("RELOADING=1");
	snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%llu",
	    (unsigned long long)ts.tv_sec * 1000000ULL +
	    (unsigned long long)ts.tv_nsec / 1000ULL);
	return sdnotify(msg);
}
