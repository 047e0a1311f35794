/*
 * The master's half of TLS: the server contexts (one per certificate,
 * with a stand-in for each key), the check of every key against its
 * certificate and the key snapshot for privpop-auth (in short-lived
 * children), the session-ticket keys and the warm-up handshake.  All of
 * it runs before the slots are forked; they inherit the result.  The
 * session's half is tls_conn.c.
 *
 * The ticket and SNI callbacks installed here, and tls_error(), are also
 * called by OpenSSL or tls_conn.c in the session child's handshake.
 *
 * Runs as: root (the master: contexts, key check, ticket keys, warm-up)
 * and privpop (the session child: the two callbacks during its
 * handshake).
 */
#include "config.h"

#include <sys/mman.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <string.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/rand.h>

#include "keyfile.h"
#include "log.h"
#include "tls_ctx.h"
#include "tls_keyproxy.h"

void
tls_error(char *err, size_t errlen, const char *what)
{
	unsigned long e = ERR_get_error();
	char b[256];

	ERR_error_string_n(e, b, sizeof(b));
	snprintf(err, errlen, "%s: %s", what, e ? b : "unknown error");
	ERR_clear_error();
}

/* Does keyf belong to certf?  Checked in a child that exits right
 * after, so no copy of the key ever lives in the master's memory (and so
 * in the session children it forks).  The child also appends the key
 * file's bytes to keys_fd, the snapshot privpop-auth reads: what was
 * checked is what is used, even if the file changes before a reload. */
/* In the checking child only. */
static int
append_file(const char *path, int out)
{
	unsigned char b[4096];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC), r = 0;

	if (fd == -1)
		return -1;
	while ((n = read(fd, b, sizeof(b))) > 0)
		if (write(out, b, (size_t)n) != n) {
			r = -1;
			break;
		}
	if (n == -1 || write(out, "\n", 1) != 1)
		r = -1;
	close(fd);
	OPENSSL_cleanse(b, sizeof(b));
	return r;
}

static int
check_pair(const char *certf, const char *keyf, int keys_fd, char *err,
    size_t errlen)
{
	int p[2], status;
	pid_t pid;
	ssize_t n;

	if (pipe(p) == -1) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		return -1;
	}
	if ((pid = fork()) == -1) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0) {
		SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
		char e[512] = "";

		close(p[0]);
		if (ctx != NULL)
			SSL_CTX_set_default_passwd_cb(ctx,
			    keyfile_no_passphrase);
		if (ctx == NULL)
			tls_error(e, sizeof(e), "SSL_CTX_new");
		else if (SSL_CTX_use_certificate_chain_file(ctx, certf) != 1)
			tls_error(e, sizeof(e), certf);
		else if (SSL_CTX_use_PrivateKey_file(ctx, keyf,
		    SSL_FILETYPE_PEM) != 1) {
			keyfile_explain(keyf, e, sizeof(e));
			if (e[0] == '\0')
				tls_error(e, sizeof(e), keyf);
		}
		else if (SSL_CTX_check_private_key(ctx) != 1)
			tls_error(e, sizeof(e), "tls_key does not match tls_cert");
		else if (append_file(keyf, keys_fd) == -1)
			snprintf(e, sizeof(e), "%s: %s", keyf, strerror(errno));
		if (e[0] != '\0')
			(void)!write(p[1], e, strlen(e));
		_exit(e[0] != '\0');
	}
	close(p[1]);
	n = read(p[0], err, errlen - 1);
	close(p[0]);
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (n <= 0)
		snprintf(err, errlen, "checking tls_key failed");
	else
		err[n] = '\0';
	return -1;
}

