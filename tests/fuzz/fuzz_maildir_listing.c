/* The Maildir listing snapshot parser (mdlist_parse).
 *
 * The input is the whole ".privpop-listing" file, copied into a malloc'd
 * buffer of exactly its length (the listing takes it over), parsed
 * under the fixed stamps cur {1 2 3 4} new {5 6 7 8}.  An independent
 * reference validator here decides whether the text is valid: the magic
 * "privpop-listing 1 ", eight stamp fields and a count, each 1..20
 * digits (dev and ino up to UINT64_MAX, seconds up to INT64_MAX,
 * nanoseconds up to 999999999, count up to MAIL_MAX_MESSAGES), each
 * followed by one space (the count by a newline), the stamps equal to
 * the fixed ones; then exactly count lines "cur/<base>\n" or
 * "new/<base>\n", base non-empty, not starting with '.', without '/' or
 * NUL, the line shorter than MAIL_MAX_PATH, the bases strictly ascending
 * bytewise.  Checks: mdlist_parse agrees with it; on failure the listing
 * is empty; on success it holds the reference's names, each one split
 * in place in the buffer, with every property above checked again on
 * the result. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "maildir_listing.h"

#define CHECK(x)	do { if (!(x)) abort(); } while (0)

static const struct mdlist_dirs want = { { 1, 2, 3, 4 }, { 5, 6, 7, 8 } };

/* 1..20 digits at d[*off], their value at most max, then term. */
static int
ref_field(const uint8_t *d, size_t len, size_t *off, uint64_t max,
    uint8_t term, uint64_t *v_r)
{
	size_t i = *off, nd = 0;
	uint64_t v = 0;

	while (i < len && d[i] >= '0' && d[i] <= '9') {
		unsigned dig = (unsigned)(d[i] - '0');

		if (v > (max - dig) / 10)
			return -1;
		v = v * 10 + dig;
		i++;
		nd++;
	}
	if (nd == 0 || nd > 20 || i >= len || d[i] != term)
		return -1;
	*off = i + 1;
	*v_r = v;
	return 0;
}

/* Bytewise order of a[0..al) and b[0..bl): <0, 0, >0. */
static int
ref_cmp(const uint8_t *a, size_t al, const uint8_t *b, size_t bl)
{
	size_t i;

	for (i = 0; i < al && i < bl; i++)
		if (a[i] != b[i])
			return a[i] < b[i] ? -1 : 1;
	return al < bl ? -1 : al > bl;
}

/* 0 with the offset of each name's line in off_r[] and its length in
 * len_r[] (count in *n_r; arrays the caller frees), or -1. */
static int
ref_parse(const uint8_t *d, size_t len, size_t **off_r, size_t **len_r,
    size_t *n_r)
{
	static const char magic[] = "privpop-listing 1 ";
	const size_t mlen = sizeof(magic) - 1;
	const uint64_t want_v[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	const uint64_t max_v[8] = {
		UINT64_MAX, UINT64_MAX, INT64_MAX, 999999999,
		UINT64_MAX, UINT64_MAX, INT64_MAX, 999999999,
	};
	size_t off, n = 0, *offs = NULL, *lens = NULL, i;
	uint64_t v, count;

	*off_r = *len_r = NULL;
	*n_r = 0;
	if (len > MDLIST_MAX_BYTES || len < mlen ||
	    memcmp(d, magic, mlen) != 0)
		return -1;
	off = mlen;
	for (i = 0; i < 8; i++)
		if (ref_field(d, len, &off, max_v[i], ' ', &v) == -1 ||
		    v != want_v[i])
			return -1;
	if (ref_field(d, len, &off, MAIL_MAX_MESSAGES, '\n', &count) == -1)
		return -1;
	/* no more lines than bytes: a huge count costs no more */
	if ((offs = calloc((count < len ? count : len) + 1,
	    sizeof(*offs))) == NULL ||
	    (lens = calloc((count < len ? count : len) + 1,
	    sizeof(*lens))) == NULL)
		goto bad;
	while (off < len) {
		size_t e = off;

		if (n == count)
			goto bad;
		while (e < len && d[e] != '\n')
			e++;
		if (e == len)			/* no newline at the end */
			goto bad;
		if (e - off <= 4 || e - off >= MAIL_MAX_PATH)
			goto bad;
		if (memcmp(d + off, "cur/", 4) != 0 &&
		    memcmp(d + off, "new/", 4) != 0)
			goto bad;
		if (d[off + 4] == '.')
			goto bad;
		for (i = off; i < e; i++)
			if (d[i] == '\0' || (i >= off + 4 && d[i] == '/'))
				goto bad;
		if (n > 0 && ref_cmp(d + offs[n - 1] + 4, lens[n - 1] - 4,
		    d + off + 4, e - off - 4) >= 0)
			goto bad;
		offs[n] = off;
		lens[n] = e - off;
		n++;
		off = e + 1;
	}
	if (n != count)
		goto bad;
	*off_r = offs;
	*len_r = lens;
	*n_r = n;
	return 0;
bad:
	free(offs);
	free(lens);
	return -1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t *offs, *lens, n, i;
	struct mdlist l;
	char *buf;
	int ok, got;

	if (size > MDLIST_MAX_BYTES)
		return 0;
	ok = ref_parse(data, size, &offs, &lens, &n);
	buf = malloc(size > 0 ? size : 1);	/* exactly the file */
	if (buf == NULL) {
		free(offs);
		free(lens);
		return 0;
	}
	memcpy(buf, data, size);
	memset(&l, 0x5a, sizeof(l));
	got = mdlist_parse(&l, buf, size, &want);	/* buf is l's now */
	CHECK(got == 0 || got == -1);
	CHECK(got == ok);
	if (got == -1) {
		CHECK(l.buf == NULL && l.names == NULL && l.n == 0);
		mdlist_free(&l);
		return 0;
	}
	CHECK(l.buf == buf);
	CHECK(l.n == n);
	CHECK(n == 0 || l.names != NULL);
	for (i = 0; i < n; i++) {
		const char *s = l.names[i];
		size_t sl;

		/* split in place: the name is its line, its newline a NUL */
		CHECK(s == buf + offs[i]);
		sl = strlen(s);
		CHECK(sl == lens[i]);
		CHECK(memcmp(s, data + offs[i], sl) == 0);
		CHECK(sl > 4 && sl < MAIL_MAX_PATH);
		CHECK(memcmp(s, "cur/", 4) == 0 || memcmp(s, "new/", 4) == 0);
		CHECK(s[4] != '.');
		CHECK(strchr(s + 4, '/') == NULL);
		CHECK(i == 0 || strcmp(l.names[i - 1] + 4, s + 4) < 0);
	}
	free(offs);
	free(lens);
	mdlist_free(&l);
	CHECK(l.buf == NULL && l.names == NULL && l.n == 0);
	return 0;
}
