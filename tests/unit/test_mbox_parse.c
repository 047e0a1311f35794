/*
 * Unit tests for mailstore/mbox_parse.c: the streaming mbox parser.
 *
 * Every input is fed whole, byte by byte and in random chunks; the
 * results must be identical.  Every message found is checked against
 * the input itself: its From_ line, its bytes, its POP3 size (what
 * wire_encode makes of [start, end)) and its UIDL digest (MD5 of the
 * From_ line and the header lines up to and including the empty line,
 * computed here with OpenSSL).  A table gives the expected split of
 * hand-written mboxes; a line-based reference parser written here from
 * the rules in mbox_parse.h checks random mboxes.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/evp.h>

#include "mbox_parse.h"
#include "wire.h"

#define MAXMSG	64

struct found_list {
	struct mbox_found	m[MAXMSG];
	size_t			n;
	uint64_t		junk;
	int			fail_at;	/* -1, or fail at this n */
};

static int
collect(void *arg, const struct mbox_found *f)
{
	struct found_list *l = arg;

	if (l->fail_at >= 0 && (size_t)l->fail_at == l->n)
		return -1;
	assert_true(l->n < MAXMSG);
	l->m[l->n++] = *f;
	return 0;
}

/* A tiny deterministic PRNG, so failures reproduce. */
static uint32_t
rnd(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/* Scan in[0..len) in pieces: chunk 0 = one call, chunk 1 = byte by byte,
 * chunk (size_t)-1 = random sizes 1..23 from seed. */
#define CHUNK_RANDOM	((size_t)-1)

static void
scan(const unsigned char *in, size_t len, size_t chunk, uint32_t seed,
    struct found_list *l)
{
	struct mbox_scan s;
	size_t pos = 0;

	memset(l, 0, sizeof(*l));
	l->fail_at = -1;
	assert_int_equal(mbox_scan_init(&s, 0, collect, l), 0);
	if (len == 0) {
		/* an empty feed is harmless */
		assert_int_equal(mbox_scan_feed(&s, in, 0), 0);
	}
	while (pos < len) {
		size_t n;

		if (chunk == 0)
			n = len;
		else if (chunk == CHUNK_RANDOM)
			n = 1 + rnd(&seed) % 23;
		else
			n = chunk;
		if (n > len - pos)
			n = len - pos;
		assert_int_equal(mbox_scan_feed(&s, in + pos, n), 0);
		pos += n;
	}
	assert_int_equal(mbox_scan_finish(&s), 0);
	assert_int_equal(s.off, len);
	l->junk = s.junk;
	mbox_scan_free(&s);
}

/* POP3 octets of p[0..n) as the wire encoder counts them (RETR). */
static uint64_t
wire_octets(const unsigned char *p, size_t n)
{
	struct wire_enc w;

	wire_init(&w, WIRE_ALL_LINES);
	assert_int_equal(wire_encode(&w, p, n, NULL), 0);
	assert_int_equal(wire_finish(&w, NULL), 0);
	return w.octets;
}

/* MD5 of the From_ line at off and the lines after it, each with its
 * LF, up to and including the first empty line ("" or "\r"), or to the
 * end of the input; at most MBOX_HASH_HEADER_MAX bytes. */
static void
expected_digest(const unsigned char *in, size_t len, size_t off,
    unsigned char *out)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	size_t p = off, first = 1;

	while (p < len) {
		const unsigned char *nl = memchr(in + p, '\n', len - p);
		size_t ll = nl ? (size_t)(nl - (in + p)) : len - p;
		int blank = ll == 0 || (ll == 1 && in[p] == '\r');

		p += ll + (nl ? 1 : 0);
		if (blank && !first)
			break;
		first = 0;
	}
	if (p - off > MBOX_HASH_HEADER_MAX)
		p = off + MBOX_HASH_HEADER_MAX;
	assert_int_equal(EVP_Digest(in + off, p - off, md, &mdlen, EVP_md5(),
	    NULL), 1);
	memcpy(out, md, MBOX_DIGEST_LEN);
}

