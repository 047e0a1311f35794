/*
 * popload -- POP3 load generator for the privpop benchmark (tests/bench).
 *
 * One epoll loop, one state machine per connection, non-blocking sockets,
 * optional implicit TLS (OpenSSL, non-blocking handshake, no session reuse,
 * no tickets).  Every loop is bounded in count and in time: a global
 * deadline (-T) ends the run whatever happens, each session has its own
 * timeout (-t), and the number of sessions per client is capped (-n).
 *
 * Modes (-m):
 *   login     -c clients loop: connect, [TLS], USER/PASS, STAT, QUIT, for
 *             -d seconds (or -n sessions each).  Latency = connect start to
 *             the QUIT answer.
 *   download  -c clients, each its own user, loop for -d seconds: STAT, RETR
 *             every message, QUIT.  Reports payload bytes and MB/s.
 *   bigbox    one client, -n sequential sessions of one user: time from
 *             sending PASS to the STAT answer, and of a full UIDL listing.
 *   idle      -c sessions log in (at most -P logins in flight), STAT, then
 *             stay idle; prints "READY ..." when all are in, holds until
 *             standard input is closed (or -H seconds), then QUITs all.
 *   forkcost  no server: -n times fork, _exit in the child, waitpid (at
 *             most -T seconds); the CPU time of one such process
 *             lifecycle on this machine, which a process-per-session
 *             server pays a few times per login.
 *   loopback  no POP3 server: a child of popload writes a buffer from
 *             memory in a loop to one loopback TCP connection, popload
 *             reads it for -d seconds; what this machine moves through
 *             loopback TCP (the bound under any server's byte path).
 *
 * -r (with -s): resume.  Each client connection slot keeps the last
 * session the server gave it (TLS 1.3 tickets, or a TLS 1.2 ticket) and
 * offers it with SSL_set_session on its next connection; resumed
 * handshakes are counted (resumed=, full_handshakes=; offered=: the
 * handshakes that offered a session, all but each slot's first).
 * -x: send a PROXY protocol v2 header (TCP over IPv4, source 127.1.x.y
 * per client) right after connect, before the greeting and the TLS
 * handshake, as a load balancer does.
 * -B ADDR: connect from this local address (127.0.0.2: a direct client
 * of a server that expects PROXY headers from 127.0.0.1 only).
 *
 * Users: -u FORMAT (printf with one %d: the client index + -b BASE), or a
 * plain name without %d.  -w password.
 *
 * Output: one line "popload key=value ..." on standard output.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

enum mode { M_LOGIN, M_DOWNLOAD, M_BIGBOX, M_IDLE, M_FORKCOST, M_LOOPBACK };

enum state {
	S_FREE, S_CONNECTING, S_HANDSHAKE, S_GREETING, S_USER, S_PASS,
	S_STAT, S_RETR, S_RETR_BODY, S_UIDL, S_UIDL_BODY, S_IDLE, S_QUIT,
	S_QUIT_EOF, S_WAIT_START, S_RETRY_WAIT
};

#define MAX_INUSE_RETRIES 100	/* per client; 100 ms apart */

#define INBUF 65536
#define OUTBUF 512
#define MAX_CONNS 20000
#define MAX_LAT 2000000

struct conn {
	int idx;		/* client index */
	int fd;
	SSL *ssl;
	SSL_SESSION *sess;	/* -r: offered on the next connection */
	enum state st;
	int ev;			/* events registered */
	double t_start;		/* session start (connect) */
	double t_pass;		/* PASS sent */
	double t_uidl;		/* UIDL sent */
	double t_retr;		/* first RETR sent */
	double t_deadline;	/* session timeout */
	int sessions;		/* sessions done by this client */
	long nmsg;		/* messages in the mailbox (STAT) */
	long cur;		/* current RETR */
	char in[INBUF];
	size_t inlen;
	char out[OUTBUF];
	size_t outlen, outoff;
	int want_write;		/* TLS wants write to progress reads */
	int inuse_retries;
	double t_retry;
	int authed;
};

static struct {
	enum mode mode;
	const char *host;
	int port;
	int tls;
	int clients;
	double duration;
	long max_sessions;
	double deadline;
	double sess_timeout;
	const char *userfmt;
	int userbase;
	const char *password;
	int parallel;
	double hold;
	int resume;
	int proxy;
	const char *bind_src;
} opt = {
	M_LOGIN, "127.0.0.1", 0, 0, 50, 10.0, 1000000, 120.0, 30.0,
	"user%d", 0, "secret", 50, 600.0, 0, 0, NULL
};
static struct sockaddr_in src_addr;

static int epfd;
static SSL_CTX *sslctx;
static struct conn *conns;
static struct sockaddr_in addr;
static double t0, t_end_new, t_hard;

