/*
 * Unit tests of the RFC 2449 LOGIN-DELAY and EXPIRE state files
 * (mailstore/expire.c): the record, login and test-clock parsers over
 * good files and every malformed form, and the files written and read
 * back in a temporary directory (login_refused, login_record,
 * expire_save, expire_load); and the per-user values and CAPA values of
 * the configuration (common/conf.c conf_user_policy, conf_capa_policy).
 *
 * Runs as: the developer (make check), no privilege.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/stat.h>

#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "conf.h"
#include "expire.h"
#include "limits.h"

static uint32_t
parse_n(const char *s, struct expire_rec **v)
{
	uint32_t n;

	assert_int_equal(expire_parse(s, strlen(s), v, &n), 0);
	return n;
}

static void
test_parse_good(void **state)
{
	struct expire_rec *v;
	uint32_t n;

	(void)state;
	n = parse_n(EXPIRE_REC_MAGIC "100 b\n200 a\n50 b\n", &v);
	assert_int_equal(n, 2);
	assert_string_equal(v[0].uidl, "a");
	assert_int_equal(v[0].first, 200);
	assert_string_equal(v[1].uidl, "b");
	assert_int_equal(v[1].first, 50);	/* the earliest stays */
	assert_ptr_equal(expire_find(v, n, "a"), &v[0]);
	assert_ptr_equal(expire_find(v, n, "b"), &v[1]);
	assert_null(expire_find(v, n, "c"));
	assert_null(expire_find(v, n, ""));
	free(v);
	n = parse_n(EXPIRE_REC_MAGIC, &v);
	assert_int_equal(n, 0);
	assert_null(v);
}

static void
test_parse_malformed(void **state)
{
	static const char *const bad[] = {
		"",
		"privpop-expire 2\n100 a\n",
		"100 a\n",
		EXPIRE_REC_MAGIC "100 a",		/* cut short */
		EXPIRE_REC_MAGIC "0 a\n",		/* no time */
		EXPIRE_REC_MAGIC "-5 a\n",
		EXPIRE_REC_MAGIC "+5 a\n",
		EXPIRE_REC_MAGIC "5\n",
		EXPIRE_REC_MAGIC "5 \n",
		EXPIRE_REC_MAGIC " 5 a\n",
		EXPIRE_REC_MAGIC "5 a b\n",		/* space in UIDL */
		EXPIRE_REC_MAGIC "5  a\n",
		EXPIRE_REC_MAGIC "5 a\x7f\n",
		EXPIRE_REC_MAGIC "5 \x01\n",
		EXPIRE_REC_MAGIC "253402300800 a\n",	/* year 10000 */
		EXPIRE_REC_MAGIC "99999999999999999999999 a\n",
		EXPIRE_REC_MAGIC "5 "
		    "12345678901234567890123456789012345678901234567890"
		    "123456789012345678901\n",		/* 71 characters */
		EXPIRE_REC_MAGIC "x5 a\n",
		EXPIRE_REC_MAGIC "\n",
	};
	struct expire_rec *v;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (parse_n(bad[i], &v) != 0)
			fail_msg("accepted bad form %zu", i);
		assert_null(v);
	}
	/* a bad line among good ones is skipped alone; a NUL too */
	{
		static const char s[] = EXPIRE_REC_MAGIC "5 a\n6 b\0c\n7 c\n";
		uint32_t n;

		assert_int_equal(expire_parse(s, sizeof(s) - 1, &v, &n), 0);
		assert_int_equal(n, 2);
		assert_string_equal(v[0].uidl, "a");
		assert_string_equal(v[1].uidl, "c");
		free(v);
	}
	/* 70 characters: the longest UIDL */
	assert_int_equal(parse_n(EXPIRE_REC_MAGIC "5 "
	    "12345678901234567890123456789012345678901234567890"
	    "12345678901234567890\n", &v), 1);
	free(v);
}