/* Is the line ending at in[off - 1] (its LF) empty? */
static int
blank_before(const unsigned char *in, size_t off)
{
	if (off < 1 || in[off - 1] != '\n')
		return 0;
	if (off == 1 || in[off - 2] == '\n')
		return 1;
	return in[off - 2] == '\r' && (off == 2 || in[off - 3] == '\n');
}

/* What must hold for every message of any input. */
static void
check_found(const unsigned char *in, size_t len, const struct found_list *l)
{
	size_t i;
	uint64_t prev_end = 0;

	for (i = 0; i < l->n; i++) {
		const struct mbox_found *f = &l->m[i];
		const unsigned char *nl;
		unsigned char d[MBOX_DIGEST_LEN];

		if (i == 0)
			assert_int_equal(f->from_off, l->junk);
		assert_true(f->from_off >= prev_end);
		assert_true(f->from_off + 5 <= len);
		assert_memory_equal(in + f->from_off, "From ", 5);
		/* a separator only at the start or after an empty line */
		assert_true(f->from_off == 0 ||
		    blank_before(in, (size_t)f->from_off));
		/* start: right after the From_ line */
		nl = memchr(in + f->from_off, '\n', len - f->from_off);
		assert_int_equal(f->start, nl ? (uint64_t)(nl - in) + 1 : len);
		assert_true(f->end >= f->start);
		assert_true(f->end <= len);
		assert_int_equal(f->size, wire_octets(in + f->start,
		    (size_t)(f->end - f->start)));
		expected_digest(in, len, (size_t)f->from_off, d);
		assert_memory_equal(f->digest, d, MBOX_DIGEST_LEN);
		/* between messages only the one empty line */
		if (i + 1 < l->n) {
			uint64_t gap = l->m[i + 1].from_off - f->end;

			assert_true(gap == 1 || gap == 2);
			assert_true(blank_before(in,
			    (size_t)l->m[i + 1].from_off));
		}
		prev_end = f->end;
	}
	if (l->n == 0)
		assert_int_equal(l->junk, len);
}

static void
same_results(const struct found_list *a, const struct found_list *b)
{
	size_t i;

	assert_int_equal(a->n, b->n);
	assert_int_equal(a->junk, b->junk);
	for (i = 0; i < a->n; i++) {
		assert_int_equal(a->m[i].from_off, b->m[i].from_off);
		assert_int_equal(a->m[i].start, b->m[i].start);
		assert_int_equal(a->m[i].end, b->m[i].end);
		assert_int_equal(a->m[i].size, b->m[i].size);
		assert_memory_equal(a->m[i].digest, b->m[i].digest,
		    MBOX_DIGEST_LEN);
	}
}

/* Scan whole, byte by byte, in fixed and in random chunks; all alike
 * and all valid.  The one-shot result is left in *l. */
static void
scan_all_ways(const unsigned char *in, size_t len, struct found_list *l)
{
	static struct found_list o;
	static const size_t fixed[] = { 1, 2, 3, 5, 7, 64, 4096 };
	size_t i;

	scan(in, len, 0, 0, l);
	check_found(in, len, l);
	for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		scan(in, len, fixed[i], 0, &o);
		same_results(l, &o);
	}
	for (i = 1; i <= 16; i++) {
		scan(in, len, CHUNK_RANDOM, (uint32_t)(i * 2654435761u), &o);
		same_results(l, &o);
	}
}

/* ---- the table ---- */

struct parse_case {
	const char	*name;
	const char	*in;
	uint64_t	 junk;
	size_t		 n;
	const char	*from[4];	/* each From_ line, LF excluded */
	const char	*body[4];	/* each message's [start, end) */
	int64_t		 size[4];	/* POP3 size; -1: not given */
};

