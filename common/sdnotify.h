/*
 * Readiness notification to systemd (sd_notify(3)) without libsystemd:
 * one datagram to the AF_UNIX socket named by $NOTIFY_SOCKET, a path or
 * "@name" in the abstract namespace.  Used by the master (root) under a
 * Type=notify unit; without $NOTIFY_SOCKET every call does nothing.
 */
#ifndef PRIVPOP_SDNOTIFY_H
#define PRIVPOP_SDNOTIFY_H

/* Reads $NOTIFY_SOCKET and unsets it, so that no child (slots, helpers)
 * inherits it.  Call once, before the first fork.  Returns 1 when a
 * valid socket name was found, 0 when none was set, -1 when it is
 * malformed (then notifications are off). */
int	sdnotify_init(void);
/* Sends state ("READY=1", "STOPPING=1", ...): 0 when sent or when
 * there is no socket, -1 (errno set) when sending failed. */
int	sdnotify(const char *state);
/* "RELOADING=1" with MONOTONIC_USEC, as systemd 253 wants it. */
int	sdnotify_reloading(void);

#endif
