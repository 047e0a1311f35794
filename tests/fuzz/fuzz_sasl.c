/*
 * SASL input handling: base64_decode, the session's SCRAM parse
 * (scram_msg.c), the SCRAM server exchange (scram.c) on fuzzed client
 * messages passed through that parse, scram_parse_stored.
 *
 * The first input byte picks what is fuzzed (its low 3 bits) and a few
 * options (the other bits); the rest is the data.
 *   0  base64_decode into a bounded buffer; the result never exceeds
 *      the bound, and encode(decode(x)) == x for accepted input
 *   1  scram_parse_client_first: a bounded, non-empty user and nonce
 *   2  scram_server_first + scram_server_final on "client-first\n
 *      client-final", keys NULL (never accepted) or real keys
 *   3  a fuzzed client-first answered by a correctly computed
 *      client-final (independent HMAC/SHA-256 here): must succeed with
 *      the right server signature, and fail once tampered with
 *   4  scram_parse_stored, re-formatted and parsed back
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "base64.h"
#include "scram.h"
#include "scram_msg.h"

#define CHECK(x)	do { if (!(x)) abort(); } while (0)

/* "pencil" with the RFC 7677 salt, derived once */
static struct scram_keys keys;
static unsigned char ckey[SCRAM_HASH_LEN];
static int keys_ready;

static void
init_keys(void)
{
	static const unsigned char salt[16] = {
		0x5b, 0x6d, 0x99, 0x68, 0x9d, 0x12, 0x35, 0x8e,
		0xec, 0xa0, 0x4b, 0x14, 0x12, 0x36, 0xfa, 0x81 };
	unsigned char salted[SCRAM_HASH_LEN];
	unsigned int len = 0;

	if (keys_ready)
		return;
	CHECK(scram_derive("pencil", salt, sizeof(salt), 4096, &keys) == 0);
	CHECK(PKCS5_PBKDF2_HMAC("pencil", 6, salt, sizeof(salt), 4096,
	    EVP_sha256(), sizeof(salted), salted) == 1);
	CHECK(HMAC(EVP_sha256(), salted, sizeof(salted), (const unsigned
	    char *)"Client Key", 10, ckey, &len) != NULL);
	keys_ready = 1;
}

/* The two halves joined, as privpop-auth is reached: the session's
 * parse, then the server side with the fields (malformed: empty). */
static int
srv_first(struct scram_state *st, const char *cf,
    const struct scram_keys *k, char *out, size_t outlen)
{
	struct scram_client_first f;

	(void)scram_parse_client_first(cf, &f);
	return scram_server_first(st, f.gs2_y, f.user, f.cnonce, k, out,
	    outlen);
}

static int
srv_final(struct scram_state *st, const char *cf, char *out, size_t outlen)
{
	unsigned char proof[SCRAM_PROOF_LEN];

	if (st->step != 1 || scram_parse_client_final(cf, st->gs2 == 'y',
	    st->server_first, proof) == -1)
		return scram_server_final(st, NULL, out, outlen);
	return scram_server_final(st, proof, out, outlen);
}

/* A NUL-terminated heap copy (NULs inside end the string early). */
static char *
cstr(const uint8_t *p, size_t n)
{
	char *s = malloc(n + 1);

	if (s != NULL) {
		memcpy(s, p, n);
		s[n] = '\0';
	}
	return s;
}

static void
fuzz_base64(uint8_t opt, const uint8_t *data, size_t size)
{
	size_t bound = size / 4 * 3, room;
	unsigned char *out;
	char *enc;
	long n;

	/* exact-size copy: the decoder must not read past len */
	char *in = malloc(size ? size : 1);

	if (in == NULL)
		return;
	memcpy(in, data, size);
	/* room: the full bound, or less (opt says how much less) */
	room = (opt & 0x80) ? bound : bound - (bound < (size_t)(opt >> 3) ?
	    bound : (size_t)(opt >> 3));
	out = malloc(room + 1);
	enc = malloc(BASE64_ENCODED_LEN(room));
	if (out == NULL || enc == NULL)
		goto done;
	out[room] = 0xA5;
	n = base64_decode(in, size, out, room);
	CHECK(n >= -1);
	CHECK(out[room] == 0xA5);
	if (n >= 0) {
		CHECK((size_t)n <= room && (size_t)n <= bound);
		CHECK(size % 4 == 0);
		CHECK((size_t)n + 2 >= bound);
		/* canonical: encoding gives back the very input */
		CHECK(base64_encode(out, (size_t)n, enc) == size);
		CHECK(memcmp(enc, in, size) == 0);
	}
done:
	free(in);
	free(out);
	free(enc);
}