static const struct parse_case cases[] = {
	{ "empty file", "", 0, 0, { NULL }, { NULL }, { -1 } },
	{ "one message",
	    "From a@b Mon Jan  1 00:00:00 2024\nSubject: x\n\nbody\n",
	    0, 1, { "From a@b Mon Jan  1 00:00:00 2024" },
	    { "Subject: x\n\nbody\n" }, { 20 } },
	{ "two messages", "From a\nS: 1\n\nb1\n\nFrom b\nS: 2\n\nb2\n", 0, 2,
	    { "From a", "From b" }, { "S: 1\n\nb1\n", "S: 2\n\nb2\n" },
	    { 12, 12 } },
	{ "From in body, not after an empty line",
	    "From a\nS: 1\n\nline\nFrom b is body\n", 0, 1, { "From a" },
	    { "S: 1\n\nline\nFrom b is body\n" }, { 30 } },
	{ "From right after the From_ line is body",
	    "From a\nFrom b\n", 0, 1, { "From a" }, { "From b\n" },
	    { 8 } },
	{ "From after a line of spaces is body",
	    "From a\nS\n\nx\n \nFrom b\n", 0, 1, { "From a" },
	    { "S\n\nx\n \nFrom b\n" }, { 19 } },
	{ ">From kept as it is",
	    "From a\nS\n\n>From x\n>>From y\n", 0, 1, { "From a" },
	    { "S\n\n>From x\n>>From y\n" }, { 24 } },
	{ ">From after an empty line is no separator",
	    "From a\nS\n\nx\n\n>From b\n", 0, 1, { "From a" },
	    { "S\n\nx\n\n>From b\n" }, { 19 } },
	{ "lower case from is no separator",
	    "From a\nS\n\nx\n\nfrom b\n", 0, 1, { "From a" },
	    { "S\n\nx\n\nfrom b\n" }, { 18 } },
	{ "From without a space is no separator",
	    "From a\nS\n\nx\n\nFrom\nFrom:b\n", 0, 1, { "From a" },
	    { "S\n\nx\n\nFrom\nFrom:b\n" }, { 24 } },
	{ "CRLF stored mbox",
	    "From a\r\nS: 1\r\n\r\nb\r\n\r\nFrom b\r\nS: 2\r\n\r\nc\r\n",
	    0, 2, { "From a\r", "From b\r" },
	    { "S: 1\r\n\r\nb\r\n", "S: 2\r\n\r\nc\r\n" }, { 11, 11 } },
	{ "CRLF trailing empty line",
	    "From a\r\nS\r\n\r\nbody\r\n\r\n", 0, 1, { "From a\r" },
	    { "S\r\n\r\nbody\r\n" }, { 11 } },
	{ "CRLF empty line separates in an LF file",
	    "From a\nS\n\nx\n\r\nFrom b\nT\n", 0, 2,
	    { "From a", "From b" }, { "S\n\nx\n", "T\n" }, { 8, 3 } },
	{ "no newline at the end", "From a\nS: 1\n\nbody", 0, 1, { "From a" },
	    { "S: 1\n\nbody" }, { 14 } },
	{ "CR without LF at the end", "From a\nS\n\nbody\r", 0, 1, { "From a" },
	    { "S\n\nbody\r" }, { 11 } },
	{ "trailing empty line is not the message's",
	    "From a\nS: 1\n\nbody\n\n", 0, 1, { "From a" },
	    { "S: 1\n\nbody\n" }, { 14 } },
	{ "two trailing empty lines: one is the message's",
	    "From a\nS\n\nbody\n\n\n", 0, 1, { "From a" },
	    { "S\n\nbody\n\n" }, { 13 } },
	{ "lone CR line at the end is the closing empty line",
	    "From a\nS\n\nbody\n\r", 0, 1, { "From a" },
	    { "S\n\nbody\n" }, { 11 } },
	{ "more empty lines between messages",
	    "From a\nS\n\nb\n\n\nFrom b\nS\n\nc\n", 0, 2,
	    { "From a", "From b" }, { "S\n\nb\n\n", "S\n\nc\n" }, { 10, 8 } },
	{ "junk before the first From_",
	    "junk line\nmore\n\nFrom a\nS: 1\n\nb\n", 16, 1, { "From a" },
	    { "S: 1\n\nb\n" }, { 11 } },
	{ "junk only", "hello\nworld\n", 12, 0, { NULL }, { NULL },
	    { -1 } },
	{ ">From at the start is junk",
	    ">From a\nS\n\nx\n", 13, 0, { NULL }, { NULL }, { -1 } },
	{ "junk without newline", "no mbox", 7, 0, { NULL }, { NULL },
	    { -1 } },
	{ "junk From not after an empty line",
	    "x\nFrom a\n\nFrom b\nS\n", 10, 1, { "From b" }, { "S\n" },
	    { 3 } },
	{ "Content-Length too short is ignored",
	    "From a\nContent-Length: 3\n\nabcdef\nFrom x\n\nFrom b\nS\n\nc\n",
	    0, 2, { "From a", "From b" },
	    { "Content-Length: 3\n\nabcdef\nFrom x\n", "S\n\nc\n" },
	    { 37, 8 } },
	{ "Content-Length too long is ignored",
	    "From a\nContent-Length: 1000\n\nabc\n\nFrom b\nS\n\nc\n", 0, 2,
	    { "From a", "From b" },
	    { "Content-Length: 1000\n\nabc\n", "S\n\nc\n" }, { 29, 8 } },
	{ "From_ line only", "From a\n", 0, 1, { "From a" }, { "" },
	    { 0 } },
	{ "From_ line without newline", "From a", 0, 1, { "From a" },
	    { "" }, { 0 } },
	{ "From_ line and the closing empty line", "From a\n\n", 0, 1,
	    { "From a" }, { "" }, { 0 } },
	{ "empty messages", "From a\n\nFrom b\n\nFrom c", 0, 3,
	    { "From a", "From b", "From c" }, { "", "", "" }, { 0, 0, 0 } },
	{ "bare From_ prefix", "From \n\nFrom \n", 0, 2,
	    { "From ", "From " }, { "", "" }, { 0, 0 } },
	{ "dot lines count unstuffed", "From a\n\n.\n..x\n", 0, 1,
	    { "From a" }, { "\n.\n..x\n" }, { 10 } },
	{ "bare CRs", "From a\nX: a\rb\n\nbody\r\r\n", 0, 1, { "From a" },
	    { "X: a\rb\n\nbody\r\r\n" }, { 17 } },
	{ "an empty file line only", "\n", 1, 0, { NULL }, { NULL },
	    { -1 } },
	{ "empty lines then a message", "\n\r\n\nFrom a\nS\n", 4, 1,
	    { "From a" }, { "S\n" }, { 3 } },
};

