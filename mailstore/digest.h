/*
 * Digests for privpop-store, from libmd (Debian's BSD message-digest
 * library): the worker needs MD5 and SHA-256 only, and libmd keeps the
 * 4 MB of libcrypto out of a process that is exec'd for every login.
 */
#ifndef PRIVPOP_DIGEST_H
#define PRIVPOP_DIGEST_H

#include <stddef.h>
#include <stdint.h>

#include <md5.h>
#include <sha2.h>

static inline void
md5_once(const void *p, size_t n, unsigned char out[MD5_DIGEST_LENGTH])
{
	MD5_CTX c;

	MD5Init(&c);
	MD5Update(&c, p, n);
	MD5Final(out, &c);
}

static inline void
sha256_once(const void *p, size_t n, unsigned char out[SHA256_DIGEST_LENGTH])
{
	SHA2_CTX c;

	SHA256Init(&c);
	SHA256Update(&c, p, n);
	SHA256Final(out, &c);
}

#endif
