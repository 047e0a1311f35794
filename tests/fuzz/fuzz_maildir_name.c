/* Maildir file names: maildir_parse_name on a NUL-terminated copy; the
 * UIDL must be 1..70 characters in 0x21..0x7e (RFC 1939 section 7). */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "maildir.h"

#define CHECK(x)	do { if (!(x)) abort(); } while (0)

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char uidl[POP3_MAX_UIDL + 1 + 8];
	char *name;
	uint64_t wsize;
	size_t i, n;

	name = malloc(size + 1);	/* exact size plus the NUL */
	if (name == NULL)
		return 0;
	memcpy(name, data, size);
	name[size] = '\0';
	/* guard bytes after the buffer size passed in */
	memset(uidl, 'G', sizeof(uidl));
	if (maildir_parse_name(name, uidl, POP3_MAX_UIDL + 1, &wsize) == 0) {
		CHECK(name[0] != '\0' && name[0] != '.');
		n = strnlen(uidl, POP3_MAX_UIDL + 1);
		CHECK(n >= 1 && n <= POP3_MAX_UIDL);
		for (i = 0; i < n; i++)
			CHECK((unsigned char)uidl[i] >= 0x21 &&
			    (unsigned char)uidl[i] <= 0x7e);
		CHECK(wsize == UINT64_MAX || wsize <= UINT64_MAX / 2);
	}
	for (i = POP3_MAX_UIDL + 1; i < sizeof(uidl); i++)
		CHECK(uidl[i] == 'G');
	free(name);
	return 0;
}
