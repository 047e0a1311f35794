/*
 * Unit tests for common/ipc.c: typed messages over SOCK_SEQPACKET,
 * payload getters and putters, datagram checks and descriptor passing.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "ipc.h"
#include "limits.h"

#define HDR	8	/* u32 type, u32 len, host order */

static struct msg m, r;	/* large: keep them off the stack */

struct pair {
	int	sv[2];
};

static int
setup_pair(void **state)
{
	struct pair *p = calloc(1, sizeof(*p));

	if (p == NULL || ipc_socketpair(p->sv) == -1)
		return -1;
	*state = p;
	return 0;
}

static int
teardown_pair(void **state)
{
	struct pair *p = *state;

	close(p->sv[0]);
	close(p->sv[1]);
	free(p);
	return 0;
}

/* The lowest free descriptor number: where the kernel puts the next
 * received one. */
static int
next_fd(void)
{
	int fd = dup(0);

	assert_true(fd != -1);
	close(fd);
	return fd;
}

static int
fd_is_open(int fd)
{
	return fcntl(fd, F_GETFD) != -1 || errno != EBADF;
}

/* Nothing is waiting on the socket. */
static void
assert_nothing_queued(int s)
{
	char b[16];

	assert_int_equal(recv(s, b, sizeof(b), MSG_DONTWAIT), -1);
	assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
}

/* Send one raw datagram, optionally with nfds descriptors. */
static ssize_t
send_dgram(int s, const void *p, size_t n, const int *fds, int nfds)
{
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(4 * sizeof(int))];
	} cm;
	struct iovec iov;
	struct msghdr mh;

	memset(&mh, 0, sizeof(mh));
	memset(&cm, 0, sizeof(cm));
	iov.iov_base = (void *)(uintptr_t)p;
	iov.iov_len = n;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (nfds > 0) {
		struct cmsghdr *c;

		mh.msg_control = cm.buf;
		mh.msg_controllen = CMSG_SPACE((size_t)nfds * sizeof(int));
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN((size_t)nfds * sizeof(int));
		memcpy(CMSG_DATA(c), fds, (size_t)nfds * sizeof(int));
	}
	return sendmsg(s, &mh, MSG_NOSIGNAL);
}

/* A datagram with the given header and payload bytes. */
static size_t
make_dgram(unsigned char *out, uint32_t type, uint32_t len,
    const void *payload, size_t plen)
{
	memcpy(out, &type, 4);
	memcpy(out + 4, &len, 4);
	if (plen > 0)
		memcpy(out + HDR, payload, plen);
	return HDR + plen;
}

static void
test_msg_name(void **state)
{
	uint32_t t;

	(void)state;
	assert_string_equal(msg_name(MSG_NONE), "UNKNOWN");
	assert_string_equal(msg_name(MSG_TYPE_COUNT), "UNKNOWN");
	assert_string_equal(msg_name(UINT32_MAX), "UNKNOWN");
	assert_string_equal(msg_name(MSG_SESSION_AUTH_OK), "SESSION_AUTH_OK");
	assert_string_equal(msg_name(MSG_STORE_TOP), "STORE_TOP");
	assert_string_equal(msg_name(MSG_AUTH_TLS_START), "AUTH_TLS_START");
	assert_string_equal(msg_name(MSG_AUTH_TLS_SIGN), "AUTH_TLS_SIGN");
	for (t = 1; t < MSG_TYPE_COUNT; t++) {
		assert_non_null(msg_name(t));
		assert_string_not_equal(msg_name(t), "UNKNOWN");
	}
}

