/*
 * Runs as root inside privpop-auth: SCRAM-SHA-256 verification.
 *
 * Runs as: root (privpop-auth).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "base64.h"
#include "numparse.h"
#include "scram.h"

static int
hmac(const unsigned char *key, size_t klen, const void *msg, size_t mlen,
    unsigned char *out)
{
	unsigned int len = 0;

	return HMAC(EVP_sha256(), key, (int)klen, msg, mlen, out, &len) ==
	    NULL || len != SCRAM_HASH_LEN ? -1 : 0;
}

static int
sha256(const void *p, size_t n, unsigned char *out)
{
	unsigned int len = 0;

	return EVP_Digest(p, n, out, &len, EVP_sha256(), NULL) != 1 ||
	    len != SCRAM_HASH_LEN ? -1 : 0;
}

/* The install's secret, keying the salts of users without SCRAM keys. */
static unsigned char salt_key[SCRAM_HASH_LEN];
static size_t salt_key_len;

void
scram_set_salt_key(const unsigned char *key, size_t len)
{
	if (len > sizeof(salt_key))
		len = sizeof(salt_key);
	memcpy(salt_key, key, len);
	salt_key_len = len;
}

int
scram_fake_salt(const char *user, unsigned char salt[SCRAM_SALT_LEN])
{
	static const char label[] = "privpop scram salt";
	unsigned char mac[SCRAM_HASH_LEN];
	unsigned int len = 0;
	unsigned char msg[sizeof(label) + 256];
	size_t ulen = strlen(user);

	if (salt_key_len == 0 || ulen > 256)
		return -1;
	/* the label (with its NUL) keeps this key's uses apart */
	memcpy(msg, label, sizeof(label));
	memcpy(msg + sizeof(label), user, ulen);
	if (HMAC(EVP_sha256(), salt_key, (int)salt_key_len, msg,
	    sizeof(label) + ulen, mac, &len) == NULL || len != sizeof(mac))
		return -1;
	memcpy(salt, mac, SCRAM_SALT_LEN);
	explicit_bzero(mac, sizeof(mac));
	return 0;
}

int
scram_derive(const char *pass, const unsigned char *salt, size_t slen,
    unsigned iter, struct scram_keys *k)
{
	unsigned char salted[SCRAM_HASH_LEN], ckey[SCRAM_HASH_LEN];
	int r = -1;

	if (slen > sizeof(k->salt))
		return -1;
	if (PKCS5_PBKDF2_HMAC(pass, (int)strlen(pass), salt, (int)slen,
	    (int)iter, EVP_sha256(), sizeof(salted), salted) == 1 &&
	    hmac(salted, sizeof(salted), "Client Key", 10, ckey) == 0 &&
	    sha256(ckey, sizeof(ckey), k->stored) == 0 &&
	    hmac(salted, sizeof(salted), "Server Key", 10, k->server) == 0) {
		k->iter = iter;
		memcpy(k->salt, salt, slen);
		k->saltlen = slen;
		r = 0;
	}
	explicit_bzero(salted, sizeof(salted));
	explicit_bzero(ckey, sizeof(ckey));
	return r;
}

/* One comma-separated field of the stored form; *sep_r tells whether
 * a comma ended it. */
static const char *
field(const char *p, char *out, size_t outlen, int *sep_r)
{
	size_t n = strcspn(p, ",");

	if (n >= outlen)
		return NULL;
	memcpy(out, p, n);
	out[n] = '\0';
	*sep_r = p[n] == ',';
	return *sep_r ? p + n + 1 : p + n;
}

int
scram_parse_stored(const char *s, struct scram_keys *k)
{
	char f[4][128];
	uint64_t iter;
	long n;
	int i;

	for (i = 0; i < 4; i++) {
		int sep;

		if ((s = field(s, f[i], sizeof(f[i]), &sep)) == NULL)
			return -1;
		/* three separators, and none after the last field */
		if ((i < 3) != sep)
			return -1;
	}
	if (*s != '\0' ||
	    parse_uint(f[0], strlen(f[0]), 4096, 10000000, &iter) == -1)
		return -1;
	k->iter = (unsigned)iter;
	if ((n = base64_decode(f[1], strlen(f[1]), k->salt,
	    sizeof(k->salt))) < 8)
		return -1;
	k->saltlen = (size_t)n;
	if (base64_decode(f[2], strlen(f[2]), k->stored,
	    sizeof(k->stored)) != SCRAM_HASH_LEN ||
	    base64_decode(f[3], strlen(f[3]), k->server,
	    sizeof(k->server)) != SCRAM_HASH_LEN)
		return -1;
	return 0;
}

int
scram_format_stored(const struct scram_keys *k, char *out, size_t outlen)
{
	char s[BASE64_ENCODED_LEN(SCRAM_SALT_LEN)];
	char a[BASE64_ENCODED_LEN(SCRAM_HASH_LEN)];
	char b[BASE64_ENCODED_LEN(SCRAM_HASH_LEN)];
	int n;

	base64_encode(k->salt, k->saltlen, s);
	base64_encode(k->stored, SCRAM_HASH_LEN, a);
	base64_encode(k->server, SCRAM_HASH_LEN, b);
	n = snprintf(out, outlen, "%u,%s,%s,%s", k->iter, s, a, b);
	return (n < 0 || (size_t)n >= outlen) ? -1 : 0;
}

