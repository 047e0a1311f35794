/*
 * Unit tests for mailstore/maildir_cache.c, the Maildir size cache
 * (".privpop-sizes"): the parser on valid and malformed text (the file
 * belongs to the mailbox owner and is untrusted), lookups and the hit
 * count, save/load round trips in a temporary directory (mode, no temp
 * file left, expunged messages left out, symlinks not followed), and
 * the cache as maildir_open/maildir_close use it.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "limits.h"
#include "maildir.h"
#include "maildir_cache.h"

#define MAGIC		MDCACHE_MAGIC
#define MAX_SIZE	9223372036854775807ULL	/* UINT64_MAX / 2 */

/* ---- helpers ---- */

/* mdcache_parse on a malloc'd copy of exactly len bytes (no NUL after
 * them, so an overread is a real overread); the cache takes it over. */
static int
parse_bytes(struct mdcache *c, const char *s, size_t len)
{
	char *p = malloc(len > 0 ? len : 1);

	assert_non_null(p);
	memcpy(p, s, len);
	return mdcache_parse(c, p, len);
}

static int
parse_str(struct mdcache *c, const char *s)
{
	return parse_bytes(c, s, strlen(s));
}

/* The state "c empty" that the header promises after a failure. */
static void
assert_cache_empty(struct mdcache *c)
{
	uint64_t v = 4242;

	assert_null(c->buf);
	assert_null(c->tab);
	assert_int_equal(c->n, 0);
	assert_int_equal(c->hits, 0);
	assert_int_equal(mdcache_lookup(c, "a", &v), -1);
	assert_int_equal(mdcache_lookup(c, "1.a", &v), -1);
	assert_int_equal(v, 4242);
	assert_int_equal(c->hits, 0);
}

static void
assert_lookup(struct mdcache *c, const char *uidl, uint64_t want)
{
	uint64_t v = 4242;
	size_t before = c->hits;

	if (mdcache_lookup(c, uidl, &v) != 0)
		fail_msg("lookup \"%s\": not found", uidl);
	if (v != want)
		fail_msg("lookup \"%s\": %llu, want %llu", uidl,
		    (unsigned long long)v, (unsigned long long)want);
	assert_int_equal(c->hits, before + 1);
}

static void
assert_absent(struct mdcache *c, const char *uidl)
{
	uint64_t v = 4242;
	size_t before = c->hits;

	if (mdcache_lookup(c, uidl, &v) != -1)
		fail_msg("lookup \"%s\": found %llu, want none", uidl,
		    (unsigned long long)v);
	assert_int_equal(v, 4242);
	assert_int_equal(c->hits, before);
}

/* ---- mdcache_parse ---- */

static void
test_parse_valid(void **state)
{
	char u70[POP3_MAX_UIDL + 1], text[512];
	struct mdcache c;

	(void)state;
	memset(u70, 'u', POP3_MAX_UIDL);
	u70[0] = '7';
	u70[POP3_MAX_UIDL] = '\0';
	snprintf(text, sizeof(text), "%s"
	    "1700000001.M1P100.host 22\n"
	    "1700000002.M2P100.host 0\n"
	    "~!} 7\n"
	    "%s 123456789\n"
	    "big 9223372036854775807\n"
	    "zeros 007\n"
	    "1.a 1\n"
	    "1.ab 2\n"
	    "0123456789abcdef0123456789abcdef01234567 5000\n",
	    MAGIC, u70);
	assert_int_equal(parse_str(&c, text), 0);
	assert_int_equal(c.n, 9);
	assert_int_equal(c.hits, 0);
	assert_true(c.mask + 1 >= 2 * c.n);
	assert_int_equal(c.mask & (c.mask + 1), 0);	/* a power of two */

	assert_lookup(&c, "1700000001.M1P100.host", 22);
	assert_lookup(&c, "1700000002.M2P100.host", 0);
	assert_lookup(&c, "~!}", 7);
	assert_lookup(&c, u70, 123456789);
	assert_lookup(&c, "big", MAX_SIZE);
	assert_lookup(&c, "zeros", 7);
	assert_lookup(&c, "1.a", 1);
	assert_lookup(&c, "1.ab", 2);
	assert_lookup(&c, "0123456789abcdef0123456789abcdef01234567", 5000);
	assert_int_equal(c.hits, 9);
	/* every lookup that finds one counts, the same one twice too */
	assert_lookup(&c, "1.a", 1);
	assert_int_equal(c.hits, 10);

	/* near misses */
	assert_absent(&c, "");
	assert_absent(&c, "1.");
	assert_absent(&c, "1.abc");
	assert_absent(&c, "1700000001.M1P100.hos");
	assert_absent(&c, "1700000001.M1P100.host ");
	assert_absent(&c, "BIG");
	assert_absent(&c, "22");
	assert_absent(&c, "privpop-sizes");
	assert_int_equal(c.hits, 10);
	mdcache_free(&c);
	assert_null(c.buf);
	assert_null(c.tab);
	assert_int_equal(c.n, 0);
	assert_absent(&c, "1.a");
}

