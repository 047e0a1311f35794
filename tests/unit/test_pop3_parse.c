/*
 * Unit tests for daemon/session/pop3_parse.c: command line splitting.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "pop3_parse.h"

/* Lines may hold NUL bytes, so every row carries its length; -1 means
 * strlen. */
struct line_case {
	const char	*in;
	int		 len;
	enum pop3_parse	 want;
	const char	*verb;	/* when P_OK */
	const char	*rest;	/* when P_OK */
};

static const struct line_case line_cases[] = {
	/* empty and NUL */
	{ "", -1, P_EMPTY, NULL, NULL },
	{ "\0", 1, P_NUL, NULL, NULL },
	{ "USER\0x", 6, P_NUL, NULL, NULL },
	{ "USER x\0", 7, P_NUL, NULL, NULL },
	{ "\0USER", 5, P_NUL, NULL, NULL },

	/* verbs of 3 and 4 letters, any case */
	{ "TOP", -1, P_OK, "TOP", "" },
	{ "top 1 2", -1, P_OK, "TOP", "1 2" },
	{ "QUIT", -1, P_OK, "QUIT", "" },
	{ "quit", -1, P_OK, "QUIT", "" },
	{ "QuIt", -1, P_OK, "QUIT", "" },
	{ "qUiT", -1, P_OK, "QUIT", "" },
	{ "user alice", -1, P_OK, "USER", "alice" },
	{ "USER alice@example.org", -1, P_OK, "USER", "alice@example.org" },
	{ "PASS  two  spaces ", -1, P_OK, "PASS", " two  spaces " },
	{ "STAT ", -1, P_OK, "STAT", "" },
	{ "NOOP   ", -1, P_OK, "NOOP", "  " },
	{ "ZZZZ", -1, P_OK, "ZZZZ", "" },	/* unknown verbs parse */
	{ "aaa", -1, P_OK, "AAA", "" },
	{ "zzz", -1, P_OK, "ZZZ", "" },

	/* not 3-4 letters */
	{ "A", -1, P_BADVERB, NULL, NULL },
	{ "NO", -1, P_BADVERB, NULL, NULL },
	{ "NO OP", -1, P_BADVERB, NULL, NULL },
	{ "CAPAX", -1, P_BADVERB, NULL, NULL },	/* 5 letters */
	{ "STARTTLS", -1, P_BADVERB, NULL, NULL },
	{ "QUITT x", -1, P_BADVERB, NULL, NULL },
	{ " USER x", -1, P_BADVERB, NULL, NULL },	/* leading space */
	{ " ", -1, P_BADVERB, NULL, NULL },
	{ "   ", -1, P_BADVERB, NULL, NULL },
	/* digits after a letter (RFC 6856's UTF8), never first */
	{ "UTF8", -1, P_OK, "UTF8", "" },
	{ "utf8", -1, P_OK, "UTF8", "" },
	{ "US1R", -1, P_OK, "US1R", "" },	/* parses; unknown */
	{ "TOP1", -1, P_OK, "TOP1", "" },
	{ "A12", -1, P_OK, "A12", "" },
	{ "123", -1, P_BADVERB, NULL, NULL },
	{ "1TOP", -1, P_BADVERB, NULL, NULL },
	{ "9UTF", -1, P_BADVERB, NULL, NULL },
	{ "US-R", -1, P_BADVERB, NULL, NULL },
	{ "US_R", -1, P_BADVERB, NULL, NULL },
	{ "US@R", -1, P_BADVERB, NULL, NULL },	/* '@' = 'A' - 1 */
	{ "US[R", -1, P_BADVERB, NULL, NULL },	/* '[' = 'Z' + 1 */
	{ "US`R", -1, P_BADVERB, NULL, NULL },	/* '`' = 'a' - 1 */
	{ "US{R", -1, P_BADVERB, NULL, NULL },	/* '{' = 'z' + 1 */
	{ "USER\tx", -1, P_BADVERB, NULL, NULL },	/* tab is no separator */
	{ "USER\rx", -1, P_BADVERB, NULL, NULL },
	{ "QUIT\r", -1, P_BADVERB, NULL, NULL },
	{ "\xc3\x9cSER", -1, P_BADVERB, NULL, NULL },	/* non-ASCII */
	{ "US\xc5\xbf", -1, P_BADVERB, NULL, NULL },
	{ "\xff\xff\xff", -1, P_BADVERB, NULL, NULL },
};

