/* privpop-auth's permit table (auth_serve.c), through auth_permit, the
 * check auth_dispatch makes: every message type in every state,
 * allowed or refused as the protocol says, with the words the log has
 * always used; and auth_dispatch moving through the states. */
#include "config.h"

#include <sys/socket.h>

#include <netinet/in.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "auth_serve.h"
#include "ipc_master.h"
#include "ipc_auth.h"
#include "conf.h"

static struct conf c;

/* What the protocol allows, said independently of the table: in which
 * states a type may come (given the mechanisms are offered, TLS_SIGN
 * only after TLS_START, and the once-only ones not seen yet). */
static unsigned
expected_states(uint32_t type)
{
	const unsigned login = 1u << AS_AUTH | 1u << AS_SCRAM;

	switch (type) {
	case MSG_AUTH_PEER:
		return 1u << AS_PEER;
	case MSG_AUTH_PROXY:
		return 1u << AS_PROXY;
	case MSG_AUTH_LOGIN:
	case MSG_AUTH_APOP:
	case MSG_AUTH_CRAM:
	case MSG_AUTH_SCRAM_FIRST:
	case MSG_AUTH_TLS_START:
	case MSG_AUTH_TLS_SIGN:
		return login;
	case MSG_AUTH_SCRAM_FINAL:
		return 1u << AS_SCRAM;
	default:
		return 0;	/* nothing else, ever (AS_DONE: nothing) */
	}
}

static void
init(struct auth_session *s, enum auth_state st)
{
	auth_session_init(s, &c, NULL, -1);
	s->offer = AUTH_MECH_PASSWORD | AUTH_MECH_APOP | AUTH_MECH_CRAM_MD5 |
	    AUTH_MECH_SCRAM;
	s->state = st;
	s->served[MSG_AUTH_PEER] = st != AS_PEER;
}

static int
permitted(const struct auth_session *s, uint32_t type, char *why)
{
	why[0] = '\0';
	return auth_permit(s, type, why, 128) == 0;
}

static void
test_every_type_every_state(void **state)
{
	struct auth_session s;
	char why[128];
	uint32_t t;
	int st;

	(void)state;
	for (st = 0; st < AS_COUNT; st++) {
		for (t = 0; t < MSG_TYPE_COUNT + 2; t++) {
			init(&s, (enum auth_state)st);
			/* TLS_SIGN's prerequisite, where it could be met */
			if (t == MSG_AUTH_TLS_SIGN && st != AS_PEER)
				s.served[MSG_AUTH_TLS_START] = 1;
			if (permitted(&s, t, why) !=
			    ((expected_states(t) & 1u << st) != 0))
				fail_msg("state %d, %s: %s", st, msg_name(t),
				    why[0] != '\0' ? why : "permitted");
		}
	}
}

