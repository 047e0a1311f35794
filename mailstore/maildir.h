/*
 * One Maildir opened by privpop-store: scanned once at open, locked
 * against a second POP3 session, expunged at QUIT.
 */
#ifndef PRIVPOP_MAILDIR_H
#define PRIVPOP_MAILDIR_H

#include <stddef.h>
#include <stdint.h>

#include "limits.h"
#include "mailbox.h"
#include "maildir_listing.h"
#include "maildir_lock.h"

struct maildir {
	int		 dirfd;
	int		 curfd, newfd;	/* cur/ and new/, opened once */
	int		 lockfd;	/* flock: this node's sessions */
	struct mdlock	 xlock;		/* the lock file: every node's */
	struct mail_msg	*msgs;
	uint32_t	 count;
	uint64_t	 octets;
	int		 cache_stale;	/* sizes to save at close */
	int		 listing_stale;	/* names to save at close */
	struct mdlist_dirs dirs;	/* cur/ and new/ before the scan */
};

/* Name of the file whose flock() gives one POP3 session of this node
 * exclusive access (fast, and all a single host needs); across nodes
 * the lock file of maildir_lock.h is taken as well, under the flock. */
#define MAILDIR_POP3_LOCK	".privpop-pop3.lock"
/* The expunge journal: the names an expunge is about to remove, written
 * (and synced) before the first unlink and removed after the last, so
 * that an expunge cut short (the worker killed, the host down) is
 * finished by the next open, before it lists anything. */
#define MAILDIR_EXPUNGE_JOURNAL	".privpop-expunge"
#define MAILDIR_JOURNAL_MAGIC	"privpop-expunge 1\n"

/*
 * Parse a Maildir file name: the unique part (before ':') gives the UIDL
 * (hashed when it is not 1..70 printable characters); a ",W=n" field
 * gives the POP3 size.  Returns 0 or -1 for names that are not messages
 * (dot files, empty).  *wsize_r is UINT64_MAX when there is no W field.
 */
int	maildir_parse_name(const char *name, char *uidl, size_t uidlsz,
	    uint64_t *wsize_r);

/* Open (creating new/ cur/ tmp/ when missing), lock, finish an expunge
 * a journal records, and scan; the messages another server's records
 * cover (maildir_uidmap.h) get that server's UIDL, those of a
 * dovecot-uidlist rendered with uidl_format (pop3_uidl_format). */
enum mail_err maildir_open_fmt(struct maildir *, const char *path,
	    const char *uidl_format);
/* maildir_open_fmt with Dovecot's default format */
enum mail_err maildir_open(struct maildir *, const char *path);
/* Open message idx (0-based) for reading, following a rename of the
 * file by another agent (new/ -> cur/, flag changes).  fd or -1. */
int	maildir_open_msg(struct maildir *, uint32_t idx);
/* The lock file's refresh (store_serve's timer): seconds until it is
 * due, or -1 with none; maildir_lock_refresh: 0, or -1 when another
 * node took the lock over (the session must end, expunging nothing). */
int	maildir_lock_due(const struct maildir *);
int	maildir_lock_refresh(struct maildir *);
/* Unlink the deleted messages; returns how many were removed.  Nothing
 * is removed (all counted in *failed_r) when the lock file is no longer
 * this session's. */
uint32_t maildir_expunge(struct maildir *, uint32_t *failed_r);
void	maildir_close(struct maildir *);

#endif