static void
test_table(void **state)
{
	static struct found_list l;
	size_t c, i;

	(void)state;
	for (c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		const struct parse_case *t = &cases[c];
		const unsigned char *in = (const unsigned char *)t->in;
		size_t len = strlen(t->in);

		scan_all_ways(in, len, &l);
		if (l.n != t->n)
			fail_msg("case %zu (%s): %zu messages, want %zu", c,
			    t->name, l.n, t->n);
		if (l.junk != t->junk)
			fail_msg("case %zu (%s): junk %llu, want %llu", c,
			    t->name, (unsigned long long)l.junk,
			    (unsigned long long)t->junk);
		for (i = 0; i < t->n; i++) {
			const struct mbox_found *f = &l.m[i];
			size_t fl = strlen(t->from[i]);
			size_t bl = strlen(t->body[i]);

			if (memcmp(in + f->from_off, t->from[i], fl) != 0)
				fail_msg("case %zu (%s) msg %zu: From_ line "
				    "at %llu", c, t->name, i,
				    (unsigned long long)f->from_off);
			assert_int_equal(f->start, f->from_off + fl +
			    (f->from_off + fl < len ? 1 : 0));
			if (f->end - f->start != bl)
				fail_msg("case %zu (%s) msg %zu: %llu bytes, "
				    "want %zu", c, t->name, i,
				    (unsigned long long)(f->end - f->start),
				    bl);
			if (memcmp(in + f->start, t->body[i], bl) != 0)
				fail_msg("case %zu (%s) msg %zu: bytes differ",
				    c, t->name, i);
			if (t->size[i] >= 0 &&
			    f->size != (uint64_t)t->size[i])
				fail_msg("case %zu (%s) msg %zu: size %llu, "
				    "want %lld", c, t->name, i,
				    (unsigned long long)f->size,
				    (long long)t->size[i]);
		}
	}
}

