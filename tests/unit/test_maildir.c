/*
 * Unit tests for mailstore/maildir.c: file name parsing (UIDL, W=
 * size), scanning, the POP3 lock, renames and expunge, on a real
 * temporary Maildir.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/stat.h>

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

#include <openssl/evp.h>

#include "limits.h"
#include "maildir.h"
#include "mailerr.h"

#define NOW	UINT64_MAX	/* no W= field */

/* ---- maildir_parse_name ---- */

struct name_case {
	const char	*name;
	int		 want;
	const char	*uidl;	/* NULL: hashed */
	uint64_t	 wsize;
};

static const struct name_case name_cases[] = {
	{ "1234.M1P2.host", 0, "1234.M1P2.host", NOW },
	{ "1234.M1P2.host:2,", 0, "1234.M1P2.host", NOW },
	{ "1234.M1P2.host:2,S", 0, "1234.M1P2.host", NOW },
	{ "1234.M1P2.host:2,FRS", 0, "1234.M1P2.host", NOW },
	{ "1234.M1P2.host,S=1000,W=1020:2,S", 0,
	    "1234.M1P2.host,S=1000,W=1020", 1020 },
	{ "1234.M1P2.host,W=1020,S=1000", 0, "1234.M1P2.host,W=1020,S=1000",
	    1020 },
	{ "x,S=100", 0, "x,S=100", NOW },		/* S= is not the size */
	{ "x,S=100:2,S", 0, "x,S=100", NOW },
	{ "x,W=0", 0, "x,W=0", 0 },
	{ "x,W=7", 0, "x,W=7", 7 },
	{ "x,W=007", 0, "x,W=007", 7 },
	{ "x,W=12x", 0, "x,W=12x", 12 },		/* digits up to the end */
	{ "x,W=12,S=3", 0, "x,W=12,S=3", 12 },
	{ "x,W=1,W=2", 0, "x,W=1,W=2", 1 },		/* the first one */
	{ "x,W=", 0, "x,W=", NOW },
	{ "x,W=abc", 0, "x,W=abc", NOW },
	{ "x,W=-1", 0, "x,W=-1", NOW },
	{ "x,W", 0, "x,W", NOW },
	{ "x,", 0, "x,", NOW },
	{ "x,w=5", 0, "x,w=5", NOW },		/* case matters */
	{ "x,WW=5", 0, "x,WW=5", NOW },
	{ "x:2,W=5", 0, "x", NOW },		/* W= after ':' is a flag */
	{ "x,W=5:2,S", 0, "x,W=5", 5 },
	{ "x,W=9223372036854775807", 0, "x,W=9223372036854775807",
	    9223372036854775807ULL },			/* UINT64_MAX / 2 */
	{ "x,W=9223372036854775808", 0, "x,W=9223372036854775808", NOW },
	{ "x,W=18446744073709551615", 0, "x,W=18446744073709551615", NOW },
	{ "x,W=99999999999999999999999", 0, "x,W=99999999999999999999999",
	    NOW },
	{ "a", 0, "a", NOW },
	{ "~!}", 0, "~!}", NOW },

	/* not messages */
	{ "", -1, NULL, NOW },
	{ ".", -1, NULL, NOW },
	{ "..", -1, NULL, NOW },
	{ ".hidden", -1, NULL, NOW },
	{ ".privpop-pop3.lock", -1, NULL, NOW },
	{ ".1234.M1:2,S", -1, NULL, NOW },
	{ ":2,S", -1, NULL, NOW },			/* empty unique part */
	{ ":", -1, NULL, NOW },

	/* unique parts that cannot be a UIDL: hashed */
	{ "a b", 0, NULL, NOW },
	{ "a\tb:2,S", 0, NULL, NOW },
	{ "a\x7f", 0, NULL, NOW },
	{ "\x01", 0, NULL, NOW },
	{ "caf\xc3\xa9", 0, NULL, NOW },
	{ "\xff,W=10", 0, NULL, 10 },	/* still gives the size */
};

static int
uidl_ok(const char *u)
{
	size_t n = strlen(u), i;

	if (n < 1 || n > POP3_MAX_UIDL)
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)u[i] < 0x21 || (unsigned char)u[i] > 0x7e)
			return 0;
	return 1;
}

/* The hashed form: hex SHA-256 of the unique part, 40 characters.  A
 * UIDL must stay the same across sessions and versions. */
static void
expected_hash(const char *p, size_t n, char *out)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;

	assert_int_equal(EVP_Digest(p, n, md, &mdlen, EVP_sha256(), NULL),
	    1);
	for (i = 0; i < 20; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	out[40] = '\0';
}

