/*
 * Unit tests for mailstore/wire.c: the RFC 1939 wire form of a message
 * (CRLF line ends, dot-stuffing, final CRLF), TOP and octet counting.
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

#include "buf.h"
#include "limits.h"
#include "wire.h"

#define ALL	WIRE_ALL_LINES

/* Encode in[0..len) in pieces of chunk bytes (0: one call). */
static void
encode(const char *in, size_t len, uint64_t maxl, size_t chunk,
    struct buf *out, uint64_t *octets_r)
{
	struct wire_enc w;
	size_t pos = 0;

	wire_init(&w, maxl);
	if (chunk == 0)
		chunk = len ? len : 1;
	while (pos < len) {
		size_t n = len - pos < chunk ? len - pos : chunk;

		assert_int_equal(wire_encode(&w, (const unsigned char *)in +
		    pos, n, out), 0);
		pos += n;
	}
	assert_int_equal(wire_finish(&w, out), 0);
	*octets_r = w.octets;
}

/* The octets as counted without an output buffer. */
static uint64_t
count_only(const char *in, size_t len, uint64_t maxl, size_t chunk)
{
	struct wire_enc w;
	size_t pos = 0;

	wire_init(&w, maxl);
	if (chunk == 0)
		chunk = len ? len : 1;
	while (pos < len) {
		size_t n = len - pos < chunk ? len - pos : chunk;

		assert_int_equal(wire_encode(&w, (const unsigned char *)in +
		    pos, n, NULL), 0);
		pos += n;
	}
	assert_int_equal(wire_finish(&w, NULL), 0);
	return w.octets;
}

/* Stuffing dots: a '.' at the start of an output line, doubled. */
static size_t
stuffing_dots(const unsigned char *p, size_t n)
{
	size_t i, k = 0;

	for (i = 0; i + 1 < n; i++)
		if ((i == 0 || p[i - 1] == '\n') && p[i] == '.') {
			if (p[i + 1] != '.')
				fail_msg("unstuffed dot at %zu", i);
			k++;
		}
	return k;
}

struct wire_case {
	const char	*in;
	uint64_t	 maxl;
	const char	*out;
	uint64_t	 octets;
};