int
tls_keys_snapshot(const struct conf *c, char *err, size_t errlen)
{
	int fd = memfd_create("privpop-tls-keys", MFD_CLOEXEC |
	    MFD_ALLOW_SEALING), i;

	if (fd == -1) {
		snprintf(err, errlen, "memfd: %s", strerror(errno));
		return -1;
	}
	if (check_pair(c->tls_cert, c->tls_key, fd, err, errlen) == -1)
		goto fail;
	for (i = 0; i < c->nsni; i++)
		if (check_pair(c->sni[i].cert, c->sni[i].key, fd, err,
		    errlen) == -1)
			goto fail;
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW |
	    F_SEAL_SHRINK | F_SEAL_SEAL) == -1) {
		snprintf(err, errlen, "memfd seal: %s", strerror(errno));
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return -1;
}

/* ------------------------------------------------------------------ */
/* Session tickets: keys made and rotated by the master; every session
 * child inherits them at fork, so a ticket from one child resumes in
 * another.  A child also holds the previous keys, to accept tickets
 * issued before the last rotation (and renew them). */

struct ticket_key {
	unsigned char	name[16];
	unsigned char	aes[32];
	unsigned char	hmac[32];
};

#define TICKET_KEYS	3	/* current and two before it */
/* TLS 1.3 tickets sent after each full handshake.  OpenSSL sends two,
 * for clients that open connections in parallel; a POP3 client resumes
 * one at a time, and each ticket costs its encryption here and a parse
 * in the client. */
#define TICKETS_PER_HANDSHAKE	1

static struct ticket_key tkeys[TICKET_KEYS];
static int ntkeys;

void
tls_tickets_rotate(void)
{
	memmove(&tkeys[1], &tkeys[0], sizeof(tkeys[0]) * (TICKET_KEYS - 1));
	if (RAND_bytes((unsigned char *)&tkeys[0], sizeof(tkeys[0])) != 1)
		fatalx("RAND_bytes");
	if (ntkeys < TICKET_KEYS)
		ntkeys++;
}

static int
ticket_cb(SSL *ssl, unsigned char *name, unsigned char *iv,
    EVP_CIPHER_CTX *cctx, EVP_MAC_CTX *hctx, int enc)
{
	OSSL_PARAM params[3];
	const struct ticket_key *k = NULL;
	int i;

	(void)ssl;
	if (ntkeys == 0)
		return enc ? -1 : 0;
	if (enc) {
		k = &tkeys[0];
		memcpy(name, k->name, sizeof(k->name));
		if (RAND_bytes(iv, EVP_MAX_IV_LENGTH) != 1 ||
		    EVP_EncryptInit_ex(cctx, EVP_aes_256_cbc(), NULL, k->aes,
		    iv) != 1)
			return -1;
	} else {
		for (i = 0; i < ntkeys; i++)
			if (memcmp(name, tkeys[i].name, 16) == 0)
				k = &tkeys[i];
		if (k == NULL)
			return 0;	/* unknown or expired: full handshake */
		if (EVP_DecryptInit_ex(cctx, EVP_aes_256_cbc(), NULL, k->aes,
		    iv) != 1)
			return -1;
	}
	params[0] = OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY,
	    (void *)(uintptr_t)k->hmac, sizeof(k->hmac));
	params[1] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
	    (char *)(uintptr_t)"SHA256", 0);
	params[2] = OSSL_PARAM_construct_end();
	if (EVP_MAC_CTX_set_params(hctx, params) != 1)
		return -1;
	/* an older key: accept, and issue a ticket under the current one */
	return enc || k == &tkeys[0] ? 1 : 2;
}

/* ------------------------------------------------------------------ */
/* One context per certificate: the default and the tls_sni ones. */

struct tls_server {
	SSL_CTX		*sni[MAX_SNI];
	char		 names[MAX_SNI][TLS_SNI_NAME_MAX];
	int		 nsni;
};

static int server_idx = -1;

/* "mail.example.org" matches itself; "*.example.org" one label. */
static int
name_match(const char *pattern, const char *name)
{
	const char *dot;

	if (strcasecmp(pattern, name) == 0)
		return 1;
	if (pattern[0] != '*' || pattern[1] != '.' ||
	    (dot = strchr(name, '.')) == NULL || dot == name)
		return 0;
	return strcasecmp(pattern + 1, dot) == 0;
}