/* results */
static long n_inuse_retry;
static long n_resumed, n_full;	/* TLS handshakes done */
static long n_offered;		/* -r: handshakes that offered a session */
static int conn_idx = -1;	/* SSL ex_data: the struct conn */
static long n_ok, n_err, n_timeout, n_connfail, n_tlsfail, n_autherr;
static double *lat;
static long nlat;
static double *pass_stat, *uidl_t;
static long npass_stat, nuidl;
static uint64_t payload_bytes, wire_bytes;
static long msgs_retr;
static double retr_time;	/* sum over sessions of the RETR phase */
static double t_first_start = -1, t_last_end;
static int n_authed;
static char first_err[200];

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
note_err(struct conn *c, const char *fmt, ...)
{
	va_list ap;

	if (first_err[0] != '\0')
		return;
	va_start(ap, fmt);
	int n = snprintf(first_err, sizeof(first_err), "c%d st%d: ", c->idx,
	    (int)c->st);
	if (n > 0 && (size_t)n < sizeof(first_err))
		vsnprintf(first_err + n, sizeof(first_err) - n, fmt, ap);
	va_end(ap);
	for (char *p = first_err; *p; p++)
		if (*p == ' ' || *p == '\r' || *p == '\n' || *p == '"')
			*p = '_';
}

static void
set_events(struct conn *c, int ev)
{
	if (c->fd < 0 || ev == c->ev)
		return;
	struct epoll_event e = { .events = ev, .data.ptr = c };
	if (epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &e) == 0)
		c->ev = ev;
}

static void
close_conn(struct conn *c)
{
	if (c->ssl) {
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
	if (c->fd >= 0) {
		epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
		c->fd = -1;
	}
	c->inlen = c->outlen = c->outoff = 0;
	c->want_write = 0;
	c->ev = 0;
}

static int start_session(struct conn *c);

/* A session has ended (ok or not); start the next one if the mode loops. */
static void
end_session(struct conn *c, int ok)
{
	double t = now();

	close_conn(c);
	if (c->authed) {
		c->authed = 0;
		n_authed--;
	}
	c->sessions++;
	if (ok) {
		n_ok++;
		if (nlat < MAX_LAT)
			lat[nlat++] = t - c->t_start;
	}
	t_last_end = t;
	c->st = S_FREE;
	if (opt.mode != M_IDLE) {
		if (t < t_end_new && c->sessions < opt.max_sessions) {
			/* after a failure, back off 10 ms (no busy loop
			 * against a refusing port) */
			c->st = S_RETRY_WAIT;
			c->t_retry = t + (ok ? 0.0 : 0.01);
		}
	}
}

static void
fail(struct conn *c, long *counter, const char *what)
{
	(*counter)++;
	note_err(c, "%s", what);
	end_session(c, 0);
}

static int
start_session(struct conn *c)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;

	c->t_start = now();
	if (t_first_start < 0)
		t_first_start = c->t_start;
	c->t_deadline = c->t_start + opt.sess_timeout;
	c->nmsg = c->cur = 0;
	c->inlen = c->outlen = c->outoff = 0;
	if (fd < 0) {
		n_connfail++;
		note_err(c, "socket: %s", strerror(errno));
		c->st = S_FREE;
		return -1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (opt.bind_src != NULL &&
	    bind(fd, (struct sockaddr *)&src_addr, sizeof(src_addr)) == -1) {
		n_connfail++;
		note_err(c, "bind: %s", strerror(errno));
		close(fd);
		c->st = S_FREE;
		return -1;
	}
	c->fd = fd;
	c->st = S_CONNECTING;
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == -1 &&
	    errno != EINPROGRESS) {
		n_connfail++;
		note_err(c, "connect: %s", strerror(errno));
		close(fd);
		c->fd = -1;
		c->st = S_FREE;
		return -1;
	}
	struct epoll_event e = { .events = EPOLLOUT, .data.ptr = c };
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &e) == -1) {
		n_connfail++;
		close(fd);
		c->fd = -1;
		c->st = S_FREE;
		return -1;
	}
	c->ev = EPOLLOUT;
	return 0;
}

/* Write pending output; 0 ok (maybe partial), -1 error. */
static int
flush_out(struct conn *c)
{
	while (c->outoff < c->outlen) {
		ssize_t n;
		size_t left = c->outlen - c->outoff;

		if (c->ssl) {
			ERR_clear_error();
			int r = SSL_write(c->ssl, c->out + c->outoff, (int)left);
			if (r <= 0) {
				int e = SSL_get_error(c->ssl, r);
				if (e == SSL_ERROR_WANT_WRITE ||
				    e == SSL_ERROR_WANT_READ)
					return 0;
				return -1;
			}
			n = r;
		} else {
			n = send(c->fd, c->out + c->outoff, left, MSG_NOSIGNAL);
			if (n < 0) {
				if (errno == EAGAIN || errno == EINTR)
					return 0;
				return -1;
			}
		}
		c->outoff += (size_t)n;
	}
	c->outoff = c->outlen = 0;
	return 0;
}

