/*
 * Unit tests of the migration UIDLs of a Maildir: pop3_uidl_format
 * templates (common/uidlfmt.c), dovecot-uidlist and courierpop3dsizelist
 * (mailstore/maildir_uidmap.c), good files and every malformed form, and
 * what maildir_open serves from them (precedence, uniqueness, the size
 * cache keyed by privpop's own UIDLs).
 *
 * Runs as: the developer (make check), no privilege.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/stat.h>

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
#include "maildir_uidmap.h"
#include "uidlfmt.h"

/* ---- helpers ---- */

static int
parse(struct uidmap *u, enum uidmap_kind kind, const char *s)
{
	size_t len = strlen(s);
	char *p = malloc(len > 0 ? len : 1);

	assert_non_null(p);
	memcpy(p, s, len);
	return uidmap_parse(u, kind, p, len);
}

/* The UIDL of key, or "-" when the map gives none. */
static const char *
look(const struct uidmap *u, const char *key, const char *fmt)
{
	static char out[POP3_MAX_UIDL + 1];

	if (uidmap_lookup(u, key, fmt, out, sizeof(out)) == -1)
		return "-";
	return out;
}

static const char *
render(const char *fmt, uint32_t uid, uint32_t uidv, const char *file,
    const char *guid)
{
	static char out[POP3_MAX_UIDL + 1];
	struct uidlfmt_vars v = { uid, uidv, file, guid };

	if (uidlfmt_render(fmt, &v, out, sizeof(out)) == -1)
		return "-";
	return out;
}

/* ---- pop3_uidl_format ---- */

