/*
 * Unit tests for mailstore/maildir_listing.c, the Maildir listing
 * snapshot (".privpop-listing"): the parser on valid and malformed text
 * (the file belongs to the mailbox owner and is untrusted), the stamps
 * it must match, its size limits, the settle rule, stat/save/load round
 * trips in a temporary Maildir (mode, no temp file left, what save
 * refuses, symlinks not followed), and the snapshot as maildir_open and
 * maildir_close use it.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "limits.h"
#include "maildir.h"
#include "maildir_listing.h"

/* The stamps every parser test is written under. */
#define HDR	MDLIST_MAGIC "1 2 3 4 5 6 7 8 "

static const struct mdlist_dirs want_std = {
	{ 1, 2, 3, 4 }, { 5, 6, 7, 8 }
};

/* ---- helpers ---- */

/* mdlist_parse on a malloc'd copy of exactly len bytes (no NUL after
 * them, so an overread is a real overread); the listing takes it over. */
static int
parse_bytes_w(struct mdlist *l, const char *s, size_t len,
    const struct mdlist_dirs *want)
{
	char *p = malloc(len > 0 ? len : 1);

	assert_non_null(p);
	memcpy(p, s, len);
	memset(l, 0x5a, sizeof(*l));	/* garbage before the call */
	return mdlist_parse(l, p, len, want);
}

static int
parse_bytes(struct mdlist *l, const char *s, size_t len)
{
	return parse_bytes_w(l, s, len, &want_std);
}

static int
parse_str(struct mdlist *l, const char *s)
{
	return parse_bytes(l, s, strlen(s));
}

/* The state "l empty" that the header promises after a failure. */
static void
assert_list_empty(const struct mdlist *l)
{
	assert_null(l->buf);
	assert_null(l->names);
	assert_int_equal(l->n, 0);
}

/* l holds exactly the n names of want, in that order, inside l->buf. */
static void
assert_names(const struct mdlist *l, const char *const *want, size_t n)
{
	size_t i;

	if (l->n != n)
		fail_msg("%zu names, want %zu", l->n, n);
	assert_non_null(l->buf);
	if (n > 0)
		assert_non_null(l->names);
	for (i = 0; i < n; i++) {
		if (strcmp(l->names[i], want[i]) != 0)
			fail_msg("name %zu: \"%s\", want \"%s\"", i,
			    l->names[i], want[i]);
		/* split in place: the names point into the file */
		assert_true(l->names[i] > l->buf);
		if (i > 0)
			assert_true(l->names[i] > l->names[i - 1]);
	}
}

/* The header under the nine fields f (8 stamp fields, the count). */
static void
make_header(char *out, size_t outsz, const char *const f[9])
{
	int k = snprintf(out, outsz, "%s%s %s %s %s %s %s %s %s %s\n",
	    MDLIST_MAGIC, f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7],
	    f[8]);

	assert_true(k > 0 && (size_t)k < outsz);
}

static void
set_stamp_field(struct mdlist_dirs *d, int i, uint64_t v)
{
	struct mdlist_stamp *s = i < 4 ? &d->cur : &d->new;

	switch (i % 4) {
	case 0:
		s->dev = v;
		break;
	case 1:
		s->ino = v;
		break;
	case 2:
		s->sec = (int64_t)v;
		break;
	default:
		s->nsec = v;
		break;
	}
}

/* ---- mdlist_parse ---- */

static void
test_parse_valid(void **state)
{
	static const char *const want[] = {
		"cur/1700000001.M1P100.host:2,S",
		"new/1700000002.M2P100.host",
		"cur/1700000003.M3P100.host:2,",
		"new/1700000004.M4P100.host,S=12,W=13",
		"cur/1700000005.x y\tz",
		"new/caf\303\251",
		"cur/~",
	};
	const char *text = HDR "7\n"
	    "cur/1700000001.M1P100.host:2,S\n"
	    "new/1700000002.M2P100.host\n"
	    "cur/1700000003.M3P100.host:2,\n"
	    "new/1700000004.M4P100.host,S=12,W=13\n"
	    "cur/1700000005.x y\tz\n"
	    "new/caf\303\251\n"
	    "cur/~\n";
	size_t len = strlen(text);
	struct mdlist l;
	char *buf = malloc(len);

	(void)state;
	assert_non_null(buf);
	memcpy(buf, text, len);
	memset(&l, 0x5a, sizeof(l));
	assert_int_equal(mdlist_parse(&l, buf, len, &want_std), 0);
	assert_ptr_equal(l.buf, buf);	/* taken over, not copied */
	assert_names(&l, want, 7);
	mdlist_free(&l);
	assert_list_empty(&l);
	mdlist_free(&l);		/* harmless twice */
	assert_list_empty(&l);
}

/* A count of 0 and no lines: a valid listing of an empty Maildir. */
static void
test_parse_empty(void **state)
{
	struct mdlist l;

	(void)state;
	assert_int_equal(parse_str(&l, HDR "0\n"), 0);
	assert_non_null(l.buf);
	assert_null(l.names);
	assert_int_equal(l.n, 0);
	mdlist_free(&l);
	assert_list_empty(&l);
	/* a count with leading zeros is still decimal */
	assert_int_equal(parse_str(&l, HDR "000\n"), 0);
	assert_int_equal(l.n, 0);
	mdlist_free(&l);
}

/* Base names ascend; the cur/ or new/ in front does not take part. */
static void
test_parse_order(void **state)
{
	static const char *const w1[] = { "new/a", "cur/b" };
	static const char *const w2[] = { "cur/a", "cur/ab", "new/b" };
	static const char *const w3[] = { "cur/\177", "cur/\200", "new/\377" };
	static const char *const w4[] = { "cur/A", "cur/Z", "cur/a" };
	struct mdlist l;

	(void)state;
	assert_int_equal(parse_str(&l, HDR "2\nnew/a\ncur/b\n"), 0);
	assert_names(&l, w1, 2);
	mdlist_free(&l);
	assert_int_equal(parse_str(&l, HDR "3\ncur/a\ncur/ab\nnew/b\n"), 0);
	assert_names(&l, w2, 3);
	mdlist_free(&l);
	/* bytes compare unsigned, as strcmp and the scan's sort do */
	assert_int_equal(parse_str(&l, HDR "3\ncur/\177\ncur/\200\nnew/\377\n"),
	    0);
	assert_names(&l, w3, 3);
	mdlist_free(&l);
	assert_int_equal(parse_str(&l, HDR "3\ncur/A\ncur/Z\ncur/a\n"), 0);
	assert_names(&l, w4, 3);
	mdlist_free(&l);
}

/* A CR before the newline is part of the name (a file name may hold
 * one): "cur/a\r" is a name like any other and takes its place in the
 * order ('\r' < 'a'). */
static void
test_parse_cr(void **state)
{
	static const char *const w1[] = { "cur/a\r" };
	static const char *const w2[] = { "cur/\r", "cur/a\r", "new/a\rb" };
	struct mdlist l;

	(void)state;
	assert_int_equal(parse_str(&l, HDR "1\ncur/a\r\n"), 0);
	assert_names(&l, w1, 1);
	assert_int_equal(strlen(l.names[0]), 6);
	mdlist_free(&l);
	assert_int_equal(parse_str(&l, HDR "3\ncur/\r\ncur/a\r\nnew/a\rb\n"), 0);
	assert_names(&l, w2, 3);
	mdlist_free(&l);
	/* "cur/a\r" sorts after "cur/a": equal bases they are not */
	assert_int_equal(parse_str(&l, HDR "2\ncur/a\nnew/a\r\n"), 0);
	mdlist_free(&l);
	assert_int_equal(parse_str(&l, HDR "2\nnew/a\r\ncur/a\n"), -1);
	assert_list_empty(&l);
	/* the header's own line is not allowed a CR */
	assert_int_equal(parse_str(&l, HDR "1\r\ncur/a\n"), -1);
	assert_list_empty(&l);
}

struct bad_case {
	const char	*why;
	const char	*text;	/* the whole file */
	size_t		 len;	/* NULs included */
};

#define BC(why, text)	{ why, text, sizeof(text) - 1 }