static int
send_cmd(struct conn *c, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (c->outlen != 0)
		return -1;	/* one command at a time, no pipelining */
	va_start(ap, fmt);
	n = vsnprintf(c->out, sizeof(c->out) - 2, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(c->out) - 2)
		return -1;
	c->out[n++] = '\r';
	c->out[n++] = '\n';
	c->outlen = (size_t)n;
	c->outoff = 0;
	return flush_out(c);
}

static const char *
username(struct conn *c, char *buf, size_t len)
{
	if (strstr(opt.userfmt, "%d"))
		snprintf(buf, len, opt.userfmt, c->idx + opt.userbase);
	else
		snprintf(buf, len, "%s", opt.userfmt);
	return buf;
}

/* Handle one complete line (with CRLF).  Returns -1 when the session ended
 * (conn closed or restarted), 0 to continue. */
static int
on_line(struct conn *c, const char *line, size_t len)
{
	char ubuf[256];
	int ok = len >= 3 && memcmp(line, "+OK", 3) == 0;

	switch (c->st) {
	case S_RETR_BODY:
	case S_UIDL_BODY:
		wire_bytes += len;
		if (len == 3 && memcmp(line, ".\r\n", 3) == 0) {
			if (c->st == S_UIDL_BODY) {
				if (nuidl < 1000)
					uidl_t[nuidl++] = now() - c->t_uidl;
				c->st = S_QUIT;
				return send_cmd(c, "QUIT");
			}
			msgs_retr++;
			if (++c->cur <= c->nmsg) {
				c->st = S_RETR;
				return send_cmd(c, "RETR %ld", c->cur);
			}
			retr_time += now() - c->t_retr;
			c->st = S_QUIT;
			return send_cmd(c, "QUIT");
		}
		if (c->st == S_RETR_BODY) {
			/* payload: CRLF line ends, without dot-stuffing */
			payload_bytes += len - (line[0] == '.' ? 1 : 0);
		}
		return 0;
	case S_GREETING:
		if (!ok)
			goto bad;
		c->st = S_USER;
		return send_cmd(c, "USER %s", username(c, ubuf, sizeof(ubuf)));
	case S_USER:
		if (!ok)
			goto bad;
		c->st = S_PASS;
		c->t_pass = now();
		return send_cmd(c, "PASS %s", opt.password);
	case S_PASS:
		if (!ok && opt.mode == M_BIGBOX && len > 12 &&
		    memmem(line, len, "[IN-USE]", 8) != NULL &&
		    c->inuse_retries < MAX_INUSE_RETRIES) {
			/* the previous session's worker still holds the
			 * mailbox: try again in 100 ms (not a session) */
			c->inuse_retries++;
			n_inuse_retry++;
			close_conn(c);
			c->st = S_RETRY_WAIT;
			c->t_retry = now() + 0.1;
			return -1;
		}
		if (!ok) {
			n_autherr++;
			note_err(c, "PASS: %.*s", (int)(len > 80 ? 80 : len), line);
			end_session(c, 0);
			return -1;
		}
		c->authed = 1;
		n_authed++;
		c->st = S_STAT;
		return send_cmd(c, "STAT");
	case S_STAT:
		if (!ok)
			goto bad;
		if (opt.mode == M_BIGBOX && npass_stat < 1000)
			pass_stat[npass_stat++] = now() - c->t_pass;
		c->nmsg = strtol(line + 3, NULL, 10);
		if (opt.mode == M_DOWNLOAD && c->nmsg > 0) {
			c->cur = 1;
			c->st = S_RETR;
			c->t_retr = now();
			return send_cmd(c, "RETR 1");
		}
		if (opt.mode == M_BIGBOX) {
			c->st = S_UIDL;
			c->t_uidl = now();
			return send_cmd(c, "UIDL");
		}
		if (opt.mode == M_IDLE) {
			c->st = S_IDLE;
			return 0;
		}
		c->st = S_QUIT;
		return send_cmd(c, "QUIT");
	case S_RETR:
		if (!ok)
			goto bad;
		wire_bytes += len;
		c->st = S_RETR_BODY;
		return 0;
	case S_UIDL:
		if (!ok)
			goto bad;
		c->st = S_UIDL_BODY;
		return 0;
	case S_QUIT:
		if (!ok)
			goto bad;
		/* The answer is the end of the measured session; wait for
		 * the server to close first so TIME_WAIT stays on its side. */
		c->st = S_QUIT_EOF;
		if (c->authed) {
			c->authed = 0;
			n_authed--;
		}
		{
			double t = now();
			n_ok++;
			if (nlat < MAX_LAT)
				lat[nlat++] = t - c->t_start;
			c->t_start = -1;	/* counted */
		}
		return 0;
	case S_IDLE:
	case S_QUIT_EOF:
	default:
		note_err(c, "unexpected: %.*s", (int)(len > 80 ? 80 : len), line);
		n_err++;
		end_session(c, 0);
		return -1;
	}
bad:
	n_err++;
	note_err(c, "answer: %.*s", (int)(len > 80 ? 80 : len), line);
	end_session(c, 0);
	return -1;
}