/* Every putter and getter, through a real socket, for every type. */
static void
test_roundtrip_all_types(void **state)
{
	struct pair *p = *state;
	uint32_t t;

	for (t = 1; t < MSG_TYPE_COUNT; t++) {
		static const unsigned char raw[] = { 0, 1, 0xff, 0x80 };
		uint32_t a, b;
		uint64_t c, d;
		const char *s1, *s2, *s3;
		unsigned char rawb[4];

		msg_init(&m, t);
		assert_int_equal(m.len, 0);
		assert_int_equal(m.fd, -1);
		assert_int_equal(msg_put_u32(&m, t * 1000003u), 0);
		assert_int_equal(msg_put_u32(&m, UINT32_MAX), 0);
		assert_int_equal(msg_put_u64(&m, (uint64_t)t << 40 | 7), 0);
		assert_int_equal(msg_put_u64(&m, UINT64_MAX), 0);
		assert_int_equal(msg_put_str(&m, "alice@example.org"), 0);
		assert_int_equal(msg_put_str(&m, ""), 0);
		assert_int_equal(msg_put_str(&m, "<1896.697170952@dbc>"), 0);
		assert_int_equal(msg_put_raw(&m, raw, sizeof(raw)), 0);
		assert_int_equal(ipc_send(p->sv[0], &m, -1), 0);

		memset(&r, 0xee, sizeof(r));
		assert_int_equal(ipc_recv(p->sv[1], &r), 1);
		assert_int_equal(r.type, t);
		assert_int_equal(r.len, m.len);
		assert_int_equal(r.fd, -1);
		assert_int_equal(r.rpos, 0);
		assert_int_equal(msg_get_u32(&r, &a), 0);
		assert_int_equal(msg_get_u32(&r, &b), 0);
		assert_int_equal(msg_get_u64(&r, &c), 0);
		assert_int_equal(msg_get_u64(&r, &d), 0);
		assert_int_equal(msg_get_str(&r, &s1, 128), 0);
		assert_int_equal(msg_get_str(&r, &s2, 0), 0);
		assert_int_equal(msg_get_str(&r, &s3, 20), 0);
		assert_int_equal(msg_end(&r), -1);	/* raw bytes left */
		memcpy(rawb, r.data + r.rpos, 4);
		r.rpos += 4;
		assert_int_equal(msg_end(&r), 0);
		assert_int_equal(a, t * 1000003u);
		assert_int_equal(b, UINT32_MAX);
		assert_true(c == ((uint64_t)t << 40 | 7));
		assert_true(d == UINT64_MAX);
		assert_string_equal(s1, "alice@example.org");
		assert_string_equal(s2, "");
		assert_string_equal(s3, "<1896.697170952@dbc>");
		assert_memory_equal(rawb, raw, 4);
		/* reading on past the end fails */
		assert_int_equal(msg_get_u32(&r, &a), -1);
	}
}

/* Empty payloads and ipc_send_raw. */
static void
test_roundtrip_empty_and_raw(void **state)
{
	struct pair *p = *state;
	static const char body[] = "From: a\r\n\r\n..dot\r\n";

	msg_init(&m, MSG_STORE_RSET);
	assert_int_equal(ipc_send(p->sv[0], &m, -1), 0);
	assert_int_equal(ipc_recv(p->sv[1], &r), 1);
	assert_int_equal(r.type, MSG_STORE_RSET);
	assert_int_equal(r.len, 0);
	assert_int_equal(msg_end(&r), 0);

	assert_int_equal(ipc_send_raw(p->sv[1], MSG_SESSION_DATA, body,
	    sizeof(body) - 1), 0);
	assert_int_equal(ipc_recv(p->sv[0], &r), 1);
	assert_int_equal(r.type, MSG_SESSION_DATA);
	assert_int_equal(r.len, sizeof(body) - 1);
	assert_memory_equal(r.data, body, sizeof(body) - 1);

	assert_int_equal(ipc_send_raw(p->sv[1], MSG_SESSION_END, NULL, 0), 0);
	assert_int_equal(ipc_recv(p->sv[0], &r), 1);
	assert_int_equal(r.type, MSG_SESSION_END);
	assert_int_equal(r.len, 0);
}