/* The digest: From_ line and headers with their LFs, empty line
 * included, nothing of the body; identical messages alike. */
static void
test_digest(void **state)
{
	static const char in[] =
	    "From a@x Mon Jan  1 00:00:00 2024\nSubject: s\nX: 1\n\nbody 1\n"
	    "\n"
	    "From a@x Mon Jan  1 00:00:00 2024\nSubject: s\nX: 1\n\nbody 2\n"
	    "\n"
	    "From b@x Mon Jan  1 00:00:00 2024\nSubject: s\nX: 1\n\nbody 1\n"
	    "\n"
	    "From a@x Mon Jan  1 00:00:00 2024\nSubject: s\nX: 2\n\nbody 1\n"
	    "\n"
	    "From a@x Mon Jan  1 00:00:00 2024\nSubject: s\nX: 1\n\nbody 1\n";
	static const char hashed[] =
	    "From a@x Mon Jan  1 00:00:00 2024\nSubject: s\nX: 1\n\n";
	static struct found_list l;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	(void)state;
	scan_all_ways((const unsigned char *)in, sizeof(in) - 1, &l);
	assert_int_equal(l.n, 5);
	assert_int_equal(EVP_Digest(hashed, sizeof(hashed) - 1, md, &mdlen,
	    EVP_md5(), NULL), 1);
	assert_memory_equal(l.m[0].digest, md, MBOX_DIGEST_LEN);
	/* the body does not count */
	assert_memory_equal(l.m[1].digest, md, MBOX_DIGEST_LEN);
	assert_memory_equal(l.m[4].digest, md, MBOX_DIGEST_LEN);
	/* the From_ line and every header line do */
	assert_memory_not_equal(l.m[2].digest, md, MBOX_DIGEST_LEN);
	assert_memory_not_equal(l.m[3].digest, md, MBOX_DIGEST_LEN);
	assert_memory_not_equal(l.m[2].digest, l.m[3].digest,
	    MBOX_DIGEST_LEN);

	/* a message without a body: all of it, to the end of the file */
	{
		static const char h[] = "From a\nS: 1";

		scan_all_ways((const unsigned char *)h, sizeof(h) - 1, &l);
		assert_int_equal(l.n, 1);
		assert_int_equal(EVP_Digest(h, sizeof(h) - 1, md, &mdlen,
		    EVP_md5(), NULL), 1);
		assert_memory_equal(l.m[0].digest, md, MBOX_DIGEST_LEN);
	}
	/* CRLF: the hashed bytes are as stored */
	{
		static const char c[] = "From a\r\nS: 1\r\n\r\nbody\r\n";

		scan_all_ways((const unsigned char *)c, sizeof(c) - 1, &l);
		assert_int_equal(l.n, 1);
		assert_int_equal(EVP_Digest(c, 16, md, &mdlen, EVP_md5(),
		    NULL), 1);
		assert_memory_equal(l.m[0].digest, md, MBOX_DIGEST_LEN);
	}
}

/* A header block longer than MBOX_HASH_HEADER_MAX: only that much is
 * hashed, so two messages differing after it share the digest. */
static void
test_digest_cap(void **state)
{
	size_t hl = MBOX_HASH_HEADER_MAX + 1000, cap = 2 * (hl + 64);
	unsigned char *in = malloc(cap);
	static struct found_list l;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	size_t len = 0, k, m0;

	(void)state;
	assert_non_null(in);
	for (k = 0; k < 2; k++) {
		size_t h;

		len += (size_t)sprintf((char *)in + len, "From a\n");
		/* header lines "X: xxxx...\n" of 100 bytes */
		for (h = 0; h + 100 <= hl; h += 100) {
			memcpy(in + len, "X: ", 3);
			memset(in + len + 3, 'a' + (int)(h / 100 % 26), 96);
			in[len + 99] = '\n';
			len += 100;
		}
		/* they differ only here, beyond the cap */
		len += (size_t)sprintf((char *)in + len, "Y: %zu\n\nbody\n\n",
		    k);
	}
	scan(in, len, 0, 0, &l);
	check_found(in, len, &l);
	assert_int_equal(l.n, 2);
	assert_int_equal(EVP_Digest(in, MBOX_HASH_HEADER_MAX, md, &mdlen,
	    EVP_md5(), NULL), 1);
	assert_memory_equal(l.m[0].digest, md, MBOX_DIGEST_LEN);
	assert_memory_equal(l.m[1].digest, md, MBOX_DIGEST_LEN);
	m0 = (size_t)l.m[0].end;
	assert_true(m0 > MBOX_HASH_HEADER_MAX);
	/* chunked the same */
	{
		static struct found_list o;

		scan(in, len, 1, 0, &o);
		same_results(&l, &o);
		scan(in, len, CHUNK_RANDOM, 7, &o);
		same_results(&l, &o);
	}
	free(in);
}