/* Session finished after the QUIT answer and the server's EOF. */
static void
finish_quit(struct conn *c)
{
	double t = now();

	if (c->ssl != NULL) {
		/* a clean end (the server closed after QUIT): without it
		 * SSL_free marks the session not resumable.  The server has
		 * gone, so nothing is sent. */
		SSL_set_quiet_shutdown(c->ssl, 1);
		SSL_shutdown(c->ssl);
	}
	close_conn(c);
	c->sessions++;
	t_last_end = t;
	c->st = S_FREE;
	if (opt.mode != M_IDLE) {
		if (t < t_end_new && c->sessions < opt.max_sessions)
			start_session(c);
	}
}

/* A message body from in[*offp] (always at the start of a line) in
 * bulk: payload and wire bytes counted without a call per line; only
 * lines that start with '.' are looked at.  Returns 1 with *offp at the
 * terminating ".\r\n" line (for on_line), 0 when more input is needed.
 * At 2 MB messages, per-line work here would bound the figure rather
 * than the server. */
static int
body_bulk(struct conn *c, size_t *offp)
{
	size_t off = *offp;

	while (off < c->inlen) {
		char *p = c->in + off, *q;
		size_t left = c->inlen - off, len;

		if (p[0] == '.') {
			if (left < 3)
				break;
			if (p[1] == '\r' && p[2] == '\n') {
				*offp = off;
				return 1;
			}
			if ((q = memchr(p, '\n', left)) == NULL)
				break;
			len = (size_t)(q - p) + 1;
			payload_bytes += len - 1;	/* dot-stuffing */
		} else {
			/* the next line that starts with '.': memchr for
			 * '.' (vectorised; memmem of "\n." is not) */
			char *end = p + left;

			for (q = p + 1; (q = memchr(q, '.', (size_t)(end - q))) !=
			    NULL && q[-1] != '\n'; q++)
				;
			if (q != NULL)
				q--;	/* the '\n' before it */
			else if ((q = memrchr(p, '\n', left)) == NULL)
				break;
			len = (size_t)(q - p) + 1;
			payload_bytes += len;
		}
		wire_bytes += len;
		off += len;
	}
	*offp = off;
	return 0;
}

static void
do_read(struct conn *c)
{
	for (int rounds = 0; rounds < 64; rounds++) {
		ssize_t n;
		size_t room = sizeof(c->in) - c->inlen;

		if (room == 0) {
			n_err++;
			note_err(c, "line too long");
			end_session(c, 0);
			return;
		}
		if (c->ssl) {
			ERR_clear_error();
			int r = SSL_read(c->ssl, c->in + c->inlen, (int)room);
			if (r <= 0) {
				int e = SSL_get_error(c->ssl, r);
				if (e == SSL_ERROR_WANT_READ)
					return;
				if (e == SSL_ERROR_WANT_WRITE) {
					c->want_write = 1;
					return;
				}
				n = 0;	/* EOF or error */
			} else
				n = r;
		} else {
			n = recv(c->fd, c->in + c->inlen, room, 0);
			if (n < 0) {
				if (errno == EAGAIN || errno == EINTR)
					return;
				n = 0;
			}
		}
		if (n == 0) {
			if (c->st == S_QUIT_EOF) {
				finish_quit(c);
				return;
			}
			n_err++;
			note_err(c, "EOF from server");
			end_session(c, 0);
			return;
		}
		c->inlen += (size_t)n;
		/* lines */
		size_t off = 0;
		for (;;) {
			if (c->st == S_RETR_BODY && body_bulk(c, &off) == 0)
				break;
			char *nl = memchr(c->in + off, '\n', c->inlen - off);
			if (!nl)
				break;
			size_t len = (size_t)(nl - (c->in + off)) + 1;
			if (on_line(c, c->in + off, len) == -1)
				return;
			off += len;
			if (c->fd < 0)
				return;
		}
		if (off > 0) {
			memmove(c->in, c->in + off, c->inlen - off);
			c->inlen -= off;
		}
		if ((size_t)n < room && !(c->ssl && SSL_pending(c->ssl)))
			return;
	}
}

/* -r: the server gave this connection a session (a TLS 1.3 ticket
 * arrives after the handshake): keep the newest for the slot's next
 * connection.  Returns 1: the reference is ours. */
static int
new_session_cb(SSL *ssl, SSL_SESSION *sess)
{
	struct conn *c = SSL_get_ex_data(ssl, conn_idx);

	if (c == NULL)
		return 0;
	if (c->sess != NULL)
		SSL_SESSION_free(c->sess);
	c->sess = sess;
	return 1;
}

/* -x: a PROXY protocol v2 header, PROXY command, TCP over IPv4: the
 * client's "real" address 127.1.x.y (one per client slot, inside the
 * bench's limits_exempt range), port 40000 + slot, to the server's. */