/* Enough entries for many collisions and a large table. */
static void
test_parse_many(void **state)
{
	const size_t n = 5000;
	size_t cap = sizeof(MAGIC) + n * 48, off, i;
	char *text = malloc(cap), u[64];
	struct mdcache c;

	(void)state;
	assert_non_null(text);
	off = (size_t)snprintf(text, cap, "%s", MAGIC);
	for (i = 0; i < n; i++) {
		int k = snprintf(text + off, cap - off, "%zu.M%zuP9.h %zu\n",
		    i * 7919 % n, i, i * 3 + 1);

		assert_true(k > 0 && (size_t)k < cap - off);
		off += (size_t)k;
	}
	assert_int_equal(parse_bytes(&c, text, off), 0);
	free(text);
	assert_int_equal(c.n, n);
	assert_true(c.mask + 1 >= 2 * n);
	for (i = 0; i < n; i++) {
		snprintf(u, sizeof(u), "%zu.M%zuP9.h", i * 7919 % n, i);
		assert_lookup(&c, u, i * 3 + 1);
	}
	for (i = 0; i < 200; i++) {
		snprintf(u, sizeof(u), "%zu.M%zuP9.h", i * 7919 % n, i + 1);
		assert_absent(&c, u);
	}
	assert_int_equal(c.hits, n);
	mdcache_free(&c);
}

/* The magic line alone: a valid cache of nothing. */
static void
test_parse_magic_only(void **state)
{
	struct mdcache c;

	(void)state;
	assert_int_equal(parse_str(&c, MAGIC), 0);
	assert_int_equal(c.n, 0);
	assert_int_equal(c.hits, 0);
	assert_absent(&c, "a");
	assert_absent(&c, "privpop-sizes");
	mdcache_free(&c);
}

struct bad_case {
	const char	*why;
	const char	*text;	/* after the magic line unless raw */
	size_t		 len;	/* 0: strlen */
	int		 raw;	/* text is the whole file */
};

#define U71 "12345678901234567890123456789012345678901234567890" \
	    "123456789012345678901"

