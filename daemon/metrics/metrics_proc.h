/*
 * The metrics process (metrics_listen): serves the latest snapshot the
 * master pushed, in the Prometheus text format, over HTTP.
 */
#ifndef PRIVPOP_METRICS_PROC_H
#define PRIVPOP_METRICS_PROC_H

/* Called in the forked child once it has dropped privilege (chroot,
 * user; daemon/master/metrics.c): limits, filter, then serve the
 * listening socket lfd with the snapshots that come on msock, until the
 * master closes msock.  Never returns. */
__attribute__((noreturn))
void	metrics_proc_main(int lfd, int msock, int seccomp);

#endif
