/*
 * Expunge at QUIT, safe against a crash at any instant.  Runs as the
 * mailbox owner: privpop-store.
 *
 * Under the mbox locks:
 *  1. check the file is the one scanned, grown at most by appends;
 *  2. write the new contents from the first deleted message on (the
 *     kept messages, then whatever was appended during the session) to
 *     a journal in the index directory, fsync it, then mark it complete;
 *  3. copy the journal over the mbox in place (the inode stays, so
 *     delivery agents holding it open keep writing to the right file),
 *     truncate, fsync;
 *  4. remove the journal.
 * A crash before 2 completes leaves the mbox untouched (an incomplete
 * journal is discarded); after it, the next open (mbox_journal_recover)
 * finishes step 3, keeping anything appended since.  Whether the
 * truncation in step 3 happened is told by the old bytes between the
 * new end and the old end: the journal holds their digest, and they are
 * still in place exactly until the truncation.
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
#include "mbox_lock.h"

#define JOURNAL_MAGIC	"PPMBXJ01"
#define COPY_CHUNK	(256 * 1024)

struct journal_hdr {
	char		magic[8];
	uint64_t	dev, ino;
	uint64_t	base;		/* first rewritten offset */
	uint64_t	orig_len;	/* mbox size when the rewrite began */
	uint64_t	len;		/* journal bytes after the header */
	uint64_t	complete;	/* set once the bytes are on disk */
	unsigned char	stale_sum[16];	/* MD5 of [base+len, orig_len) */
};

static unsigned char copybuf[COPY_CHUNK], cmpbuf[COPY_CHUNK];

static int
full_pwrite(int fd, const void *p, size_t n, uint64_t off)
{
	const unsigned char *s = p;

	while (n > 0) {
		ssize_t w = pwrite(fd, s, n, (off_t)off);

		if (w <= 0) {
			if (w == -1 && errno == EINTR)
				continue;
			return -1;
		}
		s += w;
		n -= (size_t)w;
		off += (uint64_t)w;
	}
	return 0;
}

static int
full_pread(int fd, void *p, size_t n, uint64_t off)
{
	unsigned char *s = p;

	while (n > 0) {
		ssize_t r = pread(fd, s, n, (off_t)off);

		if (r <= 0) {
			if (r == -1 && errno == EINTR)
				continue;
			return -1;
		}
		s += r;
		n -= (size_t)r;
		off += (uint64_t)r;
	}
	return 0;
}

/* Copy len bytes from (in, ioff) to (out, ooff); ooff <= ioff when in and
 * out are the same file (a forward copy is then safe). */
static int
copy_range(int in, uint64_t ioff, int out, uint64_t ooff, uint64_t len)
{
	while (len > 0) {
		size_t n = len > COPY_CHUNK ? COPY_CHUNK : (size_t)len;

		if (full_pread(in, copybuf, n, ioff) == -1 ||
		    full_pwrite(out, copybuf, n, ooff) == -1)
			return -1;
		ioff += n;
		ooff += n;
		len -= n;
	}
	return 0;
}

static int
same_range(int a, uint64_t aoff, int b, uint64_t boff, uint64_t len)
{
	while (len > 0) {
		size_t n = len > COPY_CHUNK ? COPY_CHUNK : (size_t)len;

		if (full_pread(a, copybuf, n, aoff) == -1 ||
		    full_pread(b, cmpbuf, n, boff) == -1 ||
		    memcmp(copybuf, cmpbuf, n) != 0)
			return 0;
		aoff += n;
		boff += n;
		len -= n;
	}
	return 1;
}

/* MD5 of the mbox bytes [off, end). */
static int
sum_file(int fd, uint64_t off, uint64_t end, unsigned char *out)
{
	MD5_CTX ctx;

	MD5Init(&ctx);
	while (off < end) {
		size_t n = end - off > COPY_CHUNK ? COPY_CHUNK :
		    (size_t)(end - off);

		if (full_pread(fd, copybuf, n, off) == -1)
			return -1;
		MD5Update(&ctx, copybuf, n);
		off += n;
	}
	MD5Final(out, &ctx);
	return 0;
}

/* Step 3 (also the recovery): put the journal's bytes at base,
 * truncate right behind them, fsync. */
static int
apply_journal(int mfd, int jfd, const struct journal_hdr *h)
{
	if (copy_range(jfd, sizeof(*h), mfd, h->base, h->len) == -1 ||
	    ftruncate(mfd, (off_t)(h->base + h->len)) == -1 || fsync(mfd) == -1)
		return -1;
	return 0;
}

/* Recovery found mail delivered after the crash behind orig_len: make
 * it part of the journal before anything moves, so that a crash during
 * the recovery itself is recovered the same way. */
