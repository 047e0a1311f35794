/*
 * The master's side of metrics_listen: the listening socket, the
 * metrics process it forks (daemon/metrics/), and the snapshots it
 * pushes to it.  See metrics.c.
 */
#ifndef PRIVPOP_MASTER_METRICS_H
#define PRIVPOP_MASTER_METRICS_H

#include <sys/types.h>

#include "conf.h"

/* At start and at each reload: bind metrics_listen and start the
 * metrics process, or stop them (none), or, when metrics_listen, the
 * user, the chroot and seccomp are unchanged, keep them. */
void	metrics_configure(const struct conf *, uid_t uid, gid_t gid);
/* At each turn of the master's loop: push a snapshot when
 * METRICS_PUSH_INTERVAL has passed (none when the socket is full),
 * restart a metrics process that died (METRICS_RESTART_INTERVAL). */
void	metrics_tick(void);
/* From the reaper: 1 when pid was the metrics process (then logged),
 * else 0. */
int	metrics_reaped(pid_t pid, int status);
/* In a child forked from the master: close the metrics descriptors. */
void	metrics_close_inherited(void);
/* At shutdown: end the metrics process, reap it, close the socket. */
void	metrics_stop(void);

#endif
