/*
 * Unit tests for common/base64.c: RFC 4648 section 10 test vectors in
 * both directions, the strict decoding RFC 5034 asks for (no
 * whitespace, padding required, nothing after it, canonical padding
 * bits), the output bound, and round trips of random data.
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

#include "base64.h"

/* RFC 4648 section 10 */
static const struct {
	const char	*plain;
	const char	*enc;
} vectors[] = {
	{ "", "" },
	{ "f", "Zg==" },
	{ "fo", "Zm8=" },
	{ "foo", "Zm9v" },
	{ "foob", "Zm9vYg==" },
	{ "fooba", "Zm9vYmE=" },
	{ "foobar", "Zm9vYmFy" },
};

static void
test_rfc4648_encode(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		char out[BASE64_ENCODED_LEN(6)];
		size_t n = strlen(vectors[i].plain);

		memset(out, 'X', sizeof(out));
		assert_int_equal(base64_encode(
		    (const unsigned char *)vectors[i].plain, n, out),
		    strlen(vectors[i].enc));
		assert_string_equal(out, vectors[i].enc);
		/* the macro's bound is exact (with the NUL) */
		assert_int_equal(BASE64_ENCODED_LEN(n),
		    strlen(vectors[i].enc) + 1);
	}
}

static void
test_rfc4648_decode(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		unsigned char out[16];
		size_t n = strlen(vectors[i].plain);

		memset(out, 0xAA, sizeof(out));
		assert_int_equal(base64_decode(vectors[i].enc,
		    strlen(vectors[i].enc), out, sizeof(out)), (long)n);
		assert_memory_equal(out, vectors[i].plain, n);
		/* nothing written past the decoded length */
		assert_int_equal(out[n], 0xAA);
		/* exactly the decoded size is room enough */
		memset(out, 0xAA, sizeof(out));
		assert_int_equal(base64_decode(vectors[i].enc,
		    strlen(vectors[i].enc), out, n), (long)n);
		assert_memory_equal(out, vectors[i].plain, n);
	}
}

/* Binary data and all 64 alphabet characters. */
static void
test_binary_alphabet(void **state)
{
	static const char all[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	unsigned char bin[48], back[48];
	char enc[BASE64_ENCODED_LEN(48)];
	size_t i;

	(void)state;
	/* 0x00 0x10 0x83 ... encodes to the alphabet in order */
	assert_int_equal(base64_decode(all, 64, bin, sizeof(bin)), 48);
	assert_int_equal(base64_encode(bin, 48, enc), 64);
	assert_string_equal(enc, all);
	assert_int_equal(bin[0], 0x00);
	assert_int_equal(bin[1], 0x10);
	assert_int_equal(bin[2], 0x83);
	assert_int_equal(bin[47], 0xbf);
	for (i = 0; i < sizeof(back); i++)
		back[i] = (unsigned char)(255 - i);
	assert_int_equal(base64_encode(back, 3, enc), 4);
	assert_string_equal(enc, "//79");
	assert_int_equal(base64_encode((const unsigned char *)"\0\0\0", 3,
	    enc), 4);
	assert_string_equal(enc, "AAAA");
	assert_int_equal(base64_decode("AA==", 4, bin, 1), 1);
	assert_int_equal(bin[0], 0);
}

static const struct {
	const char	*in;
	const char	*why;
} rejects[] = {
	/* length not a multiple of 4 */
	{ "Z", "1 char" },
	{ "Zg", "2 chars, no padding" },
	{ "Zg=", "3 chars" },
	{ "Zm9vY", "5 chars" },
	{ "Zm9vYg=", "7 chars" },
	{ "Zm9vYg===", "9 chars" },
	/* characters outside the alphabet */
	{ "Zm9*", "'*'" },
	{ "Zm9-", "base64url '-'" },
	{ "Zm9_", "base64url '_'" },
	{ "Zm.v", "'.'" },
	{ "Zm9v\x80\x80\x80\x80", "8-bit" },
	{ "Zm\0v", "NUL" },
	/* whitespace anywhere */
	{ "Zm9 ", "trailing space" },
	{ " Zm9", "leading space" },
	{ "Zm9v\r\nYmFy", "CRLF inside (10 chars)" },
	{ "Zm9v    ", "4 spaces" },
	{ "Zm9\t", "tab" },
	{ "Zm9\n", "newline" },
	/* '=' where it does not belong */
	{ "====", "only padding" },
	{ "Z===", "three '='" },
	{ "=Zg=", "'=' first" },
	{ "Zg=v", "data after one '='" },
	{ "Zg==Zm9v", "'=' in the middle" },
	{ "Zm8=Zm9v", "'=' in the middle (one)" },
	{ "Zg==Zg==", "two padded groups" },
	{ "Zm9v=", "'=' after a full group" },
	{ "Zm9vYmFy====", "a group of '='" },
	/* non-canonical: pad bits set */
	{ "YR==", "YR== (pad bits)" },
	{ "Zh==", "Zh== (pad bits)" },
	{ "Zm9=", "Zm9= (pad bits)" },
	{ "Zm8B", "control: valid (see below)" },
};

static void
test_rejects(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rejects) / sizeof(rejects[0]); i++) {
		unsigned char out[64];
		const char *in = rejects[i].in;
		/* the NUL case is given with an explicit length */
		size_t len = strcmp(rejects[i].why, "NUL") == 0 ? 4 :
		    strlen(in);
		long r = base64_decode(in, len, out, sizeof(out));

		if (strncmp(rejects[i].why, "control", 7) == 0) {
			assert_int_equal(r, 3);
			continue;
		}
		if (r != -1)
			fail_msg("accepted %s (%s): %ld", in, rejects[i].why,
			    r);
	}
	/* canonical forms of the same look-alikes are fine */
	{
		unsigned char out[4];

		assert_int_equal(base64_decode("YQ==", 4, out, 4), 1);
		assert_int_equal(out[0], 'a');
		assert_int_equal(base64_decode("Zg==", 4, out, 4), 1);
		assert_int_equal(base64_decode("Zm8=", 4, out, 4), 2);
	}
}

