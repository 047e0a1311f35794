/*
 * Unit tests for daemon/session/proxy_proto.c: PROXY protocol v1 and
 * v2 headers as HAProxy sends them, and each way one can be wrong.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "proxy_proto.h"

static ssize_t
parse(const void *p, size_t n, struct proxy_info *pi, char *why)
{
	why[0] = '\0';
	return proxy_parse(p, n, pi, why, 128);
}

static void
test_v1_good(void **state)
{
	struct proxy_info pi;
	char why[128];
	const char *l4 = "PROXY TCP4 192.0.2.7 127.0.0.1 51234 110\r\nUSER";
	const char *l6 = "PROXY TCP6 2001:DB8::0:1 ::1 65535 0\r\n";
	const char *lu = "PROXY UNKNOWN ffff::1 ::1 1 2\r\n";

	(void)state;
	assert_int_equal(parse(l4, strlen(l4), &pi, why), strlen(l4) - 4);
	assert_int_equal(pi.version, 1);
	assert_int_equal(pi.local, 0);
	assert_string_equal(pi.src, "192.0.2.7");
	assert_string_equal(pi.dst, "127.0.0.1");
	assert_int_equal(pi.src_port, 51234);
	assert_int_equal(pi.dst_port, 110);
	/* written back in the form the logs use */
	assert_int_equal(parse(l6, strlen(l6), &pi, why), strlen(l6));
	assert_string_equal(pi.src, "2001:db8::1");
	assert_string_equal(pi.dst, "::1");
	assert_int_equal(pi.src_port, 65535);
	assert_int_equal(pi.dst_port, 0);
	assert_int_equal(parse(lu, strlen(lu), &pi, why), strlen(lu));
	assert_int_equal(pi.local, 1);
	assert_int_equal(parse("PROXY UNKNOWN\r\n", 15, &pi, why), 15);
	assert_int_equal(pi.local, 1);
}

static void
test_v1_partial(void **state)
{
	struct proxy_info pi;
	char why[128];
	const char *l = "PROXY TCP4 192.0.2.7 127.0.0.1 51234 110\r\n";
	size_t n;

	(void)state;
	for (n = 0; n < strlen(l); n++)
		assert_int_equal(parse(l, n, &pi, why), 0);
}

static void
test_v1_bad(void **state)
{
	static const char *bad[] = {
		"USER alice\r\n",
		"PROXY  TCP4 192.0.2.7 127.0.0.1 1 2\r\n",
		"PROXY TCP4 192.0.2.7 127.0.0.1 1 2 \r\n",
		"PROXY TCP4 192.0.2.7 127.0.0.1 1\r\n",
		"PROXY TCP4 192.0.2.7 127.0.0.1 1 2 3\r\n",
		"PROXY TCP4 192.0.2.7 127.0.0.1 1 2\n",
		"PROXY TCP4 192.0.2.7 127.0.0.1 01 2\r\n",
		"PROXY TCP4 192.0.2.7 127.0.0.1 65536 2\r\n",
		"PROXY TCP4 192.0.2.7 127.0.0.1 -1 2\r\n",
		"PROXY TCP4 192.0.2.07 127.0.0.1 1 2\r\n",
		"PROXY TCP4 2001:db8::1 127.0.0.1 1 2\r\n",
		"PROXY TCP6 192.0.2.7 ::1 1 2\r\n",
		"PROXY UDP4 192.0.2.7 127.0.0.1 1 2\r\n",
		"PROXY tcp4 192.0.2.7 127.0.0.1 1 2\r\n",
		"PROXY TCP4 192.0.2.7\t127.0.0.1 1 2\r\n",
		"PROXY UNKNOWNX\r\n",
		"proxy TCP4 192.0.2.7 127.0.0.1 1 2\r\n",
	};
	struct proxy_info pi;
	char why[128], longl[200];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (parse(bad[i], strlen(bad[i]), &pi, why) != -1)
			fail_msg("accepted: %s", bad[i]);
		assert_true(why[0] != '\0');
	}
	/* a NUL inside */
	assert_int_equal(parse("PROXY TCP4 1.2.3.4\0 1.2.3.4 1 2\r\n", 33,
	    &pi, why), -1);
	/* 107 bytes with CRLF is the most: no CRLF by then is refused */
	memset(longl, 'x', sizeof(longl));
	memcpy(longl, "PROXY UNKNOWN ", 14);
	assert_int_equal(parse(longl, 107, &pi, why), -1);
	memcpy(longl + 105, "\r\n", 2);
	assert_int_equal(parse(longl, 107, &pi, why), 107);
	assert_int_equal(parse(longl, 106, &pi, why), 0);
}

