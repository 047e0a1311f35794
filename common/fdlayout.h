/*
 * Placing descriptors on the fixed numbers a program expects after
 * exec (privpop-auth's 0..8, privpop-store's 0..3).  Used between fork
 * and exec, by root (the master, privpop-auth) and by the owner
 * (privpop-auth's worker start); it reads nothing from a client.
 *
 * Which descriptors are open when privpopd starts is not ours to
 * choose: syslog's socket, systemd's LISTEN_FDS, an inetd's 0/1/2, a
 * shell's leftovers.  A source may therefore sit on another entry's
 * target, and placing the entries one by one can overwrite a source
 * that is still to be moved.  fd_layout() cannot: it first copies every
 * source above the highest target, then places the copies.
 */
#ifndef PRIVPOP_FDLAYOUT_H
#define PRIVPOP_FDLAYOUT_H

#include <stddef.h>

/* Entries in one layout: privpop-auth's is the largest (0..8). */
#define FD_LAYOUT_MAX	12

struct fd_place {
	int	from;	/* open descriptor (may equal another's target) */
	int	to;	/* its number in the new program */
};

/*
 * Put every p[i].from on p[i].to, without FD_CLOEXEC, and close every
 * other descriptor from lowest up (so the new program holds exactly the
 * layout there).  Two entries may share a source.  Targets must be
 * distinct and below FD_LAYOUT_MAX + lowest.  Then checks the result:
 * each target refers to the file its source did, and survives exec.
 * Returns 0, or -1 with errno set (EINVAL for a bad layout, EBADF for a
 * source that is not open, EIO when the check fails).
 */
int	fd_layout(const struct fd_place *p, size_t n, int lowest);

/*
 * Open /dev/null on whichever of 0, 1 and 2 is closed (an inetd or a
 * shell may start us so), so that the next descriptor we open (syslog,
 * the config snapshot) is never mistaken for stdio and overwritten by a
 * child's stdio set-up.  Returns 0, or -1 if one could not be opened.
 */
int	fd_stdio_ensure(void);

#endif