/* NUL bytes are ordinary bytes. */
static void
test_nul(void **state)
{
	static const char in[] = "From a\nS\n\nx\0y\n\nFrom b\0\n\0";
	static struct found_list l;

	(void)state;
	scan_all_ways((const unsigned char *)in, sizeof(in) - 1, &l);
	assert_int_equal(l.n, 2);
	assert_int_equal(l.m[0].from_off, 0);
	assert_int_equal(l.m[0].start, 7);
	assert_int_equal(l.m[0].end, 14);		/* "S\n\nx\0y\n" */
	assert_int_equal(l.m[0].size, 10);
	assert_int_equal(l.m[1].from_off, 15);
	assert_int_equal(l.m[1].start, 23);
	assert_int_equal(l.m[1].end, 24);		/* "\0" */
	assert_int_equal(l.m[1].size, 3);
}

/* A callback error stops the scan with -1. */
static void
test_callback_error(void **state)
{
	static const char in[] = "From a\nS\n\nx\n\nFrom b\nS\n\ny\n";
	static struct found_list l;
	struct mbox_scan s;

	(void)state;
	memset(&l, 0, sizeof(l));
	l.fail_at = 0;
	assert_int_equal(mbox_scan_init(&s, 0, collect, &l), 0);
	assert_int_equal(mbox_scan_feed(&s, (const unsigned char *)in,
	    sizeof(in) - 1), -1);
	mbox_scan_free(&s);

	/* the last message fails at finish */
	memset(&l, 0, sizeof(l));
	l.fail_at = 1;
	assert_int_equal(mbox_scan_init(&s, 0, collect, &l), 0);
	assert_int_equal(mbox_scan_feed(&s, (const unsigned char *)in,
	    sizeof(in) - 1), 0);
	assert_int_equal(mbox_scan_finish(&s), -1);
	assert_int_equal(l.n, 1);
	mbox_scan_free(&s);
}

/* Scanning from a From_ line in the middle (how mbox.c rescans the
 * last cached message) gives the same messages with file offsets. */
static void
test_base(void **state)
{
	static const char in[] =
	    "From a\nS: 1\n\nb1\n\nFrom b\nS: 2\n\nb2\n\nFrom c\nS: 3\n\nb3";
	static struct found_list whole, part;
	struct mbox_scan s;
	size_t base, i;

	(void)state;
	scan((const unsigned char *)in, sizeof(in) - 1, 0, 0, &whole);
	assert_int_equal(whole.n, 3);
	for (i = 0; i < 3; i++) {
		base = (size_t)whole.m[i].from_off;
		memset(&part, 0, sizeof(part));
		part.fail_at = -1;
		assert_int_equal(mbox_scan_init(&s, base, collect, &part), 0);
		assert_int_equal(mbox_scan_feed(&s,
		    (const unsigned char *)in + base, sizeof(in) - 1 - base),
		    0);
		assert_int_equal(mbox_scan_finish(&s), 0);
		assert_int_equal(s.junk, 0);
		mbox_scan_free(&s);
		assert_int_equal(part.n, 3 - i);
		assert_memory_equal(&part.m[0], &whole.m[i],
		    part.n * sizeof(part.m[0]));
	}
}

/* ---- random mboxes against a reference parser ---- */

struct ref_line {
	size_t	off, len;	/* len without the LF */
	int	has_lf;
};

