/*
 * Unit tests for auth/scram.c: SCRAM-SHA-256 (RFC 5802, RFC 7677) on
 * the server side, with the client's messages parsed as the session
 * child parses them (daemon/session/scram_msg.c) and handed over as
 * fields, as privpop-auth takes them.  Key derivation is checked against an independent
 * computation with OpenSSL's PBKDF2/HMAC/SHA-256; the RFC 7677 example
 * is replayed with the RFC's server nonce put into the state; a full
 * exchange is run against a client computed here.
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
#include <openssl/hmac.h>

#include "base64.h"
#include "scram.h"
#include "scram_msg.h"

/* RFC 7677 section 3 */
#define RFC_PASS	"pencil"
#define RFC_CNONCE	"rOprNGfwEbeRWgbNEkqO"
#define RFC_NONCE	RFC_CNONCE "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
#define RFC_SALT_B64	"W22ZaJ0SNY7soEsUEjb6gQ=="
#define RFC_CLIENT_FIRST "n,,n=user,r=" RFC_CNONCE
#define RFC_SERVER_FIRST "r=" RFC_NONCE ",s=" RFC_SALT_B64 ",i=4096"
#define RFC_CLIENT_FINAL "c=biws,r=" RFC_NONCE \
	",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
#define RFC_SERVER_FINAL "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="

/* ---- the two halves joined: the session's parse, then privpop-auth ---- */

/* the client-first as the session sends it: its fields, or (malformed)
 * an empty user, which privpop-auth refuses */
static int
srv_first(struct scram_state *st, const char *cf,
    const struct scram_keys *k, char *out, size_t outlen)
{
	struct scram_client_first f;

	(void)scram_parse_client_first(cf, &f);
	return scram_server_first(st, f.gs2_y, f.user, f.cnonce, k, out,
	    outlen);
}

/* the client-final as the session sends it: the proof, or none (a
 * malformed one, which still ends the state) */
static int
srv_final(struct scram_state *st, const char *cf, char *out, size_t outlen)
{
	unsigned char proof[SCRAM_PROOF_LEN];

	if (st->step != 1 || scram_parse_client_final(cf, st->gs2 == 'y',
	    st->server_first, proof) == -1)
		return scram_server_final(st, NULL, out, outlen);
	return scram_server_final(st, proof, out, outlen);
}

/* the user name of a client-first, into a buffer of len */
static int
client_user(const char *cf, char *user, size_t len)
{
	struct scram_client_first f;

	if (scram_parse_client_first(cf, &f) == -1 || strlen(f.user) >= len)
		return -1;
	memcpy(user, f.user, strlen(f.user) + 1);
	return 0;
}

/* ---- an independent client ---- */

struct ref_keys {
	unsigned char	salted[32], ckey[32], stored[32], server[32];
};

static void
ref_hmac(const unsigned char *key, const void *msg, size_t mlen,
    unsigned char *out)
{
	unsigned int len = 0;

	assert_non_null(HMAC(EVP_sha256(), key, 32, msg, mlen, out, &len));
	assert_int_equal(len, 32);
}

static void
ref_derive(const char *pass, const unsigned char *salt, size_t slen,
    unsigned iter, struct ref_keys *r)
{
	unsigned int len = 0;

	assert_int_equal(PKCS5_PBKDF2_HMAC(pass, (int)strlen(pass), salt,
	    (int)slen, (int)iter, EVP_sha256(), 32, r->salted), 1);
	ref_hmac(r->salted, "Client Key", 10, r->ckey);
	ref_hmac(r->salted, "Server Key", 10, r->server);
	assert_int_equal(EVP_Digest(r->ckey, 32, r->stored, &len,
	    EVP_sha256(), NULL), 1);
}

static size_t
b64dec(const char *s, unsigned char *out, size_t outlen)
{
	long n = base64_decode(s, strlen(s), out, outlen);

	assert_true(n >= 0);
	return (size_t)n;
}

/* The value of attribute a ("r", "s", "i") of a server-first. */
static void
attr(const char *msg, char a, char *out, size_t outlen)
{
	const char *p = msg;

	for (;;) {
		size_t n = strcspn(p, ",");

		if (p[0] == a && p[1] == '=') {
			assert_true(n - 2 < outlen);
			memcpy(out, p + 2, n - 2);
			out[n - 2] = '\0';
			return;
		}
		if (p[n] == '\0')
			fail_msg("no %c= in %s", a, msg);
		p += n + 1;
	}
}

