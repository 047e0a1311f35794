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

/* Every putter and getter, through a real socket, for every type: a
 * type whose layout takes any payload ('*') delivers it; every other
 * type refuses this one, which matches no layout. */
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
		if (strcmp(ipc_layout(t), "*") != 0) {
			errno = 0;
			if (ipc_recv(p->sv[1], &r) != -1)
				fail_msg("%s: a payload off its layout "
				    "accepted", msg_name(t));
			assert_int_equal(errno, EPROTO);
			/* its type kept for the log, nothing else */
			assert_int_equal(r.type, t);
			assert_int_equal(r.len, 0);
			assert_int_equal(r.fd, -1);
			continue;
		}
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
	{ 1, 0, 0, 0, -1 },		/* HELLO: "uuss", not empty */
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
		    t == MSG_AUTH_SPAWN_REPORT ||
		    t == MSG_SESSION_DATA_SHM || t == MSG_STORE_SPAWN ||
		    t == MSG_AUTH_PEER || t == MSG_STORE_SOCKET ||
		    t == MSG_AUTH_WORKER_PIDFD || t == MSG_LOCKD_REQUEST ||
		    t == MSG_SLOT_CONN || t == MSG_ZYGOTE_SPAWN ||
		    t == MSG_SLOT_AUTH || t == MSG_SLOT_LOG ||
		    t == MSG_SLOT_TRANSCRIPT ||
		    t == MSG_CTL_ANSWER || t == MSG_METRICS_SNAPSHOT)
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

	/* and its second half, the helper's login report channel */
	assert_int_equal(pipe(pfd), 0);
	msg_init(&m, MSG_AUTH_SPAWN_REPORT);
	assert_int_equal(ipc_send(p->sv[0], &m, pfd[1]), 0);
	close(pfd[1]);
	assert_int_equal(ipc_recv(p->sv[1], &r), 1);
	assert_int_equal(r.type, MSG_AUTH_SPAWN_REPORT);
	assert_true(r.fd >= 0);
	assert_int_equal(msg_end(&r), 0);
	close(r.fd);
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
		    t == MSG_AUTH_SPAWN_REPORT ||
		    t == MSG_SESSION_DATA_SHM || t == MSG_STORE_SPAWN ||
		    t == MSG_AUTH_PEER || t == MSG_STORE_SOCKET ||
		    t == MSG_AUTH_WORKER_PIDFD || t == MSG_LOCKD_REQUEST ||
		    t == MSG_SLOT_CONN || t == MSG_ZYGOTE_SPAWN ||
		    t == MSG_SLOT_AUTH || t == MSG_SLOT_LOG ||
		    t == MSG_SLOT_TRANSCRIPT ||
		    t == MSG_CTL_ANSWER || t == MSG_METRICS_SNAPSHOT)
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

/* The layout table itself: well formed, and the layouts the wire
 * format depends on (they change only with IPC_VERSION). */
static void
test_layout_table(void **state)
{
	uint32_t t;

	(void)state;
	assert_null(ipc_layout(MSG_NONE));
	assert_null(ipc_layout(MSG_TYPE_COUNT));
	assert_null(ipc_layout(UINT32_MAX));
	assert_int_equal(ipc_layout_max(MSG_NONE, 0), 0);
	for (t = 1; t < MSG_TYPE_COUNT; t++) {
		const char *l = ipc_layout(t);
		size_t i, max;

		if (l == NULL)
			fail_msg("%s: no layout", msg_name(t));
		for (i = 0; l[i] != '\0'; i++) {
			if (strchr("uqsb*", l[i]) == NULL)
				fail_msg("%s: field kind '%c'", msg_name(t),
				    l[i]);
			if (l[i] == '*' && l[i + 1] != '\0')
				fail_msg("%s: '*' not last", msg_name(t));
			max = ipc_layout_max(t, i);
			if (l[i] == 's' || l[i] == 'b') {
				if (max == 0 || max > IPC_MAX_PAYLOAD)
					fail_msg("%s: field %zu bound %zu",
					    msg_name(t), i, max);
			} else
				assert_int_equal(max, 0);
		}
		assert_int_equal(ipc_layout_max(t, i), 0);	/* past it */
	}
	assert_string_equal(ipc_layout(MSG_SESSION_HELLO), "uuss");
	assert_string_equal(ipc_layout(MSG_AUTH_LOGIN), "ss");
	assert_string_equal(ipc_layout(MSG_AUTH_TLS_SIGN), "uub");
	assert_string_equal(ipc_layout(MSG_LOCKD_REQUEST), "usu");
	assert_string_equal(ipc_layout(MSG_STORE_INIT), "ssuuussuuus");
	assert_string_equal(ipc_layout(MSG_SESSION_LOGIN_DELAY), "u");
	assert_string_equal(ipc_layout(MSG_SESSION_STORE_READY), "uq");
	assert_string_equal(ipc_layout(MSG_STORE_TOP), "uu");
	assert_string_equal(ipc_layout(MSG_SESSION_OK), "uqs");
	assert_string_equal(ipc_layout(MSG_SESSION_DATA), "*");
	assert_string_equal(ipc_layout(MSG_SESSION_END), "");
	assert_string_equal(ipc_layout(MSG_AUTH_SPAWN_REPORT), "");
	assert_string_equal(ipc_layout(MSG_MASTER_LOGIN), "ssu");
	assert_int_equal(ipc_layout_max(MSG_MASTER_LOGIN, 1), SESSION_ID_LEN);
	assert_string_equal(ipc_layout(MSG_MASTER_CTL_REQUEST), "us");
	assert_int_equal(ipc_layout_max(MSG_MASTER_CTL_REQUEST, 1),
	    CTL_ARG_MAX);
	assert_string_equal(ipc_layout(MSG_CTL_ANSWER), "uu");
	assert_int_equal(strlen(ipc_layout(MSG_MASTER_SESSION_STATS)),
	    SST_COUNT);
	assert_int_equal(strspn(ipc_layout(MSG_MASTER_SESSION_STATS), "q"),
	    SST_COUNT);
	assert_int_equal(ipc_layout_max(MSG_AUTH_LOGIN, 0), POP3_MAX_USER);
	assert_int_equal(ipc_layout_max(MSG_AUTH_LOGIN, 1), POP3_MAX_PASS);
	assert_int_equal(ipc_layout_max(MSG_SESSION_HELLO, 3), SESSION_ID_LEN);
	assert_int_equal(ipc_layout_max(MSG_STORE_INIT, 0), POP3_MAX_USER);
	assert_int_equal(ipc_layout_max(MSG_STORE_INIT, 5), MAIL_MAX_PATH);
	assert_int_equal(ipc_layout_max(MSG_STORE_INIT, 6),
	    CONF_UIDL_FORMAT_MAX);
	assert_int_equal(ipc_layout_max(MSG_STORE_INIT, 10),
	    MDLOCK_NODE_MAX + 1);
	assert_int_equal(ipc_layout_max(MSG_SESSION_OK, 2), POP3_MAX_UIDL);
	assert_int_equal(ipc_layout_max(MSG_SESSION_OK, 0), 0);
}