/* Putters stop at IPC_MAX_PAYLOAD. */
static void
test_put_limits(void **state)
{
	static unsigned char big[IPC_MAX_PAYLOAD + 1];
	static char str[IPC_MAX_PAYLOAD + 1];
	const char *s;

	(void)state;
	msg_init(&m, MSG_SESSION_DATA);
	assert_int_equal(msg_put_raw(&m, big, IPC_MAX_PAYLOAD + 1), -1);
	assert_int_equal(m.len, 0);
	assert_int_equal(msg_put_raw(&m, big, IPC_MAX_PAYLOAD), 0);
	assert_int_equal(m.len, IPC_MAX_PAYLOAD);
	assert_int_equal(msg_put_raw(&m, big, 1), -1);
	assert_int_equal(msg_put_raw(&m, big, 0), 0);
	assert_int_equal(msg_put_u32(&m, 1), -1);
	assert_int_equal(m.len, IPC_MAX_PAYLOAD);

	msg_init(&m, MSG_SESSION_OK);
	assert_int_equal(msg_put_raw(&m, big, IPC_MAX_PAYLOAD - 3), 0);
	assert_int_equal(msg_put_u32(&m, 1), -1);	/* 3 bytes left */
	assert_int_equal(msg_put_u64(&m, 1), -1);
	assert_int_equal(m.len, IPC_MAX_PAYLOAD - 3);

	msg_init(&m, MSG_SESSION_OK);
	assert_int_equal(msg_put_raw(&m, big, IPC_MAX_PAYLOAD - 7), 0);
	assert_int_equal(msg_put_u64(&m, 1), -1);	/* 7 bytes left */
	assert_int_equal(msg_put_u32(&m, 1), 0);

	/* the longest string: u32 + chars + NUL fill the payload */
	memset(str, 'a', sizeof(str) - 1);
	str[IPC_MAX_PAYLOAD - 5] = '\0';
	msg_init(&m, MSG_SESSION_OK);
	assert_int_equal(msg_put_str(&m, str), 0);
	assert_int_equal(m.len, IPC_MAX_PAYLOAD);
	assert_int_equal(msg_get_str(&m, &s, IPC_MAX_PAYLOAD), 0);
	assert_int_equal(strlen(s), IPC_MAX_PAYLOAD - 5);
	assert_int_equal(msg_end(&m), 0);
	str[IPC_MAX_PAYLOAD - 5] = 'a';
	str[IPC_MAX_PAYLOAD - 4] = '\0';
	msg_init(&m, MSG_SESSION_OK);
	assert_int_equal(msg_put_str(&m, str), -1);
	str[IPC_MAX_PAYLOAD] = '\0';
	msg_init(&m, MSG_SESSION_OK);
	assert_int_equal(msg_put_str(&m, str), -1);
}

/* msg_get_str on hand-made payloads. */
struct str_case {
	uint32_t	 n;		/* the length field */
	const char	*bytes;
	size_t		 nbytes;	/* payload bytes after the field */
	size_t		 max;
	int		 want;
	const char	*value;
};

static const struct str_case str_cases[] = {
	{ 1, "", 1, 10, 0, "" },
	{ 4, "abc", 4, 10, 0, "abc" },
	{ 4, "abc", 4, 3, 0, "abc" },		/* max is the length */
	{ 4, "abc", 4, 2, -1, NULL },		/* over max */
	{ 4, "abc", 4, 0, -1, NULL },
	{ 1, "", 1, 0, 0, "" },
	{ 0, "", 0, 10, -1, NULL },		/* zero length */
	{ 0, "abc", 4, 10, -1, NULL },
	{ 3, "abc", 3, 10, -1, NULL },		/* unterminated */
	{ 3, "abcd", 4, 10, -1, NULL },		/* NUL not at n - 1 */
	{ 4, "a\0b", 4, 10, -1, NULL },		/* inner NUL */
	{ 4, "\0bc", 4, 10, -1, NULL },
	{ 2, "\0", 2, 10, -1, NULL },
	{ 5, "abc", 4, 10, -1, NULL },		/* beyond the payload */
	{ 100, "abc", 4, 1000, -1, NULL },
	{ UINT32_MAX, "abc", 4, SIZE_MAX, -1, NULL },
	{ UINT32_MAX, "abc", 4, 10, -1, NULL },
	{ 0x80000000u, "abc", 4, SIZE_MAX, -1, NULL },
};

