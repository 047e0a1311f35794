/*
 * Runs inside privpop-auth (root): pads a failed login's answer to its
 * deadline.  Pure arithmetic and a sleep; reads nothing.
 *
 * Runs as: root (privpop-auth).
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <time.h>

#include "faildelay.h"

#define NS_PER_MS	1000000LL
#define NS_PER_S	1000000000LL

static int64_t
ts_ns(const struct timespec *t)
{
	return (int64_t)t->tv_sec * NS_PER_S + t->tv_nsec;
}

void
faildelay_deadline(const struct timespec *arrival, const struct timespec *now,
    int unit_ms, int min_ms, struct timespec *deadline_r)
{
	int64_t start = ts_ns(arrival), spent = ts_ns(now) - start;
	int64_t wait = (int64_t)min_ms * NS_PER_MS;
	int64_t unit = (int64_t)unit_ms * NS_PER_MS;

	if (spent > wait) {
		if (unit > 0)
			/* whole steps: the answer says only "more than
			 * k steps", never how much more */
			wait = (spent + unit - 1) / unit * unit;
		else
			wait = spent;
	}
	deadline_r->tv_sec = (time_t)((start + wait) / NS_PER_S);
	deadline_r->tv_nsec = (long)((start + wait) % NS_PER_S);
}

void
faildelay_wait(const struct timespec *arrival, int unit_ms, int min_ms)
{
	struct timespec now, deadline;

	if (clock_gettime(CLOCK_MONOTONIC, &now) == -1)
		return;
	faildelay_deadline(arrival, &now, unit_ms, min_ms, &deadline);
	/* absolute: a signal that interrupts does not restart the wait */
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &deadline,
	    NULL) == EINTR)
		;
}
