/*
 * A string hash for in-memory tables: FNV-1a over the bytes, then the
 * splitmix64 finaliser, so that names differing in a few digits do not
 * share low bits (linear probing would cluster them).  With a secret seed (passwd_index.c) the names that collide
 * cannot be chosen without it.  Nothing stores these values.
 */
#ifndef PRIVPOP_STRHASH_H
#define PRIVPOP_STRHASH_H

#include <stdint.h>

static inline uint64_t
str_hash64(const char *s, uint64_t seed)
{
	uint64_t h = 0xcbf29ce484222325ULL ^ seed;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ULL;
	}
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebULL;
	return h ^ (h >> 31);
}

#endif
