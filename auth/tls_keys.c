/*
 * Runs as root inside privpop-auth: loads the TLS private key and signs
 * for the session's handshake: once per connection, after the session
 * said TLS starts, and only content shaped like a TLS 1.2
 * ServerKeyExchange or a TLS 1.3 CertificateVerify, hashed here.
 * tlsk_permit_*() and tlsk_content_ok() are pure, for the unit test.
 *
 * Runs as: root (privpop-auth).
 */
#include "config.h"

#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include "ipc_auth.h"
#include "keyfile.h"
#include "limits.h"
#include "log.h"
#include "tls_keys.h"

static EVP_PKEY *keys[1 + MAX_SNI];
static int nkeys;
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
 * signature: OpenSSL sets up the modulus' Montgomery context on the
 * first public operation.  It is neither secret nor random, so the fork
 * server does it once.  The private-side blinding is left to each
 * process that signs: it must not be shared between processes (so no
 * signature here).
 */
static void
prepare(EVP_PKEY *k)
{
	unsigned char in[TLS_SIG_MAX], out[TLS_SIG_MAX];
	size_t outlen = sizeof(out);
	EVP_PKEY_CTX *pc;
	int n = EVP_PKEY_get_size(k);

	if (EVP_PKEY_get_base_id(k) != EVP_PKEY_RSA || n <= 0 ||
	    (size_t)n > sizeof(in) ||
	    (pc = EVP_PKEY_CTX_new_from_pkey(NULL, k, NULL)) == NULL)
		return;
	memset(in, 0, sizeof(in));
	in[n - 1] = 2;
	if (EVP_PKEY_encrypt_init(pc) == 1 &&
	    EVP_PKEY_CTX_set_rsa_padding(pc, RSA_NO_PADDING) == 1)
		(void)EVP_PKEY_encrypt(pc, out, &outlen, in, (size_t)n);
	EVP_PKEY_CTX_free(pc);
	ERR_clear_error();
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

/* ------------------------------------------------------------------ */
/* What may be signed (pure; tests/unit/test_tls_keys.c). */

static const struct {
	uint32_t	 scheme;
	int		 type;		/* EVP_PKEY_RSA or EVP_PKEY_EC */
	int		 pss;
	int		 tls13;		/* allowed in a CertificateVerify */
	const char	*md;
} schemes[] = {
	{ TLSK_RSA_PSS_SHA256, EVP_PKEY_RSA, 1, 1, "SHA256" },
	{ TLSK_RSA_PSS_SHA384, EVP_PKEY_RSA, 1, 1, "SHA384" },
	{ TLSK_RSA_PSS_SHA512, EVP_PKEY_RSA, 1, 1, "SHA512" },
	{ TLSK_RSA_PKCS1_SHA256, EVP_PKEY_RSA, 0, 0, "SHA256" },
	{ TLSK_RSA_PKCS1_SHA384, EVP_PKEY_RSA, 0, 0, "SHA384" },
	{ TLSK_RSA_PKCS1_SHA512, EVP_PKEY_RSA, 0, 0, "SHA512" },
	{ TLSK_ECDSA_SHA256, EVP_PKEY_EC, 0, 1, "SHA256" },
	{ TLSK_ECDSA_SHA384, EVP_PKEY_EC, 0, 1, "SHA384" },
	{ TLSK_ECDSA_SHA512, EVP_PKEY_EC, 0, 1, "SHA512" },
};
#define NSCHEMES	(sizeof(schemes) / sizeof(schemes[0]))

/* RFC 8446 4.4.3: 64 spaces, the context string, a zero byte. */
#define TLS13_PAD	64
static const char tls13_context[] = "TLS 1.3, server CertificateVerify";
#define TLS13_PREFIX	(TLS13_PAD + sizeof(tls13_context))

/* ECDHE named groups (RFC 8422 5.1.1, 8446 4.2.7) and their point
 * lengths: uncompressed for the NIST curves (RFC 8422 5.4.1), the raw
 * key for X25519 and X448. */
static const struct {
	uint16_t	group;
	uint8_t		len;
	uint8_t		form;	/* the first byte, or 0: any */
} groups[] = {
	{ 23, 65, 4 },		/* secp256r1 */
	{ 24, 97, 4 },		/* secp384r1 */
	{ 25, 133, 4 },		/* secp521r1 */
	{ 29, 32, 0 },		/* x25519 */
	{ 30, 56, 0 },		/* x448 */
};

static int
scheme_find(uint32_t scheme, int type)
{
	size_t i;

	for (i = 0; i < NSCHEMES; i++)
		if (schemes[i].scheme == scheme && schemes[i].type == type)
			return (int)i;
	return -1;
}

/* TLS 1.3 CertificateVerify content: the prefix and a SHA-256 or
 * SHA-384 transcript hash (the suites' hashes). */
static int
is_tls13(const unsigned char *p, size_t len)
{
	size_t i;

	if (len != TLS13_PREFIX + 32 && len != TLS13_PREFIX + 48)
		return 0;
	for (i = 0; i < TLS13_PAD; i++)
		if (p[i] != ' ')
			return 0;
	return memcmp(p + TLS13_PAD, tls13_context,
	    sizeof(tls13_context)) == 0;
}

/* TLS 1.2 ServerKeyExchange content (RFC 5246 7.4.3, RFC 8422 5.4):
 * client_random, server_random, then ECParameters named_curve (3), the
 * group, the point's length and the point; no DHE or other params. */
static int
is_tls12(const unsigned char *p, size_t len)
{
	size_t i;
	uint16_t g;

	if (len < 64 + 4 || p[64] != 3)
		return 0;
	g = (uint16_t)(p[65] << 8 | p[66]);
	if (len != 64 + 4 + (size_t)p[67])
		return 0;
	for (i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
		if (groups[i].group == g)
			return p[67] == groups[i].len &&
			    (groups[i].form == 0 || p[68] == groups[i].form);
	return 0;
}

const char *
tlsk_content_ok(uint32_t scheme, int keytype, const unsigned char *p,
    size_t len)
{
	int i;

	if ((i = scheme_find(scheme, keytype)) == -1)
		return "signature scheme not allowed for the key";
	if (len > TLS_SIGN_CONTENT_MAX)
		return "content too long";
	if (is_tls13(p, len))
		return schemes[i].tls13 ? NULL :
		    "PKCS#1 v1.5 in a TLS 1.3 CertificateVerify";
	if (is_tls12(p, len))
		return NULL;
	return "content is no TLS handshake's signed content";
}

const char *
tlsk_permit_start(struct tlsk_permit *pm)
{
	if (pm->started)
		return "TLS already started on this connection";
	pm->started = 1;
	return NULL;
}

const char *
tlsk_permit_sign(struct tlsk_permit *pm)
{
	if (!pm->started)
		return "signature before TLS started";
	if (pm->signs >= TLS_MAX_SIGNS)
		return "a second signature on this connection";
	pm->signs++;
	return NULL;
}

/* ------------------------------------------------------------------ */

static void
reply(int sock, const unsigned char *p, size_t n)
{
	if (ipc_send_session_tls_signed(sock, p, n) == -1)
		fatal("send signature");
}

struct sign_req {
	uint32_t		 idx, scheme;
	const unsigned char	*in;
	size_t			 inlen;
};

/* Decode a MSG_AUTH_TLS_SIGN and check what it asks for: NULL, or why
 * it is refused. */
static const char *
decode(struct msg *m, struct sign_req *r)
{
	if (ipc_get_auth_tls_sign(m, &r->idx, &r->scheme, &r->in,
	    &r->inlen) == -1)
		return "malformed";
	if (r->idx >= (uint32_t)nkeys)
		return "no such key";
	return tlsk_content_ok(r->scheme,
	    EVP_PKEY_get_base_id(keys[r->idx]), r->in, r->inlen);
}

/* Hash and sign a checked request: the signature's length, 0 if it
 * failed. */
static size_t
compute(const struct sign_req *r, unsigned char *out, size_t outsz)
{
	EVP_MD_CTX *mc;
	EVP_PKEY_CTX *pc = NULL;
	size_t n = outsz;
	int i = scheme_find(r->scheme, EVP_PKEY_get_base_id(keys[r->idx]));

	if (i == -1 || (mc = EVP_MD_CTX_new()) == NULL)
		return 0;
	if (EVP_DigestSignInit_ex(mc, &pc, schemes[i].md, NULL, NULL,
	    keys[r->idx], NULL) != 1 ||
	    (schemes[i].pss &&
	    (EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PSS_PADDING) != 1 ||
	    EVP_PKEY_CTX_set_rsa_pss_saltlen(pc, RSA_PSS_SALTLEN_DIGEST) !=
	    1)) ||
	    EVP_DigestSign(mc, out, &n, r->in, r->inlen) != 1)
		n = 0;
	EVP_MD_CTX_free(mc);
	ERR_clear_error();
	return n;
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
tlskeys_start(struct tlsk_permit *permit, struct msg *m)
{
	const char *why;

	if (ipc_get_auth_tls_start(m) == -1)
		fatalx("TLS_START: malformed");
	if ((why = tlsk_permit_start(permit)) != NULL)
		fatalx("TLS_START: %s", why);
}

void
tlskeys_sign(struct tlsk_permit *permit, int sock, struct msg *m)
{
	unsigned char out[TLS_SIG_MAX];
	struct sign_req r;
	const char *why;

	if ((why = tlsk_permit_sign(permit)) != NULL ||
	    (why = decode(m, &r)) != NULL)
		fatalx("TLS_SIGN: %s", why);
	/* counted by the e2e test that a resumed handshake signs nothing */
	log_debug("TLS_SIGN: a signature for a full handshake");
	if (signer_fd != -1 && forward(sock, m) == 0)
		return;
	reply(sock, out, compute(&r, out, sizeof(out)));
}

int
tlskeys_serve(int fd, struct msg *m)
{
	unsigned char out[TLS_SIG_MAX];
	struct sign_req r;

	if (m->type != MSG_AUTH_TLS_SIGN || decode(m, &r) != NULL)
		return -1;
	reply(fd, out, compute(&r, out, sizeof(out)));
	return 0;
}
