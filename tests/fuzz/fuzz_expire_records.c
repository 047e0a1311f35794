/* The RFC 2449 state files of a mailbox owner (mailstore/expire.c):
 * expire_parse and expire_find on the first-retrieval records, and
 * login_parse and test_clock_parse on the same bytes.
 *
 * Checks: the records are sorted by UIDL and unique, no more than the
 * input has lines, each a UIDL of 1 to 70 bytes of 0x21..0x7e with a
 * time of 1 to EXPIRE_TIME_MAX that appears in the input as a line
 * "TIME UIDL"; each is found by expire_find, and a key one byte longer
 * is found only if it is a record too; the login time is within range;
 * the clock offset within ten years. */
#include "config.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "expire.h"

#define CHECK(x)	do { if (!(x)) abort(); } while (0)

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size > 0 ? size : 1);
	char line[EXPIRE_REC_LINE_MAX + 2], key[POP3_MAX_UIDL + 2];
	struct expire_rec *v;
	size_t lines = 0, i, k, ll;
	uint32_t n;
	int64_t t;

	CHECK(buf != NULL);
	memcpy(buf, data, size);
	for (i = 0; i < size; i++)
		lines += buf[i] == '\n';
	if (expire_parse(buf, size, &v, &n) == 0) {
		CHECK(n <= lines);
		CHECK((n == 0) == (v == NULL));
		for (i = 0; i < n; i++) {
			k = strlen(v[i].uidl);
			CHECK(k >= 1 && k <= POP3_MAX_UIDL);
			for (ll = 0; ll < k; ll++)
				CHECK((unsigned char)v[i].uidl[ll] >= 0x21 &&
				    (unsigned char)v[i].uidl[ll] <= 0x7e);
			CHECK(v[i].first >= 1 &&
			    v[i].first <= EXPIRE_TIME_MAX);
			CHECK(i == 0 || strcmp(v[i - 1].uidl, v[i].uidl) < 0);
			CHECK(expire_find(v, n, v[i].uidl) == &v[i]);
			/* it came from a line of the input */
			ll = (size_t)snprintf(line, sizeof(line),
			    "\n%" PRId64 " %s\n", v[i].first, v[i].uidl);
			CHECK(ll < sizeof(line));
			CHECK(memmem(buf, size, line + 1, ll - 1) != NULL);
			snprintf(key, sizeof(key), "%sx", v[i].uidl);
			if (expire_find(v, n, key) != NULL)
				CHECK(k < POP3_MAX_UIDL);
		}
		free(v);
	}
	if (login_parse(buf, size, &t) == 0)
		CHECK(t >= 1 && t <= EXPIRE_TIME_MAX);
	if (test_clock_parse(buf, size, &t) == 0)
		CHECK(t >= -(int64_t)EXPIRE_DAYS_MAX * EXPIRE_DAY &&
		    t <= (int64_t)EXPIRE_DAYS_MAX * EXPIRE_DAY);
	free(buf);
	return 0;
}
