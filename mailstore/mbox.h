/*
 * One mbox file opened by privpop-store (the system spool /var/mail/USER
 * or any path).  See mbox_parse.h for the format, mbox_lock.h for the
 * locks.
 *
 * - Exclusive POP3 access ([IN-USE]) is a flock on a lock file of our
 *   own, held for the whole session; the mbox locks that delivery agents
 *   honour are held only while the file is scanned and while it is
 *   rewritten at QUIT, so delivery is never blocked for long.
 * - A cache of offsets, sizes and UIDL digests (owned by the mailbox
 *   owner) makes the next open scan only what was appended since.
 * - UIDL, the first of these that is unique in the mailbox:
 *   1. the UIDL the cache holds for the message (what clients saw, also
 *      from a cache older than the file, matched by the message's key,
 *      or written by an older privpop, matched by its old digest);
 *   2. its X-UIDL: header (qpopper, Dovecot's pop3_save_uidl);
 *   3. Dovecot's pop3_uidl_format (by default %08Xu%08Xv) of its X-UID:
 *      and the first message's X-IMAPbase: (a format with %f or %g
 *      has no value here: the next rule);
 *   4. popa3d's UIDL (16 hex digits) when the message has one of the
 *      delivery headers popa3d hashes; else the 32 hex digits of its
 *      key (From_ line and headers but those readers rewrite).
 *   A computed UIDL already taken gets "-N" (N = 2, 3, ...).  The cache
 *   keeps them, so every message keeps its UIDL across sessions,
 *   deletions, deliveries and mail readers' rewrites.
 * - Expunge at QUIT (mbox_expunge.c) goes through a journal so that a
 *   process killed at any instant leaves the old mailbox, the new one,
 *   or one that the next open completes.
 *
 * The index files (lock, cache, journal) live in index_dir, named after
 * a digest of the mbox path; when index_dir cannot be used, beside the
 * mbox as ".NAME.privpop-*".
 *
 * The owner may plant links in all of these places, and the worker may
 * hold the group mail: the mbox and the index files are opened relative
 * to directory descriptors reached without the owner's symlinks
 * (fs_open_dir), never through a symlink, never blocking, and used only
 * when they are the owner's regular files with one link; new index
 * files are made under a random name (O_EXCL) and renamed into place.
 */
#ifndef PRIVPOP_MBOX_H
#define PRIVPOP_MBOX_H

#include <sys/types.h>

#include <stdint.h>

#include "mailbox.h"
#include "mbox_parse.h"

struct mbox_opts {
	int		 locks;		/* MBOX_LOCK_* */
	int		 lock_timeout;	/* seconds */
	int		 dotlock_stale;	/* seconds */
	const char	*index_dir;	/* "" for beside the mbox */
	int		 no_cache_write;	/* open leaves the cache as it
					   is (privpop-uidl --dry-run) */
	const char	*uidl_format;	/* pop3_uidl_format (uidlfmt.h)
					   of X-UID:, NULL: Dovecot's
					   default; mbox_open keeps a
					   copy (uidl_format below) */
};

/* Per message, beside struct mail_msg. */
struct mbox_meta {
	uint64_t	 from_off;
	unsigned char	 key[MBOX_DIGEST_LEN];	/* see mbox_parse.h */
	unsigned char	 digest[MBOX_DIGEST_LEN];
	unsigned char	 p3[MBOX_DIGEST_LEN];
	uint32_t	 flags;		/* MBOX_F_*, MBOX_M_UIDL */
	uint32_t	 xuid;
};

/* msgs[].uidl is the message's UIDL (else, with MBOX_F_XUIDL, its
 * X-UIDL: value) */
#define MBOX_M_UIDL	0x100

/* A message of a cache that no longer matches the file: its UIDL goes
 * to the message with the same key (legacy: the same old digest). */
struct mbox_old {
	unsigned char	 key[MBOX_DIGEST_LEN];
	char		 uidl[POP3_MAX_UIDL + 1];
	uint32_t	 next;		/* same key, in order; UINT32_MAX */
	int		 used;
};

struct mbox {
	char		 path[MAIL_MAX_PATH];
	char		 index[MAIL_MAX_PATH];	/* path prefix of our files */
	const char	*idxname;	/* its last part: the name in idxfd */
	const char	*base;		/* the mbox's name in dirfd */
	int		 dirfd;		/* the mbox's directory */
	int		 idxfd;		/* the index directory */
	struct mbox_opts opts;	/* its index_dir is read by mbox_open
				   only; its uidl_format points to: */
	char		 uidl_format[CONF_UIDL_FORMAT_MAX + 1];
	int		 fd;		/* -1: no mbox file (empty) */
	int		 sessfd;	/* [IN-USE] flock */
	dev_t		 dev;
	ino_t		 ino;
	uint64_t	 scanned;	/* file size the index covers */
	uint64_t	 junk;		/* bytes before the first From_ */
	struct mail_msg	*msgs;
	struct mbox_meta *meta;
	uint32_t	 count;
	uint32_t	 cap;
	uint64_t	 octets;
	uint32_t	 cache_count;	/* records the cache file holds */
	int		 imapbase;	/* the first message's X-IMAPbase: */
	uint32_t	 uidvalidity, uidnext;
	struct mbox_old	*old;		/* UIDLs to give again */
	uint32_t	 old_count;
	int		 old_legacy;	/* keyed by the old digest */
};

enum mail_err mbox_open(struct mbox *, const char *path,
	    const struct mbox_opts *);
/* Check that message idx is still where the index says (its From_
 * line); 0 or -1 (the file was changed by someone else). */
int	mbox_check_msg(struct mbox *, uint32_t idx);
/* Rewrite the mbox without the deleted messages.  Returns MAIL_OK and
 * the count removed, or MAIL_TEMP when nothing was deleted (the file
 * changed in a way that is not an append, a lock timed out, I/O). */
enum mail_err mbox_expunge(struct mbox *, uint32_t *removed_r);
void	mbox_close(struct mbox *);
/* popa3d's UIDL from a message's p3 digest (mbox_parse.h): 16 hex
 * digits and a NUL into u. */
void	mbox_popa3d_uidl(const unsigned char *p3, char *u);

/* Internal, shared by mbox.c, mbox_cache.c and mbox_expunge.c. */
/* A message found (uidl NULL) or from the cache (its UIDL). */
int	mbox_add(struct mbox *, const struct mbox_found *, const char *uidl);
/* The UIDL an older privpop gave: hex digest, "-N" for copy dup + 1. */
void	mbox_legacy_uidl(const unsigned char *digest, uint32_t dup, char *u,
	    size_t ulen);
/* Give every message without one its UIDL (see above); 0 or -1. */
int	mbox_assign_uidls(struct mbox *);
int	mbox_index_file(const struct mbox *, const char *suffix, char *out,
	    size_t outlen);
/* The same file's name in idxfd. */
int	mbox_index_name(const struct mbox *, const char *suffix, char *out,
	    size_t outlen);
int	mbox_cache_load(struct mbox *, const struct stat *);
void	mbox_cache_save(struct mbox *);
int	mbox_journal_recover(struct mbox *);

#endif
