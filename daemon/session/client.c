/*
 * The client connection: line input, output and TLS I/O.  Runs as:
 * privpop, in the session child (chrooted, no privilege).
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "pop3_parse.h"
#include "limits.h"

static enum client_line client_getline_until(struct client *,
		    const char **, size_t *);

static long
plain_rd(struct client *c, void *p, size_t n, short *want_r)
{
	*want_r = POLLIN;
	return (long)read(c->rfd, p, n);
}

static long
plain_wr(struct client *c, const void *p, size_t n, short *want_r)
{
	*want_r = POLLOUT;
	return (long)write(c->wfd, p, n);
}

static long
plain_wrv(struct client *c, const struct iovec *iov, int n, short *want_r)
{
	*want_r = POLLOUT;
	return (long)writev(c->wfd, iov, n);
}

static const struct client_io plain_io = { plain_rd, plain_wr, plain_wrv };

void
client_init(struct client *c, int rfd, int wfd, int timeout_ms)
{
	c->io = &plain_io;
	c->ssl = NULL;
	c->rfd = rfd;
	c->wfd = wfd;
	c->timeout_ms = timeout_ms;
	c->deadline_ms = 0;
	c->line_end_ms = 0;
	c->discarding = 0;
	c->maxline = POP3_MAX_LINE;
	c->octets_out = 0;
	c->octets_in = 0;
	c->report = NULL;
	c->report_ms = 0;
	buf_init_fixed(&c->in, c->inmem, sizeof(c->inmem));
	buf_init_fixed(&c->out, c->outmem, sizeof(c->outmem));
}

long long
client_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
client_wait_ms(const struct client *c)
{
	long long now = client_now_ms(), ms = c->timeout_ms;

	if (c->line_end_ms != 0 && c->line_end_ms - now < ms)
		ms = c->line_end_ms - now;
	if (c->deadline_ms != 0 && c->deadline_ms - now < ms)
		ms = c->deadline_ms - now;
	return ms > 0 ? (int)ms : 0;
}

int
client_expired(const struct client *c)
{
	return c->deadline_ms != 0 && client_now_ms() >= c->deadline_ms;
}

/* Wait for fd within the client's time (client_wait_ms), again after a
 * signal with what is left; a report due meanwhile (report_ms) is made
 * on time, and the wait goes on. */
static int
wait_fd(struct client *c, int fd, short ev)
{
	struct pollfd p;
	long long due;
	int r, ms, cut;

	p.fd = fd;
	p.events = ev;
	do {
		if ((ms = client_wait_ms(c)) == 0)
			return 0;
		cut = 0;
		if (c->report != NULL && c->report_ms != 0) {
			due = c->report_ms - client_now_ms();
			if (due < ms) {
				ms = due > 0 ? (int)due : 0;
				cut = 1;
			}
		}
		r = poll(&p, 1, ms);
		if (r == 0 && cut) {
			c->report(c);	/* clears or moves report_ms */
			r = -1;
			errno = EINTR;
		}
	} while (r == -1 && errno == EINTR);
	return r;	/* 1 ready, 0 timeout, -1 error */
}

/* After a write that moved nothing: 0 to try again (interrupted, or
 * the socket or TLS became ready within the timeout), -1 to give up
 * (errno ETIMEDOUT when the client read nothing for the timeout). */
static int
write_wait(struct client *c, long k, short want)
{
	int r;

	if (k == -1 && errno == EINTR)
		return 0;
	if (k == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
		if ((r = wait_fd(c, want == POLLIN ? c->rfd : c->wfd,
		    want)) == 0)
			errno = ETIMEDOUT;
		return r <= 0 ? -1 : 0;
	}
	return -1;
}

/* Write all n bytes of p, waiting (up to the timeout) when the socket
 * or TLS wants it. */
static int
write_all(struct client *c, const unsigned char *p, size_t n)
{
	while (n > 0) {
		short want = POLLOUT;
		long k = c->io->wr(c, p, n, &want);

		if (k > 0) {
			c->octets_out += (unsigned long long)k;
			p += k;
			n -= (size_t)k;
		} else if (write_wait(c, k, want) == -1)
			return -1;
	}
	return 0;
}

/* write_all over an iovec array (changed in place as it goes out). */
static int
write_allv(struct client *c, struct iovec *iov, int n)
{
	while (n > 0) {
		short want = POLLOUT;
		long k;

		if (iov->iov_len == 0) {
			iov++;
			n--;
			continue;
		}
		k = c->io->wrv(c, iov, n, &want);
		if (k > 0) {
			size_t left = (size_t)k;

			c->octets_out += (unsigned long long)k;
			while (n > 0 && left >= iov->iov_len) {
				left -= iov->iov_len;
				iov++;
				n--;
			}
			if (n > 0) {
				iov->iov_base = (char *)iov->iov_base + left;
				iov->iov_len -= left;
			}
		} else if (write_wait(c, k, want) == -1)
			return -1;
	}
	return 0;
}

int
client_flush(struct client *c)
{
	if (write_all(c, buf_ptr(&c->out), buf_used(&c->out)) == -1)
		return -1;
	buf_reset(&c->out);
	return 0;
}

