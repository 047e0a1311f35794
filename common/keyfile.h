/*
 * TLS private key files: what privpopd (its key-checking child) and
 * privpop-auth say when one cannot be loaded.  No OpenSSL here: the
 * callback has the pem_password_cb signature.
 */
#ifndef PRIVPOP_KEYFILE_H
#define PRIVPOP_KEYFILE_H

#include <stddef.h>

/* A pass phrase callback that gives none: an encrypted key fails to
 * load instead of OpenSSL prompting on the terminal (a daemon has none,
 * and systemd would wait for ever). */
int	keyfile_no_passphrase(char *buf, int size, int rwflag, void *u);

/* Why the key file at path did not load, with the fix, into why: an
 * encrypted key, not PEM, no private key in it.  "" when none of these
 * (the caller then says what OpenSSL said). */
void	keyfile_explain(const char *path, char *why, size_t whylen);

#endif
