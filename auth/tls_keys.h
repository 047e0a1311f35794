/*
 * The TLS private keys, held by privpop-auth (which never reads client
 * bytes) and used only to answer its own session's handshake.
 */
#ifndef PRIVPOP_TLS_KEYS_H
#define PRIVPOP_TLS_KEYS_H

#include "conf.h"
#include "ipc.h"

/* Private-key operations one session may ask for: one handshake needs
 * one; a few more cover a retried STLS. */
#define TLS_MAX_SIGNS	4

/* Load the keys when TLS is configured: from the master's snapshot
 * (fd, see daemon/tls.h) or, with -1, from the files; 0 or -1. */
int	tlskeys_load(const struct conf *, int snapshot_fd);
/* Answer one MSG_AUTH_TLS_SIGN of the session on sock (at most
 * TLS_MAX_SIGNS); dies on a malformed request.  With a signer channel
 * the fork server computes it. */
void	tlskeys_sign(int sock, struct msg *);

/*
 * In a helper forked by privpop-auth -Z: the channel on which the fork
 * server signs for it.  RSA blinding is set up once per process (about
 * 1 ms, a modular inverse); in the long-lived fork server it is set up
 * once and renewed as OpenSSL does for any long-running server, instead
 * of once per connection.  The keys are the same in both processes.
 */
void	tlskeys_use_signer(int fd);
/* In the fork server: answer one request from a helper on fd; -1 if it
 * is not a well-formed MSG_AUTH_TLS_SIGN. */
int	tlskeys_serve(int fd, struct msg *);

#endif
