/*
 * The TLS private key never enters a process that reads client bytes:
 * privpopd's SSL_CTX holds a stand-in key with the certificate's public
 * half, whose signature (the whole content libssl signs and the TLS
 * SignatureScheme) is sent over IPC to this session's privpop-auth,
 * which loaded the real key and checks, hashes and signs it
 * (auth/tls_keys.c).  RSA and ECDSA keys are supported; RSA key
 * exchange is not offered, and there is no raw RSA operation to ask for.
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
/* Tell privpop-auth that TLS starts on this connection, before the
 * handshake reads a byte: it signs nothing before.  0 or -1. */
int	keyproxy_tls_start(void);
/* How many private-key operations were asked for with no channel (the
 * master's warm-up handshake). */
unsigned long keyproxy_unanswered(void);

#endif