static const struct wire_case cases[] = {
	/* line ends */
	{ "", ALL, "", 0 },
	{ "a", ALL, "a\r\n", 3 },
	{ "a\n", ALL, "a\r\n", 3 },
	{ "a\r\n", ALL, "a\r\n", 3 },
	{ "a\nb\n", ALL, "a\r\nb\r\n", 6 },
	{ "a\r\nb\n", ALL, "a\r\nb\r\n", 6 },
	{ "a\nb\r\n", ALL, "a\r\nb\r\n", 6 },
	{ "a\nb", ALL, "a\r\nb\r\n", 6 },		/* no final newline */
	{ "\n", ALL, "\r\n", 2 },
	{ "\r\n", ALL, "\r\n", 2 },
	{ "\n\n\n", ALL, "\r\n\r\n\r\n", 6 },
	/* bare CR */
	{ "a\r", ALL, "a\r\n", 3 },			/* at the end */
	{ "\r", ALL, "\r\n", 2 },
	{ "a\rb\n", ALL, "a\rb\r\n", 5 },		/* inside a line */
	{ "a\r\r\n", ALL, "a\r\r\n", 4 },
	{ "a\n\r", ALL, "a\r\n\r\n", 5 },
	/* dot-stuffing: a leading '.' is doubled and not counted */
	{ ".", ALL, "..\r\n", 3 },
	{ ".\n", ALL, "..\r\n", 3 },
	{ ".\r\n", ALL, "..\r\n", 3 },
	{ "..\n", ALL, "...\r\n", 4 },
	{ ".x\n.\n", ALL, "..x\r\n..\r\n", 7 },
	{ "a\n.b\n", ALL, "a\r\n..b\r\n", 7 },
	{ "a.\n", ALL, "a.\r\n", 4 },		/* not at line start */
	{ " .\n", ALL, " .\r\n", 4 },
	{ "\r.\n", ALL, "\r.\r\n", 4 },
	{ "a\r.\n", ALL, "a\r.\r\n", 5 },	/* after a bare CR: same line */
	{ "From: x\n\n.\n..\n", ALL, "From: x\r\n\r\n..\r\n...\r\n", 18 },
	/* bytes are passed through */
	{ "\x01\x7f\xff\t\n", ALL, "\x01\x7f\xff\t\r\n", 6 },

	/* TOP: headers, the blank line, then n body lines */
	{ "H: 1\nH: 2\n\nb1\nb2\nb3\n", 0, "H: 1\r\nH: 2\r\n\r\n", 14 },
	{ "H: 1\nH: 2\n\nb1\nb2\nb3\n", 1, "H: 1\r\nH: 2\r\n\r\nb1\r\n", 18 },
	{ "H: 1\nH: 2\n\nb1\nb2\nb3\n", 2,
	    "H: 1\r\nH: 2\r\n\r\nb1\r\nb2\r\n", 22 },
	{ "H: 1\nH: 2\n\nb1\nb2\nb3\n", 3,
	    "H: 1\r\nH: 2\r\n\r\nb1\r\nb2\r\nb3\r\n", 26 },
	{ "H: 1\nH: 2\n\nb1\nb2\nb3\n", 4,
	    "H: 1\r\nH: 2\r\n\r\nb1\r\nb2\r\nb3\r\n", 26 },
	{ "H: 1\nH: 2\n\nb1\nb2\nb3\n", 1000,
	    "H: 1\r\nH: 2\r\n\r\nb1\r\nb2\r\nb3\r\n", 26 },
	/* CRLF separators */
	{ "H: 1\r\n\r\nb1\r\nb2\r\n", 0, "H: 1\r\n\r\n", 8 },
	{ "H: 1\r\n\r\nb1\r\nb2\r\n", 1, "H: 1\r\n\r\nb1\r\n", 12 },
	{ "H: 1\r\n\r\nb1\r\nb2\r\n", ALL, "H: 1\r\n\r\nb1\r\nb2\r\n", 16 },
	/* mixed: LF header lines, CRLF blank line */
	{ "H: 1\n\r\nb1\nb2\n", 1, "H: 1\r\n\r\nb1\r\n", 12 },
	/* a message without a blank line is all headers */
	{ "H: 1\nH: 2", 0, "H: 1\r\nH: 2\r\n", 12 },
	{ "H: 1\nH: 2\n", 0, "H: 1\r\nH: 2\r\n", 12 },
	{ "H: 1\nH: 2\n", 5, "H: 1\r\nH: 2\r\n", 12 },
	/* body lines that are empty count as lines */
	{ "H\n\n\n\nb\n", 1, "H\r\n\r\n\r\n", 7 },
	{ "H\n\n\n\nb\n", 2, "H\r\n\r\n\r\n\r\n", 9 },
	{ "H\n\n\n\nb\n", 3, "H\r\n\r\n\r\n\r\nb\r\n", 12 },
	/* last body line without newline */
	{ "H\n\nb1\nb2", 5, "H\r\n\r\nb1\r\nb2\r\n", 13 },
	{ "H\n\nb1\nb2", 1, "H\r\n\r\nb1\r\n", 9 },
	{ "H\n\nb1\nb2\r", 5, "H\r\n\r\nb1\r\nb2\r\n", 13 },
	/* no body at all */
	{ "H\n\n", 0, "H\r\n\r\n", 5 },
	{ "H\n\n", 3, "H\r\n\r\n", 5 },
	{ "H\n", 0, "H\r\n", 3 },
	/* starts with the blank line: no headers */
	{ "\nbody\n", 0, "\r\n", 2 },
	{ "\nbody\nmore\n", 1, "\r\nbody\r\n", 8 },
	{ "\r\nbody\n", 0, "\r\n", 2 },
	/* dot-stuffing applies in TOP too */
	{ ".H\n\n.b\n.c\n", 1, "..H\r\n\r\n..b\r\n", 10 },
	{ ".H\n\n.b\n.c\n", 0, "..H\r\n\r\n", 6 },
	/* a header line of only "." is not the blank line */
	{ ".\nH\n\nb\n", 0, "..\r\nH\r\n\r\n", 8 },
};

/* b holds exactly the n bytes at want (an empty buffer may have no
 * memory at all, which memcmp must not be given). */
static int
same(const struct buf *b, const void *want, size_t n)
{
	return buf_used(b) == n && (n == 0 ||
	    memcmp(buf_ptr(b), want, n) == 0);
}

