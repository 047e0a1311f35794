/*
 * RFC 2449 LOGIN-DELAY and EXPIRE state (expire.h): the parsers of the
 * owner's record files and their reading and writing.  The files are
 * the mailbox owner's, who can write anything there: parsed here, in
 * the worker, with the bounds of common/limits.h.
 *
 * Runs as: mailbox owner (privpop-store).
 */
#include "uidl.h"
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "expire.h"
#include "fsutil.h"
#include "log.h"
#include "numparse.h"

static int
rec_cmp(const void *a, const void *b)
{
	const struct expire_rec *x = a, *y = b;
	int c = strcmp(x->uidl, y->uidl);

	if (c != 0)
		return c;
	return x->first < y->first ? -1 : x->first > y->first;
}

int
expire_parse(const char *buf, size_t len, struct expire_rec **recs_r,
    uint32_t *n_r)
{
	const size_t ml = sizeof(EXPIRE_REC_MAGIC) - 1;
	struct expire_rec *v = NULL;
	uint32_t n = 0, cap = 0, i, o;
	size_t pos;

	*recs_r = NULL;
	*n_r = 0;
	if (len < ml || memcmp(buf, EXPIRE_REC_MAGIC, ml) != 0)
		return 0;
	for (pos = ml; pos < len;) {
		const char *line = buf + pos, *nl, *sp;
		size_t ll;
		uint64_t t;

		if ((nl = memchr(line, '\n', len - pos)) == NULL)
			break;		/* cut short: skipped */
		ll = (size_t)(nl - line);
		pos += ll + 1;
		if ((sp = memchr(line, ' ', ll)) == NULL ||
		    parse_uint(line, (size_t)(sp - line), 1,
		    (uint64_t)EXPIRE_TIME_MAX, &t) == -1 ||
		    !uidl_valid(sp + 1, (size_t)(nl - sp - 1)))
			continue;
		if (n == MAIL_MAX_MESSAGES)
			break;
		if (n == cap) {
			struct expire_rec *nv;

			cap = cap == 0 ? 64 : cap * 2;
			if ((nv = reallocarray(v, cap, sizeof(*v))) == NULL) {
				free(v);
				return -1;
			}
			v = nv;
		}
		v[n].first = (int64_t)t;
		memcpy(v[n].uidl, sp + 1, (size_t)(nl - sp - 1));
		v[n].uidl[nl - sp - 1] = '\0';
		n++;
	}
	if (n == 0) {
		free(v);
		return 0;
	}
	qsort(v, n, sizeof(*v), rec_cmp);
	/* the same UIDL twice: the earliest first retrieval stays */
	for (i = 1, o = 1; i < n; i++)
		if (strcmp(v[i].uidl, v[o - 1].uidl) != 0)
			v[o++] = v[i];
	*recs_r = v;
	*n_r = o;
	return 0;
}

