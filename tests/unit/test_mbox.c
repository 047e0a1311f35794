/*
 * Unit tests for mailstore/mbox.c, mbox_cache.c, mbox_expunge.c and
 * mbox_lock.c on real temporary mbox files: counts, sizes and UIDLs,
 * the [IN-USE] lock, the index cache, the journaled expunge and its
 * crash recovery, and the dotlock/fcntl locks.
 *
 * Expected values are computed here from the bytes written: a message's
 * size is what wire_encode() makes of [start, end), its UIDL the hex MD5
 * of its From_ line and header lines up to and including the empty line
 * (OpenSSL, here), "-N" for the Nth identical copy.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/evp.h>

#include "conf.h"
#include "mbox.h"
#include "mbox_lock.h"
#include "wire.h"

/* ---- fixture ---- */

struct fx {
	char		 top[64];	/* mkdtemp directory */
	char		 path[128];	/* top/mbox */
	char		 copy[128];	/* top/copy */
	char		 idx[128];	/* top/index */
	struct mbox_opts o;
};

static int
rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	snprintf(f->top, sizeof(f->top), "/tmp/privpop-mbox-XXXXXX");
	if (mkdtemp(f->top) == NULL)
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/mbox", f->top);
	snprintf(f->copy, sizeof(f->copy), "%s/copy", f->top);
	snprintf(f->idx, sizeof(f->idx), "%s/index", f->top);
	f->o.locks = MBOX_LOCK_DOTLOCK | MBOX_LOCK_FCNTL;
	f->o.lock_timeout = 2;
	f->o.dotlock_stale = 300;
	f->o.index_dir = f->idx;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	nftw(f->top, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

/* ---- files ---- */

/* Write the whole file; an existing file keeps its inode. */
static void
put_file(const char *path, const void *p, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd != -1);
	assert_int_equal(write(fd, p, n), (ssize_t)n);
	assert_int_equal(close(fd), 0);
}

static void
append_file(const char *path, const void *p, size_t n)
{
	int fd = open(path, O_WRONLY | O_APPEND);

	assert_true(fd != -1);
	assert_int_equal(write(fd, p, n), (ssize_t)n);
	assert_int_equal(close(fd), 0);
}

static void
pwrite_file(const char *path, const void *p, size_t n, off_t off)
{
	int fd = open(path, O_WRONLY);

	assert_true(fd != -1);
	assert_int_equal(pwrite(fd, p, n, off), (ssize_t)n);
	assert_int_equal(close(fd), 0);
}

static unsigned char *
slurp(const char *path, size_t *len)
{
	struct stat st;
	unsigned char *p;
	int fd = open(path, O_RDONLY);

	assert_true(fd != -1);
	assert_int_equal(fstat(fd, &st), 0);
	p = malloc((size_t)st.st_size + 1);
	assert_non_null(p);
	assert_int_equal(read(fd, p, (size_t)st.st_size), st.st_size);
	close(fd);
	*len = (size_t)st.st_size;
	return p;
}

/* The file holds exactly p[0..n). */
static void
assert_file(const char *path, const void *p, size_t n)
{
	size_t len;
	unsigned char *b = slurp(path, &len);

	if (len != n || memcmp(b, p, n) != 0) {
		fprintf(stderr, "--- %s (%zu bytes):\n%.*s\n--- want (%zu "
		    "bytes):\n%.*s\n---\n", path, len, (int)len, b, n, (int)n,
		    (const char *)p);
		free(b);
		fail_msg("%s differs", path);
	}
	free(b);
}

static int
exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

static void
index_file(const struct mbox *mb, const char *suffix, char *out, size_t n)
{
	assert_int_equal(mbox_index_file(mb, suffix, out, n), 0);
}

/* ---- expected messages ---- */

struct spec {
	const char	*from;		/* From_ line, no LF */
	const char	*hdr;		/* header lines, each with LF */
	const char	*body;		/* ends with LF */
};

#define MAXM	16

struct built {
	unsigned char	 buf[65536];
	size_t		 len;
	size_t		 n;
	uint64_t	 from_off[MAXM], start[MAXM], end[MAXM], size[MAXM];
	char		 uidl[MAXM][48];
};

static uint64_t
wire_octets(const unsigned char *p, size_t n)
{
	struct wire_enc w;

	wire_init(&w, WIRE_ALL_LINES);
	assert_int_equal(wire_encode(&w, p, n, NULL), 0);
	assert_int_equal(wire_finish(&w, NULL), 0);
	return w.octets;
}

