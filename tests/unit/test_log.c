/*
 * Unit tests for common/log.c: log_syslog_probe(), which decides whether
 * a syslog daemon listens (else every line would cost syslog(3) a
 * socket, a failed connect and a close), and log_escape(), which keeps
 * a newline in a file name from forging a log line.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

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

#include "log.h"

static char dir[] = "/tmp/privpop-test-log.XXXXXX";

static void
path_of(char *out, size_t n, const char *name)
{
	snprintf(out, n, "%s/%s", dir, name);
}

static int
bound(const char *name, int type)
{
	struct sockaddr_un sa;
	int fd = socket(AF_UNIX, type, 0);

	assert_true(fd >= 0);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	path_of(sa.sun_path, sizeof(sa.sun_path), name);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	if (type == SOCK_STREAM)
		assert_int_equal(listen(fd, 1), 0);
	return fd;
}

static void
test_probe(void **state)
{
	char p[108];
	int fd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	/* nothing there */
	path_of(p, sizeof(p), "none");
	assert_int_equal(log_syslog_probe(p), 0);
	/* a datagram daemon (rsyslog, journald) */
	fd = bound("dgram", SOCK_DGRAM);
	path_of(p, sizeof(p), "dgram");
	assert_int_equal(log_syslog_probe(p), 1);
	/* its socket file left behind by a daemon that is gone */
	close(fd);
	assert_int_equal(log_syslog_probe(p), 0);
	unlink(p);
	/* a stream daemon (syslog-ng unix-stream): syslog(3) uses it too */
	fd = bound("stream", SOCK_STREAM);
	path_of(p, sizeof(p), "stream");
	assert_int_equal(log_syslog_probe(p), 1);
	close(fd);
	unlink(p);
	/* a regular file, and a path through one */
	path_of(p, sizeof(p), "file");
	fd = open(p, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(log_syslog_probe(p), 0);
	path_of(p, sizeof(p), "file/log");
	assert_int_equal(log_syslog_probe(p), 0);
	path_of(p, sizeof(p), "file");
	unlink(p);
	rmdir(dir);
}

/* JOURNAL_STREAM names stderr's device and inode when systemd connected
 * stderr to the journal; anything else is not the journal. */
static void
test_journal_stream(void **state)
{
	struct stat st;
	char v[64];
	int save = dup(STDERR_FILENO), fd;

	(void)state;
	assert_true(save >= 0);
	fd = open("/dev/null", O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(dup2(fd, STDERR_FILENO), STDERR_FILENO);
	assert_int_equal(fstat(STDERR_FILENO, &st), 0);
	unsetenv("JOURNAL_STREAM");
	assert_int_equal(log_stderr_is_journal(), 0);
	snprintf(v, sizeof(v), "%llu:%llu", (unsigned long long)st.st_dev,
	    (unsigned long long)st.st_ino);
	setenv("JOURNAL_STREAM", v, 1);
	assert_int_equal(log_stderr_is_journal(), 1);
	snprintf(v, sizeof(v), "%llu:%llu", (unsigned long long)st.st_dev,
	    (unsigned long long)st.st_ino + 1);
	setenv("JOURNAL_STREAM", v, 1);
	assert_int_equal(log_stderr_is_journal(), 0);
	snprintf(v, sizeof(v), "%llu:%llux", (unsigned long long)st.st_dev,
	    (unsigned long long)st.st_ino);
	setenv("JOURNAL_STREAM", v, 1);
	assert_int_equal(log_stderr_is_journal(), 0);
	setenv("JOURNAL_STREAM", "garbage", 1);
	assert_int_equal(log_stderr_is_journal(), 0);
	unsetenv("JOURNAL_STREAM");
	dup2(save, STDERR_FILENO);
	close(save);
	close(fd);
}

static void
test_escape(void **state)
{
	static const struct {
		const char	*in, *out;
		size_t		 dstsz;
	} t[] = {
		{ "plain text", "plain text", 64 },
		{ "", "", 64 },
		{ "a\nb", "a\\x0ab", 64 },
		{ "cur/1.x\nprivpopd[1]: forged", "cur/1.x\\x0aprivpopd[1]: forged",
		    64 },
		{ "\r\t\x1b[31m\x7f", "\\x0d\\x09\\x1b[31m\\x7f", 64 },
		/* UTF-8 and other high bytes pass */
		{ "caf\xc3\xa9 \xff", "caf\xc3\xa9 \xff", 64 },
		/* cut at the end, never inside an escape */
		{ "abcdef", "abc", 4 },
		{ "ab\ncd", "ab", 6 },
		{ "ab\ncd", "ab\\x0a", 7 },
		{ "x", "", 1 },
	};
	char buf[64];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		assert_int_equal(log_escape(buf, t[i].dstsz, t[i].in),
		    strlen(t[i].out));
		assert_string_equal(buf, t[i].out);
	}
}

/* What a log call writes to stderr holds no raw control character: one
 * call, one line. */
static void
test_line_escaped(void **state)
{
	char path[] = "/tmp/privpop-test-log-err.XXXXXX", buf[512];
	int save = dup(STDERR_FILENO), fd;
	ssize_t n;

	(void)state;
	assert_true(save >= 0);
	assert_true((fd = mkstemp(path)) >= 0);
	unlink(path);
	assert_int_equal(dup2(fd, STDERR_FILENO), STDERR_FILENO);
	log_open("test", 1, 0);
	log_warnx("open %s", "cur/1.x\nprivpop-store[1]: forged\r");
	fflush(stderr);
	dup2(save, STDERR_FILENO);
	close(save);
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	close(fd);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_non_null(strstr(buf,
	    "open cur/1.x\\x0aprivpop-store[1]: forged\\x0d\n"));
	assert_ptr_equal(strchr(buf, '\n'), buf + n - 1);
	assert_null(strchr(buf, '\r'));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_probe),
		cmocka_unit_test(test_journal_stream),
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_line_escaped),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