int
client_write_direct(struct client *c, const void *p, size_t n,
    const void *tail, size_t tail_n)
{
	struct iovec iov[3];

	/* small: copy, to go out with what is buffered */
	if (n <= buf_room(&c->out) && tail_n <= buf_room(&c->out) - n)
		return client_write(c, p, n) == -1 ? -1 :
		    client_write(c, tail, tail_n);
	if (c->io->wrv == NULL) {
		if (client_flush(c) == -1 || write_all(c, p, n) == -1)
			return -1;
		return client_write(c, tail, tail_n);
	}
	iov[0].iov_base = (void *)(uintptr_t)buf_ptr(&c->out);
	iov[0].iov_len = buf_used(&c->out);
	/* writev only reads them */
	iov[1].iov_base = (void *)(uintptr_t)p;
	iov[1].iov_len = n;
	iov[2].iov_base = (void *)(uintptr_t)tail;
	iov[2].iov_len = tail_n;
	if (write_allv(c, iov, 3) == -1)
		return -1;
	buf_reset(&c->out);
	return 0;
}

int
client_write(struct client *c, const void *p, size_t n)
{
	const unsigned char *s = p;

	while (n > 0) {
		size_t room = buf_room(&c->out), k;

		if (room == 0) {
			if (client_flush(c) == -1)
				return -1;
			room = buf_room(&c->out);
		}
		k = n < room ? n : room;
		buf_append(&c->out, s, k);
		s += k;
		n -= k;
	}
	return 0;
}

int
client_puts(struct client *c, const char *s)
{
	return client_write(c, s, strlen(s));
}

int
client_vprintf(struct client *c, const char *fmt, va_list ap)
{
	char tmp[RESPONSE_LINE_MAX];
	int n;

	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return -1;
	return client_write(c, tmp, (size_t)n);
}

int
client_printf(struct client *c, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = client_vprintf(c, fmt, ap);
	va_end(ap);
	return r;
}

void
client_discard_output(struct client *c)
{
	buf_reset(&c->out);
}

void
client_discard_input(struct client *c)
{
	buf_reset(&c->in);
	c->discarding = 0;
}

/* Read more input: try first (TLS may hold decrypted bytes that poll
 * cannot see), wait only when the read would block. */
static enum client_line
client_fill(struct client *c)
{
	short want = POLLIN;
	long n;
	int r;

	/* a peer gone before our answer left is a disconnect too */
	if (client_flush(c) == -1)
		return errno == EPIPE || errno == ECONNRESET ? CL_EOF :
		    CL_ERROR;
	if (buf_reserve(&c->in, 1) == -1)
		return CL_ERROR;
	if (c->report != NULL)
		c->report(c);	/* all answered: a moment to report */
	/* plain descriptors may be blocking (inetd, tests): wait first */
	if (c->ssl == NULL) {
		if ((r = wait_fd(c, c->rfd, POLLIN)) == 0)
			return CL_TIMEOUT;
		if (r == -1)
			return CL_ERROR;
	}
	for (;;) {
		n = c->io->rd(c, buf_tail(&c->in), buf_room(&c->in), &want);
		if (n > 0) {
			buf_commit(&c->in, (size_t)n);
			c->octets_in += (unsigned long long)n;
			return CL_LINE;
		}
		if (n == 0)
			return CL_EOF;
		if (errno == EINTR)
			continue;
		/* a peer's reset ends the connection as its close does
		 * (HAProxy ends each health check with one) */
		if (errno == ECONNRESET)
			return CL_EOF;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return CL_ERROR;
		r = wait_fd(c, want == POLLOUT ? c->wfd : c->rfd, want);
		if (r == 0)
			return CL_TIMEOUT;
		if (r == -1)
			return CL_ERROR;
	}
}

void
client_wipe_line(struct client *c, const char *line, size_t len)
{
	const unsigned char *lo = c->in.data, *p, *keep, *end;

	if (lo == NULL)
		return;
	/* only bytes of our own buffer that are not still to be read:
	 * the line, and the line end (CRLF or LF) that came with it */
	end = lo + c->in.cap;
	keep = c->in.off < c->in.len ? lo + c->in.off : end;
	p = (const unsigned char *)line;
	if (p < lo || p > keep || len > (size_t)(keep - p))
		return;
	while (len < (size_t)(keep - p) && (p[len] == '\r' || p[len] == '\n'))
		len++;
	explicit_bzero((unsigned char *)(uintptr_t)p, len);
}

enum client_line
client_getline(struct client *c, const char **line_r, size_t *len_r)
{
	enum client_line r;

	c->line_end_ms = client_now_ms() + c->timeout_ms;
	r = client_getline_until(c, line_r, len_r);
	c->line_end_ms = 0;
	return r;
}

/* client_getline within the line's end set by it. */
static enum client_line
client_getline_until(struct client *c, const char **line_r, size_t *len_r)
{
	for (;;) {
		const char *p = (const char *)buf_ptr(&c->in);
		size_t used;
		long n = pop3_find_line(p, buf_used(&c->in), &used);
		enum client_line r;

		if (n >= 0) {
			buf_consume(&c->in, used);
			/* RFC 2449: 255 octets including CRLF */
			if (c->discarding || used > c->maxline) {
				c->discarding = 0;
				return CL_TOOLONG;
			}
			*line_r = p;
			*len_r = (size_t)n;
			return CL_LINE;
		}
		if (buf_used(&c->in) > c->maxline) {
			/* No LF within the limit: drop what we have and
			 * keep dropping up to the LF, as one bad line. */
			c->discarding = 1;
			buf_reset(&c->in);
		}
		buf_compact(&c->in);
		if ((r = client_fill(c)) != CL_LINE)
			return r;
	}
}
