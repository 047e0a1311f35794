/*
 * Unit tests for common/ipc_store.c, the typed wrappers of the
 * privpop-store messages: each one round-trips through a socketpair
 * and ipc_recv, puts on the wire the bytes the hand-built messages
 * did, and its decoder refuses a payload one byte short, one with a
 * byte left over, one of another type, and each out-of-range value.
 */
#include "config.h"

#include <sys/socket.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "conf.h"
#include "ipc_store.h"

static struct msg r, h;	/* large: off the stack */

static const uint32_t store_types[] = {
	MSG_STORE_INIT, MSG_STORE_LIST, MSG_STORE_UIDL, MSG_STORE_RETR,
	MSG_STORE_TOP, MSG_STORE_DELE, MSG_STORE_RSET, MSG_STORE_QUIT,
	MSG_STORE_RETR_AHEAD, MSG_STORE_SHM_DONE, MSG_SESSION_STORE_READY,
	MSG_SESSION_OK, MSG_SESSION_ERR, MSG_SESSION_DATA_SHM,
	MSG_SESSION_DATA, MSG_SESSION_END, MSG_SESSION_LOGIN_DELAY,
};
#define NTYPES	(sizeof(store_types) / sizeof(store_types[0]))

struct pair {
	int	sv[2];	/* [0] sends, [1] receives */
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

/* The decoder of type as, run on m, its outputs thrown away. */
static int
decode_as(struct msg *m, uint32_t as)
{
	struct ipc_store_init in;
	const unsigned char *b;
	const char *t;
	size_t len;
	uint64_t q;
	uint32_t x, y, z;

	switch (as) {
	case MSG_STORE_INIT:
		return ipc_get_store_init(m, &in);
	case MSG_STORE_LIST:
		return ipc_get_store_list(m, &x);
	case MSG_STORE_UIDL:
		return ipc_get_store_uidl(m, &x);
	case MSG_STORE_RETR:
		return ipc_get_store_retr(m, &x);
	case MSG_STORE_TOP:
		return ipc_get_store_top(m, &x, &y);
	case MSG_STORE_DELE:
		return ipc_get_store_dele(m, &x);
	case MSG_STORE_RSET:
		return ipc_get_store_rset(m);
	case MSG_STORE_QUIT:
		return ipc_get_store_quit(m);
	case MSG_STORE_RETR_AHEAD:
		return ipc_get_store_retr_ahead(m, &x);
	case MSG_STORE_SHM_DONE:
		return ipc_get_store_shm_done(m);
	case MSG_SESSION_STORE_READY:
		return ipc_get_session_store_ready(m, &x, &q);
	case MSG_SESSION_OK:
		return ipc_get_session_ok(m, &x, &q, &t);
	case MSG_SESSION_ERR:
		return ipc_get_session_err(m, &x);
	case MSG_SESSION_DATA_SHM:
		return ipc_get_session_data_shm(m, &x, &y, &z);
	case MSG_SESSION_DATA:
		return ipc_get_session_data(m, &b, &len);
	case MSG_SESSION_END:
		return ipc_get_session_end(m);
	case MSG_SESSION_LOGIN_DELAY:
		return ipc_get_session_login_delay(m, &x);
	}
	fail_msg("no decoder for %u", as);
	return -1;
}

static int
decode(struct msg *m)
{
	return decode_as(m, m->type);
}

/* Send a valid message of type with the wrapper, receive it into r. */
static void
send_valid(int sv[2], uint32_t type)
{
	struct ipc_store_init in = { "alice", "mbox:/var/mail/alice",
	    MBOX_LOCK_DOTLOCK | MBOX_LOCK_FCNTL, 30, 300, "/home/a/.pp",
	    "%08Xu%08Xv", 900, 30, 120, "node-a" };
	int rc = -1;

	switch (type) {
	case MSG_STORE_INIT: rc = ipc_send_store_init(sv[0], &in); break;
	case MSG_STORE_LIST: rc = ipc_send_store_list(sv[0], 3); break;
	case MSG_STORE_UIDL: rc = ipc_send_store_uidl(sv[0], 4); break;
	case MSG_STORE_RETR: rc = ipc_send_store_retr(sv[0], 5); break;
	case MSG_STORE_TOP: rc = ipc_send_store_top(sv[0], 6, 10); break;
	case MSG_STORE_DELE: rc = ipc_send_store_dele(sv[0], 7); break;
	case MSG_STORE_RSET: rc = ipc_send_store_rset(sv[0]); break;
	case MSG_STORE_QUIT: rc = ipc_send_store_quit(sv[0]); break;
	case MSG_STORE_RETR_AHEAD: rc = ipc_send_store_retr_ahead(sv[0],
	    8); break;
	case MSG_STORE_SHM_DONE: rc = ipc_send_store_shm_done(sv[0]); break;
	case MSG_SESSION_STORE_READY: rc = ipc_send_session_store_ready(sv[0],
	    9, 99); break;
	case MSG_SESSION_OK: rc = ipc_send_session_ok(sv[0], 1, 2,
	    "uid-1"); break;
	case MSG_SESSION_ERR: rc = ipc_send_session_err(sv[0],
	    IPC_ERR_NOSUCH); break;
	case MSG_SESSION_DATA_SHM:
		rc = ipc_send_session_data_shm(sv[0], 0, 100, IPC_SHM_LAST, -1);
		break;
	case MSG_SESSION_DATA: rc = ipc_send_session_data(sv[0], "a\r\n",
	    3); break;
	case MSG_SESSION_END: rc = ipc_send_session_end(sv[0]); break;
	case MSG_SESSION_LOGIN_DELAY: rc = ipc_send_session_login_delay(sv[0],
	    42); break;
	}
	assert_int_equal(rc, 0);
	assert_int_equal(ipc_recv(sv[1], &r), 1);
	assert_int_equal(r.type, type);
}

/* Every wrapper: sent, received, decoded to what went in. */
static void
test_roundtrip(void **state)
{
	struct pair *p = *state;
	struct ipc_store_init in = { "bob@example.org",
	    "maildir:/home/bob/Maildir",
	    MBOX_LOCK_FLOCK, MBOX_LOCK_TIMEOUT_MAX, DOTLOCK_STALE_MAX,
	    "", "%v-%u", LOGIN_DELAY_MAX, EXPIRE_NEVER, MDLOCK_STALE_MAX,
	    "" }, out;
	const unsigned char *b;
	const char *t;
	size_t len;
	uint64_t q;
	uint32_t x, y, z;
	int fds[2];

	assert_int_equal(ipc_send_store_init(p->sv[0], &in), 0);
	assert_int_equal(ipc_recv(p->sv[1], &r), 1);
	assert_int_equal(ipc_get_store_init(&r, &out), 0);
	assert_string_equal(out.user, in.user);
	assert_string_equal(out.location, in.location);
	assert_int_equal(out.locks, in.locks);
	assert_int_equal(out.lock_timeout, in.lock_timeout);
	assert_int_equal(out.dotlock_stale, in.dotlock_stale);
	assert_string_equal(out.index_dir, "");
	assert_string_equal(out.uidl_format, "%v-%u");
	assert_int_equal(out.lock_stale, MDLOCK_STALE_MAX);
	assert_string_equal(out.lock_node, "");
	assert_int_equal(out.login_delay, LOGIN_DELAY_MAX);
	assert_int_equal(out.expire, EXPIRE_NEVER);
	assert_int_equal(ipc_send_session_login_delay(p->sv[0], 17), 0);
	assert_int_equal(ipc_recv(p->sv[1], &r), 1);
	assert_int_equal(ipc_get_session_login_delay(&r, &x), 0);
	assert_int_equal(x, 17);

#define ONE(sendcall, getcall, want)					\
	do {								\
		assert_int_equal(sendcall, 0);				\
		assert_int_equal(ipc_recv(p->sv[1], &r), 1);		\
		assert_int_equal(getcall, 0);				\
		assert_int_equal(x, want);				\
	} while (0)
	ONE(ipc_send_store_list(p->sv[0], 0), ipc_get_store_list(&r, &x), 0);
	ONE(ipc_send_store_list(p->sv[0], UINT32_MAX), ipc_get_store_list(&r,
	    &x),
	    UINT32_MAX);
	ONE(ipc_send_store_uidl(p->sv[0], 0), ipc_get_store_uidl(&r, &x), 0);
	ONE(ipc_send_store_uidl(p->sv[0], 12), ipc_get_store_uidl(&r, &x), 12);
	/* above any mailbox: the worker's NOSUCH, not a malformed one */
	ONE(ipc_send_store_retr(p->sv[0], UINT32_MAX), ipc_get_store_retr(&r,
	    &x),
	    UINT32_MAX);
	ONE(ipc_send_store_dele(p->sv[0], 1), ipc_get_store_dele(&r, &x), 1);
	ONE(ipc_send_store_retr_ahead(p->sv[0], 2), ipc_get_store_retr_ahead(&r,
	    &x), 2);
	ONE(ipc_send_session_err(p->sv[0], IPC_ERR_NOT_AHEAD),
	    ipc_get_session_err(&r, &x),
	    IPC_ERR_NOT_AHEAD);
	ONE(ipc_send_session_err(p->sv[0], IPC_ERR_AUTH),
	    ipc_get_session_err(&r, &x),
	    IPC_ERR_AUTH);
#undef ONE

	assert_int_equal(ipc_send_store_top(p->sv[0], 3, UINT32_MAX), 0);
	assert_int_equal(ipc_recv(p->sv[1], &r), 1);
	assert_int_equal(ipc_get_store_top(&r, &x, &y), 0);
	assert_int_equal(x, 3);
	assert_int_equal(y, UINT32_MAX);

	assert_int_equal(ipc_send_store_rset(p->sv[0]), 0);
	assert_int_equal(ipc_recv(p->sv[1], &r), 1);
	assert_int_equal(ipc_get_store_rset(&r), 0);
	assert_int_equal(ipc_send_store_quit(p->sv[0]), 0);
	assert_int_equal(ipc_recv(p->sv[1], &r), 1);
	assert_int_equal(ipc_get_store_quit(&r), 0);
	assert_int_equal(ipc_send_store_shm_done(p->sv[0]), 0);
	assert_int_equal(ipc_recv(p->sv[1], &r), 1);
	assert_int_equal(ipc_get_store_shm_done(&r), 0);
	assert_int_equal(ipc_send_session_end(p->sv[0]), 0);
	assert_int_equal(ipc_recv(p->sv[1], &r), 1);
	assert_int_equal(ipc_get_session_end(&r), 0);

	assert_int_equal(ipc_send_session_store_ready(p->sv[0],
	    MAIL_MAX_MESSAGES,
	    UINT64_MAX), 0);
	assert_int_equal(ipc_recv(p->sv[1], &r), 1);
	assert_int_equal(ipc_get_session_store_ready(&r, &x, &q), 0);
	assert_int_equal(x, MAIL_MAX_MESSAGES);
	assert_true(q == UINT64_MAX);

	assert_int_equal(ipc_send_session_ok(p->sv[0], 7, (uint64_t)1 << 40,
	    "1234567890123456789012345678901234567890123456789012345678901234"
	    "567890"), 0);
	assert_int_equal(ipc_recv(p->sv[1], &r), 1);
	assert_int_equal(ipc_get_session_ok(&r, &x, &q, &t), 0);
	assert_int_equal(x, 7);
	assert_true(q == (uint64_t)1 << 40);
	assert_int_equal(strlen(t), POP3_MAX_UIDL);
	/* decoding twice reads the same: the decoder rewinds */
	assert_int_equal(ipc_get_session_ok(&r, &x, &q, &t), 0);
	assert_int_equal(x, 7);

	/* DATA_SHM with its memfd (a pipe stands in), then without */
	assert_int_equal(pipe(fds), 0);
	assert_int_equal(ipc_send_session_data_shm(p->sv[0], 4096,
	    SESSION_BODY_MAP_MAX - 4096, 0, fds[0]), 0);
	assert_int_equal(ipc_recv(p->sv[1], &r), 1);
	assert_int_equal(ipc_get_session_data_shm(&r, &x, &y, &z), 0);
	assert_int_equal(x, 4096);
	assert_int_equal(y, SESSION_BODY_MAP_MAX - 4096);
	assert_int_equal(z, 0);
	assert_int_not_equal(r.fd, -1);
	close(r.fd);
	close(fds[0]);
	close(fds[1]);
	assert_int_equal(ipc_send_session_data_shm(p->sv[0], 0, 0, IPC_SHM_LAST,
	    -1),
	    0);
	assert_int_equal(ipc_recv(p->sv[1], &r), 1);
	assert_int_equal(ipc_get_session_data_shm(&r, &x, &y, &z), 0);
	assert_int_equal(z, IPC_SHM_LAST);
	assert_int_equal(r.fd, -1);
	/* only DATA_SHM may carry one */
	assert_int_equal(pipe(fds), 0);
	assert_int_equal(ipc_send_session_data_shm(p->sv[0], 0, 0, 0, fds[0]),
	    0);
	assert_int_equal(ipc_recv(p->sv[1], &r), 1);
	close(r.fd);
	close(fds[0]);
	close(fds[1]);

	assert_int_equal(ipc_send_session_data(p->sv[0], "x\0y", 3), 0);
	assert_int_equal(ipc_recv(p->sv[1], &r), 1);
	assert_int_equal(ipc_get_session_data(&r, &b, &len), 0);
	assert_int_equal(len, 3);
	assert_memory_equal(b, "x\0y", 3);
	assert_int_equal(ipc_send_session_data(p->sv[0], NULL, 0), 0);
	assert_int_equal(ipc_recv(p->sv[1], &r), 1);
	assert_int_equal(ipc_get_session_data(&r, &b, &len), 0);
	assert_int_equal(len, 0);
}

/* The wrappers send the bytes the hand-built messages did. */
static void
test_same_bytes(void **state)
{
	struct pair *p = *state;

	/* field by field, as the callers built them before the wrappers */
	msg_init(&h, MSG_STORE_INIT);
	assert_int_equal(msg_put_str(&h, "alice"), 0);
	assert_int_equal(msg_put_str(&h, "mbox:/var/mail/alice"), 0);
	assert_int_equal(msg_put_u32(&h, MBOX_LOCK_DOTLOCK |
	    MBOX_LOCK_FCNTL), 0);
	assert_int_equal(msg_put_u32(&h, 30), 0);
	assert_int_equal(msg_put_u32(&h, 300), 0);
	assert_int_equal(msg_put_str(&h, "/home/a/.pp"), 0);
	assert_int_equal(msg_put_str(&h, "%08Xu%08Xv"), 0);
	assert_int_equal(msg_put_u32(&h, 900), 0);
	assert_int_equal(msg_put_u32(&h, 30), 0);
	assert_int_equal(msg_put_u32(&h, 120), 0);
	assert_int_equal(msg_put_str(&h, "node-a"), 0);
	send_valid(p->sv, MSG_STORE_INIT);
	assert_int_equal(r.len, h.len);
	assert_memory_equal(r.data, h.data, h.len);
	msg_init(&h, MSG_SESSION_STORE_READY);
	assert_int_equal(msg_put_u32(&h, 9), 0);
	assert_int_equal(msg_put_u64(&h, 99), 0);
	send_valid(p->sv, MSG_SESSION_STORE_READY);
	assert_int_equal(r.len, h.len);
	assert_memory_equal(r.data, h.data, h.len);
	msg_init(&h, MSG_SESSION_DATA_SHM);
	assert_int_equal(msg_put_u32(&h, 0), 0);
	assert_int_equal(msg_put_u32(&h, 100), 0);
	assert_int_equal(msg_put_u32(&h, IPC_SHM_LAST), 0);
	send_valid(p->sv, MSG_SESSION_DATA_SHM);
	assert_int_equal(r.len, h.len);
	assert_memory_equal(r.data, h.data, h.len);
	msg_init(&h, MSG_SESSION_ERR);
	assert_int_equal(msg_put_u32(&h, IPC_ERR_NOSUCH), 0);
	send_valid(p->sv, MSG_SESSION_ERR);
	assert_int_equal(r.len, h.len);
	assert_memory_equal(r.data, h.data, h.len);
	send_valid(p->sv, MSG_STORE_RSET);
	assert_int_equal(r.len, 0);
	msg_init(&h, MSG_SESSION_OK);
	assert_int_equal(msg_put_u32(&h, 1), 0);
	assert_int_equal(msg_put_u64(&h, 2), 0);
	assert_int_equal(msg_put_str(&h, "uid-1"), 0);
	send_valid(p->sv, MSG_SESSION_OK);
	assert_int_equal(r.len, h.len);
	assert_memory_equal(r.data, h.data, h.len);
	msg_init(&h, MSG_STORE_TOP);
	assert_int_equal(msg_put_u32(&h, 6), 0);
	assert_int_equal(msg_put_u32(&h, 10), 0);
	send_valid(p->sv, MSG_STORE_TOP);
	assert_int_equal(r.len, h.len);
	assert_memory_equal(r.data, h.data, h.len);
}

/* One byte short, one byte over, another type: every decoder refuses
 * (DATA has no length to be short of, and takes any bytes). */
static void
test_refuse_malformed(void **state)
{
	struct pair *p = *state;
	size_t i, j;

	for (i = 0; i < NTYPES; i++) {
		uint32_t t = store_types[i];

		send_valid(p->sv, t);
		assert_int_equal(decode(&r), 0);
		if (r.len > 0 && t != MSG_SESSION_DATA) {
			r.len--;
			assert_int_equal(decode(&r), -1);
			r.len++;
			assert_int_equal(decode(&r), 0);
		}
		if (t != MSG_SESSION_DATA) {
			r.data[r.len++] = 0;
			assert_int_equal(decode(&r), -1);
			r.len--;
		}
		for (j = 0; j < NTYPES; j++)
			if (store_types[j] != t)
				assert_int_equal(decode_as(&r,
				    store_types[j]), -1);
	}
}

/* Received fine (the layout holds), refused for a value. */
static void
test_refuse_range(void **state)
{
	struct pair *p = *state;
	struct ipc_store_init in = { "u", "mbox:/m", 0, 30, 300, "",
	    "%08Xu%08Xv", 0, EXPIRE_NEVER, MDLOCK_STALE_MIN, "n.1_x-y" };
	char longs[POP3_MAX_USER + 2];

#define BAD(sendcall)							\
	do {								\
		assert_int_equal(sendcall, 0);				\
		assert_int_equal(ipc_recv(p->sv[1], &r), 1);		\
		assert_int_equal(decode(&r), -1);			\
	} while (0)
	/* message number 0 is "all" for LIST and UIDL only */
	BAD(ipc_send_store_retr(p->sv[0], 0));
	BAD(ipc_send_store_top(p->sv[0], 0, 5));
	BAD(ipc_send_store_dele(p->sv[0], 0));
	BAD(ipc_send_store_retr_ahead(p->sv[0], 0));
	BAD(ipc_send_session_store_ready(p->sv[0], MAIL_MAX_MESSAGES + 1, 0));
	BAD(ipc_send_session_err(p->sv[0], 0));
	BAD(ipc_send_session_login_delay(p->sv[0], 0));
	BAD(ipc_send_session_login_delay(p->sv[0], LOGIN_DELAY_MAX + 1));
	BAD(ipc_send_session_err(p->sv[0], IPC_ERR_MAX));
	BAD(ipc_send_session_err(p->sv[0], UINT32_MAX));
	BAD(ipc_send_session_data_shm(p->sv[0], 0, 0, 0x2, -1));
	BAD(ipc_send_session_data_shm(p->sv[0], SESSION_BODY_MAP_MAX + 1, 0, 0,
	    -1));
	BAD(ipc_send_session_data_shm(p->sv[0], 1, SESSION_BODY_MAP_MAX, 0,
	    -1));
	BAD(ipc_send_session_data_shm(p->sv[0], 0, UINT32_MAX, 0, -1));

	in.locks = MBOX_LOCK_DOTLOCK | MBOX_LOCK_FCNTL | MBOX_LOCK_FLOCK;
	assert_int_equal(ipc_send_store_init(p->sv[0], &in), 0);
	assert_int_equal(ipc_recv(p->sv[1], &r), 1);
	assert_int_equal(decode(&r), 0);
	in.login_delay = LOGIN_DELAY_MAX + 1;
	BAD(ipc_send_store_init(p->sv[0], &in));
	in.login_delay = 0;
	in.expire = EXPIRE_DAYS_MAX + 1;
	BAD(ipc_send_store_init(p->sv[0], &in));
	in.expire = 0;
	assert_int_equal(ipc_send_store_init(p->sv[0], &in), 0);
	assert_int_equal(ipc_recv(p->sv[1], &r), 1);
	assert_int_equal(decode(&r), 0);
	in.expire = EXPIRE_NEVER;
	in.locks = 0x8;
	BAD(ipc_send_store_init(p->sv[0], &in));
	in.locks = 0;
	in.lock_timeout = MBOX_LOCK_TIMEOUT_MAX + 1;
	BAD(ipc_send_store_init(p->sv[0], &in));
	in.lock_timeout = 0;
	BAD(ipc_send_store_init(p->sv[0], &in));
	in.lock_timeout = 30;
	in.dotlock_stale = DOTLOCK_STALE_MAX + 1;
	BAD(ipc_send_store_init(p->sv[0], &in));
	in.dotlock_stale = DOTLOCK_STALE_MIN - 1;
	BAD(ipc_send_store_init(p->sv[0], &in));
	in.dotlock_stale = 300;
	in.index_dir = "relative/dir";
	BAD(ipc_send_store_init(p->sv[0], &in));
	in.index_dir = "";
	in.uidl_format = "%m";	/* refused by the config too */
	BAD(ipc_send_store_init(p->sv[0], &in));
	in.uidl_format = "";
	BAD(ipc_send_store_init(p->sv[0], &in));
	in.uidl_format = "%08Xu%08Xv";
	in.lock_stale = MDLOCK_STALE_MIN - 1;
	BAD(ipc_send_store_init(p->sv[0], &in));
	in.lock_stale = MDLOCK_STALE_MAX + 1;
	BAD(ipc_send_store_init(p->sv[0], &in));
	in.lock_stale = MDLOCK_STALE_DEFAULT;
	in.lock_node = "a b";
	BAD(ipc_send_store_init(p->sv[0], &in));
	in.lock_node = "../x/";
	BAD(ipc_send_store_init(p->sv[0], &in));
	in.lock_node = "";
	in.index_dir = "relative/dir";
#undef BAD

	/* strings over their bound: ipc_recv refuses them, so a decoder
	 * sees one only when built in place */
	memset(longs, 'a', sizeof(longs) - 1);
	longs[sizeof(longs) - 1] = '\0';
	msg_init(&h, MSG_STORE_INIT);
	assert_int_equal(msg_put_str(&h, longs), 0);
	assert_int_equal(msg_put_str(&h, "mbox:/m"), 0);
	assert_int_equal(msg_put_u32(&h, 0), 0);
	assert_int_equal(msg_put_u32(&h, 30), 0);
	assert_int_equal(msg_put_u32(&h, 300), 0);
	assert_int_equal(msg_put_str(&h, ""), 0);
	assert_int_equal(msg_put_str(&h, "%u"), 0);
	assert_int_equal(ipc_get_store_init(&h, &in), -1);
	longs[POP3_MAX_UIDL + 1] = '\0';
	msg_init(&h, MSG_SESSION_OK);
	assert_int_equal(msg_put_u32(&h, 1), 0);
	assert_int_equal(msg_put_u64(&h, 1), 0);
	assert_int_equal(msg_put_str(&h, longs), 0);
	assert_int_equal(decode(&h), -1);
	longs[POP3_MAX_UIDL] = '\0';
	h.len = 0;
	assert_int_equal(msg_put_u32(&h, 1), 0);
	assert_int_equal(msg_put_u64(&h, 1), 0);
	assert_int_equal(msg_put_str(&h, longs), 0);
	assert_int_equal(decode(&h), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_roundtrip,
		    setup_pair, teardown_pair),
		cmocka_unit_test_setup_teardown(test_same_bytes,
		    setup_pair, teardown_pair),
		cmocka_unit_test_setup_teardown(test_refuse_malformed,
		    setup_pair, teardown_pair),
		cmocka_unit_test_setup_teardown(test_refuse_range,
		    setup_pair, teardown_pair),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
