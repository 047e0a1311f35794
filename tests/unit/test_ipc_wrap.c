/*
 * Unit tests for common/ipc_auth.c and common/ipc_master.c: every typed
 * wrapper round-trips over a socketpair (with its descriptor where the
 * message carries one), and every get function refuses a payload one
 * byte short (one byte over, for an empty one), a string one over its
 * bound and a value out of its range.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
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
#include "ipc_auth.h"
#include "ipc_master.h"
#include "limits.h"

/* the bound the tests pass where the receiver names its own */
#define MAX_ARG		64

#define STAMP		"<1234.5678@host.example>"
#define SESS_ID		"0123456789abcdef"

static struct msg m;	/* large: off the stack */
static char big[IPC_MAX_PAYLOAD];
static int sv[2];
static int sent_fd;	/* what the case sends, or -1 */
static int got_fd;	/* what its get function returned */

/* A string of n characters, in big. */
static const char *
str_of(size_t n)
{
	memset(big, 'a', n);
	big[n] = '\0';
	return big;
}

/* Whether a and b are the same open file. */
static int
same_file(int a, int b)
{
	struct stat sa, sb;

	return fstat(a, &sa) == 0 && fstat(b, &sb) == 0 &&
	    sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

static const unsigned char sig_in[] = { 0, 1, 2, 0xff, 0 };

/*
 * One case a message (two where a descriptor is optional): send a valid
 * one with sent_fd; get it back, checking every value (0) or refusing
 * it (-1); and build variant i of a payload with a string over its
 * bound or a value out of range (0 when there is no variant i).
 */
struct wcase {
	const char	*name;
	int		 (*send)(int);
	int		 (*get)(struct msg *);
	int		 (*bad)(struct msg *, int);
	int		 fd;	/* 1: carries one, 2: optional, sent */
};

/* ---- ipc_auth ---- */

static int
send_hello(int s)
{
	return ipc_send_session_hello(s, 0x5, STAMP, SESS_ID);
}

static int
get_hello(struct msg *p)
{
	uint32_t v, flags;
	const char *stamp, *id;

	if (ipc_get_session_hello(p, &v, &flags, &stamp, &id) == -1)
		return -1;
	assert_int_equal(v, IPC_VERSION);
	assert_int_equal(flags, 0x5);
	assert_string_equal(stamp, STAMP);
	assert_string_equal(id, SESS_ID);
	return 0;
}

static int
bad_hello(struct msg *p, int i)
{
	const char *stamp = STAMP, *id = SESS_ID;

	switch (i) {
	case 0:
		stamp = str_of(APOP_STAMP_MAX);
		break;
	case 1:
		id = SESS_ID "0";
		break;
	case 2:
		id = "0123456789abcdeg";	/* not hex */
		break;
	case 3:
		id = "0123";
		break;
	default:
		return 0;
	}
	msg_put_u32(p, IPC_VERSION);
	msg_put_u32(p, 0);
	msg_put_str(p, stamp);
	msg_put_str(p, id);
	return 1;
}

static int
send_peer(int s)
{
	return ipc_send_auth_peer(s, sent_fd);
}

static int
get_peer(struct msg *p)
{
	return ipc_get_auth_peer(p, &got_fd);
}

/* LOGIN, APOP and CRAM: the same shape, each its own functions */
static int
check_cred(int r, const char *user, const char *cred, const char *want)
{
	if (r == -1)
		return -1;
	assert_string_equal(user, "alice");
	assert_string_equal(cred, want);
	return 0;
}

static int
bad_cred(struct msg *p, int i)
{
	switch (i) {
	case 0:
		msg_put_str(p, str_of(POP3_MAX_USER + 1));
		msg_put_str(p, "x");
		return 1;
	case 1:
		msg_put_str(p, "alice");
		msg_put_str(p, str_of(POP3_MAX_PASS + 1));
		return 1;
	}
	return 0;
}

static int
send_login(int s)
{
	return ipc_send_auth_login(s, "alice", "sec ret");
}

static int
get_login(struct msg *p)
{
	const char *u = NULL, *c = NULL;
	int r = ipc_get_auth_login(p, &u, &c);

	return check_cred(r, u, c, "sec ret");
}

static int
send_apop(int s)
{
	return ipc_send_auth_apop(s, "alice", "c4c9334bac560ecc");
}

static int
get_apop(struct msg *p)
{
	const char *u = NULL, *c = NULL;
	int r = ipc_get_auth_apop(p, &u, &c);

	return check_cred(r, u, c, "c4c9334bac560ecc");
}

static int
send_cram(int s)
{
	return ipc_send_auth_cram(s, "alice", "b913a602c7eda7a4");
}

static int
get_cram(struct msg *p)
{
	const char *u = NULL, *c = NULL;
	int r = ipc_get_auth_cram(p, &u, &c);

	return check_cred(r, u, c, "b913a602c7eda7a4");
}

/* one string bounded by the receiver: MAX_ARG here */
static int
bad_str(struct msg *p, int i)
{
	if (i != 0)
		return 0;
	msg_put_str(p, str_of(MAX_ARG + 1));
	return 1;
}

static int
send_scram_first(int s)
{
	return ipc_send_auth_scram_first(s, 1, "a,b=c", "fyko+d2lbbFgONRv9qkxdawL");
}

static int
get_scram_first(struct msg *p)
{
	const char *u, *n;
	int y;

	if (ipc_get_auth_scram_first(p, &y, &u, &n) == -1)
		return -1;
	assert_int_equal(y, 1);
	assert_string_equal(u, "a,b=c");
	assert_string_equal(n, "fyko+d2lbbFgONRv9qkxdawL");
	return 0;
}

/* a gs2 flag not 0/1, a nonce with ',' or a space or too long, a
 * nonce without a user (malformed carries nothing), an empty nonce */
static int
bad_scram_first(struct msg *p, int i)
{
	static const struct {
		uint32_t	 gs2;
		const char	*user, *nonce;
	} c[] = {
		{ 2, "alice", "abc" }, { 0, "alice", "a,b" },
		{ 0, "alice", "a b" }, { 0, "", "abc" }, { 0, "alice", "" },
		{ 0, "alice", "a\x7f" },
	};

	if (i == (int)(sizeof(c) / sizeof(c[0]))) {
		msg_put_u32(p, 0);
		msg_put_str(p, "alice");
		msg_put_str(p, str_of(SCRAM_NONCE_MAX + 1));
		return 1;
	}
	if (i > (int)(sizeof(c) / sizeof(c[0])))
		return 0;
	msg_put_u32(p, c[i].gs2);
	msg_put_str(p, c[i].user);
	msg_put_str(p, c[i].nonce);
	return 1;
}

static int
send_scram_final(int s)
{
	unsigned char proof[SCRAM_PROOF_LEN];

	memset(proof, 0xa5, sizeof(proof));
	return ipc_send_auth_scram_final(s, SCRAM_FINAL_PROOF, proof);
}

static int
get_scram_final(struct msg *p)
{
	const unsigned char *proof;
	int kind;

	if (ipc_get_auth_scram_final(p, &kind, &proof) == -1)
		return -1;
	assert_int_equal(kind, SCRAM_FINAL_PROOF);
	assert_non_null(proof);
	assert_int_equal(proof[0], 0xa5);
	assert_int_equal(proof[SCRAM_PROOF_LEN - 1], 0xa5);
	return 0;
}

/* an unknown kind, a proof of the wrong length, a proof with a cancel */
static int
bad_scram_final(struct msg *p, int i)
{
	static const unsigned char z[SCRAM_PROOF_LEN + 1];
	static const struct {
		uint32_t	kind;
		size_t		len;
	} c[] = {
		{ 3, 0 }, { SCRAM_FINAL_PROOF, SCRAM_PROOF_LEN - 1 },
		{ SCRAM_FINAL_PROOF, 0 }, { SCRAM_FINAL_CANCELLED, 1 },
		{ SCRAM_FINAL_MALFORMED, SCRAM_PROOF_LEN },
		{ SCRAM_FINAL_PROOF, SCRAM_PROOF_LEN + 1 },
	};

	if (i >= (int)(sizeof(c) / sizeof(c[0])))
		return 0;
	msg_put_u32(p, c[i].kind);
	msg_put_bytes(p, z, c[i].len);
	return 1;
}

static int
send_challenge(int s)
{
	return ipc_send_session_sasl_challenge(s, str_of(MAX_ARG));
}

static int
get_challenge(struct msg *p)
{
	const char *c;

	if (ipc_get_session_sasl_challenge(p, &c, MAX_ARG) == -1)
		return -1;
	assert_string_equal(c, str_of(MAX_ARG));
	return 0;
}

static int
send_tls_start(int s)
{
	return ipc_send_auth_tls_start(s);
}

static int
get_tls_start(struct msg *p)
{
	return ipc_get_auth_tls_start(p);
}

static int
send_tls_sign(int s)
{
	return ipc_send_auth_tls_sign(s, 1, TLSK_RSA_PSS_SHA256, sig_in,
	    sizeof(sig_in));
}

static int
get_tls_sign(struct msg *p)
{
	const unsigned char *in;
	uint32_t idx, scheme;
	size_t len;

	if (ipc_get_auth_tls_sign(p, &idx, &scheme, &in, &len) == -1)
		return -1;
	assert_int_equal(idx, 1);
	assert_int_equal(scheme, TLSK_RSA_PSS_SHA256);
	assert_int_equal(len, sizeof(sig_in));
	assert_memory_equal(in, sig_in, len);
	return 0;
}

static int
bad_tls_sign(struct msg *p, int i)
{
	if (i != 0)
		return 0;
	msg_put_u32(p, 0);
	msg_put_u32(p, TLSK_ECDSA_SHA256);
	msg_put_bytes(p, str_of(TLS_SIGN_CONTENT_MAX + 1),
	    TLS_SIGN_CONTENT_MAX + 1);
	return 1;
}

static int
send_tls_signed(int s)
{
	return ipc_send_session_tls_signed(s, str_of(MAX_ARG), MAX_ARG);
}

static int
get_tls_signed(struct msg *p)
{
	const unsigned char *sig;
	size_t len;

	if (ipc_get_session_tls_signed(p, &sig, &len, MAX_ARG) == -1)
		return -1;
	assert_int_equal(len, MAX_ARG);
	assert_memory_equal(sig, str_of(MAX_ARG), MAX_ARG);
	return 0;
}

static int
bad_tls_signed(struct msg *p, int i)
{
	if (i != 0)
		return 0;
	msg_put_bytes(p, str_of(MAX_ARG + 1), MAX_ARG + 1);
	return 1;
}

static int
send_auth_ok(int s)
{
	return ipc_send_session_auth_ok(s, str_of(POP3_MAX_USER), sent_fd);
}

static int
get_auth_ok(struct msg *p)
{
	const char *u;

	if (ipc_get_session_auth_ok(p, &u, &got_fd) == -1)
		return -1;
	assert_string_equal(u, str_of(POP3_MAX_USER));
	return 0;
}

static int
bad_auth_ok(struct msg *p, int i)
{
	if (i != 0)
		return 0;
	msg_put_str(p, str_of(POP3_MAX_USER + 1));
	return 1;
}

static int
send_auth_fail(int s)
{
	return ipc_send_session_auth_fail(s, IPC_ERR_EXPIRED);
}

static int
get_auth_fail(struct msg *p)
{
	uint32_t code;

	if (ipc_get_session_auth_fail(p, &code) == -1)
		return -1;
	assert_int_equal(code, IPC_ERR_EXPIRED);
	return 0;
}

static int
bad_auth_fail(struct msg *p, int i)
{
	if (i > 1)
		return 0;
	msg_put_u32(p, i == 0 ? 0 : IPC_ERR_MAX);
	return 1;
}

/* ---- ipc_master ---- */

static int
send_slot_conn(int s)
{
	return ipc_send_slot_conn(s, 1, 1, "alice bob@example.org", sent_fd);
}

static int
get_slot_conn(struct msg *p)
{
	const char *users;
	int tls, tr;

	if (ipc_get_slot_conn(p, &tls, &tr, &users, &got_fd) == -1)
		return -1;
	assert_int_equal(tls, 1);
	assert_int_equal(tr, 1);
	assert_string_equal(users, "alice bob@example.org");
	return 0;
}

/* tls or transcript neither 0 nor 1; users over their bound */
static int
bad_slot_conn(struct msg *p, int i)
{
	switch (i) {
	case 0:
		msg_put_u32(p, 2);
		msg_put_u32(p, 0);
		msg_put_str(p, "");
		return 1;
	case 1:
		msg_put_u32(p, 0);
		msg_put_u32(p, 2);
		msg_put_str(p, "");
		return 1;
	case 2:
		msg_put_u32(p, 0);
		msg_put_u32(p, 0);
		msg_put_str(p, str_of(CTL_TRANSCRIPT_USERS_LEN));
		return 1;
	}
	return 0;
}

/* the messages that are a descriptor and nothing else */
#define FD_ONLY(name)							\
static int								\
send_##name(int s)							\
{									\
	return ipc_send_##name(s, sent_fd);				\
}									\
static int								\
get_##name(struct msg *p)						\
{									\
	return ipc_get_##name(p, &got_fd);				\
}
FD_ONLY(zygote_spawn)
FD_ONLY(slot_auth)
FD_ONLY(slot_log)
FD_ONLY(metrics_snapshot)
FD_ONLY(slot_transcript)
FD_ONLY(auth_spawn)
FD_ONLY(auth_spawn_report)
FD_ONLY(store_socket)
FD_ONLY(auth_worker_pidfd)

static int
send_slot_pid(int s)
{
	return ipc_send_master_slot_pid(s, 4242);
}

static int
get_slot_pid(struct msg *p)
{
	uint32_t pid;

	if (ipc_get_master_slot_pid(p, &pid) == -1)
		return -1;
	assert_int_equal(pid, 4242);
	return 0;
}

static int
send_session_stats(int s)
{
	uint64_t v[SST_COUNT];
	size_t i;

	for (i = 0; i < SST_COUNT; i++)
		v[i] = i * 1000;
	v[SST_BYTES_OUT] = UINT64_MAX;	/* clamped by the get */
	return ipc_send_master_session_stats(s, v);
}

static int
get_session_stats(struct msg *p)
{
	uint64_t v[SST_COUNT];
	size_t i;

	if (ipc_get_master_session_stats(p, v) == -1)
		return -1;
	for (i = 0; i < SST_COUNT; i++)
		if (i == SST_BYTES_OUT)
			assert_true(v[i] == SST_DELTA_MAX);
		else
			assert_true(v[i] == i * 1000);
	return 0;
}

/* one field short; one too many (the values are never refused: they
 * are clamped) */
static int
bad_session_stats(struct msg *p, int i)
{
	size_t k;

	switch (i) {
	case 0:
		for (k = 0; k + 1 < SST_COUNT; k++)
			msg_put_u64(p, 1);
		return 1;
	case 1:
		for (k = 0; k <= SST_COUNT; k++)
			msg_put_u64(p, 1);
		return 1;
	case 2:
		for (k = 0; k < SST_COUNT; k++)
			msg_put_u32(p, 1);
		return 1;
	}
	return 0;
}

static int
send_master_penalty(int s)
{
	return ipc_send_master_penalty(s, 1, "2001:db8::7", "scram-sha-256");
}

static int
get_master_penalty(struct msg *p)
{
	const char *a;
	int ok, method;

	if (ipc_get_master_penalty(p, &ok, &a, &method) == -1)
		return -1;
	assert_int_equal(ok, 1);
	assert_string_equal(a, "2001:db8::7");
	assert_int_equal(method, AUTH_METHOD_SCRAM);
	return 0;
}

/* ok neither 0 nor 1; an address over PENALTY_ADDR_MAX - 1; a
 * mechanism that is none of the four, or over its bound */
static int
bad_master_penalty(struct msg *p, int i)
{
	switch (i) {
	case 0:
		msg_put_u32(p, 2);
		msg_put_str(p, "192.0.2.1");
		msg_put_str(p, "pass");
		return 1;
	case 1:
		msg_put_u32(p, 0);
		msg_put_str(p, str_of(PENALTY_ADDR_MAX));
		msg_put_str(p, "pass");
		return 1;
	case 2:
		msg_put_u32(p, 0);
		msg_put_str(p, "192.0.2.1");
		msg_put_str(p, "plain");
		return 1;
	case 3:
		msg_put_u32(p, 0);
		msg_put_str(p, "192.0.2.1");
		msg_put_str(p, str_of(AUTH_METHOD_NAME_MAX + 1));
		return 1;
	case 4:
		msg_put_u32(p, 0);
		msg_put_str(p, "192.0.2.1");
		return 1;
	}
	return 0;
}

static int
send_master_login(int s)
{
	return ipc_send_master_login(s, "alice@example.org",
	    "0123456789abcdef", 1);
}

static int
get_master_login(struct msg *p)
{
	const char *user, *sess;
	int tls;

	if (ipc_get_master_login(p, &user, &sess, &tls) == -1)
		return -1;
	assert_string_equal(user, "alice@example.org");
	assert_string_equal(sess, "0123456789abcdef");
	assert_int_equal(tls, 1);
	return 0;
}

/* an empty user, one with a space, one over POP3_MAX_USER; a session
 * id short, long, upper-case or not hex; tls neither 0 nor 1 */
static int
bad_master_login(struct msg *p, int i)
{
	static const char *const users[] = { "", "al ice", "al\tice",
	    "\x7f" };
	static const char *const sess[] = { "0123456789abcde",
	    "0123456789abcdef0", "0123456789ABCDEF", "0123456789abcdeg" };
	const char *u = "alice", *id = "0123456789abcdef";
	uint32_t tls = 0;

	if (i < 4)
		u = users[i];
	else if (i == 4)
		u = str_of(POP3_MAX_USER + 1);
	else if (i < 9)
		id = sess[i - 5];
	else if (i == 9)
		tls = 2;
	else
		return 0;
	msg_put_str(p, u);
	msg_put_str(p, id);
	msg_put_u32(p, tls);
	return 1;
}

static int
send_ctl_request(int s)
{
	return ipc_send_master_ctl_request(s, CTL_CMD_KICK, "192.0.2.7");
}

static int
get_ctl_request(struct msg *p)
{
	const char *arg;
	uint32_t cmd;

	if (ipc_get_master_ctl_request(p, &cmd, &arg) == -1)
		return -1;
	assert_int_equal(cmd, CTL_CMD_KICK);
	assert_string_equal(arg, "192.0.2.7");
	return 0;
}

/* commands 0 and CTL_CMD_MAX; an argument with a space, a control
 * character, one over CTL_ARG_MAX */
static int
bad_ctl_request(struct msg *p, int i)
{
	uint32_t cmd = CTL_CMD_WHO;
	const char *arg = "";

	switch (i) {
	case 0:
		cmd = 0;
		break;
	case 1:
		cmd = CTL_CMD_MAX;
		break;
	case 2:
		arg = "a b";
		break;
	case 3:
		arg = "a\nb";
		break;
	case 4:
		arg = str_of(CTL_ARG_MAX + 1);
		break;
	default:
		return 0;
	}
	msg_put_u32(p, cmd);
	msg_put_str(p, arg);
	return 1;
}

static int
send_ctl_answer(int s)
{
	return ipc_send_ctl_answer(s, CTL_ERR_NO_MATCH, 7, sent_fd);
}

static int
get_ctl_answer(struct msg *p)
{
	uint32_t status, count;

	if (ipc_get_ctl_answer(p, &status, &count, &got_fd) == -1)
		return -1;
	assert_int_equal(status, CTL_ERR_NO_MATCH);
	assert_int_equal(count, 7);
	return 0;
}

/* a status past CTL_ERR_MAX */
static int
bad_ctl_answer(struct msg *p, int i)
{
	if (i != 0)
		return 0;
	msg_put_u32(p, CTL_ERR_MAX);
	msg_put_u32(p, 0);
	return 1;
}

static int
send_store_spawn(int s)
{
	return ipc_send_store_spawn(s, 1000, 100, (gid_t)-1, sent_fd);
}

static int
get_store_spawn(struct msg *p)
{
	uid_t uid;
	gid_t gid, extra;

	if (ipc_get_store_spawn(p, &uid, &gid, &extra, &got_fd) == -1)
		return -1;
	assert_int_equal(uid, 1000);
	assert_int_equal(gid, 100);
	assert_true(extra == (gid_t)-1);
	return 0;
}

static int
send_lockd_request(int s)
{
	return ipc_send_lockd_request(s, 1, "alice.lock", 300, sent_fd);
}

static int
get_lockd_request(struct msg *p)
{
	const char *lock;
	uint32_t op, stale;

	if (ipc_get_lockd_request(p, &op, &lock, MAX_ARG, &stale,
	    &got_fd) == -1)
		return -1;
	assert_int_equal(op, 1);
	assert_string_equal(lock, "alice.lock");
	assert_int_equal(stale, 300);
	return 0;
}

static int
bad_lockd_request(struct msg *p, int i)
{
	if (i != 0)
		return 0;
	msg_put_u32(p, 1);
	msg_put_str(p, str_of(MAX_ARG + 1));
	msg_put_u32(p, 300);
	return 1;
}

static int
send_lockd_result(int s)
{
	return ipc_send_lockd_result(s, -1, ENOSPC);
}

static int
get_lockd_result(struct msg *p)
{
	int r, err;

	if (ipc_get_lockd_result(p, &r, &err) == -1)
		return -1;
	assert_int_equal(r, -1);
	assert_int_equal(err, ENOSPC);
	return 0;
}

static int
bad_lockd_result(struct msg *p, int i)
{
	if (i != 0)
		return 0;
	msg_put_u32(p, 2);
	msg_put_u32(p, 0);
	return 1;
}

static int
send_proxy(int s)
{
	struct ipc_proxy p = { 0, "2001:db8::7", 51234, "192.0.2.1", 995, 1 };

	return ipc_send_auth_proxy(s, &p);
}

static int
get_proxy(struct msg *m)
{
	struct ipc_proxy p;

	if (ipc_get_auth_proxy(m, &p) == -1)
		return -1;
	assert_int_equal(p.local, 0);
	assert_string_equal(p.src, "2001:db8::7");
	assert_int_equal(p.src_port, 51234);
	assert_string_equal(p.dst, "192.0.2.1");
	assert_int_equal(p.dst_port, 995);
	assert_int_equal(p.ssl, 1);
	return 0;
}

/* local with addresses, addresses not of peeraddr.h's form, "local",
 * a scope, ports and flags out of range */
static int
bad_proxy(struct msg *p, int i)
{
	static const struct {
		uint32_t	 local;
		const char	*src;
		uint32_t	 sport;
		const char	*dst;
		uint32_t	 dport, ssl;
	} rows[] = {
		{ 1, "192.0.2.7", 0, "", 0, 0 },
		{ 1, "", 1, "", 0, 0 },
		{ 2, "192.0.2.7", 1, "192.0.2.1", 2, 0 },
		{ 0, "", 1, "192.0.2.1", 2, 0 },
		{ 0, "local", 1, "192.0.2.1", 2, 0 },
		{ 0, "fe80::1%eth0", 1, "192.0.2.1", 2, 0 },
		{ 0, "192.0.2.300", 1, "192.0.2.1", 2, 0 },
		{ 0, "host.example", 1, "192.0.2.1", 2, 0 },
		{ 0, "192.0.2.7", 65536, "192.0.2.1", 2, 0 },
		{ 0, "192.0.2.7", 1, "192.0.2.1", 65536, 0 },
		{ 0, "192.0.2.7", 1, "192.0.2.1", 2, 2 },
		{ 0, "192.0.2.7", 1, "", 2, 0 },
	};

	if (i >= (int)(sizeof(rows) / sizeof(rows[0])))
		return 0;
	msg_put_u32(p, rows[i].local);
	msg_put_str(p, rows[i].src);
	msg_put_u32(p, rows[i].sport);
	msg_put_str(p, rows[i].dst);
	msg_put_u32(p, rows[i].dport);
	msg_put_u32(p, rows[i].ssl);
	return 1;
}

static int
send_master_peer(int s)
{
	return ipc_send_master_peer(s, "198.51.100.23");
}

static int
get_master_peer(struct msg *m)
{
	const char *a;

	if (ipc_get_master_peer(m, &a) == -1)
		return -1;
	assert_string_equal(a, "198.51.100.23");
	return 0;
}

static int
bad_master_peer(struct msg *p, int i)
{
	static const char *const rows[] = { "", "local", "fe80::1%lo",
	    "198.51.100", "198.51.100.23 ", "x" };

	if (i >= (int)(sizeof(rows) / sizeof(rows[0])))
		return 0;
	msg_put_str(p, rows[i]);
	return 1;
}

static const struct {
	uint32_t	type;
	struct wcase	c;
} cases[] = {
	{ MSG_SESSION_HELLO, { "hello", send_hello, get_hello, bad_hello,
	    0 } },
	{ MSG_AUTH_PEER, { "peer", send_peer, get_peer, NULL, 1 } },
	{ MSG_AUTH_PROXY, { "proxy", send_proxy, get_proxy, bad_proxy, 0 } },
	{ MSG_AUTH_LOGIN, { "login", send_login, get_login, bad_cred, 0 } },
	{ MSG_AUTH_APOP, { "apop", send_apop, get_apop, bad_cred, 0 } },
	{ MSG_AUTH_CRAM, { "cram", send_cram, get_cram, bad_cred, 0 } },
	{ MSG_AUTH_SCRAM_FIRST, { "scram_first", send_scram_first,
	    get_scram_first, bad_scram_first, 0 } },
	{ MSG_AUTH_SCRAM_FINAL, { "scram_final", send_scram_final,
	    get_scram_final, bad_scram_final, 0 } },
	{ MSG_SESSION_SASL_CHALLENGE, { "challenge", send_challenge,
	    get_challenge, bad_str, 0 } },
	{ MSG_AUTH_TLS_START, { "tls_start", send_tls_start, get_tls_start,
	    NULL, 0 } },
	{ MSG_AUTH_TLS_SIGN, { "tls_sign", send_tls_sign, get_tls_sign,
	    bad_tls_sign, 0 } },
	{ MSG_SESSION_TLS_SIGNED, { "tls_signed", send_tls_signed,
	    get_tls_signed, bad_tls_signed, 0 } },
	{ MSG_SESSION_AUTH_OK, { "auth_ok", send_auth_ok, get_auth_ok,
	    bad_auth_ok, 1 } },
	{ MSG_SESSION_AUTH_FAIL, { "auth_fail", send_auth_fail,
	    get_auth_fail, bad_auth_fail, 0 } },
	{ MSG_SLOT_CONN, { "slot_conn", send_slot_conn, get_slot_conn,
	    bad_slot_conn, 1 } },
	{ MSG_ZYGOTE_SPAWN, { "zygote_spawn", send_zygote_spawn,
	    get_zygote_spawn, NULL, 1 } },
	{ MSG_MASTER_SLOT_PID, { "slot_pid", send_slot_pid, get_slot_pid,
	    NULL, 0 } },
	{ MSG_SLOT_AUTH, { "slot_auth", send_slot_auth, get_slot_auth, NULL,
	    1 } },
	{ MSG_SLOT_LOG, { "slot_log", send_slot_log, get_slot_log, NULL,
	    2 } },
	{ MSG_METRICS_SNAPSHOT, { "metrics_snapshot", send_metrics_snapshot,
	    get_metrics_snapshot, NULL, 1 } },
	{ MSG_SLOT_TRANSCRIPT, { "slot_transcript", send_slot_transcript,
	    get_slot_transcript, NULL, 1 } },
	{ MSG_AUTH_SPAWN, { "auth_spawn", send_auth_spawn, get_auth_spawn,
	    NULL, 1 } },
	{ MSG_AUTH_SPAWN_REPORT, { "auth_spawn_report",
	    send_auth_spawn_report, get_auth_spawn_report, NULL, 1 } },
	{ MSG_MASTER_SESSION_STATS, { "session_stats", send_session_stats,
	    get_session_stats, bad_session_stats, 0 } },
	{ MSG_MASTER_PENALTY, { "master_penalty", send_master_penalty,
	    get_master_penalty, bad_master_penalty, 0 } },
	{ MSG_MASTER_LOGIN, { "master_login", send_master_login,
	    get_master_login, bad_master_login, 0 } },
	{ MSG_MASTER_PEER, { "master_peer", send_master_peer,
	    get_master_peer, bad_master_peer, 0 } },
	{ MSG_MASTER_CTL_REQUEST, { "ctl_request", send_ctl_request,
	    get_ctl_request, bad_ctl_request, 0 } },
	{ MSG_CTL_ANSWER, { "ctl_answer", send_ctl_answer, get_ctl_answer,
	    bad_ctl_answer, 2 } },
	{ MSG_STORE_SPAWN, { "store_spawn", send_store_spawn,
	    get_store_spawn, NULL, 1 } },
	{ MSG_STORE_SOCKET, { "store_socket", send_store_socket,
	    get_store_socket, NULL, 1 } },
	{ MSG_AUTH_WORKER_PIDFD, { "worker_pidfd", send_auth_worker_pidfd,
	    get_auth_worker_pidfd, NULL, 2 } },
	{ MSG_LOCKD_REQUEST, { "lockd_request", send_lockd_request,
	    get_lockd_request, bad_lockd_request, 2 } },
	{ MSG_LOCKD_RESULT, { "lockd_result", send_lockd_result,
	    get_lockd_result, bad_lockd_result, 0 } },
};
#define NCASES	(sizeof(cases) / sizeof(cases[0]))

static int
setup(void **state)
{
	(void)state;
	return ipc_socketpair(sv);
}

static int
teardown(void **state)
{
	(void)state;
	close(sv[0]);
	close(sv[1]);
	return 0;
}

/* Send case i with fd (or -1) and receive it into m. */
static void
send_recv(size_t i, int fd)
{
	sent_fd = fd;
	got_fd = -2;
	if (cases[i].c.send(sv[0]) == -1)
		fail_msg("%s: send: %s", cases[i].c.name, strerror(errno));
	if (ipc_recv(sv[1], &m) != 1)
		fail_msg("%s: recv: %s", cases[i].c.name, strerror(errno));
	assert_int_equal(m.type, cases[i].type);
}

static void
test_roundtrip(void **state)
{
	size_t i;
	int p[2], pass;

	(void)state;
	assert_int_equal(pipe(p), 0);
	for (i = 0; i < NCASES; i++) {
		for (pass = 0; pass < (cases[i].c.fd == 2 ? 2 : 1); pass++) {
			send_recv(i, cases[i].c.fd && pass == 0 ? p[0] : -1);
			if (cases[i].c.get(&m) != 0)
				fail_msg("%s: refused", cases[i].c.name);
			if (cases[i].c.fd == 0)
				continue;
			/* the descriptor is the caller's now */
			assert_int_equal(m.fd, -1);
			if (sent_fd == -1)
				assert_int_equal(got_fd, -1);
			else {
				if (!same_file(got_fd, p[0]))
					fail_msg("%s: descriptor",
					    cases[i].c.name);
				close(got_fd);
			}
		}
	}
	close(p[0]);
	close(p[1]);
}

/* A received payload one byte short (one byte over if empty), and a
 * message of another type: refused, the descriptor left in m. */
static void
test_short(void **state)
{
	size_t i;
	int p[2];

	(void)state;
	assert_int_equal(pipe(p), 0);
	for (i = 0; i < NCASES; i++) {
		send_recv(i, cases[i].c.fd ? p[0] : -1);
		if (m.len > 0)
			m.len--;
		else
			m.data[m.len++] = 0;
		if (cases[i].c.get(&m) != -1)
			fail_msg("%s: short payload taken", cases[i].c.name);
		if (cases[i].c.fd) {
			assert_true(m.fd >= 0);
			close(m.fd);
		}
		/* every get checks the type */
		send_recv(i, cases[i].c.fd ? p[0] : -1);
		m.type = cases[i].type == MSG_LOCKD_RESULT ?
		    MSG_LOCKD_REQUEST : MSG_LOCKD_RESULT;
		if (cases[i].c.get(&m) != -1)
			fail_msg("%s: other type taken", cases[i].c.name);
		if (m.fd != -1)
			close(m.fd);
	}
	close(p[0]);
	close(p[1]);
}

/* A descriptor the message must carry, missing. */
static void
test_fd_missing(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < NCASES; i++) {
		if (cases[i].c.fd != 1)
			continue;
		send_recv(i, -1);
		if (cases[i].c.get(&m) != -1)
			fail_msg("%s: taken without its descriptor",
			    cases[i].c.name);
	}
}