static int
servername_cb(SSL *ssl, int *alert, void *arg)
{
	const struct tls_server *srv = arg;
	const char *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
	int i;

	(void)alert;
	if (name == NULL)
		return SSL_TLSEXT_ERR_OK;
	for (i = 0; i < srv->nsni; i++)
		if (name_match(srv->names[i], name)) {
			SSL_set_SSL_CTX(ssl, srv->sni[i]);
			break;
		}
	return SSL_TLSEXT_ERR_OK;	/* else the default certificate */
}

static SSL_CTX *
ctx_for(const struct conf *c, const char *certf, int keyidx, char *err,
    size_t errlen)
{
	char ciphers[sizeof(c->tls_ciphers) + sizeof(TLS_NEVER_CIPHERS) + 1];
	SSL_CTX *ctx;
	EVP_PKEY *proxy;

	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
		tls_error(err, errlen, "SSL_CTX_new");
		return NULL;
	}
	/* RFC 8996: no TLS 1.0/1.1 */
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	/* CLEANSE_PLAINTEXT: a decrypted record (PASS, AUTH) is wiped
	 * once read, not left in OpenSSL's buffer for the session.
	 * IGNORE_UNEXPECTED_EOF: a client that closes without close_notify
	 * (most do, after a dropped connection) is a disconnect, not an
	 * error; nothing is lost to a truncation, since a command runs
	 * only once its CRLF has come. */
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION |
	    SSL_OP_CLEANSE_PLAINTEXT | SSL_OP_IGNORE_UNEXPECTED_EOF);
	/* no server-side cache: resumption is by tickets only */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	if (c->tls_ticket_rotate > 0) {
		SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, ticket_cb);
		(void)SSL_CTX_set_num_tickets(ctx, TICKETS_PER_HANDSHAKE);
		SSL_CTX_set_timeout(ctx, (long)c->tls_ticket_rotate *
		    (TICKET_KEYS - 1));
	} else {
		/* TLS 1.3 would still send a (stateful, never resumable
		 * here) ticket for each handshake without num_tickets 0 */
		SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
		(void)SSL_CTX_set_num_tickets(ctx, 0);
	}
	/* no RSA key exchange (the key holder only ever signs) and no
	 * DHE (it signs only ECDHE parameters), whatever tls_ciphers says */
	if (snprintf(ciphers, sizeof(ciphers), "%s:%s", c->tls_ciphers[0] !=
	    '\0' ? c->tls_ciphers : TLS_DEFAULT_CIPHERS, TLS_NEVER_CIPHERS) >=
	    (int)sizeof(ciphers) || SSL_CTX_set_cipher_list(ctx, ciphers) != 1) {
		tls_error(err, errlen, "tls_ciphers");
		goto fail;
	}
	/* the schemes privpop-auth signs with (auth/tls_keys.c) */
	if (SSL_CTX_set1_sigalgs_list(ctx, TLS_SIGALGS) != 1) {
		tls_error(err, errlen, "signature algorithms");
		goto fail;
	}
	if (c->tls_ciphersuites[0] != '\0' &&
	    SSL_CTX_set_ciphersuites(ctx, c->tls_ciphersuites) != 1) {
		tls_error(err, errlen, "tls_ciphersuites");
		goto fail;
	}
	if (c->tls_groups[0] != '\0' &&
	    SSL_CTX_set1_groups_list(ctx, c->tls_groups) != 1) {
		tls_error(err, errlen, "tls_groups");
		goto fail;
	}
	if (SSL_CTX_use_certificate_chain_file(ctx, certf) != 1) {
		tls_error(err, errlen, certf);
		goto fail;
	}
	/* the stand-in key: the real one stays in privpop-auth */
	if ((proxy = keyproxy_new(SSL_CTX_get0_certificate(ctx), keyidx, err,
	    errlen)) == NULL)
		goto fail;
	if (SSL_CTX_use_PrivateKey(ctx, proxy) != 1) {
		EVP_PKEY_free(proxy);
		tls_error(err, errlen, "stand-in key");
		goto fail;
	}
	EVP_PKEY_free(proxy);
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