static int
send_proxy(struct conn *c)
{
	static const unsigned char sig[12] = { 0x0d, 0x0a, 0x0d, 0x0a, 0x00,
	    0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a };
	unsigned char h[28];
	unsigned src = 0x7f010000u | (unsigned)((c->idx % 65000) + 1);
	unsigned sport = 40000 + (unsigned)(c->idx % 20000);
	uint32_t dst = ntohl(addr.sin_addr.s_addr);
	unsigned dport = ntohs(addr.sin_port);

	memcpy(h, sig, 12);
	h[12] = 0x21;		/* version 2, PROXY */
	h[13] = 0x11;		/* AF_INET, STREAM */
	h[14] = 0;
	h[15] = 12;
	h[16] = src >> 24; h[17] = src >> 16; h[18] = src >> 8; h[19] = src;
	h[20] = dst >> 24; h[21] = dst >> 16; h[22] = dst >> 8; h[23] = dst;
	h[24] = sport >> 8; h[25] = sport & 0xff;
	h[26] = dport >> 8; h[27] = dport & 0xff;
	/* a fresh connection's send buffer is empty: all or an error */
	if (send(c->fd, h, sizeof(h), MSG_NOSIGNAL) != (ssize_t)sizeof(h)) {
		if (errno == 0)
			errno = EAGAIN;
		return -1;
	}
	return 0;
}

static void
handle(struct conn *c, uint32_t events)
{
	if (c->fd < 0)
		return;
	if (c->st == S_CONNECTING) {
		int err = 0;
		socklen_t l = sizeof(err);
		getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &l);
		if (err != 0) {
			n_connfail++;
			note_err(c, "connect: %s", strerror(err));
			end_session(c, 0);
			return;
		}
		if (opt.proxy && send_proxy(c) == -1) {
			n_err++;
			note_err(c, "PROXY header: %s", strerror(errno));
			end_session(c, 0);
			return;
		}
		if (opt.tls) {
			c->ssl = SSL_new(sslctx);
			if (!c->ssl) {
				fail(c, &n_tlsfail, "SSL_new");
				return;
			}
			SSL_set_fd(c->ssl, c->fd);
			if (opt.resume)
				SSL_set_ex_data(c->ssl, conn_idx, c);
			if (opt.resume && c->sess != NULL) {
				if (SSL_set_session(c->ssl, c->sess) != 1) {
					fail(c, &n_tlsfail, "SSL_set_session");
					return;
				}
				n_offered++;
			}
			SSL_set_connect_state(c->ssl);
			c->st = S_HANDSHAKE;
		} else {
			c->st = S_GREETING;
			set_events(c, EPOLLIN);
			return;
		}
	}
	if (c->st == S_HANDSHAKE) {
		ERR_clear_error();
		int r = SSL_connect(c->ssl);
		if (r == 1) {
			if (SSL_session_reused(c->ssl))
				n_resumed++;
			else
				n_full++;
			c->st = S_GREETING;
			set_events(c, EPOLLIN);
			/* fall through: the greeting may be buffered */
		} else {
			int e = SSL_get_error(c->ssl, r);
			if (e == SSL_ERROR_WANT_READ)
				set_events(c, EPOLLIN);
			else if (e == SSL_ERROR_WANT_WRITE)
				set_events(c, EPOLLIN | EPOLLOUT);
			else {
				char b[120];
				ERR_error_string_n(ERR_peek_error(), b, sizeof(b));
				fail(c, &n_tlsfail, b);
			}
			return;
		}
	}
	if (c->outlen > 0 || c->want_write) {
		c->want_write = 0;
		if (flush_out(c) == -1) {
			n_err++;
			note_err(c, "write failed");
			end_session(c, 0);
			return;
		}
	}
	if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) ||
	    (c->ssl && SSL_pending(c->ssl)))
		do_read(c);
	/* a new session may have been started in place of this one: its
	 * connect and handshake set their own events */
	if (c->fd >= 0 && c->st != S_CONNECTING && c->st != S_HANDSHAKE)
		set_events(c, EPOLLIN |
		    ((c->outlen > 0 || c->want_write) ? EPOLLOUT : 0));
}

static int
cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double
pct(double *v, long n, double p)
{
	if (n == 0)
		return -1;
	long i = (long)(p / 100.0 * (double)(n - 1) + 0.5);
	if (i >= n)
		i = n - 1;
	return v[i];
}

static void
usage(void)
{
	fprintf(stderr,
	    "usage: popload -m login|download|bigbox|idle|forkcost|loopback\n"
	    "  [-h host] -p port [-s [-r]] [-x] [-B source-address]\n"
	    "  [-c clients] [-d seconds] [-n sessions-per-client] [-T deadline]\n"
	    "  [-t session-timeout] [-u userfmt] [-b base] [-w password]\n"
	    "  [-P logins-in-flight] [-H hold-seconds]\n");
	exit(2);
}