static void
test_get_str_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(str_cases) / sizeof(str_cases[0]); i++) {
		const struct str_case *t = &str_cases[i];
		const char *s = NULL;
		int res;

		msg_init(&m, MSG_SESSION_OK);
		assert_int_equal(msg_put_u32(&m, t->n), 0);
		assert_int_equal(msg_put_raw(&m, t->bytes, t->nbytes), 0);
		res = msg_get_str(&m, &s, t->max);
		if (res != t->want)
			fail_msg("case %zu: got %d want %d", i, res, t->want);
		if (res == 0) {
			assert_non_null(s);
			assert_string_equal(s, t->value);
			/* s points into the message */
			assert_ptr_equal(s, (const char *)m.data + 4);
			assert_int_equal(m.rpos, 4 + t->n);
		}
	}
	/* no room even for the length */
	{
		const char *s = NULL;

		msg_init(&m, MSG_SESSION_OK);
		assert_int_equal(msg_put_raw(&m, "\1\0\0", 3), 0);
		assert_int_equal(msg_get_str(&m, &s, 10), -1);
		msg_init(&m, MSG_SESSION_OK);
		assert_int_equal(msg_get_str(&m, &s, 10), -1);
		assert_null(s);
	}
}

/* Fixed-size getters on short payloads, and msg_end. */
static void
test_get_short_and_end(void **state)
{
	static const unsigned char eight[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	size_t n;

	(void)state;
	for (n = 0; n <= 8; n++) {
		uint32_t a;
		uint64_t b;

		msg_init(&m, MSG_SESSION_OK);
		assert_int_equal(msg_put_raw(&m, eight, n), 0);
		assert_int_equal(msg_end(&m), n == 0 ? 0 : -1);
		assert_int_equal(msg_get_u64(&m, &b), n == 8 ? 0 : -1);
		if (n < 8)
			assert_int_equal(m.rpos, 0);	/* nothing taken */
		m.rpos = 0;
		assert_int_equal(msg_get_u32(&m, &a), n >= 4 ? 0 : -1);
		if (n >= 4) {
			assert_memory_equal(&a, eight, 4);
			assert_int_equal(msg_end(&m), n == 4 ? 0 : -1);
		}
	}
}

/* ipc_decode: the fuzz target's entry. */
struct dec_case {
	uint32_t	type, len;	/* header */
	size_t		plen;		/* payload bytes actually present */
	size_t		cut;		/* if non-zero: total datagram size */
	int		want;
};

static const struct dec_case dec_cases[] = {
	{ MSG_STORE_RSET, 0, 0, 1, -1 },	/* short header */
	{ MSG_STORE_RSET, 0, 0, 4, -1 },
	{ MSG_STORE_RSET, 0, 0, 7, -1 },
	{ MSG_STORE_RSET, 0, 0, 0, 0 },
	{ MSG_NONE, 0, 0, 0, -1 },		/* unknown types */
	{ MSG_TYPE_COUNT, 0, 0, 0, -1 },
	{ MSG_TYPE_COUNT + 1, 0, 0, 0, -1 },
	{ UINT32_MAX, 0, 0, 0, -1 },
	{ MSG_TYPE_COUNT - 1, 0, 0, 0, 0 },
	{ 1, 0, 0, 0, 0 },
	{ MSG_STORE_LIST, 4, 4, 0, 0 },
	{ MSG_STORE_LIST, 5, 4, 0, -1 },	/* length mismatch */
	{ MSG_STORE_LIST, 3, 4, 0, -1 },
	{ MSG_STORE_LIST, 0, 4, 0, -1 },
	{ MSG_STORE_LIST, UINT32_MAX, 4, 0, -1 },
	{ MSG_STORE_LIST, UINT32_MAX - 7, 4, 0, -1 },	/* wraps with HDR */
	{ MSG_SESSION_DATA, IPC_MAX_PAYLOAD, IPC_MAX_PAYLOAD, 0, 0 },
	{ MSG_SESSION_DATA, IPC_MAX_PAYLOAD + 1, IPC_MAX_PAYLOAD + 1, 0, -1 },
	{ MSG_SESSION_DATA, IPC_MAX_PAYLOAD + 1, IPC_MAX_PAYLOAD, 0, -1 },
	{ MSG_SESSION_DATA, IPC_MAX_PAYLOAD, IPC_MAX_PAYLOAD + 1, 0, -1 },
};

static void
test_decode_table(void **state)
{
	static unsigned char d[HDR + IPC_MAX_PAYLOAD + 16];
	static unsigned char payload[IPC_MAX_PAYLOAD + 16];
	size_t i, j;

	(void)state;
	for (j = 0; j < sizeof(payload); j++)
		payload[j] = (unsigned char)(j * 31 + 1);
	for (i = 0; i < sizeof(dec_cases) / sizeof(dec_cases[0]); i++) {
		const struct dec_case *t = &dec_cases[i];
		size_t n = make_dgram(d, t->type, t->len, payload, t->plen);
		int res;

		if (t->cut)
			n = t->cut;
		memset(&m, 0xee, sizeof(m));
		res = ipc_decode(&m, d, n);
		if (res != t->want)
			fail_msg("case %zu: got %d want %d", i, res, t->want);
		if (res == 0) {
			assert_int_equal(m.type, t->type);
			assert_int_equal(m.len, t->len);
			assert_int_equal(m.rpos, 0);
			assert_int_equal(m.fd, -1);
			assert_memory_equal(m.data, payload, t->len);
		} else {
			/* a failed decode never looks like a message */
			assert_int_equal(m.type, MSG_NONE);
			assert_int_equal(m.len, 0);
			assert_int_equal(m.fd, -1);
		}
	}
}

/* ipc_send refuses what it must not put on the wire. */
static void
test_send_refuses(void **state)
{
	struct pair *p = *state;
	static unsigned char big[IPC_MAX_PAYLOAD + 1];
	int pfd[2];
	uint32_t t;

	assert_int_equal(pipe(pfd), 0);
	for (t = 1; t < MSG_TYPE_COUNT; t++) {
		if (t == MSG_SESSION_AUTH_OK || t == MSG_AUTH_SPAWN ||
		    t == MSG_SESSION_DATA_SHM || t == MSG_STORE_SPAWN ||
		    t == MSG_AUTH_PEER || t == MSG_STORE_SOCKET ||
		    t == MSG_AUTH_WORKER_PIDFD || t == MSG_LOCKD_REQUEST ||
		    t == MSG_SLOT_CONN)
			continue;
		msg_init(&m, t);
		if (ipc_send(p->sv[0], &m, pfd[0]) != -1)
			fail_msg("type %s sent a descriptor", msg_name(t));
	}
	msg_init(&m, MSG_NONE);
	assert_int_equal(ipc_send(p->sv[0], &m, -1), -1);
	msg_init(&m, MSG_TYPE_COUNT);
	assert_int_equal(ipc_send(p->sv[0], &m, -1), -1);
	assert_int_equal(ipc_send_raw(p->sv[0], MSG_NONE, "x", 1), -1);
	assert_int_equal(ipc_send_raw(p->sv[0], MSG_TYPE_COUNT, "x", 1), -1);
	assert_int_equal(ipc_send_raw(p->sv[0], MSG_SESSION_DATA, big,
	    IPC_MAX_PAYLOAD + 1), -1);
	/* a corrupted length is caught before sending */
	msg_init(&m, MSG_SESSION_DATA);
	m.len = IPC_MAX_PAYLOAD + 1;
	assert_int_equal(ipc_send(p->sv[0], &m, -1), -1);
	assert_nothing_queued(p->sv[1]);
	/* the descriptor stays the caller's */
	assert_true(fd_is_open(pfd[0]));
	close(pfd[0]);
	close(pfd[1]);
}

/* A descriptor on MSG_SESSION_AUTH_OK (or MSG_AUTH_SPAWN) arrives,
 * close-on-exec, and refers to the same open file. */
static void
test_fd_passing(void **state)
{
	struct pair *p = *state;
	const char *user;
	char buf[8];
	int pfd[2];

	assert_int_equal(pipe(pfd), 0);
	msg_init(&m, MSG_SESSION_AUTH_OK);
	assert_int_equal(msg_put_str(&m, "alice"), 0);
	assert_int_equal(ipc_send(p->sv[0], &m, pfd[1]), 0);
	close(pfd[1]);
	assert_int_equal(ipc_recv(p->sv[1], &r), 1);
	assert_int_equal(r.type, MSG_SESSION_AUTH_OK);
	assert_true(r.fd >= 0);
	assert_int_equal(msg_get_str(&r, &user, POP3_MAX_USER), 0);
	assert_string_equal(user, "alice");
	assert_int_equal(msg_end(&r), 0);
	assert_true(fcntl(r.fd, F_GETFD) & FD_CLOEXEC);
	assert_int_equal(write(r.fd, "hi", 2), 2);
	close(r.fd);
	assert_int_equal(read(pfd[0], buf, sizeof(buf)), 2);
	assert_memory_equal(buf, "hi", 2);
	close(pfd[0]);

	/* the same type without a descriptor is fine too */
	msg_init(&m, MSG_SESSION_AUTH_OK);
	assert_int_equal(msg_put_str(&m, "bob"), 0);
	assert_int_equal(ipc_send(p->sv[0], &m, -1), 0);
	assert_int_equal(ipc_recv(p->sv[1], &r), 1);
	assert_int_equal(r.fd, -1);

	/* the fork server's request carries the new helper's socket */
	assert_int_equal(pipe(pfd), 0);
	msg_init(&m, MSG_AUTH_SPAWN);
	assert_int_equal(ipc_send(p->sv[0], &m, pfd[1]), 0);
	close(pfd[1]);
	assert_int_equal(ipc_recv(p->sv[1], &r), 1);
	assert_int_equal(r.type, MSG_AUTH_SPAWN);
	assert_true(r.fd >= 0);
	assert_int_equal(msg_end(&r), 0);
	assert_int_equal(write(r.fd, "ok", 2), 2);
	close(r.fd);
	assert_int_equal(read(pfd[0], buf, sizeof(buf)), 2);
	assert_memory_equal(buf, "ok", 2);
	close(pfd[0]);

	/* the slot's first message to privpop-auth: the client socket */
	assert_int_equal(pipe(pfd), 0);
	msg_init(&m, MSG_AUTH_PEER);
	assert_int_equal(ipc_send(p->sv[0], &m, pfd[0]), 0);
	assert_int_equal(ipc_recv(p->sv[1], &r), 1);
	assert_int_equal(r.type, MSG_AUTH_PEER);
	assert_true(r.fd >= 0);
	assert_int_equal(msg_end(&r), 0);
	close(r.fd);
	close(pfd[0]);
	close(pfd[1]);
}

/* A descriptor on a type that may not carry one: refused and closed. */
static void
test_stray_fd_closed(void **state)
{
	struct pair *p = *state;
	unsigned char d[HDR + 4];
	uint32_t t, v = 1;
	int pfd[2];

	assert_int_equal(pipe(pfd), 0);
	for (t = 1; t < MSG_TYPE_COUNT; t++) {
		size_t n;
		int expect_fd, res;

		if (t == MSG_SESSION_AUTH_OK || t == MSG_AUTH_SPAWN ||
		    t == MSG_SESSION_DATA_SHM || t == MSG_STORE_SPAWN ||
		    t == MSG_AUTH_PEER || t == MSG_STORE_SOCKET ||
		    t == MSG_AUTH_WORKER_PIDFD || t == MSG_LOCKD_REQUEST ||
		    t == MSG_SLOT_CONN)
			continue;
		n = make_dgram(d, t, 4, &v, 4);
		assert_int_equal(send_dgram(p->sv[0], d, n, &pfd[0], 1),
		    (ssize_t)n);
		expect_fd = next_fd();
		errno = 0;
		res = ipc_recv(p->sv[1], &r);
		if (res != -1)
			fail_msg("type %s with a descriptor: got %d",
			    msg_name(t), res);
		assert_int_equal(errno, EPROTO);
		if (fd_is_open(expect_fd))
			fail_msg("type %s: received descriptor %d left open",
			    msg_name(t), expect_fd);
	}
	/* a descriptor on a malformed datagram of the right type */
	{
		size_t n = make_dgram(d, MSG_SESSION_AUTH_OK, 3, &v, 4);
		int expect_fd;

		assert_int_equal(send_dgram(p->sv[0], d, n, &pfd[0], 1),
		    (ssize_t)n);
		expect_fd = next_fd();
		assert_int_equal(ipc_recv(p->sv[1], &r), -1);
		assert_false(fd_is_open(expect_fd));
	}
	/* the socket still works afterwards */
	msg_init(&m, MSG_STORE_RSET);
	assert_int_equal(ipc_send(p->sv[0], &m, -1), 0);
	assert_int_equal(ipc_recv(p->sv[1], &r), 1);
	assert_int_equal(r.type, MSG_STORE_RSET);
	close(pfd[0]);
	close(pfd[1]);
}

/* Two descriptors in one message: refused, and neither may stay open in
 * the receiver (a peer must not be able to fill its descriptor table). */
static void
test_two_fds_closed(void **state)
{
	struct pair *p = *state;
	unsigned char d[HDR + 8];
	int pfd[2], fds[2], first, second;
	size_t n;

	assert_int_equal(pipe(pfd), 0);
	fds[0] = pfd[0];
	fds[1] = pfd[1];
	n = make_dgram(d, MSG_SESSION_AUTH_OK, 0, NULL, 0);
	assert_int_equal(send_dgram(p->sv[0], d, n, fds, 2), (ssize_t)n);
	/* the receiver would get the two lowest free numbers */
	first = dup(0);
	second = dup(0);
	assert_true(first != -1 && second != -1);
	close(first);
	close(second);
	assert_int_equal(ipc_recv(p->sv[1], &r), -1);
	assert_int_equal(r.fd, -1);
	if (fd_is_open(first) || fd_is_open(second)) {
		/* clean up so later tests are not disturbed, then fail */
		close(first);
		close(second);
		close(pfd[0]);
		close(pfd[1]);
		fail_msg("descriptors of a rejected two-fd message left open "
		    "(%d, %d)", first, second);
	}
	close(pfd[0]);
	close(pfd[1]);
}

/* Datagrams that are not well-formed messages are refused by ipc_recv,
 * and each refusal consumes exactly that datagram. */
static void
test_recv_rejects(void **state)
{
	struct pair *p = *state;
	static unsigned char d[HDR + IPC_MAX_PAYLOAD + 64];
	static unsigned char payload[IPC_MAX_PAYLOAD + 64];
	static const struct {
		uint32_t	type, len;
		size_t		plen, cut;
		int		want;
	} rows[] = {
		{ MSG_STORE_RSET, 0, 0, 4, -1 },	/* short header */
		{ MSG_STORE_RSET, 0, 0, 7, -1 },
		{ MSG_NONE, 0, 0, 0, -1 },
		{ MSG_TYPE_COUNT, 0, 0, 0, -1 },
		{ UINT32_MAX, 4, 4, 0, -1 },
		{ MSG_STORE_LIST, 5, 4, 0, -1 },	/* length mismatch */
		{ MSG_STORE_LIST, 3, 4, 0, -1 },
		{ MSG_STORE_LIST, 4, 4, 0, 1 },
		/* exactly the largest message */
		{ MSG_SESSION_DATA, IPC_MAX_PAYLOAD, IPC_MAX_PAYLOAD, 0, 1 },
		/* one byte more: truncated by recvmsg, refused */
		{ MSG_SESSION_DATA, IPC_MAX_PAYLOAD + 1, IPC_MAX_PAYLOAD + 1,
		    0, -1 },
		{ MSG_SESSION_DATA, IPC_MAX_PAYLOAD, IPC_MAX_PAYLOAD + 1,
		    0, -1 },
		{ MSG_SESSION_DATA, IPC_MAX_PAYLOAD + 64, IPC_MAX_PAYLOAD + 64,
		    0, -1 },
	};
	size_t i, j;

	for (j = 0; j < sizeof(payload); j++)
		payload[j] = (unsigned char)(j ^ 0x5a);
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		size_t n = make_dgram(d, rows[i].type, rows[i].len, payload,
		    rows[i].plen);
		int res;

		if (rows[i].cut)
			n = rows[i].cut;
		assert_int_equal(send_dgram(p->sv[0], d, n, NULL, 0),
		    (ssize_t)n);
		/* a good message behind it must come through intact */
		msg_init(&m, MSG_STORE_UIDL);
		assert_int_equal(msg_put_u32(&m, (uint32_t)i), 0);
		assert_int_equal(ipc_send(p->sv[0], &m, -1), 0);

		res = ipc_recv(p->sv[1], &r);
		if (res != rows[i].want)
			fail_msg("row %zu: got %d want %d", i, res,
			    rows[i].want);
		if (res == 1) {
			assert_int_equal(r.type, rows[i].type);
			assert_int_equal(r.len, rows[i].len);
			assert_memory_equal(r.data, payload, rows[i].len);
		}
		assert_int_equal(ipc_recv(p->sv[1], &r), 1);
		assert_int_equal(r.type, MSG_STORE_UIDL);
		assert_int_equal(r.len, 4);
		{
			uint32_t got;

			assert_int_equal(msg_get_u32(&r, &got), 0);
			assert_int_equal(got, (uint32_t)i);
		}
	}
	assert_nothing_queued(p->sv[1]);
}