enum { V_OK, V_EXTRA, V_SHORT, V_UNTERM, V_LONG };

/* Longest string or bytes field built (a bound above it, such as the
 * whole payload's, is not reached). */
#define LAYOUT_FIELD_CAP	2048

/* Build a payload for type t from its layout: each 's' or 'b' field as
 * long as its bound (up to LAYOUT_FIELD_CAP).  v spoils it: V_EXTRA a
 * byte too many, V_SHORT the last byte cut, V_UNTERM field f's NUL
 * replaced, V_LONG field f one over its bound.  -1: v does not apply. */
static int
build_layout(struct msg *x, uint32_t t, int v, size_t f)
{
	static char str[LAYOUT_FIELD_CAP + 2];
	const char *l = ipc_layout(t);
	size_t i, n, max, at;

	msg_init(x, t);
	for (i = 0; l[i] != '\0'; i++) {
		switch (l[i]) {
		case 'u':
			if (msg_put_u32(x, 0xa0b0c0d0u + (uint32_t)i) == -1)
				return -1;
			break;
		case 'q':
			if (msg_put_u64(x, UINT64_MAX - i) == -1)
				return -1;
			break;
		case '*':
			if (msg_put_raw(x, "rest", 4) == -1)
				return -1;
			break;
		default:
			max = ipc_layout_max(t, i);
			n = max < LAYOUT_FIELD_CAP ? max : LAYOUT_FIELD_CAP;
			if (v == V_LONG && i == f) {
				if (max >= LAYOUT_FIELD_CAP)
					return -1;
				n = max + 1;
			}
			memset(str, 'a' + (int)(i % 26), n);
			str[n] = '\0';
			at = x->len + 4 + n;	/* where the NUL goes */
			if (l[i] == 'b') {
				if (msg_put_bytes(x, str, n) == -1)
					return -1;
				break;
			}
			if (msg_put_str(x, str) == -1)
				return -1;
			if (v == V_UNTERM && i == f)
				x->data[at] = 'x';
			break;
		}
	}
	if (v == V_LONG && (f >= i || (l[f] != 's' && l[f] != 'b')))
		return -1;
	if (v == V_UNTERM && (f >= i || l[f] != 's'))
		return -1;
	if (v == V_EXTRA && msg_put_raw(x, "", 1) == -1)
		return -1;
	if (v == V_SHORT) {
		if (x->len == 0)
			return -1;
		x->len--;
	}
	return 0;
}

/* x, as a datagram, through ipc_decode and through a socket: accepted
 * intact, or refused (EPROTO, nothing left queued). */