static void
test_login_parse(void **state)
{
	int64_t t;

	(void)state;
	assert_int_equal(login_parse(EXPIRE_LOGIN_MAGIC "1234\n",
	    strlen(EXPIRE_LOGIN_MAGIC "1234\n"), &t), 0);
	assert_int_equal(t, 1234);
#define BADL(s)	assert_int_equal(login_parse(s, strlen(s), &t), -1)
	BADL("");
	BADL(EXPIRE_LOGIN_MAGIC);
	BADL(EXPIRE_LOGIN_MAGIC "1234");
	BADL(EXPIRE_LOGIN_MAGIC "0\n");
	BADL(EXPIRE_LOGIN_MAGIC "-1\n");
	BADL(EXPIRE_LOGIN_MAGIC "12 34\n");
	BADL(EXPIRE_LOGIN_MAGIC "1234\n\n");
	BADL(EXPIRE_LOGIN_MAGIC "253402300800\n");
	BADL("privpop-login 2\n1234\n");
}

static void
test_clock(void **state)
{
	int64_t o;

	(void)state;
	assert_int_equal(test_clock_parse("86401\n", 6, &o), 0);
	assert_int_equal(o, 86401);
	assert_int_equal(test_clock_parse("-60", 3, &o), 0);
	assert_int_equal(o, -60);
	assert_int_equal(test_clock_parse("0", 1, &o), 0);
	assert_int_equal(o, 0);
	assert_int_equal(test_clock_parse("", 0, &o), -1);
	assert_int_equal(test_clock_parse("-", 1, &o), -1);
	assert_int_equal(test_clock_parse("+5", 2, &o), -1);
	assert_int_equal(test_clock_parse("5 ", 2, &o), -1);
	assert_int_equal(test_clock_parse("999999999999", 12, &o), -1);
}

/* A fresh directory for the file tests; its descriptor in *state. */
static char tmpdir[64];

static int
dir_setup(void **state)
{
	static int fd;

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_expire.XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	fd = open(tmpdir, O_RDONLY | O_DIRECTORY);
	*state = &fd;
	return fd == -1 ? -1 : 0;
}

static int
dir_teardown(void **state)
{
	int fd = *(int *)*state;

	(void)unlinkat(fd, "l", 0);
	(void)unlinkat(fd, "r", 0);
	(void)unlinkat(fd, "lnk", 0);
	close(fd);
	return rmdir(tmpdir);
}

static void
test_login_files(void **state)
{
	int fd = *(int *)*state;
	uint32_t wait = 0;

	/* no file: allowed */
	assert_int_equal(login_refused(fd, "l", 900, 10000, &wait), 0);
	login_record(fd, "l", 10000);
	assert_int_equal(login_refused(fd, "l", 900, 10000, &wait), 1);
	assert_int_equal(wait, 900);
	assert_int_equal(login_refused(fd, "l", 900, 10899, &wait), 1);
	assert_int_equal(wait, 1);
	assert_int_equal(login_refused(fd, "l", 900, 10900, &wait), 0);
	/* no delay, or a time ahead of the clock: allowed */
	assert_int_equal(login_refused(fd, "l", 0, 10000, &wait), 0);
	assert_int_equal(login_refused(fd, "l", 900, 9000, &wait), 0);
	/* a symlink in its place is not followed */
	assert_int_equal(unlinkat(fd, "l", 0), 0);
	assert_int_equal(symlinkat("/etc/passwd", fd, "l"), 0);
	assert_int_equal(login_refused(fd, "l", 900, 10000, &wait), 0);
	assert_int_equal(unlinkat(fd, "l", 0), 0);
	/* nor a file of two links */
	login_record(fd, "l", 10000);
	assert_int_equal(linkat(fd, "l", fd, "lnk", 0), 0);
	assert_int_equal(login_refused(fd, "l", 900, 10000, &wait), 0);
}

