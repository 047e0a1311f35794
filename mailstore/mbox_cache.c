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

#define CACHE_MAGIC	"PPMBOX01"
#define CACHE_SUM_SPAN	4096
#define REC_SIZE	(4 * 8 + MBOX_DIGEST_LEN + 4)

struct cache_hdr {
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

static void
rec_put(unsigned char *p, const struct mail_msg *m, const struct mbox_meta *t)
{
	uint64_t v[4] = { t->from_off, m->start, m->end, m->size };

	memcpy(p, v, sizeof(v));
	memcpy(p + sizeof(v), t->digest, MBOX_DIGEST_LEN);
	memcpy(p + sizeof(v) + MBOX_DIGEST_LEN, &t->dup, 4);
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
	size_t rlen;
	int fd, r = -1;

	/* planted (a link, a FIFO, not ours): ignored, and replaced */
	if (mbox_index_name(mb, ".cache", path, sizeof(path)) == -1 ||
	    (fd = fs_openat(mb->idxfd, path, O_RDONLY, 0, FS_ONE_LINK)) == -1)
		return -1;
	if (read(fd, &h, sizeof(h)) != sizeof(h) ||
	    memcmp(h.magic, CACHE_MAGIC, 8) != 0 ||
	    h.dev != (uint64_t)st->st_dev || h.ino != (uint64_t)st->st_ino ||
	    h.scanned > (uint64_t)st->st_size || h.count > MAIL_MAX_MESSAGES)
		goto out;
	if (sums(mb->fd, h.scanned, head, tail) == -1 ||
	    memcmp(head, h.headsum, sizeof(head)) != 0 ||
	    memcmp(tail, h.tailsum, sizeof(tail)) != 0)
		goto out;
	rlen = (size_t)h.count * REC_SIZE;
	if ((recs = malloc(rlen + 1)) == NULL ||
	    read(fd, recs, rlen) != (ssize_t)rlen)
		goto out;
	md5_once(recs, rlen, md);
	if (memcmp(md, h.recsum, MBOX_DIGEST_LEN) != 0)
		goto out;
	for (i = 0; i < h.count; i++) {
		struct mbox_found f;
		uint64_t v[4];
		uint32_t dup;
		const unsigned char *p = recs + i * REC_SIZE;

		memcpy(v, p, sizeof(v));
		memcpy(f.digest, p + sizeof(v), MBOX_DIGEST_LEN);
		memcpy(&dup, p + sizeof(v) + MBOX_DIGEST_LEN, 4);
		f.from_off = v[0];
		f.start = v[1];
		f.end = v[2];
		f.size = v[3];
		/* sane and in order, or the whole cache is ignored */
		if (f.from_off < prev_end || f.start <= f.from_off ||
		    f.end < f.start || f.end > h.scanned ||
		    f.size > 2 * (f.end - f.start) + 2 ||
		    mbox_add(mb, &f, dup) == -1) {
			mb->count = 0;
			goto out;
		}
		prev_end = f.end;
	}
	mb->scanned = h.scanned;
	mb->junk = h.junk;
	mb->cache_count = (uint32_t)h.count;
	r = 0;
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
	size_t rlen = (size_t)mb->count * REC_SIZE;
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
	if (sums(mb->fd, mb->scanned, h.headsum, h.tailsum) == -1 ||
	    (recs = malloc(rlen + 1)) == NULL)
		return;
	for (i = 0; i < mb->count; i++)
		rec_put(recs + (size_t)i * REC_SIZE, &mb->msgs[i],
		    &mb->meta[i]);
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
