/*
 * The strict UTF-8 check (common/utf8.c) that the session child runs
 * on RFC 6856 user names and catalogs and privpop-auth on every name,
 * and the user-name rule of privpop-auth (pwf_valid_user) built on it:
 * every malformed form refused, every valid one accepted.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "limits.h"
#include "passwd_file.h"
#include "utf8.h"

struct u8_case {
	const char	*in;
	int		 len;	/* -1: strlen */
	int		 valid;	/* utf8_valid(..., 0) */
	int		 user;	/* pwf_valid_user */
};

static const struct u8_case cases[] = {
	{ "alice", -1, 1, 1 },
	{ "", -1, 1, 0 },			/* empty: text yes, name no */
	{ "j\xc3\xb6rg@example.org", -1, 1, 1 },	/* U+00F6 */
	{ "\xe2\x82\xac", -1, 1, 1 },		/* U+20AC, 3 bytes */
	{ "\xf0\x9f\x98\x80", -1, 1, 1 },	/* U+1F600, 4 bytes */
	{ "\xf4\x8f\xbf\xbd", -1, 1, 1 },	/* U+10FFFD, the last */
	{ "\xc2\xa0", -1, 1, 1 },		/* U+00A0 NBSP (SASLprep maps) */
	{ "\xef\xbf\xbd", -1, 1, 1 },		/* U+FFFD */
	{ "a b", -1, 1, 0 },			/* space: not in a name */
	{ "a:b", -1, 1, 0 },
	{ "a/b", -1, 1, 0 },
	{ "\xc3\xb6/", -1, 1, 0 },		/* '/' with UTF-8 */
	/* invalid sequences */
	{ "\x80", -1, 0, 0 },			/* lone continuation */
	{ "a\xbf", -1, 0, 0 },
	{ "\xc3", -1, 0, 0 },			/* truncated */
	{ "\xe2\x82", -1, 0, 0 },
	{ "\xf0\x9f\x98", -1, 0, 0 },
	{ "\xc3(", -1, 0, 0 },			/* bad continuation */
	{ "\xe2(\xac", -1, 0, 0 },
	{ "\xf0\x9f(\x80", -1, 0, 0 },
	{ "\xfe", -1, 0, 0 },
	{ "\xff", -1, 0, 0 },
	{ "\xf8\x88\x80\x80\x80", -1, 0, 0 },	/* 5-byte form */
	/* overlong */
	{ "\xc0\xaf", -1, 0, 0 },		/* '/' in 2 bytes */
	{ "\xc1\xbf", -1, 0, 0 },
	{ "\xe0\x80\xaf", -1, 0, 0 },
	{ "\xe0\x9f\xbf", -1, 0, 0 },		/* U+07FF in 3 bytes */
	{ "\xf0\x80\x80\xaf", -1, 0, 0 },
	{ "\xf0\x8f\xbf\xbf", -1, 0, 0 },	/* U+FFFF in 4 bytes */
	{ "\xc0\x80", -1, 0, 0 },		/* modified UTF-8 NUL */
	/* surrogates, above U+10FFFF */
	{ "\xed\xa0\x80", -1, 0, 0 },		/* U+D800 */
	{ "\xed\xbf\xbf", -1, 0, 0 },		/* U+DFFF */
	{ "\xed\x9f\xbf", -1, 1, 1 },		/* U+D7FF: fine */
	{ "\xf4\x90\x80\x80", -1, 0, 0 },	/* U+110000 */
	{ "\xf5\x80\x80\x80", -1, 0, 0 },
	/* controls: C0, DEL, C1 */
	{ "a\tb", -1, 0, 0 },
	{ "a\x7f", -1, 0, 0 },
	{ "a\x1b", -1, 0, 0 },
	{ "\xc2\x80", -1, 0, 0 },		/* U+0080 */
	{ "\xc2\x85", -1, 0, 0 },		/* U+0085 NEL */
	{ "\xc2\x9f", -1, 0, 0 },
	{ "a\0b", 3, 0, 0 },			/* NUL */
	/* noncharacters */
	{ "\xef\xbf\xbe", -1, 0, 0 },		/* U+FFFE */
	{ "\xef\xbf\xbf", -1, 0, 0 },		/* U+FFFF */
	{ "\xef\xb7\x90", -1, 0, 0 },		/* U+FDD0 */
	{ "\xef\xb7\xaf", -1, 0, 0 },		/* U+FDEF */
	{ "\xf0\x9f\xbf\xbe", -1, 0, 0 },	/* U+1FFFE */
	{ "\xf4\x8f\xbf\xbf", -1, 0, 0 },	/* U+10FFFF */
};

static void
test_cases(void **state)
{
	size_t i, len;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		len = cases[i].len < 0 ? strlen(cases[i].in) :
		    (size_t)cases[i].len;
		if (utf8_valid(cases[i].in, len, 0) != cases[i].valid)
			fail_msg("utf8_valid case %zu", i);
		if (pwf_valid_user(cases[i].in, len) != cases[i].user)
			fail_msg("pwf_valid_user case %zu", i);
	}
}

static void
test_no_space(void **state)
{
	(void)state;
	assert_int_equal(utf8_valid("a b", 3, 0), 1);
	assert_int_equal(utf8_valid("a b", 3, UTF8_NO_SPACE), 0);
	assert_int_equal(utf8_valid("\xc3\xb6", 2, UTF8_NO_SPACE), 1);
}

static void
test_ascii(void **state)
{
	(void)state;
	assert_int_equal(utf8_is_ascii("abc\x7f", 4), 1);
	assert_int_equal(utf8_is_ascii("ab\x80", 3), 0);
	assert_int_equal(utf8_is_ascii("", 0), 1);
}

/* Every 2-byte lead with every continuation, against the arithmetic. */
static void
test_exhaustive_two(void **state)
{
	unsigned a, b;
	char s[2];

	(void)state;
	for (a = 0x80; a < 0x100; a++)
		for (b = 0; b < 0x100; b++) {
			int want = a >= 0xc2 && a <= 0xdf && (b & 0xc0) == 0x80 &&
			    (((a & 0x1f) << 6) | (b & 0x3f)) > 0x9f;

			s[0] = (char)a;
			s[1] = (char)b;
			if (utf8_valid(s, 2, 0) != want)
				fail_msg("%02x %02x", a, b);
		}
}

/* pwf_valid_user's length bound counts bytes, UTF-8 or not. */
static void
test_user_length(void **state)
{
	char name[POP3_MAX_USER + 3];
	size_t i;

	(void)state;
	for (i = 0; i + 1 < sizeof(name); i += 2) {
		name[i] = '\xc3';
		name[i + 1] = '\xb6';
	}
	assert_int_equal(pwf_valid_user(name, POP3_MAX_USER), 1);
	assert_int_equal(pwf_valid_user(name, POP3_MAX_USER + 2), 0);
	assert_int_equal(pwf_valid_user(name, POP3_MAX_USER - 1), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases),
		cmocka_unit_test(test_no_space),
		cmocka_unit_test(test_ascii),
		cmocka_unit_test(test_exhaustive_two),
		cmocka_unit_test(test_user_length),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
