/*
 * Unit tests for common/penalty.c: the delay curve, the shared table
 * (failures, the forget window, reset on success, replacement of the
 * longest quiet address when full), exempt ranges and their syntax.
 */
#include "config.h"

#include <sys/mman.h>
#include <sys/wait.h>

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "addrlist.h"
#include "penalty.h"

/* ---- penalty_delay_ms ---- */

static void
test_delay_curve(void **state)
{
	static const struct {
		uint32_t	n;
		int		base, max, want;
	} cases[] = {
		/* no failure yet, or penalties off */
		{ 0, 400, 1200, 0 },
		{ 0, 2000, 15000, 0 },
		{ 1, 0, 1200, 0 },
		{ 5, 0, 15000, 0 },
		{ 3, -5, 15000, 0 },
		/* doubling from base, capped at max */
		{ 1, 400, 1200, 400 },
		{ 2, 400, 1200, 800 },
		{ 3, 400, 1200, 1200 },
		{ 4, 400, 1200, 1200 },
		{ 100, 400, 1200, 1200 },
		{ 1, 2000, 15000, 2000 },
		{ 2, 2000, 15000, 4000 },
		{ 3, 2000, 15000, 8000 },
		{ 4, 2000, 15000, 15000 },
		{ 1, 1, 1000000, 1 },
		{ 11, 1, 1000000, 1024 },
		{ 21, 1, 1000000, 1000000 },
		/* exactly on the cap */
		{ 3, 250, 1000, 1000 },
		/* a cap below the base wins */
		{ 1, 400, 200, 200 },
		{ 9, 400, 200, 200 },
		/* no overflow however many failures */
		{ UINT32_MAX, 1, INT_MAX, INT_MAX },
		{ UINT32_MAX, 3000, 60000, 60000 },
		{ 40, 1000000, INT_MAX, INT_MAX },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int d = penalty_delay_ms(cases[i].n, cases[i].base,
		    cases[i].max);

		if (d != cases[i].want)
			fail_msg("delay(%u, %d, %d) = %d, want %d",
			    cases[i].n, cases[i].base, cases[i].max, d,
			    cases[i].want);
	}
}

/* ---- the table ---- */

static struct penalty_table *
new_table(void)
{
	struct penalty_table *t = calloc(1, sizeof(*t));

	assert_non_null(t);
	return t;
}

static void
fail_at(struct penalty_table *t, const char *addr, time_t now)
{
	struct penalty_report r;

	memset(&r, 0, sizeof(r));
	r.ok = 0;
	assert_true(strlen(addr) < sizeof(r.addr));
	memcpy(r.addr, addr, strlen(addr));
	penalty_apply(t, &r, now);
}

static void
ok_at(struct penalty_table *t, const char *addr, time_t now)
{
	struct penalty_report r;

	memset(&r, 0, sizeof(r));
	r.ok = 1;
	assert_true(strlen(addr) < sizeof(r.addr));
	memcpy(r.addr, addr, strlen(addr));
	penalty_apply(t, &r, now);
}

static int
used_slots(const struct penalty_table *t)
{
	int i, n = 0;

	for (i = 0; i < PENALTY_SLOTS; i++)
		if (t->e[i].addr[0] != '\0')
			n++;
	return n;
}

