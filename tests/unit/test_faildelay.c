/* faildelay_deadline with a fake clock: a failed login is answered at
 * a deadline from the request's arrival, whatever the backend took. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <time.h>
#include <cmocka.h>

#include "faildelay.h"

static struct timespec
at_ms(long long ms)
{
	struct timespec t;

	/* an arrival at 1000 s and some ns, to carry across seconds */
	t.tv_sec = 1000 + (time_t)(ms / 1000);
	t.tv_nsec = 123456789L + (long)(ms % 1000) * 1000000L;
	if (t.tv_nsec >= 1000000000L) {
		t.tv_sec++;
		t.tv_nsec -= 1000000000L;
	}
	return t;
}

/* the deadline, in ms after the arrival */
static long long
deadline_after(long long spent_ms, int unit, int min)
{
	struct timespec a = at_ms(0), now = at_ms(spent_ms), d;

	faildelay_deadline(&a, &now, unit, min, &d);
	return ((long long)(d.tv_sec - a.tv_sec) * 1000000000LL +
	    (d.tv_nsec - a.tv_nsec)) / 1000000LL;
}

static void
test_table(void **state)
{
	static const struct {
		long long	spent;	/* what the backend took */
		int		unit, min;
		long long	want;
	} t[] = {
		/* a fast and a slow hash: the same deadline */
		{ 0, 300, 300, 300 },
		{ 11, 300, 300, 300 },
		{ 22, 300, 300, 300 },
		{ 299, 300, 300, 300 },
		{ 300, 300, 300, 300 },
		/* a backend slower than the delay: the next whole step, so
		 * its own time does not show */
		{ 301, 300, 300, 600 },
		{ 599, 300, 300, 600 },
		{ 601, 300, 300, 900 },
		/* a penalty: its delay from the arrival, then steps */
		{ 20, 300, 2000, 2000 },
		{ 2001, 300, 2000, 2100 },
		/* no delay configured: the answer goes at once */
		{ 0, 0, 0, 0 },
		{ 45, 0, 0, 45 },
		{ 45, 0, 2000, 2000 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (deadline_after(t[i].spent, t[i].unit, t[i].min) != t[i].want)
			fail_msg("spent %lld unit %d min %d: %lld, want %lld",
			    t[i].spent, t[i].unit, t[i].min,
			    deadline_after(t[i].spent, t[i].unit, t[i].min),
			    t[i].want);
}

/* The real clock: the wait ends at a deadline counted from the
 * request's arrival, not after a fixed sleep.  A request that arrived
 * 4.95 s before a 5 s delay is answered in about 50 ms; a fixed sleep
 * would take 5 s.  The margins (a lower bound, and 2.5 s against 5 s)
 * hold on a loaded machine: no wall-clock figure near the delay is
 * asserted. */
static void
test_wait_is_absolute(void **state)
{
	struct timespec now, arrival, b;
	long long ms;

	(void)state;
	clock_gettime(CLOCK_MONOTONIC, &now);
	arrival = now;
	arrival.tv_sec -= 4;			/* 4.95 s ago */
	arrival.tv_nsec -= 950000000L;
	if (arrival.tv_nsec < 0) {
		arrival.tv_nsec += 1000000000L;
		arrival.tv_sec--;
	}
	faildelay_wait(&arrival, 5000, 5000);
	clock_gettime(CLOCK_MONOTONIC, &b);
	ms = ((long long)(b.tv_sec - now.tv_sec) * 1000000000LL +
	    (b.tv_nsec - now.tv_nsec)) / 1000000LL;
	assert_true(ms >= 49);
	assert_true(ms < 2500);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_wait_is_absolute),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
