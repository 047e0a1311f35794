/*
 * Unit tests for the TLS key holder's permit table and content check
 * (auth/tls_keys.c): one signature per connection and only after
 * TLS_START; only TLS signature schemes for the key's type; only the
 * content a TLS 1.3 CertificateVerify or a TLS 1.2 ECDHE
 * ServerKeyExchange signs (no digest, no raw RSA block, nothing else).
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/evp.h>

#include "tls_keys.h"

#define RSA	EVP_PKEY_RSA
#define EC	EVP_PKEY_EC

static void
test_permit(void **state)
{
	struct tlsk_permit pm;

	(void)state;
	memset(&pm, 0, sizeof(pm));
	/* nothing before the session said TLS starts */
	assert_non_null(tlsk_permit_sign(&pm));
	assert_null(tlsk_permit_start(&pm));
	assert_null(tlsk_permit_sign(&pm));
	/* one signature, one start, per connection */
	assert_non_null(tlsk_permit_sign(&pm));
	assert_non_null(tlsk_permit_start(&pm));
	assert_non_null(tlsk_permit_sign(&pm));
}

/* content builders */
static size_t
tls13(unsigned char *b, size_t hashlen, int spoil)
{
	static const char ctx[] = "TLS 1.3, server CertificateVerify";

	memset(b, ' ', 64);
	memcpy(b + 64, ctx, sizeof(ctx));	/* with its 0 */
	memset(b + 64 + sizeof(ctx), 0xa5, hashlen);
	if (spoil >= 0)
		b[spoil] ^= 1;
	return 64 + sizeof(ctx) + hashlen;
}

static size_t
tls12(unsigned char *b, int type, int group, int plen, int first, int extra)
{
	memset(b, 0x5a, 64);
	b[64] = (unsigned char)type;
	b[65] = (unsigned char)(group >> 8);
	b[66] = (unsigned char)group;
	b[67] = (unsigned char)plen;
	memset(b + 68, 0x33, (size_t)plen + (size_t)extra);
	if (first >= 0)
		b[68] = (unsigned char)first;
	return 68 + (size_t)plen + (size_t)extra;
}

static void
test_tls13(void **state)
{
	unsigned char b[TLS_SIGN_CONTENT_MAX + 64];
	size_t n;

	(void)state;
	n = tls13(b, 32, -1);
	assert_null(tlsk_content_ok(TLSK_RSA_PSS_SHA256, RSA, b, n));
	assert_null(tlsk_content_ok(TLSK_RSA_PSS_SHA384, RSA, b, n));
	assert_null(tlsk_content_ok(TLSK_ECDSA_SHA256, EC, b, n));
	n = tls13(b, 48, -1);
	assert_null(tlsk_content_ok(TLSK_RSA_PSS_SHA512, RSA, b, n));
	assert_null(tlsk_content_ok(TLSK_ECDSA_SHA384, EC, b, n));
	/* RFC 8446 4.2.3: no PKCS#1 v1.5 in a CertificateVerify */
	assert_non_null(tlsk_content_ok(TLSK_RSA_PKCS1_SHA256, RSA, b, n));
	/* a hash of no suite's length */
	n = tls13(b, 20, -1);
	assert_non_null(tlsk_content_ok(TLSK_RSA_PSS_SHA256, RSA, b, n));
	n = tls13(b, 64, -1);
	assert_non_null(tlsk_content_ok(TLSK_RSA_PSS_SHA256, RSA, b, n));
	/* a space, the context or its zero spoilt */
	n = tls13(b, 32, 0);
	assert_non_null(tlsk_content_ok(TLSK_RSA_PSS_SHA256, RSA, b, n));
	n = tls13(b, 32, 70);
	assert_non_null(tlsk_content_ok(TLSK_RSA_PSS_SHA256, RSA, b, n));
	n = tls13(b, 32, 97);
	assert_non_null(tlsk_content_ok(TLSK_RSA_PSS_SHA256, RSA, b, n));
	/* the client's context is not the server's */
	n = tls13(b, 32, -1);
	memcpy(b + 64 + 9, "client", 6);
	assert_non_null(tlsk_content_ok(TLSK_RSA_PSS_SHA256, RSA, b, n));
}

