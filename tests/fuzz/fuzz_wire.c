/* The POP3 wire encoder (RETR/TOP output and the STAT/LIST size).
 *
 * Input: byte 0 picks the chunk boundary, byte 1 the TOP line limit,
 * the rest is the stored message.  Checks, with and without the limit:
 * the octet count is the encoded length minus the stuffing dots; every
 * LF is preceded by CR; non-empty output ends in CRLF (and must unless
 * TOP-limited); no output line is a lone "."; the encoding does not
 * depend on the chunking; count-only mode (out NULL) gives the same
 * octets; the unstuffed output with CRLF read as LF is the message with
 * CRLF read as LF (plus a final newline), and TOP's is a prefix of it. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "wire.h"

#define CHECK(x)	do { if (!(x)) abort(); } while (0)

/* buf_ptr() of a buffer that never allocated (buf_init with initial 0,
 * nothing appended) computes NULL + 0, undefined behaviour that UBSan
 * reports (see crashes/fuzz_wire/README); only take it when non-empty. */
static const unsigned char *
bptr(const struct buf *b)
{
	static const unsigned char none[1];

	return buf_used(b) > 0 ? buf_ptr(b) : none;
}

struct enc_out {
	struct buf	b;
	uint64_t	octets;
	int		done;
};

/* Encode msg[0..len) in two chunks split at k. */
static void
encode(const unsigned char *msg, size_t len, size_t k, uint64_t top,
    struct enc_out *o)
{
	struct wire_enc w;

	/* exactly the documented worst case: 2 * len, plus CRLF */
	CHECK(buf_init(&o->b, 0, 2 * len + 2) == 0);
	wire_init(&w, top);
	CHECK(wire_encode(&w, msg, k, &o->b) == 0);
	CHECK(wire_encode(&w, msg + k, len - k, &o->b) == 0);
	CHECK(wire_finish(&w, &o->b) == 0);
	o->octets = w.octets;
	o->done = w.done;
}

/* Count-only mode, in chunks of step bytes. */
static uint64_t
count_only(const unsigned char *msg, size_t len, size_t step, uint64_t top)
{
	struct wire_enc w;
	size_t i, n;

	wire_init(&w, top);
	for (i = 0; i < len; i += n) {
		n = len - i < step ? len - i : step;
		CHECK(wire_encode(&w, msg + i, n, NULL) == 0);
	}
	CHECK(wire_finish(&w, NULL) == 0);
	return w.octets;
}

/* Check the form of an encoded output; return it decoded (unstuffed,
 * CRLF -> LF) in a new allocation, its length in *dlen. */
static unsigned char *
check_output(const unsigned char *p, size_t n, uint64_t octets, int limited,
    size_t *dlen)
{
	unsigned char *d = malloc(n + 1);
	size_t i, dots = 0, o = 0;
	int bol = 1;

	CHECK(d != NULL);
	for (i = 0; i < n; i++) {
		if (bol && p[i] == '.') {
			/* a stuffed dot: never a lone ".CRLF" line */
			CHECK(i + 1 < n && p[i + 1] == '.');
			dots++;
			i++;
		}
		if (p[i] == '\n') {
			CHECK(i > 0 && p[i - 1] == '\r');
			d[o - 1] = '\n';	/* CRLF -> LF */
			bol = 1;
			continue;
		}
		d[o++] = p[i];
		bol = 0;
	}
	CHECK(octets == (uint64_t)(n - dots));
	if (n > 0 && !limited)
		CHECK(n >= 2 && p[n - 2] == '\r' && p[n - 1] == '\n');
	if (n > 0)	/* a TOP cut is always at a line end as well */
		CHECK(n >= 2 && p[n - 2] == '\r' && p[n - 1] == '\n');
	*dlen = o;
	return d;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const unsigned char *msg;
	unsigned char *dec_full, *dec_top, *norm;
	struct enc_out a, b, t;
	size_t len, k, dfull, dtop, i, nn;
	uint64_t top;

	if (size < 2)
		return 0;
	k = data[0];
	top = data[1];
	msg = data + 2;
	len = size - 2;
	k = len ? (k * len) / 255 : 0;

	/* whole message, split at k and in one piece: same bytes */
	encode(msg, len, k, WIRE_ALL_LINES, &a);
	encode(msg, len, len, WIRE_ALL_LINES, &b);
	CHECK(a.octets == b.octets && buf_used(&a.b) == buf_used(&b.b));
	CHECK(buf_used(&a.b) == 0 ||
	    memcmp(bptr(&a.b), bptr(&b.b), buf_used(&a.b)) == 0);
	CHECK(!a.done);
	CHECK(count_only(msg, len, 1, WIRE_ALL_LINES) == a.octets);
	CHECK(count_only(msg, len, k ? k : 1, WIRE_ALL_LINES) == a.octets);
	CHECK((buf_used(&a.b) == 0) == (len == 0));
	dec_full = check_output(bptr(&a.b), buf_used(&a.b), a.octets, 0,
	    &dfull);

	/* the message with CRLF -> LF and a final newline */
	norm = malloc(len + 1);
	CHECK(norm != NULL);
	for (i = 0, nn = 0; i < len; i++) {
		if (msg[i] == '\n' && nn > 0 && norm[nn - 1] == '\r')
			norm[nn - 1] = '\n';
		else
			norm[nn++] = msg[i];
	}
	if (nn > 0 && norm[nn - 1] != '\n') {
		if (norm[nn - 1] == '\r')
			norm[nn - 1] = '\n';	/* lone CR at EOF gets LF */
		else
			norm[nn++] = '\n';
	}
	CHECK(nn == dfull && (nn == 0 || memcmp(norm, dec_full, nn) == 0));

	/* TOP with a limit: a prefix of the whole, counted the same */
	encode(msg, len, k, top, &t);
	CHECK(count_only(msg, len, 1, top) == t.octets);
	CHECK(t.octets <= a.octets);
	dec_top = check_output(bptr(&t.b), buf_used(&t.b), t.octets,
	    t.done, &dtop);
	CHECK(dtop <= dfull &&
	    (dtop == 0 || memcmp(dec_top, dec_full, dtop) == 0));
	if (!t.done)
		CHECK(t.octets == a.octets && dtop == dfull);

	free(norm);
	free(dec_full);
	free(dec_top);
	buf_free(&a.b);
	buf_free(&b.b);
	buf_free(&t.b);
	return 0;
}