static void
test_format_check(void **state)
{
	static const char *const good[] = {
		"%08Xu%08Xv", "%u", "%v.%u", "%v-%u", "%f", "%g", "%%%u",
		"UID%u", "%08Xv%08Xu", "%Uf", "%LXu", "%5f", "%{uid}",
		"%{uidvalidity}-%{uid}", "%{filename}", "%{guid}", "x",
	};
	static const char *const bad[] = {
		"", "%m", "%Mf", "%", "abc%", "%08X", "%q", "%{md5}", "%{uid",
		"%99u", "%{}", "%08Xm", "%Hu",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_int_equal(uidlfmt_check(good[i]), 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(uidlfmt_check(bad[i]), -1);
}

static void
test_format_render(void **state)
{
	(void)state;
	/* Dovecot's default: lower-case hex (its "%llx"), 8 wide */
	assert_string_equal(render("%08Xu%08Xv", 1, 1700000000, "f", NULL),
	    "000000016553f100");
	assert_string_equal(render("%08Xu%08Xv", 0xabcdef12, 0xffffffff,
	    "f", NULL), "abcdef12ffffffff");
	assert_string_equal(render("%v.%u", 7, 1234, "f", NULL), "1234.7");
	assert_string_equal(render("%{uidvalidity}-%{uid}", 7, 1234, "f",
	    NULL), "1234-7");
	assert_string_equal(render("%f", 7, 1, "123.M1P2.host,S=10", NULL),
	    "123.M1P2.host,S=10");
	assert_string_equal(render("%g", 7, 1, "name", "abc123"), "abc123");
	assert_string_equal(render("%g", 7, 1, "name", NULL), "name");
	assert_string_equal(render("%Uf", 7, 1, "abc", NULL), "ABC");
	assert_string_equal(render("%XUu", 255, 1, "abc", NULL), "FF");
	assert_string_equal(render("%3f", 7, 1, "abcdef", NULL), "abc");
	assert_string_equal(render("%04u", 12345, 1, "a", NULL), "12345");
	assert_string_equal(render("%%%u", 5, 1, "a", NULL), "%5");
	/* X of a value that is not a number: 0, as Dovecot */
	assert_string_equal(render("%Xf", 5, 1, "x1", NULL), "0");
	/* too long for the output */
	assert_string_equal(render("%f%f", 5, 1,
	    "0123456789012345678901234567890123456789", NULL), "-");
	assert_string_equal(render("%m", 5, 1, "a", NULL), "-");
	/* an mbox message: no file name, no GUID */
	assert_string_equal(render("%v.%u", 7, 1234, NULL, NULL), "1234.7");
	assert_string_equal(render("%f", 7, 1, NULL, NULL), "-");
	assert_string_equal(render("%u-%g", 7, 1, NULL, NULL), "-");
}

/* ---- dovecot-uidlist ---- */

static const char dovecot3[] =
    "3 V1700000000 N6 G3085f01b7f11094c501100008c4a11c1\n"
    "1 :1000.M1P1.host,S=100\n"
    "2 W120 S100 :1001.M1P1.host,S=100:2,S\n"
    "3 P :1002.M1P1.host\n"
    "4 Pold-uidl-4 W5 :1003.M1P1.host\n"
    "5 Gfeedface00112233 O2 :1004.M1P1.host\n";

static void
test_dovecot_good(void **state)
{
	struct uidmap u;

	(void)state;
	assert_int_equal(parse(&u, UIDMAP_DOVECOT, dovecot3), 0);
	assert_int_equal(u.n, 5);
	assert_int_equal(u.bad, 0);
	assert_int_equal(u.uidvalidity, 1700000000);
	assert_string_equal(look(&u, "1000.M1P1.host,S=100", "%08Xu%08Xv"),
	    "000000016553f100");
	/* the info part of a recorded name is not part of the key */
	assert_string_equal(look(&u, "1001.M1P1.host,S=100", "%08Xu%08Xv"),
	    "000000026553f100");
	/* P wins over the format; an empty P is the file name */
	assert_string_equal(look(&u, "1002.M1P1.host", "%08Xu%08Xv"),
	    "1002.M1P1.host");
	assert_string_equal(look(&u, "1003.M1P1.host", "%08Xu%08Xv"),
	    "old-uidl-4");
	assert_string_equal(look(&u, "1003.M1P1.host", "%f"), "old-uidl-4");
	/* %g: the G record */
	assert_string_equal(look(&u, "1004.M1P1.host", "%g"),
	    "feedface00112233");
	assert_string_equal(look(&u, "1000.M1P1.host,S=100", "%g"),
	    "1000.M1P1.host,S=100");
	assert_string_equal(look(&u, "1000.M1P1.host,S=100", "%v.%u"),
	    "1700000000.1");
	/* not listed */
	assert_string_equal(look(&u, "9999.M1P1.host", "%u"), "-");
	assert_string_equal(look(&u, "1000.M1P1.host", "%u"), "-");
	uidmap_free(&u);

	/* version 1: "1 <uidvalidity> <next uid>", "<uid> <name>" */
	assert_int_equal(parse(&u, UIDMAP_DOVECOT,
	    "1 1234 3\n1 a.host\n2 b.host:2,S\n"), 0);
	assert_int_equal(u.n, 2);
	assert_string_equal(look(&u, "b.host", "%v.%u"), "1234.2");
	uidmap_free(&u);
}

static void
test_dovecot_bad_header(void **state)
{
	static const char *const bad[] = {
		"", "\n", "3\n", "3 N5\n1 :a\n", "3 V0 N5\n1 :a\n",
		"3 Vx N5\n1 :a\n", "3 V4294967296\n1 :a\n", "2 V1 N2\n1 :a\n",
		"4 V1\n1 :a\n", "3 V1 N2 x\n1 :a\n", "3 V1 N2",
		"1 5\n1 a\n", "1 0 5\n1 a\n", " 3 V1\n1 :a\n",
	};
	struct uidmap u;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(parse(&u, UIDMAP_DOVECOT, bad[i]), -1);
		assert_int_equal(u.n, 0);
		assert_string_equal(look(&u, "a", "%u"), "-");
		uidmap_free(&u);
	}
}

static void
test_dovecot_bad_lines(void **state)
{
	char line[MAILDIR_UIDMAP_LINE_MAX + 64], text[sizeof(line) + 64];
	struct uidmap u;

	(void)state;
	assert_int_equal(parse(&u, UIDMAP_DOVECOT,
	    "3 V7 N99\n"
	    "1 :ok1\n"
	    "x :notnum\n"		/* uid not a number */
	    "0 :zero\n"			/* uid 0 */
	    "4294967295 :huge\n"	/* uid too high */
	    "2 :\n"			/* no name */
	    "3 W5\n"			/* no ':' field */
	    "4 :a/b\n"			/* a slash */
	    "5 :.dot\n"			/* a dot file */
	    "6 :ok6\n"
	    "6 :again6\n"		/* uid not ascending */
	    "5 :back5\n"		/* uid going back */
	    "7 P0123456789012345678901234567890123456789012345678901234567890123456789x :longp\n"
	    "8 Pbad\x01uidl :ctl\n"	/* served UIDL not printable */
	    "9 :ok9\n"
	    "10 :cut"), 0);		/* unterminated last line */
	assert_string_equal(look(&u, "ok1", "%u"), "1");
	assert_string_equal(look(&u, "ok6", "%u"), "6");
	assert_string_equal(look(&u, "ok9", "%u"), "9");
	assert_string_equal(look(&u, "again6", "%u"), "-");
	assert_string_equal(look(&u, "back5", "%u"), "-");
	assert_string_equal(look(&u, "longp", "%u"), "-");
	assert_string_equal(look(&u, "ctl", "%u"), "-");
	assert_string_equal(look(&u, "cut", "%u"), "-");
	assert_string_equal(look(&u, "huge", "%u"), "-");
	assert_int_equal(u.bad, 11);
	uidmap_free(&u);

	/* a NUL inside a line */
	memcpy(text, "3 V7\n1 :a\n2 :b\0c\n3 :d\n", 22);
	{
		char *p = malloc(22);

		memcpy(p, text, 22);
		assert_int_equal(uidmap_parse(&u, UIDMAP_DOVECOT, p, 22), 0);
	}
	assert_string_equal(look(&u, "a", "%u"), "1");
	assert_string_equal(look(&u, "b", "%u"), "-");
	assert_string_equal(look(&u, "d", "%u"), "3");
	uidmap_free(&u);

	/* an overlong line */
	memset(line, 'n', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\0';
	snprintf(text, sizeof(text), "3 V7\n1 :%s\n2 :z\n", line);
	assert_int_equal(parse(&u, UIDMAP_DOVECOT, text), 0);
	assert_int_equal(u.n, 1);
	assert_string_equal(look(&u, "z", "%u"), "2");
	uidmap_free(&u);

	/* the same file named twice: the later line wins, as in Dovecot */
	assert_int_equal(parse(&u, UIDMAP_DOVECOT,
	    "3 V7\n1 :a\n2 :a:2,S\n"), 0);
	assert_string_equal(look(&u, "a", "%u"), "2");
	uidmap_free(&u);

	/* a rendered UIDL that is too long or has a space: none */
	assert_int_equal(parse(&u, UIDMAP_DOVECOT,
	    "3 V7\n1 :0123456789012345678901234567890123456789\n"), 0);
	assert_string_equal(look(&u,
	    "0123456789012345678901234567890123456789", "%f%f"), "-");
	assert_string_equal(look(&u,
	    "0123456789012345678901234567890123456789", "%u %v"), "-");
	uidmap_free(&u);
}

/* ---- courierpop3dsizelist ---- */

static void
test_courier(void **state)
{
	struct uidmap u;

	(void)state;
	assert_int_equal(parse(&u, UIDMAP_COURIER,
	    "/3 12 1600000000\n"
	    "1000.M1.host:2,S 2048 1:1600000000:0\n"
	    "1001.M1.host 100 2:1600000000:1\n"
	    "1002.M1.host 100 3:0:0\n"
	    "name with spaces 5 4:1600000000:0\n"
	    "it's+\"odd\" 5 0:0:0\n"
	    "1003.M1.host 100 5:1600000000\n"	/* version 2 line */
	    "bad.size x 6:1:0\n"
	    "bad.ids 5 6-1\n"
	    "bad.utf8 5 6:1:7\n"
	    "nospace\n"
	    "a/b 5 7:1:0\n"
	    "dup 5 8:1:0\n"
	    "dup 5 9:1:0\n"), 0);
	assert_string_equal(look(&u, "1000.M1.host", NULL),
	    "UID1-1600000000");
	assert_string_equal(look(&u, "1001.M1.host", NULL),
	    "UID2-1600000000");
	assert_string_equal(look(&u, "1002.M1.host", NULL), "UID3");
	assert_string_equal(look(&u, "name with spaces", NULL),
	    "UID4-1600000000");
	assert_string_equal(look(&u, "it's+\"odd\"", NULL),
	    "it+27s+2B+22odd+22");
	assert_string_equal(look(&u, "1003.M1.host", NULL),
	    "UID5-1600000000");
	assert_string_equal(look(&u, "bad.size", NULL), "-");
	assert_string_equal(look(&u, "bad.ids", NULL), "-");
	assert_string_equal(look(&u, "bad.utf8", NULL), "-");
	assert_string_equal(look(&u, "dup", NULL), "-");	/* ambiguous */
	assert_int_equal(u.bad, 6);
	uidmap_free(&u);

	/* headers Courier itself would not take */
	assert_int_equal(parse(&u, UIDMAP_COURIER, "/1 5 7\na 1 1:1:0\n"), -1);
	assert_int_equal(parse(&u, UIDMAP_COURIER, "3 5 7\na 1 1:1:0\n"), -1);
	assert_int_equal(parse(&u, UIDMAP_COURIER, "/3\na 1 1:1:0\n"), -1);
	assert_int_equal(parse(&u, UIDMAP_COURIER, "/x 1\na 1 1:1:0\n"), -1);
	assert_int_equal(parse(&u, UIDMAP_COURIER, "/3 1 1"), -1);
	assert_int_equal(parse(&u, UIDMAP_COURIER, ""), -1);
	/* version 2 header */
	assert_int_equal(parse(&u, UIDMAP_COURIER, "/2 5\na 1 3:9\n"), 0);
	assert_string_equal(look(&u, "a", NULL), "UID3-9");
	uidmap_free(&u);
}

/* ---- what maildir_open serves ---- */

struct fix {
	char	dir[64];
};

static int
setup_dir(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));
	char p[128];

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/privpop-uidmap-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(p, sizeof(p), "%s/cur", f->dir);
	assert_int_equal(mkdir(p, 0700), 0);
	snprintf(p, sizeof(p), "%s/new", f->dir);
	assert_int_equal(mkdir(p, 0700), 0);
	snprintf(p, sizeof(p), "%s/tmp", f->dir);
	assert_int_equal(mkdir(p, 0700), 0);
	*state = f;
	return 0;
}