static int
ref_blank(const unsigned char *in, const struct ref_line *ln)
{
	return ln->len == 0 || (ln->len == 1 && in[ln->off] == '\r');
}

/* The rules of mbox_parse.h, line by line over the whole input. */
static void
ref_parse(const unsigned char *in, size_t len, struct found_list *l)
{
	static struct ref_line lines[4096];
	size_t nl = 0, p = 0, i, sep[MAXMSG], ns = 0;

	memset(l, 0, sizeof(*l));
	while (p < len) {
		const unsigned char *e = memchr(in + p, '\n', len - p);

		assert_true(nl < 4096);
		lines[nl].off = p;
		lines[nl].len = e ? (size_t)(e - (in + p)) : len - p;
		lines[nl].has_lf = e != NULL;
		p += lines[nl].len + (e ? 1 : 0);
		nl++;
	}
	for (i = 0; i < nl; i++)
		if (lines[i].len >= 5 && memcmp(in + lines[i].off, "From ", 5)
		    == 0 && (i == 0 || ref_blank(in, &lines[i - 1]))) {
			assert_true(ns < MAXMSG);
			sep[ns++] = i;
		}
	l->junk = ns ? lines[sep[0]].off : len;
	for (i = 0; i < ns; i++) {
		struct mbox_found *f = &l->m[l->n++];
		const struct ref_line *fl = &lines[sep[i]];

		memset(f, 0, sizeof(*f));
		f->from_off = fl->off;
		f->start = fl->off + fl->len + (fl->has_lf ? 1 : 0);
		if (i + 1 < ns)
			f->end = lines[sep[i + 1] - 1].off;
		else if (nl - 1 > sep[i] && ref_blank(in, &lines[nl - 1]))
			f->end = lines[nl - 1].off;
		else
			f->end = len;
		f->size = wire_octets(in + f->start,
		    (size_t)(f->end - f->start));
		expected_digest(in, len, (size_t)f->from_off, f->digest);
	}
}

static void
test_random_vs_reference(void **state)
{
	static const char *pieces[] = {
		"From a@b Mon Jan  1 00:00:00 2024", "From ", "From", ">From x",
		"", "", "", "\r", "Subject: x", "body", ".", "..", "a\rb", " ",
		"From b", "X: 1\r", "Content-Length: 2",
	};
	static unsigned char in[8192];
	static struct found_list l, r;
	uint32_t seed = 12345;
	size_t total = 0, junky = 0;
	int iter;

	(void)state;
	for (iter = 0; iter < 3000; iter++) {
		size_t len = 0, nlines = rnd(&seed) % 40, k;

		for (k = 0; k < nlines; k++) {
			/* most start like an mbox, some with junk */
			const char *pc = k == 0 && iter % 4 != 0 ? pieces[0] :
			    pieces[rnd(&seed) %
			    (sizeof(pieces) / sizeof(pieces[0]))];
			size_t pl = strlen(pc);

			memcpy(in + len, pc, pl);
			len += pl;
			switch (rnd(&seed) % 8) {
			case 0:
				in[len++] = '\r';
				in[len++] = '\n';
				break;
			case 1:
				if (k + 1 == nlines)
					break;	/* no final newline */
				/* FALLTHROUGH */
			default:
				in[len++] = '\n';
				break;
			}
		}
		scan_all_ways(in, len, &l);
		ref_parse(in, len, &r);
		if (l.n != r.n || l.junk != r.junk)
			fail_msg("iteration %d: %zu messages junk %llu, "
			    "reference %zu junk %llu", iter, l.n,
			    (unsigned long long)l.junk, r.n,
			    (unsigned long long)r.junk);
		same_results(&l, &r);
		total += l.n;
		junky += l.junk > 0;
	}
	/* the generator does make mboxes, and junk */
	print_message("%zu messages, %zu with junk\n", total, junky);
	assert_true(total > 4000);
	assert_true(junky > 300);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_digest),
		cmocka_unit_test(test_digest_cap),
		cmocka_unit_test(test_nul),
		cmocka_unit_test(test_callback_error),
		cmocka_unit_test(test_base),
		cmocka_unit_test(test_random_vs_reference),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