static void
test_parse_name_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(name_cases) / sizeof(name_cases[0]); i++) {
		const struct name_case *t = &name_cases[i];
		char uidl[POP3_MAX_UIDL + 1];
		uint64_t ws = 12345;
		int r;

		memset(uidl, 'Q', sizeof(uidl));
		uidl[POP3_MAX_UIDL] = '\0';
		r = maildir_parse_name(t->name, uidl, sizeof(uidl), &ws);
		if (r != t->want)
			fail_msg("case %zu \"%s\": got %d want %d", i, t->name,
			    r, t->want);
		if (r == -1)
			continue;
		if (ws != t->wsize)
			fail_msg("case %zu \"%s\": wsize %llu want %llu", i,
			    t->name, (unsigned long long)ws,
			    (unsigned long long)t->wsize);
		if (!uidl_ok(uidl))
			fail_msg("case %zu \"%s\": bad UIDL \"%s\"", i,
			    t->name, uidl);
		if (t->uidl != NULL) {
			if (strcmp(uidl, t->uidl) != 0)
				fail_msg("case %zu: uidl \"%s\" want \"%s\"",
				    i, uidl, t->uidl);
		} else {
			char h[41];

			expected_hash(t->name, strcspn(t->name, ":"), h);
			if (strcmp(uidl, h) != 0)
				fail_msg("case %zu: hashed uidl \"%s\" want "
				    "\"%s\"", i, uidl, h);
		}
	}
}

/* Unique parts of 1..80 characters: up to 70 kept, longer hashed;
 * flags never change the UIDL. */
static void
test_parse_name_lengths(void **state)
{
	char name[128], u1[POP3_MAX_UIDL + 1], u2[POP3_MAX_UIDL + 1];
	char prev[POP3_MAX_UIDL + 1] = "";
	size_t n;
	uint64_t ws;

	(void)state;
	for (n = 1; n <= 80; n++) {
		memset(name, 'a' + (int)(n % 26), n);
		name[0] = '1';
		name[n] = '\0';
		assert_int_equal(maildir_parse_name(name, u1, sizeof(u1), &ws),
		    0);
		strcpy(name + n, ":2,S");
		assert_int_equal(maildir_parse_name(name, u2, sizeof(u2), &ws),
		    0);
		assert_string_equal(u1, u2);
		assert_true(uidl_ok(u1));
		if (n <= POP3_MAX_UIDL) {
			assert_int_equal(strlen(u1), n);
			assert_memory_equal(u1, name, n);
		} else {
			char h[41];

			expected_hash(name, n, h);
			assert_string_equal(u1, h);
			assert_string_not_equal(u1, prev);
		}
		strcpy(prev, u1);
	}
}

/* A small UIDL buffer is never overrun. */
static void
test_parse_name_small_buffer(void **state)
{
	char u[8];
	uint64_t ws;
	size_t sz;

	(void)state;
	for (sz = 2; sz <= sizeof(u); sz++) {
		memset(u, 'Z', sizeof(u));
		assert_int_equal(maildir_parse_name("abcdefghij", u, sz, &ws),
		    0);
		assert_true(strlen(u) < sz);
		if (sz >= 3)	/* room for one hex pair */
			assert_true(strlen(u) >= 1);
		if (sz < sizeof(u))
			assert_int_equal(u[sz], 'Z');
	}
	assert_int_equal(maildir_parse_name("abc", u, 4, &ws), 0);
	assert_string_equal(u, "abc");
}

/* ---- a real Maildir ---- */

struct md_fixture {
	char	top[64];	/* mkdtemp directory */
	char	path[128];	/* top/Maildir */
};

static int
rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static void
write_file(const char *dir, const char *sub, const char *name,
    const char *content)
{
	char p[512];
	FILE *fp;

	snprintf(p, sizeof(p), "%s/%s/%s", dir, sub, name);
	fp = fopen(p, "w");
	assert_non_null(fp);
	assert_int_equal(fwrite(content, 1, strlen(content), fp),
	    strlen(content));
	assert_int_equal(fclose(fp), 0);
}

static int
exists(const char *dir, const char *rel)
{
	char p[512];
	struct stat st;

	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	return lstat(p, &st) == 0;
}

/* The POP3 size: LF becomes CRLF, a final line gets CRLF. */
static uint64_t
crlf_size(const char *s)
{
	size_t n = strlen(s), i;
	uint64_t k = 0;

	for (i = 0; i < n; i++) {
		if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r'))
			k++;
		k++;
	}
	if (n > 0 && s[n - 1] != '\n')
		k += (s[n - 1] == '\r') ? 1 : 2;
	return k;
}

