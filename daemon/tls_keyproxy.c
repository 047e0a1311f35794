/*
 * keyproxy_new() runs in the master (root) while it builds the TLS
 * context; the callbacks run in the unprivileged session child during
 * the handshake.  Neither ever holds private key material.
 */
#include "config.h"

/* RSA_METHOD and EC_KEY_METHOD are the hooks OpenSSL 3 still offers for
 * keys whose private half lives elsewhere (as PKCS#11 engines use);
 * they are marked deprecated in favour of providers. */
#define OPENSSL_SUPPRESS_DEPRECATED

#include <stdio.h>
#include <string.h>

#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/rsa.h>

#include "ipc.h"
#include "log.h"
#include "tls_keyproxy.h"

static int channel = -1;
static unsigned long unanswered;	/* requests made without a channel */
static int rsa_idx_slot = -1, ec_idx_slot = -1;
static RSA_METHOD *rsa_meth;
static EC_KEY_METHOD *ec_meth;

void
keyproxy_set_channel(int sock)
{
	channel = sock;
}

unsigned long
keyproxy_unanswered(void)
{
	return unanswered;
}

/* One round trip to the key holder; returns the result length or -1. */
static int
remote(int idx, uint32_t op, int padding, const unsigned char *in,
    size_t inlen, unsigned char *out, size_t outmax)
{
	struct msg m;
	const unsigned char *res;
	size_t rlen;

	if (channel == -1) {
		unanswered++;
		return -1;
	}
	if (idx < 0)
		return -1;
	msg_init(&m, MSG_AUTH_TLS_SIGN);
	if (msg_put_u32(&m, (uint32_t)idx) == -1 ||
	    msg_put_u32(&m, op) == -1 ||
	    msg_put_u32(&m, (uint32_t)padding) == -1 ||
	    msg_put_bytes(&m, in, inlen) == -1 ||
	    ipc_send(channel, &m, -1) == -1)
		return -1;
	if (ipc_recv(channel, &m) != 1 || m.type != MSG_SESSION_TLS_SIGNED ||
	    msg_get_bytes(&m, &res, &rlen, outmax) == -1 ||
	    msg_end(&m) == -1 || rlen == 0)
		return -1;
	memcpy(out, res, rlen);
	return (int)rlen;
}

static int
rsa_priv_enc(int flen, const unsigned char *from, unsigned char *to,
    RSA *rsa, int padding)
{
	int idx = (int)(intptr_t)RSA_get_ex_data(rsa, rsa_idx_slot) - 1;

	if (flen < 0)
		return -1;
	return remote(idx, TLSK_RSA_PRIV_ENC, padding, from, (size_t)flen,
	    to, (size_t)RSA_size(rsa));
}

static int
rsa_priv_dec(int flen, const unsigned char *from, unsigned char *to,
    RSA *rsa, int padding)
{
	(void)flen;
	(void)from;
	(void)to;
	(void)rsa;
	(void)padding;
	return -1;	/* RSA key exchange is not offered */
}

static int
ec_sign(int type, const unsigned char *dgst, int dlen, unsigned char *sig,
    unsigned int *siglen, const BIGNUM *kinv, const BIGNUM *r, EC_KEY *ec)
{
	int idx = (int)(intptr_t)EC_KEY_get_ex_data(ec, ec_idx_slot) - 1;
	int n;

	(void)type;
	(void)kinv;
	(void)r;
	if (dlen < 0)
		return 0;
	n = remote(idx, TLSK_ECDSA_SIGN, 0, dgst, (size_t)dlen, sig,
	    (size_t)ECDSA_size(ec));
	if (n <= 0)
		return 0;
	*siglen = (unsigned int)n;
	return 1;
}

static ECDSA_SIG *
ec_sign_sig(const unsigned char *dgst, int dlen, const BIGNUM *kinv,
    const BIGNUM *r, EC_KEY *ec)
{
	unsigned char der[256];
	const unsigned char *p = der;
	unsigned int len = 0;

	if (ECDSA_size(ec) > (int)sizeof(der) ||
	    ec_sign(0, dgst, dlen, der, &len, kinv, r, ec) != 1)
		return NULL;
	return d2i_ECDSA_SIG(NULL, &p, len);
}

static int
init_methods(void)
{
	int (*sign_setup)(EC_KEY *, BN_CTX *, BIGNUM **, BIGNUM **) = NULL;

	if (rsa_meth != NULL)
		return 0;
	rsa_idx_slot = RSA_get_ex_new_index(0, NULL, NULL, NULL, NULL);
	ec_idx_slot = EC_KEY_get_ex_new_index(0, NULL, NULL, NULL, NULL);
	if ((rsa_meth = RSA_meth_dup(RSA_PKCS1_OpenSSL())) == NULL ||
	    RSA_meth_set1_name(rsa_meth, "privpop key proxy") != 1 ||
	    RSA_meth_set_priv_enc(rsa_meth, rsa_priv_enc) != 1 ||
	    RSA_meth_set_priv_dec(rsa_meth, rsa_priv_dec) != 1)
		return -1;
	if ((ec_meth = EC_KEY_METHOD_new(EC_KEY_OpenSSL())) == NULL)
		return -1;
	EC_KEY_METHOD_get_sign(ec_meth, NULL, &sign_setup, NULL);
	EC_KEY_METHOD_set_sign(ec_meth, ec_sign, sign_setup, ec_sign_sig);
	return 0;
}

EVP_PKEY *
keyproxy_new(X509 *cert, int idx, char *err, size_t errlen)
{
	EVP_PKEY *pub = X509_get0_pubkey(cert), *proxy;

	if (pub == NULL || init_methods() == -1 ||
	    (proxy = EVP_PKEY_new()) == NULL) {
		snprintf(err, errlen, "key proxy: setup failed");
		return NULL;
	}
	if (EVP_PKEY_get_base_id(pub) == EVP_PKEY_RSA) {
		RSA *r = RSAPublicKey_dup(EVP_PKEY_get0_RSA(pub));

		if (r == NULL || RSA_set_method(r, rsa_meth) != 1 ||
		    RSA_set_ex_data(r, rsa_idx_slot,
		    (void *)(intptr_t)(idx + 1)) != 1 ||
		    EVP_PKEY_assign_RSA(proxy, r) != 1) {
			RSA_free(r);
			goto fail;
		}
		return proxy;
	}
	if (EVP_PKEY_get_base_id(pub) == EVP_PKEY_EC) {
		EC_KEY *e = EC_KEY_dup(EVP_PKEY_get0_EC_KEY(pub));

		if (e == NULL || EC_KEY_set_method(e, ec_meth) != 1 ||
		    EC_KEY_set_ex_data(e, ec_idx_slot,
		    (void *)(intptr_t)(idx + 1)) != 1 ||
		    EVP_PKEY_assign_EC_KEY(proxy, e) != 1) {
			EC_KEY_free(e);
			goto fail;
		}
		return proxy;
	}
	snprintf(err, errlen, "TLS key: only RSA and ECDSA keys can be kept "
	    "out of the session process");
	EVP_PKEY_free(proxy);
	return NULL;
fail:
	snprintf(err, errlen, "key proxy: building the stand-in key failed");
	EVP_PKEY_free(proxy);
	return NULL;
}
