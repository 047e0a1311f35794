/*
 * The strict UTF-8 check (common/utf8.c), privpop-auth's user-name rule
 * built on it (pwf_valid_user) and SASLprep (common/saslprep.c)
 * on fuzzed bytes.  utf8_valid must agree with a decoder written
 * differently here (code point by code point, then re-encoded: an
 * accepted text is its own shortest encoding); SASLprep's output must
 * be strict UTF-8 (controls aside: SASLprep prohibits them) and fit.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "limits.h"
#include "passwd_file.h"
#include "saslprep.h"
#include "utf8.h"

#define CHECK(x)	do { if (!(x)) abort(); } while (0)

/* The reference: decode by the bit patterns, re-encode, compare. */
static int
ref_valid(const unsigned char *p, size_t len, int no_space)
{
	size_t i = 0;

	while (i < len) {
		uint32_t cp;
		size_t n, k;
		unsigned char enc[4];

		if (p[i] < 0x80)
			n = 1, cp = p[i];
		else if ((p[i] & 0xe0) == 0xc0)
			n = 2, cp = p[i] & 0x1f;
		else if ((p[i] & 0xf0) == 0xe0)
			n = 3, cp = p[i] & 0x0f;
		else if ((p[i] & 0xf8) == 0xf0)
			n = 4, cp = p[i] & 0x07;
		else
			return 0;
		if (i + n > len)
			return 0;
		for (k = 1; k < n; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (p[i + k] & 0x3f);
		}
		/* the shortest form of cp must be these very bytes */
		if (cp < 0x80)
			k = 1, enc[0] = (unsigned char)cp;
		else if (cp < 0x800)
			k = 2, enc[0] = (unsigned char)(0xc0 | cp >> 6);
		else if (cp < 0x10000)
			k = 3, enc[0] = (unsigned char)(0xe0 | cp >> 12);
		else
			k = 4, enc[0] = (unsigned char)(0xf0 | cp >> 18);
		if (k != n || enc[0] != p[i])
			return 0;
		if (cp > 0x10ffff || (cp >= 0xd800 && cp < 0xe000))
			return 0;
		if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0))
			return 0;
		if (no_space && cp == ' ')
			return 0;
		if ((cp >= 0xfdd0 && cp < 0xfdf0) || (cp & 0xffff) >= 0xfffe)
			return 0;
		i += n;
	}
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char buf[POP3_MAX_PASS + 1];
	size_t i;
	int ascii = 1, bad_ascii = 0;

	CHECK(utf8_valid((const char *)data, size, 0) ==
	    ref_valid(data, size, 0));
	CHECK(utf8_valid((const char *)data, size, UTF8_NO_SPACE) ==
	    ref_valid(data, size, 1));
	for (i = 0; i < size; i++) {
		if (data[i] >= 0x80)
			ascii = 0;
		else if (data[i] < 0x21 || data[i] > 0x7e || data[i] == ':' ||
		    data[i] == '/')
			bad_ascii = 1;
	}
	CHECK(utf8_is_ascii((const char *)data, size) == ascii);
	CHECK(pwf_valid_user((const char *)data, size) ==
	    (size > 0 && size <= POP3_MAX_USER && !bad_ascii &&
	    ref_valid(data, size, 1)));

	if (size < sizeof(buf) && memchr(data, '\0', size) == NULL) {
		memcpy(buf, data, size);
		buf[size] = '\0';
		if (saslprep_query(buf, sizeof(buf)) == 0) {
			size_t n = strlen(buf);

			CHECK(n > 0 && n < sizeof(buf));
			if (!utf8_is_ascii(buf, n))
				CHECK(utf8_valid(buf, n, 0));
		}
	}
	return 0;
}
