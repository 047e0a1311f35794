/*
 * keyproxy_new() runs in the master (root) while it builds the TLS
 * context; the callbacks run in the unprivileged session child during
 * the handshake.  Neither ever holds private key material.
 *
 * Runs as: root (the master: setup) and privpop (the session:
 * callbacks).
 */
#include "config.h"

/* An ENGINE's EVP_PKEY_METHOD with a digestsign hook is the one place
 * OpenSSL 3 hands a key the whole content to sign (as it does for
 * Ed25519), not a digest or a padded block; ENGINEs and the legacy
 * RSA/EC_KEY ex_data are deprecated in favour of providers. */
#define OPENSSL_SUPPRESS_DEPRECATED

#include <stdio.h>
#include <string.h>

#include <openssl/ec.h>
#include <openssl/engine.h>
#include <openssl/rsa.h>

#include "ipc.h"
#include "ipc_auth.h"
#include "log.h"
#include "tls_keyproxy.h"

static int channel = -1;
static unsigned long unanswered;	/* requests made without a channel */
static int rsa_idx_slot = -1, ec_idx_slot = -1;
static EVP_PKEY_METHOD *rsa_pmeth, *ec_pmeth;
static ENGINE *engine;

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

int
keyproxy_tls_start(void)
{
	if (channel == -1)
		return 0;
	return ipc_send_auth_tls_start(channel);
}

/* One round trip to the key holder; returns the result length or -1. */
static int
remote(int idx, uint32_t scheme, const unsigned char *in, size_t inlen,
    unsigned char *out, size_t outmax)
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
	if (ipc_send_auth_tls_sign(channel, (uint32_t)idx, scheme, in,
	    inlen) == -1)
		return -1;
	if (ipc_recv(channel, &m) != 1 ||
	    ipc_get_session_tls_signed(&m, &res, &rlen, outmax) == -1 ||
	    rlen == 0)
		return -1;
	memcpy(out, res, rlen);
	return (int)rlen;
}

/* The TLS SignatureScheme of what libssl set up, or 0. */
static uint32_t
scheme_of(EVP_PKEY_CTX *pc, int type)
{
	const EVP_MD *md = NULL;
	int pad = 0, salt = 0, base;

	if (EVP_PKEY_CTX_get_signature_md(pc, &md) != 1 || md == NULL)
		return 0;
	switch (EVP_MD_get_type(md)) {
	case NID_sha256:
		base = 0x04;
		break;
	case NID_sha384:
		base = 0x05;
		break;
	case NID_sha512:
		base = 0x06;
		break;
	default:
		return 0;
	}
	if (type == EVP_PKEY_EC)
		return (uint32_t)(base << 8 | 0x03);
	if (EVP_PKEY_CTX_get_rsa_padding(pc, &pad) != 1)
		return 0;
	if (pad == RSA_PKCS1_PADDING)
		return (uint32_t)(base << 8 | 0x01);
	/* rsa_pss_rsae_*: salt as long as the hash (RFC 8446 4.2.3) */
	if (pad == RSA_PKCS1_PSS_PADDING &&
	    EVP_PKEY_CTX_get_rsa_pss_saltlen(pc, &salt) == 1 &&
	    (salt == RSA_PSS_SALTLEN_DIGEST || salt == EVP_MD_get_size(md)))
		return (uint32_t)(0x0800 | base);
	return 0;
}

/* EVP_DigestSign on the stand-in key: the content goes to privpop-auth,
 * which checks, hashes and signs it. */