static void
fuzz_client_user(const uint8_t *data, size_t size)
{
	struct scram_client_first f;
	char *cf = cstr(data, size);
	size_t n;
	int r;

	if (cf == NULL)
		return;
	memset(&f, 'Z', sizeof(f));
	r = scram_parse_client_first(cf, &f);
	CHECK(r == 0 || r == -1);
	n = strnlen(f.user, sizeof(f.user));
	CHECK(n < sizeof(f.user));
	CHECK(strnlen(f.cnonce, sizeof(f.cnonce)) < sizeof(f.cnonce));
	if (r == 0) {
		CHECK(n > 0 && f.cnonce[0] != '\0');
		CHECK(strchr(f.cnonce, ',') == NULL);
		CHECK(strncmp(cf + 1, ",,n=", 4) == 0);
		CHECK(f.gs2_y == (cf[0] == 'y'));
	} else {
		CHECK(n == 0 && f.cnonce[0] == '\0');
	}
	free(cf);
}

static void
fuzz_exchange(uint8_t opt, const uint8_t *data, size_t size)
{
	static struct scram_state st;
	char out[SCRAM_MSG_MAX + 8], fin[SCRAM_MSG_MAX + 8];
	const uint8_t *nl = memchr(data, '\n', size);
	char *cf, *cfin;
	size_t outlen = (opt & 0x40) ? 32 + (opt >> 3 & 7) * 64 :
	    SCRAM_MSG_MAX;
	int use_keys = (opt & 0x80) != 0, r;

	if (nl == NULL)
		nl = data + size;
	cf = cstr(data, (size_t)(nl - data));
	cfin = nl < data + size ? cstr(nl + 1, (size_t)(data + size - nl - 1))
	    : cstr((const uint8_t *)"", 0);
	if (cf == NULL || cfin == NULL)
		goto done;
	if (use_keys)
		init_keys();
	memset(&st, 0, sizeof(st));
	memset(out, 'Z', sizeof(out));
	r = srv_first(&st, cf, use_keys ? &keys : NULL, out, outlen);
	CHECK(r == 0 || r == -1);
	CHECK(memcmp(out + outlen, "ZZZZZZZZ", 8) == 0);
	if (r == -1) {
		CHECK(st.step == 0);
		CHECK(srv_final(&st, cfin, fin, SCRAM_MSG_MAX) == 0);
		goto done;
	}
	CHECK(st.step == 1);
	CHECK(strlen(out) < outlen);
	CHECK(strncmp(out, "r=", 2) == 0);
	CHECK(strstr(out, ",s=") != NULL && strstr(out, ",i=") != NULL);
	memset(fin, 'Z', sizeof(fin));
	r = srv_final(&st, cfin, fin, (opt & 0x20) ? 40 :
	    SCRAM_MSG_MAX);
	CHECK(r == 0 || r == 1);
	/* no keys: never accepted, whatever the proof */
	if (!use_keys)
		CHECK(r == 0);
	if (r == 1)
		CHECK(strncmp(fin, "v=", 2) == 0);
	CHECK(memcmp(fin + ((opt & 0x20) ? 40 : SCRAM_MSG_MAX), "ZZZZZZZZ",
	    8) == 0);
	/* a state is good for one final */
	CHECK(srv_final(&st, cfin, fin, SCRAM_MSG_MAX) == 0);
done:
	free(cf);
	free(cfin);
}

static void
ref_hmac(const unsigned char *key, const char *msg, unsigned char *out)
{
	unsigned int len = 0;

	CHECK(HMAC(EVP_sha256(), key, SCRAM_HASH_LEN, (const unsigned char *)
	    msg, strlen(msg), out, &len) != NULL && len == SCRAM_HASH_LEN);
}

