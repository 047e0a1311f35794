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
/* Answer one MSG_AUTH_TLS_SIGN on sock; dies on a malformed request. */
void	tlskeys_sign(int sock, struct msg *);

#endif
