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
#include "uidl.h"
#include "uidlfmt.h"

/* Read size while scanning. */
#define MBOX_SCAN_CHUNK	(256 * 1024)

/* ------------------------------------------------------------------ */
/* UIDLs: a set of those given, and the old cache's by key. */

struct uidl_set {
	uint32_t	*slot;		/* message index + 1; 0 free */
	size_t		 cap;
	const struct mail_msg *msgs;
};

static uint64_t
str_hash(const char *p)
{
	uint64_t h = 1469598103934665603ULL;	/* FNV-1a */

	while (*p != '\0')
		h = (h ^ (unsigned char)*p++) * 1099511628211ULL;
	return h;
}

static int
set_init(struct uidl_set *t, const struct mail_msg *msgs, size_t n)
{
	for (t->cap = 1024; t->cap < 2 * n + 2; t->cap *= 2)
		;
	t->msgs = msgs;
	return (t->slot = calloc(t->cap, sizeof(*t->slot))) == NULL ? -1 : 0;
}

/* Is u taken?  With add, take it for message idx when it is not. */
static int
set_has(struct uidl_set *t, const char *u, uint32_t idx, int add)
{
	size_t j = str_hash(u) & (t->cap - 1);

	while (t->slot[j] != 0) {
		if (strcmp(t->msgs[t->slot[j] - 1].uidl, u) == 0)
			return 1;
		j = (j + 1) & (t->cap - 1);
	}
	if (add)
		t->slot[j] = idx + 1;
	return 0;
}

static uint64_t
key_hash(const unsigned char *k)
{
	uint64_t h;

	memcpy(&h, k, sizeof(h));
	return h;
}

/* The first unused old message with key k, or NULL. */
static struct mbox_old *
old_find(struct mbox *mb, const uint32_t *heads, size_t cap,
    const unsigned char *k)
{
	size_t j = key_hash(k) & (cap - 1);
	uint32_t i;

	while (heads[j] != 0) {
		i = heads[j] - 1;
		if (memcmp(mb->old[i].key, k, MBOX_DIGEST_LEN) == 0) {
			for (; i != UINT32_MAX; i = mb->old[i].next)
				if (!mb->old[i].used)
					return &mb->old[i];
			return NULL;
		}
		j = (j + 1) & (cap - 1);
	}
	return NULL;
}

/* heads: key -> first old message with it; each links the next. */
static uint32_t *
old_index(struct mbox *mb, size_t *cap_r)
{
	uint32_t *heads, *tails, i;
	size_t cap, j;

	for (cap = 1024; cap < 2 * (size_t)mb->old_count + 2; cap *= 2)
		;
	heads = calloc(cap, sizeof(*heads));
	tails = calloc(cap, sizeof(*tails));
	if (heads == NULL || tails == NULL) {
		free(heads);
		free(tails);
		return NULL;
	}
	for (i = 0; i < mb->old_count; i++) {
		mb->old[i].next = UINT32_MAX;
		j = key_hash(mb->old[i].key) & (cap - 1);
		while (heads[j] != 0 && memcmp(mb->old[heads[j] - 1].key,
		    mb->old[i].key, MBOX_DIGEST_LEN) != 0)
			j = (j + 1) & (cap - 1);
		if (heads[j] == 0)
			heads[j] = i + 1;
		else
			mb->old[tails[j] - 1].next = i;
		tails[j] = i + 1;
	}
	free(tails);
	*cap_r = cap;
	return heads;
}

static void
hexstr(char *out, const unsigned char *d, const int *order, int n)
{
	static const char digits[] = "0123456789abcdef";
	int i;

	/* 100,000 of these at every login: no printf per byte */
	for (i = 0; i < n; i++) {
		unsigned char c = d[order != NULL ? order[i] : i];

		*out++ = digits[c >> 4];
		*out++ = digits[c & 0xf];
	}
	*out = '\0';
}

/* popa3d prints the first two 32-bit words of its MD5 as
 * little-endian numbers. */
void
mbox_popa3d_uidl(const unsigned char *p3, char *u)
{
	static const int popa3d[8] = { 3, 2, 1, 0, 7, 6, 5, 4 };

	hexstr(u, p3, popa3d, 8);
}

/* Dovecot's UIDL of a message with X-UID: (the first message's
 * X-IMAPbase: gave the UIDVALIDITY): 0, or -1 when the format needs
 * what an mbox message lacks or renders no valid UIDL. */