static void
expect_layout(struct pair *p, const struct msg *x, int want,
    const char *what)
{
	static unsigned char d[HDR + IPC_MAX_PAYLOAD];
	size_t n = make_dgram(d, x->type, x->len, x->data, x->len);
	int res;

	res = ipc_decode(&r, d, n);
	if (res != (want ? 0 : -1))
		fail_msg("%s, %s: ipc_decode gave %d", msg_name(x->type),
		    what, res);
	if (!want)
		assert_int_equal(r.type, MSG_NONE);
	assert_int_equal(send_dgram(p->sv[0], d, n, NULL, 0), (ssize_t)n);
	errno = 0;
	res = ipc_recv(p->sv[1], &r);
	if (res != (want ? 1 : -1))
		fail_msg("%s, %s: ipc_recv gave %d", msg_name(x->type), what,
		    res);
	if (want) {
		assert_int_equal(r.type, x->type);
		assert_int_equal(r.len, x->len);
		assert_memory_equal(r.data, x->data, x->len);
		assert_int_equal(r.rpos, 0);
		assert_int_equal(ipc_check(&r), 0);
	} else {
		assert_int_equal(errno, EPROTO);
		assert_int_equal(r.type, x->type);
		assert_int_equal(r.len, 0);
		assert_int_equal(r.fd, -1);
	}
	assert_nothing_queued(p->sv[1]);
}

/* For every type: a message built from its layout passes, and the
 * getters a handler calls then cannot fail; a byte too many, a byte
 * short, an unterminated string, a string or bytes over its bound are
 * refused before any handler sees them. */
static void
test_layout_messages(void **state)
{
	struct pair *p = *state;
	uint32_t t;

	for (t = 1; t < MSG_TYPE_COUNT; t++) {
		const char *l = ipc_layout(t);
		int rest = strchr(l, '*') != NULL;
		size_t f, longs = 0;

		assert_int_equal(build_layout(&m, t, V_OK, 0), 0);
		expect_layout(p, &m, 1, "as laid out");
		/* the handler's getters, on what ipc_recv accepted */
		for (f = 0; l[f] != '\0'; f++) {
			size_t max = ipc_layout_max(t, f), bl;
			const unsigned char *b;
			const char *s;
			uint32_t u;
			uint64_t q;

			if (l[f] == 'u') {
				assert_int_equal(msg_get_u32(&r, &u), 0);
				assert_int_equal(u, 0xa0b0c0d0u + (uint32_t)f);
			} else if (l[f] == 'q') {
				assert_int_equal(msg_get_u64(&r, &q), 0);
				assert_true(q == UINT64_MAX - f);
			} else if (l[f] == 's') {
				assert_int_equal(msg_get_str(&r, &s, max), 0);
				assert_int_equal(strlen(s),
				    max < LAYOUT_FIELD_CAP ? max :
				    LAYOUT_FIELD_CAP);
			} else if (l[f] == 'b')
				assert_int_equal(msg_get_bytes(&r, &b, &bl,
				    max), 0);
			else
				r.rpos = r.len;
		}
		assert_int_equal(msg_end(&r), 0);

		assert_int_equal(build_layout(&m, t, V_EXTRA, 0), 0);
		expect_layout(p, &m, rest, "a byte too many");
		if (build_layout(&m, t, V_SHORT, 0) == 0)
			expect_layout(p, &m, rest, "truncated");
		for (f = 0; l[f] != '\0'; f++) {
			if (build_layout(&m, t, V_UNTERM, f) == 0)
				expect_layout(p, &m, 0, "unterminated string");
			if (build_layout(&m, t, V_LONG, f) == 0) {
				expect_layout(p, &m, 0, "over its bound");
				longs++;
			}
		}
		/* every bound below the cap was tried */
		for (f = 0; l[f] != '\0'; f++)
			if ((l[f] == 's' || l[f] == 'b') &&
			    ipc_layout_max(t, f) < LAYOUT_FIELD_CAP)
				longs--;
		assert_int_equal(longs, 0);
	}
	/* the exact field boundaries of one: LOGIN's user at 128 and 129 */
	msg_init(&m, MSG_AUTH_LOGIN);
	{
		char u[POP3_MAX_USER + 2];

		memset(u, 'u', sizeof(u) - 1);
		u[sizeof(u) - 1] = '\0';
		assert_int_equal(msg_put_str(&m, u), 0);
		assert_int_equal(msg_put_str(&m, "pw"), 0);
		expect_layout(p, &m, 0, "user of 129");
		msg_init(&m, MSG_AUTH_LOGIN);
		u[POP3_MAX_USER] = '\0';
		assert_int_equal(msg_put_str(&m, u), 0);
		assert_int_equal(msg_put_str(&m, "pw"), 0);
		expect_layout(p, &m, 1, "user of 128");
		/* an inner NUL: the length says 3, the string is 1 */
		msg_init(&m, MSG_AUTH_LOGIN);
		assert_int_equal(msg_put_str(&m, "ab"), 0);
		m.data[5] = '\0';
		assert_int_equal(msg_put_str(&m, "pw"), 0);
		expect_layout(p, &m, 0, "inner NUL");
	}
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
		cmocka_unit_test(test_layout_table),
		cmocka_unit_test_setup_teardown(test_layout_messages,
		    setup_pair, teardown_pair),
		cmocka_unit_test(test_recv_eof),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
