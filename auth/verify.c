/*
 * Runs as root inside privpop-auth: compares credentials.
 *
 * Runs as: root (privpop-auth).
 */
#include "config.h"

#include <crypt.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "scram.h"
#include "verify.h"

/* A yescrypt setting with the default cost, made once per process; an
 * unknown user's password is hashed with it when the file has no crypt
 * entry to take the work from. */
static const char *
fallback_dummy(void)
{
	static char setting[CRYPT_GENSALT_OUTPUT_SIZE];

	if (setting[0] == '\0' &&
	    crypt_gensalt_rn("$y$", 0, NULL, 0, setting,
	    sizeof(setting)) == NULL)
		snprintf(setting, sizeof(setting), "$6$privpopdummysalt");
	return setting;
}

int
secret_equal(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (la != lb)
		return 0;
	return CRYPTO_memcmp(a, b, la) == 0;
}

static int
crypt_check(const char *hash, const char *pass)
{
	static struct crypt_data cd;
	const char *out;
	int ok;

	memset(&cd, 0, sizeof(cd));
	out = crypt_rn(pass, hash, &cd, sizeof(cd));
	ok = out != NULL && out[0] != '*' && secret_equal(out, hash);
	explicit_bzero(&cd, sizeof(cd));
	return ok;
}

int
verify_password(const struct pwf_entry *e, const char *dummy_hash,
    const char *pass)
{
	if (e == NULL || e->scheme == PWF_LOCKED) {
		crypt_check(dummy_hash[0] ? dummy_hash : fallback_dummy(), pass);
		return 0;
	}
	if (e->scheme == PWF_PLAIN)
		return secret_equal(e->secret, pass);
	if (e->scheme == PWF_SCRAM) {
		struct scram_keys k;

		return scram_parse_stored(e->secret, &k) == 0 &&
		    scram_check_password(&k, pass);
	}
	return crypt_check(e->secret, pass);
}

int
verify_apop(const struct pwf_entry *e, const char *stamp,
    const char *digest)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;
	char hex[2 * EVP_MAX_MD_SIZE + 1], given[2 * EVP_MAX_MD_SIZE + 1];
	EVP_MD_CTX *ctx;
	size_t n = strlen(digest);
	int ok;

	if (n != 32)
		return 0;
	for (i = 0; i < n; i++)
		given[i] = (char)tolower((unsigned char)digest[i]);
	given[n] = '\0';
	if (e == NULL || e->scheme != PWF_PLAIN)
		return 0;
	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return 0;
	ok = EVP_DigestInit_ex(ctx, EVP_md5(), NULL) == 1 &&
	    EVP_DigestUpdate(ctx, stamp, strlen(stamp)) == 1 &&
	    EVP_DigestUpdate(ctx, e->secret, strlen(e->secret)) == 1 &&
	    EVP_DigestFinal_ex(ctx, md, &mdlen) == 1;
	EVP_MD_CTX_free(ctx);
	if (!ok)
		return 0;
	for (i = 0; i < mdlen; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	hex[2 * mdlen] = '\0';
	return secret_equal(hex, given);
}

int
verify_cram(const struct pwf_entry *e, const char *challenge,
    const char *digest)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;
	char hex[2 * EVP_MAX_MD_SIZE + 1], given[33];
	size_t n = strlen(digest);

	if (n != 32 || e == NULL || e->scheme != PWF_PLAIN)
		return 0;
	for (i = 0; i < n; i++)
		given[i] = (char)tolower((unsigned char)digest[i]);
	given[n] = '\0';
	if (HMAC(EVP_md5(), e->secret, (int)strlen(e->secret),
	    (const unsigned char *)challenge, strlen(challenge), md,
	    &mdlen) == NULL)
		return 0;
	for (i = 0; i < mdlen; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	hex[2 * mdlen] = '\0';
	return secret_equal(hex, given);
}

int
verify_uid_allowed(uid_t uid, gid_t gid, int first_valid_uid, int root)
{
	if (uid == 0 || uid < (uid_t)first_valid_uid)
		return 0;
	return !(root && gid == 0);
}
