/* The streaming mbox parser (mbox_scan_*).
 *
 * Input: byte 0 seeds the chunk sizes, the rest is the mbox file.  It is
 * scanned in one piece, in data-derived chunks and (when short) byte by
 * byte; every way must find the same messages with the same junk.
 * Checks on the messages: in file order, not overlapping; the From_
 * line at from_off starts with "From " and is at the start of the file
 * or after an empty line; start is right after it (start > from_off);
 * start <= end <= the input length; junk is what comes before the first
 * one; size is what wire_encode + wire_finish make of [start, end). */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mbox_parse.h"
#include "wire.h"

#define CHECK(x)	do { if (!(x)) abort(); } while (0)

struct found {
	struct mbox_found	*m;
	size_t			 n, cap;
	uint64_t		 junk;
};

static int
collect(void *arg, const struct mbox_found *f)
{
	struct found *l = arg;

	if (l->n == l->cap) {
		size_t nc = l->cap ? 2 * l->cap : 16;
		struct mbox_found *m = realloc(l->m, nc * sizeof(*m));

		CHECK(m != NULL);
		l->m = m;
		l->cap = nc;
	}
	l->m[l->n++] = *f;
	return 0;
}

/* mode 0: one piece; 1: byte by byte; 2: chunks from seed. */
static void
scan(const unsigned char *in, size_t len, int mode, uint32_t seed,
    struct found *l)
{
	struct mbox_scan s;
	size_t pos = 0;

	memset(l, 0, sizeof(*l));
	CHECK(mbox_scan_init(&s, 0, collect, l) == 0);
	while (pos < len) {
		size_t n;

		if (mode == 0)
			n = len;
		else if (mode == 1)
			n = 1;
		else {
			seed = seed * 1103515245u + 12345u;
			/* mostly short pieces, now and then a long one */
			n = (seed >> 16) % 8 == 0 ? 1 + (seed >> 8) % 512 :
			    1 + (seed >> 20) % 7;
		}
		if (n > len - pos)
			n = len - pos;
		CHECK(mbox_scan_feed(&s, in + pos, n) == 0);
		pos += n;
	}
	CHECK(mbox_scan_finish(&s) == 0);
	CHECK(s.off == len);
	l->junk = s.junk;
	mbox_scan_free(&s);
}

static uint64_t
wire_octets(const unsigned char *p, size_t n)
{
	struct wire_enc w;

	wire_init(&w, WIRE_ALL_LINES);
	CHECK(wire_encode(&w, p, n, NULL) == 0);
	CHECK(wire_finish(&w, NULL) == 0);
	return w.octets;
}

/* The line ending with the LF at in[off - 1] is empty ("" or "\r"). */
static int
blank_before(const unsigned char *in, size_t off)
{
	if (off < 1 || in[off - 1] != '\n')
		return 0;
	if (off == 1 || in[off - 2] == '\n')
		return 1;
	return in[off - 2] == '\r' && (off == 2 || in[off - 3] == '\n');
}

static void
check(const unsigned char *in, size_t len, const struct found *l)
{
	uint64_t prev_end = 0;
	size_t i;

	if (l->n == 0)
		CHECK(l->junk == len);
	for (i = 0; i < l->n; i++) {
		const struct mbox_found *f = &l->m[i];
		const unsigned char *nl;

		if (i == 0)
			CHECK(f->from_off == l->junk);
		else
			CHECK(f->from_off >= prev_end &&
			    f->from_off > l->m[i - 1].from_off);
		CHECK(f->start > f->from_off);
		CHECK(f->end >= f->start);
		CHECK(f->end <= len);
		CHECK(f->from_off + 5 <= len &&
		    memcmp(in + f->from_off, "From ", 5) == 0);
		CHECK(f->from_off == 0 ||
		    blank_before(in, (size_t)f->from_off));
		nl = memchr(in + f->from_off, '\n', len - (size_t)f->from_off);
		CHECK(f->start == (nl ? (uint64_t)(nl - in) + 1 : len));
		CHECK(f->size == wire_octets(in + f->start,
		    (size_t)(f->end - f->start)));
		prev_end = f->end;
	}
}

static void
same(const struct found *a, const struct found *b)
{
	size_t i;

	CHECK(a->n == b->n && a->junk == b->junk);
	for (i = 0; i < a->n; i++) {
		CHECK(a->m[i].from_off == b->m[i].from_off);
		CHECK(a->m[i].start == b->m[i].start);
		CHECK(a->m[i].end == b->m[i].end);
		CHECK(a->m[i].size == b->m[i].size);
		CHECK(memcmp(a->m[i].digest, b->m[i].digest,
		    MBOX_DIGEST_LEN) == 0);
		/* the UIDL sources do not depend on how bytes arrive */
		CHECK(memcmp(a->m[i].key, b->m[i].key, MBOX_DIGEST_LEN) == 0);
		CHECK(memcmp(a->m[i].p3, b->m[i].p3, MBOX_DIGEST_LEN) == 0);
		CHECK(a->m[i].flags == b->m[i].flags);
		CHECK(strcmp(a->m[i].xuidl, b->m[i].xuidl) == 0);
		CHECK(a->m[i].xuid == b->m[i].xuid);
		CHECK(a->m[i].uidvalidity == b->m[i].uidvalidity);
		CHECK(a->m[i].uidnext == b->m[i].uidnext);
		/* a served X-UIDL is a valid POP3 UIDL */
		if (a->m[i].flags & MBOX_F_XUIDL) {
			size_t j, n = strlen(a->m[i].xuidl);

			CHECK(n >= 1 && n <= POP3_MAX_UIDL);
			for (j = 0; j < n; j++)
				CHECK(a->m[i].xuidl[j] > 0x20 &&
				    a->m[i].xuidl[j] < 0x7f);
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct found one, other;
	const unsigned char *in;
	size_t len;

	if (size < 1)
		return 0;
	in = data + 1;
	len = size - 1;

	scan(in, len, 0, 0, &one);
	check(in, len, &one);
	scan(in, len, 2, data[0], &other);
	same(&one, &other);
	free(other.m);
	scan(in, len, 2, (uint32_t)data[0] << 8 | 0x5a, &other);
	same(&one, &other);
	free(other.m);
	if (len <= 1024) {
		scan(in, len, 1, 0, &other);
		same(&one, &other);
		free(other.m);
	}
	free(one.m);
	return 0;
}
