/*
 * The mbox index cache.  Runs as the mailbox owner: privpop-store.
 *
 * File: a header, then one record a message (little-endian host order:
 * the cache never leaves the host).  It is only advice: it is used when
 * the mbox is the same file (device, inode), not shorter than what the
 * cache covers, and has the same first and last 4 KiB there; a record
 * set with a bad checksum or out-of-order offsets is ignored.
 *
 * Runs as: mailbox owner (privpop-store).
 */
#include "uidl.h"
#include "config.h"

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
#include "mbox.h"

#define CACHE_MAGIC	"PPMBOX02"
#define CACHE_MAGIC_V1	"PPMBOX01"	/* an older privpop's */
#define CACHE_SUM_SPAN	4096
#define REC_FIXED	(4 * 8 + MBOX_DIGEST_LEN + 1)	/* + the UIDL */
#define REC_MAX		(REC_FIXED + POP3_MAX_UIDL)
#define REC_SIZE_V1	(4 * 8 + MBOX_DIGEST_LEN + 4)

/*
 * Version 2 (this one): the header, then per message its from_off,
 * start, end and size (u64), its key (mbox_parse.h), the length of its
 * UIDL (u8) and the UIDL.  The UIDLs are those clients were given: a
 * cache that no longer fits the file (a mail reader rewrote it) still
 * gives them back to the messages with the same key.
 * Version 1 (older privpop): fixed records with the old digest and the
 * copy number; read only for their UIDLs, given back by that digest.
 */
struct cache_hdr {
	char		magic[8];
	uint64_t	dev, ino, scanned, junk, count;
	unsigned char	headsum[MBOX_DIGEST_LEN];
	unsigned char	tailsum[MBOX_DIGEST_LEN];
	unsigned char	recsum[MBOX_DIGEST_LEN];
	uint32_t	imapbase, uidvalidity, uidnext, pad;
};

struct cache_hdr_v1 {
	char		magic[8];
	uint64_t	dev, ino, scanned, junk, count;
	unsigned char	headsum[MBOX_DIGEST_LEN];
	unsigned char	tailsum[MBOX_DIGEST_LEN];
	unsigned char	recsum[MBOX_DIGEST_LEN];
};

static int
sum_range(int fd, uint64_t off, uint64_t len, unsigned char *out)
{
	unsigned char b[CACHE_SUM_SPAN];

	if (len > sizeof(b))
		len = sizeof(b);
	if (len > 0 && pread(fd, b, (size_t)len, (off_t)off) != (ssize_t)len)
		return -1;
	md5_once(b, (size_t)len, out);
	return 0;
}

/* The first and last CACHE_SUM_SPAN bytes of [0, scanned). */
static int
sums(int fd, uint64_t scanned, unsigned char *head, unsigned char *tail)
{
	uint64_t span = scanned < CACHE_SUM_SPAN ? scanned : CACHE_SUM_SPAN;

	return (sum_range(fd, 0, span, head) == -1 ||
	    sum_range(fd, scanned - span, span, tail) == -1) ? -1 : 0;
}

/* n bytes of fd, read whole, into a new buffer; NULL if short. */
static unsigned char *
read_all(int fd, size_t n)
{
	unsigned char *b = malloc(n + 1);
	size_t got = 0;

	while (b != NULL && got < n) {
		ssize_t r = read(fd, b + got, n - got);

		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0) {
			free(b);
			return NULL;
		}
		got += (size_t)r;
	}
	return b;
}