static void
md5_hex(const void *p, size_t n, char *out)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;

	assert_int_equal(EVP_Digest(p, n, md, &mdlen, EVP_md5(), NULL), 1);
	for (i = 0; i < 16; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static void
add(struct built *b, const void *p, size_t n)
{
	assert_true(b->len + n <= sizeof(b->buf));
	memcpy(b->buf + b->len, p, n);
	b->len += n;
}

static void
adds(struct built *b, const char *s)
{
	add(b, s, strlen(s));
}

/* An mbox as delivery agents write it: From_ line, headers, empty line,
 * body, and an empty line after every message (the last one too);
 * prefix (junk) first. */
static void
build(struct built *b, const char *prefix, const struct spec *s, size_t n)
{
	size_t i, j;

	memset(b, 0, sizeof(*b));
	adds(b, prefix);
	assert_true(n <= MAXM);
	for (i = 0; i < n; i++) {
		size_t dup = 0;

		b->from_off[i] = b->len;
		adds(b, s[i].from);
		adds(b, "\n");
		b->start[i] = b->len;
		adds(b, s[i].hdr);
		/* no delivery header popa3d hashes: the UIDL is the key,
		 * MD5 of the From_ line and the headers (not the empty
		 * line after them) */
		md5_hex(b->buf + b->from_off[i], b->len - b->from_off[i],
		    b->uidl[i]);
		adds(b, "\n");
		adds(b, s[i].body);
		b->end[i] = b->len;
		adds(b, "\n");
		b->size[i] = wire_octets(b->buf + b->start[i],
		    (size_t)(b->end[i] - b->start[i]));
		for (j = 0; j < i; j++)
			if (strncmp(b->uidl[j], b->uidl[i], 32) == 0)
				dup++;
		if (dup > 0)
			snprintf(b->uidl[i] + 32, 16, "-%zu", dup + 1);
		b->n++;
	}
}

/* The mbox index is what was built, with offsets moved by shift. */
static void
check_index(const struct mbox *mb, const struct built *b)
{
	uint64_t octets = 0;
	size_t i;

	assert_int_equal(mb->count, b->n);
	for (i = 0; i < b->n; i++) {
		if (mb->msgs[i].start != b->start[i] ||
		    mb->msgs[i].end != b->end[i] ||
		    mb->msgs[i].size != b->size[i] ||
		    mb->meta[i].from_off != b->from_off[i] ||
		    strcmp(mb->msgs[i].uidl, b->uidl[i]) != 0)
			fail_msg("message %zu: start %llu end %llu size %llu "
			    "from %llu uidl %s; want %llu %llu %llu %llu %s",
			    i, (unsigned long long)mb->msgs[i].start,
			    (unsigned long long)mb->msgs[i].end,
			    (unsigned long long)mb->msgs[i].size,
			    (unsigned long long)mb->meta[i].from_off,
			    mb->msgs[i].uidl,
			    (unsigned long long)b->start[i],
			    (unsigned long long)b->end[i],
			    (unsigned long long)b->size[i],
			    (unsigned long long)b->from_off[i], b->uidl[i]);
		assert_int_equal(mb->msgs[i].deleted, 0);
		octets += b->size[i];
	}
	assert_int_equal(mb->octets, octets);
}

static const struct spec A = {
	"From alice@example.org Mon Jan  1 00:00:00 2024",
	"From: alice@example.org\nSubject: a\n", "body a\n" };
static const struct spec B = {
	"From bob@example.org Mon Jan  1 00:00:01 2024",
	"From: bob@example.org\nSubject: b\n",
	"body b\n.dot line\n>From quoted\nFrom not a separator\n" };
static const struct spec C = {
	"From carol@example.org Tue Jan  2 00:00:00 2024",
	"From: carol@example.org\nSubject: c\n", "body c\n\nsecond para\n" };
static const struct spec D = {
	"From dave@example.org Wed Jan  3 00:00:00 2024",
	"From: dave@example.org\nSubject: d\n", "body d\n" };
/* A with another body: the same UIDL digest (only headers count) */
static const struct spec A2 = {
	"From alice@example.org Mon Jan  1 00:00:00 2024",
	"From: alice@example.org\nSubject: a\n", "another body\n" };

/* ---- open ---- */

static void
test_open_counts(void **state)
{
	struct fx *f = *state;
	const struct spec s[] = { A, B, A, C, A2 };
	static struct built b;
	struct mbox mb;
	char p[MAIL_MAX_PATH];

	build(&b, "", s, 5);
	assert_string_equal(b.uidl[2] + 32, "-2");
	assert_string_equal(b.uidl[4] + 32, "-3");
	put_file(f->path, b.buf, b.len);
	assert_int_equal(mbox_open(&mb, f->path, &f->o), MAIL_OK);
	check_index(&mb, &b);
	assert_int_equal(mb.junk, 0);
	assert_int_equal(mb.scanned, b.len);
	/* index files in index_dir */
	assert_memory_equal(mb.index, f->idx, strlen(f->idx));
	index_file(&mb, ".cache", p, sizeof(p));
	assert_true(exists(p));
	index_file(&mb, ".lock", p, sizeof(p));
	assert_true(exists(p));
	/* no dotlock left behind after the scan */
	snprintf(p, sizeof(p), "%s.lock", f->path);
	assert_false(exists(p));
	assert_int_equal(mbox_check_msg(&mb, 0), 0);
	assert_int_equal(mbox_check_msg(&mb, 4), 0);
	mbox_close(&mb);

	/* the same again, from the cache */
	assert_int_equal(mbox_open(&mb, f->path, &f->o), MAIL_OK);
	check_index(&mb, &b);
	mbox_close(&mb);
}

static void
test_open_junk(void **state)
{
	struct fx *f = *state;
	const struct spec s[] = { A, B };
	static struct built b;
	struct mbox mb;

	build(&b, "not a From_ line\n\n", s, 2);
	put_file(f->path, b.buf, b.len);
	assert_int_equal(mbox_open(&mb, f->path, &f->o), MAIL_OK);
	check_index(&mb, &b);
	assert_int_equal(mb.junk, 18);
	mbox_close(&mb);
	assert_int_equal(mbox_open(&mb, f->path, &f->o), MAIL_OK);
	check_index(&mb, &b);
	assert_int_equal(mb.junk, 18);
	mbox_close(&mb);
}

static void
test_open_crlf_nonl(void **state)
{
	struct fx *f = *state;
	static const char in[] =
	    "From a\r\nS: 1\r\n\r\nbody\r\n\r\nFrom b\r\nS: 2\r\n\r\nlast";
	struct mbox mb;
	char u[33];

	put_file(f->path, in, sizeof(in) - 1);
	assert_int_equal(mbox_open(&mb, f->path, &f->o), MAIL_OK);
	assert_int_equal(mb.count, 2);
	assert_int_equal(mb.msgs[0].start, 8);
	assert_int_equal(mb.msgs[0].end, 22);
	assert_int_equal(mb.msgs[0].size, 14);
	assert_int_equal(mb.msgs[1].start, 32);
	assert_int_equal(mb.msgs[1].end, sizeof(in) - 1);
	/* "S: 2\r\n\r\nlast\r\n" */
	assert_int_equal(mb.msgs[1].size, 14);
	md5_hex(in, 14, u);
	assert_string_equal(mb.msgs[0].uidl, u);
	md5_hex(in + 24, 14, u);
	assert_string_equal(mb.msgs[1].uidl, u);
	mbox_close(&mb);
}

static void
test_open_empty_and_missing(void **state)
{
	struct fx *f = *state;
	struct mbox mb;
	uint32_t removed = 99;

	/* no such file: an empty mailbox */
	assert_int_equal(mbox_open(&mb, f->path, &f->o), MAIL_OK);
	assert_int_equal(mb.count, 0);
	assert_int_equal(mb.octets, 0);
	assert_int_equal(mbox_expunge(&mb, &removed), MAIL_OK);
	assert_int_equal(removed, 0);
	assert_false(exists(f->path));
	mbox_close(&mb);

	/* an empty file */
	put_file(f->path, "", 0);
	assert_int_equal(mbox_open(&mb, f->path, &f->o), MAIL_OK);
	assert_int_equal(mb.count, 0);
	assert_int_equal(mb.octets, 0);
	mbox_close(&mb);

	/* not a regular file; a relative path: permanent */
	assert_int_equal(mbox_open(&mb, f->top, &f->o), MAIL_PERM);
	mbox_close(&mb);
	assert_int_equal(mbox_open(&mb, "relative/mbox", &f->o), MAIL_PERM);
	mbox_close(&mb);
}

static void
test_inuse(void **state)
{
	struct fx *f = *state;
	const struct spec s[] = { A, B };
	static struct built b;
	struct mbox m1, m2;

	build(&b, "", s, 2);
	put_file(f->path, b.buf, b.len);
	assert_int_equal(mbox_open(&m1, f->path, &f->o), MAIL_OK);
	assert_int_equal(mbox_open(&m2, f->path, &f->o), MAIL_INUSE);
	mbox_close(&m2);
	/* still in use; the first session is unharmed */
	assert_int_equal(mbox_open(&m2, f->path, &f->o), MAIL_INUSE);
	mbox_close(&m2);
	check_index(&m1, &b);
	mbox_close(&m1);
	assert_int_equal(mbox_open(&m2, f->path, &f->o), MAIL_OK);
	check_index(&m2, &b);
	mbox_close(&m2);

	/* a missing mbox is locked as well */
	assert_int_equal(mbox_open(&m1, f->copy, &f->o), MAIL_OK);
	assert_int_equal(mbox_open(&m2, f->copy, &f->o), MAIL_INUSE);
	mbox_close(&m2);
	mbox_close(&m1);
}

/* ---- cache ---- */

static void
test_cache_append(void **state)
{
	struct fx *f = *state;
	const struct spec s[] = { A, B, A2, D, A };
	static struct built all, part;
	struct mbox mb;
	char p[MAIL_MAX_PATH];
	struct stat st1, st2;

	build(&all, "", s, 5);
	build(&part, "", s, 3);
	assert_memory_equal(all.buf, part.buf, part.len);
	put_file(f->path, part.buf, part.len);
	assert_int_equal(mbox_open(&mb, f->path, &f->o), MAIL_OK);
	check_index(&mb, &part);
	index_file(&mb, ".cache", p, sizeof(p));
	mbox_close(&mb);
	assert_int_equal(stat(p, &st1), 0);
	assert_true(st1.st_size > 0);

	/* two more delivered: the old ones keep everything, the new A
	 * copy is the third */
	append_file(f->path, all.buf + part.len, all.len - part.len);
	assert_int_equal(mbox_open(&mb, f->path, &f->o), MAIL_OK);
	check_index(&mb, &all);
	assert_string_equal(mb.msgs[4].uidl + 32, "-3");
	mbox_close(&mb);
	assert_int_equal(stat(p, &st2), 0);
	/* rewritten, with more records */
	assert_true(st2.st_size > st1.st_size);

	/* the cache file is only advice: a garbled one is ignored */
	put_file(p, "garbage", 7);
	assert_int_equal(mbox_open(&mb, f->path, &f->o), MAIL_OK);
	check_index(&mb, &all);
	mbox_close(&mb);
	/* and so is a missing one */
	assert_int_equal(unlink(p), 0);
	assert_int_equal(mbox_open(&mb, f->path, &f->o), MAIL_OK);
	check_index(&mb, &all);
	mbox_close(&mb);
	assert_true(exists(p));
}

/* The last message grows (no new From_ line): rescanned from the cache. */
static void
test_cache_last_grows(void **state)
{
	struct fx *f = *state;
	static const char one[] =
	    "From a\nS: 1\n\nbody a\n\nFrom b\nS: 2\n\nbody b\n";
	static const char more[] = "more b\n\n";
	struct mbox mb;
	char ua[POP3_MAX_UIDL + 1], ub[POP3_MAX_UIDL + 1];

	put_file(f->path, one, sizeof(one) - 1);
	assert_int_equal(mbox_open(&mb, f->path, &f->o), MAIL_OK);
	assert_int_equal(mb.count, 2);
	assert_int_equal(mb.msgs[1].end, sizeof(one) - 1);
	snprintf(ua, sizeof(ua), "%s", mb.msgs[0].uidl);
	snprintf(ub, sizeof(ub), "%s", mb.msgs[1].uidl);
	mbox_close(&mb);

	append_file(f->path, more, sizeof(more) - 1);
	assert_int_equal(mbox_open(&mb, f->path, &f->o), MAIL_OK);
	assert_int_equal(mb.count, 2);
	assert_string_equal(mb.msgs[0].uidl, ua);
	assert_string_equal(mb.msgs[1].uidl, ub);
	assert_int_equal(mb.msgs[0].end, 20);
	assert_int_equal(mb.msgs[1].start, 28);
	/* "S: 2\n\nbody b\nmore b\n": the final empty line is the mbox's */
	assert_int_equal(mb.msgs[1].end, sizeof(one) - 1 + 7);
	assert_int_equal(mb.msgs[1].size, 6 + 2 + 8 + 8);
	mbox_close(&mb);
}

/* A change that is not an append (in the first 4 KiB) is noticed: the
 * whole file is scanned again. */
static void
test_cache_head_change(void **state)
{
	struct fx *f = *state;
	static char bigbody[9000];
	struct spec s[] = { A, B, C, D };
	static struct built b, b2;
	struct mbox mb;
	size_t i;

	for (i = 0; i + 1 < sizeof(bigbody); i++)
		bigbody[i] = (i % 61 == 60) ? '\n' : 'x';
	bigbody[sizeof(bigbody) - 2] = '\n';
	s[2].body = bigbody;	/* the file is well over 2 x 4 KiB */
	build(&b, "", s, 4);
	assert_true(b.len > 8192);
	put_file(f->path, b.buf, b.len);
	assert_int_equal(mbox_open(&mb, f->path, &f->o), MAIL_OK);
	check_index(&mb, &b);
	mbox_close(&mb);

	/* "Subject: a" -> "Subject: z" in place, same size */
	{
		struct spec z = A;

		z.hdr = "From: alice@example.org\nSubject: z\n";
		s[0] = z;
	}
	build(&b2, "", s, 4);
	assert_int_equal(b2.len, b.len);
	for (i = 0; i < b.len && b.buf[i] == b2.buf[i]; i++)
		;
	assert_true(i < 4096);
	pwrite_file(f->path, b2.buf + i, 1, (off_t)i);
	assert_int_equal(mbox_open(&mb, f->path, &f->o), MAIL_OK);
	check_index(&mb, &b2);
	assert_string_not_equal(mb.msgs[0].uidl, b.uidl[0]);
	mbox_close(&mb);

	/* a separator destroyed: B becomes part of A */
	pwrite_file(f->path, "X", 1, (off_t)b2.from_off[1]);
	assert_int_equal(mbox_open(&mb, f->path, &f->o), MAIL_OK);
	assert_int_equal(mb.count, 3);
	assert_int_equal(mb.msgs[0].end, b2.end[1]);
	assert_string_equal(mb.msgs[0].uidl, b2.uidl[0]);
	assert_string_equal(mb.msgs[1].uidl, b2.uidl[2]);
	assert_string_equal(mb.msgs[2].uidl, b2.uidl[3]);
	assert_int_equal(mb.msgs[2].start, b2.start[3]);
	mbox_close(&mb);
}

/* ---- expunge ---- */

/* The bytes of message i with its separator: [from_off, next from_off). */
static void
add_seg(struct built *out, const struct built *b, size_t i)
{
	uint64_t e = i + 1 < b->n ? b->from_off[i + 1] : b->len;

	add(out, b->buf + b->from_off[i], (size_t)(e - b->from_off[i]));
}

static void
test_expunge(void **state)
{
	struct fx *f = *state;
	const struct spec s[] = { A, B, A2, C, D };
	const struct spec keep[] = { B, A2, D };
	static struct built b, want, wk;
	struct mbox mb;
	char jp[MAIL_MAX_PATH], u_b[POP3_MAX_UIDL + 1], u_a2[POP3_MAX_UIDL + 1];
	char u_d[POP3_MAX_UIDL + 1];
	uint32_t removed = 0, i;
	struct stat st1, st2;

	build(&b, "", s, 5);
	put_file(f->path, b.buf, b.len);
	assert_int_equal(stat(f->path, &st1), 0);
	assert_int_equal(mbox_open(&mb, f->path, &f->o), MAIL_OK);
	check_index(&mb, &b);
	snprintf(u_b, sizeof(u_b), "%s", mb.msgs[1].uidl);
	snprintf(u_a2, sizeof(u_a2), "%s", mb.msgs[2].uidl);
	snprintf(u_d, sizeof(u_d), "%s", mb.msgs[4].uidl);
	assert_string_equal(u_a2 + 32, "-2");
	index_file(&mb, ".journal", jp, sizeof(jp));

	mb.msgs[0].deleted = 1;
	mb.msgs[3].deleted = 1;
	assert_int_equal(mbox_expunge(&mb, &removed), MAIL_OK);
	assert_int_equal(removed, 2);
	memset(&want, 0, sizeof(want));
	add_seg(&want, &b, 1);
	add_seg(&want, &b, 2);
	add_seg(&want, &b, 4);
	assert_file(f->path, want.buf, want.len);
	assert_false(exists(jp));
	assert_int_equal(stat(f->path, &st2), 0);
	/* rewritten in place */
	assert_int_equal(st1.st_ino, st2.st_ino);

	/* the index of the open session follows the new file */
	build(&wk, "", keep, 3);
	assert_memory_equal(wk.buf, want.buf, want.len);
	assert_int_equal(mb.count, 3);
	for (i = 0; i < 3; i++) {
		assert_int_equal(mb.msgs[i].start, wk.start[i]);
		assert_int_equal(mb.msgs[i].end, wk.end[i]);
		assert_int_equal(mb.msgs[i].size, wk.size[i]);
	}
	assert_string_equal(mb.msgs[0].uidl, u_b);
	assert_string_equal(mb.msgs[1].uidl, u_a2);
	assert_string_equal(mb.msgs[2].uidl, u_d);
	mbox_close(&mb);

	/* reopened: the same UIDLs, the surviving copy keeps its "-2" */
	assert_int_equal(mbox_open(&mb, f->path, &f->o), MAIL_OK);
	assert_int_equal(mb.count, 3);
	assert_string_equal(mb.msgs[0].uidl, u_b);
	assert_string_equal(mb.msgs[1].uidl, u_a2);
	assert_string_equal(mb.msgs[2].uidl, u_d);
	for (i = 0; i < 3; i++) {
		assert_int_equal(mb.msgs[i].start, wk.start[i]);
		assert_int_equal(mb.msgs[i].end, wk.end[i]);
		assert_int_equal(mb.msgs[i].size, wk.size[i]);
	}
	mbox_close(&mb);

	/* another copy of A delivered: a UIDL not given out before */
	{
		static struct built one;
		const struct spec sa[] = { A };

		build(&one, "", sa, 1);
		append_file(f->path, one.buf, one.len);
		assert_int_equal(mbox_open(&mb, f->path, &f->o), MAIL_OK);
		assert_int_equal(mb.count, 4);
		assert_string_not_equal(mb.msgs[3].uidl, b.uidl[0]);
		assert_string_not_equal(mb.msgs[3].uidl, u_a2);
		assert_memory_equal(mb.msgs[3].uidl, b.uidl[0], 32);
		mbox_close(&mb);
	}

	/* delete them all */
	assert_int_equal(mbox_open(&mb, f->path, &f->o), MAIL_OK);
	for (i = 0; i < mb.count; i++)
		mb.msgs[i].deleted = 1;
	assert_int_equal(mbox_expunge(&mb, &removed), MAIL_OK);
	assert_int_equal(removed, 4);
	assert_int_equal(mb.count, 0);
	mbox_close(&mb);
	assert_file(f->path, "", 0);
	assert_int_equal(mbox_open(&mb, f->path, &f->o), MAIL_OK);
	assert_int_equal(mb.count, 0);
	mbox_close(&mb);
}

/* Nothing deleted: nothing written. */
static void
test_expunge_nothing(void **state)
{
	struct fx *f = *state;
	const struct spec s[] = { A, B };
	static struct built b;
	struct mbox mb;
	uint32_t removed = 7;

	build(&b, "", s, 2);
	put_file(f->path, b.buf, b.len);
	assert_int_equal(mbox_open(&mb, f->path, &f->o), MAIL_OK);
	assert_int_equal(mbox_expunge(&mb, &removed), MAIL_OK);
	assert_int_equal(removed, 0);
	assert_int_equal(mb.count, 2);
	mbox_close(&mb);
	assert_file(f->path, b.buf, b.len);
}

/* The file was changed by someone else (not an append): nothing is
 * deleted, the file is left as it is. */
static void
test_expunge_changed(void **state)
{
	struct fx *f = *state;
	const struct spec s[] = { A, B, C };
	static struct built b;
	struct mbox mb;
	char jp[MAIL_MAX_PATH], tmp[256];
	unsigned char *now;
	size_t nlen;
	uint32_t removed = 9;

	build(&b, "", s, 3);

	/* "From " of a later message replaced */
	put_file(f->path, b.buf, b.len);
	assert_int_equal(mbox_open(&mb, f->path, &f->o), MAIL_OK);
	index_file(&mb, ".journal", jp, sizeof(jp));
	pwrite_file(f->path, "Xrom ", 5, (off_t)b.from_off[2]);
	now = slurp(f->path, &nlen);
	mb.msgs[0].deleted = 1;
	assert_int_equal(mbox_check_msg(&mb, 2), -1);
	assert_int_equal(mbox_expunge(&mb, &removed), MAIL_TEMP);
	assert_int_equal(removed, 0);
	assert_file(f->path, now, nlen);
	assert_false(exists(jp));
	mbox_close(&mb);
	free(now);

	/* truncated */
	put_file(f->path, b.buf, b.len);
	assert_int_equal(mbox_open(&mb, f->path, &f->o), MAIL_OK);
	assert_int_equal(truncate(f->path, (off_t)b.end[1]), 0);
	mb.msgs[0].deleted = 1;
	assert_int_equal(mbox_expunge(&mb, &removed), MAIL_TEMP);
	assert_file(f->path, b.buf, (size_t)b.end[1]);
	mbox_close(&mb);

	/* replaced by another file (rename over it) */
	put_file(f->path, b.buf, b.len);
	assert_int_equal(mbox_open(&mb, f->path, &f->o), MAIL_OK);
	snprintf(tmp, sizeof(tmp), "%s.new", f->path);
	put_file(tmp, b.buf, b.len);
	assert_int_equal(rename(tmp, f->path), 0);
	mb.msgs[1].deleted = 1;
	assert_int_equal(mbox_check_msg(&mb, 1), -1);
	assert_int_equal(mbox_expunge(&mb, &removed), MAIL_TEMP);
	assert_file(f->path, b.buf, b.len);
	mbox_close(&mb);

	/* locked by a delivery agent (a live dotlock) */
	put_file(f->path, b.buf, b.len);
	assert_int_equal(mbox_open(&mb, f->path, &f->o), MAIL_OK);
	snprintf(tmp, sizeof(tmp), "%s.lock", f->path);
	{
		char pid[24];
		int n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());

		put_file(tmp, pid, (size_t)n);
	}
	mb.opts.lock_timeout = 1;
	mb.msgs[1].deleted = 1;
	assert_int_equal(mbox_expunge(&mb, &removed), MAIL_TEMP);
	assert_file(f->path, b.buf, b.len);
	assert_true(exists(tmp));	/* not ours to remove */
	assert_int_equal(unlink(tmp), 0);
	/* and once it is gone */
	assert_int_equal(mbox_expunge(&mb, &removed), MAIL_OK);
	assert_int_equal(removed, 1);
	mbox_close(&mb);
}