static int
fold_appended(int mfd, int jfd, struct journal_hdr *h, uint64_t size)
{
	uint64_t k = size - h->orig_len;

	if (copy_range(mfd, h->orig_len, jfd, sizeof(*h) + h->len, k) == -1)
		return -1;
	h->len += k;
	h->orig_len = size;
	/* the bytes behind the new end stay put until the truncation */
	if (sum_file(mfd, h->base + h->len, h->orig_len, h->stale_sum) == -1 ||
	    fsync(jfd) == -1 || full_pwrite(jfd, h, sizeof(*h), 0) == -1 ||
	    fsync(jfd) == -1)
		return -1;
	return 0;
}

int
mbox_journal_recover(struct mbox *mb)
{
	char path[MAIL_MAX_PATH], failed[MAIL_MAX_PATH + 8];
	unsigned char sum[16];
	struct journal_hdr h;
	struct stat st;
	int jfd, r = 0;

	if (mbox_index_name(mb, ".journal", path, sizeof(path)) == -1)
		return -1;
	/* a planted one (a link, a FIFO, not ours) is refused, and the
	 * mailbox with it, until someone looks */
	if ((jfd = fs_openat(mb->idxfd, path, O_RDONLY, 0, FS_ONE_LINK)) ==
	    -1)
		return errno == ENOENT ? 0 : -1;
	if (read(jfd, &h, sizeof(h)) != sizeof(h) ||
	    memcmp(h.magic, JOURNAL_MAGIC, 8) != 0 || h.complete != 1 ||
	    h.dev != (uint64_t)mb->dev || h.ino != (uint64_t)mb->ino ||
	    fstat(jfd, &st) == -1 || (uint64_t)st.st_size < sizeof(h) + h.len) {
		/* (longer is fine: a fold_appended cut short by a crash
		 * left bytes the header does not count yet) */
		/* the crash came before the journal was complete: the mbox
		 * was not touched */
		log_info("mbox %s: discarding an unfinished expunge journal",
		    mb->path);
		goto done;
	}
	if (fstat(mb->fd, &st) == -1) {
		r = -1;
		goto done;
	}
	/* The old bytes between the new end and the old end are in place
	 * exactly until the truncation (a shorter file was truncated). */
	if ((uint64_t)st.st_size >= h.orig_len &&
	    sum_file(mb->fd, h.base + h.len, h.orig_len, sum) == 0 &&
	    memcmp(sum, h.stale_sum, sizeof(sum)) == 0) {
		/* not truncated yet: the copy may be partial; redo it */
		log_warnx("mbox %s: completing an interrupted expunge",
		    mb->path);
		close(jfd);
		if ((jfd = fs_openat(mb->idxfd, path, O_RDWR, 0,
		    FS_ONE_LINK)) == -1 ||
		    ((uint64_t)st.st_size > h.orig_len &&
		    fold_appended(mb->fd, jfd, &h, (uint64_t)st.st_size) ==
		    -1) || apply_journal(mb->fd, jfd, &h) == -1) {
			log_warn("mbox %s: recovery", mb->path);
			if (jfd != -1)
				close(jfd);
			return -1;	/* keep the journal for the next try */
		}
	} else if ((uint64_t)st.st_size >= h.base + h.len &&
	    same_range(mb->fd, h.base, jfd, sizeof(h), h.len)) {
		log_info("mbox %s: an interrupted expunge had completed",
		    mb->path);
	} else {
		/* changed by someone else since: leave it to a human */
		log_warnx("mbox %s: expunge journal %s does not match the "
		    "mailbox; kept as %s.failed", mb->path, path, path);
		snprintf(failed, sizeof(failed), "%s.failed", path);
		renameat(mb->idxfd, path, mb->idxfd, failed);
		close(jfd);
		return 0;
	}
done:
	close(jfd);
	if (r == 0)
		unlinkat(mb->idxfd, path, 0);
	return r;
}

/* Is the file still the one scanned, changed only by appends? */
static int
unchanged(struct mbox *mb, uint64_t *size_r)
{
	struct stat st, pst;
	char b[5];
	uint32_t i;

	if (fstat(mb->fd, &st) == -1 ||
	    fstatat(mb->dirfd, mb->base, &pst, AT_SYMLINK_NOFOLLOW) == -1 ||
	    pst.st_dev != mb->dev || pst.st_ino != mb->ino ||
	    (uint64_t)st.st_size < mb->scanned)
		return 0;
	for (i = 0; i < mb->count; i++)
		if (pread(mb->fd, b, 5, (off_t)mb->meta[i].from_off) != 5 ||
		    memcmp(b, "From ", 5) != 0)
			return 0;
	*size_r = (uint64_t)st.st_size;
	return 1;
}

/* Empty lines at off (before a From_ line that a delivery agent
 * appended after a message without a final newline). */
static uint64_t
separator_len(int fd, uint64_t off, uint64_t end)
{
	char b[64];
	ssize_t n = pread(fd, b, end - off < sizeof(b) ? (size_t)(end - off) :
	    sizeof(b), (off_t)off);
	ssize_t i = 0;

	while (i < n && (b[i] == '\n' || (b[i] == '\r' && i + 1 < n &&
	    b[i + 1] == '\n')))
		i += b[i] == '\r' ? 2 : 1;
	/* only when a separator follows; otherwise it is message text */
	if (i + 5 > n || memcmp(b + i, "From ", 5) != 0)
		return 0;
	return (uint64_t)i;
}

