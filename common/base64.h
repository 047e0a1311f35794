/*
 * Base64 (RFC 4648 section 4) for SASL: strict decoding, as RFC 5034
 * asks (no whitespace, padding required, nothing after it).
 */
#ifndef PRIVPOP_BASE64_H
#define PRIVPOP_BASE64_H

#include <stddef.h>

/* Bytes needed to encode n bytes, with the NUL. */
#define BASE64_ENCODED_LEN(n)	((((n) + 2) / 3) * 4 + 1)

/* Decode len characters of in into out (room outlen); returns the
 * decoded length, or -1 for bad input or too little room. */
long	base64_decode(const char *in, size_t len, unsigned char *out,
	    size_t outlen);
/* Encode; out must hold BASE64_ENCODED_LEN(len).  Returns the length. */
size_t	base64_encode(const unsigned char *in, size_t len, char *out);

#endif