static void
fuzz_good_client(uint8_t opt, const uint8_t *data, size_t size)
{
	static struct scram_state st;
	char out[SCRAM_MSG_MAX], fin[SCRAM_MSG_MAX], v[SCRAM_MSG_MAX];
	char authmsg[3 * SCRAM_MSG_MAX + 64], wo[SCRAM_MSG_MAX + 64];
	char pb[BASE64_ENCODED_LEN(SCRAM_HASH_LEN)];
	char vb[BASE64_ENCODED_LEN(SCRAM_HASH_LEN)];
	unsigned char csig[SCRAM_HASH_LEN], proof[SCRAM_HASH_LEN];
	unsigned char ssig[SCRAM_HASH_LEN];
	char *cf = cstr(data, size), *nonce, *e;
	int i, r, tamper = opt & 0x80;

	if (cf == NULL)
		return;
	init_keys();
	memset(&st, 0, sizeof(st));
	if (srv_first(&st, cf, &keys, out, sizeof(out)) == -1)
		goto done;
	/* the client side, from the messages alone */
	CHECK(strncmp(out, "r=", 2) == 0);
	nonce = out + 2;
	CHECK((e = strchr(nonce, ',')) != NULL);
	if ((size_t)snprintf(wo, sizeof(wo), "c=%s,r=%.*s",
	    cf[0] == 'y' ? "eSws" : "biws", (int)(e - nonce), nonce) >=
	    sizeof(wo))
		goto done;
	if ((size_t)snprintf(authmsg, sizeof(authmsg), "%s,%s,%s", cf + 3,
	    out, wo) >= sizeof(authmsg))
		goto done;
	ref_hmac(keys.stored, authmsg, csig);
	for (i = 0; i < SCRAM_HASH_LEN; i++)
		proof[i] = ckey[i] ^ csig[i];
	if (tamper)
		proof[(opt >> 2) & 31] ^= (uint8_t)(1u << (opt & 3));
	base64_encode(proof, sizeof(proof), pb);
	if ((size_t)snprintf(fin, sizeof(fin), "%s,p=%s", wo, pb) >=
	    sizeof(fin))
		goto done;
	r = srv_final(&st, fin, v, sizeof(v));
	if (strlen(fin) >= SCRAM_MSG_MAX - 1)
		goto done;	/* privpop-auth would not take it anyway */
	if (tamper) {
		CHECK(r == 0);
	} else {
		CHECK(r == 1);
		ref_hmac(keys.server, authmsg, ssig);
		base64_encode(ssig, sizeof(ssig), vb);
		CHECK(strncmp(v, "v=", 2) == 0 && strcmp(v + 2, vb) == 0);
	}
done:
	free(cf);
}

static void
fuzz_stored(const uint8_t *data, size_t size)
{
	struct scram_keys k, k2;
	char fmt[512], *s = cstr(data, size);

	if (s == NULL)
		return;
	memset(&k, 0, sizeof(k));
	if (scram_parse_stored(s, &k) == 0) {
		CHECK(k.iter >= 4096 && k.iter <= 10000000);
		CHECK(k.saltlen >= 8 && k.saltlen <= SCRAM_SALT_LEN);
		CHECK(scram_format_stored(&k, fmt, sizeof(fmt)) == 0);
		memset(&k2, 0, sizeof(k2));
		CHECK(scram_parse_stored(fmt, &k2) == 0);
		CHECK(k2.iter == k.iter && k2.saltlen == k.saltlen);
		CHECK(memcmp(k2.salt, k.salt, k.saltlen) == 0);
		CHECK(memcmp(k2.stored, k.stored, SCRAM_HASH_LEN) == 0);
		CHECK(memcmp(k2.server, k.server, SCRAM_HASH_LEN) == 0);
	}
	free(s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t sel;

	if (size == 0)
		return 0;
	sel = data[0];
	data++;
	size--;
	switch (sel & 7) {
	case 0:
	case 5:
		fuzz_base64(sel, data, size);
		break;
	case 1:
		fuzz_client_user(data, size);
		break;
	case 2:
	case 6:
		fuzz_exchange(sel, data, size);
		break;
	case 3:
	case 7:
		fuzz_good_client(sel, data, size);
		break;
	case 4:
		fuzz_stored(data, size);
		break;
	}
	return 0;
}