static const struct bad_case bad_cases[] = {
	/* the magic line */
	{ "empty file", "", 0, 1 },
	{ "magic without newline", "privpop-sizes 1", 0, 1 },
	{ "magic cut short", "privpop-siz", 0, 1 },
	{ "version 2", "privpop-sizes 2\na 1\n", 0, 1 },
	{ "version 0", "privpop-sizes 0\n", 0, 1 },
	{ "version 10", "privpop-sizes 10\na 1\n", 0, 1 },
	{ "magic in capitals", "PRIVPOP-SIZES 1\na 1\n", 0, 1 },
	{ "magic with CRLF", "privpop-sizes 1\r\na 1\n", 0, 1 },
	{ "magic after an empty line", "\nprivpop-sizes 1\na 1\n", 0, 1 },
	{ "magic with a leading space", " privpop-sizes 1\na 1\n", 0, 1 },
	{ "magic with two spaces", "privpop-sizes  1\na 1\n", 0, 1 },
	{ "no magic", "a 1\n", 0, 1 },
	{ "NUL in the magic", "privpop-sizes\0001\na 1\n", 20, 1 },

	/* the final newline */
	{ "no final newline", "a 1", 0, 0 },
	{ "no final newline after lines", "a 1\nb 2", 0, 0 },
	{ "final CR only", "a 1\r", 0, 0 },
	{ "no final newline, no space", "a 1\nabc", 0, 0 },
	{ "no final newline, uidl alone", "abc", 0, 0 },

	/* the uidl */
	{ "empty uidl", " 5\n", 0, 0 },
	{ "empty uidl later", "a 1\n 5\n", 0, 0 },
	{ "uidl with a space", "a b 5\n", 0, 0 },
	{ "uidl with a tab", "a\tb 5\n", 0, 0 },
	{ "uidl with a control char", "a\001b 5\n", 0, 0 },
	{ "uidl with ESC", "\033[1m 5\n", 0, 0 },
	{ "uidl with DEL", "a\177 5\n", 0, 0 },
	{ "uidl with a high byte", "caf\303\251 5\n", 0, 0 },
	{ "uidl with 0xff", "\377 5\n", 0, 0 },
	{ "uidl with NUL", "a\000b 5\n", 6, 0 },
	{ "uidl of a NUL", "\000 5\n", 4, 0 },
	{ "uidl with CR", "a\rb 5\n", 0, 0 },
	{ "uidl of 71 chars", U71 " 5\n", 0, 0 },

	/* the size */
	{ "empty size", "a \n", 0, 0 },
	{ "size x", "a x\n", 0, 0 },
	{ "size 1x", "a 1x\n", 0, 0 },
	{ "size x1", "a x1\n", 0, 0 },
	{ "size +1", "a +1\n", 0, 0 },
	{ "size -1", "a -1\n", 0, 0 },
	{ "size -0", "a -0\n", 0, 0 },
	{ "size 0x10", "a 0x10\n", 0, 0 },
	{ "size 1e3", "a 1e3\n", 0, 0 },
	{ "size 1.5", "a 1.5\n", 0, 0 },
	{ "size with two spaces", "a  1\n", 0, 0 },
	{ "size with a trailing space", "a 1 \n", 0, 0 },
	{ "size with a trailing tab", "a 1\t\n", 0, 0 },
	{ "two sizes", "a 1 2\n", 0, 0 },
	{ "size with CRLF", "a 1\r\n", 0, 0 },
	{ "size with NUL", "a 1\0002\n", 6, 0 },
	{ "size over UINT64_MAX / 2", "a 9223372036854775808\n", 0, 0 },
	{ "size UINT64_MAX", "a 18446744073709551615\n", 0, 0 },
	{ "size over UINT64_MAX", "a 18446744073709551616\n", 0, 0 },
	{ "size of 21 digits", "a 000000000000000000001\n", 0, 0 },
	{ "size of 30 digits", "a 999999999999999999999999999999\n", 0, 0 },
	{ "size unicode digit", "a \331\241\n", 0, 0 },

	/* lines */
	{ "duplicate uidl", "a 1\nb 2\na 3\n", 0, 0 },
	{ "duplicate line", "a 1\na 1\n", 0, 0 },
	{ "duplicate long uidl", "0123456789abcdef0123456789abcdef01234567 1\n"
	    "x 5\n0123456789abcdef0123456789abcdef01234567 1\n", 0, 0 },
	{ "empty line", "\n", 0, 0 },
	{ "empty line between", "a 1\n\nb 2\n", 0, 0 },
	{ "empty line at the end", "a 1\nb 2\n\n", 0, 0 },
	{ "line without a space", "a1\n", 0, 0 },
	{ "uidl alone", "a\n", 0, 0 },
	{ "line without a space later", "a 1\nb 2\nc\n", 0, 0 },
	{ "a space alone", " \n", 0, 0 },
	{ "CR alone", "\r\n", 0, 0 },
	{ "bad line after good ones", "a 1\nb 2\nc 3\nd 4\ne 5\nf -6\n", 0, 0 },
};

/* Anything malformed: -1, the whole cache discarded (c empty), even the
 * lines before the bad one. */
