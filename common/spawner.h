/*
 * A fork server ("zygote"): a helper that has already paid for exec,
 * dynamic linking and its setup (configuration, keys) forks one child
 * per request instead of having the master exec a fresh helper for
 * every session.
 */
#ifndef PRIVPOP_SPAWNER_H
#define PRIVPOP_SPAWNER_H

#include <stdint.h>

#include "ipc.h"

/*
 * Serve requests of one type on ctl, each carrying a descriptor.  For
 * every request, fork: the child returns 0 with the request in *m
 * (m->fd is its descriptor) and no trace of ctl or of the spawner's
 * signal handling; the parent closes the descriptor, reaps and logs its
 * children, and goes on.  Returns 1 in the spawner when the master
 * closes ctl; any other message is fatal.
 */
int	spawner_serve(int ctl, uint32_t type, const char *child_name,
	    struct msg *m);

#endif