/* The byte range a message occupies with its separator: from its From_
 * line to the next one (or to the end of what was scanned). */
static uint64_t
seg_end(const struct mbox *mb, uint32_t i)
{
	return i + 1 < mb->count ? mb->meta[i + 1].from_off : mb->scanned;
}

enum mail_err
mbox_expunge(struct mbox *mb, uint32_t *removed_r)
{
	char path[MAIL_MAX_PATH], tmp[MAIL_MAX_PATH + 32];
	struct journal_hdr h;
	struct mbox_lock lk;
	uint64_t size, out, shift, tail;
	uint32_t i, first = UINT32_MAX, kept;
	enum mail_err e = MAIL_TEMP;
	int jfd = -1;

	*removed_r = 0;
	for (i = 0; i < mb->count; i++)
		if (mb->msgs[i].deleted) {
			first = i;
			break;
		}
	if (first == UINT32_MAX || mb->fd == -1)
		return MAIL_OK;
	if (mbox_lock(&lk, mb->dirfd, mb->base, mb->fd, mb->opts.locks,
	    mb->opts.lock_timeout, mb->opts.dotlock_stale) != ML_OK) {
		log_warnx("mbox %s: cannot lock for expunge; nothing deleted",
		    mb->path);
		return MAIL_TEMP;
	}
	if (!unchanged(mb, &size)) {
		log_warnx("mbox %s: changed by another program during the "
		    "session (not an append); nothing deleted", mb->path);
		goto out;
	}
	/* a new file under a random name, renamed into place: a link
	 * planted at the journal's name is replaced, never written */
	if (mbox_index_name(mb, ".journal", path, sizeof(path)) == -1 ||
	    (jfd = fs_create_tmp(mb->idxfd, path, tmp, sizeof(tmp))) == -1) {
		log_warn("mbox %s: journal", mb->path);
		goto out;
	}
	if (renameat(mb->idxfd, tmp, mb->idxfd, path) == -1) {
		log_warn("mbox %s: journal", mb->path);
		unlinkat(mb->idxfd, tmp, 0);
		goto out;
	}
	memset(&h, 0, sizeof(h));
	memcpy(h.magic, JOURNAL_MAGIC, 8);
	h.dev = (uint64_t)mb->dev;
	h.ino = (uint64_t)mb->ino;
	h.base = mb->meta[first].from_off;
	h.orig_len = size;
	out = sizeof(h);
	for (i = first; i < mb->count; i++) {
		uint64_t a = mb->meta[i].from_off, b = seg_end(mb, i);

		if (mb->msgs[i].deleted)
			continue;
		if (copy_range(mb->fd, a, jfd, out, b - a) == -1)
			goto ioerr;
		out += b - a;
	}
	/* delivered during the session: kept as it is, but for the empty
	 * lines that separated it from a last message now deleted */
	tail = mb->scanned;
	if (mb->msgs[mb->count - 1].deleted)
		tail += separator_len(mb->fd, tail, size);
	if (copy_range(mb->fd, tail, jfd, out, size - tail) == -1)
		goto ioerr;
	out += size - tail;
	h.len = out - sizeof(h);
	if (sum_file(mb->fd, h.base + h.len, h.orig_len, h.stale_sum) == -1 ||
	    full_pwrite(jfd, &h, sizeof(h), 0) == -1 || fsync(jfd) == -1)
		goto ioerr;
	h.complete = 1;
	if (full_pwrite(jfd, &h, sizeof(h), 0) == -1 || fsync(jfd) == -1)
		goto ioerr;

	if (apply_journal(mb->fd, jfd, &h) == -1) {
		/* the journal stays: the next open completes this */
		log_warn("mbox %s: rewrite", mb->path);
		close(jfd);
		mbox_unlock(&lk);
		return MAIL_TEMP;
	}
	close(jfd);
	jfd = -1;
	unlinkat(mb->idxfd, path, 0);

	/* The index now: kept messages move down; the new size. */
	shift = 0;
	kept = first;
	for (i = first; i < mb->count; i++) {
		uint64_t len = seg_end(mb, i) - mb->meta[i].from_off;

		if (mb->msgs[i].deleted) {
			shift += len;
			(*removed_r)++;
			continue;
		}
		mb->msgs[kept] = mb->msgs[i];
		mb->meta[kept] = mb->meta[i];
		mb->meta[kept].from_off -= shift;
		mb->msgs[kept].start -= shift;
		mb->msgs[kept].end -= shift;
		kept++;
	}
	mb->count = kept;
	mb->scanned -= shift;
	mbox_cache_save(mb);
	e = MAIL_OK;
	goto out;
ioerr:
	log_warn("mbox %s: journal write; nothing deleted", mb->path);
	close(jfd);
	jfd = -1;
	unlinkat(mb->idxfd, path, 0);
out:
	if (jfd != -1)
		close(jfd);
	mbox_unlock(&lk);
	return e;
}
