/*
 * The strict UTF-8 check; see utf8.h.  A pure function of its
 * arguments: the session child runs it on client bytes and on the
 * message catalogs, privpop-auth (root) on every user name it is sent
 * (pwf_valid_user), never trusting the session's check.
 *
 * Runs as: privpop (session child, slot zygote), root (privpop-auth).
 */
#include "config.h"

#include <stdint.h>

#include "utf8.h"

/* Decode one sequence at p (n >= 1 bytes left): its length, and the
 * code point in *cp_r; 0 if it is not a well-formed shortest form. */
static size_t
decode(const unsigned char *p, size_t n, uint32_t *cp_r)
{
	uint32_t cp, min;
	size_t len, i;

	if (p[0] < 0x80) {
		*cp_r = p[0];
		return 1;
	}
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		len = 2;
		cp = p[0] & 0x1f;
		min = 0x80;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		len = 3;
		cp = p[0] & 0x0f;
		min = 0x800;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		len = 4;
		cp = p[0] & 0x07;
		min = 0x10000;
	} else
		return 0;	/* 0x80-0xc1 (continuation, overlong 2), 0xf5- */
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	*cp_r = cp;
	return len;
}

int
utf8_valid(const char *s, size_t len, int flags)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, n;
	uint32_t cp;

	while (i < len) {
		if ((n = decode(p + i, len - i, &cp)) == 0)
			return 0;
		if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f))
			return 0;
		if (cp == 0x20 && (flags & UTF8_NO_SPACE))
			return 0;
		if ((cp >= 0xfdd0 && cp <= 0xfdef) || (cp & 0xfffe) == 0xfffe)
			return 0;
		i += n;
	}
	return 1;
}

int
utf8_is_ascii(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] >= 0x80)
			return 0;
	return 1;
}