/* Every pad-bit pattern of one- and two-'=' groups: only zero is ok. */
static void
test_pad_bits_exhaustive(void **state)
{
	static const char alpha[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	unsigned char out[3];
	char in[5];
	int v;

	(void)state;
	in[4] = '\0';
	for (v = 0; v < 64; v++) {
		/* "Q?==": the second char carries 4 unused bits */
		memcpy(in, "Q?==", 4);
		in[1] = alpha[v];
		assert_int_equal(base64_decode(in, 4, out, sizeof(out)),
		    (v & 0x0f) == 0 ? 1 : -1);
		/* "QU?=": the third char carries 2 unused bits */
		memcpy(in, "QU?=", 4);
		in[2] = alpha[v];
		assert_int_equal(base64_decode(in, 4, out, sizeof(out)),
		    (v & 0x03) == 0 ? 2 : -1);
	}
}

static void
test_small_buffer(void **state)
{
	unsigned char out[8];

	(void)state;
	memset(out, 0xAA, sizeof(out));
	assert_int_equal(base64_decode("Zm9vYmFy", 8, out, 5), -1);
	assert_int_equal(base64_decode("Zm9vYmE=", 8, out, 4), -1);
	assert_int_equal(base64_decode("Zm9vYg==", 8, out, 3), -1);
	assert_int_equal(base64_decode("Zg==", 4, out, 0), -1);
	assert_int_equal(base64_decode("Zm9v", 4, out, 2), -1);
	/* the bytes past the room given are untouched */
	memset(out, 0xAA, sizeof(out));
	assert_int_equal(base64_decode("Zm9vYmFy", 8, out, 4), -1);
	assert_int_equal(out[4], 0xAA);
	assert_int_equal(out[5], 0xAA);
	/* the empty input needs no room */
	assert_int_equal(base64_decode("", 0, NULL, 0), 0);
	assert_int_equal(base64_decode("", 0, out, 0), 0);
}

/* Random data of every length up to 300: decode(encode(x)) == x and
 * the encoding is canonical (encode(decode(e)) == e). */
static void
test_round_trip_random(void **state)
{
	unsigned char in[300], out[300];
	char enc[BASE64_ENCODED_LEN(300)], enc2[BASE64_ENCODED_LEN(300)];
	size_t len, i;
	int round;

	(void)state;
	srand(20240521);
	for (round = 0; round < 4; round++) {
		for (len = 0; len <= sizeof(in); len++) {
			size_t elen;
			long n;

			for (i = 0; i < len; i++)
				in[i] = (unsigned char)(rand() & 0xff);
			elen = base64_encode(in, len, enc);
			assert_int_equal(elen, (len + 2) / 3 * 4);
			assert_int_equal(strlen(enc), elen);
			n = base64_decode(enc, elen, out, len);
			assert_int_equal(n, (long)len);
			assert_memory_equal(in, out, len);
			assert_int_equal(base64_encode(out, len, enc2), elen);
			assert_string_equal(enc, enc2);
			/* one byte less room fails */
			if (len > 0)
				assert_int_equal(base64_decode(enc, elen, out,
				    len - 1), -1);
		}
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc4648_encode),
		cmocka_unit_test(test_rfc4648_decode),
		cmocka_unit_test(test_binary_alphabet),
		cmocka_unit_test(test_rejects),
		cmocka_unit_test(test_pad_bits_exhaustive),
		cmocka_unit_test(test_small_buffer),
		cmocka_unit_test(test_round_trip_random),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