int
scram_check_password(const struct scram_keys *k, const char *pass)
{
	struct scram_keys t;
	int ok;

	if (scram_derive(pass, k->salt, k->saltlen, k->iter, &t) == -1)
		return 0;
	ok = CRYPTO_memcmp(t.stored, k->stored, SCRAM_HASH_LEN) == 0;
	explicit_bzero(&t, sizeof(t));
	return ok;
}

/* saslname (RFC 5802): ',' is "=2C" and '=' is "=3D"; the session
 * unescaped it, this writes the form the client signed. */
static int
escape_name(const char *user, char *out, size_t outlen)
{
	size_t o = 0;

	for (; *user != '\0'; user++) {
		const char *e = *user == ',' ? "=2C" : *user == '=' ? "=3D" :
		    NULL;
		size_t n = e != NULL ? 3 : 1;

		if (o + n >= outlen)
			return -1;
		memcpy(out + o, e != NULL ? e : user, n);
		o += n;
	}
	out[o] = '\0';
	return 0;
}

int
scram_server_first(struct scram_state *st, int gs2_y, const char *user,
    const char *cnonce, const struct scram_keys *keys, char *out,
    size_t outlen)
{
	unsigned char rnd[18];
	char rb[BASE64_ENCODED_LEN(sizeof(rnd))];
	char sb[BASE64_ENCODED_LEN(SCRAM_SALT_LEN)];
	char name[SCRAM_MSG_MAX];
	int n;

	/* the fields as the session parsed them (ipc_get_auth_scram_first
	 * checked the nonce's characters); the client-first-bare they
	 * came from is rebuilt, one form for each, for the AuthMessage */
	if (st->step != 0 || *user == '\0' || *cnonce == '\0' ||
	    snprintf(st->user, sizeof(st->user), "%s", user) >=
	    (int)sizeof(st->user) ||
	    escape_name(user, name, sizeof(name)) == -1 ||
	    snprintf(st->first_bare, sizeof(st->first_bare), "n=%s,r=%s",
	    name, cnonce) >= (int)sizeof(st->first_bare))
		return -1;
	st->gs2 = gs2_y ? 'y' : 'n';
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return -1;
	base64_encode(rnd, sizeof(rnd), rb);
	if ((size_t)snprintf(st->nonce, sizeof(st->nonce), "%s%s", cnonce, rb)
	    >= sizeof(st->nonce))
		return -1;
	if (keys != NULL) {
		st->keys = *keys;
		st->valid = 1;
	} else {
		/* an unknown user gets a salt that is the same every time
		 * and unpredictable, so the answer does not tell it from a
		 * real one */
		memset(&st->keys, 0, sizeof(st->keys));
		if (scram_fake_salt(st->user, st->keys.salt) == -1)
			return -1;
		st->keys.saltlen = SCRAM_SALT_LEN;
		st->keys.iter = SCRAM_ITERATIONS;
		st->valid = 0;
	}
	base64_encode(st->keys.salt, st->keys.saltlen, sb);
	n = snprintf(st->server_first, sizeof(st->server_first),
	    "r=%s,s=%s,i=%u", st->nonce, sb, st->keys.iter);
	if (n < 0 || (size_t)n >= sizeof(st->server_first) ||
	    snprintf(out, outlen, "%s", st->server_first) >= (int)outlen)
		return -1;
	st->step = 1;
	return 0;
}

int
scram_server_final(struct scram_state *st,
    const unsigned char proof[SCRAM_HASH_LEN], char *out, size_t outlen)
{
	char authmsg[3 * SCRAM_MSG_MAX], wp[SCRAM_MSG_MAX];
	unsigned char csig[SCRAM_HASH_LEN];
	unsigned char ckey[SCRAM_HASH_LEN], stored[SCRAM_HASH_LEN];
	unsigned char ssig[SCRAM_HASH_LEN];
	char vb[BASE64_ENCODED_LEN(SCRAM_HASH_LEN)];
	size_t i;
	int ok;

	if (st->step != 1)
		return 0;
	st->step = 2;
	if (proof == NULL)
		return 0;
	/* client-final-without-proof as a client that checked our nonce
	 * wrote it: c= is the base64 of the GS2 header sent first ("n,,"
	 * biws, "y,," eSws: RFC 5802 section 7); the session checked the
	 * client's against it, and any other makes the proof fail here */
	if ((size_t)snprintf(wp, sizeof(wp), "c=%s,r=%s",
	    st->gs2 == 'y' ? "eSws" : "biws", st->nonce) >= sizeof(wp))
		return 0;
	if ((size_t)snprintf(authmsg, sizeof(authmsg), "%s,%s,%s",
	    st->first_bare, st->server_first, wp) >= sizeof(authmsg))
		return 0;
	if (hmac(st->keys.stored, SCRAM_HASH_LEN, authmsg, strlen(authmsg),
	    csig) == -1)
		return 0;
	for (i = 0; i < SCRAM_HASH_LEN; i++)
		ckey[i] = proof[i] ^ csig[i];
	if (sha256(ckey, sizeof(ckey), stored) == -1)
		return 0;
	ok = CRYPTO_memcmp(stored, st->keys.stored, SCRAM_HASH_LEN) == 0 &&
	    st->valid;
	explicit_bzero(ckey, sizeof(ckey));
	if (!ok)
		return 0;
	if (hmac(st->keys.server, SCRAM_HASH_LEN, authmsg, strlen(authmsg),
	    ssig) == -1)
		return 0;
	base64_encode(ssig, sizeof(ssig), vb);
	return snprintf(out, outlen, "v=%s", vb) < (int)outlen;
}
