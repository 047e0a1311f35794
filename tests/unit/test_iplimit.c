/*
 * Unit tests for daemon/master/iplimit.c: the master's count of connections
 * per address (limits before login and in all, logins, releases, the
 * once-per-interval refusal log), IPv6 networks as one key, and the
 * hash table against a plain model under many keys.
 */
#include "config.h"

#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "iplimit.h"
#include "penalty.h"

static void
test_limits(void **state)
{
	struct iplimit t;
	unsigned n;

	(void)state;
	memset(&t, 0, sizeof(t));
	/* 2 before login, 3 in all */
	assert_int_equal(iplimit_admit(&t, "192.0.2.1", 2, 3), 0);
	assert_int_equal(iplimit_admit(&t, "192.0.2.1", 2, 3), 0);
	assert_int_equal(iplimit_admit(&t, "192.0.2.1", 2, 3), -1);
	assert_int_equal(iplimit_preauth(&t, "192.0.2.1"), 2);
	/* another address is not affected */
	assert_int_equal(iplimit_admit(&t, "192.0.2.2", 2, 3), 0);
	/* a login makes room before login, not in all */
	iplimit_login(&t, "192.0.2.1");
	assert_int_equal(iplimit_preauth(&t, "192.0.2.1"), 1);
	assert_int_equal(iplimit_admit(&t, "192.0.2.1", 2, 3), 0);
	assert_int_equal(iplimit_admit(&t, "192.0.2.1", 5, 3), -1);
	/* the logged-in one ends; then one not logged in */
	iplimit_release(&t, "192.0.2.1", 0);
	assert_int_equal(iplimit_preauth(&t, "192.0.2.1"), 2);
	iplimit_release(&t, "192.0.2.1", 1);
	iplimit_release(&t, "192.0.2.1", 1);
	assert_int_equal(iplimit_preauth(&t, "192.0.2.1"), 0);
	/* releases of unknown keys and extra logins change nothing */
	iplimit_release(&t, "198.51.100.1", 1);
	iplimit_login(&t, "198.51.100.1");
	iplimit_login(&t, "192.0.2.2");
	iplimit_login(&t, "192.0.2.2");
	assert_int_equal(iplimit_preauth(&t, "192.0.2.2"), 0);
	/* exempt: limits of UINT_MAX */
	for (n = 0; n < 1000; n++)
		assert_int_equal(iplimit_admit(&t, "203.0.113.9", UINT_MAX,
		    UINT_MAX), 0);
	assert_int_equal(iplimit_preauth(&t, "203.0.113.9"), 1000);
	iplimit_free(&t);
}

static void
test_log_interval(void **state)
{
	struct iplimit t;
	unsigned refused = 99;
	int i;

	(void)state;
	memset(&t, 0, sizeof(t));
	assert_int_equal(iplimit_admit(&t, "192.0.2.1", 1, 1), 0);
	for (i = 0; i < 5; i++)
		assert_int_equal(iplimit_admit(&t, "192.0.2.1", 1, 1), -1);
	/* the first line is due at once, with every refusal so far */
	assert_int_equal(iplimit_log_due(&t, "192.0.2.1", 1000, 60,
	    &refused), 1);
	assert_int_equal(refused, 5);
	assert_int_equal(iplimit_admit(&t, "192.0.2.1", 1, 1), -1);
	assert_int_equal(iplimit_log_due(&t, "192.0.2.1", 1059, 60,
	    &refused), 0);
	/* the address's last connection ends: the interval still holds */
	iplimit_release(&t, "192.0.2.1", 1);
	assert_int_equal(iplimit_admit(&t, "192.0.2.1", 1, 1), 0);
	assert_int_equal(iplimit_admit(&t, "192.0.2.1", 1, 1), -1);
	assert_int_equal(iplimit_log_due(&t, "192.0.2.1", 1030, 60,
	    &refused), 0);
	assert_int_equal(iplimit_log_due(&t, "192.0.2.1", 1060, 60,
	    &refused), 1);
	assert_int_equal(refused, 2);
	/* an address never refused or unknown: nothing to say before */
	assert_int_equal(iplimit_log_due(&t, "192.0.2.7", 1060, 60,
	    &refused), 0);
	iplimit_free(&t);
}

/* One client with a /64 counts once, as the penalties do. */
static void
test_ipv6_networks(void **state)
{
	struct iplimit t;
	char k1[PENALTY_ADDR_MAX], k2[PENALTY_ADDR_MAX], k3[PENALTY_ADDR_MAX];

	(void)state;
	memset(&t, 0, sizeof(t));
	penalty_key("2001:db8:1:2::a", 64, k1);
	penalty_key("2001:db8:1:2:ffff::b", 64, k2);
	penalty_key("2001:db8:1:3::a", 64, k3);
	assert_string_equal(k1, k2);
	assert_int_equal(iplimit_admit(&t, k1, 1, 10), 0);
	assert_int_equal(iplimit_admit(&t, k2, 1, 10), -1);
	assert_int_equal(iplimit_admit(&t, k3, 1, 10), 0);
	penalty_key("2001:db8:1:3::a", 48, k3);
	assert_string_equal(k3, "2001:db8:1::/48");
	iplimit_free(&t);
}

/* Many keys, added and removed in a scrambled order, against an
 * array: the probing, the removal that shifts entries back, growth. */
#define MODEL_KEYS	3000

static void
test_against_model(void **state)
{
	static unsigned model[MODEL_KEYS];
	struct iplimit t;
	char key[PENALTY_ADDR_MAX];
	unsigned seed = 12345, i, k, round;

	(void)state;
	memset(&t, 0, sizeof(t));
	assert_int_equal(iplimit_reserve(&t, 100), 0);
	for (round = 0; round < 200000; round++) {
		seed = seed * 1103515245u + 12345u;
		k = (seed >> 8) % MODEL_KEYS;
		snprintf(key, sizeof(key), "10.%u.%u.%u", k >> 16,
		    (k >> 8) & 0xff, k & 0xff);
		if ((seed >> 4) & 1) {
			if (iplimit_admit(&t, key, 4, 4) == 0)
				model[k]++;
			else
				assert_int_equal(model[k], 4);
		} else if (model[k] > 0) {
			iplimit_release(&t, key, 1);
			model[k]--;
		}
	}
	for (i = 0; i < MODEL_KEYS; i++) {
		snprintf(key, sizeof(key), "10.%u.%u.%u", i >> 16,
		    (i >> 8) & 0xff, i & 0xff);
		if (iplimit_preauth(&t, key) != model[i])
			fail_msg("%s: %u, model %u", key,
			    iplimit_preauth(&t, key), model[i]);
		while (model[i] > 0) {
			iplimit_release(&t, key, 1);
			model[i]--;
		}
	}
	assert_int_equal(t.used, 0);
	assert_true(t.cap >= MODEL_KEYS);	/* it grew */
	iplimit_free(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_log_interval),
		cmocka_unit_test(test_ipv6_networks),
		cmocka_unit_test(test_against_model),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
