/*
 * The TLS private keys, held by privpop-auth (which never reads client
 * bytes) and used only to answer its own session's handshake: one
 * signature per connection, after the session announced TLS (before it
 * read a client byte), over content a TLS server signs, hashed here.
 */
#ifndef PRIVPOP_TLS_KEYS_H
#define PRIVPOP_TLS_KEYS_H

#include "conf.h"
#include "ipc.h"

/* Signatures one connection may ask for: a full handshake needs one,
 * a resumed one none, and a failed handshake ends the session. */
#define TLS_MAX_SIGNS	1

/* What this helper's connection has been allowed so far. */
struct tlsk_permit {
	int	started;	/* MSG_AUTH_TLS_START seen */
	int	signs;
};

/* The permit table's TLS rows: NULL when the request is allowed (and
 * counted), else why it is not (the caller dies). */
const char *tlsk_permit_start(struct tlsk_permit *);
const char *tlsk_permit_sign(struct tlsk_permit *);
/* Is this a signature a TLS server makes with a key of keytype
 * (EVP_PKEY_RSA or EVP_PKEY_EC): a scheme for that key, over a TLS 1.3
 * CertificateVerify's content or a TLS 1.2 ECDHE ServerKeyExchange's?
 * NULL, or why not. */
const char *tlsk_content_ok(uint32_t scheme, int keytype,
	    const unsigned char *, size_t);

/* Load the keys when TLS is configured: from the master's snapshot
 * (fd, see daemon/master/tls_ctx.h) or, with -1, from the files; 0 or -1. */
int	tlskeys_load(const struct conf *, int snapshot_fd);
/* MSG_AUTH_TLS_START: TLS begins on the connection permit is of; dies
 * on a second one. */
void	tlskeys_start(struct tlsk_permit *, struct msg *);
/* Answer one MSG_AUTH_TLS_SIGN of the session on sock; dies on a
 * request the permit or tlsk_content_ok refuses.  With a signer channel
 * the fork server computes it. */
void	tlskeys_sign(struct tlsk_permit *, int sock, struct msg *);

/*
 * In a helper forked by privpop-auth -Z: the channel on which the fork
 * server signs for it.  RSA blinding is set up once per process (about
 * 1 ms, a modular inverse); in the long-lived fork server it is set up
 * once and renewed as OpenSSL does for any long-running server, instead
 * of once per connection.  The keys are the same in both processes.
 */
void	tlskeys_use_signer(int fd);
/* In the fork server: answer one request from a helper on fd; -1 if it
 * is not a well-formed, allowed MSG_AUTH_TLS_SIGN. */
int	tlskeys_serve(int fd, struct msg *);

#endif
