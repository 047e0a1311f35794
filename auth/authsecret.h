/*
 * The install's secret (auth_secret_file): random bytes that root makes
 * once, at the first start, and keeps, mode 600.  privpop-auth keys the
 * SCRAM salts of users without stored keys with it (scram.h): a secret
 * made afresh at each start would change those salts at a restart while
 * real users' stored salts stay, which tells them apart.
 */
#ifndef PRIVPOP_AUTHSECRET_H
#define PRIVPOP_AUTHSECRET_H

#include <stddef.h>

#define AUTH_SECRET_LEN	32

/*
 * Read the secret at path into out (AUTH_SECRET_LEN bytes), making it
 * first if it does not exist (and its directory, one level).  The file
 * must be a regular file of exactly AUTH_SECRET_LEN bytes, owned by
 * this uid, with no group or other access.  0, or -1 with the reason
 * in why.
 */
int	authsecret_load(const char *path, unsigned char *out, char *why,
	    size_t whylen);

#endif
