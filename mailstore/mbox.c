/*
 * Runs as the mailbox owner (never root): privpop-store.
 *
 * Runs as: mailbox owner (privpop-store).
 */
#include "config.h"

#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "digest.h"
#include "fsutil.h"
#include "log.h"
#include "mailerr.h"
#include "mbox.h"
#include "mbox_lock.h"

/* Read size while scanning. */
#define MBOX_SCAN_CHUNK	(256 * 1024)

/* ------------------------------------------------------------------ */
/* Identical copies: digest -> copies seen, for the "-N" of the UIDL. */

struct dup_slot {
	unsigned char	 digest[MBOX_DIGEST_LEN];
	uint32_t	 next;		/* dup number for the next copy */
	int		 used;
};

struct dup_table {
	struct dup_slot	*slots;
	size_t		 cap, used;
};

static uint64_t
dup_hash(const unsigned char *d)
{
	uint64_t h;

	memcpy(&h, d, sizeof(h));
	return h;
}

/* An empty table with room for n copies without growing. */
static int
dup_init(struct dup_table *t, size_t n)
{
	t->used = 0;
	for (t->cap = 1024; t->cap < 2 * n + 2; t->cap *= 2)
		;
	return (t->slots = calloc(t->cap, sizeof(*t->slots))) == NULL ? -1 : 0;
}

/* Record a copy with dup number d (d == UINT32_MAX: assign the next).
 * Returns the dup number, or UINT32_MAX when the table is full. */
static uint32_t
dup_note(struct dup_table *t, const unsigned char *digest, uint32_t d)
{
	size_t j;

	if ((t->used + 1) * 2 > t->cap)
		return UINT32_MAX;	/* dup_init sized it: cannot happen */
	j = dup_hash(digest) & (t->cap - 1);
	while (t->slots[j].used &&
	    memcmp(t->slots[j].digest, digest, MBOX_DIGEST_LEN) != 0)
		j = (j + 1) & (t->cap - 1);
	if (!t->slots[j].used) {
		memcpy(t->slots[j].digest, digest, MBOX_DIGEST_LEN);
		t->slots[j].used = 1;
		t->slots[j].next = 0;
		t->used++;
	}
	if (d == UINT32_MAX)
		d = t->slots[j].next;
	if (d >= t->slots[j].next)
		t->slots[j].next = d + 1;
	return d;
}

/* ------------------------------------------------------------------ */

int
mbox_add(struct mbox *mb, const struct mbox_found *f, uint32_t dup)
{
	struct mail_msg *m;

	if (mb->count >= MAIL_MAX_MESSAGES)
		return -1;
	if (mb->count == mb->cap) {
		uint32_t ncap = mb->cap ? mb->cap * 2 : 256;
		void *a = reallocarray(mb->msgs, ncap, sizeof(*mb->msgs));
		void *b;

		if (a == NULL)
			return -1;
		mb->msgs = a;
		if ((b = reallocarray(mb->meta, ncap, sizeof(*mb->meta))) ==
		    NULL)
			return -1;
		mb->meta = b;
		mb->cap = ncap;
	}
	m = &mb->msgs[mb->count];
	memset(m, 0, sizeof(*m));
	m->start = f->start;
	m->end = f->end;
	m->size = f->size;
	mb->meta[mb->count].from_off = f->from_off;
	memcpy(mb->meta[mb->count].digest, f->digest, MBOX_DIGEST_LEN);
	mb->meta[mb->count].dup = dup;
	mb->count++;
	return 0;
}

void
mbox_uidl(struct mbox *mb, uint32_t idx)
{
	static const char hex[] = "0123456789abcdef";
	const struct mbox_meta *mt = &mb->meta[idx];
	char *u = mb->msgs[idx].uidl;
	int i, o = 0;

	/* 100,000 of these at every login: no printf per byte */
	for (i = 0; i < MBOX_DIGEST_LEN; i++) {
		u[o++] = hex[mt->digest[i] >> 4];
		u[o++] = hex[mt->digest[i] & 0xf];
	}
	u[o] = '\0';
	if (mt->dup > 0)
		snprintf(u + o, sizeof(mb->msgs[idx].uidl) - (size_t)o, "-%u",
		    mt->dup + 1);
}

int
mbox_index_file(const struct mbox *mb, const char *suffix, char *out,
    size_t outlen)
{
	int n = snprintf(out, outlen, "%s%s", mb->index, suffix);

	return (n < 0 || (size_t)n >= outlen) ? -1 : 0;
}

int
mbox_index_name(const struct mbox *mb, const char *suffix, char *out,
    size_t outlen)
{
	int n = snprintf(out, outlen, "%s%s", mb->idxname, suffix);

	return (n < 0 || (size_t)n >= outlen) ? -1 : 0;
}