static void
test_parse_line_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(line_cases) / sizeof(line_cases[0]); i++) {
		const struct line_case *t = &line_cases[i];
		size_t len = t->len < 0 ? strlen(t->in) : (size_t)t->len;
		struct pop3_cmd c;
		enum pop3_parse r;

		memset(&c, 0x5a, sizeof(c));
		r = pop3_parse_line(t->in, len, &c);
		if (r != t->want)
			fail_msg("case %zu \"%s\": got %d want %d", i, t->in,
			    (int)r, (int)t->want);
		if (r != P_OK)
			continue;
		if (strcmp(c.verb, t->verb) != 0)
			fail_msg("case %zu \"%s\": verb \"%s\" want \"%s\"", i,
			    t->in, c.verb, t->verb);
		if (c.restlen != strlen(t->rest) ||
		    memcmp(c.rest, t->rest, c.restlen) != 0)
			fail_msg("case %zu \"%s\": rest \"%.*s\" want \"%s\"",
			    i, t->in, (int)c.restlen, c.rest, t->rest);
		/* rest points into the line, not a copy */
		if (c.rest < t->in || c.rest > t->in + len)
			fail_msg("case %zu: rest outside the line", i);
		if (c.nargs != 0)
			fail_msg("case %zu: nargs not cleared", i);
	}
}

/* The line need not be NUL-terminated: only len bytes count. */
static void
test_parse_line_len_bound(void **state)
{
	static const char buf[] = "LISTXYZ";
	struct pop3_cmd c;

	(void)state;
	assert_int_equal(pop3_parse_line(buf, 4, &c), P_OK);
	assert_string_equal(c.verb, "LIST");
	assert_int_equal(c.restlen, 0);
	assert_int_equal(pop3_parse_line(buf, 3, &c), P_OK);
	assert_string_equal(c.verb, "LIS");
	assert_int_equal(pop3_parse_line(buf, 5, &c), P_BADVERB);
	assert_int_equal(pop3_parse_line(buf, 2, &c), P_BADVERB);
	assert_int_equal(pop3_parse_line(buf, 0, &c), P_EMPTY);
}

struct split_case {
	const char	*rest;
	int		 min, max;
	enum pop3_parse	 want;
	int		 nargs;
	const char	*a0, *a1;
};

static const struct split_case split_cases[] = {
	{ "", 0, 0, P_OK, 0, NULL, NULL },
	{ "", 0, 1, P_OK, 0, NULL, NULL },
	{ "", 1, 1, P_MISSING, 0, NULL, NULL },
	{ "", 1, 2, P_MISSING, 0, NULL, NULL },
	{ "1", 0, 0, P_TOOMANY, 0, NULL, NULL },
	{ "1", 0, 1, P_OK, 1, "1", NULL },
	{ "1", 1, 1, P_OK, 1, "1", NULL },
	{ "1", 2, 2, P_MISSING, 1, "1", NULL },
	{ "1 2", 2, 2, P_OK, 2, "1", "2" },
	{ "1 2", 1, 1, P_TOOMANY, 1, "1", NULL },
	{ "1 2", 0, 2, P_OK, 2, "1", "2" },
	{ "1 2 3", 2, 2, P_TOOMANY, 2, "1", "2" },
	{ "1 2 3", 0, 5, P_TOOMANY, 2, "1", "2" },	/* POP3_MAX_ARGS */
	{ "alice", 1, 1, P_OK, 1, "alice", NULL },
	{ "alice@example.org", 1, 1, P_OK, 1, "alice@example.org", NULL },
	/* trailing spaces are tolerated */
	{ "1 ", 1, 1, P_OK, 1, "1", NULL },
	{ "1    ", 1, 1, P_OK, 1, "1", NULL },
	{ "1 2  ", 2, 2, P_OK, 2, "1", "2" },
	{ " ", 0, 1, P_OK, 0, NULL, NULL },
	{ "   ", 1, 1, P_MISSING, 0, NULL, NULL },
	/* double and leading spaces give an empty argument */
	{ "1  2", 2, 2, P_BADARG, 1, "1", NULL },
	{ " 1", 1, 1, P_BADARG, 0, NULL, NULL },
	{ "  1", 1, 2, P_BADARG, 0, NULL, NULL },
	{ "1  2", 0, 1, P_BADARG, 1, "1", NULL },
	/* only ' ' separates */
	{ "1\t2", 1, 1, P_OK, 1, "1\t2", NULL },
	{ "1\t2", 2, 2, P_MISSING, 1, "1\t2", NULL },
	{ "\t", 1, 1, P_OK, 1, "\t", NULL },
};