static void
test_count_and_reset(void **state)
{
	struct penalty_table *t = new_table();
	const time_t t0 = 1700000000;

	(void)state;
	assert_int_equal(penalty_fails(t, "192.0.2.1", t0, 3600), 0);
	assert_int_equal(penalty_fails(NULL, "192.0.2.1", t0, 3600), 0);
	fail_at(t, "192.0.2.1", t0);
	assert_int_equal(penalty_fails(t, "192.0.2.1", t0, 3600), 1);
	fail_at(t, "192.0.2.1", t0 + 1);
	fail_at(t, "192.0.2.1", t0 + 2);
	assert_int_equal(penalty_fails(t, "192.0.2.1", t0 + 2, 3600), 3);
	/* one entry per address; others are not affected */
	assert_int_equal(used_slots(t), 1);
	assert_int_equal(penalty_fails(t, "192.0.2.10", t0 + 2, 3600), 0);
	assert_int_equal(penalty_fails(t, "192.0.2.", t0 + 2, 3600), 0);
	fail_at(t, "2001:db8::1", t0 + 2);
	assert_int_equal(penalty_fails(t, "2001:db8::1", t0 + 2, 3600), 1);
	assert_int_equal(penalty_fails(t, "192.0.2.1", t0 + 2, 3600), 3);
	/* a success clears the address, and only it */
	ok_at(t, "192.0.2.1", t0 + 3);
	assert_int_equal(penalty_fails(t, "192.0.2.1", t0 + 3, 3600), 0);
	assert_int_equal(penalty_fails(t, "2001:db8::1", t0 + 3, 3600), 1);
	assert_int_equal(used_slots(t), 1);
	/* counting starts over after it */
	fail_at(t, "192.0.2.1", t0 + 4);
	assert_int_equal(penalty_fails(t, "192.0.2.1", t0 + 4, 3600), 1);
	/* a success of an address never seen changes nothing */
	ok_at(t, "198.51.100.7", t0 + 5);
	assert_int_equal(used_slots(t), 2);
	/* an empty address is ignored */
	fail_at(t, "", t0 + 5);
	assert_int_equal(used_slots(t), 2);
	free(t);
}

/* ---- IPv6 grouped by network ---- */

static void
test_key_forms(void **state)
{
	static const struct {
		const char	*addr;
		unsigned	 prefix;
		const char	*want;
	} cases[] = {
		{ "2001:db8:1:2:aaaa:bbbb:cccc:dddd", 64, "2001:db8:1:2::/64" },
		{ "2001:db8:1:2:aaaa:bbbb:cccc:dddd", 0, "2001:db8:1:2::/64" },
		{ "2001:db8:1:2:aaaa:bbbb:cccc:dddd", 48, "2001:db8:1::/48" },
		{ "2001:db8:1:2:aaaa:bbbb:cccc:dddd", 60, "2001:db8:1::/60" },
		{ "2001:db8:1:12:aaaa::1", 60, "2001:db8:1:10::/60" },
		{ "2001:db8::1", 128, "2001:db8::1/128" },
		{ "2001:db8::1", 200, "2001:db8::/64" },
		{ "fe80::1:2%eth0", 64, "fe80::/64" },
		{ "::ffff:192.0.2.7", 64, "192.0.2.7" },
		{ "192.0.2.7", 64, "192.0.2.7" },
		{ "local", 64, "local" },
		{ "not:an:address", 64, "not:an:address" },
		{ "-", 64, "-" },
	};
	char out[PENALTY_ADDR_MAX];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(out, 'x', sizeof(out));
		penalty_key(cases[i].addr, cases[i].prefix, out);
		assert_string_equal(out, cases[i].want);
	}
}

/* A client rotating through its /64 is one key; the next /64 another. */
static void
test_ipv6_rotation_counts_once(void **state)
{
	struct penalty_table *t = new_table();
	const time_t t0 = 1700000000;

	(void)state;
	fail_at(t, "2001:db8:0:1::1", t0);
	fail_at(t, "2001:db8:0:1:ffff::2", t0 + 1);
	fail_at(t, "2001:db8:0:1:1234:5678:9abc:def0", t0 + 2);
	assert_int_equal(penalty_fails(t, "2001:db8:0:1::99", t0 + 2, 3600),
	    3);
	assert_int_equal(penalty_fails(t, "2001:db8:0:2::1", t0 + 2, 3600), 0);
	assert_int_equal(used_slots(t), 1);
	/* a success anywhere in it clears the network */
	ok_at(t, "2001:db8:0:1::77", t0 + 3);
	assert_int_equal(penalty_fails(t, "2001:db8:0:1::1", t0 + 3, 3600), 0);
	/* a narrower setting: /128 counts each address */
	t->v6prefix = 128;
	fail_at(t, "2001:db8:0:1::1", t0 + 4);
	assert_int_equal(penalty_fails(t, "2001:db8:0:1::2", t0 + 4, 3600), 0);
	assert_int_equal(penalty_fails(t, "2001:db8:0:1::1", t0 + 4, 3600), 1);
	free(t);
}