static void
test_wire_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct wire_case *t = &cases[i];
		size_t len = strlen(t->in);
		struct buf out;
		uint64_t oct;

		assert_int_equal(buf_init(&out, 0, 1 << 20), 0);
		encode(t->in, len, t->maxl, 0, &out, &oct);
		if (!same(&out, t->out, strlen(t->out)))
			fail_msg("case %zu: output differs (%zu bytes, want "
			    "%zu)", i, buf_used(&out), strlen(t->out));
		if (oct != t->octets)
			fail_msg("case %zu: octets %llu want %llu", i,
			    (unsigned long long)oct,
			    (unsigned long long)t->octets);
		/* octets = encoded bytes minus the stuffing dots */
		if (oct != buf_used(&out) -
		    stuffing_dots(buf_ptr(&out), buf_used(&out)))
			fail_msg("case %zu: octets do not match output", i);
		if (count_only(t->in, len, t->maxl, 0) != oct)
			fail_msg("case %zu: count-only mode differs", i);
		/* the output is well-formed POP3: CRLF-terminated lines */
		if (buf_used(&out) > 0) {
			const unsigned char *p = buf_ptr(&out);
			size_t n = buf_used(&out), j;

			assert_int_equal(p[n - 1], '\n');
			assert_int_equal(p[n - 2], '\r');
			for (j = 0; j < n; j++)
				if (p[j] == '\n' && (j == 0 || p[j - 1] != '\r'))
					fail_msg("case %zu: bare LF at %zu", i,
					    j);
		}
		buf_free(&out);
	}
}

/*
 * An independent model of the encoding, line by line: every line gets
 * CRLF (a CR before the LF is kept, not doubled), a leading '.' is
 * doubled, a last line without LF still gets CRLF; TOP stops after the
 * first line of only CRs/nothing and maxl more lines.
 */
static size_t
model(const char *in, size_t len, uint64_t maxl, char *out,
    uint64_t *octets_r)
{
	size_t pos = 0, o = 0;
	uint64_t oct = 0, body = 0;
	int in_body = 0;

	while (pos < len) {
		const char *nl = memchr(in + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (in + pos)) : len - pos;
		size_t j;
		int blank = 1;

		if (in_body && body >= maxl)
			break;
		for (j = 0; j < n; j++)
			if (in[pos + j] != '\r')
				blank = 0;
		if (n > 0 && in[pos] == '.')
			out[o++] = '.';
		memcpy(out + o, in + pos, n);
		o += n;
		oct += n;
		if (n > 0 && in[pos + n - 1] == '\r') {
			out[o++] = '\n';
			oct += 1;
		} else {
			out[o++] = '\r';
			out[o++] = '\n';
			oct += 2;
		}
		if (in_body)
			body++;
		else if (blank) {
			in_body = 1;
		}
		pos += n + (nl ? 1 : 0);
	}
	*octets_r = oct;
	return o;
}