static void
test_parse_bad(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *t = &bad_cases[i];
		size_t tl = t->len ? t->len : strlen(t->text);
		size_t ml = t->raw ? 0 : strlen(MAGIC);
		char text[256];
		struct mdcache c;
		int r;

		assert_true(ml + tl <= sizeof(text));
		memcpy(text, MAGIC, ml);
		memcpy(text + ml, t->text, tl);
		memset(&c, 0x5a, sizeof(c));	/* garbage before the call */
		r = parse_bytes(&c, text, ml + tl);
		if (r != -1)
			fail_msg("case %zu (%s): parse returned %d", i, t->why,
			    r);
		assert_cache_empty(&c);
		mdcache_free(&c);	/* harmless on an empty cache */
	}
}

/* The limits at the edge, accepted. */
static void
test_parse_edges(void **state)
{
	char text[256], u70[POP3_MAX_UIDL + 1];
	struct mdcache c;

	(void)state;
	memset(u70, '!', POP3_MAX_UIDL);
	u70[POP3_MAX_UIDL] = '\0';
	snprintf(text, sizeof(text), "%s%s 9223372036854775807\n"
	    "~ 00000000000000000000\n! 0\n", MAGIC, u70);
	assert_int_equal(parse_str(&c, text), 0);
	assert_int_equal(c.n, 3);
	assert_lookup(&c, u70, MAX_SIZE);
	assert_lookup(&c, "~", 0);
	assert_lookup(&c, "!", 0);
	/* a 71-character key is never found, and does not overrun */
	assert_absent(&c, U71);
	mdcache_free(&c);
}

/* A zeroed or freed cache answers -1. */
static void
test_lookup_empty(void **state)
{
	struct mdcache c;

	(void)state;
	memset(&c, 0, sizeof(c));
	assert_cache_empty(&c);
	mdcache_free(&c);
	assert_cache_empty(&c);
}

/* ---- save and load in a temporary directory ---- */

struct fx {
	char	dir[64];
	int	dirfd;
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
setup_dir(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/privpop-mdc-XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	if ((f->dirfd = open(f->dir, O_RDONLY | O_DIRECTORY)) == -1)
		return -1;
	*state = f;
	return 0;
}

static int
teardown_dir(void **state)
{
	struct fx *f = *state;

	close(f->dirfd);
	nftw(f->dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

static void
put_file(const struct fx *f, const char *name, const char *content,
    mode_t mode)
{
	char p[256];
	size_t n = strlen(content);
	int fd;

	snprintf(p, sizeof(p), "%s/%s", f->dir, name);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, mode);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, content, n), (ssize_t)n);
	assert_int_equal(fchmod(fd, mode), 0);
	assert_int_equal(close(fd), 0);
}

/* The file's content, NUL-terminated, in out (at most outsz - 1 bytes). */
static void
get_file(const char *path, char *out, size_t outsz)
{
	size_t got = 0;
	ssize_t n;
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	while (got + 1 < outsz &&
	    (n = read(fd, out + got, outsz - 1 - got)) > 0)
		got += (size_t)n;
	out[got] = '\0';
	assert_int_equal(read(fd, out + got, 1), 0);	/* it all fit */
	close(fd);
}

static void
assert_cache_file(const struct fx *f, const char *want)
{
	char p[256], got[4096];
	struct stat st;

	snprintf(p, sizeof(p), "%s/%s", f->dir, MDCACHE_FILE);
	assert_int_equal(lstat(p, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_uid, geteuid());
	get_file(p, got, sizeof(got));
	assert_string_equal(got, want);
}

/* Nothing in the directory but what is named (no temp file left). */
static void
assert_dir_holds(const struct fx *f, const char *const *names, size_t n)
{
	DIR *d = opendir(f->dir);
	struct dirent *de;
	size_t seen = 0, i;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		for (i = 0; i < n; i++)
			if (strcmp(de->d_name, names[i]) == 0)
				break;
		if (i == n) {
			closedir(d);
			fail_msg("unexpected file \"%s\" in %s", de->d_name,
			    f->dir);
		}
		seen++;
	}
	closedir(d);
	assert_int_equal(seen, n);
}