static void
test_forget_window(void **state)
{
	struct penalty_table *t = new_table();
	const time_t t0 = 1700000000;
	int i;

	(void)state;
	for (i = 0; i < 5; i++)
		fail_at(t, "203.0.113.9", t0 + i);
	/* within the window, counted from the last failure */
	assert_int_equal(penalty_fails(t, "203.0.113.9", t0 + 4 + 3600, 3600),
	    5);
	assert_int_equal(penalty_fails(t, "203.0.113.9", t0 + 4 + 3601, 3600),
	    0);
	assert_int_equal(penalty_fails(t, "203.0.113.9", t0 + 4 + 60, 60), 5);
	assert_int_equal(penalty_fails(t, "203.0.113.9", t0 + 4 + 61, 60), 0);
	/*
	 * After the window the old failures are forgotten: a failure two
	 * hours later is the first recent one again, so the next attempt
	 * sees 1 earlier failure (not 6).
	 */
	fail_at(t, "203.0.113.9", t0 + 7200);
	assert_int_equal(penalty_fails(t, "203.0.113.9", t0 + 7201, 3600), 1);
	free(t);
}

/* When every slot is taken, a new address replaces the one whose last
 * failure is the oldest. */
static void
test_full_table_replaces_oldest(void **state)
{
	struct penalty_table *t = new_table();
	const time_t t0 = 1700000000;
	char a[64];
	int i;

	(void)state;
	for (i = 0; i < PENALTY_SLOTS; i++) {
		snprintf(a, sizeof(a), "10.%d.%d.1", i / 256, i % 256);
		fail_at(t, a, t0 + 100);
	}
	assert_int_equal(used_slots(t), PENALTY_SLOTS);
	/* everyone but 10.4.210.1 (slot 1234) fails again later */
	for (i = 0; i < PENALTY_SLOTS; i++) {
		if (i == 1234)
			continue;
		snprintf(a, sizeof(a), "10.%d.%d.1", i / 256, i % 256);
		fail_at(t, a, t0 + 200);
	}
	fail_at(t, "172.16.0.1", t0 + 300);
	assert_int_equal(used_slots(t), PENALTY_SLOTS);
	assert_int_equal(penalty_fails(t, "172.16.0.1", t0 + 300, 3600), 1);
	assert_int_equal(penalty_fails(t, "10.4.210.1", t0 + 300, 3600), 0);
	for (i = 0; i < PENALTY_SLOTS; i++) {
		if (i == 1234)
			continue;
		snprintf(a, sizeof(a), "10.%d.%d.1", i / 256, i % 256);
		if (penalty_fails(t, a, t0 + 300, 3600) != 2)
			fail_msg("%s lost", a);
	}
	/* the next newcomer replaces the oldest left (t0 + 200: the first
	 * of those in the table), not the one just added */
	fail_at(t, "172.16.0.2", t0 + 301);
	assert_int_equal(penalty_fails(t, "172.16.0.1", t0 + 301, 3600), 1);
	assert_int_equal(penalty_fails(t, "172.16.0.2", t0 + 301, 3600), 1);
	assert_int_equal(penalty_fails(t, "10.0.0.1", t0 + 301, 3600), 0);
	assert_int_equal(penalty_fails(t, "10.0.1.1", t0 + 301, 3600), 2);
	/* a slot freed by a success is reused before anything is evicted */
	ok_at(t, "10.8.0.1", t0 + 302);
	assert_int_equal(used_slots(t), PENALTY_SLOTS - 1);
	fail_at(t, "172.16.0.3", t0 + 303);
	assert_int_equal(used_slots(t), PENALTY_SLOTS);
	assert_int_equal(penalty_fails(t, "10.0.2.1", t0 + 303, 3600), 2);
	assert_int_equal(penalty_fails(t, "172.16.0.3", t0 + 303, 3600), 1);
	free(t);
}

/* A report's address is used up to PENALTY_ADDR_MAX - 1 characters,
 * even without a NUL in it. */