/* A v2 header of cmd/family with addr (alen bytes) and tlvs. */
static size_t
v2(unsigned char *out, int cmd, int fam, const void *addr, size_t alen,
    const void *tlvs, size_t tlen)
{
	static const unsigned char sig[12] = { 0x0d, 0x0a, 0x0d, 0x0a, 0x00,
	    0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a };
	size_t body = alen + tlen;

	memcpy(out, sig, 12);
	out[12] = (unsigned char)(0x20 | cmd);
	out[13] = (unsigned char)fam;
	out[14] = (unsigned char)(body >> 8);
	out[15] = (unsigned char)body;
	memcpy(out + 16, addr, alen);
	/* memmove: a caller may take the TLV bytes from out itself */
	memmove(out + 16 + alen, tlvs, tlen);
	return 16 + body;
}

static const unsigned char inet4[12] = { 192, 0, 2, 7, 127, 0, 0, 1,
	0xc8, 0x22, 0x00, 0x6e };		/* 51234 -> 110 */

static void
test_v2_good(void **state)
{
	unsigned char h[600], inet6[36];
	/* authority "pop.example.org", NOOP, SSL (client ssl, verified)
	 * with version "TLSv1.3" and cipher "TLS_AES_128_GCM_SHA256",
	 * then an unknown TLV 0xE0 */
	static const unsigned char tlvs[] = {
		0x02, 0x00, 0x0f, 'p', 'o', 'p', '.', 'e', 'x', 'a', 'm', 'p',
		'l', 'e', '.', 'o', 'r', 'g',
		0x04, 0x00, 0x02, 0x00, 0x00,
		0x20, 0x00, 0x28, 0x01, 0x00, 0x00, 0x00, 0x00,
		0x21, 0x00, 0x07, 'T', 'L', 'S', 'v', '1', '.', '3',
		0x23, 0x00, 0x16, 'T', 'L', 'S', '_', 'A', 'E', 'S', '_', '1',
		'2', '8', '_', 'G', 'C', 'M', '_', 'S', 'H', 'A', '2', '5', '6',
		0xe0, 0x00, 0x01, 0xff,
	};
	struct proxy_info pi;
	char why[128];
	size_t n;

	(void)state;
	n = v2(h, 1, 0x11, inet4, sizeof(inet4), tlvs, sizeof(tlvs));
	/* the client's bytes after the header are not consumed */
	memcpy(h + n, "\x16\x03\x01", 3);
	assert_int_equal(parse(h, n + 3, &pi, why), n);
	assert_int_equal(pi.version, 2);
	assert_int_equal(pi.local, 0);
	assert_string_equal(pi.src, "192.0.2.7");
	assert_string_equal(pi.dst, "127.0.0.1");
	assert_int_equal(pi.src_port, 51234);
	assert_int_equal(pi.dst_port, 110);
	assert_string_equal(pi.authority, "pop.example.org");
	assert_int_equal(pi.ssl, 1);
	assert_int_equal(pi.ssl_verified, 1);
	assert_string_equal(pi.ssl_version, "TLSv1.3");
	assert_string_equal(pi.ssl_cipher, "TLS_AES_128_GCM_SHA256");
	/* every shorter prefix asks for more */
	for (size_t k = 0; k < n; k++)
		assert_int_equal(parse(h, k, &pi, why), 0);

	memset(inet6, 0, sizeof(inet6));
	inet6[0] = 0x20, inet6[1] = 0x01, inet6[2] = 0x0d, inet6[3] = 0xb8;
	inet6[15] = 5;
	inet6[31] = 1;
	inet6[32] = 0x30, inet6[33] = 0x39;	/* 12345 */
	inet6[34] = 0x03, inet6[35] = 0xe3;	/* 995 */
	n = v2(h, 1, 0x21, inet6, sizeof(inet6), "", 0);
	assert_int_equal(parse(h, n, &pi, why), n);
	assert_string_equal(pi.src, "2001:db8::5");
	assert_string_equal(pi.dst, "::1");
	assert_int_equal(pi.src_port, 12345);
	assert_int_equal(pi.dst_port, 995);
	assert_int_equal(pi.ssl, 0);

	/* LOCAL (a health check): the balancer's own connection, whatever
	 * follows in the block */
	n = v2(h, 0, 0x00, "", 0, "", 0);
	assert_int_equal(parse(h, n, &pi, why), 16);
	assert_int_equal(pi.local, 1);
	n = v2(h, 0, 0x11, inet4, sizeof(inet4), "", 0);
	assert_int_equal(parse(h, n, &pi, why), n);
	assert_int_equal(pi.local, 1);
	/* PROXY with UNSPEC */
	n = v2(h, 1, 0x00, "", 0, "", 0);
	assert_int_equal(parse(h, n, &pi, why), 16);
	assert_int_equal(pi.local, 1);
}