/* Mail delivered during the session survives the expunge. */
static void
test_expunge_appended(void **state)
{
	struct fx *f = *state;
	const struct spec s[] = { A, B, C };
	const struct spec after[] = { A, C, D };
	const struct spec after2[] = { A, B, D };
	const struct spec sd[] = { D };
	static struct built b, d, want;
	struct mbox mb;
	uint32_t removed;

	build(&b, "", s, 3);
	build(&d, "", sd, 1);

	/* a middle message deleted */
	put_file(f->path, b.buf, b.len);
	assert_int_equal(mbox_open(&mb, f->path, &f->o), MAIL_OK);
	append_file(f->path, d.buf, d.len);
	mb.msgs[1].deleted = 1;
	assert_int_equal(mbox_expunge(&mb, &removed), MAIL_OK);
	assert_int_equal(removed, 1);
	mbox_close(&mb);
	build(&want, "", after, 3);
	assert_file(f->path, want.buf, want.len);
	assert_int_equal(mbox_open(&mb, f->path, &f->o), MAIL_OK);
	check_index(&mb, &want);
	mbox_close(&mb);

	/* the last message deleted */
	put_file(f->path, b.buf, b.len);
	assert_int_equal(mbox_open(&mb, f->path, &f->o), MAIL_OK);
	append_file(f->path, d.buf, d.len);
	mb.msgs[2].deleted = 1;
	assert_int_equal(mbox_expunge(&mb, &removed), MAIL_OK);
	assert_int_equal(removed, 1);
	mbox_close(&mb);
	build(&want, "", after2, 3);
	assert_file(f->path, want.buf, want.len);
	assert_int_equal(mbox_open(&mb, f->path, &f->o), MAIL_OK);
	check_index(&mb, &want);
	mbox_close(&mb);
}

