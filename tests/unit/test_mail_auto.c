/*
 * mail_location = auto, decided by the mailbox owner's process
 * (mailstore/mail_auto.c): ~/Maildir when it opens as fs_open_dir opens
 * it (a real directory, or root's symlink), else the spool named after
 * the user; malformed input refused.
 */
#include "config.h"

#include <sys/stat.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "mail_auto.h"

static char base[64], home[96], link_[128], target[96], loc[160];

static int
setup(void **state)
{
	(void)state;
	snprintf(base, sizeof(base), "/tmp/privpop-mauto-XXXXXX");
	if (mkdtemp(base) == NULL)
		return -1;
	snprintf(target, sizeof(target), "%s/hidden", base);
	snprintf(home, sizeof(home), "%s/home", base);
	snprintf(link_, sizeof(link_), "%s/Maildir", home);
	snprintf(loc, sizeof(loc), "auto:%s", link_);
	if (mkdir(target, 0700) == -1 || mkdir(home, 0755) == -1)
		return -1;
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	(void)unlink(link_);
	(void)rmdir(link_);
	(void)rmdir(home);
	(void)rmdir(target);
	return rmdir(base);
}

static void
test_maildir_or_spool(void **state)
{
	char out[256], want[160];

	(void)state;
	/* nothing there: the spool */
	assert_int_equal(mail_auto_resolve(loc, "alice", out, sizeof(out)),
	    0);
	assert_string_equal(out, "mbox:" MAIL_SPOOL_DIR "/alice");
	/* a directory: the Maildir */
	assert_int_equal(mkdir(link_, 0700), 0);
	assert_int_equal(mail_auto_resolve(loc, "alice", out, sizeof(out)),
	    0);
	snprintf(want, sizeof(want), "maildir:%s", link_);
	assert_string_equal(out, want);
	assert_int_equal(rmdir(link_), 0);
	/* a file of that name is not a Maildir */
	{
		FILE *fp = fopen(link_, "w");

		assert_non_null(fp);
		fclose(fp);
	}
	assert_int_equal(mail_auto_resolve(loc, "alice", out, sizeof(out)),
	    0);
	assert_string_equal(out, "mbox:" MAIL_SPOOL_DIR "/alice");
	assert_int_equal(unlink(link_), 0);
}

/* A symlink is followed only when root owns it (fs_open_dir): the
 * owner's own link to a directory is not its Maildir. */
static void
test_symlink_only_roots(void **state)
{
	char out[256];

	(void)state;
	if (geteuid() != 0)
		skip();		/* lchown to another user needs root */
	assert_int_equal(symlink(target, link_), 0);
	assert_int_equal(mail_auto_resolve(loc, "a", out, sizeof(out)), 0);
	assert_memory_equal(out, "maildir:", 8);
	assert_int_equal(lchown(link_, 65534, 65534), 0);
	assert_int_equal(mail_auto_resolve(loc, "a", out, sizeof(out)), 0);
	assert_string_equal(out, "mbox:" MAIL_SPOOL_DIR "/a");
	assert_int_equal(unlink(link_), 0);
}

static void
test_refused(void **state)
{
	char out[256], small[20];

	(void)state;
	/* not auto:, or a relative path */
	assert_int_equal(mail_auto_resolve("maildir:/x", "a", out,
	    sizeof(out)), -1);
	assert_int_equal(mail_auto_resolve("auto:x/Maildir", "a", out,
	    sizeof(out)), -1);
	assert_int_equal(mail_auto_resolve("auto:", "a", out, sizeof(out)),
	    -1);
	/* names that are not one file of the spool */
	assert_int_equal(mail_auto_resolve(loc, "", out, sizeof(out)), -1);
	assert_int_equal(mail_auto_resolve(loc, "..", out, sizeof(out)), -1);
	assert_int_equal(mail_auto_resolve(loc, ".", out, sizeof(out)), -1);
	assert_int_equal(mail_auto_resolve(loc, "a/../../etc", out,
	    sizeof(out)), -1);
	/* bounded by outlen */
	memset(small, 'Z', sizeof(small));
	assert_int_equal(mail_auto_resolve(loc, "a-rather-long-name", small,
	    sizeof(small)), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_maildir_or_spool),
		cmocka_unit_test(test_symlink_only_roots),
		cmocka_unit_test(test_refused),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