/* The peer closing gives 0. */
static void
test_recv_eof(void **state)
{
	int sv[2];

	(void)state;
	assert_int_equal(ipc_socketpair(sv), 0);
	/* close-on-exec and SEQPACKET */
	{
		int type = 0;
		socklen_t tl = sizeof(type);

		assert_true(fcntl(sv[0], F_GETFD) & FD_CLOEXEC);
		assert_int_equal(getsockopt(sv[0], SOL_SOCKET, SO_TYPE, &type,
		    &tl), 0);
		assert_int_equal(type, SOCK_SEQPACKET);
	}
	msg_init(&m, MSG_STORE_QUIT);
	assert_int_equal(ipc_send(sv[0], &m, -1), 0);
	close(sv[0]);
	assert_int_equal(ipc_recv(sv[1], &r), 1);
	assert_int_equal(r.type, MSG_STORE_QUIT);
	assert_int_equal(ipc_recv(sv[1], &r), 0);
	/* sending to a closed peer fails without SIGPIPE */
	assert_int_equal(ipc_send(sv[1], &m, -1), -1);
	close(sv[1]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_msg_name),
		cmocka_unit_test_setup_teardown(test_roundtrip_all_types,
		    setup_pair, teardown_pair),
		cmocka_unit_test_setup_teardown(test_roundtrip_empty_and_raw,
		    setup_pair, teardown_pair),
		cmocka_unit_test(test_put_limits),
		cmocka_unit_test(test_get_str_table),
		cmocka_unit_test(test_get_short_and_end),
		cmocka_unit_test(test_decode_table),
		cmocka_unit_test_setup_teardown(test_send_refuses,
		    setup_pair, teardown_pair),
		cmocka_unit_test_setup_teardown(test_fd_passing,
		    setup_pair, teardown_pair),
		cmocka_unit_test_setup_teardown(test_stray_fd_closed,
		    setup_pair, teardown_pair),
		cmocka_unit_test_setup_teardown(test_two_fds_closed,
		    setup_pair, teardown_pair),
		cmocka_unit_test_setup_teardown(test_recv_rejects,
		    setup_pair, teardown_pair),
		cmocka_unit_test(test_recv_eof),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