static void
test_split_args_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(split_cases) / sizeof(split_cases[0]); i++) {
		const struct split_case *t = &split_cases[i];
		struct pop3_cmd c;
		enum pop3_parse r;

		memset(&c, 0, sizeof(c));
		c.rest = t->rest;
		c.restlen = strlen(t->rest);
		c.nargs = 99;
		r = pop3_split_args(&c, t->min, t->max);
		if (r != t->want)
			fail_msg("case %zu \"%s\" [%d,%d]: got %d want %d", i,
			    t->rest, t->min, t->max, (int)r, (int)t->want);
		if (c.nargs != t->nargs)
			fail_msg("case %zu \"%s\": nargs %d want %d", i,
			    t->rest, c.nargs, t->nargs);
		if (t->nargs >= 1 && (c.arglen[0] != strlen(t->a0) ||
		    memcmp(c.arg[0], t->a0, c.arglen[0]) != 0))
			fail_msg("case %zu \"%s\": arg0 \"%.*s\"", i, t->rest,
			    (int)c.arglen[0], c.arg[0]);
		if (t->nargs >= 2 && (c.arglen[1] != strlen(t->a1) ||
		    memcmp(c.arg[1], t->a1, c.arglen[1]) != 0))
			fail_msg("case %zu \"%s\": arg1 \"%.*s\"", i, t->rest,
			    (int)c.arglen[1], c.arg[1]);
	}
}

/* Parse then split, the way the session uses them. */
static void
test_parse_then_split(void **state)
{
	static const char line[] = "top 12 0  ";
	struct pop3_cmd c;
	uint32_t n;

	(void)state;
	assert_int_equal(pop3_parse_line(line, strlen(line), &c), P_OK);
	assert_string_equal(c.verb, "TOP");
	assert_int_equal(pop3_split_args(&c, 2, 2), P_OK);
	assert_int_equal(c.nargs, 2);
	assert_int_equal(pop3_msgno(c.arg[0], c.arglen[0], &n), 0);
	assert_int_equal(n, 12);
	assert_int_equal(c.arglen[1], 1);
	assert_int_equal(c.arg[1][0], '0');
	/* the args point into the original line */
	assert_ptr_equal(c.arg[0], line + 4);
	assert_ptr_equal(c.arg[1], line + 7);
}

struct msgno_case {
	const char	*in;
	int		 want;
	uint32_t	 n;
};

static const struct msgno_case msgno_cases[] = {
	{ "", -1, 0 },
	{ "0", -1, 0 },
	{ "00", -1, 0 },
	{ "1", 0, 1 },
	{ "01", 0, 1 },
	{ "42", 0, 42 },
	{ "4294967295", 0, UINT32_MAX },
	{ "04294967295", 0, UINT32_MAX },
	{ "4294967296", -1, 0 },		/* UINT32_MAX + 1 */
	{ "4294967300", -1, 0 },
	{ "9999999999", -1, 0 },
	{ "18446744073709551615", -1, 0 },
	{ "18446744073709551616", -1, 0 },	/* 2^64 */
	{ "99999999999999999999999999999999", -1, 0 },
	{ "+1", -1, 0 },
	{ "-1", -1, 0 },
	{ " 1", -1, 0 },
	{ "1 ", -1, 0 },
	{ "0x1", -1, 0 },
	{ "1a", -1, 0 },
	{ "a", -1, 0 },
	{ "1.", -1, 0 },
	{ "\xd9\xa1", -1, 0 },
};