static void
set_msg(struct mail_msg *m, const char *uidl, uint64_t size, int deleted)
{
	memset(m, 0, sizeof(*m));
	assert_true(strlen(uidl) <= POP3_MAX_UIDL);
	strcpy(m->uidl, uidl);
	m->size = size;
	m->deleted = deleted;
}

static void
test_save_load(void **state)
{
	struct fx *f = *state;
	static const char *const only[] = { MDCACHE_FILE };
	struct mail_msg msgs[6];
	char u70[POP3_MAX_UIDL + 1];
	struct mdcache c;

	memset(u70, 'w', POP3_MAX_UIDL);
	u70[POP3_MAX_UIDL] = '\0';
	set_msg(&msgs[0], "1700000001.M1P1.h", 22, 0);
	set_msg(&msgs[1], "1700000002.M2P1.h", 0, 1);	/* DELE, no QUIT */
	set_msg(&msgs[2], "1700000003.M3P1.h", 99, MAIL_EXPUNGED);
	set_msg(&msgs[3], u70, MAX_SIZE, 0);
	set_msg(&msgs[4], "~!}", 7, MAIL_EXPUNGED);
	set_msg(&msgs[5], "1700000006.M6P1.h", 1048576, 0);

	assert_int_equal(mdcache_save(f->dirfd, msgs, 6), 0);
	{
		char want[512];

		snprintf(want, sizeof(want), "%s"
		    "1700000001.M1P1.h 22\n"
		    "1700000002.M2P1.h 0\n"
		    "%s 9223372036854775807\n"
		    "1700000006.M6P1.h 1048576\n", MAGIC, u70);
		assert_cache_file(f, want);
	}
	assert_dir_holds(f, only, 1);

	mdcache_load(&c, f->dirfd);
	assert_int_equal(c.n, 4);
	assert_lookup(&c, "1700000001.M1P1.h", 22);
	assert_lookup(&c, "1700000002.M2P1.h", 0);
	assert_lookup(&c, u70, MAX_SIZE);
	assert_lookup(&c, "1700000006.M6P1.h", 1048576);
	assert_absent(&c, "1700000003.M3P1.h");
	assert_absent(&c, "~!}");
	assert_int_equal(c.hits, 4);
	mdcache_free(&c);

	/* a second save replaces the file (by rename: a new inode) */
	{
		struct stat a, b;
		char p[256];

		snprintf(p, sizeof(p), "%s/%s", f->dir, MDCACHE_FILE);
		assert_int_equal(stat(p, &a), 0);
		assert_int_equal(mdcache_save(f->dirfd, msgs + 4, 2), 0);
		assert_int_equal(stat(p, &b), 0);
		assert_true(a.st_ino != b.st_ino);
	}
	assert_cache_file(f, MAGIC "1700000006.M6P1.h 1048576\n");
	assert_dir_holds(f, only, 1);

	/* nothing to save: the magic line alone, a valid empty cache */
	assert_int_equal(mdcache_save(f->dirfd, msgs, 0), 0);
	assert_cache_file(f, MAGIC);
	mdcache_load(&c, f->dirfd);
	assert_non_null(c.buf);
	assert_int_equal(c.n, 0);
	assert_absent(&c, "1700000006.M6P1.h");
	mdcache_free(&c);
	/* only expunged messages: the same */
	assert_int_equal(mdcache_save(f->dirfd, msgs + 2, 1), 0);
	assert_cache_file(f, MAGIC);
	assert_dir_holds(f, only, 1);
}

/* An old file with loose permissions is replaced by a 0600 one, whatever
 * the umask. */
static void
test_save_mode(void **state)
{
	struct fx *f = *state;
	struct mail_msg m;
	mode_t old;

	put_file(f, MDCACHE_FILE, MAGIC "x 1\n", 0644);
	set_msg(&m, "y", 2, 0);
	old = umask(0);
	assert_int_equal(mdcache_save(f->dirfd, &m, 1), 0);
	umask(old);
	assert_cache_file(f, MAGIC "y 2\n");
}

/* The temp name is predictable: a symlink (or any file) left there is
 * removed, never written through, and the new cache is written. */
