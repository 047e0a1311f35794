/*
 * Runs as root inside privpop-auth: loads the TLS private key and signs
 * for the session's handshake.
 */
#include "config.h"

/* the raw RSA and ECDSA operations the session's stand-in key needs */
#define OPENSSL_SUPPRESS_DEPRECATED

#include <stdio.h>
#include <string.h>

#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "log.h"
#include "tls_keys.h"

static EVP_PKEY *keys[1];
static int nkeys, signs;

int
tlskeys_load(const struct conf *c)
{
	FILE *fp;

	if (c->tls_key[0] == '\0')
		return 0;
	if ((fp = fopen(c->tls_key, "re")) == NULL) {
		log_warn("tls_key %s", c->tls_key);
		return -1;
	}
	keys[0] = PEM_read_PrivateKey(fp, NULL, NULL, NULL);
	fclose(fp);
	if (keys[0] == NULL) {
		log_warnx("tls_key %s: cannot read the key", c->tls_key);
		return -1;
	}
	nkeys = 1;
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

void
tlskeys_sign(int sock, struct msg *m)
{
	unsigned char out[1024];
	const unsigned char *in;
	uint32_t idx, op, padding;
	size_t inlen;
	int n = -1;

	if (msg_get_u32(m, &idx) == -1 || msg_get_u32(m, &op) == -1 ||
	    msg_get_u32(m, &padding) == -1 ||
	    msg_get_bytes(m, &in, &inlen, sizeof(out)) == -1 ||
	    msg_end(m) == -1)
		fatalx("TLS_SIGN: malformed");
	if (++signs > TLS_MAX_SIGNS)
		fatalx("TLS_SIGN: too many requests");
	if (idx >= (uint32_t)nkeys) {
		reply(sock, NULL, 0);
		return;
	}
	if (op == TLSK_RSA_PRIV_ENC &&
	    EVP_PKEY_get_base_id(keys[idx]) == EVP_PKEY_RSA &&
	    (padding == RSA_PKCS1_PADDING || padding == RSA_NO_PADDING)) {
		const RSA *rsa = EVP_PKEY_get0_RSA(keys[idx]);

		if ((size_t)RSA_size(rsa) <= sizeof(out) &&
		    inlen <= (size_t)RSA_size(rsa))
			n = RSA_private_encrypt((int)inlen, in, out,
			    (RSA *)(uintptr_t)rsa, (int)padding);
	} else if (op == TLSK_ECDSA_SIGN &&
	    EVP_PKEY_get_base_id(keys[idx]) == EVP_PKEY_EC && inlen <= 64) {
		const EC_KEY *ec = EVP_PKEY_get0_EC_KEY(keys[idx]);
		unsigned int len = 0;

		if ((size_t)ECDSA_size(ec) <= sizeof(out) &&
		    ECDSA_sign(0, in, (int)inlen, out, &len,
		    (EC_KEY *)(uintptr_t)ec) == 1)
			n = (int)len;
	}
	reply(sock, out, n > 0 ? (size_t)n : 0);
}