static void
test_msgno_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(msgno_cases) / sizeof(msgno_cases[0]); i++) {
		const struct msgno_case *t = &msgno_cases[i];
		uint32_t n = 0xabcdef;
		int r = pop3_msgno(t->in, strlen(t->in), &n);

		if (r != t->want)
			fail_msg("case %zu \"%s\": got %d want %d", i, t->in,
			    r, t->want);
		if (r == 0 && n != t->n)
			fail_msg("case %zu \"%s\": n %u want %u", i, t->in,
			    (unsigned)n, (unsigned)t->n);
		if (r == -1 && n != 0xabcdef)
			fail_msg("case %zu \"%s\": n written on failure", i,
			    t->in);
	}
}

struct find_case {
	const char	*in;
	int		 len;	/* -1: strlen */
	long		 want;
	size_t		 used;
};

static const struct find_case find_cases[] = {
	{ "", -1, -1, 0 },
	{ "NOOP", -1, -1, 0 },
	{ "NOOP\r", -1, -1, 0 },		/* CR alone ends nothing */
	{ "NOOP\r\n", -1, 4, 6 },
	{ "NOOP\n", -1, 4, 5 },			/* bare LF */
	{ "\r\n", -1, 0, 2 },
	{ "\n", -1, 0, 1 },
	{ "\r\r\n", -1, 1, 3 },			/* only one CR is stripped */
	{ "A\rB\r\n", -1, 3, 5 },
	{ "NOOP\r\nQUIT\r\n", -1, 4, 6 },	/* first line only */
	{ "NOOP\nQUIT\r\n", -1, 4, 5 },
	{ "\nX", -1, 0, 1 },
	{ "A\0B\r\n", 5, 3, 5 },		/* NUL is the parser's job */
	{ "NOOP\r\n", 5, -1, 0 },		/* LF beyond len */
};

static void
test_find_line_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(find_cases) / sizeof(find_cases[0]); i++) {
		const struct find_case *t = &find_cases[i];
		size_t len = t->len < 0 ? strlen(t->in) : (size_t)t->len;
		size_t used = 12345;
		long r = pop3_find_line(t->in, len, &used);

		if (r != t->want)
			fail_msg("case %zu: got %ld want %ld", i, r, t->want);
		if (r >= 0 && used != t->used)
			fail_msg("case %zu: used %zu want %zu", i, used,
			    t->used);
	}
}

/* Walking a pipelined buffer line by line finds every command. */
static void
test_find_line_walk(void **state)
{
	static const char in[] = "USER a\r\nPASS b c\nSTAT\r\n\r\nQUIT\r\nLI";
	static const char *const want[] = {
		"USER a", "PASS b c", "STAT", "", "QUIT"
	};
	size_t pos = 0, k = 0, used;
	long n;

	(void)state;
	while ((n = pop3_find_line(in + pos, sizeof(in) - 1 - pos, &used))
	    >= 0) {
		assert_true(k < sizeof(want) / sizeof(want[0]));
		assert_int_equal((size_t)n, strlen(want[k]));
		assert_memory_equal(in + pos, want[k], (size_t)n);
		pos += used;
		k++;
	}
	assert_int_equal(k, 5);
	assert_string_equal(in + pos, "LI");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_line_table),
		cmocka_unit_test(test_parse_line_len_bound),
		cmocka_unit_test(test_split_args_table),
		cmocka_unit_test(test_parse_then_split),
		cmocka_unit_test(test_msgno_table),
		cmocka_unit_test(test_find_line_table),
		cmocka_unit_test(test_find_line_walk),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