static const struct bad_case bad_cases[] = {
	/* the magic */
	BC("empty file", ""),
	BC("magic alone", MDLIST_MAGIC),
	BC("magic cut short", "privpop-listing 1"),
	BC("magic cut shorter", "privpop-list"),
	BC("newline alone", "\n"),
	BC("version 2", "privpop-listing 2 1 2 3 4 5 6 7 8 0\n"),
	BC("version 0", "privpop-listing 0 1 2 3 4 5 6 7 8 0\n"),
	BC("version 10", "privpop-listing 10 1 2 3 4 5 6 7 8 0\n"),
	BC("version 01", "privpop-listing 01 1 2 3 4 5 6 7 8 0\n"),
	BC("magic in capitals", "PRIVPOP-LISTING 1 1 2 3 4 5 6 7 8 0\n"),
	BC("magic with a leading space",
	    " privpop-listing 1 1 2 3 4 5 6 7 8 0\n"),
	BC("magic after an empty line",
	    "\nprivpop-listing 1 1 2 3 4 5 6 7 8 0\n"),
	BC("magic with two spaces",
	    "privpop-listing  1 1 2 3 4 5 6 7 8 0\n"),
	BC("magic with a tab", "privpop-listing\t1 1 2 3 4 5 6 7 8 0\n"),
	BC("the size cache's magic", "privpop-sizes 1\n"),
	BC("NUL in the magic", "privpop-listing\0001 1 2 3 4 5 6 7 8 0\n"),

	/* the final newline */
	BC("no final newline, header only", HDR "0"),
	BC("no final newline, count cut", HDR),
	BC("no final newline after a name", HDR "1\ncur/a"),
	BC("no final newline after names", HDR "2\ncur/a\ncur/b"),
	BC("final CR instead", HDR "1\ncur/a\r"),
	BC("header without newline, names after", HDR "1 cur/a\n"),

	/* the header's shape */
	BC("a stamp field missing", MDLIST_MAGIC "1 2 3 4 5 6 7 0\n"),
	BC("no count", HDR "\n"),
	BC("no count, no space", MDLIST_MAGIC "1 2 3 4 5 6 7 8\n"),
	BC("a tenth field", HDR "0 0\n"),
	BC("space before the newline", HDR "0 \n"),
	BC("tab before the newline", HDR "0\t\n"),
	BC("CRLF after the count", HDR "0\r\n"),
	BC("count with a sign", HDR "+0\n"),
	BC("count -0", HDR "-0\n"),
	BC("count -1", HDR "-1\n"),
	BC("count x", HDR "x\n"),
	BC("count 0x0", HDR "0x0\n"),
	BC("count 1e0", HDR "1e0\ncur/a\n"),
	BC("count of 21 digits", HDR "000000000000000000000\n"),
	BC("count over UINT64_MAX", HDR "18446744073709551616\n"),
	BC("count UINT64_MAX", HDR "18446744073709551615\n"),
	BC("count with NUL", HDR "0\0000\n"),
	BC("count unicode digit", HDR "\331\240\n"),
	BC("two header lines", HDR "0\n" HDR "0\n"),

	/* the count against the lines */
	BC("count 1, no line", HDR "1\n"),
	BC("count 0, one line", HDR "0\ncur/a\n"),
	BC("count 2, one line", HDR "2\ncur/a\n"),
	BC("count 1, two lines", HDR "1\ncur/a\ncur/b\n"),
	BC("count 3, two lines", HDR "3\ncur/a\ncur/b\n"),
	BC("count 1000000, no line", HDR "1000000\n"),
	BC("count 1000001, no line", HDR "1000001\n"),
	BC("count 4294967297, one line", HDR "4294967297\ncur/a\n"),

	/* names */
	BC("tmp/", HDR "1\ntmp/x\n"),
	BC("no subdirectory", HDR "1\nx\n"),
	BC("subdirectory without slash", HDR "1\ncurx\n"),
	BC("cur alone", HDR "1\ncur\n"),
	BC("cur/ alone", HDR "1\ncur/\n"),
	BC("new/ alone", HDR "1\nnew/\n"),
	BC("cur/ alone after a name", HDR "2\ncur/a\ncur/\n"),
	BC("capitals", HDR "1\nCUR/x\n"),
	BC("cu/", HDR "1\ncu/xx\n"),
	BC("leading slash", HDR "1\n/cur/x\n"),
	BC("leading space", HDR "1\n cur/x\n"),
	BC("dot slash", HDR "1\n./cur/x\n"),
	BC("dot file", HDR "1\ncur/.hidden\n"),
	BC("dot file in new/", HDR "1\nnew/.x\n"),
	BC("dot", HDR "1\ncur/.\n"),
	BC("dot dot", HDR "1\ncur/..\n"),
	BC("dot dot slash", HDR "1\ncur/../x\n"),
	BC("a/b", HDR "1\ncur/a/b\n"),
	BC("trailing slash", HDR "1\ncur/a/\n"),
	BC("double slash", HDR "1\ncur//a\n"),
	BC("tmp/ after good names", HDR "3\ncur/a\nnew/b\ntmp/c\n"),
	BC("empty line", HDR "1\n\n"),
	BC("empty line between", HDR "3\ncur/a\n\ncur/b\n"),
	BC("empty line at the end", HDR "2\ncur/a\n\n"),
	BC("NUL in a name", HDR "1\ncur/a\000b\n"),
	BC("NUL ending a name", HDR "1\ncur/a\000\n"),
	BC("NUL first in a base name", HDR "1\ncur/\000a\n"),
	BC("NUL alone", HDR "1\n\000\n"),

	/* the order */
	BC("descending", HDR "2\ncur/b\ncur/a\n"),
	BC("descending across subdirs", HDR "2\ncur/b\nnew/a\n"),
	BC("the same name twice", HDR "2\ncur/a\ncur/a\n"),
	BC("cur/x then new/x", HDR "2\ncur/x\nnew/x\n"),
	BC("new/x then cur/x", HDR "2\nnew/x\ncur/x\n"),
	BC("longer before its prefix", HDR "2\ncur/ab\ncur/a\n"),
	BC("high byte before a low one", HDR "2\ncur/\200\ncur/\177\n"),
	BC("one out of order late", HDR "5\ncur/a\ncur/b\ncur/d\ncur/c\n"
	    "cur/e\n"),
	BC("a duplicate late", HDR "4\ncur/a\ncur/b\nnew/c\ncur/c\n"),
};

/* Anything malformed: -1, the whole listing discarded (l empty), even
 * the names before the bad one. */
static void
test_parse_bad(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *t = &bad_cases[i];
		struct mdlist l;
		int r;

		r = parse_bytes(&l, t->text, t->len);
		if (r != -1)
			fail_msg("case %zu (%s): parse returned %d", i, t->why,
			    r);
		assert_list_empty(&l);
		mdlist_free(&l);	/* harmless on an empty listing */
	}
}

/* The header's stamps must be want's, field by field; a stamp that
 * differs in any one field (in the text, or in want) is a stale
 * listing. */
static void
test_parse_stamps(void **state)
{
	static const char *const std[9] = {
		"1", "2", "3", "4", "5", "6", "7", "8", "1"
	};
	char text[256], bumped[8][24];
	const char *f[9];
	struct mdlist_dirs w;
	struct mdlist l;
	size_t len;
	int i;

	(void)state;
	/* the control: all nine as want has them */
	make_header(text, sizeof(text), std);
	len = strlen(text);
	memcpy(text + len, "cur/a\n", 7);
	assert_int_equal(parse_str(&l, text), 0);
	assert_int_equal(l.n, 1);
	mdlist_free(&l);

	for (i = 0; i < 8; i++) {
		/* the text one more in field i */
		memcpy(f, std, sizeof(f));
		snprintf(bumped[i], sizeof(bumped[i]), "%d", i + 2);
		f[i] = bumped[i];
		make_header(text, sizeof(text), f);
		len = strlen(text);
		memcpy(text + len, "cur/a\n", 7);
		if (parse_str(&l, text) != -1)
			fail_msg("field %d changed in the text: accepted", i);
		assert_list_empty(&l);

		/* want one more in field i */
		make_header(text, sizeof(text), std);
		len = strlen(text);
		memcpy(text + len, "cur/a\n", 7);
		w = want_std;
		set_stamp_field(&w, i, (uint64_t)i + 2);
		if (parse_bytes_w(&l, text, strlen(text), &w) != -1)
			fail_msg("field %d changed in want: accepted", i);
		assert_list_empty(&l);

		/* both changed the same way: a match again */
		make_header(text, sizeof(text), f);
		len = strlen(text);
		memcpy(text + len, "cur/a\n", 7);
		if (parse_bytes_w(&l, text, strlen(text), &w) != 0)
			fail_msg("field %d changed in both: refused", i);
		assert_int_equal(l.n, 1);
		mdlist_free(&l);
	}

	/* cur/ and new/ swapped: not the same directories */
	make_header(text, sizeof(text), (const char *const[9]){
	    "5", "6", "7", "8", "1", "2", "3", "4", "0" });
	assert_int_equal(parse_str(&l, text), -1);
	assert_list_empty(&l);
}

