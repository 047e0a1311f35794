/* authsecret_load: made once (mode 600), the same bytes at every later
 * start, and a file anyone else could read or write is refused. */
#include "config.h"

#include <sys/stat.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "authsecret.h"

static char dir[] = "/tmp/test_authsecret.XXXXXX";
static char path[sizeof(dir) + 32];

static int
setup(void **state)
{
	(void)state;
	if (mkdtemp(dir) == NULL)
		return -1;
	/* one level that does not exist yet: it is made too */
	snprintf(path, sizeof(path), "%s/state/auth-secret", dir);
	return 0;
}

static int
teardown(void **state)
{
	char sub[sizeof(path)];

	(void)state;
	unlink(path);
	snprintf(sub, sizeof(sub), "%s/state", dir);
	rmdir(sub);
	rmdir(dir);
	return 0;
}

static void
test_made_then_kept(void **state)
{
	unsigned char a[AUTH_SECRET_LEN], b[AUTH_SECRET_LEN];
	unsigned char zero[AUTH_SECRET_LEN] = { 0 };
	char why[512];
	struct stat st;

	(void)state;
	assert_int_equal(authsecret_load(path, a, why, sizeof(why)), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(st.st_size, AUTH_SECRET_LEN);
	assert_memory_not_equal(a, zero, sizeof(a));
	/* a restart reads the same secret */
	assert_int_equal(authsecret_load(path, b, why, sizeof(why)), 0);
	assert_memory_equal(a, b, sizeof(a));
}

static void
test_refused(void **state)
{
	unsigned char a[AUTH_SECRET_LEN];
	char why[512];
	int fd;

	(void)state;
	assert_int_equal(authsecret_load(path, a, why, sizeof(why)), 0);
	/* readable by others */
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(authsecret_load(path, a, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "mode 600"));
	assert_int_equal(chmod(path, 0600), 0);
	/* the wrong size */
	fd = open(path, O_WRONLY | O_APPEND);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "x", 1), 1);
	close(fd);
	assert_int_equal(authsecret_load(path, a, why, sizeof(why)), -1);
	unlink(path);
	/* a symbolic link is not followed */
	assert_int_equal(symlink("/etc/passwd", path), 0);
	assert_int_equal(authsecret_load(path, a, why, sizeof(why)), -1);
	unlink(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_made_then_kept),
		cmocka_unit_test(test_refused),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