static void
test_tls12(void **state)
{
	static const struct {
		int	type, group, plen, first, extra, ok;
	} t[] = {
		{ 3, 29, 32, -1, 0, 1 },	/* x25519 */
		{ 3, 30, 56, -1, 0, 1 },	/* x448 */
		{ 3, 23, 65, 4, 0, 1 },		/* P-256 uncompressed */
		{ 3, 24, 97, 4, 0, 1 },		/* P-384 */
		{ 3, 25, 133, 4, 0, 1 },	/* P-521 */
		{ 3, 23, 33, 2, 0, 0 },		/* compressed */
		{ 3, 23, 65, 2, 0, 0 },		/* not uncompressed */
		{ 3, 29, 31, -1, 0, 0 },	/* short point */
		{ 3, 29, 32, -1, 1, 0 },	/* a byte after it */
		{ 3, 29, 32, -1, -1, 0 },	/* a byte short */
		{ 1, 29, 32, -1, 0, 0 },	/* explicit_prime */
		{ 3, 22, 65, 4, 0, 0 },		/* secp256k1: not offered */
		{ 3, 256, 200, -1, 0, 0 },	/* an FFDHE group */
	};
	unsigned char b[TLS_SIGN_CONTENT_MAX + 64];
	size_t i, n;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		n = tls12(b, t[i].type, t[i].group, t[i].plen, t[i].first,
		    t[i].extra);
		if (t[i].ok) {
			assert_null(tlsk_content_ok(TLSK_RSA_PKCS1_SHA256, RSA,
			    b, n));
			assert_null(tlsk_content_ok(TLSK_RSA_PSS_SHA256, RSA,
			    b, n));
			assert_null(tlsk_content_ok(TLSK_ECDSA_SHA512, EC, b,
			    n));
		} else
			assert_non_null(tlsk_content_ok(TLSK_RSA_PSS_SHA256,
			    RSA, b, n));
	}
}

static void
test_refused(void **state)
{
	static const uint32_t bad_rsa[] = {
		0, 1, 2, 3,		/* the old raw operations' numbers */
		0x0201, 0x0203,		/* SHA-1 */
		0x0403, 0x0503,		/* ECDSA with an RSA key */
		0x0807, 0x0809,		/* EdDSA, rsa_pss_pss */
	};
	static const uint32_t bad_ec[] = {
		0x0401, 0x0804, 0x0203, 0x0807,
	};
	unsigned char b[1024];
	size_t i, n;

	(void)state;
	n = tls13(b, 32, -1);
	for (i = 0; i < sizeof(bad_rsa) / sizeof(bad_rsa[0]); i++)
		assert_non_null(tlsk_content_ok(bad_rsa[i], RSA, b, n));
	for (i = 0; i < sizeof(bad_ec) / sizeof(bad_ec[0]); i++)
		assert_non_null(tlsk_content_ok(bad_ec[i], EC, b, n));
	/* a bare digest, a PSS-padded block, anything else */
	memset(b, 0x41, sizeof(b));
	assert_non_null(tlsk_content_ok(TLSK_ECDSA_SHA256, EC, b, 32));
	assert_non_null(tlsk_content_ok(TLSK_RSA_PSS_SHA256, RSA, b, 256));
	assert_non_null(tlsk_content_ok(TLSK_RSA_PKCS1_SHA256, RSA, b, 100));
	assert_non_null(tlsk_content_ok(TLSK_RSA_PSS_SHA256, RSA, b, 0));
	/* too long, even when it starts like one */
	n = tls12(b, 3, 29, 32, -1, 0);
	assert_non_null(tlsk_content_ok(TLSK_RSA_PSS_SHA256, RSA, b,
	    TLS_SIGN_CONTENT_MAX + 1));
	/* an unknown key type */
	assert_non_null(tlsk_content_ok(TLSK_RSA_PSS_SHA256, EVP_PKEY_ED25519,
	    b, n));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_permit),
		cmocka_unit_test(test_tls13),
		cmocka_unit_test(test_tls12),
		cmocka_unit_test(test_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