/* Client-final for a proof over authmsg; also the expected v=. */
static void
make_final(const struct ref_keys *r, const char *gs2b64,
    const char *client_first_bare, const char *server_first,
    const char *nonce, char *final, size_t flen, char *want_v, size_t vlen)
{
	char wo[SCRAM_MSG_MAX], authmsg[3 * SCRAM_MSG_MAX];
	char pb[BASE64_ENCODED_LEN(32)], vb[BASE64_ENCODED_LEN(32)];
	unsigned char csig[32], proof[32], ssig[32];
	int i;

	assert_true(snprintf(wo, sizeof(wo), "c=%s,r=%s", gs2b64, nonce) <
	    (int)sizeof(wo));
	assert_true(snprintf(authmsg, sizeof(authmsg), "%s,%s,%s",
	    client_first_bare, server_first, wo) < (int)sizeof(authmsg));
	ref_hmac(r->stored, authmsg, strlen(authmsg), csig);
	for (i = 0; i < 32; i++)
		proof[i] = r->ckey[i] ^ csig[i];
	base64_encode(proof, 32, pb);
	assert_true(snprintf(final, flen, "%s,p=%s", wo, pb) < (int)flen);
	ref_hmac(r->server, authmsg, strlen(authmsg), ssig);
	base64_encode(ssig, 32, vb);
	assert_true(snprintf(want_v, vlen, "v=%s", vb) < (int)vlen);
}

/* ---- scram_derive ---- */