static void
test_report_addr_unterminated(void **state)
{
	struct penalty_table *t = new_table();
	struct penalty_report r;
	char want[PENALTY_ADDR_MAX];

	(void)state;
	memset(&r, 'a', sizeof(r));
	r.ok = 0;
	penalty_apply(t, &r, 1000);
	assert_int_equal(used_slots(t), 1);
	memset(want, 'a', sizeof(want) - 1);
	want[sizeof(want) - 1] = '\0';
	assert_int_equal(penalty_fails(t, want, 1000, 60), 1);
	free(t);
}

/* The master's shared table, mapped read-only by privpop-auth. */
static void
test_shared_mapping(void **state)
{
	struct penalty_table *t = NULL;
	const struct penalty_table *ro;
	int fd;

	(void)state;
	fd = penalty_create(&t);
	assert_true(fd >= 0);
	assert_non_null(t);
	ro = penalty_map(fd);
	assert_non_null(ro);
	fail_at(t, "192.0.2.55", 5000);
	fail_at(t, "192.0.2.55", 5001);
	assert_int_equal(penalty_fails(ro, "192.0.2.55", 5002, 3600), 2);
	ok_at(t, "192.0.2.55", 5003);
	assert_int_equal(penalty_fails(ro, "192.0.2.55", 5003, 3600), 0);
	munmap((void *)(uintptr_t)ro, sizeof(*ro));
	munmap(t, sizeof(*t));
	close(fd);
	assert_null(penalty_map(-1));
}

/* A forked child (a session slot) does not inherit the master's
 * writable mapping: mincore() finds nothing mapped there. */
static void
test_not_inherited(void **state)
{
	struct penalty_table *t = NULL;
	unsigned char vec[(sizeof(*t) + 4095) / 4096];
	int fd, status;
	pid_t pid;

	(void)state;
	fd = penalty_create(&t);
	assert_true(fd >= 0);
	assert_int_equal(mincore(t, sizeof(*t), vec), 0);
	if ((pid = fork()) == 0)
		_exit(mincore(t, sizeof(*t), vec) == -1 && errno == ENOMEM ?
		    0 : 1);
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	munmap(t, sizeof(*t));
	close(fd);
}

/* ---- exempt ranges ---- */