static void
test_refusal_words(void **state)
{
	struct auth_session s;
	char why[128];

	(void)state;
	/* LOGIN (anything) before PEER */
	init(&s, AS_PEER);
	assert_false(permitted(&s, MSG_AUTH_LOGIN, why));
	assert_string_equal(why, "AUTH_LOGIN before the client's socket");
	assert_false(permitted(&s, MSG_AUTH_TLS_START, why));
	assert_string_equal(why, "AUTH_TLS_START before the client's socket");
	assert_false(permitted(&s, MSG_SESSION_HELLO, why));
	assert_string_equal(why, "SESSION_HELLO before the client's socket");
	assert_true(permitted(&s, MSG_AUTH_PEER, why));

	/* PEER twice, in either state after it */
	init(&s, AS_AUTH);
	assert_false(permitted(&s, MSG_AUTH_PEER, why));
	assert_string_equal(why, "AUTH_PEER after the client's socket");
	init(&s, AS_SCRAM);
	assert_false(permitted(&s, MSG_AUTH_PEER, why));
	assert_string_equal(why, "AUTH_PEER after the client's socket");
	/* even were the state to say otherwise: once is once */
	init(&s, AS_PEER);
	s.served[MSG_AUTH_PEER] = 1;
	assert_false(permitted(&s, MSG_AUTH_PEER, why));
	assert_string_equal(why, "AUTH_PEER after the client's socket");

	/* SCRAM_FINAL without SCRAM_FIRST */
	init(&s, AS_AUTH);
	assert_false(permitted(&s, MSG_AUTH_SCRAM_FINAL, why));
	assert_string_equal(why, "SCRAM_FINAL before SCRAM_FIRST");

	/* TLS_SIGN without TLS_START, a second TLS_START or TLS_SIGN */
	init(&s, AS_AUTH);
	assert_false(permitted(&s, MSG_AUTH_TLS_SIGN, why));
	assert_string_equal(why, "TLS_SIGN: signature before TLS started");
	s.served[MSG_AUTH_TLS_START] = 1;
	assert_false(permitted(&s, MSG_AUTH_TLS_START, why));
	assert_string_equal(why,
	    "TLS_START: TLS already started on this connection");
	assert_true(permitted(&s, MSG_AUTH_TLS_SIGN, why));
	s.served[MSG_AUTH_TLS_SIGN] = 1;
	assert_false(permitted(&s, MSG_AUTH_TLS_SIGN, why));
	assert_string_equal(why,
	    "TLS_SIGN: a second signature on this connection");
	/* a password attempt is not once: the count is the handler's */
	s.served[MSG_AUTH_LOGIN] = 5;
	assert_true(permitted(&s, MSG_AUTH_LOGIN, why));

	/* what the helper never takes from a session child */
	assert_false(permitted(&s, MSG_AUTH_SPAWN, why));
	assert_string_equal(why, "unexpected message AUTH_SPAWN");
	assert_false(permitted(&s, MSG_STORE_RETR, why));
	assert_string_equal(why, "unexpected message STORE_RETR");
	assert_false(permitted(&s, MSG_TYPE_COUNT + 7, why));
	assert_string_equal(why, "unexpected message UNKNOWN");

	/* anything after a successful login */
	init(&s, AS_DONE);
	assert_false(permitted(&s, MSG_AUTH_LOGIN, why));
	assert_string_equal(why, "AUTH_LOGIN after the login");
	assert_false(permitted(&s, MSG_AUTH_TLS_SIGN, why));
	assert_false(permitted(&s, MSG_AUTH_PEER, why));
}

/* A mechanism the HELLO did not offer is refused, and before the
 * state is looked at (as the loop always did). */
static void
test_mechanisms(void **state)
{
	static const struct {
		uint32_t	type;
		int		mech;
	} rows[] = {
		{ MSG_AUTH_LOGIN, AUTH_MECH_PASSWORD },
		{ MSG_AUTH_APOP, AUTH_MECH_APOP },
		{ MSG_AUTH_CRAM, AUTH_MECH_CRAM_MD5 },
		{ MSG_AUTH_SCRAM_FIRST, AUTH_MECH_SCRAM },
		{ MSG_AUTH_SCRAM_FINAL, AUTH_MECH_SCRAM },
	};
	struct auth_session s;
	char why[128], want[128];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		init(&s, AS_SCRAM);
		assert_true(permitted(&s, rows[i].type, why));
		s.offer &= ~rows[i].mech;
		assert_false(permitted(&s, rows[i].type, why));
		snprintf(want, sizeof(want), "%s: mechanism not offered",
		    msg_name(rows[i].type));
		assert_string_equal(why, want);
	}
	/* TLS needs no mechanism */
	init(&s, AS_AUTH);
	s.offer = 0;
	assert_true(permitted(&s, MSG_AUTH_TLS_START, why));
}

/* auth_dispatch itself: PEER moves to AS_AUTH and is then refused;
 * TLS_START leaves the state as it is and permits one TLS_SIGN. */