/* The last message deleted while the mail appended after it starts with
 * the empty lines a delivery agent writes after a message without a
 * final newline: the message before keeps exactly its bytes. */
struct tail_case {
	const char	*orig;
	const char	*appended;
	const char	*want;
	const char	*want_first;	/* message 0's bytes afterwards */
};

static const struct tail_case tail_cases[] = {
	{ "From a\nS: a\n\nbody a\n\nFrom b\nS: b\n\nbody b",
	  "\n\nFrom c\nS: c\n\nbody c\n",
	  "From a\nS: a\n\nbody a\n\nFrom c\nS: c\n\nbody c\n",
	  "S: a\n\nbody a\n" },
	{ "From a\nS: a\n\nbody a\n\nFrom b\nS: b\n\nbody b\n",
	  "\nFrom c\nS: c\n\nbody c\n",
	  "From a\nS: a\n\nbody a\n\nFrom c\nS: c\n\nbody c\n",
	  "S: a\n\nbody a\n" },
	{ "From a\nS: a\n\nbody a\n\nFrom b\nS: b\n\nbody b\n\n",
	  "From c\nS: c\n\nbody c\n",
	  "From a\nS: a\n\nbody a\n\nFrom c\nS: c\n\nbody c\n",
	  "S: a\n\nbody a\n" },
	{ "From a\r\nS: a\r\n\r\nbody a\r\n\r\nFrom b\r\nS: b\r\n\r\nbody b",
	  "\r\n\r\nFrom c\r\nS: c\r\n\r\nbody c\r\n",
	  "From a\r\nS: a\r\n\r\nbody a\r\n\r\nFrom c\r\nS: c\r\n\r\nbody c"
	  "\r\n",
	  "S: a\r\n\r\nbody a\r\n" },
	/* not followed by a From_ line: message text, kept */
	{ "From a\nS: a\n\nbody a\n\nFrom b\nS: b\n\nbody b\n",
	  "\n\nmore\n",
	  "From a\nS: a\n\nbody a\n\n\n\nmore\n",
	  "S: a\n\nbody a\n\n\n\nmore\n" },
};