#define FORKCOST_MAX	100000

static double
cpu_seconds(int who)
{
	struct rusage ru;

	if (getrusage(who, &ru) == -1)
		return 0;
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

/* -m forkcost: CPU (this process and its children) and wall time per
 * fork + _exit + waitpid. */
static int
fork_cost(void)
{
	long n = opt.max_sessions, i;
	double t0 = now(), c0, c1;

	if (n < 1 || n > FORKCOST_MAX)
		usage();
	c0 = cpu_seconds(RUSAGE_SELF) + cpu_seconds(RUSAGE_CHILDREN);
	for (i = 0; i < n && now() - t0 < opt.deadline; i++) {
		pid_t p = fork();

		if (p == -1)
			return 1;
		if (p == 0)
			_exit(0);
		while (waitpid(p, NULL, 0) == -1 && errno == EINTR)
			;
	}
	c1 = cpu_seconds(RUSAGE_SELF) + cpu_seconds(RUSAGE_CHILDREN);
	printf("popload mode=forkcost forks=%ld cpu_us_per_fork=%.1f "
	    "wall_us_per_fork=%.1f\n", i, i ? (c1 - c0) / (double)i * 1e6 : 0,
	    i ? (now() - t0) / (double)i * 1e6 : 0);
	return i == n ? 0 : 1;
}

#define LOOPBACK_CHUNK	(256 * 1024)

/* -m loopback: a child writes one buffer in a loop to a loopback TCP
 * connection (send from memory, nothing else), this process reads it
 * for -d seconds (at most -T).  The child is stopped by its PID. */
static int
loopback(void)
{
	struct sockaddr_in a;
	socklen_t al = sizeof(a);
	int ls, fd, st;
	pid_t pid;
	static char buf[LOOPBACK_CHUNK];
	unsigned long long got = 0;
	double t0, t1, lim;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    bind(ls, (struct sockaddr *)&a, sizeof(a)) == -1 ||
	    listen(ls, 1) == -1 ||
	    getsockname(ls, (struct sockaddr *)&a, &al) == -1)
		return 1;
	if ((pid = fork()) == -1)
		return 1;
	if (pid == 0) {
		int s = accept(ls, NULL, NULL);

		memset(buf, 'x', sizeof(buf));
		alarm((unsigned)opt.deadline + 5);	/* bounded */
		while (s != -1 && send(s, buf, sizeof(buf), MSG_NOSIGNAL) > 0)
			;
		_exit(0);
	}
	close(ls);
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    connect(fd, (struct sockaddr *)&a, sizeof(a)) == -1) {
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
		return 1;
	}
	lim = opt.duration < opt.deadline ? opt.duration : opt.deadline;
	t0 = now();
	for (long i = 0; i < 100000000L && now() - t0 < lim; i++) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);

		if (n <= 0)
			break;
		got += (unsigned long long)n;
	}
	t1 = now();
	close(fd);
	kill(pid, SIGKILL);
	while (waitpid(pid, &st, 0) == -1 && errno == EINTR)
		;
	printf("popload mode=loopback bytes=%llu elapsed=%.3f mb_per_s=%.1f "
	    "first_error=-\n", got, t1 - t0,
	    t1 > t0 ? got / (t1 - t0) / 1e6 : 0);
	return got > 0 ? 0 : 1;
}

static volatile sig_atomic_t stop_flag;
static void
on_sig(int s)
{
	(void)s;
	stop_flag = 1;
}