static void
test_derive_matches_reference(void **state)
{
	static const struct {
		const char	*pass;
		const char	*salt_b64;
		unsigned	 iter;
	} cases[] = {
		{ RFC_PASS, RFC_SALT_B64, 4096 },
		{ "pencil", "QSXCR+Q6sek8bf92", 4096 },	/* RFC 5802 salt */
		{ "", "AAAAAAAAAAA=", 4096 },
		{ "p\xc3\xa4ssw\xc3\xb6rd with spaces", "c2FsdHNhbHQ=", 5000 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		unsigned char salt[SCRAM_SALT_LEN];
		size_t slen = b64dec(cases[i].salt_b64, salt, sizeof(salt));
		struct scram_keys k;
		struct ref_keys r;

		memset(&k, 0xAA, sizeof(k));
		assert_int_equal(scram_derive(cases[i].pass, salt, slen,
		    cases[i].iter, &k), 0);
		ref_derive(cases[i].pass, salt, slen, cases[i].iter, &r);
		assert_memory_equal(k.stored, r.stored, 32);
		assert_memory_equal(k.server, r.server, 32);
		assert_int_equal(k.iter, cases[i].iter);
		assert_int_equal(k.saltlen, slen);
		assert_memory_equal(k.salt, salt, slen);
	}
}

static void
test_derive_salt_too_long(void **state)
{
	unsigned char salt[SCRAM_SALT_LEN + 1] = { 0 };
	struct scram_keys k;

	(void)state;
	assert_int_equal(scram_derive("x", salt, sizeof(salt), 4096, &k), -1);
}

/* ---- the RFC 7677 example, with the RFC's server nonce ---- */

static void
test_rfc7677_example(void **state)
{
	unsigned char salt[SCRAM_SALT_LEN];
	size_t slen = b64dec(RFC_SALT_B64, salt, sizeof(salt));
	struct scram_state st;
	struct scram_keys k;
	char out[SCRAM_MSG_MAX], s[64], want_v[64], final[SCRAM_MSG_MAX];
	struct ref_keys r;

	(void)state;
	assert_int_equal(scram_derive(RFC_PASS, salt, slen, 4096, &k), 0);
	memset(&st, 0, sizeof(st));
	assert_int_equal(srv_first(&st, RFC_CLIENT_FIRST, &k, out,
	    sizeof(out)), 0);
	/* our server-first carries the client nonce, the salt, 4096 */
	attr(out, 'r', s, sizeof(s));
	assert_int_equal(strncmp(s, RFC_CNONCE, strlen(RFC_CNONCE)), 0);
	assert_true(strlen(s) > strlen(RFC_CNONCE));
	attr(out, 's', s, sizeof(s));
	assert_string_equal(s, RFC_SALT_B64);
	attr(out, 'i', s, sizeof(s));
	assert_string_equal(s, "4096");
	assert_string_equal(st.first_bare, "n=user,r=" RFC_CNONCE);

	/* put the RFC's server nonce in: the client-final then is the
	 * RFC's, and so must be the server signature */
	snprintf(st.nonce, sizeof(st.nonce), "%s", RFC_NONCE);
	snprintf(st.server_first, sizeof(st.server_first), "%s",
	    RFC_SERVER_FIRST);
	memset(out, 0, sizeof(out));
	assert_int_equal(srv_final(&st, RFC_CLIENT_FINAL, out,
	    sizeof(out)), 1);
	assert_string_equal(out, RFC_SERVER_FINAL);

	/* the independent client computes the same proof */
	ref_derive(RFC_PASS, salt, slen, 4096, &r);
	make_final(&r, "biws", "n=user,r=" RFC_CNONCE, RFC_SERVER_FIRST,
	    RFC_NONCE, final, sizeof(final), want_v, sizeof(want_v));
	assert_string_equal(final, RFC_CLIENT_FINAL);
	assert_string_equal(want_v, RFC_SERVER_FINAL);
}

/* ---- full exchanges with a client computed here ---- */

struct run {
	const char	*client_first;
	const char	*gs2b64;
	int		 tamper;	/* see exchange() */
	int		 want;
};

enum { T_NONE, T_PROOF_BIT, T_CNONCE_ONLY, T_NONCE_CHANGED, T_WRONG_PASS,
    T_CBIND, T_NO_PROOF, T_SHORT_PROOF, T_EXTRA_ATTR, T_BAD_B64_PROOF,
    T_PROOF_OTHER_AUTHMSG };

static int
exchange(const char *client_first, const char *gs2b64, int tamper,
    const struct scram_keys *server_keys, const char *client_pass,
    char *v_out, size_t vlen)
{
	struct scram_state st;
	struct ref_keys r;
	char out[SCRAM_MSG_MAX], nonce[SCRAM_MSG_MAX], salt_b64[64], it[16];
	char final[SCRAM_MSG_MAX], want_v[64], sf[SCRAM_MSG_MAX];
	unsigned char salt[SCRAM_SALT_LEN];
	size_t slen, cn;
	const char *bare = client_first + 3;
	int ok;

	memset(&st, 0, sizeof(st));
	assert_int_equal(srv_first(&st, client_first, server_keys,
	    out, sizeof(out)), 0);
	snprintf(sf, sizeof(sf), "%s", out);
	attr(out, 'r', nonce, sizeof(nonce));
	attr(out, 's', salt_b64, sizeof(salt_b64));
	attr(out, 'i', it, sizeof(it));
	/* r= is the client's nonce plus at least some of ours */
	cn = strlen(strstr(client_first, ",r=") + 3);
	assert_int_equal(strncmp(nonce, strstr(client_first, ",r=") + 3, cn),
	    0);
	assert_true(strlen(nonce) >= cn + 16);
	slen = b64dec(salt_b64, salt, sizeof(salt));
	ref_derive(client_pass, salt, slen, (unsigned)atoi(it), &r);
	if (tamper == T_PROOF_OTHER_AUTHMSG)
		make_final(&r, gs2b64, bare, "r=x,s=QUFBQUFBQUE=,i=4096",
		    nonce, final, sizeof(final), want_v, sizeof(want_v));
	else
		make_final(&r, gs2b64, bare, sf, nonce, final, sizeof(final),
		    want_v, sizeof(want_v));
	switch (tamper) {
	case T_PROOF_BIT: {
		/* flip one bit of the decoded proof */
		unsigned char p[32];
		char pb[BASE64_ENCODED_LEN(32)];
		char *pp = strstr(final, ",p=") + 3;

		assert_int_equal(b64dec(pp, p, sizeof(p)), 32);
		p[7] ^= 0x01;
		base64_encode(p, 32, pb);
		strcpy(pp, pb);
		break;
	}
	case T_CNONCE_ONLY: {
		/* the client nonce alone, not the server's extension */
		char *p = strstr(final, ",p="), tail[128];

		snprintf(tail, sizeof(tail), "%s", p);
		snprintf(final, sizeof(final), "c=%s,r=%.*s%s", gs2b64,
		    (int)cn, nonce, tail);
		break;
	}
	case T_NONCE_CHANGED: {
		/* the last character of the server's nonce changed */
		char *p = strstr(final, ",p=");

		p[-1] = p[-1] == 'A' ? 'B' : 'A';
		break;
	}
	case T_CBIND:
		break;	/* gs2b64 says it */
	case T_NO_PROOF:
		*strstr(final, ",p=") = '\0';
		break;
	case T_SHORT_PROOF:
		strcpy(strstr(final, ",p=") + 3,
		    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==");
		break;
	case T_EXTRA_ATTR:
		strcat(final, ",x=1");
		break;
	case T_BAD_B64_PROOF:
		strcat(final, " ");
		break;
	}
	memset(v_out, 0, vlen);
	ok = srv_final(&st, final, v_out, vlen);
	if (ok)
		assert_string_equal(v_out, want_v);
	/* a second final on the same state never succeeds */
	{
		char again[SCRAM_MSG_MAX];

		assert_int_equal(srv_final(&st, final, again,
		    sizeof(again)), 0);
	}
	return ok;
}

static void
keys_for(const char *pass, const char *salt_b64, unsigned iter,
    struct scram_keys *k)
{
	unsigned char salt[SCRAM_SALT_LEN];
	size_t slen = b64dec(salt_b64, salt, sizeof(salt));

	assert_int_equal(scram_derive(pass, salt, slen, iter, k), 0);
}

static void
test_full_exchange(void **state)
{
	static const struct {
		const char	*client_first;
		const char	*gs2b64;
		int		 tamper;
		const char	*client_pass;
		int		 want;
		const char	*what;
	} cases[] = {
		{ "n,,n=alice,r=fyko+d2lbbFgONRv9qkxdawL", "biws", T_NONE,
		    "s3cr3t", 1, "plain exchange" },
		{ "y,,n=alice,r=clientnonce123", "eSws", T_NONE, "s3cr3t", 1,
		    "y,, (client could bind, thinks we cannot)" },
		{ "n,,n=alice,r=x", "biws", T_NONE, "s3cr3t", 1,
		    "one-character client nonce" },
		{ "n,,n=alice,r=fyko+d2lbbFgONRv9qkxdawL", "biws", T_PROOF_BIT,
		    "s3cr3t", 0, "proof with one bit flipped" },
		{ "n,,n=alice,r=fyko+d2lbbFgONRv9qkxdawL", "biws", T_WRONG_PASS,
		    "wrong", 0, "proof from a wrong password" },
		{ "n,,n=alice,r=fyko+d2lbbFgONRv9qkxdawL", "biws",
		    T_CNONCE_ONLY, "s3cr3t", 0, "client nonce only" },
		{ "n,,n=alice,r=fyko+d2lbbFgONRv9qkxdawL", "biws",
		    T_NONCE_CHANGED, "s3cr3t", 0, "server nonce changed" },
		{ "n,,n=alice,r=fyko+d2lbbFgONRv9qkxdawL",
		    "cD10bHMtdW5pcXVlLCw=", T_CBIND, "s3cr3t", 0,
		    "channel binding requested in c=" },
		{ "n,,n=alice,r=fyko+d2lbbFgONRv9qkxdawL", "biws", T_NO_PROOF,
		    "s3cr3t", 0, "no p=" },
		{ "n,,n=alice,r=fyko+d2lbbFgONRv9qkxdawL", "biws",
		    T_SHORT_PROOF, "s3cr3t", 0, "31-byte proof" },
		{ "n,,n=alice,r=fyko+d2lbbFgONRv9qkxdawL", "biws",
		    T_EXTRA_ATTR, "s3cr3t", 0, "attribute after p=" },
		{ "n,,n=alice,r=fyko+d2lbbFgONRv9qkxdawL", "biws",
		    T_BAD_B64_PROOF, "s3cr3t", 0, "proof with a space" },
		{ "n,,n=alice,r=fyko+d2lbbFgONRv9qkxdawL", "biws",
		    T_PROOF_OTHER_AUTHMSG, "s3cr3t", 0,
		    "proof over another server-first" },
	};
	struct scram_keys k;
	char v[SCRAM_MSG_MAX];
	size_t i;

	(void)state;
	keys_for("s3cr3t", "c29tZSBzYWx0IGJ5dGVz", 4096, &k);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int ok = exchange(cases[i].client_first, cases[i].gs2b64,
		    cases[i].tamper, &k, cases[i].client_pass, v, sizeof(v));

		if (ok != cases[i].want)
			fail_msg("%s: got %d, want %d", cases[i].what, ok,
			    cases[i].want);
	}
	/* more iterations than the minimum are honoured */
	keys_for("s3cr3t", "c29tZSBzYWx0IGJ5dGVz", 8192, &k);
	assert_int_equal(exchange("n,,n=alice,r=abc", "biws", T_NONE, &k,
	    "s3cr3t", v, sizeof(v)), 1);
}

/* Each server-first has a fresh nonce. */
static void
test_nonce_fresh(void **state)
{
	struct scram_state a, b;
	struct scram_keys k;
	char oa[SCRAM_MSG_MAX], ob[SCRAM_MSG_MAX], na[256], nb[256];

	(void)state;
	keys_for("pw", "c29tZSBzYWx0IGJ5dGVz", 4096, &k);
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	assert_int_equal(srv_first(&a, "n,,n=u,r=same", &k, oa,
	    sizeof(oa)), 0);
	assert_int_equal(srv_first(&b, "n,,n=u,r=same", &k, ob,
	    sizeof(ob)), 0);
	attr(oa, 'r', na, sizeof(na));
	attr(ob, 'r', nb, sizeof(nb));
	assert_string_not_equal(na, nb);
	/* a state is used once */
	assert_int_equal(srv_first(&a, "n,,n=u,r=same", &k, oa,
	    sizeof(oa)), -1);
}

/* The install secret the tests key fake salts with. */
static const unsigned char test_key[32] = "privpop unit test salt key 0123";

/* What scram_fake_salt must give: HMAC-SHA256(key, label NUL user). */
static void
want_fake_salt(const unsigned char *key, size_t klen, const char *user,
    unsigned char *salt)
{
	static const char label[] = "privpop scram salt";
	unsigned char msg[256], mac[32];
	unsigned int len = 0;

	memcpy(msg, label, sizeof(label));
	memcpy(msg + sizeof(label), user, strlen(user));
	assert_non_null(HMAC(EVP_sha256(), key, (int)klen, msg,
	    sizeof(label) + strlen(user), mac, &len));
	memcpy(salt, mac, SCRAM_SALT_LEN);
}

static int
set_key(void **state)
{
	(void)state;
	scram_set_salt_key(test_key, sizeof(test_key));
	return 0;
}

/* A fake salt is keyed: not computable from the name alone (it was
 * SHA-256(user), which a client can compute and compare), and another
 * install's key gives another salt. */
static void
test_fake_salt_keyed(void **state)
{
	unsigned char a[SCRAM_SALT_LEN], b[SCRAM_SALT_LEN], w[SCRAM_SALT_LEN];
	unsigned char dig[32], other[32];
	unsigned int dlen = 0;

	(void)state;
	assert_int_equal(scram_fake_salt("ghost", a), 0);
	want_fake_salt(test_key, sizeof(test_key), "ghost", w);
	assert_memory_equal(a, w, SCRAM_SALT_LEN);
	assert_int_equal(EVP_Digest("ghost", 5, dig, &dlen, EVP_sha256(),
	    NULL), 1);
	assert_memory_not_equal(a, dig, SCRAM_SALT_LEN);
	memset(other, 7, sizeof(other));
	scram_set_salt_key(other, sizeof(other));
	assert_int_equal(scram_fake_salt("ghost", b), 0);
	assert_memory_not_equal(a, b, SCRAM_SALT_LEN);
	scram_set_salt_key(test_key, sizeof(test_key));
}

/* An unknown user (keys NULL): a stable salt, and step 2 always fails,
 * even with a proof that would match the fake (all-zero) keys. */
static void
test_unknown_user(void **state)
{
	struct scram_state st;
	char o1[SCRAM_MSG_MAX], o2[SCRAM_MSG_MAX], s1[64], s2[64], it[16];
	char n1[256], final[SCRAM_MSG_MAX], v[SCRAM_MSG_MAX], want_v[64];
	unsigned char salt[SCRAM_SALT_LEN], dig[32];
	unsigned int dlen = 0;
	struct ref_keys r;
	int i;

	(void)state;
	memset(&st, 0, sizeof(st));
	assert_int_equal(srv_first(&st, "n,,n=ghost,r=abc", NULL, o1,
	    sizeof(o1)), 0);
	memset(&st, 0, sizeof(st));
	assert_int_equal(srv_first(&st, "n,,n=ghost,r=abc", NULL, o2,
	    sizeof(o2)), 0);
	attr(o1, 's', s1, sizeof(s1));
	attr(o2, 's', s2, sizeof(s2));
	assert_string_equal(s1, s2);
	attr(o1, 'i', it, sizeof(it));
	assert_string_equal(it, "4096");
	/* 16 bytes, as a real user's salt, and not the same for another
	 * unknown name */
	assert_int_equal(b64dec(s1, salt, sizeof(salt)), SCRAM_SALT_LEN);
	want_fake_salt(test_key, sizeof(test_key), "ghost", dig);
	assert_memory_equal(salt, dig, SCRAM_SALT_LEN);
	(void)dlen;
	{
		struct scram_state o;
		char oo[SCRAM_MSG_MAX], so[64];

		memset(&o, 0, sizeof(o));
		assert_int_equal(srv_first(&o, "n,,n=ghost2,r=abc",
		    NULL, oo, sizeof(oo)), 0);
		attr(oo, 's', so, sizeof(so));
		assert_string_not_equal(so, s1);
	}

	/* the final fails for any password, and for a proof made to
	 * match the all-zero fake keys */
	for (i = 0; i < 2; i++) {
		attr(o2, 'r', n1, sizeof(n1));
		ref_derive(i == 0 ? "anything" : "privpop", salt,
		    SCRAM_SALT_LEN, 4096, &r);
		make_final(&r, "biws", "n=ghost,r=abc", o2, n1, final,
		    sizeof(final), want_v, sizeof(want_v));
		st.step = 1;	/* reuse the second state */
		assert_int_equal(srv_final(&st, final, v, sizeof(v)),
		    0);
	}
	{
		/* a client that knows the stored key is zero: proof =
		 * ckey ^ HMAC(zero, authmsg) with SHA256(ckey) != 0 can
		 * never match, but the valid flag must refuse it anyway */
		struct ref_keys z;

		memset(&z, 0, sizeof(z));
		make_final(&z, "biws", "n=ghost,r=abc", o2, n1, final,
		    sizeof(final), want_v, sizeof(want_v));
		st.step = 1;
		assert_int_equal(srv_final(&st, final, v, sizeof(v)),
		    0);
	}
}

/* A {PLAIN} user's keys are derived the way privpop-auth does it
 * (salt = scram_fake_salt), so the server-first of a real plain user
 * and of an unknown user look alike. */
static void
test_plain_user_like_unknown(void **state)
{
	unsigned char dig[32];
	unsigned int dlen = 0;
	struct scram_state a, b;
	struct scram_keys k;
	char oa[SCRAM_MSG_MAX], ob[SCRAM_MSG_MAX], sa[64], sb[64], v[128];

	(void)state;
	(void)dlen;
	assert_int_equal(scram_fake_salt("bob", dig), 0);
	assert_int_equal(scram_derive("plainpw", dig, SCRAM_SALT_LEN, 4096,
	    &k), 0);
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	assert_int_equal(srv_first(&a, "n,,n=bob,r=n1", &k, oa,
	    sizeof(oa)), 0);
	assert_int_equal(srv_first(&b, "n,,n=bob,r=n1", NULL, ob,
	    sizeof(ob)), 0);
	attr(oa, 's', sa, sizeof(sa));
	attr(ob, 's', sb, sizeof(sb));
	assert_string_equal(sa, sb);
	assert_int_equal(exchange("n,,n=bob,r=n1", "biws", T_NONE, &k,
	    "plainpw", v, sizeof(v)), 1);
}

/* ---- malformed client-first ---- */

static void
test_server_first_rejects(void **state)
{
	static const char *const bad[] = {
		"",
		"n",
		"n,,",
		"n,,n=",
		"n,,n=user",
		"n,,n=user,",
		"n,,n=user,r=",			/* empty nonce */
		"n,,n=user,r=abc,x=ext",	/* extension */
		"n,,n=user,x=1,r=abc",
		"n,,r=abc,n=user",
		"n,,m=ext,n=user,r=abc",	/* mandatory extension */
		"p=tls-unique,,n=user,r=abc",	/* channel binding */
		"n,a=admin,n=user,r=abc",	/* authzid */
		"N,,n=user,r=abc",
		"n,,n=us=er,r=abc",		/* bad escape */
		"x,,n=user,r=abc",
		" n,,n=user,r=abc",
	};
	struct scram_keys k;
	size_t i;
	int nbad = 0;

	(void)state;
	keys_for("pw", "c29tZSBzYWx0IGJ5dGVz", 4096, &k);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct scram_state st;
		char out[SCRAM_MSG_MAX];

		memset(&st, 0, sizeof(st));
		if (srv_first(&st, bad[i], &k, out, sizeof(out)) !=
		    -1) {
			print_error("accepted client-first \"%s\"\n", bad[i]);
			nbad++;
		}
	}
	/* too long for the state */
	{
		struct scram_state st;
		char out[SCRAM_MSG_MAX], cf[2 * SCRAM_MSG_MAX];

		memset(&st, 0, sizeof(st));
		memset(cf, 'a', sizeof(cf));
		memcpy(cf, "n,,n=user,r=", 12);
		cf[sizeof(cf) - 1] = '\0';
		assert_int_equal(srv_first(&st, cf, &k, out,
		    sizeof(out)), -1);
	}
	/* an output buffer that cannot hold the server-first */
	{
		struct scram_state st;
		char out[16];

		memset(&st, 0, sizeof(st));
		assert_int_equal(srv_first(&st, "n,,n=user,r=abc",
		    &k, out, sizeof(out)), -1);
	}
	if (nbad > 0)
		fail_msg("%d malformed client-first messages accepted", nbad);
}

