/*
 * Runs as the mailbox owner inside privpop-store; see maildir_listing.h.
 *
 * Runs as: mailbox owner (privpop-store).
 */
#include "config.h"

#include <sys/stat.h>

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "fsutil.h"
#include "log.h"
#include "maildir_listing.h"
#include "numparse.h"

/* Both subdirectory prefixes are this long. */
#define SUB_LEN	4

/*
 * open() and fstat(), not fstatat(): over NFS, open() revalidates the
 * attributes with the server (close-to-open), while a stat of a name
 * may answer from the attribute cache, which can hide another node's
 * delivery or expunge for up to acdirmax seconds (docs/scale-out.md).
 */
static int
stamp(int dirfd, const char *sub, struct mdlist_stamp *s)
{
	struct stat st;
	int fd, r;

	if ((fd = openat(dirfd, sub, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1)
		return -1;
	r = fstat(fd, &st);
	close(fd);
	if (r == -1 || !S_ISDIR(st.st_mode))
		return -1;
	s->dev = (uint64_t)st.st_dev;
	s->ino = (uint64_t)st.st_ino;
	s->sec = (int64_t)st.st_mtim.tv_sec;
	s->nsec = (uint64_t)st.st_mtim.tv_nsec;
	return 0;
}

int
mdlist_stat(int dirfd, struct mdlist_dirs *d)
{
	memset(d, 0, sizeof(*d));
	return stamp(dirfd, "cur", &d->cur) == -1 ||
	    stamp(dirfd, "new", &d->new) == -1 ? -1 : 0;
}

/* A time before 1970 is a broken clock, and the header's seconds are
 * unsigned: not saved. */
int
mdlist_settled(const struct mdlist_dirs *d, time_t now)
{
	return d->cur.sec >= 0 && d->new.sec >= 0 &&
	    d->cur.sec <= (int64_t)now - MDLIST_SETTLE_SECS &&
	    d->new.sec <= (int64_t)now - MDLIST_SETTLE_SECS;
}

static int
stamp_eq(const struct mdlist_stamp *a, const struct mdlist_stamp *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->sec == b->sec &&
	    a->nsec == b->nsec;
}

void
mdlist_free(struct mdlist *l)
{
	free(l->buf);
	free((void *)l->names);
	memset(l, 0, sizeof(*l));
}

/* The next space- or newline-terminated decimal field of the header. */
static int
field(const char **p, const char *end, char term, uint64_t max,
    uint64_t *v)
{
	const char *t = memchr(*p, term, (size_t)(end - *p));

	if (t == NULL || parse_uint(*p, (size_t)(t - *p), 0, max, v) == -1)
		return -1;
	*p = t + 1;
	return 0;
}

static int
parse_stamp(const char **p, const char *end, struct mdlist_stamp *s)
{
	uint64_t sec;

	if (field(p, end, ' ', UINT64_MAX, &s->dev) == -1 ||
	    field(p, end, ' ', UINT64_MAX, &s->ino) == -1 ||
	    field(p, end, ' ', INT64_MAX, &sec) == -1 ||
	    field(p, end, ' ', 999999999, &s->nsec) == -1)
		return -1;
	s->sec = (int64_t)sec;
	return 0;
}

/* A line as scan_subdir would have made it from a directory entry. */
static int
name_ok(const char *p, size_t n)
{
	if (n <= SUB_LEN || n >= MAIL_MAX_PATH ||
	    (memcmp(p, "cur/", SUB_LEN) != 0 &&
	    memcmp(p, "new/", SUB_LEN) != 0) || p[SUB_LEN] == '.' ||
	    memchr(p + SUB_LEN, '/', n - SUB_LEN) != NULL ||
	    memchr(p, '\0', n) != NULL)
		return 0;
	return 1;
}

int
mdlist_parse(struct mdlist *l, char *buf, size_t len,
    const struct mdlist_dirs *want)
{
	const size_t mlen = sizeof(MDLIST_MAGIC) - 1;
	struct mdlist_dirs got;
	const char *hp;
	char *p, *end = buf + len;
	uint64_t count;

	memset(l, 0, sizeof(*l));
	l->buf = buf;
	if (len < mlen || len > MDLIST_MAX_BYTES ||
	    memcmp(buf, MDLIST_MAGIC, mlen) != 0 || buf[len - 1] != '\n')
		goto bad;
	hp = buf + mlen;
	memset(&got, 0, sizeof(got));
	if (parse_stamp(&hp, end, &got.cur) == -1 ||
	    parse_stamp(&hp, end, &got.new) == -1 ||
	    field(&hp, end, '\n', MAIL_MAX_MESSAGES, &count) == -1 ||
	    !stamp_eq(&got.cur, &want->cur) || !stamp_eq(&got.new, &want->new))
		goto bad;
	if (count > 0 && (l->names = reallocarray(NULL, (size_t)count,
	    sizeof(*l->names))) == NULL)
		goto bad;
	for (p = buf + (hp - buf); p < end; ) {
		char *nl = memchr(p, '\n', (size_t)(end - p));

		if (l->n == count || !name_ok(p, (size_t)(nl - p)))
			goto bad;
		*nl = '\0';
		/* strictly ascending base names: message order, and no
		 * message twice (not even once in cur/, once in new/) */
		if (l->n > 0 && strcmp(l->names[l->n - 1] + SUB_LEN,
		    p + SUB_LEN) >= 0)
			goto bad;
		l->names[l->n++] = p;
		p = nl + 1;
	}
	if (l->n != count)
		goto bad;
	return 0;
bad:
	mdlist_free(l);
	return -1;
}

int
mdlist_load(struct mdlist *l, int dirfd, const struct mdlist_dirs *want)
{
	char *buf;
	size_t len;

	memset(l, 0, sizeof(*l));
	if ((buf = fs_read_file(dirfd, MDLIST_FILE, MDLIST_MAX_BYTES,
	    &len)) == NULL)
		return -1;
	return mdlist_parse(l, buf, len, want);
}

static int
put_stamp(struct buf *b, const struct mdlist_stamp *s)
{
	return buf_printf(b, "%llu %llu %lld %llu ",
	    (unsigned long long)s->dev, (unsigned long long)s->ino,
	    (long long)s->sec, (unsigned long long)s->nsec);
}

int
mdlist_save(int dirfd, const struct mdlist_dirs *d,
    const struct mail_msg *msgs, uint32_t count)
{
	struct buf b;
	uint32_t i;
	int ok;

	if (buf_init(&b, (size_t)count * 48 + 128, MDLIST_MAX_BYTES) == -1)
		return -1;
	ok = buf_puts(&b, MDLIST_MAGIC) == 0 && put_stamp(&b, &d->cur) == 0 &&
	    put_stamp(&b, &d->new) == 0 &&
	    buf_printf(&b, "%lu\n", (unsigned long)count) == 0;
	for (i = 0; ok && i < count; i++) {
		size_t n = strlen(msgs[i].name);

		/* what the parser would refuse (a newline in a name, a
		 * unique name in both cur/ and new/) is not written: that
		 * mailbox is scanned every time */
		ok = msgs[i].deleted != MAIL_EXPUNGED &&
		    name_ok(msgs[i].name, n) &&
		    memchr(msgs[i].name, '\n', n) == NULL &&
		    (i == 0 || strcmp(msgs[i - 1].name + SUB_LEN,
		    msgs[i].name + SUB_LEN) < 0) &&
		    buf_append(&b, msgs[i].name, n) == 0 &&
		    buf_append(&b, "\n", 1) == 0;
	}
	if (!ok) {
		buf_free(&b);
		(void)unlinkat(dirfd, MDLIST_FILE, 0);
		return -1;
	}
	if (fs_replace_file(dirfd, MDLIST_FILE, buf_ptr(&b), buf_used(&b)) ==
	    -1) {
		log_warn("maildir: %s", MDLIST_FILE);
		buf_free(&b);
		return -1;
	}
	buf_free(&b);
	return 0;
}