static void
test_exempt(void **state)
{
	static const struct {
		const char	*addr, *list;
		int		 want;
	} cases[] = {
		{ "127.0.0.1", "127.0.0.0/8", 1 },
		{ "127.255.255.254", "127.0.0.0/8", 1 },
		{ "128.0.0.1", "127.0.0.0/8", 0 },
		{ "126.255.255.255", "127.0.0.0/8", 0 },
		{ "10.1.2.3", "10.1.2.3", 1 },		/* bare address */
		{ "10.1.2.4", "10.1.2.3", 0 },
		{ "10.1.2.3", "10.1.2.3/32", 1 },
		{ "10.1.2.4", "10.1.2.3/32", 0 },
		{ "10.1.2.4", "10.1.2.3/31", 0 },
		{ "10.1.2.2", "10.1.2.3/31", 1 },
		{ "192.168.1.130", "192.168.1.128/25", 1 },
		{ "192.168.1.127", "192.168.1.128/25", 0 },
		{ "172.31.255.255", "172.16.0.0/12", 1 },
		{ "172.32.0.0", "172.16.0.0/12", 0 },
		{ "8.8.8.8", "0.0.0.0/0", 1 },
		{ "::1", "0.0.0.0/0", 0 },		/* other family */
		{ "::1", "::1", 1 },
		{ "::1", "::1/128", 1 },
		{ "::2", "::1/128", 0 },
		{ "::2", "::1", 0 },
		{ "2001:db8::5", "2001:db8::/32", 1 },
		{ "2001:db8:ffff:1::5", "2001:db8::/32", 1 },
		{ "2001:db9::1", "2001:db8::/32", 0 },
		{ "fe80::1", "fe80::/10", 1 },
		{ "febf::1", "fe80::/10", 1 },
		{ "fec0::1", "fe80::/10", 0 },
		{ "2001:db8::1", "::/0", 1 },
		{ "127.0.0.1", "::/0", 0 },
		{ "2001:db8::1", "127.0.0.0/8", 0 },
		/* lists: spaces, commas, tabs; any entry matches */
		{ "192.168.5.5", "10.0.0.0/8, 192.168.0.0/16\t::1", 1 },
		{ "::1", "10.0.0.0/8, 192.168.0.0/16\t::1", 1 },
		{ "10.9.9.9", "10.0.0.0/8,,192.168.0.0/16", 1 },
		{ "11.0.0.1", "10.0.0.0/8, 192.168.0.0/16\t::1", 0 },
		{ "10.0.0.1", "  ,  10.0.0.0/8  ,  ", 1 },
		/* an empty list exempts nobody */
		{ "127.0.0.1", "", 0 },
		{ "127.0.0.1", "   ", 0 },
		/* malformed entries match nothing (the rest still counts) */
		{ "127.0.0.1", "127.0.0.0/33", 0 },
		{ "127.0.0.1", "127.0.0.0/", 0 },
		{ "127.0.0.1", "127.0.0.0/8x", 0 },
		{ "127.0.0.1", "localhost", 0 },
		{ "127.0.0.1", "/8", 0 },
		{ "127.0.0.1", "bogus 127.0.0.0/8", 1 },
		/* addresses that are not addresses */
		{ "-", "0.0.0.0/0", 0 },
		{ "", "0.0.0.0/0", 0 },
		{ "127.0.0.1x", "127.0.0.0/8", 0 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int r = addrlist_match(cases[i].addr, cases[i].list);

		if (r != cases[i].want)
			fail_msg("exempt(\"%s\", \"%s\") = %d, want %d",
			    cases[i].addr, cases[i].list, r, cases[i].want);
	}
}

static void
test_list_valid(void **state)
{
	static const struct {
		const char	*list;
		int		 want;
	} cases[] = {
		{ "", 1 },
		{ "  ", 1 },
		{ "127.0.0.0/8", 1 },
		{ "127.0.0.1", 1 },
		{ "::1", 1 },
		{ "::1/128", 1 },
		{ "::/0", 1 },
		{ "0.0.0.0/0", 1 },
		{ "10.0.0.0/8, 192.168.0.0/16\t2001:db8::/32", 1 },
		{ "10.0.0.0/8,,::1", 1 },
		{ "127.0.0.0/33", 0 },
		{ "::/129", 0 },
		{ "127.0.0.0/", 0 },
		{ "127.0.0.0/8x", 0 },
		{ "127.0.0.0/-1", 0 },
		{ "127.0.0.0/+8", 0 },
		{ "127.0.0.0/08x", 0 },
		{ "127.0.0.0//8", 0 },
		{ "127.0.0.0/8/8", 0 },
		{ "localhost", 0 },
		{ "1.2.3", 0 },
		{ "256.0.0.1", 0 },
		{ "1.2.3.4.5", 0 },
		{ "/8", 0 },
		{ "::1::2", 0 },
		{ "10.0.0.0/8 bogus", 0 },
		{ "bogus 10.0.0.0/8", 0 },
		{ "10.0.0.0/8;192.168.0.0/16", 0 },
		{ "1111:2222:3333:4444:5555:6666:7777:8888:9999:aaaa:bbbb/64",
		    0 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int r = addrlist_valid(cases[i].list);

		if (r != cases[i].want)
			fail_msg("valid(\"%s\") = %d, want %d",
			    cases[i].list, r, cases[i].want);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_delay_curve),
		cmocka_unit_test(test_count_and_reset),
		cmocka_unit_test(test_key_forms),
		cmocka_unit_test(test_ipv6_rotation_counts_once),
		cmocka_unit_test(test_forget_window),
		cmocka_unit_test(test_full_table_replaces_oldest),
		cmocka_unit_test(test_report_addr_unterminated),
		cmocka_unit_test(test_shared_mapping),
		cmocka_unit_test(test_not_inherited),
		cmocka_unit_test(test_exempt),
		cmocka_unit_test(test_list_valid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