struct range_case {
	int		 field;	/* 0..7 */
	const char	*text;
	uint64_t	 want;	/* what want holds in that field */
	int		 ok;
};

/* Each field at and beyond its range.  want holds what the text would
 * decode to if the range were not checked (a wrapped or out-of-range
 * value), so only the range check can refuse it. */
static const struct range_case range_cases[] = {
	{ 0, "18446744073709551615", UINT64_MAX, 1 },
	{ 0, "18446744073709551616", 0, 0 },
	{ 0, "99999999999999999999", 0, 0 },
	{ 1, "18446744073709551615", UINT64_MAX, 1 },
	{ 1, "18446744073709551616", 0, 0 },
	{ 2, "9223372036854775807", INT64_MAX, 1 },
	{ 2, "9223372036854775808", (uint64_t)INT64_MAX + 1, 0 },
	{ 2, "18446744073709551615", UINT64_MAX, 0 },
	{ 3, "999999999", 999999999, 1 },
	{ 3, "1000000000", 1000000000, 0 },
	{ 3, "4294967295", 4294967295u, 0 },
	{ 4, "0", 0, 1 },
	{ 4, "18446744073709551616", 0, 0 },
	{ 5, "18446744073709551615", UINT64_MAX, 1 },
	{ 6, "0", 0, 1 },
	{ 6, "9223372036854775808", (uint64_t)INT64_MAX + 1, 0 },
	{ 7, "0", 0, 1 },
	{ 7, "999999999", 999999999, 1 },
	{ 7, "1000000000", 1000000000, 0 },
	/* at most 20 digits, leading zeros or not */
	{ 0, "00000000000000000001", 1, 1 },
	{ 0, "000000000000000000001", 1, 0 },
	{ 3, "000000000000000000001", 1, 0 },
	{ 3, "000000000999999999", 999999999, 1 },
	{ 2, "0000000000000000000000000000001", 1, 0 },
};

static void
test_parse_ranges(void **state)
{
	static const char *const std[9] = {
		"1", "2", "3", "4", "5", "6", "7", "8", "0"
	};
	char text[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(range_cases) / sizeof(range_cases[0]); i++) {
		const struct range_case *t = &range_cases[i];
		struct mdlist_dirs w = want_std;
		const char *f[9];
		struct mdlist l;
		int r;

		memcpy(f, std, sizeof(f));
		f[t->field] = t->text;
		make_header(text, sizeof(text), f);
		set_stamp_field(&w, t->field, t->want);
		r = parse_bytes_w(&l, text, strlen(text), &w);
		if (r != (t->ok ? 0 : -1))
			fail_msg("case %zu (field %d = %s): parse returned %d",
			    i, t->field, t->text, r);
		if (r == -1)
			assert_list_empty(&l);
		mdlist_free(&l);
	}
}

/* Every stamp field, and the count, refuses what is not 1..20 digits. */
static void
test_parse_bad_fields(void **state)
{
	static const char *const std[9] = {
		"1", "2", "3", "4", "5", "6", "7", "8", "0"
	};
	static const char *const bad[] = {
		"", "x", "1x", "x1", "+1", "-1", "-0", "0x1", "1.0", "1e0",
		" 1", "1 ", "\t1", "1\t", "\331\241", "1\n", "\n1",
	};
	char text[256];
	size_t i, j;

	(void)state;
	for (i = 0; i < 9; i++) {
		for (j = 0; j < sizeof(bad) / sizeof(bad[0]); j++) {
			const char *f[9];
			struct mdlist l;

			memcpy(f, std, sizeof(f));
			f[i] = bad[j];
			make_header(text, sizeof(text), f);
			if (parse_str(&l, text) != -1)
				fail_msg("field %zu = \"%s\": accepted", i,
				    bad[j]);
			assert_list_empty(&l);
		}
	}
}

/* A base name of up to MAIL_MAX_PATH - 1 - 4 bytes: as long as the scan
 * takes (it skips longer ones). */
static void
test_parse_name_length(void **state)
{
	char text[2 * MAIL_MAX_PATH + 64], name[MAIL_MAX_PATH + 2];
	struct mdlist l;
	size_t n;

	(void)state;
	for (n = MAIL_MAX_PATH - 2; n <= MAIL_MAX_PATH + 1; n++) {
		int r;

		memcpy(name, "new/", 4);
		memset(name + 4, 'n', n - 4);
		name[n] = '\0';
		snprintf(text, sizeof(text), HDR "2\ncur/a\n%s\n", name);
		r = parse_str(&l, text);
		if (n < MAIL_MAX_PATH) {
			if (r != 0)
				fail_msg("name of %zu bytes refused", n);
			assert_int_equal(l.n, 2);
			assert_int_equal(strlen(l.names[1]), n);
		} else {
			if (r != -1)
				fail_msg("name of %zu bytes accepted", n);
			assert_list_empty(&l);
		}
		mdlist_free(&l);
	}
	/* the shortest names */
	assert_int_equal(parse_str(&l, HDR "2\ncur/a\nnew/b\n"), 0);
	mdlist_free(&l);
}

/* "cur/" and i in 7 digits, 11 bytes (no NUL). */
static void
put_seq(char *p, size_t i)
{
	int k;

	assert_true(i < 10000000);
	memcpy(p, "cur/", 4);
	for (k = 10; k >= 4; k--, i /= 10)
		p[k] = (char)('0' + i % 10);
}

/* Count up to MAIL_MAX_MESSAGES, with that many lines: the edge
 * accepted, one more refused even though the lines are all there. */
static void
test_parse_max_messages(void **state)
{
	const size_t cap = 64 + ((size_t)MAIL_MAX_MESSAGES + 1) * 12;
	size_t k;

	(void)state;
	for (k = MAIL_MAX_MESSAGES; k <= (size_t)MAIL_MAX_MESSAGES + 1; k++) {
		char *buf = malloc(cap);
		struct mdlist l;
		size_t off, i;
		int r;

		assert_non_null(buf);
		off = (size_t)snprintf(buf, cap, HDR "%zu\n", k);
		for (i = 0; i < k; i++) {
			/* "cur/" 7 digits "\n" */
			assert_true(off + 12 <= cap);
			put_seq(buf + off, i);
			buf[off + 11] = '\n';
			off += 12;
		}
		memset(&l, 0x5a, sizeof(l));
		r = mdlist_parse(&l, buf, off, &want_std);
		if (k <= MAIL_MAX_MESSAGES) {
			assert_int_equal(r, 0);
			assert_int_equal(l.n, k);
			assert_string_equal(l.names[0], "cur/0000000");
			assert_string_equal(l.names[k - 1], "cur/0999999");
		} else {
			assert_int_equal(r, -1);
			assert_list_empty(&l);
		}
		mdlist_free(&l);
	}
}

/* A valid listing of exactly len bytes (len large), malloc'd; NULL
 * when there is no memory for it. */
static char *
big_listing(size_t len, size_t *count_r)
{
	char hdr[128], *buf;
	size_t hlen, rem, n = 1, i, off;

	/* n lines of 12..1023 bytes ("cur/" 7 digits, padding, "\n") */
	for (i = 0; i < 3; i++) {
		hlen = (size_t)snprintf(hdr, sizeof(hdr), HDR "%zu\n", n);
		rem = len - hlen;
		n = (rem + MAIL_MAX_PATH - 2) / (MAIL_MAX_PATH - 1);
	}
	hlen = (size_t)snprintf(hdr, sizeof(hdr), HDR "%zu\n", n);
	rem = len - hlen;
	assert_true(rem / n >= 12 && (rem + n - 1) / n <= MAIL_MAX_PATH - 1);
	if ((buf = malloc(len)) == NULL)
		return NULL;
	memcpy(buf, hdr, hlen);
	off = hlen;
	for (i = 0; i < n; i++) {
		size_t ll = rem / n + (i < rem % n ? 1 : 0);

		put_seq(buf + off, i);
		memset(buf + off + 11, 'x', ll - 12);
		buf[off + ll - 1] = '\n';
		off += ll;
	}
	assert_int_equal(off, len);
	*count_r = n;
	return buf;
}

