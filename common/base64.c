/*
 * Base64 for SASL.  Runs as: root (privpop-auth) and privpop (the
 * session child).
 */
#include "config.h"

#include "base64.h"

static const char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int
value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

long
base64_decode(const char *in, size_t len, unsigned char *out, size_t outlen)
{
	size_t i, o = 0;

	if (len % 4 != 0)
		return -1;
	for (i = 0; i < len; i += 4) {
		int v[4], k, pad = 0;
		unsigned long w;

		for (k = 0; k < 4; k++) {
			unsigned char c = (unsigned char)in[i + (size_t)k];

			if (c == '=' && i + 4 == len && k >= 2) {
				v[k] = 0;
				pad++;
				continue;
			}
			if (pad > 0 || (v[k] = value(c)) < 0)
				return -1;	/* data after '=', or junk */
		}
		w = ((unsigned long)v[0] << 18) | ((unsigned long)v[1] << 12) |
		    ((unsigned long)v[2] << 6) | (unsigned long)v[3];
		/* canonical: the bits a pad leaves unused must be zero */
		if ((pad == 2 && (w & 0xffff) != 0) ||
		    (pad == 1 && (w & 0xff) != 0))
			return -1;
		if (outlen - o < (size_t)(3 - pad))
			return -1;
		out[o++] = (unsigned char)(w >> 16);
		if (pad < 2)
			out[o++] = (unsigned char)(w >> 8);
		if (pad < 1)
			out[o++] = (unsigned char)w;
	}
	return (long)o;
}

size_t
base64_encode(const unsigned char *in, size_t len, char *out)
{
	size_t i, o = 0;

	for (i = 0; i + 2 < len; i += 3) {
		unsigned long w = ((unsigned long)in[i] << 16) |
		    ((unsigned long)in[i + 1] << 8) | in[i + 2];

		out[o++] = alphabet[(w >> 18) & 63];
		out[o++] = alphabet[(w >> 12) & 63];
		out[o++] = alphabet[(w >> 6) & 63];
		out[o++] = alphabet[w & 63];
	}
	if (i < len) {
		unsigned long w = (unsigned long)in[i] << 16;

		if (i + 1 < len)
			w |= (unsigned long)in[i + 1] << 8;
		out[o++] = alphabet[(w >> 18) & 63];
		out[o++] = alphabet[(w >> 12) & 63];
		out[o++] = i + 1 < len ? alphabet[(w >> 6) & 63] : '=';
		out[o++] = '=';
	}
	out[o] = '\0';
	return o;
}
