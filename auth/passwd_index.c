/*
 * Built as root in the auth fork server, read by the helpers it forks;
 * see passwd_index.h.  The input is the root-owned passwd-file; the
 * only client bytes are the user name looked up, already checked by
 * pwf_valid_user().
 *
 * Runs as: root (privpop-auth and its fork server).
 */
#include "config.h"

#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>

#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "fsutil.h"
#include "passwd_index.h"
#include "strhash.h"

int pwf_index_settle_secs = PWF_INDEX_SETTLE_SECS;

static struct {
	int		 valid;
	struct pwf_stamp stamp;
	const char	*text;		/* the file's bytes, sealed */
	size_t		 text_len;
	const uint32_t	*slots;		/* line offset + 1; 0 is empty */
	uint32_t	 mask;		/* slots - 1 (a power of two) */
	uint64_t	 seed;		/* of the hash, fresh per build */
	int		 caps;		/* PWF_CAN_* of all the entries */
	char		 dummy[CONFIG_MAX_LINE];
} ix;

/* Whether the index is of the file that has this stamp now. */
static int
holds(const struct pwf_stamp *now)
{
	return ix.valid && pwf_stamp_eq(now, &ix.stamp);
}

static uint32_t
hash_user(const char *u)
{
	return (uint32_t)str_hash64(u, ix.seed);
}

/* The line starting at off, without its newline. */
static size_t
line_len(size_t off)
{
	const char *nl = memchr(ix.text + off, '\n', ix.text_len - off);

	return nl != NULL ? (size_t)(nl - (ix.text + off)) :
	    ix.text_len - off;
}

/* Parse the line at off into e when it is user's entry. */
static int
line_is(size_t off, const char *user, struct pwf_entry *e)
{
	size_t n = line_len(off), ulen = strlen(user);

	/* cheap test first: the user field is the line's first bytes */
	if (n <= ulen || memcmp(ix.text + off, user, ulen) != 0 ||
	    ix.text[off + ulen] != ':')
		return 0;
	return pwf_line_usable(n) &&
	    pwf_parse_line(ix.text + off, n, e) == 1 &&
	    strcmp(e->user, user) == 0;
}

/* A slot holds a line's offset + 1, with this bit for a malformed
 * line (the index holds at most PWF_INDEX_MAX_BYTES). */
#define SLOT_MALFORMED	0x80000000u
#define SLOT_OFF(s)	((size_t)((s) & ~SLOT_MALFORMED) - 1)

/* Whether the line at off names user in its first field, parsed or
 * not. */
static int
names(size_t off, const char *user, size_t ulen)
{
	size_t n = line_len(off);

	return n > ulen && memcmp(ix.text + off, user, ulen) == 0 &&
	    ix.text[off + ulen] == ':';
}

/* A malformed line, under its user field when that is a valid name
 * and no line of that user is indexed yet: a login as that user then
 * says what is wrong with it, instead of only failing. */
static void
add_malformed(uint32_t *slots, size_t off, size_t n)
{
	char user[POP3_MAX_USER + 1];
	const char *colon = memchr(ix.text + off, ':', n);
	size_t ulen = colon != NULL ? (size_t)(colon - (ix.text + off)) : 0;
	uint32_t h;

	if (ulen == 0 || !pwf_valid_user(ix.text + off, ulen))
		return;
	memcpy(user, ix.text + off, ulen);
	user[ulen] = '\0';
	for (h = hash_user(user); slots[h & ix.mask] != 0; h++)
		if (names(SLOT_OFF(slots[h & ix.mask]), user, ulen))
			return;
	slots[h & ix.mask] = ((uint32_t)off + 1) | SLOT_MALFORMED;
}

void
pwf_index_drop(void)
{
	if (ix.text != NULL)
		munmap((void *)(uintptr_t)ix.text, ix.text_len);
	if (ix.slots != NULL)
		munmap((void *)(uintptr_t)ix.slots,
		    ((size_t)ix.mask + 1) * sizeof(*ix.slots));
	explicit_bzero(ix.dummy, sizeof(ix.dummy));
	memset(&ix, 0, sizeof(ix));
}

/* len bytes of p, sealed (fs_sealed_memfd) and mapped read-only and
 * shared: children inherit the mapping without a copy, and none of them
 * (nor this process) can make it writable again.  NULL on failure. */
static const void *
sealed_copy(const void *p, size_t len)
{
	void *m;
	int fd;

	if ((fd = fs_sealed_memfd("privpop-passwd-index", p, len)) == -1)
		return NULL;
	m = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	return m == MAP_FAILED ? NULL : m;
}