static void
test_rec_files(void **state)
{
	int fd = *(int *)*state;
	struct mail_msg m[3];
	int64_t first[3] = { 111, 0, 333 };
	struct expire_rec *v;
	uint32_t n;

	(void)state;
	memset(m, 0, sizeof(m));
	strcpy(m[0].uidl, "one");
	strcpy(m[1].uidl, "two");
	strcpy(m[2].uidl, "three");
	expire_load(fd, "r", &v, &n);		/* none yet */
	assert_int_equal(n, 0);
	assert_int_equal(expire_save(fd, "r", m, first, 3, 0), 0);
	expire_load(fd, "r", &v, &n);
	assert_int_equal(n, 2);
	assert_int_equal(expire_find(v, n, "one")->first, 111);
	assert_int_equal(expire_find(v, n, "three")->first, 333);
	assert_null(expire_find(v, n, "two"));
	free(v);
	/* deleted ones left out when asked */
	m[0].deleted = 1;
	assert_int_equal(expire_save(fd, "r", m, first, 3, 1), 0);
	expire_load(fd, "r", &v, &n);
	assert_int_equal(n, 1);
	assert_string_equal(v[0].uidl, "three");
	free(v);
}

static void
test_conf_policy(void **state)
{
	struct conf c;
	char err[256];
	int d, e, du, eu;
	static const char text[] =
	    "login_delay = 60\n"
	    "expire_domain = example.org 30\n"
	    "login_delay_domain = Example.ORG 900\n"
	    "expire_domain = zero.test 0\n";

	(void)state;
	conf_defaults(&c);
	assert_int_equal(c.login_delay, 0);
	assert_int_equal(c.expire, CONF_EXPIRE_NEVER);
	conf_capa_policy(&c, &d, &du, &e, &eu);
	assert_int_equal(d, 0);
	assert_int_equal(e, CONF_EXPIRE_NEVER);
	assert_int_equal(du | eu, 0);
	assert_int_equal(conf_parse_buf(&c, text, sizeof(text) - 1, "t", err,
	    sizeof(err)), 0);
	assert_int_equal(c.npolicy, 2);
	conf_user_policy(&c, "alice@example.org", &d, &e);
	assert_int_equal(d, 900);
	assert_int_equal(e, 30);
	conf_user_policy(&c, "bob@EXAMPLE.org", &d, &e);
	assert_int_equal(d, 900);
	conf_user_policy(&c, "carol@zero.test", &d, &e);
	assert_int_equal(d, 60);
	assert_int_equal(e, 0);
	conf_user_policy(&c, "dave", &d, &e);
	assert_int_equal(d, 60);
	assert_int_equal(e, CONF_EXPIRE_NEVER);
	conf_user_policy(&c, "example.org", &d, &e);
	assert_int_equal(d, 60);
	conf_user_policy(&c, "x@sub.example.org", &d, &e);
	assert_int_equal(d, 60);
	/* global never, but some domain expires: its smallest, with USER */
	conf_capa_policy(&c, &d, &du, &e, &eu);
	assert_int_equal(d, 60);
	assert_int_equal(du, 1);
	assert_int_equal(e, 0);
	assert_int_equal(eu, 1);
}

static void
test_conf_bad(void **state)
{
	static const char *const bad[] = {
		"expire = -1\n", "expire = 3651\n", "expire = forever\n",
		"login_delay = 86401\n", "login_delay_domain = example.org\n",
		"login_delay_domain = example.org x\n",
		"login_delay_domain = a@example.org 5\n",
		"expire_domain = example.org 5 6\n",
		"expire_domain = example.org -1\n",
	};
	struct conf c;
	char err[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		conf_defaults(&c);
		if (conf_parse_buf(&c, bad[i], strlen(bad[i]), "t", err,
		    sizeof(err)) != -1)
			fail_msg("accepted %s", bad[i]);
	}
	conf_defaults(&c);
	assert_int_equal(conf_parse_buf(&c, "expire = NEVER\n", 15, "t", err,
	    sizeof(err)), 0);
	assert_int_equal(c.expire, CONF_EXPIRE_NEVER);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_good),
		cmocka_unit_test(test_parse_malformed),
		cmocka_unit_test(test_login_parse),
		cmocka_unit_test(test_clock),
		cmocka_unit_test_setup_teardown(test_login_files, dir_setup,
		    dir_teardown),
		cmocka_unit_test_setup_teardown(test_rec_files, dir_setup,
		    dir_teardown),
		cmocka_unit_test(test_conf_policy),
		cmocka_unit_test(test_conf_bad),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
