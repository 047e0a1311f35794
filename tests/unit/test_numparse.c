/*
 * Unit tests for common/numparse.c: parse_uint.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "numparse.h"

#define ANY	0, UINT64_MAX

struct uint_case {
	const char	*in;
	size_t		 len;	/* 0: strlen(in) unless explicit_len */
	int		 explicit_len;
	uint64_t	 min, max;
	int		 want;	/* 0 or -1 */
	uint64_t	 value;
};

static const struct uint_case cases[] = {
	/* empty and non-digit forms */
	{ "", 0, 1, ANY, -1, 0 },
	{ "x", 0, 0, ANY, -1, 0 },
	{ "+1", 0, 0, ANY, -1, 0 },
	{ "-1", 0, 0, ANY, -1, 0 },
	{ "-0", 0, 0, ANY, -1, 0 },
	{ " 1", 0, 0, ANY, -1, 0 },
	{ "1 ", 0, 0, ANY, -1, 0 },
	{ "1 2", 0, 0, ANY, -1, 0 },
	{ "\t1", 0, 0, ANY, -1, 0 },
	{ "1\n", 0, 0, ANY, -1, 0 },
	{ "0x10", 0, 0, ANY, -1, 0 },
	{ "0X10", 0, 0, ANY, -1, 0 },
	{ "1e3", 0, 0, ANY, -1, 0 },
	{ "1.0", 0, 0, ANY, -1, 0 },
	{ "12a", 0, 0, ANY, -1, 0 },
	{ "a12", 0, 0, ANY, -1, 0 },
	{ "\xd9\xa1", 0, 0, ANY, -1, 0 },	/* Arabic-Indic one */
	{ "/", 0, 0, ANY, -1, 0 },		/* '0' - 1 */
	{ ":", 0, 0, ANY, -1, 0 },		/* '9' + 1 */

	/* plain values */
	{ "0", 0, 0, ANY, 0, 0 },
	{ "1", 0, 0, ANY, 0, 1 },
	{ "9", 0, 0, ANY, 0, 9 },
	{ "10", 0, 0, ANY, 0, 10 },
	{ "4294967295", 0, 0, ANY, 0, 4294967295ULL },
	{ "4294967296", 0, 0, ANY, 0, 4294967296ULL },

	/* leading zeros are digits like any other */
	{ "007", 0, 0, ANY, 0, 7 },
	{ "00", 0, 0, ANY, 0, 0 },
	{ "00000000000000000001", 0, 0, ANY, 0, 1 },	/* 20 digits */
	{ "000000000000000000001", 0, 0, ANY, -1, 0 },	/* 21 digits */

	/* the 64-bit edge */
	{ "18446744073709551615", 0, 0, ANY, 0, UINT64_MAX },
	{ "18446744073709551616", 0, 0, ANY, -1, 0 },	/* 2^64 */
	{ "18446744073709551619", 0, 0, ANY, -1, 0 },
	{ "18446744073709551620", 0, 0, ANY, -1, 0 },
	{ "18446744073709551700", 0, 0, ANY, -1, 0 },
	{ "19999999999999999999", 0, 0, ANY, -1, 0 },
	{ "99999999999999999999", 0, 0, ANY, -1, 0 },
	{ "184467440737095516150", 0, 0, ANY, -1, 0 },	/* 21 digits */
	{ "1844674407370955161", 0, 0, ANY, 0, 1844674407370955161ULL },
	{ "99999999999999999999999999999999", 0, 0, ANY, -1, 0 },

	/* bounds are inclusive */
	{ "5", 0, 0, 5, 5, 0, 5 },
	{ "4", 0, 0, 5, 10, -1, 0 },
	{ "5", 0, 0, 5, 10, 0, 5 },
	{ "10", 0, 0, 5, 10, 0, 10 },
	{ "11", 0, 0, 5, 10, -1, 0 },
	{ "0", 0, 0, 1, 10, -1, 0 },
	{ "1", 0, 0, 1, UINT32_MAX, 0, 1 },
	{ "4294967295", 0, 0, 1, UINT32_MAX, 0, UINT32_MAX },
	{ "4294967296", 0, 0, 1, UINT32_MAX, -1, 0 },
	{ "65535", 0, 0, 1, 65535, 0, 65535 },
	{ "65536", 0, 0, 1, 65535, -1, 0 },
	{ "18446744073709551615", 0, 0, UINT64_MAX, UINT64_MAX, 0,
	    UINT64_MAX },
	{ "18446744073709551614", 0, 0, UINT64_MAX, UINT64_MAX, -1, 0 },
	{ "1", 0, 0, 2, 1, -1, 0 },	/* empty range */

	/* only len bytes are looked at */
	{ "123456", 3, 1, ANY, 0, 123 },
	{ "12x", 2, 1, ANY, 0, 12 },
	{ "1 ", 1, 1, ANY, 0, 1 },
	{ "9", 0, 1, ANY, -1, 0 },	/* len 0 */
};

static void
test_parse_uint_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct uint_case *t = &cases[i];
		size_t len = t->explicit_len ? t->len : strlen(t->in);
		uint64_t v = 0xdeadbeefULL;
		int r = parse_uint(t->in, len, t->min, t->max, &v);

		if (r != t->want)
			fail_msg("case %zu \"%s\" len %zu: got %d want %d", i,
			    t->in, len, r, t->want);
		if (r == 0 && v != t->value)
			fail_msg("case %zu \"%s\": value %llu want %llu", i,
			    t->in, (unsigned long long)v,
			    (unsigned long long)t->value);
		if (r == -1 && v != 0xdeadbeefULL)
			fail_msg("case %zu \"%s\": *v_r written on failure",
			    i, t->in);
	}
}

/* Inner NUL bytes inside len are not digits. */
static void
test_parse_uint_inner_nul(void **state)
{
	static const char s[] = { '1', '\0', '2' };
	uint64_t v;

	(void)state;
	assert_int_equal(parse_uint(s, sizeof(s), ANY, &v), -1);
	assert_int_equal(parse_uint(s, 1, ANY, &v), 0);
	assert_int_equal(v, 1);
}

/* Every number 0..99999 round-trips through its decimal form. */
static void
test_parse_uint_roundtrip(void **state)
{
	char s[32];
	uint64_t i, v;

	(void)state;
	for (i = 0; i < 100000; i += 7) {
		int n = snprintf(s, sizeof(s), "%llu", (unsigned long long)i);

		assert_int_equal(parse_uint(s, (size_t)n, ANY, &v), 0);
		assert_int_equal(v, i);
	}
	/* powers of ten up to 10^19, each bound exactly */
	for (i = 1, v = 0; i <= 10000000000000000000ULL; i *= 10) {
		uint64_t got;
		int n = snprintf(s, sizeof(s), "%llu", (unsigned long long)i);

		assert_int_equal(parse_uint(s, (size_t)n, i, i, &got), 0);
		assert_int_equal(got, i);
		assert_int_equal(parse_uint(s, (size_t)n, i + 1, UINT64_MAX,
		    &got), -1);
		assert_int_equal(parse_uint(s, (size_t)n, 0, i - 1, &got), -1);
		if (i == 10000000000000000000ULL)
			break;
		v++;
	}
	assert_int_equal(v, 19);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_uint_table),
		cmocka_unit_test(test_parse_uint_inner_nul),
		cmocka_unit_test(test_parse_uint_roundtrip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
