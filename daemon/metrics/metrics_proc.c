/*
 * The metrics process (metrics_listen): a small HTTP/1.0 and 1.1 server
 * for Prometheus.  The master binds the socket, forks this process,
 * which chroots and drops to the session user before it gets here
 * (daemon/master/metrics.c), and pushes it the stats text in a sealed
 * memfd every METRICS_PUSH_INTERVAL; it never reads from here.  This
 * process keeps the latest snapshot in the Prometheus text format
 * (common/metrics_text.c, checked line by line) and answers:
 *
 *   GET /metrics   200, Content-Type: text/plain; version=0.0.4
 *   GET other      404          other method   405
 *   malformed      400          no snapshot    503
 *
 * one answer a connection (Connection: close), at most
 * METRICS_CONN_MAX connections (one more closes the oldest), each with
 * METRICS_REQUEST_TIMEOUT seconds for its request head of at most
 * METRICS_REQUEST_MAX bytes and its answer.  Descriptors non-blocking,
 * one poll loop: a slow client stalls no other.
 *
 * Runs as: privpop (the metrics process).
 */
#include "config.h"

#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "http_request.h"
#include "ipc.h"
#include "ipc_master.h"
#include "log.h"
#include "metrics_proc.h"
#include "metrics_text.h"
#include "privdrop.h"
#include "proctitle.h"
#include "sandbox.h"
#include "limits.h"

enum conn_state { C_READ, C_WRITE, C_DRAIN };

struct conn {
	int		 fd;
	enum conn_state	 state;
	int64_t		 since;		/* mono_ms() at accept */
	size_t		 len;		/* of req */
	char		 req[METRICS_REQUEST_MAX];
	struct buf	 out;		/* the answer, while it is written */
};

static struct conn conns[METRICS_CONN_MAX];
static size_t nconns;
static struct buf body;		/* the latest snapshot, Prometheus text */
static int have_body;

/* CLOCK_MONOTONIC in milliseconds */
static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
conn_drop(size_t i)
{
	close(conns[i].fd);
	buf_free(&conns[i].out);
	if (i != nconns - 1) {
		/* the request buffer is large: move the last one's used part */
		conns[i].fd = conns[nconns - 1].fd;
		conns[i].state = conns[nconns - 1].state;
		conns[i].since = conns[nconns - 1].since;
		conns[i].len = conns[nconns - 1].len;
		memcpy(conns[i].req, conns[nconns - 1].req, conns[i].len);
		conns[i].out = conns[nconns - 1].out;
	}
	nconns--;
}

/* ------------------------------------------------------------------ */
/* Snapshots from the master */

/* A sealed memfd of at most METRICS_SNAPSHOT_MAX bytes of stats text:
 * the new body, or the old one kept (and a log line) when it is not. */
static void
take_snapshot(int fd)
{
	struct stat st;
	struct buf nb;
	void *p = NULL;
	int seals;

	seals = fcntl(fd, F_GET_SEALS);
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) || st.st_size < 0 ||
	    st.st_size > METRICS_SNAPSHOT_MAX || seals == -1 ||
	    (seals & (F_SEAL_WRITE | F_SEAL_SHRINK)) !=
	    (F_SEAL_WRITE | F_SEAL_SHRINK)) {
		log_warnx("metrics: a snapshot that is not a sealed memfd of "
		    "at most %d bytes; keeping the last one",
		    METRICS_SNAPSHOT_MAX);
		close(fd);
		return;
	}
	if (st.st_size > 0 && (p = mmap(NULL, (size_t)st.st_size, PROT_READ,
	    MAP_PRIVATE, fd, 0)) == MAP_FAILED) {
		log_warn("metrics: mmap of a snapshot");
		close(fd);
		return;
	}
	close(fd);
	if (buf_init(&nb, 4096, METRICS_BODY_MAX) == -1)
		fatal("metrics: buffer");
	if (st.st_size > 0 && metrics_text_prometheus(p, (size_t)st.st_size,
	    &nb) == -1) {
		log_warnx("metrics: a malformed snapshot; keeping the last "
		    "one");
		buf_free(&nb);
	} else {
		buf_free(&body);
		body = nb;
		have_body = 1;
	}
	if (p != NULL)
		munmap(p, (size_t)st.st_size);
}

/* The master's message; exits when the master closed the socket. */
static void
master_read(int msock)
{
	struct msg m;
	int r, fd;

	if ((r = ipc_recv(msock, &m)) == -1 && (errno == EAGAIN ||
	    errno == EINTR))
		return;
	if (r == 0)
		_exit(0);	/* the master stopped us, or is gone */
	if (r != 1 || ipc_get_metrics_snapshot(&m, &fd) == -1)
		fatalx("metrics: a bad message from the master (%s)",
		    msg_name(m.type));
	take_snapshot(fd);
}

/* ------------------------------------------------------------------ */
/* HTTP */

static const char *
reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	default:
		return "Service Unavailable";
	}
}

/* The answer to a complete request head (headlen bytes; 0: one longer
 * than METRICS_REQUEST_MAX), into c->out. */