/* Strings and bytes one over their bound, values out of range. */
static void
test_overlong(void **state)
{
	size_t i;
	int v, n = 0;

	(void)state;
	for (i = 0; i < NCASES; i++) {
		if (cases[i].c.bad == NULL)
			continue;
		for (v = 0;; v++) {
			msg_init(&m, cases[i].type);
			if (!cases[i].c.bad(&m, v))
				break;
			if (cases[i].c.get(&m) != -1)
				fail_msg("%s: bad variant %d taken",
				    cases[i].c.name, v);
			n++;
		}
	}
	assert_true(n >= 20);
}

/* Every message of ipc_auth.h and ipc_master.h is in the table. */
static void
test_all_covered(void **state)
{
	static const uint32_t want[] = {
		MSG_SESSION_HELLO, MSG_AUTH_PEER, MSG_AUTH_PROXY,
		MSG_AUTH_LOGIN,
		MSG_AUTH_APOP, MSG_AUTH_CRAM, MSG_AUTH_SCRAM_FIRST,
		MSG_AUTH_SCRAM_FINAL, MSG_SESSION_SASL_CHALLENGE,
		MSG_AUTH_TLS_START, MSG_AUTH_TLS_SIGN, MSG_SESSION_TLS_SIGNED,
		MSG_SESSION_AUTH_OK, MSG_SESSION_AUTH_FAIL, MSG_AUTH_SPAWN,
		MSG_AUTH_SPAWN_REPORT, MSG_STORE_SPAWN, MSG_STORE_SOCKET,
		MSG_AUTH_WORKER_PIDFD, MSG_LOCKD_REQUEST, MSG_LOCKD_RESULT,
		MSG_SLOT_CONN, MSG_MASTER_LOGIN, MSG_MASTER_PEER,
		MSG_ZYGOTE_SPAWN,
		MSG_MASTER_SLOT_PID, MSG_SLOT_AUTH, MSG_SLOT_LOG,
		MSG_SLOT_TRANSCRIPT,
		MSG_MASTER_PENALTY, MSG_MASTER_CTL_REQUEST, MSG_CTL_ANSWER,
		MSG_METRICS_SNAPSHOT, MSG_MASTER_SESSION_STATS,
	};
	size_t i, j;

	(void)state;
	assert_int_equal(NCASES, sizeof(want) / sizeof(want[0]));
	for (i = 0; i < NCASES; i++) {
		for (j = 0; j < NCASES && cases[j].type != want[i]; j++)
			;
		if (j == NCASES)
			fail_msg("%s has no case", msg_name(want[i]));
	}
}

/* The wire bytes are those the hand-built messages had. */
static void
test_wire_bytes(void **state)
{
	static struct msg h;

	(void)state;
	assert_int_equal(ipc_send_auth_login(sv[0], "bob", "pw"), 0);
	assert_int_equal(ipc_recv(sv[1], &m), 1);
	msg_init(&h, MSG_AUTH_LOGIN);
	msg_put_str(&h, "bob");
	msg_put_str(&h, "pw");
	assert_int_equal(m.len, h.len);
	assert_memory_equal(m.data, h.data, h.len);

	assert_int_equal(ipc_send_lockd_result(sv[0], -1, 5), 0);
	assert_int_equal(ipc_recv(sv[1], &m), 1);
	msg_init(&h, MSG_LOCKD_RESULT);
	msg_put_u32(&h, UINT32_MAX);
	msg_put_u32(&h, 5);
	assert_int_equal(m.len, h.len);
	assert_memory_equal(m.data, h.data, h.len);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_all_covered),
		cmocka_unit_test_setup_teardown(test_roundtrip, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_short, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fd_missing, setup,
		    teardown),
		cmocka_unit_test(test_overlong),
		cmocka_unit_test_setup_teardown(test_wire_bytes, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
