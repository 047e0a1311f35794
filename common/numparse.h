#ifndef PRIVPOP_NUMPARSE_H
#define PRIVPOP_NUMPARSE_H

#include <stddef.h>
#include <stdint.h>

/*
 * Parse an unsigned decimal number of exactly len bytes: digits only
 * (no sign, space or "0x"), no overflow, within [min, max].
 * Returns 0 and sets *v_r, or -1.
 */
int	parse_uint(const char *p, size_t len, uint64_t min, uint64_t max,
	    uint64_t *v_r);

#endif
