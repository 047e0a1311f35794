/*
 * privpop-uidl: the UIDLs another POP3 server served for a mailbox
 * beside those privpop serves, and privpop's recorded in its cache
 * before the first login (README "Migrating from Dovecot / Courier /
 * popa3d").  The root part (privpop-uidl_root.c) only finds a USER's
 * mailbox and drops to its owner; everything that reads the mailbox
 * (privpop-uidl.c) runs as that owner.
 */
#ifndef PRIVPOP_UIDL_TOOL_H
#define PRIVPOP_UIDL_TOOL_H

#include "conf.h"
#include "limits.h"

/* Exit statuses (privpop-uidl(8)). */
#define UIDL_EXIT_SAME		0	/* every covered message the same */
#define UIDL_EXIT_DIFFER	1	/* some differ */
#define UIDL_EXIT_USAGE		2	/* usage, configuration, user */
#define UIDL_EXIT_INUSE		3	/* a POP3 session holds it */
#define UIDL_EXIT_FAIL		4	/* cannot be opened or read */

struct uidl_target {
	char	 user[POP3_MAX_USER + 1];
	char	 location[MAIL_MAX_PATH];	/* maildir:/... mbox:/... */
	char	 index_dir[MAIL_MAX_PATH];	/* "": beside the mbox */
};

/*
 * USER's mailbox, found as privpop-auth finds it at login
 * (auth_mailbox.h), into t; run as root, this process is then the
 * mailbox owner for good (with a dotlock child keeping the mail group
 * where privpop-store's worker would have one).  Run as anyone else,
 * USER must be the caller.  0, or -1 after saying why on stderr.
 */
int	uidl_become_owner(const struct conf *, const char *user,
	    struct uidl_target *t);

/* The rest, as the mailbox owner (never root): t from
 * uidl_become_owner, or empty when arg is the caller's own PATH; from
 * is the --from word.  Prints the lines and the summary; returns the
 * exit status. */
int	uidl_main(const struct conf *, struct uidl_target *t, const char *arg,
	    const char *from, int dry);

#endif
