/*
 * Runs as the mailbox owner (never root): privpop-store.
 *
 * Runs as: mailbox owner (privpop-store).
 */
#include "config.h"

#include <sys/file.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "digest.h"
#include "fsutil.h"
#include "log.h"
#include "maildir.h"
#include "mailerr.h"
#include "maildir_cache.h"
#include "maildir_listing.h"
#include "maildir_uidmap.h"
#include "numparse.h"
#include "uidlfmt.h"
#include "wire.h"

static int relocate(struct maildir *, struct mail_msg *);
static void journal_replay(struct maildir *, const char *);

static int
uidl_char_ok(unsigned char ch)
{
	return ch >= 0x21 && ch <= 0x7e;
}

/* A UIDL for a unique part that cannot be one itself: hex of its
 * SHA-256, cut to 40 characters (still unique for any real mailbox). */
static void
uidl_hash(const char *p, size_t n, char *uidl, size_t uidlsz)
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	unsigned int mdlen = sizeof(md), i;
	size_t o = 0;

	sha256_once(p, n, md);
	for (i = 0; i < mdlen && o + 2 < uidlsz && o < 40; i++, o += 2)
		snprintf(uidl + o, 3, "%02x", md[i]);
	uidl[o] = '\0';
}

int
maildir_parse_name(const char *name, char *uidl, size_t uidlsz,
    uint64_t *wsize_r)
{
	const char *colon, *f;
	size_t ulen, i;
	int ok = 1;

	*wsize_r = UINT64_MAX;
	if (name[0] == '.' || name[0] == '\0')
		return -1;
	colon = strchr(name, ':');
	ulen = colon ? (size_t)(colon - name) : strlen(name);
	if (ulen == 0)
		return -1;
	if (ulen > POP3_MAX_UIDL || ulen >= uidlsz)
		ok = 0;
	for (i = 0; ok && i < ulen; i++)
		if (!uidl_char_ok((unsigned char)name[i]))
			ok = 0;
	if (ok) {
		memcpy(uidl, name, ulen);
		uidl[ulen] = '\0';
	} else
		uidl_hash(name, ulen, uidl, uidlsz);

	/* ",W=<n>" inside the unique part: the size with CRLF line ends */
	for (f = name; (f = memchr(f, ',', ulen - (size_t)(f - name))) != NULL;
	    f++) {
		if (f[1] == 'W' && f[2] == '=') {
			const char *d = f + 3;
			size_t n = 0;
			uint64_t v;

			while (d + n < name + ulen && d[n] >= '0' && d[n] <= '9')
				n++;
			if (parse_uint(d, n, 0, UINT64_MAX / 2, &v) == 0)
				*wsize_r = v;
			break;
		}
	}
	return 0;
}

/* Names are "cur/..." or "new/...": the same length of prefix. */
#define SUBDIR_PREFIX	4

/*
 * Messages are numbered in the order of their names (base names, not
 * cur/ or new/), which for delivery agents' names is delivery order.
 * Names in one Maildir share a long prefix (the same decade of
 * seconds, often the same host), so sorting compares 8 bytes from the
 * end of the common prefix as one integer and falls back to strcmp
 * only on ties: the same order as strcmp, at a fraction of its cost.
 */
struct sort_ent {
	uint64_t	 key;
	const char	*name;	/* base name */
	uint32_t	 idx;
};

static int
sort_cmp(const void *a, const void *b)
{
	const struct sort_ent *x = a, *y = b;

	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return strcmp(x->name, y->name);
}