static int
setup_md(void **state)
{
	struct md_fixture *f = calloc(1, sizeof(*f));
	char p[256];

	if (f == NULL)
		return -1;
	snprintf(f->top, sizeof(f->top), "/tmp/privpop-md-XXXXXX");
	if (mkdtemp(f->top) == NULL)
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/Maildir", f->top);
	if (mkdir(f->path, 0700) == -1)
		return -1;
	snprintf(p, sizeof(p), "%s/cur", f->path);
	if (mkdir(p, 0700) == -1)
		return -1;
	snprintf(p, sizeof(p), "%s/new", f->path);
	if (mkdir(p, 0700) == -1)
		return -1;
	snprintf(p, sizeof(p), "%s/tmp", f->path);
	if (mkdir(p, 0700) == -1)
		return -1;
	*state = f;
	return 0;
}

static int
teardown_md(void **state)
{
	struct md_fixture *f = *state;

	nftw(f->top, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

static const char MSG_A[] = "Subject: a\n\nbody a\n";
static const char MSG_B[] = "Subject: b\n\n.dot line\n..two\nno newline";
static const char MSG_C[] = "Subject: c\r\n\r\nalready crlf\r\n";
static const char MSG_D[] = "";

static void
populate(const struct md_fixture *f)
{
	char p[256];

	write_file(f->path, "new", "1000.a.host", MSG_A);
	write_file(f->path, "cur", "0999.b.host:2,S", MSG_B);
	write_file(f->path, "cur", "1001.c.host:2,RS", MSG_C);
	write_file(f->path, "new", "1002.d.host", MSG_D);
	/* the W= size wins over the content */
	write_file(f->path, "cur", "1003.e.host,S=5,W=77:2,", "short\n");
	/* not messages */
	write_file(f->path, "new", ".hidden", "x\n");
	write_file(f->path, "cur", ".1004.f.host:2,", "x\n");
	write_file(f->path, "tmp", "1005.g.host", "in delivery\n");
	snprintf(p, sizeof(p), "%s/cur/1006.dir", f->path);
	assert_int_equal(mkdir(p, 0700), 0);
	snprintf(p, sizeof(p), "%s/new/1007.link", f->path);
	assert_int_equal(symlink("/etc/passwd", p), 0);
}

static void
read_fd_all(int fd, const char *want)
{
	char buf[256];
	ssize_t n, got = 0;

	while ((n = read(fd, buf + got, sizeof(buf) - (size_t)got)) > 0)
		got += n;
	assert_int_equal(got, strlen(want));
	assert_memory_equal(buf, want, strlen(want));
}

static void
test_open_scan(void **state)
{
	struct md_fixture *f = *state;
	static const struct {
		const char	*name;
		const char	*uidl;
		const char	*content;
		uint64_t	 size;	/* 0: crlf_size(content) */
	} want[] = {
		{ "cur/0999.b.host:2,S", "0999.b.host", MSG_B, 0 },
		{ "new/1000.a.host", "1000.a.host", MSG_A, 0 },
		{ "cur/1001.c.host:2,RS", "1001.c.host", MSG_C, 0 },
		{ "new/1002.d.host", "1002.d.host", MSG_D, 0 },
		{ "cur/1003.e.host,S=5,W=77:2,", "1003.e.host,S=5,W=77",
		    "short\n", 77 },
	};
	struct maildir md;
	uint64_t total = 0;
	size_t i;

	populate(f);
	assert_int_equal(maildir_open(&md, f->path), MAIL_OK);
	assert_int_equal(md.count, sizeof(want) / sizeof(want[0]));
	for (i = 0; i < md.count; i++) {
		uint64_t sz = want[i].size ? want[i].size :
		    crlf_size(want[i].content);
		int fd;

		assert_string_equal(md.msgs[i].name, want[i].name);
		assert_string_equal(md.msgs[i].uidl, want[i].uidl);
		if (md.msgs[i].size != sz)
			fail_msg("msg %zu %s: size %llu want %llu", i,
			    want[i].name, (unsigned long long)md.msgs[i].size,
			    (unsigned long long)sz);
		assert_int_equal(md.msgs[i].deleted, 0);
		total += sz;
		fd = maildir_open_msg(&md, (uint32_t)i);
		assert_true(fd >= 0);
		read_fd_all(fd, want[i].content);
		close(fd);
	}
	assert_int_equal(md.octets, total);
	/* the sizes the scan gives for known contents */
	assert_int_equal(md.msgs[1].size, 22);	/* 3 lines of MSG_A */
	assert_int_equal(md.msgs[2].size, strlen(MSG_C));
	assert_int_equal(md.msgs[3].size, 0);
	assert_true(exists(f->path, MAILDIR_POP3_LOCK));
	maildir_close(&md);
	assert_int_equal(md.dirfd, -1);
	assert_int_equal(md.lockfd, -1);
	assert_int_equal(md.count, 0);
}

/* Many messages come out sorted by name whatever the directory order. */
static void
test_open_order(void **state)
{
	struct md_fixture *f = *state;
	struct maildir md;
	char name[64];
	uint32_t i;

	for (i = 0; i < 300; i++) {
		unsigned k = (i * 7919u) % 300u;

		snprintf(name, sizeof(name), "%06u.M%uP1.host%s", k, k,
		    (k % 2) ? "" : ":2,S");
		write_file(f->path, (k % 3) ? "new" : "cur", name, "x\n");
	}
	assert_int_equal(maildir_open(&md, f->path), MAIL_OK);
	assert_int_equal(md.count, 300);
	assert_int_equal(md.octets, 300 * 3);
	for (i = 0; i < md.count; i++) {
		snprintf(name, sizeof(name), "%06u.M%uP1.host", i, i);
		assert_string_equal(md.msgs[i].uidl, name);
		assert_int_equal(md.msgs[i].size, 3);
	}
	maildir_close(&md);
}

/* More files to count than fill_sizes opens ahead, mixed with sizes
 * from ",W=" names and from the size cache: each message keeps its own
 * size, in message order, whichever way it was found. */
static void
test_sizes_read_ahead(void **state)
{
	struct md_fixture *f = *state;
	char name[64], body[512], p[256];
	struct maildir md;
	uint64_t want[100], total = 0;
	FILE *cache;
	uint32_t i, k;

	snprintf(p, sizeof(p), "%s/.privpop-sizes", f->path);
	cache = fopen(p, "w");
	assert_non_null(cache);
	fputs("privpop-sizes 1\n", cache);
	for (i = 0; i < 100; i++) {
		size_t o = 0;

		for (k = 0; k < i % 9 + 1; k++)
			o += (size_t)snprintf(body + o, sizeof(body) - o,
			    "%sline %u of %u\n", k % 4 == 1 ? "." : "", k, i);
		if (i % 5 == 0) {
			want[i] = 1000 + i;
			snprintf(name, sizeof(name), "%03u.M%uP1.host,W=%llu",
			    i, i, (unsigned long long)want[i]);
		} else {
			snprintf(name, sizeof(name), "%03u.M%uP1.host", i, i);
			if (i % 7 == 0) {	/* cached (and so trusted) */
				want[i] = 2000 + i;
				fprintf(cache, "%s %llu\n", name,
				    (unsigned long long)want[i]);
			} else
				want[i] = crlf_size(body);
		}
		strcat(name, (i % 2) ? ":2,S" : "");
		write_file(f->path, (i % 3) ? "cur" : "new", name, body);
		total += want[i];
	}
	assert_int_equal(fclose(cache), 0);
	assert_int_equal(maildir_open(&md, f->path), MAIL_OK);
	assert_int_equal(md.count, 100);
	for (i = 0; i < md.count; i++) {
		snprintf(name, sizeof(name), "%03u.M%uP1.host", i, i);
		assert_int_equal(strncmp(md.msgs[i].uidl, name, strlen(name)),
		    0);
		assert_int_equal(md.msgs[i].size, want[i]);
	}
	assert_int_equal(md.octets, total);
	maildir_close(&md);
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The sort compares 8 bytes after the common prefix as an integer and
 * falls back to strcmp on ties: names equal in those bytes, names that
 * end inside them, and names in both new/ and cur/ must all come out in
 * strcmp order of the base names. */
static void
test_open_order_ties(void **state)
{
	struct md_fixture *f = *state;
	static const char *const extra[] = {
		"1AAAAAAA", "1AAA", "1", "1AAAAAAAAAAAB", "2", "1AAAAAAAAAA",
	};
	char *want[220], name[64];
	struct maildir md;
	size_t n = 0, i;

	for (i = 0; i < 200; i++) {
		snprintf(name, sizeof(name), "%zuAAAAAAAAAA%04zu:2,%s",
		    1 + i % 2, (i * 37) % 200, (i % 3) ? "S" : "");
		write_file(f->path, (i % 4) ? "cur" : "new", name, "x\n");
		want[n] = strdup(name);
		assert_non_null(want[n]);
		n++;
	}
	for (i = 0; i < sizeof(extra) / sizeof(extra[0]); i++) {
		write_file(f->path, "new", extra[i], "x\n");
		want[n++] = strdup(extra[i]);
	}
	qsort(want, n, sizeof(want[0]), cmp_str);
	assert_int_equal(maildir_open(&md, f->path), MAIL_OK);
	assert_int_equal(md.count, n);
	for (i = 0; i < n; i++) {
		assert_string_equal(md.msgs[i].name + 4, want[i]);
		free(want[i]);
	}
	maildir_close(&md);
}

/* Counting a message's size is not reading it: the first scan leaves
 * atime alone (O_NOATIME; the worker owns the files).  A plain read on
 * the same file system is the control: without atime updates there
 * (noatime) the test has nothing to show and is skipped. */
static void
test_scan_keeps_atime(void **state)
{
	struct md_fixture *f = *state;
	struct timespec ts[2];
	struct maildir md;
	struct stat st;
	char p[512], buf[16];
	int fd;

	write_file(f->path, "new", "2000.a.host", MSG_A);
	write_file(f->path, "new", "2001.b.host", MSG_B);
	/* atime well before mtime: relatime would update it on a read */
	ts[0].tv_sec = 1000000000;
	ts[0].tv_nsec = 0;
	ts[1].tv_nsec = UTIME_OMIT;
	snprintf(p, sizeof(p), "%s/new/2001.b.host", f->path);
	assert_int_equal(utimensat(AT_FDCWD, p, ts, 0), 0);
	fd = open(p, O_RDONLY);
	assert_true(fd >= 0);
	assert_true(read(fd, buf, sizeof(buf)) > 0);
	close(fd);
	assert_int_equal(stat(p, &st), 0);
	if (st.st_atim.tv_sec == ts[0].tv_sec)
		skip();		/* no atime updates here */
	snprintf(p, sizeof(p), "%s/new/2000.a.host", f->path);
	assert_int_equal(utimensat(AT_FDCWD, p, ts, 0), 0);
	assert_int_equal(maildir_open(&md, f->path), MAIL_OK);
	assert_int_equal(md.count, 2);
	assert_int_equal(md.msgs[0].size, crlf_size(MSG_A));
	maildir_close(&md);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_atim.tv_sec, ts[0].tv_sec);
}

/* [IN-USE]: one POP3 session per mailbox.  flock locks belong to the
 * open file description, so two opens in one process conflict too. */
static void
test_inuse(void **state)
{
	struct md_fixture *f = *state;
	struct maildir a, b, c;

	write_file(f->path, "new", "1.x", "x\n");
	assert_int_equal(maildir_open(&a, f->path), MAIL_OK);
	assert_int_equal(maildir_open(&b, f->path), MAIL_INUSE);
	assert_int_equal(b.count, 0);
	maildir_close(&b);
	/* still held by a */
	assert_int_equal(maildir_open(&c, f->path), MAIL_INUSE);
	maildir_close(&c);
	maildir_close(&a);
	assert_int_equal(maildir_open(&b, f->path), MAIL_OK);
	assert_int_equal(b.count, 1);
	maildir_close(&b);
}

/* A message renamed new/ -> cur/ (another client read it) or given new
 * flags after the scan is still found. */
static void
test_renamed_after_open(void **state)
{
	struct md_fixture *f = *state;
	struct maildir md;
	char from[512], to[512];
	int fd;

	write_file(f->path, "new", "2000.r.host", MSG_A);
	write_file(f->path, "cur", "2001.s.host:2,", MSG_C);
	assert_int_equal(maildir_open(&md, f->path), MAIL_OK);
	assert_int_equal(md.count, 2);
	assert_string_equal(md.msgs[0].name, "new/2000.r.host");

	snprintf(from, sizeof(from), "%s/new/2000.r.host", f->path);
	snprintf(to, sizeof(to), "%s/cur/2000.r.host:2,S", f->path);
	assert_int_equal(rename(from, to), 0);
	snprintf(from, sizeof(from), "%s/cur/2001.s.host:2,", f->path);
	snprintf(to, sizeof(to), "%s/cur/2001.s.host:2,RS", f->path);
	assert_int_equal(rename(from, to), 0);

	fd = maildir_open_msg(&md, 0);
	assert_true(fd >= 0);
	read_fd_all(fd, MSG_A);
	close(fd);
	assert_string_equal(md.msgs[0].name, "cur/2000.r.host:2,S");
	assert_string_equal(md.msgs[0].uidl, "2000.r.host");
	fd = maildir_open_msg(&md, 1);
	assert_true(fd >= 0);
	read_fd_all(fd, MSG_C);
	close(fd);
	assert_string_equal(md.msgs[1].name, "cur/2001.s.host:2,RS");

	/* gone altogether: -1, not some other message */
	snprintf(from, sizeof(from), "%s/cur/2000.r.host:2,S", f->path);
	assert_int_equal(unlink(from), 0);
	assert_int_equal(maildir_open_msg(&md, 0), -1);
	maildir_close(&md);
}

/* A unique part that is a prefix of another is not confused with it. */
static void
test_relocate_exact_unique(void **state)
{
	struct md_fixture *f = *state;
	struct maildir md;
	char p[512];

	write_file(f->path, "new", "3000.a", "first\n");
	assert_int_equal(maildir_open(&md, f->path), MAIL_OK);
	assert_int_equal(md.count, 1);
	snprintf(p, sizeof(p), "%s/new/3000.a", f->path);
	assert_int_equal(unlink(p), 0);
	write_file(f->path, "cur", "3000.ab:2,S", "other\n");
	write_file(f->path, "new", "3000.a.b", "other\n");
	assert_int_equal(maildir_open_msg(&md, 0), -1);
	maildir_close(&md);
}

/* unlinkat, watched (ld --wrap): at the first unlink of a message, the
 * expunge journal must already name every message to be removed. */
int __real_unlinkat(int, const char *, int);
int __wrap_unlinkat(int, const char *, int);
static const char *journal_want[8];
static int journal_checks;
static char journal_dir[512];

int
__wrap_unlinkat(int dfd, const char *name, int flags)
{
	char p[600], buf[4096];
	FILE *fp;
	size_t n, i;

	if (journal_checks == 0 && journal_want[0] != NULL &&
	    name[0] != '.') {
		snprintf(p, sizeof(p), "%s/%s", journal_dir,
		    MAILDIR_EXPUNGE_JOURNAL);
		fp = fopen(p, "r");
		assert_non_null(fp);
		n = fread(buf, 1, sizeof(buf) - 1, fp);
		fclose(fp);
		buf[n] = '\0';
		assert_int_equal(strncmp(buf, MAILDIR_JOURNAL_MAGIC,
		    strlen(MAILDIR_JOURNAL_MAGIC)), 0);
		for (i = 0; journal_want[i] != NULL; i++)
			if (strstr(buf, journal_want[i]) == NULL)
				fail_msg("journal lacks %s: %s", journal_want[i],
				    buf);
		journal_checks++;
	}
	return __real_unlinkat(dfd, name, flags);
}

static void
test_expunge(void **state)
{
	struct md_fixture *f = *state;
	struct maildir md;
	uint32_t failed = 99;
	char from[512], to[512];

	write_file(f->path, "new", "4000.a", "a\n");
	write_file(f->path, "new", "4001.b", "b\n");
	write_file(f->path, "cur", "4002.c:2,S", "c\n");
	write_file(f->path, "cur", "4003.d:2,S", "d\n");
	write_file(f->path, "new", "4004.e", "e\n");
	assert_int_equal(maildir_open(&md, f->path), MAIL_OK);
	assert_int_equal(md.count, 5);

	/* nothing deleted: nothing removed */
	assert_int_equal(maildir_expunge(&md, &failed), 0);
	assert_int_equal(failed, 0);
	assert_true(exists(f->path, "new/4000.a"));

	md.msgs[0].deleted = 1;		/* plain */
	md.msgs[2].deleted = 1;		/* in cur/ */
	md.msgs[3].deleted = 1;		/* renamed since the scan */
	md.msgs[4].deleted = 1;		/* already removed by someone */
	snprintf(journal_dir, sizeof(journal_dir), "%s", f->path);
	journal_want[0] = "\nnew/4000.a\n";
	journal_want[1] = "\ncur/4002.c:2,S\n";
	journal_want[2] = "\ncur/4003.d:2,S\n";
	journal_want[3] = "\nnew/4004.e\n";
	journal_want[4] = NULL;
	snprintf(from, sizeof(from), "%s/cur/4003.d:2,S", f->path);
	snprintf(to, sizeof(to), "%s/cur/4003.d:2,ST", f->path);
	assert_int_equal(rename(from, to), 0);
	snprintf(from, sizeof(from), "%s/new/4004.e", f->path);
	assert_int_equal(unlink(from), 0);

	journal_checks = 0;
	assert_int_equal(maildir_expunge(&md, &failed), 3);
	assert_int_equal(failed, 1);
	/* the journal named all four before the first unlink, and is gone */
	assert_int_equal(journal_checks, 1);
	assert_false(exists(f->path, MAILDIR_EXPUNGE_JOURNAL));
	assert_false(exists(f->path, "new/4000.a"));
	assert_true(exists(f->path, "new/4001.b"));
	assert_false(exists(f->path, "cur/4002.c:2,S"));
	assert_false(exists(f->path, "cur/4003.d:2,S"));
	assert_false(exists(f->path, "cur/4003.d:2,ST"));
	assert_true(exists(f->path, MAILDIR_POP3_LOCK));
	maildir_close(&md);

	assert_int_equal(maildir_open(&md, f->path), MAIL_OK);
	assert_int_equal(md.count, 1);
	assert_string_equal(md.msgs[0].uidl, "4001.b");
	maildir_close(&md);
	journal_want[0] = NULL;
}

static void
write_journal(const struct md_fixture *f, const char *text)
{
	char p[512];
	FILE *fp;

	snprintf(p, sizeof(p), "%s/%s", f->path, MAILDIR_EXPUNGE_JOURNAL);
	assert_non_null(fp = fopen(p, "w"));
	assert_int_equal(fputs(text, fp) >= 0, 1);
	assert_int_equal(fclose(fp), 0);
}

/* An expunge cut short: the next open removes what its journal names
 * (renamed since, or already gone, too) before it lists anything, and
 * nothing a line may not name: outside cur/ and new/, a dot file, a
 * path with more components. */
static void
test_journal_replay(void **state)
{
	struct md_fixture *f = *state;
	struct maildir md;
	char p[512];

	write_file(f->path, "new", "5000.a", "a\n");
	write_file(f->path, "cur", "5001.b:2,ST", "b\n");	/* renamed */
	write_file(f->path, "new", "5002.c", "c\n");
	write_file(f->path, "cur", "5003.d:2,S", "d\n");
	write_file(f->path, "new", "5004.e", "e\n");
	write_file(f->path, "tmp", "5005.t", "t\n");
	write_file(f->path, "cur", ".hidden", "h\n");
	write_file(f->top, "", "outside", "o\n");
	write_file(f->path, "", "cur2", "x\n");
	write_journal(f, MAILDIR_JOURNAL_MAGIC
	    "new/5000.a\n"
	    "cur/5001.b:2,S\n"
	    "new/5009.gone\n"
	    "../outside\n"
	    "cur/../../outside\n"
	    "/etc/passwd\n"
	    "tmp/5005.t\n"
	    "cur/.hidden\n"
	    "cur2\n"
	    "garbage\n"
	    "cur/\n"
	    "\n"
	    "new/5002.c");		/* the last line, cut short */
	assert_int_equal(maildir_open(&md, f->path), MAIL_OK);
	assert_int_equal(md.count, 2);
	assert_string_equal(md.msgs[0].uidl, "5003.d");
	assert_string_equal(md.msgs[1].uidl, "5004.e");
	maildir_close(&md);
	assert_false(exists(f->path, "new/5000.a"));
	assert_false(exists(f->path, "cur/5001.b:2,ST"));
	assert_false(exists(f->path, "new/5002.c"));
	assert_true(exists(f->path, "tmp/5005.t"));
	assert_true(exists(f->path, "cur/.hidden"));
	assert_true(exists(f->path, "cur2"));
	snprintf(p, sizeof(p), "%s/outside", f->top);
	assert_int_equal(access(p, F_OK), 0);
	assert_false(exists(f->path, MAILDIR_EXPUNGE_JOURNAL));
}

/* A journal that is not one: a symlink (not followed), a hard link, a
 * FIFO (no hang), another magic.  Nothing is removed; it is. */
static void
test_journal_refused(void **state)
{
	struct md_fixture *f = *state;
	struct maildir md;
	char p[512], q[512];
	int kind;

	write_file(f->path, "new", "6000.a", "a\n");
	snprintf(p, sizeof(p), "%s/%s", f->path, MAILDIR_EXPUNGE_JOURNAL);
	snprintf(q, sizeof(q), "%s/victim", f->top);
	for (kind = 0; kind < 4; kind++) {
		FILE *fp;

		assert_non_null(fp = fopen(q, "w"));
		fputs(MAILDIR_JOURNAL_MAGIC "new/6000.a\n", fp);
		fclose(fp);
		switch (kind) {
		case 0:
			assert_int_equal(symlink(q, p), 0);
			break;
		case 1:
			assert_int_equal(link(q, p), 0);
			break;
		case 2:
			assert_int_equal(mkfifo(p, 0600), 0);
			break;
		case 3:
			write_journal(f, "privpop-expunge 2\nnew/6000.a\n");
			break;
		}
		assert_int_equal(maildir_open(&md, f->path), MAIL_OK);
		assert_int_equal(md.count, 1);
		maildir_close(&md);
		assert_true(exists(f->path, "new/6000.a"));
		assert_false(exists(f->path, MAILDIR_EXPUNGE_JOURNAL));
		assert_int_equal(access(q, F_OK), 0);
	}
}

/* A missing Maildir (and missing subdirectories) are created. */
static void
test_create_missing(void **state)
{
	struct md_fixture *f = *state;
	struct maildir md;
	char p[256], q[512];
	struct stat st;

	snprintf(p, sizeof(p), "%s/Fresh", f->top);
	assert_int_equal(maildir_open(&md, p), MAIL_OK);
	assert_int_equal(md.count, 0);
	assert_int_equal(md.octets, 0);
	snprintf(q, sizeof(q), "%s/cur", p);
	assert_int_equal(stat(q, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0700);
	snprintf(q, sizeof(q), "%s/new", p);
	assert_int_equal(stat(q, &st), 0);
	snprintf(q, sizeof(q), "%s/tmp", p);
	assert_int_equal(stat(q, &st), 0);
	assert_true(exists(p, MAILDIR_POP3_LOCK));
	maildir_close(&md);

	/* only cur/ missing */
	snprintf(q, sizeof(q), "%s/cur", f->path);
	assert_int_equal(rmdir(q), 0);
	write_file(f->path, "new", "5000.x", "x\n");
	assert_int_equal(maildir_open(&md, f->path), MAIL_OK);
	assert_int_equal(md.count, 1);
	assert_int_equal(stat(q, &st), 0);
	maildir_close(&md);

	/* missing parents are created too (mode 0700), as Dovecot does */
	snprintf(p, sizeof(p), "%s/no/such/Maildir", f->top);
	assert_int_equal(maildir_open(&md, p), MAIL_OK);
	maildir_close(&md);
	snprintf(q, sizeof(q), "%s/no/such", f->top);
	assert_int_equal(stat(q, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	/* a file where the Maildir should be: [SYS/PERM], retrying cannot
	 * help */
	snprintf(p, sizeof(p), "%s/afile", f->top);
	assert_int_equal(close(open(p, O_CREAT | O_WRONLY, 0600)), 0);
	assert_int_equal(maildir_open(&md, p), MAIL_PERM);
	maildir_close(&md);
	snprintf(p, sizeof(p), "%s/afile/Maildir", f->top);
	assert_int_equal(maildir_open(&md, p), MAIL_PERM);
	maildir_close(&md);
}

/* What the administrator must fix is [SYS/PERM]; what passes by itself
 * [SYS/TEMP] (RFC 3206). */
static void
test_err_class(void **state)
{
	static const int perm[] = { EACCES, EPERM, ENOENT, ENOTDIR, EISDIR,
	    ELOOP, EROFS, ENAMETOOLONG };
	static const int temp[] = { EINTR, EAGAIN, ENOMEM, EMFILE, ENFILE,
	    EIO, ENOSPC, ENOLCK };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(perm) / sizeof(perm[0]); i++)
		if (mail_err_class(perm[i]) != MAIL_PERM)
			fail_msg("%s is not permanent", strerror(perm[i]));
	for (i = 0; i < sizeof(temp) / sizeof(temp[0]); i++)
		if (mail_err_class(temp[i]) != MAIL_TEMP)
			fail_msg("%s is not temporary", strerror(temp[i]));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_name_table),
		cmocka_unit_test(test_parse_name_lengths),
		cmocka_unit_test(test_parse_name_small_buffer),
		cmocka_unit_test_setup_teardown(test_open_scan, setup_md,
		    teardown_md),
		cmocka_unit_test_setup_teardown(test_open_order, setup_md,
		    teardown_md),
		cmocka_unit_test_setup_teardown(test_sizes_read_ahead, setup_md,
		    teardown_md),
		cmocka_unit_test_setup_teardown(test_open_order_ties, setup_md,
		    teardown_md),
		cmocka_unit_test_setup_teardown(test_scan_keeps_atime, setup_md,
		    teardown_md),
		cmocka_unit_test_setup_teardown(test_inuse, setup_md,
		    teardown_md),
		cmocka_unit_test_setup_teardown(test_renamed_after_open,
		    setup_md, teardown_md),
		cmocka_unit_test_setup_teardown(test_relocate_exact_unique,
		    setup_md, teardown_md),
		cmocka_unit_test_setup_teardown(test_expunge, setup_md,
		    teardown_md),
		cmocka_unit_test_setup_teardown(test_journal_replay, setup_md,
		    teardown_md),
		cmocka_unit_test_setup_teardown(test_journal_refused, setup_md,
		    teardown_md),
		cmocka_unit_test_setup_teardown(test_create_missing, setup_md,
		    teardown_md),
		cmocka_unit_test(test_err_class),
	};

	umask(022);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