static int
xuid_uidl(const struct mbox *mb, const struct mbox_meta *mt, char *u,
    size_t usz)
{
	struct uidlfmt_vars v;

	memset(&v, 0, sizeof(v));	/* no file name, no GUID */
	v.uid = mt->xuid;
	v.uidvalidity = mb->uidvalidity;
	if (uidlfmt_render(mb->uidl_format, &v, u, usz) == -1 ||
	    !uidl_valid(u, strlen(u))) {
		u[0] = '\0';
		return -1;
	}
	return 0;
}

/* The UIDL privpop computes (rule 4 in mbox.h). */
static void
computed_uidl(const struct mbox_meta *mt, char *u)
{
	if (mt->flags & MBOX_F_P3)
		mbox_popa3d_uidl(mt->p3, u);
	else
		hexstr(u, mt->key, NULL, MBOX_DIGEST_LEN);
}

void
mbox_legacy_uidl(const unsigned char *digest, uint32_t dup, char *u,
    size_t ulen)
{
	hexstr(u, digest, NULL, MBOX_DIGEST_LEN);
	if (dup > 0)
		snprintf(u + 2 * MBOX_DIGEST_LEN, ulen - 2 * MBOX_DIGEST_LEN,
		    "-%u", dup + 1);
}

int
mbox_assign_uidls(struct mbox *mb)
{
	struct uidl_set set;
	uint32_t *heads = NULL, i;
	size_t hcap = 0;

	if (set_init(&set, mb->msgs, mb->count) == -1)
		return -1;
	if (mb->old_count > 0 && (heads = old_index(mb, &hcap)) == NULL) {
		free(set.slot);
		return -1;
	}
	/* the cached ones, then those an old cache knew */
	for (i = 0; i < mb->count; i++) {
		struct mbox_meta *mt = &mb->meta[i];
		struct mbox_old *o;

		if (mt->flags & MBOX_M_UIDL) {
			(void)set_has(&set, mb->msgs[i].uidl, i, 1);
			continue;
		}
		if (heads == NULL || (o = old_find(mb, heads, hcap,
		    mb->old_legacy ? mt->digest : mt->key)) == NULL ||
		    set_has(&set, o->uidl, i, 0))
			continue;
		o->used = 1;
		memcpy(mb->msgs[i].uidl, o->uidl, sizeof(o->uidl));
		mt->flags |= MBOX_M_UIDL;
		(void)set_has(&set, mb->msgs[i].uidl, i, 1);
	}
	free(heads);
	/* then each new one, in order: the first rule whose UIDL is free */
	for (i = 0; i < mb->count; i++) {
		struct mbox_meta *mt = &mb->meta[i];
		char *dst = mb->msgs[i].uidl;
		size_t n;
		unsigned int k;

		if (mt->flags & MBOX_M_UIDL)
			continue;
		mt->flags |= MBOX_M_UIDL;
		if ((mt->flags & MBOX_F_XUIDL) && !set_has(&set, dst, i, 1))
			continue;
		/* X-IMAPbase's second number is the last UID given (what
		 * Dovecot and UW-IMAP write), so X-UID may equal it; the
		 * UIDL is what Dovecot's pop3_uidl_format made of them (a
		 * format with %f or %g cannot be rendered for an mbox) */
		if ((mt->flags & MBOX_F_XUID) && mb->imapbase &&
		    mt->xuid <= mb->uidnext && xuid_uidl(mb, mt, dst,
		    sizeof(mb->msgs[i].uidl)) == 0 &&
		    !set_has(&set, dst, i, 1))
			continue;
		/* a copy: "-N", from 2; while a "-2" copy is left, the
		 * plain UIDL (its deleted first copy's) is not given again */
		computed_uidl(mt, dst);
		n = strlen(dst);
		snprintf(dst + n, sizeof(mb->msgs[i].uidl) - n, "-2");
		k = set_has(&set, dst, i, 0) ? 3 : 2;
		dst[n] = '\0';
		if (k == 3 || set_has(&set, dst, i, 1))
			for (;; k++) {
				snprintf(dst + n, sizeof(mb->msgs[i].uidl) - n,
				    "-%u", k);
				if (!set_has(&set, dst, i, 1))
					break;
			}
	}
	free(set.slot);
	return 0;
}

