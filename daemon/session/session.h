/*
 * The POP3 session: runs in the session child after it has dropped
 * privilege and accepted a connection.  Never returns.
 */
#ifndef PRIVPOP_SESSION_H
#define PRIVPOP_SESSION_H

#include <openssl/ssl.h>

#include "conf.h"
#include "ipc.h"
#include "peeraddr.h"

/* The client address of a connection that is not TCP (a pipe or a
 * UNIX socket from inetd or a local tunnel): as trusted as loopback. */

struct session_hello {
	uint32_t	flags;		/* AUTH_MECH_* to offer */
	char		stamp[APOP_STAMP_MAX];	/* APOP and CRAM-MD5 stamp, or "" */
	char		id[SESSION_ID_LEN + 1];	/* sess= in every log line */
};

/* The slot's socket to the master (or -1): the session sends its
 * figures on it (MSG_MASTER_SESSION_STATS), nothing else (the master
 * learns of a login from privpop-auth only). */
void	session_set_master(int fd);
/* The balancer's PROXY header said the client used TLS to it. */
void	session_set_proxy_tls(int on);

__attribute__((noreturn))
void	session_run(const struct conf *, int rfd, int wfd, int auth_sock,
	    const struct session_hello *, const char *addr,
	    SSL_CTX *tls_ctx, int implicit_tls);

#endif