/* CRC-32C of "123456789" is 0xE3069283 (RFC 3720, B.4); the header's
 * CRC TLV is checked over the whole header with its value zeroed. */
static void
test_v2_crc(void **state)
{
	unsigned char h[64];
	unsigned char tlv[7] = { 0x03, 0x00, 0x04, 0, 0, 0, 0 };
	struct proxy_info pi;
	char why[128];
	size_t n;
	uint32_t crc = 0xffffffffu;
	int k;

	(void)state;
	n = v2(h, 1, 0x11, inet4, sizeof(inet4), tlv, sizeof(tlv));
	/* computed here bit by bit (the check value proves the routine) */
	{
		const unsigned char *chk = (const unsigned char *)"123456789";
		uint32_t c = 0xffffffffu;

		for (size_t i = 0; i < 9; i++) {
			c ^= chk[i];
			for (k = 0; k < 8; k++)
				c = (c >> 1) ^ (0x82f63b78u & (0u - (c & 1)));
		}
		assert_int_equal(~c, 0xe3069283u);
	}
	for (size_t i = 0; i < n; i++) {
		crc ^= h[i];
		for (k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0x82f63b78u & (0u - (crc & 1)));
	}
	crc = ~crc;
	h[n - 4] = (unsigned char)(crc >> 24);
	h[n - 3] = (unsigned char)(crc >> 16);
	h[n - 2] = (unsigned char)(crc >> 8);
	h[n - 1] = (unsigned char)crc;
	assert_int_equal(parse(h, n, &pi, why), n);
	h[16] ^= 1;		/* another source address */
	assert_int_equal(parse(h, n, &pi, why), -1);
	assert_non_null(strstr(why, "CRC32C"));
}

