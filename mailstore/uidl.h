/*
 * What a UIDL may be (RFC 1939 section 7): 1 to 70 characters of
 * 0x21 to 0x7E.  Every file the mailbox owner writes that names UIDLs
 * (the caches, the expire records, Dovecot's and Courier's lists) is
 * checked with this one rule.
 */
#ifndef PRIVPOP_UIDL_H
#define PRIVPOP_UIDL_H

#include <stddef.h>

#include "limits.h"	/* POP3_MAX_UIDL */

static inline int
uidl_valid(const void *p, size_t n)
{
	const unsigned char *u = p;
	size_t i;

	if (n == 0 || n > POP3_MAX_UIDL)
		return 0;
	for (i = 0; i < n; i++)
		if (u[i] < 0x21 || u[i] > 0x7e)
			return 0;
	return 1;
}

#endif
