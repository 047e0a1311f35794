/*
 * Unit tests for common/sdnotify.c: a datagram reaches the socket that
 * $NOTIFY_SOCKET names (a path or an abstract "@name"), the variable is
 * unset for children, and a missing or malformed name sends nothing.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "sdnotify.h"

/* A datagram socket bound to name (a path, or "@x" for abstract). */
static int
bound(const char *name)
{
	struct sockaddr_un sa;
	socklen_t len;
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, name, strlen(name));
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
	    strlen(name));
	if (name[0] == '@')
		sa.sun_path[0] = '\0';
	else
		len++;
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, len), 0);
	return fd;
}

/* The next datagram, or "" when none is waiting. */
static const char *
received(int fd)
{
	static char buf[256];
	ssize_t n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);

	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

static void
test_path(void **state)
{
	char dir[] = "/tmp/privpop-test-sdnotify.XXXXXX", path[108];
	int fd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/notify", dir);
	fd = bound(path);
	assert_int_equal(setenv("NOTIFY_SOCKET", path, 1), 0);
	assert_int_equal(sdnotify_init(), 1);
	assert_null(getenv("NOTIFY_SOCKET"));	/* children get none */
	assert_int_equal(sdnotify("READY=1"), 0);
	assert_string_equal(received(fd), "READY=1");
	assert_int_equal(sdnotify_reloading(), 0);
	assert_true(strncmp(received(fd), "RELOADING=1\nMONOTONIC_USEC=",
	    27) == 0);
	assert_int_equal(sdnotify("STOPPING=1"), 0);
	assert_string_equal(received(fd), "STOPPING=1");
	assert_string_equal(received(fd), "");
	/* the listener gone: an error, not a crash */
	close(fd);
	unlink(path);
	assert_int_equal(sdnotify("READY=1"), -1);
	rmdir(dir);
}

static void
test_abstract(void **state)
{
	char name[64];
	int fd;

	(void)state;
	snprintf(name, sizeof(name), "@privpop-test-sdnotify-%ld",
	    (long)getpid());
	fd = bound(name);
	assert_int_equal(setenv("NOTIFY_SOCKET", name, 1), 0);
	assert_int_equal(sdnotify_init(), 1);
	assert_null(getenv("NOTIFY_SOCKET"));
	assert_int_equal(sdnotify("READY=1"), 0);
	assert_string_equal(received(fd), "READY=1");
	close(fd);
}

static void
test_none_or_malformed(void **state)
{
	/* longer than sun_path (108) */
	static const char too_long[] = "/a/path/far/too/long/for/sun_path/"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaa";
	static const char *bad[] = { "relative/path", "@", "x", too_long };
	size_t i;

	(void)state;
	unsetenv("NOTIFY_SOCKET");
	assert_int_equal(sdnotify_init(), 0);
	assert_int_equal(sdnotify("READY=1"), 0);	/* nothing to do */
	assert_int_equal(setenv("NOTIFY_SOCKET", "", 1), 0);
	assert_int_equal(sdnotify_init(), 0);
	assert_null(getenv("NOTIFY_SOCKET"));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(setenv("NOTIFY_SOCKET", bad[i], 1), 0);
		assert_int_equal(sdnotify_init(), -1);
		assert_null(getenv("NOTIFY_SOCKET"));
		assert_int_equal(sdnotify("READY=1"), 0);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_path),
		cmocka_unit_test(test_abstract),
		cmocka_unit_test(test_none_or_malformed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
