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
 * - UIDL: MD5 of the From_ line and the header block, in hex, with "-N"
 *   for the Nth identical copy.  The cache keeps them, so every message
 *   keeps its UIDL across sessions, deletions and deliveries.
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
};

/* Per message, beside struct mail_msg. */
struct mbox_meta {
	uint64_t	 from_off;
	unsigned char	 digest[MBOX_DIGEST_LEN];
	uint32_t	 dup;		/* 0 for the first copy */
};

struct mbox {
	char		 path[MAIL_MAX_PATH];
	char		 index[MAIL_MAX_PATH];	/* path prefix of our files */
	const char	*idxname;	/* its last part: the name in idxfd */
	const char	*base;		/* the mbox's name in dirfd */
	int		 dirfd;		/* the mbox's directory */
	int		 idxfd;		/* the index directory */
	struct mbox_opts opts;
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

/* Internal, shared by mbox.c, mbox_cache.c and mbox_expunge.c. */
int	mbox_add(struct mbox *, const struct mbox_found *, uint32_t dup);
void	mbox_uidl(struct mbox *, uint32_t idx);
int	mbox_index_file(const struct mbox *, const char *suffix, char *out,
	    size_t outlen);
/* The same file's name in idxfd. */
int	mbox_index_name(const struct mbox *, const char *suffix, char *out,
	    size_t outlen);
int	mbox_cache_load(struct mbox *, const struct stat *);
void	mbox_cache_save(struct mbox *);
int	mbox_journal_recover(struct mbox *);

#endif