static int
rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static int
teardown_dir(void **state)
{
	struct fix *f = *state;

	(void)nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

static void
put_file(const struct fix *f, const char *rel, const char *text)
{
	char p[512];
	FILE *fp;

	snprintf(p, sizeof(p), "%s/%s", f->dir, rel);
	assert_non_null(fp = fopen(p, "w"));
	fputs(text, fp);
	fclose(fp);
}

static void
test_open_dovecot(void **state)
{
	struct fix *f = *state;
	struct maildir md;
	struct mdcache c;
	uint64_t sz;
	int fd;

	put_file(f, "cur/1000.A.host:2,S", "Subject: a\n\nbody\n");
	put_file(f, "cur/1001.B.host:2,", "Subject: b\n\nbody\n");
	put_file(f, "new/1002.C.host", "Subject: c\n\nbody\n");
	put_file(f, "new/1003.D.host", "Subject: d\n\nbody\n");	/* new mail */
	put_file(f, UIDMAP_DOVECOT_FILE,
	    "3 V1700000000 N4\n"
	    "1 :1000.A.host\n"
	    "2 P :1001.B.host\n"
	    "3 PUID-c :1002.C.host\n");
	assert_int_equal(maildir_open(&md, f->dir), MAIL_OK);
	assert_int_equal(md.count, 4);
	assert_string_equal(md.msgs[0].uidl, "000000016553f100");
	assert_string_equal(md.msgs[1].uidl, "1001.B.host");
	assert_string_equal(md.msgs[2].uidl, "UID-c");
	assert_string_equal(md.msgs[3].uidl, "1003.D.host");
	assert_int_equal(md.msgs[3].uidl_migrated, 0);
	maildir_close(&md);
	/* the size cache is keyed by privpop's own UIDLs */
	fd = open(f->dir, O_RDONLY | O_DIRECTORY);
	assert_true(fd >= 0);
	mdcache_load(&c, fd);
	assert_int_equal(mdcache_lookup(&c, "1000.A.host", &sz), 0);
	assert_int_equal(mdcache_lookup(&c, "000000016553f100", &sz), -1);
	mdcache_free(&c);
	close(fd);
	/* again, from the cache: the same UIDLs */
	assert_int_equal(maildir_open_fmt(&md, f->dir, "%v.%u"), MAIL_OK);
	assert_string_equal(md.msgs[0].uidl, "1700000000.1");
	assert_string_equal(md.msgs[2].uidl, "UID-c");
	maildir_close(&md);
}

static void
test_open_precedence_unique(void **state)
{
	struct fix *f = *state;
	struct maildir md;

	put_file(f, "cur/1000.A.host:2,S", "a\n");
	put_file(f, "cur/1001.B.host:2,S", "b\n");
	put_file(f, "cur/1002.C.host:2,S", "c\n");
	put_file(f, "cur/1003.D.host:2,S", "d\n");
	/* B's P record repeats D's own name: B falls back; C's is Dovecot's
	 * (before Courier's) */
	put_file(f, UIDMAP_DOVECOT_FILE,
	    "3 V9 N4\n"
	    "2 P1003.D.host :1001.B.host\n"
	    "3 Pdove-c :1002.C.host\n");
	put_file(f, UIDMAP_COURIER_FILE,
	    "/3 9 77\n"
	    "1000.A.host:2,S 2 1:77:0\n"
	    "1002.C.host:2,S 2 3:77:0\n");
	assert_int_equal(maildir_open(&md, f->dir), MAIL_OK);
	assert_int_equal(md.count, 4);
	assert_string_equal(md.msgs[0].uidl, "UID1-77");
	assert_string_equal(md.msgs[1].uidl, "1001.B.host");
	assert_string_equal(md.msgs[2].uidl, "dove-c");
	assert_string_equal(md.msgs[3].uidl, "1003.D.host");
	maildir_close(&md);

	/* two records giving one UIDL: neither is served */
	put_file(f, UIDMAP_DOVECOT_FILE,
	    "3 V9 N4\n"
	    "1 Psame :1000.A.host\n"
	    "2 Psame :1001.B.host\n");
	{
		char p[128];

		snprintf(p, sizeof(p), "%s/%s", f->dir, UIDMAP_COURIER_FILE);
		unlink(p);
	}
	assert_int_equal(maildir_open(&md, f->dir), MAIL_OK);
	assert_string_equal(md.msgs[0].uidl, "1000.A.host");
	assert_string_equal(md.msgs[1].uidl, "1001.B.host");
	maildir_close(&md);
}

static void
test_open_unusable_files(void **state)
{
	struct fix *f = *state;
	struct maildir md;
	char p[128], q[128];

	put_file(f, "cur/1000.A.host:2,S", "a\n");
	/* malformed header: privpop's own */
	put_file(f, UIDMAP_DOVECOT_FILE, "garbage\n1 :1000.A.host\n");
	assert_int_equal(maildir_open(&md, f->dir), MAIL_OK);
	assert_string_equal(md.msgs[0].uidl, "1000.A.host");
	maildir_close(&md);
	/* a symlink is not followed */
	snprintf(p, sizeof(p), "%s/%s", f->dir, UIDMAP_DOVECOT_FILE);
	snprintf(q, sizeof(q), "%s/real", f->dir);
	put_file(f, "real", "3 V9\n1 Pvia-link :1000.A.host\n");
	unlink(p);
	assert_int_equal(symlink(q, p), 0);
	assert_int_equal(maildir_open(&md, f->dir), MAIL_OK);
	assert_string_equal(md.msgs[0].uidl, "1000.A.host");
	maildir_close(&md);
	/* nor a second hard link */
	unlink(p);
	assert_int_equal(link(q, p), 0);
	assert_int_equal(maildir_open(&md, f->dir), MAIL_OK);
	assert_string_equal(md.msgs[0].uidl, "1000.A.host");
	maildir_close(&md);
	/* nor a directory */
	unlink(p);
	assert_int_equal(mkdir(p, 0700), 0);
	assert_int_equal(maildir_open(&md, f->dir), MAIL_OK);
	assert_string_equal(md.msgs[0].uidl, "1000.A.host");
	maildir_close(&md);
	rmdir(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format_check),
		cmocka_unit_test(test_format_render),
		cmocka_unit_test(test_dovecot_good),
		cmocka_unit_test(test_dovecot_bad_header),
		cmocka_unit_test(test_dovecot_bad_lines),
		cmocka_unit_test(test_courier),
		cmocka_unit_test_setup_teardown(test_open_dovecot, setup_dir,
		    teardown_dir),
		cmocka_unit_test_setup_teardown(test_open_precedence_unique,
		    setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_open_unusable_files,
		    setup_dir, teardown_dir),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