static void
test_expunge_last_tail(void **state)
{
	struct fx *f = *state;
	struct mbox mb;
	uint32_t removed;
	size_t c;

	for (c = 0; c < sizeof(tail_cases) / sizeof(tail_cases[0]); c++) {
		const struct tail_case *t = &tail_cases[c];
		uint64_t size0;

		print_message("tail case %zu\n", c);
		put_file(f->path, t->orig, strlen(t->orig));
		assert_int_equal(mbox_open(&mb, f->path, &f->o), MAIL_OK);
		assert_int_equal(mb.count, 2);
		size0 = mb.msgs[0].size;
		append_file(f->path, t->appended, strlen(t->appended));
		mb.msgs[1].deleted = 1;
		assert_int_equal(mbox_expunge(&mb, &removed), MAIL_OK);
		assert_int_equal(removed, 1);
		assert_int_equal(mb.count, 1);
		mbox_close(&mb);
		assert_file(f->path, t->want, strlen(t->want));

		assert_int_equal(mbox_open(&mb, f->path, &f->o), MAIL_OK);
		assert_true(mb.count >= 1);
		assert_int_equal(mb.msgs[0].end - mb.msgs[0].start,
		    strlen(t->want_first));
		assert_memory_equal(t->want + mb.msgs[0].start, t->want_first,
		    strlen(t->want_first));
		if (c < 4) {
			assert_int_equal(mb.count, 2);
			assert_int_equal(mb.msgs[0].size, size0);
		}
		mbox_close(&mb);
	}
}

/* ---- journal recovery ---- */

/* As mailstore/mbox_expunge.c lays it out. */
struct journal_hdr {
	char		magic[8];
	uint64_t	dev, ino;
	uint64_t	base;
	uint64_t	orig_len;
	uint64_t	len;
	uint64_t	complete;
	unsigned char	stale_sum[16];
};

static void
write_journal(const char *jp, const char *mbox_path, uint64_t base,
    const unsigned char *orig, size_t orig_len, const unsigned char *neu,
    size_t new_len, int complete, size_t body_cut)
{
	struct journal_hdr h;
	struct stat st;
	unsigned int mdlen = 0;
	unsigned char md[EVP_MAX_MD_SIZE];
	int fd;

	assert_int_equal(stat(mbox_path, &st), 0);
	memset(&h, 0, sizeof(h));
	memcpy(h.magic, "PPMBXJ01", 8);
	h.dev = (uint64_t)st.st_dev;
	h.ino = (uint64_t)st.st_ino;
	h.base = base;
	h.orig_len = orig_len;
	h.len = new_len - base;
	h.complete = (uint64_t)complete;
	assert_int_equal(EVP_Digest(orig + new_len, orig_len - new_len, md,
	    &mdlen, EVP_md5(), NULL), 1);
	memcpy(h.stale_sum, md, 16);
	fd = open(jp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd != -1);
	assert_int_equal(write(fd, &h, sizeof(h)), (ssize_t)sizeof(h));
	assert_int_equal(write(fd, neu + base, new_len - base - body_cut),
	    (ssize_t)(new_len - base - body_cut));
	assert_int_equal(close(fd), 0);
}

/* Crash states, each checked by its own test. */
enum jstate {
	J_PARTIAL,		/* (a) journal complete, copy half done */
	J_COPIED,		/* (b) copied, not truncated */
	J_TRUNCATED,		/* (c) truncated, journal not yet removed */
	J_INCOMPLETE,		/* (d) incomplete: mbox untouched */
	J_INCOMPLETE_SHORT,	/* (d) ... and shorter than it says */
	J_COPIED_APPENDED,	/* (e) (b), then a delivery */
	J_PARTIAL_APPENDED,	/* (a), then a delivery */
	J_TRUNCATED_APPENDED,	/* (c), then a delivery */
	J_MOVED_APPENDED,	/* (e), then the recovery itself killed:
				 * it had folded the delivery into the
				 * journal (new orig_len, len, stale sum)
				 * and copied it behind the new contents,
				 * but not truncated */
	J_MISMATCH		/* neither: kept aside as .failed */
};