static void
answer(struct conn *c, size_t headlen)
{
	char path[METRICS_PATH_MAX];
	const char *text = NULL;
	size_t len;
	int status;

	switch (headlen == 0 ? HTTP_REQ_BAD : http_request_target(c->req,
	    headlen, path, sizeof(path))) {
	case HTTP_REQ_GET:
		status = strcmp(path, "/metrics") != 0 ? 404 : have_body ?
		    200 : 503;
		break;
	case HTTP_REQ_METHOD:
		status = 405;
		break;
	default:
		status = 400;
	}
	if (status == 200) {
		text = (const char *)buf_ptr(&body);
		len = buf_used(&body);
	} else {
		text = status == 404 ? "Not Found: try /metrics\n" :
		    status == 503 ? "No snapshot from the master yet\n" :
		    status == 405 ? "Only GET\n" : "Bad Request\n";
		len = strlen(text);
	}
	if (buf_init(&c->out, METRICS_HEAD_MAX + len, METRICS_HEAD_MAX +
	    len) == -1 ||
	    buf_printf(&c->out, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n"
	    "Content-Length: %zu\r\n%sConnection: close\r\n\r\n", status,
	    reason(status), status == 200 ? "text/plain; version=0.0.4" :
	    "text/plain", len, status == 405 ? "Allow: GET\r\n" : "") == -1 ||
	    buf_append(&c->out, text, len) == -1)
		fatal("metrics: answer");
	c->state = C_WRITE;
}

/* What the client sent: the request head, bounded. */
static int
conn_read(struct conn *c)
{
	size_t headlen;
	ssize_t r;

	r = read(c->fd, c->req + c->len, sizeof(c->req) - c->len);
	if (r == -1)
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	if (r == 0)
		return -1;	/* gone before a whole request */
	c->len += (size_t)r;
	if ((headlen = http_head_len(c->req, c->len)) == 0) {
		if (c->len < sizeof(c->req))
			return 0;
		/* too long: a 400 */
	}
	answer(c, headlen);
	return 0;
}

/* The answer out; then a half close, and what the client still sends
 * (a POST's body) read and dropped until it closes, so that our close
 * does not reset the connection before it has read the answer. */
static int
conn_write(struct conn *c)
{
	ssize_t r;
	char sink[512];

	if (c->state == C_DRAIN) {
		r = read(c->fd, sink, sizeof(sink));
		if (r == -1)
			return errno == EAGAIN || errno == EINTR ? 0 : -1;
		return r == 0 ? -1 : 0;
	}
	r = send(c->fd, buf_ptr(&c->out), buf_used(&c->out), MSG_NOSIGNAL);
	if (r == -1)
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	buf_consume(&c->out, (size_t)r);
	if (buf_used(&c->out) > 0)
		return 0;
	(void)shutdown(c->fd, SHUT_WR);
	c->state = C_DRAIN;
	return 0;
}

static void
conn_accept(int lfd)
{
	size_t i, old;
	int fd;

	while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK |
	    SOCK_CLOEXEC)) != -1) {
		if (nconns == METRICS_CONN_MAX) {
			for (old = 0, i = 1; i < nconns; i++)
				if (conns[i].since < conns[old].since)
					old = i;
			conn_drop(old);
		}
		memset(&conns[nconns].out, 0, sizeof(conns[nconns].out));
		conns[nconns].fd = fd;
		conns[nconns].state = C_READ;
		conns[nconns].len = 0;
		conns[nconns++].since = mono_ms();
	}
	if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
	    errno != ECONNABORTED)
		log_warn("metrics: accept");
}

static void
expire(void)
{
	int64_t now = mono_ms();
	size_t i = 0;

	while (i < nconns)
		if (now - conns[i].since >= METRICS_REQUEST_TIMEOUT * 1000)
			conn_drop(i);
		else
			i++;
}

void
metrics_proc_main(int lfd, int msock, int seccomp)
{
	struct pollfd pfds[2 + METRICS_CONN_MAX];
	size_t i, n;

	proctitle_set("privpop: [metrics]");
	priv_limit(METRICS_RLIMIT_NOFILE, 1);
	sbx_metrics(seccomp);
	if (buf_init(&body, 0, METRICS_BODY_MAX) == -1)
		fatal("metrics: buffer");
	for (;;) {
		expire();
		pfds[0].fd = msock;
		pfds[0].events = POLLIN;
		pfds[1].fd = lfd;
		pfds[1].events = POLLIN;
		for (i = 0; i < nconns; i++) {
			pfds[2 + i].fd = conns[i].fd;
			pfds[2 + i].events = conns[i].state == C_WRITE ?
			    POLLOUT : POLLIN;
		}
		n = 2 + nconns;
		/* a tenth of the timeout: a slow client ends on time */
		if (poll(pfds, (nfds_t)n, METRICS_REQUEST_TIMEOUT * 100) == -1) {
			if (errno == EINTR)
				continue;
			fatal("metrics: poll");
		}
		if (pfds[0].revents != 0)
			master_read(msock);
		/* from the last, so that a drop moves only a served one */
		for (i = n - 2; i-- > 0;) {
			struct conn *c = &conns[i];
			short ev = pfds[2 + i].revents;
			int r;

			if (ev == 0)
				continue;
			if (c->state == C_READ && (ev & (POLLIN | POLLHUP |
			    POLLERR)))
				r = conn_read(c);
			else
				r = conn_write(c);
			if (r == -1)
				conn_drop(i);
		}
		if (pfds[1].revents & POLLIN)
			conn_accept(lfd);
	}
}