/* MDLIST_MAX_BYTES exactly is a listing; one byte more is refused
 * before anything in it is looked at (the file is really that long:
 * the length check is not tested with a short buffer and a false len,
 * which would be a read past the buffer if the check were missing). */
static void
test_parse_max_bytes(void **state)
{
	struct mdlist l;
	size_t n;
	char *buf;

	(void)state;
	if ((buf = big_listing(MDLIST_MAX_BYTES, &n)) == NULL)
		skip();
	assert_int_equal(mdlist_parse(&l, buf, MDLIST_MAX_BYTES, &want_std),
	    0);
	assert_int_equal(l.n, n);
	mdlist_free(&l);

	if ((buf = big_listing(MDLIST_MAX_BYTES + 1, &n)) == NULL)
		skip();
	memset(&l, 0x5a, sizeof(l));
	assert_int_equal(mdlist_parse(&l, buf, MDLIST_MAX_BYTES + 1,
	    &want_std), -1);
	assert_list_empty(&l);
}

/* ---- mdlist_settled ---- */

static void
test_settled(void **state)
{
	const time_t now = 1700000000;
	struct mdlist_dirs d;

	(void)state;
	memset(&d, 0, sizeof(d));
	d.cur.sec = d.new.sec = now - MDLIST_SETTLE_SECS;
	assert_true(mdlist_settled(&d, now));
	d.cur.nsec = d.new.nsec = 999999999;	/* seconds are what count */
	assert_true(mdlist_settled(&d, now));
	d.cur.sec = now - MDLIST_SETTLE_SECS + 1;
	assert_false(mdlist_settled(&d, now));
	d.cur.sec = now - 1000;
	assert_true(mdlist_settled(&d, now));
	d.new.sec = now - MDLIST_SETTLE_SECS + 1;
	assert_false(mdlist_settled(&d, now));
	d.new.sec = now;
	assert_false(mdlist_settled(&d, now));
	d.new.sec = now + 3600;			/* in the future */
	assert_false(mdlist_settled(&d, now));
	d.new.sec = 0;
	d.cur.sec = now;
	assert_false(mdlist_settled(&d, now));
	d.cur.sec = 0;
	assert_true(mdlist_settled(&d, now));
	d.cur.sec = d.new.sec = now + 3600;
	assert_false(mdlist_settled(&d, now));
	d.cur.sec = d.new.sec = now - MDLIST_SETTLE_SECS - 1;
	assert_true(mdlist_settled(&d, now));
	/* before 1970: the header could not say it, so never saved */
	d.cur.sec = -100;
	assert_false(mdlist_settled(&d, now));
	d.cur.sec = 0;
	d.new.sec = -1;
	assert_false(mdlist_settled(&d, now));
	d.new.sec = now - MDLIST_SETTLE_SECS - 1;
}

/* ---- stat, save and load in a temporary Maildir ---- */

struct fx {
	char	dir[64];
	int	dirfd;
};

static int
rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static int
setup_dir(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/privpop-mdl-XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	if ((f->dirfd = open(f->dir, O_RDONLY | O_DIRECTORY)) == -1)
		return -1;
	*state = f;
	return 0;
}

static int
teardown_dir(void **state)
{
	struct fx *f = *state;

	close(f->dirfd);
	nftw(f->dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

static void
path_of(const struct fx *f, const char *name, char *p, size_t psz)
{
	int k = snprintf(p, psz, "%s/%s", f->dir, name);

	assert_true(k > 0 && (size_t)k < psz);
}

static void
put_file(const struct fx *f, const char *name, const char *content,
    mode_t mode)
{
	char p[256];
	size_t n = strlen(content);
	int fd;

	path_of(f, name, p, sizeof(p));
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, mode);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, content, n), (ssize_t)n);
	assert_int_equal(fchmod(fd, mode), 0);
	assert_int_equal(close(fd), 0);
}

/* The file's content, NUL-terminated, in out (at most outsz - 1 bytes). */
static void
get_file(const char *path, char *out, size_t outsz)
{
	size_t got = 0;
	ssize_t n;
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	while (got + 1 < outsz &&
	    (n = read(fd, out + got, outsz - 1 - got)) > 0)
		got += (size_t)n;
	out[got] = '\0';
	assert_int_equal(read(fd, out + got, 1), 0);	/* it all fit */
	close(fd);
}

static int
exists(const struct fx *f, const char *name)
{
	struct stat st;
	char p[256];

	path_of(f, name, p, sizeof(p));
	return lstat(p, &st) == 0;
}

/* The listing file: a regular 0600 file of ours holding want. */
static void
assert_listing_file(const struct fx *f, const char *want)
{
	char p[256], got[8192];
	struct stat st;

	path_of(f, MDLIST_FILE, p, sizeof(p));
	assert_int_equal(lstat(p, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_uid, geteuid());
	get_file(p, got, sizeof(got));
	assert_string_equal(got, want);
}

/* Nothing in the directory but what is named (no temp file left). */
static void
assert_dir_holds(const struct fx *f, const char *const *names, size_t n)
{
	DIR *d = opendir(f->dir);
	struct dirent *de;
	size_t seen = 0, i;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		for (i = 0; i < n; i++)
			if (strcmp(de->d_name, names[i]) == 0)
				break;
		if (i == n) {
			closedir(d);
			fail_msg("unexpected file \"%s\" in %s", de->d_name,
			    f->dir);
		}
		seen++;
	}
	closedir(d);
	assert_int_equal(seen, n);
}

static void
make_maildir(const struct fx *f)
{
	static const char *const subs[] = { "cur", "new", "tmp" };
	char p[256];
	size_t i;

	for (i = 0; i < 3; i++) {
		path_of(f, subs[i], p, sizeof(p));
		assert_int_equal(mkdir(p, 0700), 0);
	}
}

/* The header mdlist_save writes for d and count. */
static void
header_for(const struct mdlist_dirs *d, size_t count, char *out,
    size_t outsz)
{
	int k = snprintf(out, outsz,
	    "%s%llu %llu %lld %llu %llu %llu %lld %llu %zu\n", MDLIST_MAGIC,
	    (unsigned long long)d->cur.dev, (unsigned long long)d->cur.ino,
	    (long long)d->cur.sec, (unsigned long long)d->cur.nsec,
	    (unsigned long long)d->new.dev, (unsigned long long)d->new.ino,
	    (long long)d->new.sec, (unsigned long long)d->new.nsec, count);

	assert_true(k > 0 && (size_t)k < outsz);
}

/* Messages for mdlist_save, their names strdup'd (free_msgs). */
static void
set_msgs(struct mail_msg *m, const char *const *names, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		memset(&m[i], 0, sizeof(m[i]));
		assert_non_null(m[i].name = strdup(names[i]));
	}
}

static void
free_msgs(struct mail_msg *m, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(m[i].name);
}

static void
assert_stamp_of(const struct fx *f, const char *sub,
    const struct mdlist_stamp *s)
{
	struct stat st;
	char p[256];

	path_of(f, sub, p, sizeof(p));
	assert_int_equal(lstat(p, &st), 0);
	assert_int_equal(s->dev, (uint64_t)st.st_dev);
	assert_int_equal(s->ino, (uint64_t)st.st_ino);
	assert_int_equal(s->sec, (int64_t)st.st_mtim.tv_sec);
	assert_int_equal(s->nsec, (uint64_t)st.st_mtim.tv_nsec);
}

static void
set_mtime(const struct fx *f, const char *sub, time_t sec, long nsec)
{
	struct timespec ts[2];
	char p[256];

	path_of(f, sub, p, sizeof(p));
	ts[0].tv_sec = sec;
	ts[0].tv_nsec = nsec;
	ts[1] = ts[0];
	assert_int_equal(utimensat(AT_FDCWD, p, ts, AT_SYMLINK_NOFOLLOW), 0);
}

