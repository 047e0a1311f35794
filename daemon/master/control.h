/*
 * The master's control socket (privpopctl): one request a connection,
 * from root only, answered at once in a sealed memfd, never waited
 * for.  See control.c.
 */
#ifndef PRIVPOP_CONTROL_H
#define PRIVPOP_CONTROL_H

#include <sys/types.h>

#include <poll.h>
#include <stddef.h>
#include <time.h>

#include "conf.h"
#include "ipc.h"

/* What the master counts since it started (privpopctl stats). */
enum ctl_counter {
	CTL_C_ACCEPTED,		/* connections accepted */
	CTL_C_REFUSED,		/* refused by the per-address limits */
	CTL_C_LOGINS,		/* login reports (MSG_MASTER_LOGIN) */
	CTL_C_LOGIN_FAILS,	/* failures in penalty reports */
	CTL_C_EVICTED,		/* unauthenticated ones ended for room */
	CTL_C_DEADLINE,		/* ended past the login_timeout backstop */
	CTL_C_KICKED,		/* ended by privpopctl kick */
	CTL_C_RELOADS,		/* reloads that took */
	CTL_C_RELOAD_FAILS,	/* reloads that kept the old configuration */
	/* by mechanism, from the penalty reports (AUTH_METHOD_* order) */
	CTL_C_OK_PASS, CTL_C_OK_APOP, CTL_C_OK_CRAM_MD5, CTL_C_OK_SCRAM,
	CTL_C_FAIL_PASS, CTL_C_FAIL_APOP, CTL_C_FAIL_CRAM_MD5, CTL_C_FAIL_SCRAM,
	CTL_C_COUNT
};

/* One busy slot, as the master sees it (control_* asks master.c). */
struct ctl_session {
	size_t		 slot;	/* its index, for control_slot_* */
	pid_t		 pid;
	int		 authed;
	int		 tls;	/* came on an implicit TLS listener */
	time_t		 age;	/* seconds since the accept */
	const char	*addr;
};

/* The master's slot pool now. */
struct ctl_gauges {
	size_t	busy, idle, max, pending;
};

/* Provided by master.c: the busy slots (at most max, in out; the
 * count), end the session of a slot as a shutdown does (0, or -1 when
 * it is no longer there), the pool's gauges. */
size_t	master_ctl_sessions(struct ctl_session *out, size_t max);
int	master_ctl_kick(size_t slot);
void	master_ctl_gauges(struct ctl_gauges *);
/* Debug logging on or off in the master, and in every process it
 * starts from now on (new fork servers, a new slot zygote). */
void	master_ctl_log_level(int debug);

void	control_count(enum ctl_counter);
/* Slot i's session reported its figures (MSG_MASTER_SESSION_STATS,
 * clamped by the getter): add them to the counters and to the slot's
 * bytes (privpopctl who). */
void	control_session_stats(size_t i, const uint64_t v[SST_COUNT]);
/* The text of privpopctl stats (a "name\tvalue\n" line a counter or
 * gauge), malloc'd, its length in *len_r; NULL without memory. */
char	*control_stats_text(size_t *len_r);
/* What privpopctl switched the transcript on for, as a new connection
 * from addr gets it: 1 when addr is in one of its networks; its users
 * in users (separated by spaces). */
int	control_transcript_for(const char *addr, char *users, size_t len);
/* Room for the facts of n slots (user, session id, STLS), which the
 * master learns from login reports; 0 or -1. */
int	control_reserve(size_t n);
/* Slot i has a new connection (forget the last one's facts). */
void	control_slot_clear(size_t i);
/* Slot i's privpop-auth reported a login. */
void	control_slot_login(size_t i, const char *user, const char *sess,
	    int tls);

/* Make the socket c names (at start, and at a reload when the path
 * changed; none for "none"), or keep the one there is. */
void	control_open(const struct conf *c);
/* At exit: close and unlink the socket (if still ours). */
void	control_close(void);
/* In a child forked from the master: close every control descriptor. */
void	control_close_inherited(void);
/* Descriptors to poll (the socket, the connections waiting for their
 * request) into pfds (room for at least CONTROL_POLL_MAX); the count. */
#define CONTROL_POLL_MAX	(1 + CTL_CONN_MAX)
size_t	control_pollfds(struct pollfd *pfds);
/* After poll: serve what those n descriptors got. */
void	control_handle(const struct pollfd *pfds, size_t n);
/* Close connections past CTL_REQUEST_TIMEOUT. */
void	control_expire(void);

#endif
