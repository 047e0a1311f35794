/*
 * Runs as root inside privpop-auth: loads the TLS private key and signs
 * for the session's handshake.
 */
#include "config.h"

/* the raw RSA and ECDSA operations the session's stand-in key needs */
#define OPENSSL_SUPPRESS_DEPRECATED

#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include "keyfile.h"
#include "log.h"
#include "tls_keys.h"

/* Bytes of all key files together, far above real keys. */
#define TLS_KEYS_MAX	(1024 * 1024)

static EVP_PKEY *keys[1 + MAX_SNI];
static int nkeys, signs;
static int signer_fd = -1;	/* the fork server's channel, or -1 */

static EVP_PKEY *
load(const char *path)
{
	EVP_PKEY *k;
	FILE *fp;

	if ((fp = fopen(path, "re")) == NULL) {
		log_warn("TLS key %s", path);
		return NULL;
	}
	k = PEM_read_PrivateKey(fp, NULL, keyfile_no_passphrase, NULL);
	fclose(fp);
	if (k == NULL) {
		char why[512];

		keyfile_explain(path, why, sizeof(why));
		if (why[0] != '\0')
			log_warnx("TLS %s", why);
		else {
			const char *r = ERR_reason_error_string(
			    ERR_peek_error());

			log_warnx("TLS key %s: cannot read the key: %s", path,
			    r != NULL ? r : "unknown error");
		}
		ERR_clear_error();
	}
	return k;
}

/* The master's snapshot: the key files as they were checked, in order.
 * Read with pread (the description, and its offset, is shared). */
static int
load_snapshot(int fd, int want)
{
	struct stat st;
	unsigned char *b;
	BIO *bio;
	size_t got = 0;
	ssize_t n;
	int i, r = 0;

	if (fstat(fd, &st) == -1 || st.st_size <= 0 ||
	    st.st_size > TLS_KEYS_MAX || (b = malloc((size_t)st.st_size)) ==
	    NULL)
		return -1;
	while (got < (size_t)st.st_size && (n = pread(fd, b + got,
	    (size_t)st.st_size - got, (off_t)got)) > 0)
		got += (size_t)n;
	if ((bio = BIO_new_mem_buf(b, (int)got)) == NULL)
		r = -1;
	for (i = 0; r == 0 && i < want; i++)
		if ((keys[i] = PEM_read_bio_PrivateKey(bio, NULL,
		    keyfile_no_passphrase, NULL)) == NULL)
			r = -1;
	BIO_free(bio);
	OPENSSL_cleanse(b, got);
	free(b);
	return r;
}

/*
 * Work every forked helper would otherwise repeat on its first
 * signature: OpenSSL 3 converts a provider key to the legacy object the
 * raw calls below use, and sets up the modulus' Montgomery context on
 * the first public operation.  Neither is secret or random, so the fork
 * server does it once.  The private-side blinding is left to each
 * helper: it must not be shared between processes.
 */
static void
prepare(EVP_PKEY *k)
{
	unsigned char in[1024], out[1024];

	if (EVP_PKEY_get_base_id(k) == EVP_PKEY_RSA) {
		RSA *rsa = (RSA *)(uintptr_t)EVP_PKEY_get0_RSA(k);

		if (rsa != NULL && (size_t)RSA_size(rsa) <= sizeof(in)) {
			memset(in, 0, sizeof(in));
			in[RSA_size(rsa) - 1] = 2;
			(void)RSA_public_encrypt(RSA_size(rsa), in, out, rsa,
			    RSA_NO_PADDING);
		}
	} else if (EVP_PKEY_get_base_id(k) == EVP_PKEY_EC)
		(void)EVP_PKEY_get0_EC_KEY(k);
}

/* Index 0 is tls_key, then the tls_sni keys in order (as privpopd
 * numbers its stand-in keys). */
int
tlskeys_load(const struct conf *c, int snapshot_fd)
{
	unsigned char rnd[16];
	int i;

	if (c->tls_key[0] == '\0')
		return 0;
	nkeys = 1 + c->nsni;
	if (snapshot_fd != -1) {
		if (load_snapshot(snapshot_fd, nkeys) == -1) {
			log_warnx("cannot read the TLS key snapshot");
			return -1;
		}
	} else {
		if ((keys[0] = load(c->tls_key)) == NULL)
			return -1;
		for (i = 0; i < c->nsni; i++)
			if ((keys[i + 1] = load(c->sni[i].key)) == NULL)
				return -1;
	}
	for (i = 0; i < nkeys; i++)
		prepare(keys[i]);
	/* Instantiate OpenSSL's DRBGs here, once: a forked helper only
	 * reseeds them (OpenSSL notices the fork), instead of building
	 * them again (1 ms of every handshake here). */
	if (RAND_bytes(rnd, sizeof(rnd)) != 1 ||
	    RAND_priv_bytes(rnd, sizeof(rnd)) != 1)
		log_warnx("OpenSSL RAND: %s", ERR_reason_error_string(
		    ERR_get_error()));
	OPENSSL_cleanse(rnd, sizeof(rnd));
	return 0;
}