static void
test_dispatch(void **state)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	struct auth_session s;
	struct msg m;
	char why[128];
	int l, a, b;

	(void)state;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true((l = socket(AF_INET, SOCK_STREAM, 0)) != -1);
	assert_int_equal(bind(l, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(l, 1), 0);
	assert_int_equal(getsockname(l, (struct sockaddr *)&sin, &len), 0);
	assert_true((a = socket(AF_INET, SOCK_STREAM, 0)) != -1);
	assert_int_equal(connect(a, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_true((b = accept(l, NULL, NULL)) != -1);

	init(&s, AS_PEER);
	s.served[MSG_AUTH_PEER] = 0;
	msg_init(&m, MSG_AUTH_PEER);
	m.fd = b;	/* the handler closes it */
	auth_dispatch(&s, &m);
	assert_int_equal(s.state, AS_AUTH);
	assert_string_equal(s.peer, "127.0.0.1");
	assert_int_equal(m.fd, -1);
	assert_false(permitted(&s, MSG_AUTH_PEER, why));
	assert_false(permitted(&s, MSG_AUTH_TLS_SIGN, why));

	msg_init(&m, MSG_AUTH_TLS_START);
	auth_dispatch(&s, &m);
	assert_int_equal(s.state, AS_AUTH);
	assert_false(permitted(&s, MSG_AUTH_TLS_START, why));
	assert_true(permitted(&s, MSG_AUTH_TLS_SIGN, why));
	close(a);
	close(l);
}

/* A peer in haproxy_trusted_networks: its PROXY header is required
 * next, replaces the address, and goes to the master; from any other
 * peer the header is refused. */
static void
test_proxy(void **state)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	struct auth_session s;
	struct ipc_proxy px = { 0, "198.51.100.23", 40000, "127.0.0.1", 110,
	    0 };
	struct msg m;
	const char *addr;
	char why[128];
	int l, a, b, rep[2];

	(void)state;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true((l = socket(AF_INET, SOCK_STREAM, 0)) != -1);
	assert_int_equal(bind(l, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(l, 2), 0);
	assert_int_equal(getsockname(l, (struct sockaddr *)&sin, &len), 0);
	assert_true((a = socket(AF_INET, SOCK_STREAM, 0)) != -1);
	assert_int_equal(connect(a, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_true((b = accept(l, NULL, NULL)) != -1);
	assert_int_equal(ipc_socketpair(rep), 0);

	snprintf(c.haproxy_trusted_networks, sizeof(c.haproxy_trusted_networks),
	    "%s", "127.0.0.0/8");
	init(&s, AS_PEER);
	s.served[MSG_AUTH_PEER] = 0;
	s.report = rep[0];
	msg_init(&m, MSG_AUTH_PEER);
	m.fd = b;
	auth_dispatch(&s, &m);
	assert_int_equal(s.state, AS_PROXY);
	/* nothing but the header now */
	assert_false(permitted(&s, MSG_AUTH_LOGIN, why));
	assert_false(permitted(&s, MSG_AUTH_TLS_START, why));
	assert_true(permitted(&s, MSG_AUTH_PROXY, why));
	msg_init(&m, MSG_AUTH_PROXY);
	assert_int_equal(msg_put_u32(&m, px.local), 0);
	assert_int_equal(msg_put_str(&m, px.src), 0);
	assert_int_equal(msg_put_u32(&m, px.src_port), 0);
	assert_int_equal(msg_put_str(&m, px.dst), 0);
	assert_int_equal(msg_put_u32(&m, px.dst_port), 0);
	assert_int_equal(msg_put_u32(&m, px.ssl), 0);
	auth_dispatch(&s, &m);
	assert_int_equal(s.state, AS_AUTH);
	assert_string_equal(s.peer, "198.51.100.23");
	assert_string_equal(s.balancer, "127.0.0.1");
	assert_false(permitted(&s, MSG_AUTH_PROXY, why));
	assert_true(permitted(&s, MSG_AUTH_LOGIN, why));
	/* the master heard of it from this helper */
	assert_int_equal(ipc_recv(rep[1], &m), 1);
	assert_int_equal(ipc_get_master_peer(&m, &addr), 0);
	assert_string_equal(addr, "198.51.100.23");

	/* a peer outside the list: no header state, a header refused */
	snprintf(c.haproxy_trusted_networks, sizeof(c.haproxy_trusted_networks),
	    "%s", "192.0.2.0/24");
	close(a);
	assert_true((a = socket(AF_INET, SOCK_STREAM, 0)) != -1);
	assert_int_equal(connect(a, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_true((b = accept(l, NULL, NULL)) != -1);
	init(&s, AS_PEER);
	s.served[MSG_AUTH_PEER] = 0;
	msg_init(&m, MSG_AUTH_PEER);
	m.fd = b;
	auth_dispatch(&s, &m);
	assert_int_equal(s.state, AS_AUTH);
	assert_false(permitted(&s, MSG_AUTH_PROXY, why));
	assert_non_null(strstr(why, "not a trusted balancer"));
	c.haproxy_trusted_networks[0] = '\0';
	close(a);
	close(l);
	close(rep[0]);
	close(rep[1]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_type_every_state),
		cmocka_unit_test(test_refusal_words),
		cmocka_unit_test(test_mechanisms),
		cmocka_unit_test(test_dispatch),
		cmocka_unit_test(test_proxy),
	};

	conf_defaults(&c);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