static void
test_v2_bad(void **state)
{
	unsigned char h[2000];
	struct proxy_info pi;
	char why[128];
	size_t n;
	static const unsigned char tlv_over[] = { 0x02, 0x00, 0x09, 'a' };
	static const unsigned char tlv_short[] = { 0x02, 0x00 };
	static const unsigned char auth_bad[] = { 0x02, 0x00, 0x03, 'a', ' ',
	    'b' };
	static const unsigned char auth_twice[] = { 0x02, 0x00, 0x01, 'a',
	    0x02, 0x00, 0x01, 'b' };
	static const unsigned char ssl_short[] = { 0x20, 0x00, 0x02, 1, 0 };
	static const unsigned char ssl_sub_over[] = { 0x20, 0x00, 0x08, 1, 0,
	    0, 0, 0, 0x21, 0x00, 0x09 };
	static const unsigned char crc_len[] = { 0x03, 0x00, 0x02, 0, 0 };

	(void)state;
	/* version 1 in the v2 signature's byte, unknown command, family,
	 * transport */
	n = v2(h, 1, 0x11, inet4, sizeof(inet4), "", 0);
	h[12] = 0x11;
	assert_int_equal(parse(h, n, &pi, why), -1);
	n = v2(h, 2, 0x11, inet4, sizeof(inet4), "", 0);
	assert_int_equal(parse(h, n, &pi, why), -1);
	n = v2(h, 1, 0x41, inet4, sizeof(inet4), "", 0);
	assert_int_equal(parse(h, n, &pi, why), -1);
	n = v2(h, 1, 0x12, inet4, sizeof(inet4), "", 0);
	assert_int_equal(parse(h, n, &pi, why), -1);
	/* an address block shorter than its family's */
	n = v2(h, 1, 0x11, inet4, 8, "", 0);
	assert_int_equal(parse(h, n, &pi, why), -1);
	n = v2(h, 1, 0x21, inet4, sizeof(inet4), "", 0);
	assert_int_equal(parse(h, n, &pi, why), -1);
	n = v2(h, 1, 0x31, inet4, sizeof(inet4), "", 0);
	assert_int_equal(parse(h, n, &pi, why), -1);
	/* TLVs that overrun, are cut, or hold what they must not */
	n = v2(h, 1, 0x11, inet4, sizeof(inet4), tlv_over, sizeof(tlv_over));
	assert_int_equal(parse(h, n, &pi, why), -1);
	n = v2(h, 1, 0x11, inet4, sizeof(inet4), tlv_short,
	    sizeof(tlv_short));
	assert_int_equal(parse(h, n, &pi, why), -1);
	n = v2(h, 1, 0x11, inet4, sizeof(inet4), auth_bad, sizeof(auth_bad));
	assert_int_equal(parse(h, n, &pi, why), -1);
	n = v2(h, 1, 0x11, inet4, sizeof(inet4), auth_twice,
	    sizeof(auth_twice));
	assert_int_equal(parse(h, n, &pi, why), -1);
	n = v2(h, 1, 0x11, inet4, sizeof(inet4), ssl_short,
	    sizeof(ssl_short));
	assert_int_equal(parse(h, n, &pi, why), -1);
	n = v2(h, 1, 0x11, inet4, sizeof(inet4), ssl_sub_over,
	    sizeof(ssl_sub_over));
	assert_int_equal(parse(h, n, &pi, why), -1);
	n = v2(h, 1, 0x11, inet4, sizeof(inet4), crc_len, sizeof(crc_len));
	assert_int_equal(parse(h, n, &pi, why), -1);
	/* longer than PROXY_V2_MAX: refused from its 16 bytes alone */
	n = v2(h, 1, 0x11, inet4, sizeof(inet4), h + 100,
	    PROXY_V2_MAX + 1 - sizeof(inet4));
	assert_int_equal(parse(h, 16, &pi, why), -1);
	assert_non_null(strstr(why, "PROXY_V2_MAX"));
	/* at PROXY_V2_MAX it is taken (an unknown TLV fills it) */
	{
		unsigned char fill[PROXY_V2_MAX];
		size_t fl = PROXY_V2_MAX - sizeof(inet4);

		memset(fill, 0, sizeof(fill));
		fill[0] = 0xe1;
		fill[1] = (unsigned char)((fl - 3) >> 8);
		fill[2] = (unsigned char)(fl - 3);
		n = v2(h, 1, 0x11, inet4, sizeof(inet4), fill, fl);
		assert_int_equal(parse(h, n, &pi, why), n);
	}
	/* not a header at all */
	assert_int_equal(parse("\x16\x03\x01\x02", 4, &pi, why), -1);
	assert_non_null(strstr(why, "send-proxy"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v1_good),
		cmocka_unit_test(test_v1_partial),
		cmocka_unit_test(test_v1_bad),
		cmocka_unit_test(test_v2_good),
		cmocka_unit_test(test_v2_crc),
		cmocka_unit_test(test_v2_bad),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