static void
reply(int sock, const unsigned char *p, size_t n)
{
	struct msg m;

	msg_init(&m, MSG_SESSION_TLS_SIGNED);
	if (msg_put_bytes(&m, p, n) == -1 || ipc_send(sock, &m, -1) == -1)
		fatal("send signature");
}

struct sign_req {
	uint32_t		 idx, op, padding;
	const unsigned char	*in;
	size_t			 inlen;
};

/* Decode a MSG_AUTH_TLS_SIGN; 0, or -1 when it is malformed. */
static int
decode(struct msg *m, struct sign_req *r, size_t outsz)
{
	if (msg_get_u32(m, &r->idx) == -1 || msg_get_u32(m, &r->op) == -1 ||
	    msg_get_u32(m, &r->padding) == -1 ||
	    msg_get_bytes(m, &r->in, &r->inlen, outsz) == -1 ||
	    msg_end(m) == -1)
		return -1;
	return 0;
}

/* Do it: the result's length, 0 when refused or failed. */
static int
compute(const struct sign_req *r, unsigned char *out, size_t outsz)
{
	int n = -1;

	if (r->idx >= (uint32_t)nkeys)
		return 0;
	if (r->op == TLSK_RSA_PRIV_ENC &&
	    EVP_PKEY_get_base_id(keys[r->idx]) == EVP_PKEY_RSA &&
	    (r->padding == RSA_PKCS1_PADDING ||
	    r->padding == RSA_NO_PADDING)) {
		const RSA *rsa = EVP_PKEY_get0_RSA(keys[r->idx]);

		if ((size_t)RSA_size(rsa) <= outsz &&
		    r->inlen <= (size_t)RSA_size(rsa))
			n = RSA_private_encrypt((int)r->inlen, r->in, out,
			    (RSA *)(uintptr_t)rsa, (int)r->padding);
	} else if (r->op == TLSK_ECDSA_SIGN &&
	    EVP_PKEY_get_base_id(keys[r->idx]) == EVP_PKEY_EC &&
	    r->inlen <= 64) {
		const EC_KEY *ec = EVP_PKEY_get0_EC_KEY(keys[r->idx]);
		unsigned int len = 0;

		if ((size_t)ECDSA_size(ec) <= outsz &&
		    ECDSA_sign(0, r->in, (int)r->inlen, out, &len,
		    (EC_KEY *)(uintptr_t)ec) == 1)
			n = (int)len;
	}
	return n > 0 ? n : 0;
}

void
tlskeys_use_signer(int fd)
{
	signer_fd = fd;
}

/* Ask the fork server; 0 after relaying its answer, -1 if it is gone
 * (the caller signs here instead). */
static int
forward(int sock, struct msg *m)
{
	struct msg r;

	if (ipc_send(signer_fd, m, -1) == -1 || ipc_recv(signer_fd, &r) != 1 ||
	    r.type != MSG_SESSION_TLS_SIGNED) {
		log_warnx("TLS signer gone; signing here");
		close(signer_fd);
		signer_fd = -1;
		return -1;
	}
	if (ipc_send(sock, &r, -1) == -1)
		fatal("send signature");
	return 0;
}

void
tlskeys_sign(int sock, struct msg *m)
{
	unsigned char out[1024];
	struct sign_req r;

	if (decode(m, &r, sizeof(out)) == -1)
		fatalx("TLS_SIGN: malformed");
	if (++signs > TLS_MAX_SIGNS)
		fatalx("TLS_SIGN: too many requests");
	if (signer_fd != -1 && forward(sock, m) == 0)
		return;
	reply(sock, out, (size_t)compute(&r, out, sizeof(out)));
}

int
tlskeys_serve(int fd, struct msg *m)
{
	unsigned char out[1024];
	struct sign_req r;

	if (m->type != MSG_AUTH_TLS_SIGN || decode(m, &r, sizeof(out)) == -1)
		return -1;
	reply(fd, out, (size_t)compute(&r, out, sizeof(out)));
	return 0;
}