/* cur/ and new/ as stat shows them; the other names fail. */
static void
test_stat(void **state)
{
	struct fx *f = *state;
	struct mdlist_dirs d;
	char p[256], q[256];

	memset(&d, 0x5a, sizeof(d));
	assert_int_equal(mdlist_stat(f->dirfd, &d), -1);	/* none yet */
	make_maildir(f);
	set_mtime(f, "cur", 1600000000, 123456789);
	set_mtime(f, "new", 1600000001, 987654321);
	assert_int_equal(mdlist_stat(f->dirfd, &d), 0);
	assert_stamp_of(f, "cur", &d.cur);
	assert_stamp_of(f, "new", &d.new);
	assert_int_equal(d.cur.sec, 1600000000);
	assert_true(d.cur.ino != d.new.ino);

	/* new/ a symlink to a directory: not followed, not a stamp */
	path_of(f, "new", p, sizeof(p));
	path_of(f, "new.real", q, sizeof(q));
	assert_int_equal(rename(p, q), 0);
	assert_int_equal(symlink("new.real", p), 0);
	assert_int_equal(mdlist_stat(f->dirfd, &d), -1);
	assert_int_equal(unlink(p), 0);
	/* a file */
	put_file(f, "new", "", 0600);
	assert_int_equal(mdlist_stat(f->dirfd, &d), -1);
	assert_int_equal(unlink(p), 0);
	/* missing */
	assert_int_equal(mdlist_stat(f->dirfd, &d), -1);
	assert_int_equal(rename(q, p), 0);
	assert_int_equal(mdlist_stat(f->dirfd, &d), 0);
	/* cur/ missing */
	path_of(f, "cur", p, sizeof(p));
	assert_int_equal(rmdir(p), 0);
	assert_int_equal(mdlist_stat(f->dirfd, &d), -1);
}

static void
test_save_load(void **state)
{
	struct fx *f = *state;
	static const char *const names[] = {
		"cur/1700000001.M1P1.h:2,S", "new/1700000002.M2P1.h",
		"cur/1700000003.M3P1.h,W=9:2,", "new/1700000004.x y",
		"cur/1700000005.a\r",
	};
	static const char *const only[] = {
		"cur", "new", "tmp", MDLIST_FILE
	};
	struct mail_msg msgs[5];
	struct mdlist_dirs d, w;
	struct mdlist l;
	char want[1024], hdr[256];
	int i;

	make_maildir(f);
	set_mtime(f, "cur", 1600000000, 5);
	set_mtime(f, "new", 1600000000, 6);
	assert_int_equal(mdlist_stat(f->dirfd, &d), 0);
	set_msgs(msgs, names, 5);
	msgs[0].deleted = 1;	/* DELE, no QUIT: still a message */

	assert_int_equal(mdlist_save(f->dirfd, &d, msgs, 5), 0);
	header_for(&d, 5, hdr, sizeof(hdr));
	snprintf(want, sizeof(want), "%s%s\n%s\n%s\n%s\n%s\n", hdr, names[0],
	    names[1], names[2], names[3], names[4]);
	assert_listing_file(f, want);
	assert_dir_holds(f, only, 4);

	memset(&l, 0x5a, sizeof(l));
	assert_int_equal(mdlist_load(&l, f->dirfd, &d), 0);
	assert_names(&l, names, 5);
	mdlist_free(&l);

	/* under other stamps (any one field): nothing */
	for (i = 0; i < 8; i++) {
		uint64_t v;

		w = d;
		switch (i % 4) {
		case 0:
			v = (i < 4 ? w.cur.dev : w.new.dev) + 1;
			break;
		case 1:
			v = (i < 4 ? w.cur.ino : w.new.ino) + 1;
			break;
		case 2:
			v = (uint64_t)(i < 4 ? w.cur.sec : w.new.sec) + 1;
			break;
		default:
			v = (i < 4 ? w.cur.nsec : w.new.nsec) + 1;
			break;
		}
		set_stamp_field(&w, i, v);
		memset(&l, 0x5a, sizeof(l));
		if (mdlist_load(&l, f->dirfd, &w) != -1)
			fail_msg("loaded under field %d changed", i);
		assert_list_empty(&l);
	}

	/* a second save replaces the file (by rename: a new inode) */
	{
		struct stat a, b;
		char p[256];

		path_of(f, MDLIST_FILE, p, sizeof(p));
		assert_int_equal(stat(p, &a), 0);
		assert_int_equal(mdlist_save(f->dirfd, &d, msgs + 3, 2), 0);
		assert_int_equal(stat(p, &b), 0);
		assert_true(a.st_ino != b.st_ino);
	}
	header_for(&d, 2, hdr, sizeof(hdr));
	snprintf(want, sizeof(want), "%s%s\n%s\n", hdr, names[3], names[4]);
	assert_listing_file(f, want);
	assert_dir_holds(f, only, 4);

	/* nothing to save: the header alone, a valid empty listing */
	assert_int_equal(mdlist_save(f->dirfd, &d, msgs, 0), 0);
	header_for(&d, 0, hdr, sizeof(hdr));
	assert_listing_file(f, hdr);
	assert_int_equal(mdlist_load(&l, f->dirfd, &d), 0);
	assert_non_null(l.buf);
	assert_int_equal(l.n, 0);
	mdlist_free(&l);
	assert_dir_holds(f, only, 4);
	free_msgs(msgs, 5);
}

/* The stamps save writes are d's as given, not the directories' now. */
static void
test_save_stamps_given(void **state)
{
	struct fx *f = *state;
	static const char *const names[] = { "cur/a" };
	const struct mdlist_dirs d = {
		{ UINT64_MAX, 0, INT64_MAX, 999999999 }, { 0, UINT64_MAX, 0, 0 }
	};
	struct mail_msg m;
	struct mdlist l;

	set_msgs(&m, names, 1);
	assert_int_equal(mdlist_save(f->dirfd, &d, &m, 1), 0);
	assert_listing_file(f, MDLIST_MAGIC "18446744073709551615 0 "
	    "9223372036854775807 999999999 0 18446744073709551615 0 0 1\n"
	    "cur/a\n");
	assert_int_equal(mdlist_load(&l, f->dirfd, &d), 0);
	assert_names(&l, names, 1);
	mdlist_free(&l);
	free_msgs(&m, 1);
}

struct save_refuse {
	const char	*why;
	const char	*names[3];
	size_t		 n;
	int		 expunged;	/* index of an expunged one, or -1 */
};

static const struct save_refuse save_refuses[] = {
	{ "an expunged message", { "cur/a", "cur/b", "new/c" }, 3, 1 },
	{ "an expunged first", { "cur/a", "cur/b" }, 2, 0 },
	{ "a newline in a name", { "cur/a", "new/b\nc" }, 2, -1 },
	{ "a newline ending a name", { "cur/a\n" }, 1, -1 },
	{ "a newline alone", { "new/\n" }, 1, -1 },
	{ "a name in cur/ and new/", { "cur/x", "new/x" }, 2, -1 },
	{ "a name in new/ and cur/", { "new/x", "cur/x" }, 2, -1 },
	{ "the same name twice", { "cur/a", "cur/a" }, 2, -1 },
	{ "descending", { "cur/b", "cur/a" }, 2, -1 },
	{ "descending across subdirs", { "cur/b", "new/a" }, 2, -1 },
	{ "descending late", { "cur/a", "cur/c", "new/b" }, 3, -1 },
	{ "a dot file", { "cur/.x" }, 1, -1 },
	{ "tmp/", { "tmp/x" }, 1, -1 },
	{ "a slash in the base name", { "cur/a/b" }, 1, -1 },
	{ "no base name", { "cur/" }, 1, -1 },
	{ "no subdir", { "x" }, 1, -1 },
};

/* What the parser would refuse is not written, and a listing already
 * there is removed (it might be taken for this state). */