static void
test_final_before_first(void **state)
{
	struct scram_state st;
	char out[SCRAM_MSG_MAX];

	(void)state;
	memset(&st, 0, sizeof(st));
	assert_int_equal(srv_final(&st, RFC_CLIENT_FINAL, out,
	    sizeof(out)), 0);
}

/* ---- scram_client_user ---- */

static void
test_client_user(void **state)
{
	static const struct {
		const char	*cf;
		int		 rc;
		const char	*user;
	} cases[] = {
		{ "n,,n=user,r=abc", 0, "user" },
		{ "y,,n=user,r=abc", 0, "user" },
		{ "n,,n=a=2Cb,r=abc", 0, "a,b" },
		{ "n,,n=a=3Db,r=abc", 0, "a=b" },
		{ "n,,n==2C=3D=2C,r=abc", 0, ",=," },
		{ "n,,n=x@example.org,r=abc", 0, "x@example.org" },
		{ "n,,n=a=2Cb=3Dc,r=abc", 0, "a,b=c" },
		{ "n,,n=a=2cb,r=abc", -1, NULL },	/* lower case */
		{ "n,,n=a=3db,r=abc", -1, NULL },
		{ "n,,n=a=41b,r=abc", -1, NULL },	/* not 2C/3D */
		{ "n,,n=a=,r=abc", -1, NULL },
		{ "n,,n=a=2,r=abc", -1, NULL },
		{ "n,,n==,r=abc", -1, NULL },
		{ "n,,n=a=b,r=abc", -1, NULL },
		{ "n,,n=,r=abc", -1, NULL },		/* empty */
		{ "n,,n=user", -1, NULL },		/* no ',' after */
		{ "n,,r=abc,n=user,", -1, NULL },
		{ "p=tls-unique,,n=user,r=abc", -1, NULL },
		{ "n,a=other,n=user,r=abc", -1, NULL },
		{ "n,,N=user,r=abc", -1, NULL },
		{ "", -1, NULL },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char user[129];
		int rc;

		memset(user, 0, sizeof(user));
		rc = client_user(cases[i].cf, user, sizeof(user));
		if (rc != cases[i].rc)
			fail_msg("\"%s\": rc %d, want %d", cases[i].cf, rc,
			    cases[i].rc);
		if (rc == 0)
			assert_string_equal(user, cases[i].user);
	}
}

