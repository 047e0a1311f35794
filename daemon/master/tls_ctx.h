/*
 * TLS, the master's half (tls_ctx.c): the context is built by the
 * master (as root, so it can check a root-only key) and inherited by
 * every slot; the session's half is tls_conn.h.
 */
#ifndef PRIVPOP_TLS_CTX_H
#define PRIVPOP_TLS_CTX_H

#include <stddef.h>

#include <openssl/ssl.h>

#include "conf.h"

/* TLS_DEFAULT_CIPHERS: conf.h, the default of tls_ciphers. */
/* Appended to any tls_ciphers: privpop-auth signs ECDHE parameters
 * only, and decrypts nothing. */
#define TLS_NEVER_CIPHERS	"!kRSA:!kDHE"
/* The signature schemes privpop-auth allows (auth/tls_keys.c). */
#define TLS_SIGALGS	"ECDSA+SHA256:ECDSA+SHA384:ECDSA+SHA512:" \
	"rsa_pss_rsae_sha256:rsa_pss_rsae_sha384:rsa_pss_rsae_sha512:" \
	"RSA+SHA256:RSA+SHA384:RSA+SHA512"

/* A server context from tls_cert, with a stand-in for tls_key (see
 * tls_keyproxy.h): TLS 1.2 and 1.3 only; *keys_fd_r gets the key
 * snapshot (tls_keys_snapshot).  NULL (with err set) on failure. */
SSL_CTX	*tls_ctx_new(const struct conf *, int *keys_fd_r, char *err,
	    size_t errlen);
/* Free a context made by tls_ctx_new (and its SNI contexts). */
void	 tls_ctx_free(SSL_CTX *);
/* One in-memory handshake in the master, before any fork; 1 when it
 * reached the signature. */
int	 tls_warm(SSL_CTX *);
/* Master: make a new session-ticket key (the old ones stay usable for
 * TICKET_KEYS - 1 more rotations).  Children forked later get them. */
void	 tls_tickets_rotate(void);
/* Whether tls_key matches tls_cert, and each tls_sni pair (checked in
 * short-lived children); on success a sealed memfd with the key files' bytes
 * (tls_key, then the tls_sni keys), written by the checking children:
 * the master hands it to privpop-auth without reading it. */
int	 tls_keys_snapshot(const struct conf *, char *err, size_t errlen);
/* "what: " and OpenSSL's oldest queued error into err, and clear the
 * queue (both halves use it). */
void	 tls_error(char *err, size_t errlen, const char *what);

#endif
