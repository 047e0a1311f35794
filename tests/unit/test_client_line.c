/*
 * Unit tests for daemon/session/client.c: the command line reader (RFC 2449
 * line limit, pipelining, EOF, timeout) over a socketpair or pipes.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <poll.h>

#include <errno.h>
#include <fcntl.h>
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

#include "client.h"
#include "limits.h"

/* Generous: a broken reader fails the test instead of hanging it. */
#define TEST_TIMEOUT_MS	5000

static struct client cl;	/* large: keep it off the stack */

/* Append the outcome of one client_getline to out as text:
 * "L:text" (short lines), "L#len" (long lines), "T", "E", "O", "X". */
static void
describe(char *out, size_t outlen, enum client_line r, const char *line,
    size_t len)
{
	size_t o = strlen(out);

	if (o > 0 && o < outlen - 1)
		out[o++] = ',';
	switch (r) {
	case CL_LINE:
		if (len <= 20)
			snprintf(out + o, outlen - o, "L:%.*s", (int)len, line);
		else
			snprintf(out + o, outlen - o, "L#%zu", len);
		break;
	case CL_TOOLONG:
		snprintf(out + o, outlen - o, "T");
		break;
	case CL_EOF:
		snprintf(out + o, outlen - o, "E");
		break;
	case CL_TIMEOUT:
		snprintf(out + o, outlen - o, "O");
		break;
	default:
		snprintf(out + o, outlen - o, "X");
		break;
	}
}

static void
write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0)
			_exit(3);
		p += w;
		n -= (size_t)w;
	}
}

/*
 * Feed in[0..len) to a client from a child process, chunk bytes per
 * write (0: all at once) with delay_ms between writes, then close.
 * Collects every getline outcome up to EOF/error into out.
 */