SSL_CTX *
tls_ctx_new(const struct conf *c, int *keys_fd_r, char *err, size_t errlen)
{
	struct tls_server *srv;
	SSL_CTX *ctx;
	int i;

	if ((*keys_fd_r = tls_keys_snapshot(c, err, errlen)) == -1)
		return NULL;
	if ((ctx = ctx_for(c, c->tls_cert, 0, err, errlen)) == NULL) {
		close(*keys_fd_r);
		return NULL;
	}
	if (server_idx == -1)
		server_idx = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL,
		    NULL);
	if ((srv = calloc(1, sizeof(*srv))) == NULL ||
	    SSL_CTX_set_ex_data(ctx, server_idx, srv) != 1) {
		free(srv);
		SSL_CTX_free(ctx);
		close(*keys_fd_r);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	/* key index i + 1: privpop-auth loads the SNI keys in this order */
	for (i = 0; i < c->nsni; i++) {
		if ((srv->sni[i] = ctx_for(c, c->sni[i].cert, i + 1, err,
		    errlen)) == NULL) {
			tls_ctx_free(ctx);
			close(*keys_fd_r);
			return NULL;
		}
		snprintf(srv->names[i], sizeof(srv->names[i]), "%s",
		    c->sni[i].name);
		srv->nsni++;
	}
	if (srv->nsni > 0) {
		SSL_CTX_set_tlsext_servername_callback(ctx, servername_cb);
		SSL_CTX_set_tlsext_servername_arg(ctx, srv);
	}
	return ctx;
}

void
tls_ctx_free(SSL_CTX *ctx)
{
	struct tls_server *srv;
	int i;

	if (ctx == NULL)
		return;
	if (server_idx != -1 &&
	    (srv = SSL_CTX_get_ex_data(ctx, server_idx)) != NULL) {
		for (i = 0; i < srv->nsni; i++)
			SSL_CTX_free(srv->sni[i]);
		free(srv);
	}
	SSL_CTX_free(ctx);
}

/* Bound on the warm-up's handshake turns (each side's). */
#define TLS_WARM_STEPS	16

/*
 * OpenSSL fetches, builds and caches most of what a handshake uses
 * (key exchange, KDFs, ciphers, digests) at its first use.  Done once
 * here in the master, before any fork, every session child inherits
 * the result instead of building it again in memory of its own: fewer
 * page faults per TLS session (measured 234 -> 220 per session, all
 * processes).  The handshake runs in memory against a throwaway
 * client; the server side stops where it would sign, because the key
 * is in privpop-auth and the master has no channel to it.  Returns 1
 * when it got that far.
 */
int
tls_warm(SSL_CTX *sctx)
{
	SSL_CTX *cctx;
	SSL *cl = NULL, *sv = NULL;
	BIO *bc = NULL, *bs = NULL;
	unsigned long asked = keyproxy_unanswered();
	int i, rc, rs;

	if ((cctx = SSL_CTX_new(TLS_client_method())) == NULL ||
	    (cl = SSL_new(cctx)) == NULL || (sv = SSL_new(sctx)) == NULL ||
	    BIO_new_bio_pair(&bc, 0, &bs, 0) != 1)
		goto out;
	SSL_set_bio(cl, bc, bc);
	SSL_set_bio(sv, bs, bs);
	SSL_set_connect_state(cl);
	SSL_set_accept_state(sv);
	for (i = 0; i < TLS_WARM_STEPS; i++) {
		rc = SSL_do_handshake(cl);
		rs = SSL_do_handshake(sv);
		if ((rc != 1 && SSL_get_error(cl, rc) != SSL_ERROR_WANT_READ) ||
		    (rs != 1 && SSL_get_error(sv, rs) != SSL_ERROR_WANT_READ) ||
		    (rc == 1 && rs == 1))
			break;
	}
out:
	SSL_free(cl);
	SSL_free(sv);
	SSL_CTX_free(cctx);
	ERR_clear_error();
	return keyproxy_unanswered() != asked;
}