static void
test_client_user_length(void **state)
{
	char cf[300], user[129];
	size_t n;

	(void)state;
	/* 128 characters fit a 129-byte buffer, 129 do not */
	for (n = 127; n <= 130; n++) {
		snprintf(cf, sizeof(cf), "n,,n=%.*s,r=abc", (int)n,
		    "uuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuu"
		    "uuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuu"
		    "uuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuu");
		assert_int_equal(client_user(cf, user, sizeof(user)),
		    n <= 128 ? 0 : -1);
		if (n <= 128)
			assert_int_equal(strlen(user), n);
	}
	/* escapes count once in the output */
	assert_int_equal(client_user("n,,n=ab=2C,r=x", user, 4), 0);
	assert_string_equal(user, "ab,");
	assert_int_equal(client_user("n,,n=ab=2Cc,r=x", user, 4), -1);
}

/* ---- stored form ---- */

static void
test_stored_round_trip(void **state)
{
	static const char *const salts[] = {
		"c29tZSBzYWx0IGJ5dGVz",		/* 15 bytes */
		"AAECAwQFBgcICQoLDA0ODw==",	/* 16 bytes */
		"AAECAwQFBgc=",			/* 8 bytes */
	};
	static const unsigned iters[] = { 4096, 10000, 10000000 };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(salts) / sizeof(salts[0]); i++) {
		struct scram_keys k, p;
		char s[256], s2[256];

		keys_for("round trip", salts[i], 4096, &k);
		k.iter = iters[i];
		assert_int_equal(scram_format_stored(&k, s, sizeof(s)), 0);
		memset(&p, 0x55, sizeof(p));
		assert_int_equal(scram_parse_stored(s, &p), 0);
		assert_int_equal(p.iter, k.iter);
		assert_int_equal(p.saltlen, k.saltlen);
		assert_memory_equal(p.salt, k.salt, k.saltlen);
		assert_memory_equal(p.stored, k.stored, 32);
		assert_memory_equal(p.server, k.server, 32);
		assert_int_equal(scram_format_stored(&p, s2, sizeof(s2)), 0);
		assert_string_equal(s, s2);
		/* the salt field is the base64 given */
		assert_int_equal(strncmp(strchr(s, ',') + 1, salts[i],
		    strlen(salts[i])), 0);
		/* too small an output buffer */
		assert_int_equal(scram_format_stored(&k, s2, strlen(s)), -1);
		assert_int_equal(scram_format_stored(&k, s2, strlen(s) + 1),
		    0);
	}
	/* the RFC 7677 keys in the stored form check the RFC password */
	{
		struct scram_keys k, p;
		char s[256];

		keys_for(RFC_PASS, RFC_SALT_B64, 4096, &k);
		assert_int_equal(scram_format_stored(&k, s, sizeof(s)), 0);
		assert_int_equal(strncmp(s, "4096," RFC_SALT_B64 ",", 30), 0);
		assert_int_equal(scram_parse_stored(s, &p), 0);
		assert_int_equal(scram_check_password(&p, RFC_PASS), 1);
		assert_int_equal(scram_check_password(&p, "pencil "), 0);
	}
}