static int
digestsign(EVP_MD_CTX *mc, unsigned char *sig, size_t *siglen,
    const unsigned char *tbs, size_t tbslen)
{
	EVP_PKEY_CTX *pc = EVP_MD_CTX_get_pkey_ctx(mc);
	EVP_PKEY *k = pc != NULL ? EVP_PKEY_CTX_get0_pkey(pc) : NULL;
	uint32_t scheme;
	int idx, n, type;

	if (k == NULL || EVP_PKEY_get_size(k) <= 0)
		return 0;
	if (sig == NULL) {	/* only the size asked for */
		*siglen = (size_t)EVP_PKEY_get_size(k);
		return 1;
	}
	type = EVP_PKEY_get_base_id(k);
	if (type == EVP_PKEY_RSA)
		idx = (int)(intptr_t)RSA_get_ex_data(EVP_PKEY_get0_RSA(k),
		    rsa_idx_slot) - 1;
	else
		idx = (int)(intptr_t)EC_KEY_get_ex_data(EVP_PKEY_get0_EC_KEY(k),
		    ec_idx_slot) - 1;
	if ((scheme = scheme_of(pc, type)) == 0 ||
	    tbslen > TLS_SIGN_CONTENT_MAX)
		return 0;
	n = remote(idx, scheme, tbs, tbslen, sig, *siglen);
	if (n <= 0)
		return 0;
	*siglen = (size_t)n;
	return 1;
}

static int
pkey_meths(ENGINE *e, EVP_PKEY_METHOD **pm, const int **nids, int nid)
{
	static const int types[] = { EVP_PKEY_RSA, EVP_PKEY_EC };

	(void)e;
	if (pm == NULL) {
		*nids = types;
		return 2;
	}
	*pm = nid == EVP_PKEY_RSA ? rsa_pmeth : nid == EVP_PKEY_EC ?
	    ec_pmeth : NULL;
	return *pm != NULL;
}

/* A copy of OpenSSL's own method (its ctrls keep the digest and the
 * padding libssl sets), with digestsign ours. */
static EVP_PKEY_METHOD *
pmeth_for(int type)
{
	const EVP_PKEY_METHOD *std = EVP_PKEY_meth_find(type);
	EVP_PKEY_METHOD *pm;

	if (std == NULL || (pm = EVP_PKEY_meth_new(type, 0)) == NULL)
		return NULL;
	EVP_PKEY_meth_copy(pm, std);
	EVP_PKEY_meth_set_digestsign(pm, digestsign);
	return pm;
}

static int
init_methods(void)
{
	if (engine != NULL)
		return 0;
	rsa_idx_slot = RSA_get_ex_new_index(0, NULL, NULL, NULL, NULL);
	ec_idx_slot = EC_KEY_get_ex_new_index(0, NULL, NULL, NULL, NULL);
	if ((rsa_pmeth = pmeth_for(EVP_PKEY_RSA)) == NULL ||
	    (ec_pmeth = pmeth_for(EVP_PKEY_EC)) == NULL ||
	    (engine = ENGINE_new()) == NULL ||
	    ENGINE_set_id(engine, "privpop-keyproxy") != 1 ||
	    ENGINE_set_name(engine, "privpop key proxy") != 1 ||
	    ENGINE_set_pkey_meths(engine, pkey_meths) != 1) {
		ENGINE_free(engine);
		engine = NULL;
		return -1;
	}
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
	/* the public half only, its key index in ex_data */
	if (EVP_PKEY_get_base_id(pub) == EVP_PKEY_RSA) {
		RSA *r = RSAPublicKey_dup(EVP_PKEY_get0_RSA(pub));

		if (r == NULL || RSA_set_ex_data(r, rsa_idx_slot,
		    (void *)(intptr_t)(idx + 1)) != 1 ||
		    EVP_PKEY_assign_RSA(proxy, r) != 1) {
			RSA_free(r);
			goto fail;
		}
	} else if (EVP_PKEY_get_base_id(pub) == EVP_PKEY_EC) {
		EC_KEY *e = EC_KEY_dup(EVP_PKEY_get0_EC_KEY(pub));

		if (e == NULL || EC_KEY_set_ex_data(e, ec_idx_slot,
		    (void *)(intptr_t)(idx + 1)) != 1 ||
		    EVP_PKEY_assign_EC_KEY(proxy, e) != 1) {
			EC_KEY_free(e);
			goto fail;
		}
	} else {
		snprintf(err, errlen, "TLS key: only RSA and ECDSA keys can be "
		    "kept out of the session process");
		EVP_PKEY_free(proxy);
		return NULL;
	}
	/* its signatures go through digestsign() */
	if (EVP_PKEY_set1_engine(proxy, engine) != 1)
		goto fail;
	return proxy;
fail:
	snprintf(err, errlen, "key proxy: building the stand-in key failed");
	EVP_PKEY_free(proxy);
	return NULL;
}