static void
test_save_tmp_symlink(void **state)
{
	struct fx *f = *state;
	static const char *const names[] = { MDCACHE_FILE, "victim" };
	char tmp[256], got[256], p[256];
	struct mail_msg m;

	put_file(f, "victim", "precious\n", 0600);
	put_file(f, MDCACHE_FILE, MAGIC "old 1\n", 0600);
	snprintf(tmp, sizeof(tmp), "%s/%s.%ld", f->dir, MDCACHE_FILE,
	    (long)getpid());
	assert_int_equal(symlink("victim", tmp), 0);
	set_msg(&m, "new", 5, 0);
	assert_int_equal(mdcache_save(f->dirfd, &m, 1), 0);
	snprintf(p, sizeof(p), "%s/victim", f->dir);
	get_file(p, got, sizeof(got));
	assert_string_equal(got, "precious\n");
	assert_cache_file(f, MAGIC "new 5\n");
	/* the planted link is gone */
	assert_dir_holds(f, names, 2);
}

/* A symlink named .privpop-sizes is not followed, even to a valid cache
 * in the same directory (which loads fine under its own name). */
static void
test_load_symlink(void **state)
{
	struct fx *f = *state;
	char p[256];
	struct mdcache c;

	put_file(f, "real", MAGIC "a 11\nb 12\n", 0600);
	snprintf(p, sizeof(p), "%s/%s", f->dir, MDCACHE_FILE);
	assert_int_equal(symlink("real", p), 0);
	memset(&c, 0x5a, sizeof(c));
	mdcache_load(&c, f->dirfd);
	assert_cache_empty(&c);
	mdcache_free(&c);

	/* the control: the same bytes as a plain file do load */
	assert_int_equal(unlink(p), 0);
	put_file(f, MDCACHE_FILE, MAGIC "a 11\nb 12\n", 0600);
	mdcache_load(&c, f->dirfd);
	assert_int_equal(c.n, 2);
	assert_lookup(&c, "a", 11);
	assert_lookup(&c, "b", 12);
	mdcache_free(&c);
}

/* Missing, empty, malformed, a directory, a FIFO (must not block): all
 * leave the cache empty. */
static void
test_load_bad_files(void **state)
{
	struct fx *f = *state;
	char p[256];
	struct mdcache c;

	snprintf(p, sizeof(p), "%s/%s", f->dir, MDCACHE_FILE);

	memset(&c, 0x5a, sizeof(c));
	mdcache_load(&c, f->dirfd);		/* missing */
	assert_cache_empty(&c);

	put_file(f, MDCACHE_FILE, "", 0600);
	memset(&c, 0x5a, sizeof(c));
	mdcache_load(&c, f->dirfd);
	assert_cache_empty(&c);

	put_file(f, MDCACHE_FILE, MAGIC "a 1\nb 2", 0600);	/* cut short */
	memset(&c, 0x5a, sizeof(c));
	mdcache_load(&c, f->dirfd);
	assert_cache_empty(&c);

	put_file(f, MDCACHE_FILE, "\x89PNG\r\n\x1a\n garbage", 0600);
	memset(&c, 0x5a, sizeof(c));
	mdcache_load(&c, f->dirfd);
	assert_cache_empty(&c);

	assert_int_equal(unlink(p), 0);
	assert_int_equal(mkdir(p, 0700), 0);
	memset(&c, 0x5a, sizeof(c));
	mdcache_load(&c, f->dirfd);
	assert_cache_empty(&c);
	assert_int_equal(rmdir(p), 0);

	assert_int_equal(mkfifo(p, 0600), 0);
	alarm(10);	/* a blocking open of the FIFO fails the test */
	memset(&c, 0x5a, sizeof(c));
	mdcache_load(&c, f->dirfd);
	alarm(0);
	assert_cache_empty(&c);
	assert_int_equal(unlink(p), 0);

	/* unreadable: also empty (unless root, who reads it anyway) */
	if (geteuid() != 0) {
		put_file(f, MDCACHE_FILE, MAGIC "a 1\n", 0);
		memset(&c, 0x5a, sizeof(c));
		mdcache_load(&c, f->dirfd);
		assert_cache_empty(&c);
	}
}

/* ---- the cache as maildir_open / maildir_close use it ---- */