/* Tiny deterministic PRNG (xorshift32). */
static uint32_t
rnd(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/* Byte-by-byte, random pieces and one call all give the same bytes and
 * octets, equal to the model, for many inputs and TOP limits. */
static void
test_wire_chunk_independence(void **state)
{
	static const char alphabet[] = "ab..\r\r\n\n\n ";
	static const uint64_t limits[] = { ALL, 0, 1, 2, 5 };
	uint32_t seed = 0x1234567u;
	int iter;

	(void)state;
	for (iter = 0; iter < 3000; iter++) {
		char in[64], want[256];
		size_t len = rnd(&seed) % sizeof(in), i, l;

		for (i = 0; i < len; i++)
			in[i] = alphabet[rnd(&seed) % (sizeof(alphabet) - 1)];
		for (l = 0; l < sizeof(limits) / sizeof(limits[0]); l++) {
			struct buf whole, bytes, pieces;
			uint64_t o1, o2, o3, om;
			size_t wl = model(in, len, limits[l], want, &om);
			size_t chunk = 1 + rnd(&seed) % 7;

			assert_int_equal(buf_init(&whole, 0, 4096), 0);
			assert_int_equal(buf_init(&bytes, 0, 4096), 0);
			assert_int_equal(buf_init(&pieces, 0, 4096), 0);
			encode(in, len, limits[l], 0, &whole, &o1);
			encode(in, len, limits[l], 1, &bytes, &o2);
			encode(in, len, limits[l], chunk, &pieces, &o3);
			if (!same(&whole, want, wl))
				fail_msg("iter %d limit %zu: differs from "
				    "model", iter, l);
			if (!same(&bytes, want, wl))
				fail_msg("iter %d limit %zu: byte-by-byte "
				    "differs", iter, l);
			if (!same(&pieces, want, wl))
				fail_msg("iter %d limit %zu: chunk %zu "
				    "differs", iter, l, chunk);
			if (o1 != om || o2 != om || o3 != om)
				fail_msg("iter %d limit %zu: octets %llu %llu "
				    "%llu model %llu", iter, l,
				    (unsigned long long)o1,
				    (unsigned long long)o2,
				    (unsigned long long)o3,
				    (unsigned long long)om);
			if (o1 != wl - stuffing_dots(buf_ptr(&whole), wl))
				fail_msg("iter %d: octets != length - dots",
				    iter);
			if (count_only(in, len, limits[l], 1) != om ||
			    count_only(in, len, limits[l], 0) != om)
				fail_msg("iter %d limit %zu: count-only "
				    "differs", iter, l);
			buf_free(&whole);
			buf_free(&bytes);
			buf_free(&pieces);
		}
	}
}

/* Too little room: -1 and nothing consumed, so a retry with room gives
 * the same result. */
static void
test_wire_no_room(void **state)
{
	unsigned char small[3], big[64];
	struct buf s, b;
	struct wire_enc w;

	(void)state;
	buf_init_fixed(&s, small, sizeof(small));
	buf_init_fixed(&b, big, sizeof(big));
	wire_init(&w, ALL);
	/* 2 input bytes need room for 4 */
	assert_int_equal(wire_encode(&w, (const unsigned char *)".a", 2, &s),
	    -1);
	assert_int_equal(buf_used(&s), 0);
	assert_int_equal(w.octets, 0);
	assert_int_equal(w.at_bol, 1);
	assert_int_equal(wire_encode(&w, (const unsigned char *)".a", 2, &b),
	    0);
	assert_int_equal(buf_used(&b), 3);
	assert_memory_equal(buf_ptr(&b), "..a", 3);
	/* finish needs 2 bytes */
	buf_init_fixed(&s, small, 1);
	assert_int_equal(wire_finish(&w, &s), -1);
	assert_int_equal(buf_used(&s), 0);
	assert_int_equal(w.at_bol, 0);
	assert_int_equal(wire_finish(&w, &b), 0);
	assert_memory_equal(buf_ptr(&b), "..a\r\n", 5);
	assert_int_equal(w.octets, 4);
	/* finishing twice adds nothing */
	assert_int_equal(wire_finish(&w, &b), 0);
	assert_int_equal(buf_used(&b), 5);
}

/* After the TOP limit, further input and finish add nothing. */
static void
test_wire_done_ignores_rest(void **state)
{
	static const char msg[] = "H: x\n\nline1\nline2";
	struct buf b;
	struct wire_enc w;
	uint64_t before;

	(void)state;
	assert_int_equal(buf_init(&b, 0, 1024), 0);
	wire_init(&w, 1);
	assert_int_equal(wire_encode(&w, (const unsigned char *)msg,
	    sizeof(msg) - 1, &b), 0);
	assert_true(w.done);
	before = w.octets;
	assert_int_equal(wire_encode(&w, (const unsigned char *)"more\n", 5,
	    &b), 0);
	assert_int_equal(wire_finish(&w, &b), 0);
	assert_int_equal(w.octets, before);
	assert_int_equal(buf_used(&b), strlen("H: x\r\n\r\nline1\r\n"));
	assert_memory_equal(buf_ptr(&b), "H: x\r\n\r\nline1\r\n",
	    buf_used(&b));
	buf_free(&b);
}

/* A large message in the store's read size, split at every chunk
 * boundary kind, equals the one-call encoding. */
static void
test_wire_large(void **state)
{
	size_t len = 3 * WIRE_READ_CHUNK + 17, i;
	char *in = malloc(len);
	struct buf a, b;
	uint64_t oa, ob;

	(void)state;
	assert_non_null(in);
	for (i = 0; i < len; i++)
		in[i] = (i % 61 == 60) ? '\n' : (i % 61 == 0) ? '.' :
		    (i % 97 == 0) ? '\r' : 'm';
	assert_int_equal(buf_init(&a, 0, 4 * len), 0);
	assert_int_equal(buf_init(&b, 0, 4 * len), 0);
	encode(in, len, ALL, 0, &a, &oa);
	encode(in, len, ALL, WIRE_READ_CHUNK, &b, &ob);
	assert_int_equal(oa, ob);
	assert_int_equal(buf_used(&a), buf_used(&b));
	assert_memory_equal(buf_ptr(&a), buf_ptr(&b), buf_used(&a));
	assert_int_equal(count_only(in, len, ALL, 4096), oa);
	assert_int_equal(oa, buf_used(&a) -
	    stuffing_dots(buf_ptr(&a), buf_used(&a)));
	buf_free(&a);
	buf_free(&b);
	free(in);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wire_table),
		cmocka_unit_test(test_wire_chunk_independence),
		cmocka_unit_test(test_wire_no_room),
		cmocka_unit_test(test_wire_done_ignores_rest),
		cmocka_unit_test(test_wire_large),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
