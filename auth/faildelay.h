/*
 * When privpop-auth answers a failed login: at a deadline measured from
 * the request's arrival, not a fixed sleep after the check, so the time
 * the check took (which backend, which hash, whether the user exists)
 * does not show in the answer's time.
 */
#ifndef PRIVPOP_FAILDELAY_H
#define PRIVPOP_FAILDELAY_H

#include <time.h>

/*
 * The deadline of a failure answered at now for a request that arrived
 * at arrival: arrival + min_ms, or, if the check ran past that, arrival
 * + the next multiple of unit_ms (auth_fail_delay_ms), so a slow backend
 * shows as one step of unit_ms at most, not as its own time.  min_ms
 * is unit_ms, or an address's longer penalty.  unit_ms 0 (no delay
 * configured): arrival + min_ms, or now if that has passed.
 */
void	faildelay_deadline(const struct timespec *arrival,
	    const struct timespec *now, int unit_ms, int min_ms,
	    struct timespec *deadline_r);

/* Sleep on CLOCK_MONOTONIC until the deadline above (arrival from the
 * same clock). */
void	faildelay_wait(const struct timespec *arrival, int unit_ms,
	    int min_ms);

#endif