static void
put_msg(const struct fx *f, const char *rel, const char *content)
{
	put_file(f, rel, content, 0600);
}

static void
make_maildir(const struct fx *f)
{
	static const char *const subs[] = { "cur", "new", "tmp" };
	char p[256];
	size_t i;

	for (i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s/%s", f->dir, subs[i]);
		assert_int_equal(mkdir(p, 0700), 0);
	}
}

static void
test_maildir_uses_cache(void **state)
{
	struct fx *f = *state;
	struct maildir md;
	uint32_t failed = 9;
	struct stat a, b;
	char p[256];

	snprintf(p, sizeof(p), "%s/%s", f->dir, MDCACHE_FILE);
	make_maildir(f);
	/* 3 lines: 22 octets with CRLF */
	put_msg(f, "new/1000.a.h", "Subject: a\n\nbody a\n");
	/* ".x" CRLF ".." CRLF "end" CRLF: 13 (the unstuffed CRLF text) */
	put_msg(f, "cur/1001.b.h:2,S", ".x\n..\nend");
	put_msg(f, "new/1002.c.h", "");

	/* first open: every size read from the files, the cache saved */
	assert_int_equal(maildir_open(&md, f->dir), MAIL_OK);
	assert_int_equal(md.count, 3);
	assert_int_equal(md.msgs[0].size, 22);
	assert_int_equal(md.msgs[1].size, 13);
	assert_int_equal(md.msgs[2].size, 0);
	assert_true(md.cache_stale);
	maildir_close(&md);
	assert_cache_file(f, MAGIC "1000.a.h 22\n1001.b.h 13\n1002.c.h 0\n");

	/* second open: all from the cache, nothing to save, the file is not
	 * rewritten */
	assert_int_equal(stat(p, &a), 0);
	assert_int_equal(maildir_open(&md, f->dir), MAIL_OK);
	assert_int_equal(md.count, 3);
	assert_false(md.cache_stale);
	assert_int_equal(md.octets, 35);
	maildir_close(&md);
	assert_int_equal(stat(p, &b), 0);
	assert_int_equal(a.st_ino, b.st_ino);

	/* the cached size wins over the file: it is keyed by the unique
	 * part of the name, flags do not matter */
	put_file(f, MDCACHE_FILE, MAGIC "1000.a.h 22\n1001.b.h 555\n"
	    "1002.c.h 0\n", 0600);
	assert_int_equal(maildir_open(&md, f->dir), MAIL_OK);
	assert_int_equal(md.msgs[1].size, 555);
	assert_int_equal(md.octets, 577);
	assert_false(md.cache_stale);

	/* DELE + QUIT: the expunged message leaves the cache */
	md.msgs[0].deleted = 1;
	assert_int_equal(maildir_expunge(&md, &failed), 1);
	assert_int_equal(failed, 0);
	assert_int_equal(md.msgs[0].deleted, MAIL_EXPUNGED);
	assert_true(md.cache_stale);
	maildir_close(&md);
	assert_cache_file(f, MAGIC "1001.b.h 555\n1002.c.h 0\n");

	/* new mail is scanned and added; a garbage cache is rebuilt */
	put_msg(f, "new/1003.d.h", "d\n");
	assert_int_equal(maildir_open(&md, f->dir), MAIL_OK);
	assert_int_equal(md.count, 3);
	assert_int_equal(md.msgs[2].size, 3);
	assert_true(md.cache_stale);
	maildir_close(&md);
	assert_cache_file(f, MAGIC "1001.b.h 555\n1002.c.h 0\n1003.d.h 3\n");

	put_file(f, MDCACHE_FILE, "privpop-sizes 1\n1001.b.h -5\n", 0644);
	assert_int_equal(maildir_open(&md, f->dir), MAIL_OK);
	assert_int_equal(md.msgs[0].size, 13);
	assert_true(md.cache_stale);
	maildir_close(&md);
	assert_cache_file(f, MAGIC "1001.b.h 13\n1002.c.h 0\n1003.d.h 3\n");

	/* a message removed by another agent: a smaller cache is saved */
	snprintf(p, sizeof(p), "%s/new/1002.c.h", f->dir);
	assert_int_equal(unlink(p), 0);
	assert_int_equal(maildir_open(&md, f->dir), MAIL_OK);
	assert_int_equal(md.count, 2);
	assert_true(md.cache_stale);
	maildir_close(&md);
	assert_cache_file(f, MAGIC "1001.b.h 13\n1003.d.h 3\n");
}