/* An older privpop's cache: its UIDLs, by old digest, in mb->old. */
static void
load_v1(struct mbox *mb, int fd)
{
	struct cache_hdr_v1 h;
	unsigned char md[MD5_DIGEST_LENGTH], *recs;
	uint64_t i;
	size_t rlen;

	if (lseek(fd, 0, SEEK_SET) == -1 ||
	    read(fd, &h, sizeof(h)) != sizeof(h) ||
	    h.count == 0 || h.count > MAIL_MAX_MESSAGES)
		return;
	rlen = (size_t)h.count * REC_SIZE_V1;
	if ((recs = read_all(fd, rlen)) == NULL)
		return;
	md5_once(recs, rlen, md);
	if (memcmp(md, h.recsum, MBOX_DIGEST_LEN) != 0 ||
	    (mb->old = calloc((size_t)h.count, sizeof(*mb->old))) == NULL) {
		free(recs);
		return;
	}
	for (i = 0; i < h.count; i++) {
		const unsigned char *p = recs + i * REC_SIZE_V1;
		struct mbox_old *o = &mb->old[i];
		uint32_t dup;

		memcpy(o->key, p + 32, MBOX_DIGEST_LEN);
		memcpy(&dup, p + 32 + MBOX_DIGEST_LEN, 4);
		if (dup >= MAIL_MAX_MESSAGES)
			dup = 0;
		mbox_legacy_uidl(o->key, dup, o->uidl, sizeof(o->uidl));
	}
	mb->old_count = (uint32_t)h.count;
	mb->old_legacy = 1;
	free(recs);
}

int
mbox_cache_load(struct mbox *mb, const struct stat *st)
{
	char path[MAIL_MAX_PATH];
	struct cache_hdr h;
	unsigned char head[MBOX_DIGEST_LEN], tail[MBOX_DIGEST_LEN];
	unsigned char md[MD5_DIGEST_LENGTH];
	unsigned char *recs = NULL;
	uint64_t prev_end = 0, i;
	size_t rlen, off;
	struct stat cst;
	int fd, r = -1, fits;

	/* planted (a link, a FIFO, not ours): ignored, and replaced */
	if (mbox_index_name(mb, ".cache", path, sizeof(path)) == -1 ||
	    (fd = fs_openat(mb->idxfd, path, O_RDONLY, 0, FS_ONE_LINK)) == -1)
		return -1;
	if (read(fd, &h, sizeof(h)) < 8)
		goto out;
	if (memcmp(h.magic, CACHE_MAGIC_V1, 8) == 0) {
		load_v1(mb, fd);
		goto out;
	}
	if (memcmp(h.magic, CACHE_MAGIC, 8) != 0 ||
	    h.count > MAIL_MAX_MESSAGES || fstat(fd, &cst) == -1 ||
	    cst.st_size < (off_t)sizeof(h) ||
	    (uint64_t)cst.st_size - sizeof(h) > h.count * REC_MAX ||
	    lseek(fd, sizeof(h), SEEK_SET) == -1)
		goto out;
	rlen = (size_t)((uint64_t)cst.st_size - sizeof(h));
	if ((recs = read_all(fd, rlen)) == NULL)
		goto out;
	md5_once(recs, rlen, md);
	if (memcmp(md, h.recsum, MBOX_DIGEST_LEN) != 0)
		goto out;
	/* the same file, unchanged where the cache covers it: the records
	 * are its messages; else only their UIDLs are worth keeping */
	fits = h.dev == (uint64_t)st->st_dev &&
	    h.ino == (uint64_t)st->st_ino &&
	    h.scanned <= (uint64_t)st->st_size &&
	    sums(mb->fd, h.scanned, head, tail) == 0 &&
	    memcmp(head, h.headsum, sizeof(head)) == 0 &&
	    memcmp(tail, h.tailsum, sizeof(tail)) == 0;
	if (!fits && h.count > 0 &&
	    (mb->old = calloc((size_t)h.count, sizeof(*mb->old))) == NULL)
		goto out;
	for (i = 0, off = 0; i < h.count; i++) {
		struct mbox_found f;
		uint64_t v[4];
		char uidl[POP3_MAX_UIDL + 1];
		size_t ul;

		if (rlen - off < REC_FIXED)
			goto bad;
		memset(&f, 0, sizeof(f));
		memcpy(v, recs + off, sizeof(v));
		memcpy(f.key, recs + off + sizeof(v), MBOX_DIGEST_LEN);
		ul = recs[off + REC_FIXED - 1];
		off += REC_FIXED;
		if (rlen - off < ul || !uidl_valid(recs + off, ul))
			goto bad;
		memcpy(uidl, recs + off, ul);
		uidl[ul] = '\0';
		off += ul;
		if (!fits) {
			memcpy(mb->old[i].key, f.key, MBOX_DIGEST_LEN);
			memcpy(mb->old[i].uidl, uidl, ul + 1);
			continue;
		}
		f.from_off = v[0];
		f.start = v[1];
		f.end = v[2];
		f.size = v[3];
		/* sane and in order, or the whole cache is ignored */
		if (f.from_off < prev_end || f.start <= f.from_off ||
		    f.end < f.start || f.end > h.scanned ||
		    f.size > 2 * (f.end - f.start) + 2 ||
		    mbox_add(mb, &f, uidl) == -1)
			goto bad;
		prev_end = f.end;
	}
	if (off != rlen)
		goto bad;
	if (!fits) {
		mb->old_count = (uint32_t)h.count;
		mb->old_legacy = 0;
		goto out;
	}
	mb->scanned = h.scanned;
	mb->junk = h.junk;
	mb->cache_count = (uint32_t)h.count;
	mb->imapbase = h.imapbase != 0;
	mb->uidvalidity = h.uidvalidity;
	mb->uidnext = h.uidnext;
	r = 0;
	goto out;
bad:
	mb->count = 0;
	free(mb->old);
	mb->old = NULL;
	mb->old_count = 0;
out:
	free(recs);
	close(fd);
	return r;
}