static void
test_save_refuses(void **state)
{
	struct fx *f = *state;
	static const char *const good[] = { "cur/0" };
	static const char *const none[] = { "cur", "new", "tmp" };
	struct mail_msg g, m[3];
	struct mdlist_dirs d;
	size_t i;

	make_maildir(f);
	assert_int_equal(mdlist_stat(f->dirfd, &d), 0);
	set_msgs(&g, good, 1);
	for (i = 0; i < sizeof(save_refuses) / sizeof(save_refuses[0]); i++) {
		const struct save_refuse *t = &save_refuses[i];

		assert_int_equal(mdlist_save(f->dirfd, &d, &g, 1), 0);
		assert_true(exists(f, MDLIST_FILE));
		set_msgs(m, t->names, t->n);
		if (t->expunged >= 0)
			m[t->expunged].deleted = MAIL_EXPUNGED;
		if (mdlist_save(f->dirfd, &d, m, (uint32_t)t->n) != -1)
			fail_msg("case %zu (%s): saved", i, t->why);
		if (exists(f, MDLIST_FILE))
			fail_msg("case %zu (%s): old listing left", i, t->why);
		assert_dir_holds(f, none, 3);
		/* and with no listing there, still nothing */
		assert_int_equal(mdlist_save(f->dirfd, &d, m, (uint32_t)t->n),
		    -1);
		assert_dir_holds(f, none, 3);
		free_msgs(m, t->n);
	}
	free_msgs(&g, 1);
}

/* An old file with loose permissions is replaced by a 0600 one,
 * whatever the umask. */
static void
test_save_mode(void **state)
{
	struct fx *f = *state;
	static const char *const names[] = { "new/y" };
	struct mdlist_dirs d = want_std;
	struct mail_msg m;
	char hdr[256], want[512];
	mode_t old;

	put_file(f, MDLIST_FILE, HDR "1\ncur/x\n", 0644);
	set_msgs(&m, names, 1);
	old = umask(0);
	assert_int_equal(mdlist_save(f->dirfd, &d, &m, 1), 0);
	umask(old);
	header_for(&d, 1, hdr, sizeof(hdr));
	snprintf(want, sizeof(want), "%snew/y\n", hdr);
	assert_listing_file(f, want);
	free_msgs(&m, 1);
}

/* The temp name is predictable: a symlink (or any file) left there is
 * removed, never written through, and the new listing is written. */
static void
test_save_tmp_symlink(void **state)
{
	struct fx *f = *state;
	static const char *const names[] = { "cur/new" };
	static const char *const left[] = { MDLIST_FILE, "victim" };
	char tmp[128], got[256], p[256];
	struct mdlist_dirs d = want_std;
	struct mail_msg m;

	put_file(f, "victim", "precious\n", 0600);
	put_file(f, MDLIST_FILE, HDR "1\ncur/old\n", 0600);
	snprintf(tmp, sizeof(tmp), "%s.%ld", MDLIST_FILE, (long)getpid());
	path_of(f, tmp, p, sizeof(p));
	assert_int_equal(symlink("victim", p), 0);
	set_msgs(&m, names, 1);
	assert_int_equal(mdlist_save(f->dirfd, &d, &m, 1), 0);
	path_of(f, "victim", p, sizeof(p));
	get_file(p, got, sizeof(got));
	assert_string_equal(got, "precious\n");
	assert_listing_file(f, HDR "1\ncur/new\n");
	assert_dir_holds(f, left, 2);	/* the planted link is gone */
	free_msgs(&m, 1);
}

/* The rename fails (a non-empty directory holds the name): -1, the
 * directory untouched, no temp file left behind. */
static void
test_save_rename_fails(void **state)
{
	struct fx *f = *state;
	static const char *const names[] = { "cur/a" };
	static const char *const left[] = { MDLIST_FILE };
	struct mdlist_dirs d = want_std;
	struct mail_msg m;
	char p[256];

	path_of(f, MDLIST_FILE, p, sizeof(p));
	assert_int_equal(mkdir(p, 0700), 0);
	put_file(f, MDLIST_FILE "/keep", "x", 0600);
	set_msgs(&m, names, 1);
	assert_int_equal(mdlist_save(f->dirfd, &d, &m, 1), -1);
	assert_dir_holds(f, left, 1);
	assert_true(exists(f, MDLIST_FILE "/keep"));
	free_msgs(&m, 1);
}

/* A symlink named .privpop-listing is not followed, even to a valid
 * listing in the same directory (which loads fine under its own name). */
static void
test_load_symlink(void **state)
{
	struct fx *f = *state;
	static const char *const names[] = { "cur/a", "new/b" };
	char p[256];
	struct mdlist l;

	put_file(f, "real", HDR "2\ncur/a\nnew/b\n", 0600);
	path_of(f, MDLIST_FILE, p, sizeof(p));
	assert_int_equal(symlink("real", p), 0);
	memset(&l, 0x5a, sizeof(l));
	assert_int_equal(mdlist_load(&l, f->dirfd, &want_std), -1);
	assert_list_empty(&l);
	mdlist_free(&l);

	/* the control: the same bytes as a plain file do load */
	assert_int_equal(unlink(p), 0);
	put_file(f, MDLIST_FILE, HDR "2\ncur/a\nnew/b\n", 0600);
	assert_int_equal(mdlist_load(&l, f->dirfd, &want_std), 0);
	assert_names(&l, names, 2);
	mdlist_free(&l);
}

/* Missing, empty, cut short, garbage, a directory, a FIFO (must not
 * block): all leave the listing empty. */
static void
test_load_bad_files(void **state)
{
	struct fx *f = *state;
	char p[256];
	struct mdlist l;

	path_of(f, MDLIST_FILE, p, sizeof(p));

	memset(&l, 0x5a, sizeof(l));
	assert_int_equal(mdlist_load(&l, f->dirfd, &want_std), -1);
	assert_list_empty(&l);

	put_file(f, MDLIST_FILE, "", 0600);
	memset(&l, 0x5a, sizeof(l));
	assert_int_equal(mdlist_load(&l, f->dirfd, &want_std), -1);
	assert_list_empty(&l);

	put_file(f, MDLIST_FILE, HDR "2\ncur/a\nnew/b", 0600);
	memset(&l, 0x5a, sizeof(l));
	assert_int_equal(mdlist_load(&l, f->dirfd, &want_std), -1);
	assert_list_empty(&l);

	put_file(f, MDLIST_FILE, HDR "2\ncur/a\n", 0600);	/* a line lost */
	memset(&l, 0x5a, sizeof(l));
	assert_int_equal(mdlist_load(&l, f->dirfd, &want_std), -1);
	assert_list_empty(&l);

	put_file(f, MDLIST_FILE, "\x89PNG\r\n\x1a\n garbage", 0600);
	memset(&l, 0x5a, sizeof(l));
	assert_int_equal(mdlist_load(&l, f->dirfd, &want_std), -1);
	assert_list_empty(&l);

	assert_int_equal(unlink(p), 0);
	assert_int_equal(mkdir(p, 0700), 0);
	memset(&l, 0x5a, sizeof(l));
	assert_int_equal(mdlist_load(&l, f->dirfd, &want_std), -1);
	assert_list_empty(&l);
	assert_int_equal(rmdir(p), 0);

	assert_int_equal(mkfifo(p, 0600), 0);
	alarm(10);	/* a blocking open of the FIFO fails the test */
	memset(&l, 0x5a, sizeof(l));
	assert_int_equal(mdlist_load(&l, f->dirfd, &want_std), -1);
	alarm(0);
	assert_list_empty(&l);
	assert_int_equal(unlink(p), 0);

	/* unreadable: also empty (unless root, who reads it anyway) */
	if (geteuid() != 0) {
		put_file(f, MDLIST_FILE, HDR "1\ncur/a\n", 0);
		memset(&l, 0x5a, sizeof(l));
		assert_int_equal(mdlist_load(&l, f->dirfd, &want_std), -1);
		assert_list_empty(&l);
	}
}

/* ---- the listing as maildir_open / maildir_close use it ---- */

struct msg_want {
	const char	*name;
	const char	*uidl;
	uint64_t	 size;
};