const struct expire_rec *
expire_find(const struct expire_rec *v, uint32_t n, const char *uidl)
{
	uint32_t lo = 0, hi = n;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		int c = strcmp(uidl, v[mid].uidl);

		if (c == 0)
			return &v[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

int
login_parse(const char *buf, size_t len, int64_t *t_r)
{
	const size_t ml = sizeof(EXPIRE_LOGIN_MAGIC) - 1;
	uint64_t t;

	if (len < ml + 2 || memcmp(buf, EXPIRE_LOGIN_MAGIC, ml) != 0 ||
	    buf[len - 1] != '\n' ||
	    parse_uint(buf + ml, len - ml - 1, 1, (uint64_t)EXPIRE_TIME_MAX,
	    &t) == -1)
		return -1;
	*t_r = (int64_t)t;
	return 0;
}

int
test_clock_parse(const char *buf, size_t len, int64_t *off_r)
{
	uint64_t v;
	int neg = 0;

	if (len > 0 && buf[len - 1] == '\n')
		len--;
	if (len > 0 && buf[0] == '-') {
		neg = 1;
		buf++;
		len--;
	}
	if (parse_uint(buf, len, 0, (uint64_t)EXPIRE_DAYS_MAX * EXPIRE_DAY,
	    &v) == -1)
		return -1;
	*off_r = neg ? -(int64_t)v : (int64_t)v;
	return 0;
}

int64_t
expire_now(int clockfd)
{
	int64_t now = (int64_t)time(NULL);
#ifdef PRIVPOP_TEST_HOOKS
	char *buf;
	size_t len;
	int64_t off;

	if (clockfd != -1 && (buf = fs_read_file(clockfd, EXPIRE_TEST_CLOCK,
	    TEST_CLOCK_FILE_MAX, &len)) != NULL) {
		if (test_clock_parse(buf, len, &off) == 0)
			now += off;
		free(buf);
	}
#else
	(void)clockfd;
#endif
	return now;
}

/* Replace name in dirfd with the bytes of b: a new file (O_EXCL, a
 * random name), written, synced, renamed over name. */
static int
write_synced(int dirfd, const char *name, const struct buf *b)
{
	char tmp[MAIL_MAX_PATH];
	const unsigned char *p = buf_ptr(b);
	size_t left = buf_used(b);
	int fd, ok = 1;

	if ((fd = fs_create_tmp(dirfd, name, tmp, sizeof(tmp))) == -1)
		return -1;
	while (ok && left > 0) {
		ssize_t n = write(fd, p, left);

		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			ok = 0;
		else {
			p += n;
			left -= (size_t)n;
		}
	}
	if (ok && fsync(fd) == -1)
		ok = 0;
	if (close(fd) == -1)
		ok = 0;
	if (!ok || renameat(dirfd, tmp, dirfd, name) == -1) {
		(void)unlinkat(dirfd, tmp, 0);
		return -1;
	}
	return 0;
}

int
login_refused(int dirfd, const char *name, uint32_t delay, int64_t now,
    uint32_t *wait_r)
{
	char *buf;
	size_t len;
	int64_t last;
	int r;

	if (delay == 0 || (buf = fs_read_file(dirfd, name, LOGIN_FILE_MAX,
	    &len)) == NULL)
		return 0;
	r = login_parse(buf, len, &last);
	free(buf);
	if (r == -1) {
		log_warnx("%s: malformed, ignored", name);
		return 0;
	}
	/* a time ahead of the clock (it was set back) holds no one out */
	if (last > now || now - last >= (int64_t)delay)
		return 0;
	*wait_r = (uint32_t)(last + (int64_t)delay - now);
	return 1;
}

void
login_record(int dirfd, const char *name, int64_t now)
{
	char space[LOGIN_FILE_MAX];
	struct buf b;

	buf_init_fixed(&b, space, sizeof(space));
	if (buf_printf(&b, "%s%lld\n", EXPIRE_LOGIN_MAGIC, (long long)now) ==
	    -1 || write_synced(dirfd, name, &b) == -1)
		log_warn("%s: not recorded", name);
}

void
expire_load(int dirfd, const char *name, struct expire_rec **recs_r,
    uint32_t *n_r)
{
	char *buf;
	size_t len;

	*recs_r = NULL;
	*n_r = 0;
	if ((buf = fs_read_file(dirfd, name, EXPIRE_FILE_MAX, &len)) == NULL) {
		if (errno != ENOENT)
			log_warn("%s: ignored", name);
		return;
	}
	if (expire_parse(buf, len, recs_r, n_r) == -1)
		log_warnx("%s: out of memory, ignored", name);
	free(buf);
}

int
expire_save(int dirfd, const char *name, const struct mail_msg *msgs,
    const int64_t *first, uint32_t count, int skip_deleted)
{
	struct buf b;
	uint32_t i;
	int r = 0;

	if (buf_init(&b, 4096, EXPIRE_FILE_MAX) == -1) {
		log_warnx("%s: out of memory", name);
		return -1;
	}
	r = buf_printf(&b, "%s", EXPIRE_REC_MAGIC);
	for (i = 0; i < count && r == 0; i++)
		if (first[i] != 0 && !(skip_deleted && msgs[i].deleted))
			r = buf_printf(&b, "%lld %s\n", (long long)first[i],
			    msgs[i].uidl);
	if (r == -1 || write_synced(dirfd, name, &b) == -1) {
		log_warn("%s: not saved", name);
		r = -1;
	}
	buf_free(&b);
	return r;
}