#define K32	"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="	/* 32 bytes */
#define K31	"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg=="	/* 31 */
#define K33	"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g"	/* 33 */
#define SALT	"c29tZSBzYWx0IGJ5dGVz"

static void
test_stored_rejects(void **state)
{
	static const struct {
		const char	*s;
		int		 rc;
	} cases[] = {
		{ "4096," SALT "," K32 "," K32, 0 },
		{ "4095," SALT "," K32 "," K32, -1 },	/* iter < 4096 */
		{ "0," SALT "," K32 "," K32, -1 },
		{ "1," SALT "," K32 "," K32, -1 },
		{ "10000001," SALT "," K32 "," K32, -1 },
		{ "-4096," SALT "," K32 "," K32, -1 },
		{ "+4096," SALT "," K32 "," K32, -1 },
		{ " 4096," SALT "," K32 "," K32, -1 },
		{ "4096x," SALT "," K32 "," K32, -1 },
		{ "," SALT "," K32 "," K32, -1 },
		{ "4096,c29tZSBzYWx0IGJ5dGVz=," K32 "," K32, -1 },/* b64 */
		{ "4096,c29tZSBz YWx0IGJ5dGV," K32 "," K32, -1 },
		{ "4096,YWJj," K32 "," K32, -1 },	/* 3-byte salt */
		{ "4096,AAECAwQFBg==," K32 "," K32, -1 },	/* 7 bytes */
		{ "4096,AAECAwQFBgcICQoLDA0ODxA=," K32 "," K32, -1 }, /* 17 */
		{ "4096,," K32 "," K32, -1 },
		{ "4096," SALT "," K31 "," K32, -1 },	/* key lengths */
		{ "4096," SALT "," K32 "," K31, -1 },
		{ "4096," SALT "," K33 "," K32, -1 },
		{ "4096," SALT "," K32 "," K33, -1 },
		{ "4096," SALT ",," K32, -1 },
		{ "4096," SALT "," K32 ",", -1 },
		{ "4096," SALT "," K32 "*," K32, -1 },
		{ "4096," SALT "," K32, -1 },		/* 3 fields */
		{ "4096," SALT, -1 },
		{ "", -1 },
		{ "4096," SALT "," K32 "," K32 ",", -1 },	/* extra */
		{ "4096," SALT "," K32 "," K32 ",x", -1 },
		{ "4096," SALT "," K32 "," K32 "," K32, -1 },
		{ "4096," SALT "," K32 "," K32 " ", -1 },
		{ "4096," SALT "," K32 "," K32 "\n", -1 },
	};
	size_t i;
	int nbad = 0;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct scram_keys k;
		int rc = scram_parse_stored(cases[i].s, &k);

		if (rc != cases[i].rc) {
			print_error("\"%s\": rc %d, want %d\n", cases[i].s,
			    rc, cases[i].rc);
			nbad++;
		}
	}
	/* a field longer than the parser's buffer */
	{
		char s[1024];
		struct scram_keys k;

		memset(s, 'A', sizeof(s));
		memcpy(s, "4096,", 5);
		s[sizeof(s) - 1] = '\0';
		assert_int_equal(scram_parse_stored(s, &k), -1);
	}
	if (nbad > 0)
		fail_msg("%d stored forms parsed wrongly", nbad);
}