static void
run_reader(const char *in, size_t len, size_t chunk, int delay_ms,
    char *out, size_t outlen)
{
	int sv[2], status, steps = 0;
	pid_t pid;

	out[0] = '\0';
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	fflush(NULL);
	pid = fork();
	assert_true(pid != -1);
	if (pid == 0) {
		size_t pos = 0;

		close(sv[0]);
		if (chunk == 0)
			chunk = len;
		while (pos < len) {
			size_t n = len - pos < chunk ? len - pos : chunk;

			write_all(sv[1], in + pos, n);
			pos += n;
			if (delay_ms > 0 && pos < len) {
				struct timespec ts = { 0,
				    (long)delay_ms * 1000000L };

				nanosleep(&ts, NULL);
			}
		}
		close(sv[1]);
		_exit(0);
	}
	close(sv[1]);
	client_init(&cl, sv[0], sv[0], TEST_TIMEOUT_MS);
	for (;;) {
		const char *line = NULL;
		size_t n = 0;
		enum client_line r = client_getline(&cl, &line, &n);

		describe(out, outlen, r, line, n);
		if (r != CL_LINE && r != CL_TOOLONG)
			break;
		if (r == CL_LINE) {
			assert_non_null(line);
			/* a returned line never holds its terminator */
			assert_null(memchr(line, '\n', n));
		}
		assert_true(++steps < 10000);
	}
	close(sv[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

struct line_case {
	const char	*before;	/* sent first */
	size_t		 fill;		/* then this many 'X' */
	const char	*term;		/* then this */
	const char	*after;		/* then this */
	size_t		 chunk;		/* bytes per write, 0 all at once */
	int		 delay_ms;	/* between writes */
	const char	*want;
};

static const struct line_case cases[] = {
	/* pipelined short lines in one write, CRLF and bare LF */
	{ "USER alice\r\nPASS secret\r\nSTAT\nLIST 1\r\n\r\nQUIT\r\n", 0,
	    "", "", 0, 0, "L:USER alice,L:PASS secret,L:STAT,L:LIST 1,L:,"
	    "L:QUIT,E" },
	{ "USER alice\r\nPASS secret\r\nSTAT\nLIST 1\r\n\r\nQUIT\r\n", 0,
	    "", "", 1, 0, "L:USER alice,L:PASS secret,L:STAT,L:LIST 1,L:,"
	    "L:QUIT,E" },
	{ "USER alice\r\nPASS secret\r\nSTAT\nLIST 1\r\n\r\nQUIT\r\n", 0,
	    "", "", 5, 1, "L:USER alice,L:PASS secret,L:STAT,L:LIST 1,L:,"
	    "L:QUIT,E" },

	/* the limit: 255 octets including CRLF */
	{ "", 253, "\r\n", "NOOP\r\n", 0, 0, "L#253,L:NOOP,E" },
	{ "", 254, "\r\n", "NOOP\r\n", 0, 0, "T,L:NOOP,E" },
	{ "", 254, "\n", "NOOP\r\n", 0, 0, "L#254,L:NOOP,E" },
	{ "", 255, "\n", "NOOP\r\n", 0, 0, "T,L:NOOP,E" },
	{ "", 255, "\r\n", "NOOP\r\n", 0, 0, "T,L:NOOP,E" },
	{ "", 253, "\r\n", "NOOP\r\n", 1, 0, "L#253,L:NOOP,E" },
	{ "", 254, "\r\n", "NOOP\r\n", 1, 0, "T,L:NOOP,E" },
	/* the CR arrives first, the LF in a later read */
	{ "", 253, "\r\n", "NOOP\r\n", 254, 20, "L#253,L:NOOP,E" },
	{ "", 254, "\r\n", "NOOP\r\n", 255, 20, "T,L:NOOP,E" },
	/* 255 and 256 bytes without LF buffered, then the rest */
	{ "", 255, "\r\n", "NOOP\r\n", 255, 20, "T,L:NOOP,E" },
	{ "", 256, "\r\n", "NOOP\r\n", 256, 20, "T,L:NOOP,E" },
	{ "", 254, "\n", "NOOP\r\n", 254, 20, "L#254,L:NOOP,E" },

	/* the bytes after the limit never become a command of their own */
	{ "", 256, "QUIT\r\n", "", 0, 0, "T,E" },
	{ "", 256, "QUIT\r\n", "", 256, 20, "T,E" },
	{ "", 300, "\rDELE 1\r\n", "NOOP\r\n", 0, 0, "T,L:NOOP,E" },
	{ "", 511, "DELE 1\r\n", "NOOP\r\n", 0, 0, "T,L:NOOP,E" },
	{ "", 512, "DELE 1\r\n", "NOOP\r\n", 0, 0, "T,L:NOOP,E" },
	{ "", 513, "DELE 1\r\n", "NOOP\r\n", 0, 0, "T,L:NOOP,E" },
	{ "", 1000, "DELE 1\r\n", "NOOP\r\n", 100, 0, "T,L:NOOP,E" },

	/* a very long line: one CL_TOOLONG, however it arrives */
	{ "", 10240, "\r\n", "NOOP\r\n", 0, 0, "T,L:NOOP,E" },
	{ "", 10240, "\r\n", "NOOP\r\n", 10240, 30, "T,L:NOOP,E" },
	{ "", 10240, "\r\n", "NOOP\r\n", 1, 0, "T,L:NOOP,E" },
	{ "", 10240, "\r\n", "NOOP\r\n", 7, 0, "T,L:NOOP,E" },
	{ "", 10240, "\r\n", "NOOP\r\n", 512, 1, "T,L:NOOP,E" },
	{ "", 10240, "\r\n", "", 0, 0, "T,E" },
	{ "", 10240, "", "", 0, 0, "E" },	/* EOF inside it */

	/* an overlong line between good ones */
	{ "CAPA\r\n", 300, "\r\n", "USER a\r\n", 0, 0,
	    "L:CAPA,T,L:USER a,E" },
	{ "CAPA\r\n", 300, "\r\n", "USER a\r\n", 3, 0,
	    "L:CAPA,T,L:USER a,E" },
	{ "CAPA\r\n", 254, "\r\n", "USER a\r\n", 0, 0,
	    "L:CAPA,T,L:USER a,E" },

	/* EOF */
	{ "", 0, "", "", 0, 0, "E" },
	{ "NOOP", 0, "", "", 0, 0, "E" },	/* partial line dropped */
	{ "NOOP\r", 0, "", "", 0, 0, "E" },
	{ "NOOP\r\nQU", 0, "", "", 0, 0, "L:NOOP,E" },
};

static void
test_getline_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct line_case *t = &cases[i];
		size_t bl = strlen(t->before), tl = strlen(t->term);
		size_t al = strlen(t->after), len = bl + t->fill + tl + al;
		char *in = malloc(len + 1), got[512];

		assert_non_null(in);
		memcpy(in, t->before, bl);
		memset(in + bl, 'X', t->fill);
		memcpy(in + bl + t->fill, t->term, tl);
		memcpy(in + bl + t->fill + tl, t->after, al);
		run_reader(in, len, t->chunk, t->delay_ms, got, sizeof(got));
		if (strcmp(got, t->want) != 0)
			fail_msg("case %zu (fill %zu chunk %zu): got \"%s\" "
			    "want \"%s\"", i, t->fill, t->chunk, got, t->want);
		free(in);
	}
}

/*
 * A maximal line at every offset relative to the input buffer: k short
 * commands first, so the long one straddles the buffer end in every
 * possible way.  Every line comes back whole and in order.
 */
static void
test_getline_offsets(void **state)
{
	static const size_t chunks[] = { 0, 64, 255, 256, 511 };
	char in[8192], want[4096], got[4096];
	size_t k, c;

	(void)state;
	for (k = 0; k < 100; k += 3) {
		for (c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++) {
			size_t len = 0, i, w = 0;

			want[0] = '\0';
			for (i = 0; i < k; i++) {
				/* "N<i>\r\n" of varying width */
				len += (size_t)snprintf(in + len,
				    sizeof(in) - len, "N%zu\r\n", i);
				w += (size_t)snprintf(want + w,
				    sizeof(want) - w, "L:N%zu,", i);
			}
			memset(in + len, 'Y', 253);
			len += 253;
			memcpy(in + len, "\r\n", 2);
			len += 2;
			/* and one over the limit, then a good line */
			memset(in + len, 'Z', 254);
			len += 254;
			memcpy(in + len, "\r\nQUIT\r\n", 8);
			len += 8;
			snprintf(want + w, sizeof(want) - w,
			    "L#253,T,L:QUIT,E");
			run_reader(in, len, chunks[c], 0, got, sizeof(got));
			if (strcmp(got, want) != 0)
				fail_msg("k %zu chunk %zu: got \"%s\" want "
				    "\"%s\"", k, chunks[c], got, want);
		}
	}
}

/* The line returned has the exact bytes sent (long content kept). */
static void
test_getline_content(void **state)
{
	char line[256];
	int sv[2];
	const char *p;
	size_t n, i;

	(void)state;
	for (i = 0; i < 253; i++)
		line[i] = (char)(0x21 + i % 94);
	line[253] = '\r';
	line[254] = '\n';
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(write(sv[1], line, 255), 255);
	assert_int_equal(write(sv[1], "a b\0c\r\n", 7), 7);
	client_init(&cl, sv[0], sv[0], TEST_TIMEOUT_MS);
	assert_int_equal(client_getline(&cl, &p, &n), CL_LINE);
	assert_int_equal(n, 253);
	assert_memory_equal(p, line, 253);
	/* an inner NUL is passed on for the parser to reject */
	assert_int_equal(client_getline(&cl, &p, &n), CL_LINE);
	assert_int_equal(n, 5);
	assert_memory_equal(p, "a b\0c", 5);
	close(sv[0]);
	close(sv[1]);
}

/* client_wipe_line: the line just read and its CRLF are zeroed; what
 * was pipelined after it, and anything not in the input buffer, is
 * left alone. */
static void
test_wipe_line(void **state)
{
	static const char zero[32];
	const char *p, *q;
	char other[16] = "PASS elsewhere";
	size_t n, m;
	int sv[2];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(write(sv[1], "PASS secret-1\r\nSTAT\r\n", 21), 21);
	client_init(&cl, sv[0], sv[0], TEST_TIMEOUT_MS);
	assert_int_equal(client_getline(&cl, &p, &n), CL_LINE);
	assert_int_equal(n, 13);
	client_wipe_line(&cl, p + 5, n - 5);	/* the password only */
	assert_memory_equal(p, "PASS ", 5);
	assert_memory_equal(p + 5, zero, 10);	/* with its CRLF */
	/* the pipelined command is intact */
	assert_int_equal(client_getline(&cl, &q, &m), CL_LINE);
	assert_int_equal(m, 4);
	assert_memory_equal(q, "STAT", 4);
	/* the buffer is now empty: a wipe may cover all of the line */
	client_wipe_line(&cl, q, m);
	assert_memory_equal(q, zero, 6);
	/* not ours: untouched */
	client_wipe_line(&cl, other, 5);
	assert_string_equal(other, "PASS elsewhere");
	/* a line followed by unread bytes: the wipe stops at them */
	assert_int_equal(write(sv[1], "USER a\nPASS b\r\n", 16), 16);
	assert_int_equal(client_getline(&cl, &p, &n), CL_LINE);
	assert_int_equal(n, 6);
	client_wipe_line(&cl, p, n + 100);	/* too long: refused */
	assert_memory_equal(p, "USER a", 6);
	client_wipe_line(&cl, p, n);
	assert_memory_equal(p, zero, 7);
	assert_int_equal(client_getline(&cl, &q, &m), CL_LINE);
	assert_memory_equal(q, "PASS b", 6);
	close(sv[0]);
	close(sv[1]);
}

static long
elapsed_ms(const struct timespec *a, const struct timespec *b)
{
	return (b->tv_sec - a->tv_sec) * 1000L +
	    (b->tv_nsec - a->tv_nsec) / 1000000L;
}

/* Idle: CL_TIMEOUT after about timeout_ms; a partial line too. */
static void
test_getline_timeout(void **state)
{
	struct timespec t0, t1;
	const char *p;
	size_t n;
	int sv[2];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	client_init(&cl, sv[0], sv[0], 100);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(client_getline(&cl, &p, &n), CL_TIMEOUT);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_true(elapsed_ms(&t0, &t1) >= 90);
	assert_true(elapsed_ms(&t0, &t1) < 3000);

	/* a line begun but not finished times out as well */
	assert_int_equal(write(sv[1], "NOO", 3), 3);
	assert_int_equal(client_getline(&cl, &p, &n), CL_TIMEOUT);
	/* and is completed by later bytes */
	assert_int_equal(write(sv[1], "P\r\n", 3), 3);
	assert_int_equal(client_getline(&cl, &p, &n), CL_LINE);
	assert_int_equal(n, 4);
	assert_memory_equal(p, "NOOP", 4);
	close(sv[1]);
	assert_int_equal(client_getline(&cl, &p, &n), CL_EOF);
	close(sv[0]);
}

/* Separate descriptors (pipes); pending output is flushed before the
 * reader blocks, in one write, and counted. */
static void
test_pipes_and_flush(void **state)
{
	int in[2], out[2];
	char got[64];
	const char *p;
	size_t n;

	(void)state;
	assert_int_equal(pipe(in), 0);
	assert_int_equal(pipe(out), 0);
	client_init(&cl, in[0], out[1], TEST_TIMEOUT_MS);
	assert_int_equal(write(in[1], "STAT\r\nQUIT\r\n", 12), 12);
	assert_int_equal(client_puts(&cl, "+OK ready\r\n"), 0);
	assert_int_equal(client_printf(&cl, "+OK %d %d\r\n", 2, 320), 0);
	assert_int_equal(cl.octets_out, 0);	/* nothing sent yet */
	assert_int_equal(client_getline(&cl, &p, &n), CL_LINE);
	assert_int_equal(n, 4);
	assert_memory_equal(p, "STAT", 4);
	assert_int_equal(cl.octets_out, 22);
	assert_int_equal(read(out[0], got, sizeof(got)), 22);
	assert_memory_equal(got, "+OK ready\r\n+OK 2 320\r\n", 22);
	/* the second line is already buffered: no flush needed for it */
	assert_int_equal(client_puts(&cl, "+OK\r\n"), 0);
	assert_int_equal(client_getline(&cl, &p, &n), CL_LINE);
	assert_memory_equal(p, "QUIT", 4);
	assert_int_equal(client_flush(&cl), 0);
	assert_int_equal(cl.octets_out, 27);
	assert_int_equal(read(out[0], got, sizeof(got)), 5);
	close(in[1]);
	assert_int_equal(client_getline(&cl, &p, &n), CL_EOF);
	close(in[0]);
	close(out[0]);
	close(out[1]);
}

/* A client gone while an answer waits to be flushed (EPIPE, or a reset
 * on a socket) is a disconnect: EOF, not an error (the session would log
 * end=error for every client that hangs up after its last command). */
static void
test_flush_to_gone_peer(void **state)
{
	const char *p;
	size_t n;
	int in[2], out[2], sv[2];

	(void)state;
	assert_int_equal(pipe(in), 0);
	assert_int_equal(pipe(out), 0);
	client_init(&cl, in[0], out[1], TEST_TIMEOUT_MS);
	close(out[0]);			/* the client reads no more */
	assert_int_equal(client_puts(&cl, "+OK bye\r\n"), 0);
	assert_int_equal(client_getline(&cl, &p, &n), CL_EOF);
	close(in[0]);
	close(in[1]);
	close(out[1]);

	/* a reset TCP peer: pending output meets ECONNRESET or EPIPE */
	{
		struct sockaddr_in a = { .sin_family = AF_INET };
		struct linger lg = { .l_onoff = 1, .l_linger = 0 };
		socklen_t al = sizeof(a);
		int lfd, cfd;

		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		assert_true((lfd = socket(AF_INET, SOCK_STREAM, 0)) != -1);
		assert_int_equal(bind(lfd, (struct sockaddr *)&a, sizeof(a)),
		    0);
		assert_int_equal(listen(lfd, 1), 0);
		assert_int_equal(getsockname(lfd, (struct sockaddr *)&a, &al),
		    0);
		assert_true((cfd = socket(AF_INET, SOCK_STREAM, 0)) != -1);
		assert_int_equal(connect(cfd, (struct sockaddr *)&a,
		    sizeof(a)), 0);
		assert_true((sv[0] = accept(lfd, NULL, NULL)) != -1);
		assert_int_equal(setsockopt(cfd, SOL_SOCKET, SO_LINGER, &lg,
		    sizeof(lg)), 0);
		close(cfd);		/* RST */
		close(lfd);
		/* let the reset arrive before the flush (loopback) */
		assert_int_equal(poll(&(struct pollfd){ .fd = sv[0],
		    .events = POLLIN }, 1, TEST_TIMEOUT_MS), 1);
		client_init(&cl, sv[0], sv[0], TEST_TIMEOUT_MS);
		assert_int_equal(client_puts(&cl, "+OK bye\r\n"), 0);
		assert_int_equal(client_getline(&cl, &p, &n), CL_EOF);
		close(sv[0]);
	}
}

/* A client that reads nothing: a write gives up after the timeout with
 * ETIMEDOUT (the session logs end=timeout, not end=error), and so does
 * the flush before the next read. */
static void
test_write_timeout(void **state)
{
	static char big[1 << 20];
	struct timespec t0, t1;
	const char *p;
	size_t n;
	int sv[2];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	/* as the session's sockets are */
	assert_int_equal(fcntl(sv[0], F_SETFL, O_NONBLOCK), 0);
	client_init(&cl, sv[0], sv[0], 200);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	errno = 0;
	assert_int_equal(client_write(&cl, big, sizeof(big)), -1);
	assert_int_equal(errno, ETIMEDOUT);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_true(elapsed_ms(&t0, &t1) >= 150);
	assert_true(elapsed_ms(&t0, &t1) < 3000);
	/* what could not leave is dropped; the socket is still full */
	client_discard_output(&cl);
	assert_int_equal(client_puts(&cl, "+OK\r\n"), 0);
	errno = 0;
	assert_int_equal(client_getline(&cl, &p, &n), CL_ERROR);
	assert_int_equal(errno, ETIMEDOUT);
	close(sv[0]);
	close(sv[1]);
}

/* An unreadable descriptor is an error, not EOF or a line. */
static void
test_getline_error(void **state)
{
	const char *p;
	size_t n;
	int fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	(void)state;
	assert_true(fd != -1);
	client_init(&cl, fd, fd, TEST_TIMEOUT_MS);
	assert_int_equal(client_getline(&cl, &p, &n), CL_ERROR);
	close(fd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_getline_table),
		cmocka_unit_test(test_getline_offsets),
		cmocka_unit_test(test_getline_content),
		cmocka_unit_test(test_wipe_line),
		cmocka_unit_test(test_getline_timeout),
		cmocka_unit_test(test_pipes_and_flush),
		cmocka_unit_test(test_getline_error),
		cmocka_unit_test(test_flush_to_gone_peer),
		cmocka_unit_test(test_write_timeout),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
