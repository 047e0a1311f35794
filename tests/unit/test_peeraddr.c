/* The address forms privpop-auth accepts from the client's socket, and
 * what it reads from sockets of each kind. */
#include "config.h"

#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "peeraddr.h"

static void
test_valid(void **state)
{
	static const struct {
		const char	*s;
		int		 ok;
	} t[] = {
		{ "local", 1 },
		{ "192.0.2.7", 1 },
		{ "::1", 1 },
		{ "2001:db8::7", 1 },
		{ "fe80::1%eth0", 1 },
		{ "fe80::1%2", 1 },
		{ "", 0 },
		{ "-", 0 },
		{ "localhost", 0 },
		{ "192.0.2.7 ", 0 },
		{ "192.0.2.7\n", 0 },
		{ "10.0.0.1\nlogin: sess=x addr=1.2.3.4 user=root", 0 },
		{ "192.0.2.7%eth0", 0 },	/* a scope only for IPv6 */
		{ "fe80::1%", 0 },
		{ "fe80::1%eth0 x", 0 },
		{ "fe80::1%eth\x1b[0m", 0 },
		{ "1.2.3", 0 },
		{ "0x7f.1", 0 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (peer_addr_valid(t[i].s) != t[i].ok)
			fail_msg("\"%s\": %d, want %d", t[i].s,
			    peer_addr_valid(t[i].s), t[i].ok);
}

static void
test_of_sockets(void **state)
{
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);
	char out[PEER_ADDR_MAX];
	int l, c, a, sv[2], p[2];

	(void)state;
	/* TCP over loopback: the kernel's numeric address */
	l = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(l >= 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(l, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(l, 1), 0);
	assert_int_equal(getsockname(l, (struct sockaddr *)&sin, &sl), 0);
	c = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(connect(c, (struct sockaddr *)&sin, sizeof(sin)), 0);
	a = accept(l, NULL, NULL);
	assert_true(a >= 0);
	assert_int_equal(peer_addr_of(a, out, sizeof(out)), 0);
	assert_string_equal(out, "127.0.0.1");
	close(a);
	/* a connection its client has reset (SO_LINGER 0, as HAProxy ends
	 * its health checks): gone, never "local" */
	{
		struct linger lg = { 1, 0 };
		int i;

		c = socket(AF_INET, SOCK_STREAM, 0);
		assert_int_equal(connect(c, (struct sockaddr *)&sin,
		    sizeof(sin)), 0);
		a = accept(l, NULL, NULL);
		assert_true(a >= 0);
		assert_int_equal(setsockopt(c, SOL_SOCKET, SO_LINGER, &lg,
		    sizeof(lg)), 0);
		close(c);
		/* the RST crosses loopback at once; bounded all the same */
		for (i = 0; i < 100 && peer_addr_of(a, out,
		    sizeof(out)) != PEER_GONE; i++)
			usleep(10000);
		assert_int_equal(peer_addr_of(a, out, sizeof(out)), PEER_GONE);
		assert_string_equal(out, "-");
		close(a);
	}
	close(l);
	/* a UNIX socket or a pipe: on this host */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(peer_addr_of(sv[0], out, sizeof(out)), 0);
	assert_string_equal(out, PEER_LOCAL);
	close(sv[0]);
	close(sv[1]);
	assert_int_equal(pipe(p), 0);
	assert_int_equal(peer_addr_of(p[0], out, sizeof(out)), 0);
	assert_string_equal(out, PEER_LOCAL);
	close(p[0]);
	close(p[1]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_of_sockets),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