/* ---- PASS against stored keys ---- */

static void
test_check_password(void **state)
{
	struct scram_keys k;

	(void)state;
	keys_for("correct horse", SALT, 4096, &k);
	assert_int_equal(scram_check_password(&k, "correct horse"), 1);
	assert_int_equal(scram_check_password(&k, "correct horse "), 0);
	assert_int_equal(scram_check_password(&k, "Correct horse"), 0);
	assert_int_equal(scram_check_password(&k, ""), 0);
	/* the iteration count is part of the key */
	k.iter = 4097;
	assert_int_equal(scram_check_password(&k, "correct horse"), 0);
	/* the empty password works only when it is the password */
	keys_for("", SALT, 4096, &k);
	assert_int_equal(scram_check_password(&k, ""), 1);
	assert_int_equal(scram_check_password(&k, "x"), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_derive_matches_reference),
		cmocka_unit_test(test_fake_salt_keyed),
		cmocka_unit_test(test_derive_salt_too_long),
		cmocka_unit_test(test_rfc7677_example),
		cmocka_unit_test(test_full_exchange),
		cmocka_unit_test(test_nonce_fresh),
		cmocka_unit_test(test_unknown_user),
		cmocka_unit_test(test_plain_user_like_unknown),
		cmocka_unit_test(test_server_first_rejects),
		cmocka_unit_test(test_final_before_first),
		cmocka_unit_test(test_client_user),
		cmocka_unit_test(test_client_user_length),
		cmocka_unit_test(test_stored_round_trip),
		cmocka_unit_test(test_stored_rejects),
		cmocka_unit_test(test_check_password),
	};

	return cmocka_run_group_tests(tests, set_key, NULL);
}