static void
assert_msgs(const struct maildir *md, const struct msg_want *w, size_t n)
{
	uint64_t octets = 0;
	size_t i;

	if (md->count != n)
		fail_msg("%u messages, want %zu", md->count, n);
	for (i = 0; i < n; i++) {
		if (strcmp(md->msgs[i].name, w[i].name) != 0)
			fail_msg("message %zu: \"%s\", want \"%s\"", i,
			    md->msgs[i].name, w[i].name);
		assert_string_equal(md->msgs[i].uidl, w[i].uidl);
		assert_int_equal(md->msgs[i].size, w[i].size);
		assert_int_equal(md->msgs[i].deleted, 0);
		octets += w[i].size;
	}
	assert_int_equal(md->octets, octets);
}

/* The listing maildir_close should have written for these messages
 * under the directories' stamps now. */
static void
assert_listing_of(const struct fx *f, const struct msg_want *w, size_t n)
{
	struct mdlist_dirs d;
	char want[4096];
	size_t off, i;

	assert_int_equal(mdlist_stat(f->dirfd, &d), 0);
	header_for(&d, n, want, sizeof(want));
	off = strlen(want);
	for (i = 0; i < n; i++) {
		int k = snprintf(want + off, sizeof(want) - off, "%s\n",
		    w[i].name);

		assert_true(k > 0 && (size_t)k < sizeof(want) - off);
		off += (size_t)k;
	}
	assert_listing_file(f, want);
}

/* Four messages in cur/ and new/, both directories' mtimes "old"
 * (100 s ago, with nanoseconds), returned in *old. */
static void
make_settled_maildir(const struct fx *f, struct timespec *old)
{
	make_maildir(f);
	put_file(f, "cur/1000.a.h:2,S", "a\n", 0600);		/* 3 */
	put_file(f, "new/1001.b.h", "bb\n", 0600);		/* 4 */
	put_file(f, "cur/1002.c.h,W=77:2,", "c\n", 0600);	/* 77 */
	put_file(f, "new/1003.d.h", "", 0600);			/* 0 */
	old->tv_sec = time(NULL) - 100;
	old->tv_nsec = 123456789;
	set_mtime(f, "cur", old->tv_sec, old->tv_nsec);
	set_mtime(f, "new", old->tv_sec, old->tv_nsec);
}

static const struct msg_want four[] = {
	{ "cur/1000.a.h:2,S", "1000.a.h", 3 },
	{ "new/1001.b.h", "1001.b.h", 4 },
	{ "cur/1002.c.h,W=77:2,", "1002.c.h,W=77", 77 },
	{ "new/1003.d.h", "1003.d.h", 0 },
};

static const struct msg_want five[] = {
	{ "cur/1000.a.h:2,S", "1000.a.h", 3 },
	{ "new/1001.b.h", "1001.b.h", 4 },
	{ "cur/1002.c.h,W=77:2,", "1002.c.h,W=77", 77 },
	{ "new/1003.d.h", "1003.d.h", 0 },
	{ "new/1004.e.h", "1004.e.h", 6 },
};

static void
test_maildir_uses_listing(void **state)
{
	struct fx *f = *state;
	struct timespec old;
	struct maildir md;
	struct stat a, b;
	char p[256];

	path_of(f, MDLIST_FILE, p, sizeof(p));
	make_settled_maildir(f, &old);

	/* first open: a full scan, settled, the listing saved at close */
	assert_int_equal(maildir_open(&md, f->dir), MAIL_OK);
	assert_msgs(&md, four, 4);
	assert_true(md.listing_stale);
	assert_false(exists(f, MDLIST_FILE));	/* not before close */
	maildir_close(&md);
	assert_listing_of(f, four, 4);

	/* second open: the same messages, from the listing, which is not
	 * rewritten */
	assert_int_equal(stat(p, &a), 0);
	assert_int_equal(maildir_open(&md, f->dir), MAIL_OK);
	assert_msgs(&md, four, 4);
	assert_false(md.listing_stale);
	maildir_close(&md);
	assert_int_equal(stat(p, &b), 0);
	assert_int_equal(a.st_ino, b.st_ino);

	/* a delivery hidden behind new/'s old mtime: the listing is
	 * believed, so the new file is not seen (proof that the names come
	 * from the listing, not from reading new/) */
	put_file(f, "new/1004.e.h", "eeee\n", 0600);		/* 6 */
	set_mtime(f, "new", old.tv_sec, old.tv_nsec);
	assert_int_equal(maildir_open(&md, f->dir), MAIL_OK);
	assert_msgs(&md, four, 4);
	assert_false(md.listing_stale);
	maildir_close(&md);
	assert_int_equal(stat(p, &b), 0);
	assert_int_equal(a.st_ino, b.st_ino);

	/* the same second, another nanosecond: a change */
	set_mtime(f, "new", old.tv_sec, old.tv_nsec + 1);
	assert_int_equal(maildir_open(&md, f->dir), MAIL_OK);
	assert_msgs(&md, five, 5);
	assert_true(md.listing_stale);
	maildir_close(&md);
	assert_listing_of(f, five, 5);

	/* and back to old: the listing just written is stale again */
	set_mtime(f, "new", old.tv_sec, old.tv_nsec);
	assert_int_equal(maildir_open(&md, f->dir), MAIL_OK);
	assert_msgs(&md, five, 5);
	assert_true(md.listing_stale);
	maildir_close(&md);
	assert_listing_of(f, five, 5);
	assert_int_equal(maildir_open(&md, f->dir), MAIL_OK);
	assert_msgs(&md, five, 5);
	assert_false(md.listing_stale);
	maildir_close(&md);
}

/* A delivery that changes new/'s mtime, as any delivery does: seen at
 * once, and the next listing has it. */
static void
test_maildir_sees_new_mail(void **state)
{
	struct fx *f = *state;
	struct timespec old;
	struct maildir md;

	make_settled_maildir(f, &old);
	assert_int_equal(maildir_open(&md, f->dir), MAIL_OK);
	maildir_close(&md);
	assert_listing_of(f, four, 4);

	put_file(f, "new/1004.e.h", "eeee\n", 0600);
	/* the kernel set new/'s mtime to now: not settled, so no listing
	 * is saved for it yet, and the stale one stays unused */
	assert_int_equal(maildir_open(&md, f->dir), MAIL_OK);
	assert_msgs(&md, five, 5);
	assert_false(md.listing_stale);
	maildir_close(&md);

	/* settled later: saved */
	set_mtime(f, "new", old.tv_sec + 50, 0);
	assert_int_equal(maildir_open(&md, f->dir), MAIL_OK);
	assert_msgs(&md, five, 5);
	assert_true(md.listing_stale);
	maildir_close(&md);
	assert_listing_of(f, five, 5);

	/* a message moved to cur/ and one removed (cur/ changes too) */
	{
		static const struct msg_want w[] = {
			{ "cur/1000.a.h:2,S", "1000.a.h", 3 },
			{ "cur/1001.b.h:2,S", "1001.b.h", 4 },
			{ "new/1003.d.h", "1003.d.h", 0 },
			{ "new/1004.e.h", "1004.e.h", 6 },
		};
		char p[256], q[256];

		path_of(f, "new/1001.b.h", p, sizeof(p));
		path_of(f, "cur/1001.b.h:2,S", q, sizeof(q));
		assert_int_equal(rename(p, q), 0);
		path_of(f, "cur/1002.c.h,W=77:2,", p, sizeof(p));
		assert_int_equal(unlink(p), 0);
		set_mtime(f, "new", old.tv_sec + 60, 0);
		set_mtime(f, "cur", old.tv_sec + 60, 0);
		assert_int_equal(maildir_open(&md, f->dir), MAIL_OK);
		assert_msgs(&md, w, 4);
		assert_true(md.listing_stale);
		maildir_close(&md);
		assert_listing_of(f, w, 4);
		assert_int_equal(maildir_open(&md, f->dir), MAIL_OK);
		assert_msgs(&md, w, 4);
		assert_false(md.listing_stale);
		maildir_close(&md);
	}
}

/* Changed within MDLIST_SETTLE_SECS of the scan: no listing written
 * (a change later in the same tick could hide behind the mtime). */
