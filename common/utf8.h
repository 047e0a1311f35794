#ifndef PRIVPOP_UTF8_H
#define PRIVPOP_UTF8_H

#include <stddef.h>

/*
 * Strict UTF-8 (RFC 3629) for RFC 6856 user names and the message
 * catalogs: every sequence well formed and shortest (no overlong form),
 * no UTF-16 surrogate (U+D800..U+DFFF), nothing above U+10FFFF, no
 * noncharacter (U+FDD0..U+FDEF, U+xFFFE, U+xFFFF), and no control
 * character: C0 (below U+0020), DEL and C1 (U+0080..U+009F).
 * UTF8_NO_SPACE also refuses U+0020.
 * Returns 1 if the len bytes at p are such text, else 0.
 */
#define UTF8_NO_SPACE	0x1

int	utf8_valid(const char *p, size_t len, int flags);

/* Whether the len bytes at p are all ASCII (below 0x80). */
int	utf8_is_ascii(const char *p, size_t len);

#endif