static void
journal_case(struct fx *f, enum jstate js)
{
	const struct spec s[] = { A, B, C, D };
	const struct spec kept[] = { A, C };
	const struct spec sx[] = { D };
	static struct built b, want, x;
	static unsigned char st[65536], w[65536];
	struct mbox mb;
	char jp[MAIL_MAX_PATH], fp[MAIL_MAX_PATH + 8];
	uint32_t removed;
	uint64_t base;
	size_t newlen, half, sl = 0, wl = 0;
	int complete = 1, more = 0;

	assert_int_equal(sizeof(struct journal_hdr), 72);
	build(&b, "", s, 4);
	build(&want, "", kept, 2);
	build(&x, "", sx, 1);	/* delivered after the crash */
	base = b.from_off[1];
	newlen = want.len;
	half = (size_t)base + (newlen - (size_t)base) / 2;

	/* what mbox_expunge makes of it, on a copy (B and D deleted) */
	put_file(f->copy, b.buf, b.len);
	assert_int_equal(mbox_open(&mb, f->copy, &f->o), MAIL_OK);
	mb.msgs[1].deleted = 1;
	mb.msgs[3].deleted = 1;
	assert_int_equal(mbox_expunge(&mb, &removed), MAIL_OK);
	mbox_close(&mb);
	assert_file(f->copy, want.buf, want.len);

	/* the journal's name for the real one (a session opened it) */
	put_file(f->path, b.buf, b.len);
	assert_int_equal(mbox_open(&mb, f->path, &f->o), MAIL_OK);
	index_file(&mb, ".journal", jp, sizeof(jp));
	mbox_close(&mb);
	snprintf(fp, sizeof(fp), "%s.failed", jp);

	switch (js) {
	case J_PARTIAL:
	case J_PARTIAL_APPENDED:
		memcpy(st, want.buf, half);
		memcpy(st + half, b.buf + half, b.len - half);
		sl = b.len;
		break;
	case J_COPIED:
	case J_COPIED_APPENDED:
		memcpy(st, want.buf, newlen);
		memcpy(st + newlen, b.buf + newlen, b.len - newlen);
		sl = b.len;
		break;
	case J_TRUNCATED:
	case J_TRUNCATED_APPENDED:
		memcpy(st, want.buf, newlen);
		sl = newlen;
		break;
	case J_MOVED_APPENDED:
		/* apply_journal() copied the journal and moved the
		 * delivery (at orig_len) down to the new end, over part
		 * of the stale bytes; the delivery is added at orig_len
		 * below */
		assert_true(x.len < b.len - newlen);
		memcpy(st, want.buf, newlen);
		memcpy(st + newlen, x.buf, x.len);
		memcpy(st + newlen + x.len, b.buf + newlen + x.len,
		    b.len - newlen - x.len);
		sl = b.len;
		break;
	case J_INCOMPLETE:
	case J_INCOMPLETE_SHORT:
	case J_MISMATCH:
		memcpy(st, b.buf, b.len);
		sl = b.len;
		complete = js == J_MISMATCH;
		break;
	}
	if (js == J_MISMATCH) {
		/* the rewritten range and the stale range both differ */
		memset(st + base + 5, 'Q', 20);	/* still a From_ line */
		st[b.len - 2] = 'X';
	}
	more = js == J_PARTIAL_APPENDED || js == J_COPIED_APPENDED ||
	    js == J_TRUNCATED_APPENDED || js == J_MOVED_APPENDED;
	if (more) {
		memcpy(st + sl, x.buf, x.len);
		sl += x.len;
	}
	/* the expected result */
	if (complete && js != J_MISMATCH) {
		memcpy(w, want.buf, newlen);
		wl = newlen;
		if (more) {
			memcpy(w + wl, x.buf, x.len);
			wl += x.len;
		}
	} else {
		memcpy(w, st, sl);
		wl = sl;
	}

	put_file(f->path, st, sl);
	if (js == J_MOVED_APPENDED) {
		/* the journal as fold_appended() leaves it: the file at
		 * fold time was (e), i.e. want[0,newlen) + b[newlen,b.len)
		 * + x; the new contents are want + x */
		static unsigned char fold[65536], neu[65536];

		memcpy(fold, want.buf, newlen);
		memcpy(fold + newlen, b.buf + newlen, b.len - newlen);
		memcpy(fold + b.len, x.buf, x.len);
		memcpy(neu, want.buf, newlen);
		memcpy(neu + newlen, x.buf, x.len);
		write_journal(jp, f->path, base, fold, b.len + x.len, neu,
		    newlen + x.len, 1, 0);
	} else
		write_journal(jp, f->path, base, b.buf, b.len, want.buf,
		    newlen, complete, js == J_INCOMPLETE_SHORT ? 10 : 0);
	assert_int_equal(mbox_open(&mb, f->path, &f->o), MAIL_OK);
	assert_file(f->path, w, wl);
	assert_false(exists(jp));
	if (js == J_MISMATCH) {
		assert_true(exists(fp));
		assert_int_equal(mb.count, 4);
	} else if (!complete) {
		assert_false(exists(fp));
		assert_int_equal(mb.count, 4);
		assert_string_equal(mb.msgs[3].uidl, b.uidl[3]);
	} else {
		assert_false(exists(fp));
		assert_int_equal(mb.count, more ? 3 : 2);
		assert_string_equal(mb.msgs[0].uidl, want.uidl[0]);
		assert_string_equal(mb.msgs[1].uidl, want.uidl[1]);
		assert_int_equal(mb.msgs[1].start, want.start[1]);
		assert_int_equal(mb.msgs[1].end, want.end[1]);
		if (more)
			assert_memory_equal(mb.msgs[2].uidl, x.uidl[0], 32);
	}
	mbox_close(&mb);

	/* and the next open is an ordinary one */
	assert_int_equal(mbox_open(&mb, f->path, &f->o), MAIL_OK);
	assert_file(f->path, w, wl);
	mbox_close(&mb);
}

static void
test_journal_partial(void **state)
{
	journal_case(*state, J_PARTIAL);
}

static void
test_journal_copied(void **state)
{
	journal_case(*state, J_COPIED);
}

static void
test_journal_truncated(void **state)
{
	journal_case(*state, J_TRUNCATED);
}

static void
test_journal_incomplete(void **state)
{
	journal_case(*state, J_INCOMPLETE);
	journal_case(*state, J_INCOMPLETE_SHORT);
}

static void
test_journal_copied_appended(void **state)
{
	journal_case(*state, J_COPIED_APPENDED);
}

static void
test_journal_partial_appended(void **state)
{
	journal_case(*state, J_PARTIAL_APPENDED);
}

static void
test_journal_truncated_appended(void **state)
{
	journal_case(*state, J_TRUNCATED_APPENDED);
}

static void
test_journal_moved_appended(void **state)
{
	journal_case(*state, J_MOVED_APPENDED);
}

static void
test_journal_mismatch(void **state)
{
	journal_case(*state, J_MISMATCH);
}

/* ---- locks ---- */

static double
elapsed(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) +
	    (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

static void
write_lock(const char *lock, long pid, time_t age)
{
	char b[24];
	int n = snprintf(b, sizeof(b), "%ld\n", pid);

	put_file(lock, b, (size_t)n);
	if (age > 0) {
		struct timespec ts[2];

		clock_gettime(CLOCK_REALTIME, &ts[0]);
		ts[0].tv_sec -= age;
		ts[1] = ts[0];
		assert_int_equal(utimensat(AT_FDCWD, lock, ts, 0), 0);
	}
}

static int
lock_holds_pid(const char *lock, long pid)
{
	size_t n;
	unsigned char *p = slurp(lock, &n);
	char want[24];
	int r;

	snprintf(want, sizeof(want), "%ld\n", pid);
	r = n == strlen(want) && memcmp(p, want, n) == 0;
	free(p);
	return r;
}

/* Files in dir other than the ones named. */
static int
stray_files(const char *dir, const char *a, const char *b)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 ||
		    strcmp(e->d_name, "..") == 0 ||
		    (a && strcmp(e->d_name, a) == 0) ||
		    (b && strcmp(e->d_name, b) == 0))
			continue;
		fprintf(stderr, "stray file %s/%s\n", dir, e->d_name);
		n++;
	}
	closedir(d);
	return n;
}

