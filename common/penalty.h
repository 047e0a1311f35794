/*
 * Brute-force penalties per client address, shared by every session.
 *
 * The master owns the table (a memfd it maps read-write); each
 * privpop-auth maps it read-only and reports each failed or successful
 * login to the master over a pipe.  A failed login from an address with
 * n earlier recent failures is answered after
 *     max(auth_fail_delay_ms, min(base << (n-1), max))   (Dovecot: 2 to 15 s)
 * so the same client is slowed down more and more, while a login from
 * anywhere else is not.  The delay does not depend on whether the user
 * exists.  A success clears the address.
 *
 * An IPv6 client usually holds a whole /64 and can pick a new address
 * for every attempt, so IPv6 addresses count per network of
 * auth_penalty_ipv6_prefix bits (default 64); IPv4 per address.
 */
#ifndef PRIVPOP_PENALTY_H
#define PRIVPOP_PENALTY_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "limits.h"	/* PENALTY_SLOTS, PENALTY_ADDR_MAX */

struct penalty_entry {
	char		addr[PENALTY_ADDR_MAX];	/* "" = free */
	uint32_t	fails;
	uint32_t	last;		/* time of the last failure */
};

struct penalty_table {
	uint32_t	forget;		/* auth_penalty_forget; 0 = default */
	uint32_t	v6prefix;	/* auth_penalty_ipv6_prefix; 0 = 64 */
	struct penalty_entry e[PENALTY_SLOTS];
};

/* The default of auth_penalty_forget, in seconds. */
#define PENALTY_DEFAULT_FORGET	3600
/* The default of auth_penalty_ipv6_prefix: the network a site gives one
 * customer (RFC 6177), which one client can rotate through. */
#define PENALTY_DEFAULT_V6PREFIX	64

/* One report from privpop-auth, as the master takes it from
 * MSG_MASTER_PENALTY. */
struct penalty_report {
	uint32_t	ok;		/* 1 success, 0 failure */
	char		addr[PENALTY_ADDR_MAX];
};

/* Master: a new shared table; returns the memfd and maps it at *t_r,
 * a mapping that forked children do not inherit. */
int	penalty_create(struct penalty_table **t_r);
/* Master: apply a report at time now.  A failure after a quiet spell
 * longer than t->forget starts the count afresh. */
void	penalty_apply(struct penalty_table *, const struct penalty_report *,
	    time_t now);
/* privpop-auth: map the table read-only (NULL on failure). */
const struct penalty_table *penalty_map(int fd);
/* Earlier failures of addr within forget seconds of now. */
uint32_t penalty_fails(const struct penalty_table *, const char *addr,
	    time_t now, int forget);
/* The key addr counts under: an IPv6 address (also with a %scope)
 * becomes its network of prefix bits ("2001:db8:1:2::/64"), an IPv4 one
 * (also IPv4-mapped IPv6) stays itself, anything else stays as it is.
 * out holds PENALTY_ADDR_MAX bytes. */
void	penalty_key(const char *addr, unsigned prefix, char *out);
/* The delay for a failure after n earlier ones. */
int	penalty_delay_ms(uint32_t n, int base_ms, int max_ms);


#endif