/* Names with ",W=" carry their size and stay out of the cache, and a
 * unique name in both new/ and cur/ is written once: either way the
 * next open finds the cache complete and does not rewrite it. */
static void
test_maildir_cache_stable(void **state)
{
	struct fx *f = *state;
	struct maildir md;
	struct stat a, b;
	char p[256];

	snprintf(p, sizeof(p), "%s/%s", f->dir, MDCACHE_FILE);
	make_maildir(f);
	put_msg(f, "new/2000.a.h", "a\n");
	put_msg(f, "new/2001.b.h,W=9", "bbbbbbb\n");
	put_msg(f, "new/2002.c.h", "cc\n");
	put_msg(f, "cur/2002.c.h:2,S", "cc\n");

	assert_int_equal(maildir_open(&md, f->dir), MAIL_OK);
	assert_int_equal(md.count, 4);
	assert_int_equal(md.msgs[1].size, 9);
	maildir_close(&md);
	assert_cache_file(f, MAGIC "2000.a.h 3\n2002.c.h 4\n");

	assert_int_equal(stat(p, &a), 0);
	assert_int_equal(maildir_open(&md, f->dir), MAIL_OK);
	assert_int_equal(md.count, 4);
	assert_false(md.cache_stale);
	assert_int_equal(md.octets, 3 + 9 + 4 + 4);
	maildir_close(&md);
	assert_int_equal(stat(p, &b), 0);
	assert_int_equal(a.st_ino, b.st_ino);
}

/* privpop writes the file in message order, which is ascending by
 * uidl: then no index is built at parse time, lookups in that order
 * take the next line, and the first one out of order builds it. */
static void
test_parse_ascending_lazy_index(void **state)
{
	struct mdcache c;
	uint64_t v;

	(void)state;
	assert_int_equal(parse_str(&c, MAGIC "a 1\nb 2\nc 3\nd 4\n"), 0);
	assert_int_equal(c.n, 4);
	assert_null(c.tab);
	assert_lookup(&c, "a", 1);
	assert_lookup(&c, "b", 2);
	assert_null(c.tab);
	assert_lookup(&c, "d", 4);	/* skips c: out of order */
	assert_non_null(c.tab);
	assert_lookup(&c, "c", 3);
	assert_lookup(&c, "a", 1);
	assert_int_equal(mdcache_lookup(&c, "e", &v), -1);
	assert_int_equal(c.hits, 5);
	mdcache_free(&c);
	/* not ascending: the index (and its duplicate check) at once */
	assert_int_equal(parse_str(&c, MAGIC "b 2\na 1\n"), 0);
	assert_non_null(c.tab);
	mdcache_free(&c);
	assert_int_equal(parse_str(&c, MAGIC "b 2\na 1\nb 3\n"), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_valid),
		cmocka_unit_test(test_parse_ascending_lazy_index),
		cmocka_unit_test(test_parse_many),
		cmocka_unit_test(test_parse_magic_only),
		cmocka_unit_test(test_parse_bad),
		cmocka_unit_test(test_parse_edges),
		cmocka_unit_test(test_lookup_empty),
		cmocka_unit_test_setup_teardown(test_save_load, setup_dir,
		    teardown_dir),
		cmocka_unit_test_setup_teardown(test_save_mode, setup_dir,
		    teardown_dir),
		cmocka_unit_test_setup_teardown(test_save_tmp_symlink,
		    setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_load_symlink, setup_dir,
		    teardown_dir),
		cmocka_unit_test_setup_teardown(test_load_bad_files, setup_dir,
		    teardown_dir),
		cmocka_unit_test_setup_teardown(test_maildir_cache_stable,
		    setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_maildir_uses_cache,
		    setup_dir, teardown_dir),
	};

	umask(022);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
