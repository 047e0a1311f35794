/*
 * The TLS private key never enters a process that reads client bytes:
 * privpopd's SSL_CTX holds a stand-in key with the certificate's public
 * half, whose RSA or ECDSA private operation is sent over IPC to this
 * session's privpop-auth, which loaded the real key (auth/tls_keys.c).
 * RSA and ECDSA keys are supported (RSA key exchange is not offered, so
 * only signatures are ever asked for).
 */
#ifndef PRIVPOP_TLS_KEYPROXY_H
#define PRIVPOP_TLS_KEYPROXY_H

#include <openssl/evp.h>
#include <openssl/x509.h>

/* A stand-in for the private key of cert, numbered idx for the key
 * holder.  NULL on failure (unsupported key type). */
EVP_PKEY *keyproxy_new(X509 *cert, int idx, char *err, size_t errlen);
/* The socket to privpop-auth, set in the session child before any
 * handshake. */
void	keyproxy_set_channel(int sock);
/* How many private-key operations were asked for with no channel (the
 * master's warm-up handshake). */
unsigned long keyproxy_unanswered(void);

#endif