/* The mbox's directory (dirfd) and the index directory (idxfd, with
 * the prefix of the index files' names in it); -1 when the mbox's
 * directory cannot be reached safely. */
static int
open_dirs(struct mbox *mb)
{
	unsigned char md[MD5_DIGEST_LENGTH];
	char dir[MAIL_MAX_PATH], hex[17];
	int i;

	mb->base = strrchr(mb->path, '/') + 1;
	snprintf(dir, sizeof(dir), "%.*s", (int)(mb->base - mb->path),
	    mb->path);
	if ((mb->dirfd = fs_open_dir(dir, 0, 0)) == -1)
		return -1;
	if (mb->opts.index_dir[0] != '\0' &&
	    (mb->idxfd = fs_open_dir(mb->opts.index_dir, 1, 0700)) != -1) {
		md5_once(mb->path, strlen(mb->path), md);
		for (i = 0; i < 8; i++)
			snprintf(hex + 2 * i, 3, "%02x", md[i]);
		if (snprintf(mb->index, sizeof(mb->index), "%s/mbox-%s",
		    mb->opts.index_dir, hex) < (int)sizeof(mb->index)) {
			mb->idxname = strrchr(mb->index, '/') + 1;
			return 0;
		}
		close(mb->idxfd);
	}
	/* beside the mbox: DIR/.NAME.privpop */
	if ((mb->idxfd = dup(mb->dirfd)) == -1)
		return -1;
	if (snprintf(mb->index, sizeof(mb->index), "%s.%s.privpop", dir,
	    mb->base) >= (int)sizeof(mb->index)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	mb->idxname = strrchr(mb->index, '/') + 1;
	return 0;
}

struct scan_ctx {
	struct mbox		*mb;
	const struct mbox_meta	*again;	/* the cached last message, or NULL */
};

/* A message found: its copy number is given later (number_copies),
 * once the table can be sized for all of them. */
static int
scan_found(void *arg, const struct mbox_found *f)
{
	struct scan_ctx *c = arg;
	uint32_t d = UINT32_MAX;

	/* the last message, scanned again because the file grew, keeps
	 * its copy number (and so its UIDL) */
	if (c->again != NULL && f->from_off == c->again->from_off &&
	    memcmp(f->digest, c->again->digest, MBOX_DIGEST_LEN) == 0)
		d = c->again->dup;
	return mbox_add(c->mb, f, d);
}

/* Number identical copies in message order: a copy whose number is
 * known (from the cache, or the rescanned last message) keeps it, any
 * other takes its digest's next.  One table of the final size, filled
 * after the scan: no rehashing, and no random access into it between
 * the reads of a 100,000-message scan. */
static int
number_copies(struct mbox *mb)
{
	struct dup_table t;
	uint32_t i;
	int r = 0;

	if (dup_init(&t, mb->count) == -1)
		return -1;
	for (i = 0; i < mb->count && r == 0; i++)
		if ((mb->meta[i].dup = dup_note(&t, mb->meta[i].digest,
		    mb->meta[i].dup)) == UINT32_MAX)
			r = -1;
	free(t.slots);
	return r;
}

/* Scan the file from base (a From_ line or 0) to its end. */
static int
scan_from(struct mbox *mb, uint64_t base, uint64_t size,
    const struct mbox_meta *again)
{
	static unsigned char chunk[MBOX_SCAN_CHUNK];
	struct scan_ctx c = { mb, again };
	struct mbox_scan s;
	uint64_t off = base;
	int r = 0;

	if (mbox_scan_init(&s, base, scan_found, &c) == -1)
		return -1;
	while (off < size) {
		size_t want = size - off > sizeof(chunk) ? sizeof(chunk) :
		    (size_t)(size - off);
		ssize_t n = pread(mb->fd, chunk, want, (off_t)off);

		if (n <= 0) {
			if (n == -1 && errno == EINTR)
				continue;
			r = -1;
			break;
		}
		if (mbox_scan_feed(&s, chunk, (size_t)n) == -1) {
			r = -1;
			break;
		}
		off += (uint64_t)n;
	}
	if (r == 0 && mbox_scan_finish(&s) == -1)
		r = -1;
	if (base == 0)
		mb->junk = s.junk;
	mbox_scan_free(&s);
	mb->scanned = off;
	return r;
}

enum mail_err
mbox_open(struct mbox *mb, const char *path, const struct mbox_opts *o)
{
	struct mbox_lock lk;
	struct stat st;
	char lockfile[MAIL_MAX_PATH], lockname[MAIL_MAX_PATH];
	enum mail_err e = MAIL_TEMP;
	enum mbox_lock_err le;
	struct mbox_meta again;
	uint64_t base = 0;
	uint32_t i;
	int rescan = 0;

	memset(mb, 0, sizeof(*mb));
	mb->fd = mb->sessfd = mb->dirfd = mb->idxfd = -1;
	mb->opts = *o;
	if (path[0] != '/' || snprintf(mb->path, sizeof(mb->path), "%s",
	    path) >= (int)sizeof(mb->path))
		return MAIL_PERM;
	if (open_dirs(mb) == -1) {
		log_warn("mbox %s: directory", path);
		return errno == ELOOP || errno == ENOTDIR ? MAIL_PERM :
		    MAIL_TEMP;
	}

	/* [IN-USE]: one POP3 session at a time, for the whole session */
	if (mbox_index_file(mb, ".lock", lockfile, sizeof(lockfile)) == -1 ||
	    mbox_index_name(mb, ".lock", lockname, sizeof(lockname)) == -1) {
		log_warnx("mbox %s: path too long", path);
		return MAIL_PERM;
	}
	if ((mb->sessfd = fs_openat(mb->idxfd, lockname, O_RDWR | O_CREAT,
	    0600, FS_ONE_LINK)) == -1)
		return mail_os_error("mbox", lockfile, errno);
	if (flock(mb->sessfd, LOCK_EX | LOCK_NB) == -1)
		return errno == EWOULDBLOCK ? MAIL_INUSE : MAIL_TEMP;

	/* the worker may hold the group mail: a hard link to another
	 * user's spool, or anything but our own regular file, is refused */
	if ((mb->fd = fs_openat(mb->dirfd, mb->base, O_RDWR, 0,
	    FS_ONE_LINK)) == -1) {
		if (errno == ENOENT)
			return MAIL_OK;	/* no spool file yet: empty */
		return mail_os_error("mbox", path, errno);
	}
	if (fstat(mb->fd, &st) == -1)
		return MAIL_TEMP;
	mb->dev = st.st_dev;
	mb->ino = st.st_ino;

	le = mbox_lock(&lk, mb->dirfd, mb->base, mb->fd, o->locks,
	    o->lock_timeout, o->dotlock_stale);
	if (le != ML_OK) {
		if (le == ML_TIMEOUT)
			log_warnx("mbox %s: locked by another program for %ds",
			    path, o->lock_timeout);
		return MAIL_TEMP;
	}
	if (mbox_journal_recover(mb) == -1 || fstat(mb->fd, &st) == -1)
		goto out;
	/* the cache gives every message but the last; rescan from there */
	if (mbox_cache_load(mb, &st) == 0 && mb->count > 0) {
		/* the last message may have grown: it is scanned again
		 * (and numbered again among its identical copies) */
		if (mb->scanned != (uint64_t)st.st_size) {
			again = mb->meta[mb->count - 1];
			base = again.from_off;
			mb->count--;
			rescan = 1;
		}
		if (rescan && scan_from(mb, base, (uint64_t)st.st_size,
		    &again) == -1)
			goto scanfail;
	} else {
		mb->count = 0;
		if (scan_from(mb, 0, (uint64_t)st.st_size, NULL) == -1)
			goto scanfail;
	}
	if (number_copies(mb) == -1)
		goto out;
	if (mb->junk > 0)
		log_warnx("mbox %s: %llu bytes before the first From_ line "
		    "are not served", path, (unsigned long long)mb->junk);
	for (i = 0; i < mb->count; i++) {
		mbox_uidl(mb, i);
		mb->octets += mb->msgs[i].size;
	}
	if (mb->cache_count != mb->count || mb->scanned != (uint64_t)st.st_size)
		mbox_cache_save(mb);
	e = MAIL_OK;
	goto out;
scanfail:
	log_warn("mbox %s: scan", path);
out:
	mbox_unlock(&lk);
	return e;
}

int
mbox_check_msg(struct mbox *mb, uint32_t idx)
{
	char b[5];
	struct stat st;

	if (mb->fd == -1 ||
	    fstatat(mb->dirfd, mb->base, &st, AT_SYMLINK_NOFOLLOW) == -1 ||
	    st.st_dev != mb->dev ||
	    st.st_ino != mb->ino ||
	    pread(mb->fd, b, 5, (off_t)mb->meta[idx].from_off) != 5 ||
	    memcmp(b, "From ", 5) != 0)
		return -1;
	return 0;
}

void
mbox_close(struct mbox *mb)
{
	free(mb->msgs);
	free(mb->meta);
	mb->msgs = NULL;
	mb->meta = NULL;
	mb->count = mb->cap = 0;
	if (mb->fd != -1)
		close(mb->fd);
	if (mb->sessfd != -1)
		close(mb->sessfd);
	if (mb->dirfd != -1)
		close(mb->dirfd);
	if (mb->idxfd != -1)
		close(mb->idxfd);
	mb->fd = mb->sessfd = mb->dirfd = mb->idxfd = -1;
}