static int
sort_msgs(struct maildir *md)
{
	struct sort_ent *e;
	struct mail_msg tmp;
	const char *first;
	size_t common, i, k;

	if (md->count < 2)
		return 0;
	if ((e = reallocarray(NULL, md->count, sizeof(*e))) == NULL)
		return -1;
	first = md->msgs[0].name + SUBDIR_PREFIX;
	common = strlen(first);
	for (i = 1; i < md->count && common > 0; i++) {
		const char *n = md->msgs[i].name + SUBDIR_PREFIX;

		for (k = 0; k < common && n[k] == first[k]; k++)
			;
		common = k;
	}
	for (i = 0; i < md->count; i++) {
		const char *n = md->msgs[i].name + SUBDIR_PREFIX + common;
		uint64_t key = 0;

		/* big-endian, NUL-padded: integer order is byte order */
		for (k = 0; k < 8; k++) {
			key = key << 8 | (unsigned char)*n;
			if (*n != '\0')
				n++;
		}
		e[i].key = key;
		e[i].name = md->msgs[i].name + SUBDIR_PREFIX;
		e[i].idx = (uint32_t)i;
	}
	qsort(e, md->count, sizeof(*e), sort_cmp);
	/* Put msgs in that order in place, cycle by cycle (no second
	 * array of the messages): position i takes message e[i].idx. */
	for (i = 0; i < md->count; i++) {
		size_t j, next;

		if (e[i].idx == UINT32_MAX || e[i].idx == i)
			continue;
		tmp = md->msgs[i];
		for (j = i; (next = e[j].idx) != i; j = next) {
			md->msgs[j] = md->msgs[next];
			e[j].idx = UINT32_MAX;
		}
		md->msgs[j] = tmp;
		e[j].idx = UINT32_MAX;
	}
	free(e);
	return 0;
}

/* The directory of "cur/..." or "new/..." (held open since the scan:
 * a cur/ or new/ replaced by a symlink later is not followed), and the
 * base name in *base_r. */
static int
subdir_fd(const struct maildir *md, const char *name, const char **base_r)
{
	*base_r = name + SUBDIR_PREFIX;
	return name[0] == 'c' ? md->curfd : md->newfd;
}

/* Open a message: a regular file of the owner's (a FIFO, device or
 * directory, or another user's file linked in, is refused), not through
 * a symlink, never blocking.  Hard links are allowed: backups link
 * messages, and only our own files pass.  O_NOATIME: counting is not
 * reading the mail (the kernel allows it to the owner); a first scan of
 * 100,000 messages would otherwise dirty 100,000 inodes.  fd or -1. */
static int
open_msg_file(const struct maildir *md, const char *name, int noatime)
{
	const char *base;
	int dfd = subdir_fd(md, name, &base);
	int fd;

	fd = fs_openat(dfd, base, O_RDONLY | (noatime ? O_NOATIME : 0), 0,
	    0);
	if (fd == -1 && errno == EPERM && noatime)	/* not ours */
		log_warnx("maildir: %s is not the mailbox owner's; refused",
		    name);
	return fd;
}

/* The POP3 size of an open file by reading it through the encoder's
 * counter; closes fd.  A short read of a regular file is its end: that
 * saves the read that returns 0. */
static int
size_of_fd(int fd, uint64_t *size_r)
{
	unsigned char chunk[WIRE_READ_CHUNK];
	struct wire_enc w;
	ssize_t n;

	wire_init(&w, WIRE_ALL_LINES);
	while ((n = read(fd, chunk, sizeof(chunk))) > 0) {
		wire_encode(&w, chunk, (size_t)n, NULL);
		if ((size_t)n < sizeof(chunk))
			break;
	}
	close(fd);
	if (n == -1)
		return -1;
	wire_finish(&w, NULL);
	*size_r = w.octets;
	return 0;
}

/* Room for mail delivered since the cache was written. */
#define CAP_SLACK	64

/* Size not known yet: no ",W=" in the name (see fill_sizes). */
#define SIZE_UNKNOWN	UINT64_MAX

/* Add the message "cur/<name>" or "new/<name>" (rlen bytes): 0, 1 when
 * the name is not a message's, -1 on error. */