void
mbox_cache_save(struct mbox *mb)
{
	char path[MAIL_MAX_PATH], tmp[MAIL_MAX_PATH + 32];
	struct cache_hdr h;
	unsigned char *recs;
	unsigned char md[MD5_DIGEST_LENGTH];
	size_t rlen = 0;
	uint32_t i;
	int fd, ok;

	if (mb->fd == -1 ||
	    mbox_index_name(mb, ".cache", path, sizeof(path)) == -1)
		return;
	memset(&h, 0, sizeof(h));
	memcpy(h.magic, CACHE_MAGIC, 8);
	h.dev = (uint64_t)mb->dev;
	h.ino = (uint64_t)mb->ino;
	h.scanned = mb->scanned;
	h.junk = mb->junk;
	h.count = mb->count;
	h.imapbase = mb->imapbase ? 1 : 0;
	h.uidvalidity = mb->uidvalidity;
	h.uidnext = mb->uidnext;
	if (sums(mb->fd, mb->scanned, h.headsum, h.tailsum) == -1 ||
	    (recs = malloc((size_t)mb->count * REC_MAX + 1)) == NULL)
		return;
	for (i = 0; i < mb->count; i++) {
		const struct mail_msg *m = &mb->msgs[i];
		uint64_t v[4] = { mb->meta[i].from_off, m->start, m->end,
		    m->size };
		size_t ul = strnlen(m->uidl, POP3_MAX_UIDL);

		memcpy(recs + rlen, v, sizeof(v));
		memcpy(recs + rlen + sizeof(v), mb->meta[i].key,
		    MBOX_DIGEST_LEN);
		recs[rlen + REC_FIXED - 1] = (unsigned char)ul;
		memcpy(recs + rlen + REC_FIXED, m->uidl, ul);
		rlen += REC_FIXED + ul;
	}
	md5_once(recs, rlen, md);
	memcpy(h.recsum, md, MBOX_DIGEST_LEN);
	/* a new file, renamed over the name: whatever was planted there
	 * is unlinked, never written */
	fd = fs_create_tmp(mb->idxfd, path, tmp, sizeof(tmp));
	ok = fd != -1 && write(fd, &h, sizeof(h)) == sizeof(h) &&
	    write(fd, recs, rlen) == (ssize_t)rlen;
	if (fd != -1)
		close(fd);
	free(recs);
	if (!ok || renameat(mb->idxfd, tmp, mb->idxfd, path) == -1) {
		log_warn("mbox cache %s", path);
		if (fd != -1)
			unlinkat(mb->idxfd, tmp, 0);
		return;
	}
	mb->cache_count = mb->count;
}