static void
test_dotlock(void **state)
{
	struct fx *f = *state;
	struct mbox_lock lk;
	char lock[256];
	struct timespec t0;
	pid_t pid;
	int status;

	snprintf(lock, sizeof(lock), "%s.lock", f->path);

	/* taken and given back */
	assert_int_equal(mbox_lock(&lk, AT_FDCWD, f->path, -1, MBOX_LOCK_DOTLOCK, 2,
	    300), ML_OK);
	assert_int_equal(lk.held, MBOX_LOCK_DOTLOCK);
	assert_true(exists(lock));
	assert_true(lock_holds_pid(lock, (long)getpid()));
	assert_int_equal(stray_files(f->top, "mbox.lock", NULL), 0);
	mbox_unlock(&lk);
	assert_false(exists(lock));
	assert_int_equal(stray_files(f->top, NULL, NULL), 0);

	/* the holder is dead: broken at once */
	pid = fork();
	assert_true(pid != -1);
	if (pid == 0)
		_exit(0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	write_lock(lock, (long)pid, 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(mbox_lock(&lk, AT_FDCWD, f->path, -1, MBOX_LOCK_DOTLOCK, 5,
	    300), ML_OK);
	assert_true(elapsed(&t0) < 1.0);
	assert_true(lock_holds_pid(lock, (long)getpid()));
	mbox_unlock(&lk);
	assert_false(exists(lock));

	/* a live holder, but older than stale: broken by age */
	write_lock(lock, (long)getpid(), 600);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(mbox_lock(&lk, AT_FDCWD, f->path, -1, MBOX_LOCK_DOTLOCK, 5,
	    300), ML_OK);
	assert_true(elapsed(&t0) < 1.0);
	mbox_unlock(&lk);
	assert_false(exists(lock));

	/* a live holder, not stale yet: a timeout, the lock stays */
	write_lock(lock, (long)getpid(), 100);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(mbox_lock(&lk, AT_FDCWD, f->path, -1, MBOX_LOCK_DOTLOCK, 1,
	    300), ML_TIMEOUT);
	assert_true(elapsed(&t0) < 3.0);
	assert_int_equal(lk.held, 0);
	assert_true(lock_holds_pid(lock, (long)getpid()));

	/* a fresh one */
	write_lock(lock, (long)getpid(), 0);
	assert_int_equal(mbox_lock(&lk, AT_FDCWD, f->path, -1, MBOX_LOCK_DOTLOCK, 1,
	    300), ML_TIMEOUT);
	assert_true(lock_holds_pid(lock, (long)getpid()));

	/* no pid in it (some writers): only age breaks it */
	put_file(lock, "", 0);
	assert_int_equal(mbox_lock(&lk, AT_FDCWD, f->path, -1, MBOX_LOCK_DOTLOCK, 1,
	    300), ML_TIMEOUT);
	assert_true(exists(lock));
	assert_int_equal(stray_files(f->top, "mbox.lock", NULL), 0);
	assert_int_equal(unlink(lock), 0);

	/* mbox_open cannot scan while a delivery holds the lock */
	put_file(f->path, "From a\n\nx\n", 10);
	write_lock(lock, (long)getpid(), 0);
	{
		struct mbox mb;
		struct mbox_opts o = f->o;

		o.lock_timeout = 1;
		assert_int_equal(mbox_open(&mb, f->path, &o), MAIL_TEMP);
		mbox_close(&mb);
		assert_int_equal(unlink(lock), 0);
		assert_int_equal(mbox_open(&mb, f->path, &o), MAIL_OK);
		assert_int_equal(mb.count, 1);
		mbox_close(&mb);
	}
}

/* An fcntl lock held by another process: a timeout, and the dotlock
 * taken before it is given back. */
static void
test_fcntl_lock(void **state)
{
	struct fx *f = *state;
	struct mbox_lock lk;
	char lock[256], c;
	int pfd[2], fd, status;
	pid_t pid;

	snprintf(lock, sizeof(lock), "%s.lock", f->path);
	put_file(f->path, "From a\n\nx\n", 10);
	assert_int_equal(pipe(pfd), 0);
	pid = fork();
	assert_true(pid != -1);
	if (pid == 0) {
		struct flock fl;
		int cfd = open(f->path, O_RDWR);

		memset(&fl, 0, sizeof(fl));
		fl.l_type = F_WRLCK;
		fl.l_whence = SEEK_SET;
		if (cfd == -1 || fcntl(cfd, F_SETLKW, &fl) == -1)
			_exit(1);
		(void)!write(pfd[1], "x", 1);
		for (;;)
			pause();
	}
	close(pfd[1]);
	assert_int_equal(read(pfd[0], &c, 1), 1);
	close(pfd[0]);

	fd = open(f->path, O_RDWR);
	assert_true(fd != -1);
	assert_int_equal(mbox_lock(&lk, AT_FDCWD, f->path, fd,
	    MBOX_LOCK_DOTLOCK | MBOX_LOCK_FCNTL, 1, 300), ML_TIMEOUT);
	assert_int_equal(lk.held, 0);
	assert_false(exists(lock));

	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(mbox_lock(&lk, AT_FDCWD, f->path, fd,
	    MBOX_LOCK_DOTLOCK | MBOX_LOCK_FCNTL | MBOX_LOCK_FLOCK, 1, 300),
	    ML_OK);
	assert_int_equal(lk.held,
	    MBOX_LOCK_DOTLOCK | MBOX_LOCK_FCNTL | MBOX_LOCK_FLOCK);
	assert_true(exists(lock));
	mbox_unlock(&lk);
	assert_false(exists(lock));
	close(fd);
}

#define T(fn)	cmocka_unit_test_setup_teardown(fn, setup, teardown)

/* ---- UIDL sources ---- */

/* Vectors from Debian's popa3d 1.0.3 serving this very mbox (UIDL). */
static void
test_uidl_popa3d(void **state)
{
	struct fx *f = *state;
	static const char in[] =
	    "From sender@example.org Mon Jan  1 00:00:00 2024\n"
	    "Return-Path: <s@example.org>\n"
	    "Received: from mx.example.org by host with SMTP id 1A2B\n"
	    "\tfor <u@example.org>; Mon, 1 Jan 2024 00:00:00 +0000\n"
	    "Received: from elsewhere by mx\n"
	    "Date: Mon, 1 Jan 2024 00:00:00 +0000\n"
	    "Message-ID: <one@example.org>\n"
	    "Delivered-To: u@example.org\nSubject: one\nStatus: RO\n\n"
	    "body one\n\n"
	    "From sender@example.org Mon Jan  1 00:00:01 2024\n"
	    "Date: Mon, 1 Jan 2024 00:00:01 +0000\n"
	    "message-id: <two@example.org>\nX-Delivery-ID: abc\n"
	    "Subject: two\n\nbody two\n\n"
	    "From sender@example.org Mon Jan  1 00:00:02 2024\n"
	    "Subject: none\nx-delivery-id: lower\n\nbody three\n\n"
	    "From sender@example.org Mon Jan  1 00:00:03 2024\n"
	    "rECEIVED: by x\n  cont\nDATE: d\n\nb4\n\n";
	struct mbox mb;

	put_file(f->path, in, sizeof(in) - 1);
	assert_int_equal(mbox_open(&mb, f->path, &f->o), MAIL_OK);
	assert_int_equal(mb.count, 4);
	assert_string_equal(mb.msgs[0].uidl, "da401c4b922593a8");
	assert_string_equal(mb.msgs[1].uidl, "d3f049df8ce05905");
	/* popa3d: d98c1dd404b2008f (no header of its list; every such
	 * message has it); privpop: the key */
	assert_int_equal(strlen(mb.msgs[2].uidl), 32);
	assert_string_equal(mb.msgs[3].uidl, "108090916c103e12");
	mbox_close(&mb);
}

/* Status:-type headers (with continuations) do not change the key;
 * Subject does; X-UIDL, X-UID with X-IMAPbase are served, bad ones
 * are not. */
static void
test_uidl_sources(void **state)
{
	struct fx *f = *state;
	static const char a[] =
	    "From x Mon Jan  1 00:00:00 2024\nSubject: s\n\nbody\n";
	static const char b[] =
	    "From x Mon Jan  1 00:00:00 2024\nStatus: RO\nX-Status: A\n"
	    "Subject: s\nX-Keywords: k\n\tmore\ncontent-length: 5\n"
	    "X-UID: 1\nX-IMAP: 1 2\n\nbody\n";
	static const char c[] =
	    "From x Mon Jan  1 00:00:00 2024\nSubject: t\n\nbody\n";
	static const char x[] =
	    "From x Mon Jan  1 00:00:00 2024\nX-IMAPbase: 300 10 k\n"
	    "X-UID: 4\nSubject: 1\n\n1\n\n"
	    "From x Mon Jan  1 00:00:00 2024\nX-UIDL: q-1\nX-UID: 5\n"
	    "Subject: 2\n\n2\n\n"
	    "From x Mon Jan  1 00:00:00 2024\nX-UIDL: q-1\nSubject: 3\n\n3\n\n"
	    "From x Mon Jan  1 00:00:00 2024\nX-UIDL: q 2\nX-UID: 11\n"
	    "Subject: 4\n\n4\n\n"
	    "From x Mon Jan  1 00:00:00 2024\nX-UIDL: q-3\nX-UIDL: q-4\n"
	    "Subject: 5\n\n5\n";
	struct mbox mb;
	char ua[POP3_MAX_UIDL + 1];

	put_file(f->path, a, sizeof(a) - 1);
	assert_int_equal(mbox_open(&mb, f->path, &f->o), MAIL_OK);
	snprintf(ua, sizeof(ua), "%s", mb.msgs[0].uidl);
	mbox_close(&mb);
	put_file(f->path, b, sizeof(b) - 1);
	assert_int_equal(mbox_open(&mb, f->path, &f->o), MAIL_OK);
	assert_string_equal(mb.msgs[0].uidl, ua);
	mbox_close(&mb);
	/* without the cache too */
	put_file(f->path, c, sizeof(c) - 1);
	assert_int_equal(mbox_open(&mb, f->path, &f->o), MAIL_OK);
	assert_string_not_equal(mb.msgs[0].uidl, ua);
	mbox_close(&mb);

	put_file(f->path, x, sizeof(x) - 1);
	assert_int_equal(mbox_open(&mb, f->path, &f->o), MAIL_OK);
	assert_int_equal(mb.count, 5);
	assert_string_equal(mb.msgs[0].uidl, "000000040000012c");
	assert_string_equal(mb.msgs[1].uidl, "q-1");
	/* a repeated X-UIDL: computed */
	assert_int_equal(strlen(mb.msgs[2].uidl), 32);
	/* X-UIDL with a space: ignored; X-UID >= uidnext: ignored */
	assert_int_equal(strlen(mb.msgs[3].uidl), 32);
	/* two X-UIDL: headers: ignored */
	assert_int_equal(strlen(mb.msgs[4].uidl), 32);
	mbox_close(&mb);
}

/* pop3_uidl_format renders X-UID: and X-IMAPbase: as Dovecot did with
 * it; a format with %f or %g has no value for an mbox message, which
 * then gets privpop's own; the cache keeps what was served. */
static void
test_uidl_format(void **state)
{
	struct fx *f = *state;
	static const char x[] =
	    "From x Mon Jan  1 00:00:00 2024\nX-IMAPbase: 300 10 k\n"
	    "X-UID: 4\nSubject: 1\n\n1\n\n"
	    "From x Mon Jan  1 00:00:00 2024\nX-UIDL: q-1\nX-UID: 5\n"
	    "Subject: 2\n\n2\n\n"
	    "From x Mon Jan  1 00:00:00 2024\nX-UID: 9\nSubject: 3\n\n3\n";
	struct mbox mb;
	struct mbox_opts o = f->o;
	char own[POP3_MAX_UIDL + 1], third[sizeof(f->top) + 8];

	put_file(f->path, x, sizeof(x) - 1);
	o.uidl_format = "%v.%u";
	assert_int_equal(mbox_open(&mb, f->path, &o), MAIL_OK);
	assert_int_equal(mb.count, 3);
	assert_string_equal(mb.msgs[0].uidl, "300.4");
	assert_string_equal(mb.msgs[1].uidl, "q-1");	/* X-UIDL: first */
	assert_string_equal(mb.msgs[2].uidl, "300.9");
	mbox_close(&mb);
	/* what clients were told stays, whatever the format says now */
	o.uidl_format = "%u";
	assert_int_equal(mbox_open(&mb, f->path, &o), MAIL_OK);
	assert_string_equal(mb.msgs[0].uidl, "300.4");
	assert_string_equal(mb.msgs[2].uidl, "300.9");
	mbox_close(&mb);

	/* the same messages in another mbox (no cache), as %f and %u */
	put_file(f->copy, x, sizeof(x) - 1);
	o.uidl_format = "%f";
	assert_int_equal(mbox_open(&mb, f->copy, &o), MAIL_OK);
	assert_int_equal(strlen(mb.msgs[0].uidl), 32);	/* privpop's */
	snprintf(own, sizeof(own), "%s", mb.msgs[0].uidl);
	mbox_close(&mb);
	/* and a third, with Dovecot's default */
	snprintf(third, sizeof(third), "%s/third", f->top);
	put_file(third, x, sizeof(x) - 1);
	o.uidl_format = NULL;
	assert_int_equal(mbox_open(&mb, third, &o), MAIL_OK);
	assert_string_equal(mb.msgs[0].uidl, "000000040000012c");
	assert_string_not_equal(mb.msgs[0].uidl, own);
	mbox_close(&mb);
}

/* A cache written by an older privpop (version 1: the digest of the
 * From_ line and the whole header block): its UIDLs are kept, also
 * after a reader rewrites the file. */
static void
test_uidl_legacy_cache(void **state)
{
	struct fx *f = *state;
	const struct spec s[] = { A, B, A };
	static struct built b;
	struct {
		char magic[8];
		uint64_t dev, ino, scanned, junk, count;
		unsigned char headsum[16], tailsum[16], recsum[16];
	} h;
	unsigned char recs[3 * 52], md[EVP_MAX_MD_SIZE];
	unsigned int mdlen;
	char p[MAIL_MAX_PATH], want[3][POP3_MAX_UIDL + 1];
	struct mbox mb;
	struct stat st;
	size_t i;
	int fd;

	build(&b, "", s, 3);
	put_file(f->path, b.buf, b.len);
	assert_int_equal(stat(f->path, &st), 0);
	memset(&h, 0, sizeof(h));
	memcpy(h.magic, "PPMBOX01", 8);
	h.dev = st.st_dev;
	h.ino = st.st_ino;
	h.scanned = b.len;
	h.count = 3;
	for (i = 0; i < 3; i++) {
		uint64_t v[4] = { b.from_off[i], b.start[i], b.end[i],
		    b.size[i] };
		uint32_t dup = i == 2 ? 1 : 0;
		/* From_ line, headers and the empty line */
		size_t hl = strlen(s[i].from) + 1 + strlen(s[i].hdr) + 1;

		assert_int_equal(EVP_Digest(b.buf + b.from_off[i], hl, md,
		    &mdlen, EVP_md5(), NULL), 1);
		memcpy(recs + i * 52, v, 32);
		memcpy(recs + i * 52 + 32, md, 16);
		memcpy(recs + i * 52 + 48, &dup, 4);
		md5_hex(b.buf + b.from_off[i], hl, want[i]);
		if (dup)
			strcat(want[i], "-2");
	}
	assert_int_equal(EVP_Digest(recs, sizeof(recs), md, &mdlen,
	    EVP_md5(), NULL), 1);
	memcpy(h.recsum, md, 16);
	/* where the cache goes: ask an mbox opened once */
	assert_int_equal(mbox_open(&mb, f->path, &f->o), MAIL_OK);
	index_file(&mb, ".cache", p, sizeof(p));
	assert_string_not_equal(mb.msgs[0].uidl, want[0]);
	mbox_close(&mb);
	assert_true((fd = open(p, O_WRONLY | O_TRUNC)) != -1);
	assert_int_equal(write(fd, &h, sizeof(h)), sizeof(h));
	assert_int_equal(write(fd, recs, sizeof(recs)), sizeof(recs));
	close(fd);

	assert_int_equal(mbox_open(&mb, f->path, &f->o), MAIL_OK);
	for (i = 0; i < 3; i++)
		assert_string_equal(mb.msgs[i].uidl, want[i]);
	mbox_close(&mb);
	/* a reader adds Status: RO to the first: the cache (now version
	 * 2) no longer fits, its UIDLs still go to the same messages */
	{
		static struct built r;
		struct spec s2[3] = { A, B, A };

		s2[0].hdr = "From: alice@example.org\nSubject: a\nStatus: RO\n";
		build(&r, "", s2, 3);
		put_file(f->path, r.buf, r.len);
	}
	assert_int_equal(mbox_open(&mb, f->path, &f->o), MAIL_OK);
	assert_int_equal(mb.count, 3);
	for (i = 0; i < 3; i++)
		assert_string_equal(mb.msgs[i].uidl, want[i]);
	mbox_close(&mb);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_open_counts),
		T(test_open_junk),
		T(test_open_crlf_nonl),
		T(test_open_empty_and_missing),
		T(test_inuse),
		T(test_cache_append),
		T(test_cache_last_grows),
		T(test_cache_head_change),
		T(test_uidl_popa3d),
		T(test_uidl_sources),
		T(test_uidl_format),
		T(test_uidl_legacy_cache),
		T(test_expunge),
		T(test_expunge_nothing),
		T(test_expunge_changed),
		T(test_expunge_appended),
		T(test_expunge_last_tail),
		T(test_journal_partial),
		T(test_journal_copied),
		T(test_journal_truncated),
		T(test_journal_incomplete),
		T(test_journal_copied_appended),
		T(test_journal_partial_appended),
		T(test_journal_truncated_appended),
		T(test_journal_moved_appended),
		T(test_journal_mismatch),
		T(test_dotlock),
		T(test_fcntl_lock),
	};

	umask(022);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
