/*
 * Reading the PROXY header off a balancer's connection, before the
 * greeting and before a TLS handshake: exactly its bytes and no more,
 * since the client's own (a TLS ClientHello) may follow at once.  A v1
 * line and v2's first 16 bytes are read a byte at a time (at most 107
 * reads), the rest of a v2 header in one; every wait within one
 * deadline.
 *
 * Runs as: privpop (the session child).
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "proxy_conn.h"

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Read n bytes into p before deadline: 0, or -1 with why. */
static int
read_exact(int fd, unsigned char *p, size_t n, long long deadline,
    char *why, size_t whylen)
{
	struct pollfd pfd;
	long long left;
	ssize_t r;

	while (n > 0) {
		if ((left = deadline - now_ms()) <= 0) {
			snprintf(why, whylen, "no whole PROXY header within "
			    "haproxy_timeout");
			return -1;
		}
		pfd.fd = fd;
		pfd.events = POLLIN;
		switch (poll(&pfd, 1, (int)left)) {
		case -1:
			if (errno == EINTR)
				continue;
			snprintf(why, whylen, "poll: %s", strerror(errno));
			return -1;
		case 0:
			continue;	/* the deadline, checked above */
		}
		r = read(fd, p, n);
		if (r == -1 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (r <= 0) {
			snprintf(why, whylen, r == 0 ? "the connection closed "
			    "inside the PROXY header" : "read: %s",
			    strerror(errno));
			return -1;
		}
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

int
proxy_read(int fd, int timeout_s, struct proxy_info *pi, char *why,
    size_t whylen)
{
	unsigned char buf[16 + PROXY_V2_MAX];
	long long deadline = now_ms() + (long long)timeout_s * 1000;
	size_t have = 0, need;
	ssize_t r;

	for (;;) {
		r = proxy_parse(buf, have, pi, why, whylen);
		if (r > 0 && (size_t)r == have)
			return 0;
		if (r > 0) {	/* cannot be: nothing is read past it */
			snprintf(why, whylen, "PROXY header: read past it");
			return -1;
		}
		if (r == -1)
			return -1;
		/* v2 whose length is known: the rest at once */
		if (have >= 16 && buf[0] == 0x0d) {
			need = 16 + ((size_t)buf[14] << 8 | buf[15]);
			if (need > sizeof(buf) || need <= have) {
				snprintf(why, whylen, "a PROXY v2 length "
				    "privpop cannot take");
				return -1;
			}
			if (read_exact(fd, buf + have, need - have, deadline,
			    why, whylen) == -1)
				return -1;
			have = need;
			continue;
		}
		if (have == sizeof(buf) || read_exact(fd, buf + have, 1,
		    deadline, why, whylen) == -1)
			return -1;
		have++;
	}
}
