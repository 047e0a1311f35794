/*
 * TLS, the session child's half (tls_conn.c): the handshake and the
 * record I/O, with a context inherited from the master (tls_ctx.h).
 */
#ifndef PRIVPOP_TLS_CONN_H
#define PRIVPOP_TLS_CONN_H

#include <stddef.h>

#include <openssl/ssl.h>

struct client;

/* Handshake on the client's descriptors; 0 or -1 (reason in err). */
int	 tls_accept(struct client *, SSL_CTX *, char *err, size_t errlen);
/* Flush and send close_notify when a handshake completed. */
void	 tls_close(struct client *);
/* "TLSv1.3/TLS_AES_256_GCM_SHA384", "failed" (handshake) or "no". */
void	 tls_describe(const struct client *, char *out, size_t outlen);

#endif
