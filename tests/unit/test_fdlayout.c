/*
 * fd_layout() and fd_stdio_ensure(): every layout runs in a forked
 * child (it closes descriptors), which exits with the number of the
 * first check that failed, or 0.
 */
#include "config.h"

#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#include <cmocka.h>

#include "fdlayout.h"

/* A fresh file on exactly fd want (none open there before); its inode
 * in *ino_r. */
static int
file_on(int want, ino_t *ino_r)
{
	struct stat st;
	int fd = memfd_create("fdlayout-test", MFD_CLOEXEC);

	if (fd == -1)
		return -1;
	if (fd != want) {
		if (dup3(fd, want, O_CLOEXEC) == -1)
			return -1;
		close(fd);
	}
	if (fstat(want, &st) == -1)
		return -1;
	*ino_r = st.st_ino;
	return want;
}

static int
ino_is(int fd, ino_t ino)
{
	struct stat st;

	return fstat(fd, &st) == 0 && st.st_ino == ino;
}

static int
survives_exec(int fd)
{
	int fl = fcntl(fd, F_GETFD);

	return fl != -1 && !(fl & FD_CLOEXEC);
}

static int
is_closed(int fd)
{
	return fcntl(fd, F_GETFD) == -1 && errno == EBADF;
}

static int
run_child(int (*fn)(void))
{
	int status;
	pid_t pid = fork();

	assert_true(pid != -1);
	if (pid == 0)
		_exit(fn());
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

/* The bug a syslog socket on fd 4 caused: the TLS key snapshot landed
 * on 5, and placing the penalty descriptor on 5 before the key moved
 * to 7 destroyed it. */
static int
chain_over_targets(void)
{
	ino_t conf, report, table, key;
	struct fd_place p[4];

	closefrom(3);
	if (file_on(9, &conf) == -1 || file_on(10, &report) == -1 ||
	    file_on(11, &table) == -1 || file_on(5, &key) == -1)
		return 1;
	p[0] = (struct fd_place){ 9, 4 };
	p[1] = (struct fd_place){ 10, 5 };
	p[2] = (struct fd_place){ 11, 6 };
	p[3] = (struct fd_place){ 5, 7 };
	if (fd_layout(p, 4, 3) == -1)
		return 2;
	if (!ino_is(4, conf) || !ino_is(5, report) || !ino_is(6, table) ||
	    !ino_is(7, key))
		return 3;
	if (!survives_exec(4) || !survives_exec(7))
		return 4;
	if (!is_closed(3) || !is_closed(8) || !is_closed(9) ||
	    !is_closed(10) || !is_closed(11))
		return 5;
	return 0;
}

/* Two sources on each other's targets. */
static int
swap(void)
{
	ino_t a, b;
	struct fd_place p[2];

	closefrom(3);
	if (file_on(3, &a) == -1 || file_on(4, &b) == -1)
		return 1;
	p[0] = (struct fd_place){ 3, 4 };
	p[1] = (struct fd_place){ 4, 3 };
	if (fd_layout(p, 2, 3) == -1)
		return 2;
	return ino_is(4, a) && ino_is(3, b) ? 0 : 3;
}

/* A source already on its target keeps it, but loses FD_CLOEXEC
 * (dup2 onto itself would have left the flag, and exec closed it). */
static int
in_place_cloexec(void)
{
	ino_t a;
	struct fd_place p = { 3, 3 };

	closefrom(3);
	if (file_on(3, &a) == -1)
		return 1;
	if (fd_layout(&p, 1, 3) == -1)
		return 2;
	return ino_is(3, a) && survives_exec(3) ? 0 : 3;
}

/* One source on several targets (/dev/null on 0..2), and every number
 * below the highest target that is not a target is closed. */
static int
shared_source_and_holes(void)
{
	ino_t n, s, hole;
	struct fd_place p[4];

	closefrom(3);
	if (file_on(12, &n) == -1 || file_on(13, &s) == -1 ||
	    file_on(4, &hole) == -1)
		return 1;
	p[0] = (struct fd_place){ 12, 0 };
	p[1] = (struct fd_place){ 12, 1 };
	p[2] = (struct fd_place){ 12, 2 };
	p[3] = (struct fd_place){ 13, 5 };
	if (fd_layout(p, 4, 0) == -1)
		return 2;
	if (!ino_is(0, n) || !ino_is(1, n) || !ino_is(2, n) ||
	    !ino_is(5, s))
		return 3;
	if (!is_closed(3) || !is_closed(4) || !is_closed(12) ||
	    !is_closed(13))
		return 4;
	return 0;
}

static int
bad_layouts(void)
{
	ino_t a;
	struct fd_place dup[2] = { { 3, 4 }, { 3, 4 } };
	struct fd_place closed = { 20, 4 };
	struct fd_place low = { 3, 2 };
	struct fd_place many[FD_LAYOUT_MAX + 1];
	int i;

	closefrom(3);
	if (file_on(3, &a) == -1)
		return 1;
	if (fd_layout(dup, 2, 3) != -1 || errno != EINVAL)
		return 2;
	if (fd_layout(&closed, 1, 3) != -1 || errno != EBADF)
		return 3;
	if (fd_layout(&low, 1, 3) != -1 || errno != EINVAL)
		return 4;
	for (i = 0; i <= FD_LAYOUT_MAX; i++)
		many[i] = (struct fd_place){ 3, 3 + i };
	if (fd_layout(many, FD_LAYOUT_MAX + 1, 3) != -1 || errno != EINVAL)
		return 5;
	/* a refused layout changed nothing */
	return ino_is(3, a) ? 0 : 6;
}

/* Started with 0 and 2 closed: both become /dev/null, 1 is kept. */
static int
stdio_closed(void)
{
	struct stat null, st, one;

	if (stat("/dev/null", &null) == -1 || fstat(1, &one) == -1)
		return 1;
	close(0);
	close(2);
	if (fd_stdio_ensure() == -1)
		return 2;
	if (fstat(0, &st) == -1 || st.st_rdev != null.st_rdev ||
	    !S_ISCHR(st.st_mode))
		return 3;
	if (fstat(2, &st) == -1 || st.st_rdev != null.st_rdev)
		return 4;
	if (fstat(1, &st) == -1 || st.st_ino != one.st_ino)
		return 5;
	return 0;
}

static void
test_chain_over_targets(void **state)
{
	(void)state;
	assert_int_equal(run_child(chain_over_targets), 0);
}

static void
test_swap(void **state)
{
	(void)state;
	assert_int_equal(run_child(swap), 0);
}

static void
test_in_place_cloexec(void **state)
{
	(void)state;
	assert_int_equal(run_child(in_place_cloexec), 0);
}

static void
test_shared_source_and_holes(void **state)
{
	(void)state;
	assert_int_equal(run_child(shared_source_and_holes), 0);
}

static void
test_bad_layouts(void **state)
{
	(void)state;
	assert_int_equal(run_child(bad_layouts), 0);
}

static void
test_stdio_closed(void **state)
{
	(void)state;
	assert_int_equal(run_child(stdio_closed), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_chain_over_targets),
		cmocka_unit_test(test_swap),
		cmocka_unit_test(test_in_place_cloexec),
		cmocka_unit_test(test_shared_source_and_holes),
		cmocka_unit_test(test_bad_layouts),
		cmocka_unit_test(test_stdio_closed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