/* Hash every usable line's user to its offset; the first one wins. */
static uint32_t *
fill_slots(size_t *nslots_r)
{
	static struct pwf_entry e;
	size_t off, n, lines = 0, nslots = 16;
	uint32_t h, *slots;

	for (off = 0; off < ix.text_len; off += line_len(off) + 1)
		lines++;
	while (nslots < 2 * lines)
		nslots *= 2;
	if ((slots = calloc(nslots, sizeof(*slots))) == NULL)
		return NULL;
	ix.mask = (uint32_t)(nslots - 1);
	for (off = 0; off < ix.text_len; off += n + 1) {
		n = line_len(off);
		if (!pwf_line_usable(n))
			continue;	/* the full read warns about these */
		switch (pwf_parse_line(ix.text + off, n, &e)) {
		case 0:
			continue;
		case -1:
			add_malformed(slots, off, n);
			continue;
		}
		ix.caps |= pwf_entry_caps(&e);
		if (ix.dummy[0] == '\0' && e.scheme == PWF_CRYPT)
			memcpy(ix.dummy, e.secret, sizeof(ix.dummy));
		for (h = hash_user(e.user); slots[h & ix.mask] != 0; h++) {
			static struct pwf_entry other;

			if (!(slots[h & ix.mask] & SLOT_MALFORMED) &&
			    line_is(SLOT_OFF(slots[h & ix.mask]), e.user,
			    &other))
				break;	/* a later duplicate: ignored */
		}
		if (slots[h & ix.mask] == 0)
			slots[h & ix.mask] = (uint32_t)off + 1;
	}
	explicit_bzero(&e, sizeof(e));
	*nslots_r = nslots;
	return slots;
}

/* Built from the file as it was: the text, then the table.  A read
 * that ends early (the file shrank, or failed) builds nothing. */
static int
build(int fd, size_t size)
{
	uint32_t *slots = NULL;
	size_t got = 0, nslots = 0;
	char *buf;
	int r = -1;

	if ((buf = fs_read_fd(fd, size, &got)) == NULL || got != size ||
	    (size > 0 && (ix.text = sealed_copy(buf, size)) == NULL))
		goto out;
	ix.text_len = size;
	if ((slots = fill_slots(&nslots)) == NULL ||
	    (ix.slots = sealed_copy(slots, nslots * sizeof(*slots))) == NULL)
		goto out;
	r = 0;
out:
	if (buf != NULL) {
		explicit_bzero(buf, got);
		free(buf);
	}
	free(slots);
	return r;
}

void
pwf_index_refresh(const char *path)
{
	struct pwf_stamp now;
	struct stat st;
	int fd;

	if (stat(path, &st) == -1) {
		pwf_index_drop();
		return;
	}
	pwf_stamp_of(&st, &now);
	if (holds(&now))
		return;
	pwf_index_drop();
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) == -1)
		return;
	/* The stamp from before the read: a change during it makes the
	 * next stat differ, and the index unused.  Not for a file changed
	 * just now, maybe still being written in the same timestamp tick
	 * as the stamp: helpers read it whole until it has settled, and a
	 * later fork builds the index. */
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    (uintmax_t)st.st_size > PWF_INDEX_MAX_BYTES ||
	    (pwf_index_settle_secs > 0 &&
	    (time(NULL) - st.st_mtim.tv_sec < pwf_index_settle_secs ||
	    time(NULL) - st.st_ctim.tv_sec < pwf_index_settle_secs)) ||
	    getrandom(&ix.seed, sizeof(ix.seed), 0) != sizeof(ix.seed)) {
		close(fd);
		return;
	}
	pwf_stamp_of(&st, &ix.stamp);
	if (build(fd, (size_t)st.st_size) == -1) {
		log_warn("passwd_file %s: index", path);
		close(fd);
		pwf_index_drop();
		return;
	}
	close(fd);
	ix.valid = 1;
}

int
pwf_index_caps(const struct pwf_stamp *now)
{
	return holds(now) ? ix.caps : -1;
}

/* Say why the user's line at off is skipped, as the full read would.
 * Counting its line costs time that depends on where it is, but only
 * for a line already broken. */
static void
warn_malformed(const char *path, size_t off)
{
	static struct pwf_entry e;
	char why[200];
	const char *p = ix.text, *end = ix.text + off;
	int lineno = 1;

	while ((p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		lineno++;
		p++;
	}
	if (pwf_parse_line_why(ix.text + off, line_len(off), &e, why,
	    sizeof(why)) == -1)
		pwf_warn_line(path, lineno, why);
	explicit_bzero(&e, sizeof(e));
}

int
pwf_index_lookup(const char *path, const char *user, struct pwf_entry *out,
    char *dummy_r)
{
	struct pwf_stamp now;
	struct stat st;
	uint32_t h, probes, malformed = 0;

	if (!ix.valid || stat(path, &st) == -1)
		return -1;
	pwf_stamp_of(&st, &now);
	if (!holds(&now))
		return -1;
	memcpy(dummy_r, ix.dummy, sizeof(ix.dummy));
	/* at most half the slots are used: an empty one comes soon */
	h = hash_user(user);
	for (probes = 0; probes <= ix.mask; probes++, h++) {
		uint32_t s = ix.slots[h & ix.mask];

		if (s == 0)
			break;
		if (!(s & SLOT_MALFORMED)) {
			if (line_is(SLOT_OFF(s), user, out))
				return 1;
		} else if (malformed == 0 && names(SLOT_OFF(s), user,
		    strlen(user)))
			malformed = s;
	}
	if (malformed != 0)
		warn_malformed(path, SLOT_OFF(malformed));
	return 0;
}