static int
add_msg(struct maildir *md, size_t *cap, const char *rel, size_t rlen)
{
	struct mail_msg *m;
	uint64_t wsize;

	if (md->count == *cap) {
		size_t ncap = *cap ? *cap * 2 : 64;
		void *p = reallocarray(md->msgs, ncap, sizeof(*m));

		if (p == NULL)
			return -1;
		md->msgs = p;
		*cap = ncap;
	}
	m = &md->msgs[md->count];
	memset(m, 0, sizeof(*m));
	if (maildir_parse_name(rel + SUBDIR_PREFIX, m->uidl, sizeof(m->uidl),
	    &wsize) == -1)
		return 1;
	m->size = wsize;	/* or SIZE_UNKNOWN */
	m->size_in_name = wsize != SIZE_UNKNOWN;
	if ((m->name = malloc(rlen + 1)) == NULL)
		return -1;
	memcpy(m->name, rel, rlen + 1);
	md->count++;
	return 0;
}

static int
scan_subdir(struct maildir *md, const char *sub, size_t *cap)
{
	DIR *d;
	struct dirent *de;
	const char *base;
	int fd;

	if ((fd = openat(subdir_fd(md, sub, &base), ".", O_RDONLY |
	    O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		char rel[MAIL_MAX_PATH];
		size_t nlen;

		if (de->d_type != DT_REG && de->d_type != DT_UNKNOWN)
			continue;
		if (md->count >= MAIL_MAX_MESSAGES) {
			log_warnx("maildir: more than %d messages, rest ignored",
			    MAIL_MAX_MESSAGES);
			break;
		}
		if ((nlen = strlen(de->d_name)) >= sizeof(rel) - SUBDIR_PREFIX)
			continue;
		memcpy(rel, sub, 3);
		rel[3] = '/';
		memcpy(rel + SUBDIR_PREFIX, de->d_name, nlen + 1);
		if (add_msg(md, cap, rel, SUBDIR_PREFIX + nlen) == -1)
			goto fail;
	}
	closedir(d);
	return 0;
fail:
	closedir(d);
	return -1;
}

/* The messages of a listing snapshot, already in message order: -1
 * (with nothing added) when a name is not a message's. */
static int
from_listing(struct maildir *md, const struct mdlist *l, size_t *cap)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (add_msg(md, cap, l->names[i], strlen(l->names[i])) != 0)
			goto undo;
	return 0;
undo:
	while (md->count > 0)
		free(md->msgs[--md->count].name);
	return -1;
}

/* Files opened ahead of the one being counted, their reads started: a
 * first scan of a mailbox that is not in the page cache then waits for
 * the disk about once per window, not once per file.  Within the
 * worker's descriptor limit (STORE_RLIMIT_NOFILE). */
#define SCAN_AHEAD	12

/* Sizes in message order, which is the cache's order too: most lookups
 * are the cache's next line.  The files the cache does not know are then
 * read, SCAN_AHEAD at a time in flight.  A message whose file vanished
 * meanwhile is dropped. */
static void
fill_sizes(struct maildir *md, struct mdcache *cache)
{
	int ring[SCAN_AHEAD];
	uint32_t i, o = 0, ahead = 0;
	size_t head = 0, queued = 0;

	for (i = 0; i < md->count; i++) {
		struct mail_msg *m = &md->msgs[i];

		/* a miss leaves the size unknown: read below */
		if (m->size == SIZE_UNKNOWN &&
		    mdcache_lookup(cache, m->uidl, &m->size) == -1)
			md->cache_stale = 1;
	}
	for (i = 0; i < md->count; i++) {
		struct mail_msg *m = &md->msgs[i];
		int fd;

		if (m->size != SIZE_UNKNOWN) {
			md->msgs[o++] = *m;
			continue;
		}
		/* open (and start reading) the next unknown ones, this one
		 * first */
		if (ahead <= i)
			ahead = i;
		while (queued < SCAN_AHEAD && ahead < md->count) {
			struct mail_msg *a = &md->msgs[ahead++];

			if (a->size != SIZE_UNKNOWN)
				continue;
			fd = open_msg_file(md, a->name, 1);
			if (fd != -1)
				(void)posix_fadvise(fd, 0, 0,
				    POSIX_FADV_WILLNEED);
			ring[(head + queued++) % SCAN_AHEAD] = fd;
		}
		fd = ring[head];
		head = (head + 1) % SCAN_AHEAD;
		queued--;
		/* not opened ahead (gone, or out of descriptors): now */
		if (fd == -1)
			fd = open_msg_file(md, m->name, 1);
		if (fd == -1 || size_of_fd(fd, &m->size) == -1) {
			free(m->name);	/* vanished or unreadable */
			continue;
		}
		md->msgs[o++] = *m;
	}
	md->count = o;
}

static int
ensure_subdirs(struct maildir *md)
{
	static const char *const subs[] = { "cur", "new", "tmp" };
	size_t i;

	for (i = 0; i < 3; i++)
		if (mkdirat(md->dirfd, subs[i], 0700) == -1 && errno != EEXIST)
			return -1;
	/* a symlink here is not followed (ELOOP or ENOTDIR) */
	if ((md->curfd = openat(md->dirfd, "cur", O_RDONLY | O_DIRECTORY |
	    O_NOFOLLOW | O_CLOEXEC)) == -1 ||
	    (md->newfd = openat(md->dirfd, "new", O_RDONLY | O_DIRECTORY |
	    O_NOFOLLOW | O_CLOEXEC)) == -1)
		return -1;
	return 0;
}

/* The unique part of message m's name (up to ':'), or NULL when it
 * does not fit. */
static const char *
unique_part(const struct mail_msg *m, char *buf, size_t bufsz)
{
	const char *base = m->name + SUBDIR_PREFIX;
	size_t n = strcspn(base, ":");

	if (n >= bufsz)
		return NULL;
	memcpy(buf, base, n);
	buf[n] = '\0';
	return buf;
}

/* privpop's own UIDL of m again (the one its name gives). */
static void
own_uidl(struct mail_msg *m)
{
	uint64_t w;

	(void)maildir_parse_name(m->name + SUBDIR_PREFIX, m->uidl,
	    sizeof(m->uidl), &w);
	m->uidl_migrated = 0;
}

static int
uidl_cmp(const void *a, const void *b)
{
	const struct mail_msg *x = *(const struct mail_msg *const *)a;
	const struct mail_msg *y = *(const struct mail_msg *const *)b;

	return strcmp(x->uidl, y->uidl);
}

/* UIDLs stay unique in the listing: a migrated UIDL that another
 * message also has goes back to privpop's own (which may collide in
 * turn: again, a few rounds, then every migrated one goes back).
 * Returns how many went back. */
static uint32_t
migrated_unique(struct maildir *md)
{
	struct mail_msg **v;
	uint32_t i, j, k, back = 0;
	int round, changed = 1;

	if ((v = reallocarray(NULL, md->count, sizeof(*v))) == NULL)
		goto all;
	for (round = 0; changed && round < 4; round++) {
		changed = 0;
		for (i = 0; i < md->count; i++)
			v[i] = &md->msgs[i];
		qsort(v, md->count, sizeof(*v), uidl_cmp);
		for (i = 0; i < md->count; i = j) {
			int mig = v[i]->uidl_migrated;

			for (j = i + 1; j < md->count &&
			    strcmp(v[i]->uidl, v[j]->uidl) == 0; j++)
				mig |= v[j]->uidl_migrated;
			if (j - i < 2 || !mig)
				continue;
			for (k = i; k < j; k++)
				if (v[k]->uidl_migrated) {
					own_uidl(v[k]);
					back++;
					changed = 1;
				}
		}
	}
	free(v);
	if (!changed)
		return back;
all:
	for (i = 0; i < md->count; i++)
		if (md->msgs[i].uidl_migrated) {
			own_uidl(&md->msgs[i]);
			back++;
		}
	return back;
}

/*
 * Another server's UIDLs for the messages its records cover: Dovecot's
 * dovecot-uidlist first (a Courier site moved to Dovecot had its
 * Courier UIDLs carried into P records), then Courier's
 * courierpop3dsizelist; privpop's own for the rest.  Read at every
 * open and never cached: the size cache stays keyed by privpop's own
 * UIDL (maildir_close puts it back before saving) and the listing
 * holds names only, so neither can make a migrated UIDL change; what
 * the old server told the clients wins for as long as its file is
 * there.
 */
static void
apply_uidmaps(struct maildir *md, const char *path, const char *fmt)
{
	struct uidmap dv, cr;
	char key[MAIL_MAX_PATH], u[POP3_MAX_UIDL + 1];
	uint32_t i, n = 0, back;
	int have_dv, have_cr;

	have_dv = uidmap_load(&dv, UIDMAP_DOVECOT, md->dirfd) == 0;
	have_cr = uidmap_load(&cr, UIDMAP_COURIER, md->dirfd) == 0;
	if (!have_dv && !have_cr)
		return;
	for (i = 0; i < md->count; i++) {
		struct mail_msg *m = &md->msgs[i];

		if (unique_part(m, key, sizeof(key)) == NULL)
			continue;
		if ((have_dv && uidmap_lookup(&dv, key, fmt, u,
		    sizeof(u)) == 0) || (have_cr && uidmap_lookup(&cr, key,
		    NULL, u, sizeof(u)) == 0)) {
			memcpy(m->uidl, u, strlen(u) + 1);
			m->uidl_migrated = 1;
			n++;
		}
	}
	uidmap_free(&dv);
	uidmap_free(&cr);
	back = n > 0 ? migrated_unique(md) : 0;
	if (back > 0)
		log_warnx("maildir %s: %u migrated UIDLs repeat another "
		    "message's; privpop's own served for those", path, back);
	log_debug("maildir %s: %u of %u UIDLs from %s%s%s", path, n - back,
	    md->count, have_dv ? UIDMAP_DOVECOT_FILE : "",
	    have_dv && have_cr ? " and " : "",
	    have_cr ? UIDMAP_COURIER_FILE : "");
}

/* This node's lock (test builds: a file ".privpop-test-no-flock" in
 * the Maildir skips it, so that e2e can show the lock file alone keeping
 * two nodes on one kernel apart). */
static int
maildir_flock(struct maildir *md)
{
#ifdef PRIVPOP_TEST_HOOKS
	struct stat st;

	if (fstatat(md->dirfd, ".privpop-test-no-flock", &st,
	    AT_SYMLINK_NOFOLLOW) == 0)
		return 0;
#endif
	return flock(md->lockfd, LOCK_EX | LOCK_NB);
}

int
maildir_lock_due(const struct maildir *md)
{
	return mdlock_next_refresh(&md->xlock);
}

int
maildir_lock_refresh(struct maildir *md)
{
	return mdlock_check(&md->xlock, 1);
}

enum mail_err
maildir_open(struct maildir *md, const char *path)
{
	return maildir_open_fmt(md, path, UIDLFMT_DEFAULT);
}

enum mail_err
maildir_open_fmt(struct maildir *md, const char *path, const char *fmt)
{
	struct mdcache cache;
	struct mdlist list;
	size_t cap = 0;
	enum mail_err e;
	uint32_t i;
	int have_dirs, listed = 0;

	memset(md, 0, sizeof(*md));
	md->dirfd = md->lockfd = md->curfd = md->newfd = -1;
	memset(&cache, 0, sizeof(cache));
	if ((md->dirfd = fs_open_dir(path, 1, 0700)) == -1 ||
	    ensure_subdirs(md) == -1 ||
	    (md->lockfd = fs_openat(md->dirfd, MAILDIR_POP3_LOCK,
	    O_RDWR | O_CREAT, 0600, FS_ONE_LINK)) == -1)
		return mail_os_error("maildir", path, errno);
	if (maildir_flock(md) == -1)
		return errno == EWOULDBLOCK ? MAIL_INUSE : MAIL_TEMP;
	/* other nodes on the same Maildir (maildir_lock.h) */
	if ((e = mdlock_acquire(&md->xlock, md->dirfd, path)) != MAIL_OK)
		return e;
	/* before anything is listed: a journal's messages are gone */
	journal_replay(md, path);
	/* the cache says about how many messages there are: one array of
	 * the right size instead of a chain of doublings */
	mdcache_load(&cache, md->dirfd);
	if (cache.n > 0 && cache.n < MAIL_MAX_MESSAGES &&
	    (md->msgs = reallocarray(NULL, cache.n + CAP_SLACK,
	    sizeof(*md->msgs))) != NULL)
		cap = cache.n + CAP_SLACK;
	/* cur/ and new/ unchanged since a settled full scan: its names,
	 * without reading the directories (stamped before, so a delivery
	 * during a scan makes the next one scan again) */
	have_dirs = mdlist_stat(md->dirfd, &md->dirs) == 0;
	if (have_dirs && mdlist_load(&list, md->dirfd, &md->dirs) == 0) {
		listed = from_listing(md, &list, &cap) == 0;
		mdlist_free(&list);
	}
	if (!listed && (scan_subdir(md, "cur", &cap) == -1 ||
	    scan_subdir(md, "new", &cap) == -1)) {
		e = mail_os_error("maildir", path, errno);
		mdcache_free(&cache);
		mdlock_release(&md->xlock);	/* other nodes need not wait */
		return e;
	}
	if (!listed && sort_msgs(md) == -1) {
		log_warn("maildir %s: sort", path);
		mdcache_free(&cache);
		mdlock_release(&md->xlock);
		return MAIL_TEMP;
	}
	md->listing_stale = !listed && have_dirs &&
	    mdlist_settled(&md->dirs, time(NULL));
	fill_sizes(md, &cache);
	/* entries of messages that are gone: save a smaller cache */
	if (cache.hits < cache.n)
		md->cache_stale = 1;
	mdcache_free(&cache);
	for (i = 0; i < md->count; i++)
		md->octets += md->msgs[i].size;
	apply_uidmaps(md, path, fmt);
	return MAIL_OK;
}

/* Find a message whose file was renamed since the scan: same unique part
 * in new/ or cur/. */
static int
relocate(struct maildir *md, struct mail_msg *m)
{
	static const char *const subs[] = { "cur", "new" };
	const char *base = strchr(m->name, '/') + 1;
	size_t ulen = strcspn(base, ":");
	size_t i;

	for (i = 0; i < 2; i++) {
		DIR *d;
		struct dirent *de;
		int fd = openat(i == 0 ? md->curfd : md->newfd, ".",
		    O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		if (fd == -1 || (d = fdopendir(fd)) == NULL) {
			if (fd != -1)
				close(fd);
			continue;
		}
		while ((de = readdir(d)) != NULL) {
			char rel[MAIL_MAX_PATH], *nn;

			if (strncmp(de->d_name, base, ulen) != 0 ||
			    (de->d_name[ulen] != '\0' &&
			    de->d_name[ulen] != ':'))
				continue;
			if (snprintf(rel, sizeof(rel), "%s/%s", subs[i],
			    de->d_name) >= (int)sizeof(rel) ||
			    (nn = strdup(rel)) == NULL)
				break;
			free(m->name);
			m->name = nn;
			closedir(d);
			return 0;
		}
		closedir(d);
	}
	return -1;
}

int
maildir_open_msg(struct maildir *md, uint32_t idx)
{
	struct mail_msg *m = &md->msgs[idx];
	int fd;

	fd = open_msg_file(md, m->name, 0);
	if (fd == -1 && errno == ENOENT && relocate(md, m) == 0)
		fd = open_msg_file(md, m->name, 0);
	return fd;
}

static int
unlink_msg(const struct maildir *md, const char *name)
{
	const char *base;
	int dfd = subdir_fd(md, name, &base);

	return unlinkat(dfd, base, 0);
}

/* Remove the message named name ("cur/x:2,S"), or the one its unique
 * part has become since (another client renamed it). */
static int
unlink_or_relocated(struct maildir *md, struct mail_msg *m)
{
	return unlink_msg(md, m->name) == 0 || (errno == ENOENT &&
	    relocate(md, m) == 0 && unlink_msg(md, m->name) == 0) ? 0 : -1;
}

/* What a journal line may name: "cur/" or "new/" and a file of that
 * directory (no '/', not a dot file), as maildir_open lists them. */
static int
journal_name_ok(const char *p, size_t n)
{
	if (n < 5 || n >= MAIL_MAX_PATH || (strncmp(p, "cur/", 4) != 0 &&
	    strncmp(p, "new/", 4) != 0) || p[4] == '.' ||
	    memchr(p + 4, '/', n - 4) != NULL || memchr(p, '\0', n) != NULL)
		return 0;
	return 1;
}

/* The journal of the expunge about to start: every message marked
 * deleted, one name a line, synced (file and directory) before the
 * first unlink.  0, or -1 (then the expunge goes on without one). */
static int
journal_write(struct maildir *md)
{
	char tmp[MAIL_MAX_PATH];
	const char *p;
	struct buf b;
	uint32_t i;
	size_t left;
	ssize_t w;
	int fd, ok;

	if (buf_init(&b, 4096, MAILDIR_JOURNAL_MAX) == -1)
		return -1;
	ok = buf_puts(&b, MAILDIR_JOURNAL_MAGIC) == 0;
	for (i = 0; ok && i < md->count; i++)
		if (md->msgs[i].deleted == 1 &&
		    strchr(md->msgs[i].name, '\n') == NULL)
			ok = buf_printf(&b, "%s\n", md->msgs[i].name) == 0;
	if (!ok || (fd = fs_create_tmp(md->dirfd, MAILDIR_EXPUNGE_JOURNAL,
	    tmp, sizeof(tmp))) == -1) {
		buf_free(&b);
		return -1;
	}
	for (p = (const char *)buf_ptr(&b), left = buf_used(&b); ok && left > 0;
	    ) {
		if ((w = write(fd, p, left)) > 0) {
			p += w;
			left -= (size_t)w;
		} else if (w == 0 || errno != EINTR)
			ok = 0;
	}
	buf_free(&b);
	if (!ok || fsync(fd) == -1 || close(fd) == -1 ||
	    renameat(md->dirfd, tmp, md->dirfd, MAILDIR_EXPUNGE_JOURNAL) ==
	    -1 || fsync(md->dirfd) == -1) {
		(void)unlinkat(md->dirfd, tmp, 0);
		return -1;
	}
	return 0;
}

/* At open, under the lock: an expunge was cut short; finish it.  The
 * journal is the owner's file like any other here (opened without
 * following a link, one link, regular), and a line can only name a
 * message file of cur/ or new/, which the owner may remove anyway. */
static void
journal_replay(struct maildir *md, const char *path)
{
	struct mail_msg m;
	size_t len, n;
	char *buf, *p, *end, *nl;
	uint32_t done = 0, gone = 0, bad = 0;

	if ((buf = fs_read_file(md->dirfd, MAILDIR_EXPUNGE_JOURNAL,
	    MAILDIR_JOURNAL_MAX, &len)) == NULL) {
		if (errno != ENOENT) {
			log_warnx("maildir %s: %s unusable; removed", path,
			    MAILDIR_EXPUNGE_JOURNAL);
			(void)unlinkat(md->dirfd, MAILDIR_EXPUNGE_JOURNAL, 0);
		}
		return;
	}
	end = buf + len;
	p = buf;
	if (len < strlen(MAILDIR_JOURNAL_MAGIC) || memcmp(buf,
	    MAILDIR_JOURNAL_MAGIC, strlen(MAILDIR_JOURNAL_MAGIC)) != 0)
		bad++, p = end;
	else
		p += strlen(MAILDIR_JOURNAL_MAGIC);
	for (; p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;	/* a last line cut short is still one */
		n = (size_t)(nl - p);
		if (!journal_name_ok(p, n)) {
			bad++;
			continue;
		}
		*nl = '\0';
		memset(&m, 0, sizeof(m));
		if ((m.name = strdup(p)) == NULL)
			break;
		if (unlink_or_relocated(md, &m) == 0)
			done++;
		else if (errno == ENOENT)
			gone++;		/* removed before the cut */
		else
			log_warn("maildir %s: expunge %s", path, m.name);
		free(m.name);
	}
	free(buf);
	log_info("maildir %s: finished an expunge that was cut short: %u "
	    "removed now, %u already gone%s", path, done, gone, bad ?
	    " (malformed lines ignored)" : "");
	if (unlinkat(md->dirfd, MAILDIR_EXPUNGE_JOURNAL, 0) == -1)
		log_warn("maildir %s: %s", path, MAILDIR_EXPUNGE_JOURNAL);
}

#ifdef PRIVPOP_TEST_HOOKS
/* Test builds only: with a file ".privpop-test-expunge-stall" in the
 * Maildir, an expunge stops for good halfway, for e2e to kill the
 * worker there. */
static void
test_stall(const struct maildir *md, uint32_t done, uint32_t total)
{
	int fd;

	/* (openat: the calls the worker's filter allows) */
	if (done != total / 2 || (fd = openat(md->dirfd,
	    ".privpop-test-expunge-stall", O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC)) == -1)
		return;
	close(fd);
	log_info("test hook: expunge stalled after %u of %u", done, total);
	for (;;)
		(void)poll(NULL, 0, -1);
}
#endif

uint32_t
maildir_expunge(struct maildir *md, uint32_t *failed_r)
{
	uint32_t i, done = 0, failed = 0, total = 0;
	int journaled;

	for (i = 0; i < md->count; i++)
		total += md->msgs[i].deleted == 1;
	*failed_r = 0;
	if (total == 0)
		return 0;
	/* the lock file still ours: no other node serves this mailbox */
	if (md->xlock.held && mdlock_check(&md->xlock, 0) == -1) {
		log_warnx("maildir: %s was taken over by another node: "
		    "nothing expunged", MDLOCK_FILE);
		*failed_r = total;
		return 0;
	}
	if (!(journaled = journal_write(md) == 0))
		log_warn("maildir: %s (an expunge cut short now would be "
		    "left half done)", MAILDIR_EXPUNGE_JOURNAL);
	for (i = 0; i < md->count; i++) {
		struct mail_msg *m = &md->msgs[i];

		if (!m->deleted)
			continue;
#ifdef PRIVPOP_TEST_HOOKS
		test_stall(md, done, total);
#endif
		if (unlink_or_relocated(md, m) == 0) {
			done++;
			m->deleted = MAIL_EXPUNGED;
			md->cache_stale = 1;
		}
		else {
			log_warn("expunge %s", m->name);
			failed++;
		}
	}
	/* what failed now (logged) is not retried at the next open */
	if (journaled && unlinkat(md->dirfd, MAILDIR_EXPUNGE_JOURNAL, 0) == -1)
		log_warn("maildir: %s", MAILDIR_EXPUNGE_JOURNAL);
	*failed_r = failed;
	return done;
}

void
maildir_close(struct maildir *md)
{
	uint32_t i;

	/* Saved while the lock is held; expunged messages are left out
	 * (messages only marked by DELE in a lost session stay). */
	/* the cache is keyed by privpop's own UIDLs (apply_uidmaps) */
	for (i = 0; md->cache_stale && i < md->count; i++)
		if (md->msgs[i].uidl_migrated)
			own_uidl(&md->msgs[i]);
	if (md->cache_stale && md->lockfd != -1)
		(void)mdcache_save(md->dirfd, md->msgs, md->count);
	if (md->listing_stale && md->lockfd != -1)
		(void)mdlist_save(md->dirfd, &md->dirs, md->msgs, md->count);
	for (i = 0; i < md->count; i++)
		free(md->msgs[i].name);
	free(md->msgs);
	md->msgs = NULL;
	md->count = 0;
	mdlock_release(&md->xlock);
	if (md->lockfd != -1)
		close(md->lockfd);
	if (md->curfd != -1)
		close(md->curfd);
	if (md->newfd != -1)
		close(md->newfd);
	if (md->dirfd != -1)
		close(md->dirfd);
	md->lockfd = md->dirfd = md->curfd = md->newfd = -1;
}
