/*
 * Unit tests for common/metrics_text.c: the stats text of the master
 * in the Prometheus text format, and every malformed line refused.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "metrics_text.h"

#define S(x)	x, sizeof(x) - 1

static void
test_format(void **state)
{
	static const char want[] =
	    "# HELP privpop_logins_total Logins, as privpop-auth reported "
	    "them to the master.\n"
	    "# TYPE privpop_logins_total counter\n"
	    "privpop_logins_total 3\n"
	    "# HELP privpop_slots_busy Session processes serving a "
	    "connection.\n"
	    "# TYPE privpop_slots_busy gauge\n"
	    "privpop_slots_busy 0\n"
	    "# TYPE privpop_new_thing untyped\n"
	    "privpop_new_thing 18446744073709551\n";
	struct buf b;

	(void)state;
	assert_int_equal(buf_init(&b, 0, 4096), 0);
	assert_int_equal(metrics_text_prometheus(S("logins_total\t3\n"
	    "slots_busy\t0\nnew_thing\t18446744073709551\n"), &b), 0);
	assert_int_equal(buf_used(&b), sizeof(want) - 1);
	assert_memory_equal(buf_ptr(&b), want, sizeof(want) - 1);
	buf_free(&b);
	/* nothing in, nothing out */
	assert_int_equal(buf_init(&b, 0, 4096), 0);
	assert_int_equal(metrics_text_prometheus("", 0, &b), 0);
	assert_int_equal(buf_used(&b), 0);
	buf_free(&b);
}

static void
test_refused(void **state)
{
	static const struct {
		const char	*in;
		size_t		 len;
	} bad[] = {
		{ S("logins_total\t3") },		/* no newline */
		{ S("logins_total 3\n") },		/* no tab */
		{ S("\t3\n") },
		{ S("logins_total\t\n") },
		{ S("logins_total\t-3\n") },
		{ S("logins_total\t3.5\n") },
		{ S("logins_total\t3\t4\n") },
		{ S("logins_total\t9223372036854775808\n") },	/* > INT64 */
		{ S("Logins\t3\n") },
		{ S("logins-total\t3\n") },
		{ S("logins total\t3\n") },
		{ S("a{b=\"c\"}\t3\n") },
		{ S("x\n") },
		{ S("\n") },
		{ S("logins_total\t3\n\n") },
		{ S("logins\0total\t3\n") },
		{ S("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		    "aaaa\t1\n") },				/* 65 */
	};
	struct buf b;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(buf_init(&b, 0, 4096), 0);
		if (metrics_text_prometheus(bad[i].in, bad[i].len, &b) != -1)
			fail_msg("case %zu accepted", i);
		buf_free(&b);
	}
	/* a full buffer */
	assert_int_equal(buf_init(&b, 0, 64), 0);
	assert_int_equal(metrics_text_prometheus(S("logins_total\t3\n"), &b),
	    -1);
	buf_free(&b);
}

static void
test_names(void **state)
{
	(void)state;
	assert_true(metrics_name_ok(S("logins_total")));
	assert_true(metrics_name_ok(S("a0_")));
	assert_false(metrics_name_ok(S("")));
	assert_false(metrics_name_ok(S("A")));
	assert_false(metrics_name_ok(S("a:b")));
	assert_true(metrics_value_ok(S("0")));
	assert_true(metrics_value_ok(S("9223372036854775807")));
	assert_false(metrics_value_ok(S("9223372036854775808")));
	assert_false(metrics_value_ok(S("")));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