int
main(int argc, char **argv)
{
	int ch;

	while ((ch = getopt(argc, argv, "m:h:p:srxB:c:d:n:T:t:u:b:w:P:H:")) != -1) {
		switch (ch) {
		case 'm':
			if (!strcmp(optarg, "login")) opt.mode = M_LOGIN;
			else if (!strcmp(optarg, "download")) opt.mode = M_DOWNLOAD;
			else if (!strcmp(optarg, "bigbox")) opt.mode = M_BIGBOX;
			else if (!strcmp(optarg, "idle")) opt.mode = M_IDLE;
			else if (!strcmp(optarg, "forkcost")) opt.mode = M_FORKCOST;
			else if (!strcmp(optarg, "loopback")) opt.mode = M_LOOPBACK;
			else usage();
			break;
		case 'h': opt.host = optarg; break;
		case 'p': opt.port = atoi(optarg); break;
		case 's': opt.tls = 1; break;
		case 'r': opt.resume = 1; break;
		case 'x': opt.proxy = 1; break;
		case 'B': opt.bind_src = optarg; break;
		case 'c': opt.clients = atoi(optarg); break;
		case 'd': opt.duration = atof(optarg); break;
		case 'n': opt.max_sessions = atol(optarg); break;
		case 'T': opt.deadline = atof(optarg); break;
		case 't': opt.sess_timeout = atof(optarg); break;
		case 'u': opt.userfmt = optarg; break;
		case 'b': opt.userbase = atoi(optarg); break;
		case 'w': opt.password = optarg; break;
		case 'P': opt.parallel = atoi(optarg); break;
		case 'H': opt.hold = atof(optarg); break;
		default: usage();
		}
	}
	if (opt.mode == M_FORKCOST)
		return fork_cost();
	if (opt.mode == M_LOOPBACK)
		return loopback();
	if (opt.resume && !opt.tls)
		usage();
	if (opt.clients < 1 || opt.clients > MAX_CONNS || opt.port <= 0 ||
	    opt.deadline <= 0 || opt.sess_timeout <= 0 || opt.parallel < 1 ||
	    opt.max_sessions < 1)
		usage();
	if (opt.mode == M_BIGBOX)
		opt.clients = 1;
	if (opt.mode == M_IDLE)
		opt.max_sessions = 1;

	signal(SIGPIPE, SIG_IGN);
	signal(SIGTERM, on_sig);
	signal(SIGINT, on_sig);

	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}

	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	addr.sin_port = htons((uint16_t)opt.port);
	if (inet_pton(AF_INET, opt.host, &addr.sin_addr) != 1)
		usage();
	src_addr.sin_family = AF_INET;
	if (opt.bind_src != NULL &&
	    inet_pton(AF_INET, opt.bind_src, &src_addr.sin_addr) != 1)
		usage();

	if (opt.tls) {
		sslctx = SSL_CTX_new(TLS_client_method());
		if (!sslctx)
			return 1;
		SSL_CTX_set_verify(sslctx, SSL_VERIFY_NONE, NULL);
		if (opt.resume) {
			/* sessions kept per slot by new_session_cb, none in
			 * OpenSSL's own client cache */
			conn_idx = SSL_get_ex_new_index(0, NULL, NULL, NULL,
			    NULL);
			SSL_CTX_set_session_cache_mode(sslctx,
			    SSL_SESS_CACHE_CLIENT |
			    SSL_SESS_CACHE_NO_INTERNAL_STORE);
			SSL_CTX_sess_set_new_cb(sslctx, new_session_cb);
		} else {
			SSL_CTX_set_options(sslctx, SSL_OP_NO_TICKET);
			SSL_CTX_set_session_cache_mode(sslctx,
			    SSL_SESS_CACHE_OFF);
		}
		SSL_CTX_set_mode(sslctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
		    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	}

	conns = calloc((size_t)opt.clients, sizeof(*conns));
	lat = malloc(sizeof(double) * MAX_LAT);
	pass_stat = malloc(sizeof(double) * 1000);
	uidl_t = malloc(sizeof(double) * 1000);
	if (!conns || !lat || !pass_stat || !uidl_t)
		return 1;
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0)
		return 1;

	t0 = now();
	t_hard = t0 + opt.deadline;
	t_end_new = (opt.mode == M_LOGIN || opt.mode == M_DOWNLOAD) ?
	    t0 + opt.duration : t_hard;
	for (int i = 0; i < opt.clients; i++) {
		conns[i].idx = i;
		conns[i].fd = -1;
		conns[i].st = S_WAIT_START;
	}
	int started = 0;
	int ready_printed = 0;
	int holding = 0;
	double hold_until = 0;
	struct epoll_event evs[256];

	/* Main loop: bounded by t_hard (and a generous iteration cap). */
	for (long iter = 0; iter < 2000000000L; iter++) {
		double t = now();
		if (t >= t_hard || stop_flag)
			break;

		/* start clients (idle: at most opt.parallel logins in flight) */
		while (started < opt.clients) {
			if (opt.mode == M_IDLE) {
				int inflight = 0;
				/* count cheaply: started minus idle minus ended */
				int idle = 0, ended = 0;
				(void)idle; (void)ended;
				inflight = started - n_authed - (int)(n_err + n_autherr + n_connfail + n_tlsfail);
				if (inflight >= opt.parallel)
					break;
			}
			struct conn *c = &conns[started++];
			start_session(c);
		}

		if (opt.mode == M_IDLE && !ready_printed &&
		    started == opt.clients) {
			int pending = 0;
			for (int i = 0; i < opt.clients; i++)
				if (conns[i].fd >= 0 && conns[i].st != S_IDLE)
					pending++;
			if (pending == 0) {
				printf("READY authed=%d errors=%ld elapsed=%.3f\n",
				    n_authed, n_err + n_autherr + n_connfail + n_tlsfail,
				    now() - t0);
				fflush(stdout);
				ready_printed = 1;
				holding = 1;
				hold_until = now() + opt.hold;
			}
		}
		if (holding) {
			struct pollfd p = { .fd = 0, .events = POLLIN };
			int done = now() >= hold_until;
			if (!done && poll(&p, 1, 0) == 1) {
				char b[64];
				ssize_t r = read(0, b, sizeof(b));
				if (r <= 0)
					done = 1;
			}
			if (done) {
				holding = 0;
				for (int i = 0; i < opt.clients; i++) {
					struct conn *c = &conns[i];
					if (c->fd >= 0 && c->st == S_IDLE) {
						c->st = S_QUIT;
						if (send_cmd(c, "QUIT") == -1) {
							n_err++;
							end_session(c, 0);
						} else
							set_events(c, EPOLLIN | (c->outlen ? EPOLLOUT : 0));
					}
				}
			}
		}

		/* clients waiting to retry after [IN-USE] */
		for (int i = 0; i < started; i++)
			if (conns[i].st == S_RETRY_WAIT &&
			    now() >= conns[i].t_retry)
				start_session(&conns[i]);

		/* all done? */
		int active = 0;
		for (int i = 0; i < opt.clients; i++)
			if (conns[i].fd >= 0 || conns[i].st == S_RETRY_WAIT) {
				active = 1;
				break;
			}
		if (!active && started == opt.clients && !holding) {
			int again = 0;
			if (opt.mode != M_IDLE) {
				/* clients that failed to connect: retry while
				 * time remains */
				for (int i = 0; i < opt.clients; i++)
					if (conns[i].st == S_FREE &&
					    now() < t_end_new &&
					    conns[i].sessions < opt.max_sessions) {
						start_session(&conns[i]);
						again = 1;
					}
			}
			if (!again)
				break;
		}

		int n = epoll_wait(epfd, evs, 256, 50);
		if (n < 0 && errno != EINTR)
			break;
		for (int i = 0; i < n; i++)
			handle(evs[i].data.ptr, evs[i].events);

		/* session timeouts (every ~64 iterations or on idle ticks) */
		if (n == 0 || (iter & 63) == 0) {
			double tt = now();
			for (int i = 0; i < opt.clients; i++) {
				struct conn *c = &conns[i];
				if (c->fd >= 0 && c->st != S_IDLE &&
				    tt > c->t_deadline) {
					n_timeout++;
					note_err(c, "session timeout");
					end_session(c, 0);
				}
			}
		}
	}
	double t_stop = now();
	long unfinished = 0;
	for (int i = 0; i < opt.clients; i++)
		if (conns[i].fd >= 0) {
			unfinished++;
			close_conn(&conns[i]);
		}

	qsort(lat, (size_t)nlat, sizeof(double), cmp_d);
	double span = (opt.mode == M_LOGIN) ?
	    (t_last_end > t0 ? t_last_end - t0 : t_stop - t0) :
	    (t_last_end > t0 ? t_last_end - t0 : t_stop - t0);
	printf("popload mode=%s tls=%d clients=%d sessions=%ld errors=%ld "
	    "auth_errors=%ld timeouts=%ld connect_fail=%ld tls_fail=%ld "
	    "unfinished=%ld elapsed=%.3f",
	    opt.mode == M_LOGIN ? "login" : opt.mode == M_DOWNLOAD ? "download" :
	    opt.mode == M_BIGBOX ? "bigbox" : "idle", opt.tls, opt.clients,
	    n_ok, n_err, n_autherr, n_timeout, n_connfail, n_tlsfail,
	    unfinished, span);
	if (opt.tls)
		printf(" full_handshakes=%ld resumed=%ld offered=%ld", n_full,
		    n_resumed, n_offered);
	if (opt.mode == M_LOGIN)
		printf(" sessions_per_s=%.1f p50_ms=%.3f p99_ms=%.3f max_ms=%.3f",
		    span > 0 ? n_ok / span : 0, pct(lat, nlat, 50) * 1e3,
		    pct(lat, nlat, 99) * 1e3, nlat ? lat[nlat - 1] * 1e3 : -1);
	if (opt.mode == M_DOWNLOAD)
		printf(" messages=%ld payload_bytes=%llu wire_bytes=%llu "
		    "mb_per_s=%.2f retr_mb_per_s=%.2f", msgs_retr,
		    (unsigned long long)payload_bytes,
		    (unsigned long long)wire_bytes,
		    span > 0 ? payload_bytes / span / 1e6 : 0,
		    /* payload over the mean time the clients spent in RETR
		     * (login and QUIT excluded) */
		    retr_time > 0 ?
		    payload_bytes / (retr_time / opt.clients) / 1e6 : 0);
	if (opt.mode == M_BIGBOX) {
		printf(" inuse_retries=%ld pass_to_stat_ms=", n_inuse_retry);
		for (long i = 0; i < npass_stat; i++)
			printf("%s%.3f", i ? "," : "", pass_stat[i] * 1e3);
		printf(" uidl_ms=");
		for (long i = 0; i < nuidl; i++)
			printf("%s%.3f", i ? "," : "", uidl_t[i] * 1e3);
	}
	if (opt.mode == M_IDLE)
		printf(" ready=%d", ready_printed);
	printf(" first_error=%s\n", first_err[0] ? first_err : "-");
	fflush(stdout);
	(void)t_first_start;
	return 0;
}
