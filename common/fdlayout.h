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

/*
 * The descriptors every exec'd helper finds; the one table of them.
 *
 * fd   helper         placed by          what (and the flag that says so)
 * 0-2  both           master, slot       /dev/null (stderr kept with -d)
 * 3    privpop-auth   master             IPC to the master (-Z); a child
 *                                        it forks moves its slot's here
 * 3    privpop-auth   inetd-mode slot    IPC to the session child
 * 3    privpop-store  master             IPC to privpop-auth -Z (-Z)
 * 3    privpop-store  privpop-auth       IPC to the session child (-u)
 * 4    privpop-auth   master, slot       config snapshot, sealed (-F)
 * 5    privpop-auth   master             penalty report pipe (-P)
 * 6    privpop-auth   master             penalty table memfd (-P)
 * 7    privpop-auth   master, slot       TLS key snapshot, sealed (-K)
 * 8    privpop-auth   master             privpop-store -Z's socket (-S)
 *
 * The master and a slot place them in daemon/master/auth_helper.c,
 * privpop-auth its worker's in exec_store().
 */
#define IPC_CHILD_FD		3
#define CONF_SNAPSHOT_FD	4
#define PENALTY_REPORT_FD	5
#define PENALTY_TABLE_FD	6
#define TLS_KEYS_FD		7
/* kept by every helper the fork server forks, until its login */
#define STORE_SPAWNER_FD	8

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
