/*
 * Starting privpop-auth: per slot (inetd mode), or once per
 * configuration generation as a fork server (privpop-auth -Z) that the
 * master asks for one helper per slot.
 */
#ifndef PRIVPOP_AUTH_HELPER_H
#define PRIVPOP_AUTH_HELPER_H

#include <sys/types.h>

#include "slot.h"

/* Fork and exec privpop-auth with child_end on fd 3 and the config
 * snapshot, penalty and TLS key descriptors of env on 4..7; zygote adds
 * -Z, and store_spawner (or -1) goes on fd 8 with -S.  0..2 are
 * /dev/null (stderr kept in the foreground) and nothing else is open,
 * whatever numbers the sources had (fd_layout).  Closes child_end
 * here; returns the pid or -1.  No login report channel has a number
 * here: the fork server's children get theirs in a message
 * (MSG_AUTH_SPAWN_REPORT), and a helper exec'd per slot (inetd mode)
 * has no master to report to. */
pid_t	auth_helper_start(const struct slot_env *env, int child_end,
	    int zygote, int store_spawner);

/* Fork and exec privpop-store -Z (root, a fork server of workers that
 * the auth helpers ask for) with child_end on fd 3; closes child_end;
 * returns the pid or -1. */
pid_t	store_spawner_start(const struct slot_env *env, int child_end);

#endif
