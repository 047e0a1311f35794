/*
 * A fork server ("zygote"): a helper that has already paid for exec,
 * dynamic linking and its setup (configuration, keys) forks one child
 * per request instead of having the master exec a fresh helper for
 * every session.
 */
#ifndef PRIVPOP_SPAWNER_H
#define PRIVPOP_SPAWNER_H

#include <sys/types.h>

#include <stdint.h>

#include "ipc.h"

/*
 * Serve requests of one type on ctl, each carrying a descriptor.  For
 * every request, fork: the child returns 0 with the request in *m
 * (m->fd is its descriptor) and no trace of ctl, of the other
 * children's channels or of the spawner's signal handling; the parent
 * closes the descriptor, reaps and logs its children, and goes on.
 * Returns 1 in the spawner when the master closes ctl; any other
 * message on ctl is fatal.
 *
 * With type2 (not 0), a request is two messages, since one carries at
 * most one descriptor: type, then at once type2 with a descriptor of
 * its own, which the child finds in *fd2_r (fd2_r may be NULL when
 * type2 is 0; then *fd2_r is not touched).
 *
 * With chan_fn, each child also gets a channel to the spawner in
 * *chan_r (-1 if none could be made): the spawner calls chan_fn for
 * every message on it and closes it when chan_fn returns -1 or the
 * child closes its end.
 *
 * before_fork, when not NULL, runs in the spawner before each fork: it
 * brings up to date what every child inherits.  after_fork, when not
 * NULL, runs in the spawner after each fork with the request's
 * descriptor and the child's pid, before the descriptor is closed.
 */
int	spawner_serve(int ctl, uint32_t type, uint32_t type2,
	    const char *child_name, struct msg *m, int *fd2_r,
	    int (*chan_fn)(int, struct msg *), int *chan_r,
	    void (*before_fork)(void), void (*after_fork)(int, pid_t));

#endif
