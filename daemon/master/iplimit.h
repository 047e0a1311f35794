/*
 * Connections per client address, counted by the master (root) when it
 * accepts them, before any slot sees them: how many have not logged in
 * yet, how many in all, and the refusals to log.  Keys are
 * penalty_key()s: an IPv4 address, or an IPv6 network of
 * limits_ipv6_prefix bits.  Runs in the master only.
 */
#ifndef PRIVPOP_IPLIMIT_H
#define PRIVPOP_IPLIMIT_H

#include <stddef.h>
#include <time.h>

#include "penalty.h"

struct iplimit_entry {
	char		 key[PENALTY_ADDR_MAX];	/* "" = free */
	unsigned	 preauth;	/* connections not logged in */
	unsigned	 total;		/* all connections */
	unsigned	 refused;	/* since the last log line */
	time_t		 logged;	/* that line's time; 0: none yet */
};

/* Open addressing, linear probing; cap is a power of two, at least
 * twice the connections the master can hold, so a probe is short. */
struct iplimit {
	struct iplimit_entry	*e;
	size_t			 cap;
	size_t			 used;
};

/* Room for want connections (grows, never shrinks); 0 or -1. */
int	iplimit_reserve(struct iplimit *, size_t want);
void	iplimit_free(struct iplimit *);
/* A new connection from key: counted (0), or over
 * max_preauth / max_total and refused (-1: counted as a refusal for
 * iplimit_log_due).  A key that is exempt passes limits of UINT_MAX. */
int	iplimit_admit(struct iplimit *, const char *key, unsigned max_preauth,
	    unsigned max_total);
/* One of key's connections logged in. */
void	iplimit_login(struct iplimit *, const char *key);
/* One of key's connections ended; preauth: before it logged in. */
void	iplimit_release(struct iplimit *, const char *key, int preauth);
/* key's connections not logged in (0 for an unknown key). */
unsigned iplimit_preauth(const struct iplimit *, const char *key);
/* Whether a line about key's refusals is due at now (none in the last
 * interval seconds); then *refused_r is the count since the last line,
 * which starts afresh. */
int	iplimit_log_due(struct iplimit *, const char *key, time_t now,
	    time_t interval, unsigned *refused_r);

#endif