static void
test_maildir_unsettled(void **state)
{
	struct fx *f = *state;
	struct timespec old;
	struct maildir md;
	time_t now;

	make_settled_maildir(f, &old);
	now = time(NULL);
	set_mtime(f, "cur", now, 0);
	assert_int_equal(maildir_open(&md, f->dir), MAIL_OK);
	assert_msgs(&md, four, 4);
	assert_false(md.listing_stale);
	maildir_close(&md);
	assert_false(exists(f, MDLIST_FILE));

	set_mtime(f, "cur", old.tv_sec, old.tv_nsec);
	set_mtime(f, "new", now, 0);
	assert_int_equal(maildir_open(&md, f->dir), MAIL_OK);
	assert_msgs(&md, four, 4);
	assert_false(md.listing_stale);
	maildir_close(&md);
	assert_false(exists(f, MDLIST_FILE));

	/* in the future (clock skew): not settled either */
	set_mtime(f, "new", now + 3600, 0);
	assert_int_equal(maildir_open(&md, f->dir), MAIL_OK);
	assert_false(md.listing_stale);
	maildir_close(&md);
	assert_false(exists(f, MDLIST_FILE));

	/* the control: both old, saved */
	set_mtime(f, "new", old.tv_sec, old.tv_nsec);
	assert_int_equal(maildir_open(&md, f->dir), MAIL_OK);
	assert_true(md.listing_stale);
	maildir_close(&md);
	assert_listing_of(f, four, 4);
}

/* A listing under the right stamps but malformed is not believed: a
 * full scan (all messages, in order), and a good listing written. */
static void
test_maildir_bad_listing(void **state)
{
	static const char *const bodies[] = {
		/* out of order */
		"4\nnew/1001.b.h\ncur/1000.a.h:2,S\ncur/1002.c.h,W=77:2,\n"
		    "new/1003.d.h\n",
		/* one base name in cur/ and new/ */
		"4\ncur/1000.a.h:2,S\nnew/1001.b.h\ncur/1001.b.h\n"
		    "new/1003.d.h\n",
		/* a count that is not the lines' */
		"5\ncur/1000.a.h:2,S\nnew/1001.b.h\ncur/1002.c.h,W=77:2,\n"
		    "new/1003.d.h\n",
		/* a dot file */
		"1\ncur/.privpop-sizes\n",
		/* a path out of the Maildir */
		"1\ncur/../../etc\n",
		/* no final newline */
		"4\ncur/1000.a.h:2,S\nnew/1001.b.h\ncur/1002.c.h,W=77:2,\n"
		    "new/1003.d.h",
	};
	struct fx *f = *state;
	struct timespec old;
	struct maildir md;
	struct mdlist_dirs d;
	char text[1024];
	size_t i;

	make_settled_maildir(f, &old);
	assert_int_equal(mdlist_stat(f->dirfd, &d), 0);
	for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		size_t off;

		header_for(&d, 0, text, sizeof(text));
		off = strlen(text) - 2;		/* the count goes again */
		assert_true(text[off] == '0' && text[off + 1] == '\n');
		snprintf(text + off, sizeof(text) - off, "%s", bodies[i]);
		put_file(f, MDLIST_FILE, text, 0600);
		assert_int_equal(maildir_open(&md, f->dir), MAIL_OK);
		assert_msgs(&md, four, 4);
		if (!md.listing_stale)
			fail_msg("listing %zu: not rewritten", i);
		maildir_close(&md);
		assert_listing_of(f, four, 4);
	}

	/* the control: the same header and the right names are believed
	 * (a name left out stays out) */
	header_for(&d, 3, text, sizeof(text));
	snprintf(text + strlen(text), sizeof(text) - strlen(text),
	    "cur/1000.a.h:2,S\nnew/1001.b.h\nnew/1003.d.h\n");
	put_file(f, MDLIST_FILE, text, 0600);
	{
		static const struct msg_want w[] = {
			{ "cur/1000.a.h:2,S", "1000.a.h", 3 },
			{ "new/1001.b.h", "1001.b.h", 4 },
			{ "new/1003.d.h", "1003.d.h", 0 },
		};

		assert_int_equal(maildir_open(&md, f->dir), MAIL_OK);
		assert_msgs(&md, w, 3);
		assert_false(md.listing_stale);
		maildir_close(&md);
	}
}

/* A message that cannot be listed (the same unique name in cur/ and
 * new/) makes the mailbox one that is scanned every time: save refuses,
 * and the listing already there is removed. */
static void
test_maildir_unlistable(void **state)
{
	struct fx *f = *state;
	struct timespec old;
	struct maildir md;
	int k;

	make_settled_maildir(f, &old);
	assert_int_equal(maildir_open(&md, f->dir), MAIL_OK);
	maildir_close(&md);
	assert_true(exists(f, MDLIST_FILE));

	put_file(f, "cur/1003.d.h", "", 0600);
	set_mtime(f, "cur", old.tv_sec + 1, 0);
	for (k = 0; k < 2; k++) {
		assert_int_equal(maildir_open(&md, f->dir), MAIL_OK);
		assert_int_equal(md.count, 5);
		assert_true(md.listing_stale);
		maildir_close(&md);
		assert_false(exists(f, MDLIST_FILE));
	}
}

/* DELE + QUIT: the expunged messages change cur/ and new/, and the
 * listing is not written with them in it (save refuses; no file). */
static void
test_maildir_expunge(void **state)
{
	struct fx *f = *state;
	static const struct msg_want w[] = {
		{ "new/1001.b.h", "1001.b.h", 4 },
		{ "cur/1002.c.h,W=77:2,", "1002.c.h,W=77", 77 },
		{ "new/1003.d.h", "1003.d.h", 0 },
	};
	struct timespec old;
	struct maildir md;
	uint32_t failed = 9;

	make_settled_maildir(f, &old);
	assert_int_equal(maildir_open(&md, f->dir), MAIL_OK);
	assert_true(md.listing_stale);
	md.msgs[0].deleted = 1;
	assert_int_equal(maildir_expunge(&md, &failed), 1);
	assert_int_equal(failed, 0);
	maildir_close(&md);
	assert_false(exists(f, MDLIST_FILE));

	set_mtime(f, "cur", old.tv_sec, 0);
	assert_int_equal(maildir_open(&md, f->dir), MAIL_OK);
	assert_msgs(&md, w, 3);
	maildir_close(&md);
	assert_listing_of(f, w, 3);

	/* an expunge in a session that used the listing: cur/ changes, the
	 * next open scans */
	assert_int_equal(maildir_open(&md, f->dir), MAIL_OK);
	assert_false(md.listing_stale);
	md.msgs[1].deleted = 1;
	assert_int_equal(maildir_expunge(&md, &failed), 1);
	maildir_close(&md);
	assert_int_equal(maildir_open(&md, f->dir), MAIL_OK);
	assert_int_equal(md.count, 2);
	assert_string_equal(md.msgs[0].name, "new/1001.b.h");
	assert_string_equal(md.msgs[1].name, "new/1003.d.h");
	maildir_close(&md);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_valid),
		cmocka_unit_test(test_parse_empty),
		cmocka_unit_test(test_parse_order),
		cmocka_unit_test(test_parse_cr),
		cmocka_unit_test(test_parse_bad),
		cmocka_unit_test(test_parse_stamps),
		cmocka_unit_test(test_parse_ranges),
		cmocka_unit_test(test_parse_bad_fields),
		cmocka_unit_test(test_parse_name_length),
		cmocka_unit_test(test_parse_max_messages),
		cmocka_unit_test(test_parse_max_bytes),
		cmocka_unit_test(test_settled),
		cmocka_unit_test_setup_teardown(test_stat, setup_dir,
		    teardown_dir),
		cmocka_unit_test_setup_teardown(test_save_load, setup_dir,
		    teardown_dir),
		cmocka_unit_test_setup_teardown(test_save_stamps_given,
		    setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_save_refuses, setup_dir,
		    teardown_dir),
		cmocka_unit_test_setup_teardown(test_save_mode, setup_dir,
		    teardown_dir),
		cmocka_unit_test_setup_teardown(test_save_tmp_symlink,
		    setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_save_rename_fails,
		    setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_load_symlink, setup_dir,
		    teardown_dir),
		cmocka_unit_test_setup_teardown(test_load_bad_files, setup_dir,
		    teardown_dir),
		cmocka_unit_test_setup_teardown(test_maildir_uses_listing,
		    setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_maildir_sees_new_mail,
		    setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_maildir_unsettled,
		    setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_maildir_bad_listing,
		    setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_maildir_unlistable,
		    setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_maildir_expunge,
		    setup_dir, teardown_dir),
	};

	umask(022);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
