/*
 * The one number parser.  Runs as: every process, root included.
 */
#include "config.h"

#include "numparse.h"

int
parse_uint(const char *p, size_t len, uint64_t min, uint64_t max,
    uint64_t *v_r)
{
	uint64_t v = 0;
	size_t i;

	if (len == 0 || len > 20)
		return -1;
	for (i = 0; i < len; i++) {
		unsigned d;

		if (p[i] < '0' || p[i] > '9')
			return -1;
		d = (unsigned)(p[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	if (v < min || v > max)
		return -1;
	*v_r = v;
	return 0;
}