/* ------------------------------------------------------------------ */

int
mbox_add(struct mbox *mb, const struct mbox_found *f, const char *uidl)
{
	struct mail_msg *m;
	struct mbox_meta *mt;

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
	mt = &mb->meta[mb->count];
	memset(m, 0, sizeof(*m));
	memset(mt, 0, sizeof(*mt));
	m->start = f->start;
	m->end = f->end;
	m->size = f->size;
	mt->from_off = f->from_off;
	memcpy(mt->key, f->key, MBOX_DIGEST_LEN);
	memcpy(mt->digest, f->digest, MBOX_DIGEST_LEN);
	if (uidl != NULL) {
		snprintf(m->uidl, sizeof(m->uidl), "%s", uidl);
		mt->flags = MBOX_M_UIDL;
	} else {
		memcpy(mt->p3, f->p3, MBOX_DIGEST_LEN);
		mt->flags = f->flags & (MBOX_F_P3 | MBOX_F_XUIDL | MBOX_F_XUID);
		mt->xuid = f->xuid;
		if (f->flags & MBOX_F_XUIDL)
			snprintf(m->uidl, sizeof(m->uidl), "%s", f->xuidl);
		/* Dovecot keeps X-IMAPbase: in the first message only */
		if (mb->count == 0 && (f->flags & MBOX_F_IMAPBASE)) {
			mb->imapbase = 1;
			mb->uidvalidity = f->uidvalidity;
			mb->uidnext = f->uidnext;
		}
	}
	mb->count++;
	return 0;
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

/* A message found: its UIDL is given after the scan. */
static int
scan_found(void *arg, const struct mbox_found *f)
{
	return mbox_add(arg, f, NULL);
}

/* Scan the file from base (a From_ line or 0) to its end. */
static int
scan_from(struct mbox *mb, uint64_t base, uint64_t size)
{
	static unsigned char chunk[MBOX_SCAN_CHUNK];
	struct mbox_scan s;
	uint64_t off = base;
	int r = 0;

	if (mbox_scan_init(&s, base, scan_found, mb) == -1)
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
	uint32_t i;

	memset(mb, 0, sizeof(*mb));
	mb->fd = mb->sessfd = mb->dirfd = mb->idxfd = -1;
	mb->opts = *o;
	/* the caller's string need not outlive this call */
	if (snprintf(mb->uidl_format, sizeof(mb->uidl_format), "%s",
	    o->uidl_format != NULL ? o->uidl_format : UIDLFMT_DEFAULT) >=
	    (int)sizeof(mb->uidl_format))
		return MAIL_PERM;
	mb->opts.uidl_format = mb->uidl_format;
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
		/* the last message may have grown: it is scanned again,
		 * and gets its UIDL back by its key */
		if (mb->scanned != (uint64_t)st.st_size) {
			struct mbox_old *o;

			free(mb->old);
			if ((mb->old = o = calloc(1, sizeof(*o))) == NULL)
				goto out;
			mb->old_count = 1;
			mb->old_legacy = 0;
			mb->count--;
			memcpy(o->key, mb->meta[mb->count].key,
			    MBOX_DIGEST_LEN);
			memcpy(o->uidl, mb->msgs[mb->count].uidl,
			    sizeof(o->uidl));
			if (scan_from(mb, mb->meta[mb->count].from_off,
			    (uint64_t)st.st_size) == -1)
				goto scanfail;
		}
	} else {
		/* no cache, or one of another file (rewritten by a mail
		 * reader, or by an older privpop): its UIDLs in mb->old */
		mb->count = 0;
		mb->imapbase = 0;
		if (scan_from(mb, 0, (uint64_t)st.st_size) == -1)
			goto scanfail;
	}
	if (mbox_assign_uidls(mb) == -1)
		goto out;
	free(mb->old);
	mb->old = NULL;
	mb->old_count = 0;
	if (mb->junk > 0)
		log_warnx("mbox %s: %llu bytes before the first From_ line "
		    "are not served", path, (unsigned long long)mb->junk);
	for (i = 0; i < mb->count; i++)
		mb->octets += mb->msgs[i].size;
	if (!o->no_cache_write && (mb->cache_count != mb->count ||
	    mb->scanned != (uint64_t)st.st_size))
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
	free(mb->old);
	mb->old = NULL;
	mb->old_count = 0;
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
