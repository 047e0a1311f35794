/*
 * Unit tests for daemon/metrics/http_request.c: the end of a request
 * head, and the request line and headers of the metrics process's HTTP
 * server, every malformed form a 400.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "http_request.h"

#define S(x)	x, sizeof(x) - 1

struct head_case {
	const char	*in;
	size_t		 len;
	size_t		 want;
};

static const struct head_case heads[] = {
	{ S(""), 0 },
	{ S("GET / HTTP/1.1"), 0 },
	{ S("GET / HTTP/1.1\r\n"), 0 },
	{ S("GET / HTTP/1.1\r\nHost: x\r\n"), 0 },
	{ S("GET / HTTP/1.1\r\n\r"), 0 },
	{ S("GET / HTTP/1.1\r\n\r\n"), 18 },
	{ S("GET / HTTP/1.1\n\n"), 16 },
	{ S("GET / HTTP/1.1\r\nHost: x\r\n\r\nBODY"), 27 },
	{ S("GET / HTTP/1.1\nHost: x\n\nmore\n\n"), 24 },
	{ S("\n\n"), 2 },
	{ S("\r\n\r\n"), 4 },
};

static void
test_head_len(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(heads) / sizeof(heads[0]); i++)
		if (http_head_len(heads[i].in, heads[i].len) != heads[i].want)
			fail_msg("head %zu %s: %zu, want %zu", i, heads[i].in,
			    http_head_len(heads[i].in, heads[i].len),
			    heads[i].want);
}

struct target_case {
	const char	*in;
	size_t		 len;
	int		 want;
	const char	*path;	/* for HTTP_REQ_GET */
};

static const struct target_case targets[] = {
	/* what scrapers and curl send */
	{ S("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1:9110\r\n"
	    "User-Agent: Prometheus/2.45.0\r\nAccept: text/plain;"
	    "version=0.0.4;q=1,*/*;q=0.1\r\n\r\n"), HTTP_REQ_GET, "/metrics" },
	{ S("GET /metrics HTTP/1.0\r\n\r\n"), HTTP_REQ_GET, "/metrics" },
	{ S("GET /metrics HTTP/1.1\n\n"), HTTP_REQ_GET, "/metrics" },
	{ S("GET / HTTP/1.1\r\n\r\n"), HTTP_REQ_GET, "/" },
	{ S("GET /other HTTP/1.1\r\n\r\n"), HTTP_REQ_GET, "/other" },
	{ S("GET /metrics?name[]=x HTTP/1.1\r\n\r\n"), HTTP_REQ_GET,
	    "/metrics" },
	{ S("GET /metrics HTTP/1.1\r\nX-Empty:\r\n\r\n"), HTTP_REQ_GET,
	    "/metrics" },
	{ S("GET /metrics HTTP/1.1\r\nX-Tab: a\tb\r\n\r\n"), HTTP_REQ_GET,
	    "/metrics" },
	/* another method: 405 */
	{ S("POST /metrics HTTP/1.1\r\nContent-Length: 3\r\n\r\n"),
	    HTTP_REQ_METHOD, NULL },
	{ S("HEAD /metrics HTTP/1.1\r\n\r\n"), HTTP_REQ_METHOD, NULL },
	{ S("DELETE / HTTP/1.0\r\n\r\n"), HTTP_REQ_METHOD, NULL },
	/* malformed: 400 */
	{ S(""), HTTP_REQ_BAD, NULL },
	{ S("\r\n\r\n"), HTTP_REQ_BAD, NULL },
	{ S("garbage\r\n\r\n"), HTTP_REQ_BAD, NULL },
	{ S("get /metrics HTTP/1.1\r\n\r\n"), HTTP_REQ_BAD, NULL },
	{ S("GET\r\n\r\n"), HTTP_REQ_BAD, NULL },
	{ S("GET /metrics\r\n\r\n"), HTTP_REQ_BAD, NULL },	/* HTTP/0.9 */
	{ S("GET  /metrics HTTP/1.1\r\n\r\n"), HTTP_REQ_BAD, NULL },
	{ S("GET /metrics  HTTP/1.1\r\n\r\n"), HTTP_REQ_BAD, NULL },
	{ S("GET /metrics HTTP/1.1 \r\n\r\n"), HTTP_REQ_BAD, NULL },
	{ S(" GET /metrics HTTP/1.1\r\n\r\n"), HTTP_REQ_BAD, NULL },
	{ S("GET metrics HTTP/1.1\r\n\r\n"), HTTP_REQ_BAD, NULL },
	{ S("GET http://x/metrics HTTP/1.1\r\n\r\n"), HTTP_REQ_BAD, NULL },
	{ S("GET * HTTP/1.1\r\n\r\n"), HTTP_REQ_BAD, NULL },
	{ S("GET /metrics HTTP/2.0\r\n\r\n"), HTTP_REQ_BAD, NULL },
	{ S("GET /metrics HTTP/1.10\r\n\r\n"), HTTP_REQ_BAD, NULL },
	{ S("GET /metrics http/1.1\r\n\r\n"), HTTP_REQ_BAD, NULL },
	{ S("GET /met\x01rics HTTP/1.1\r\n\r\n"), HTTP_REQ_BAD, NULL },
	{ S("GET /met\x7frics HTTP/1.1\r\n\r\n"), HTTP_REQ_BAD, NULL },
	{ S("GET /m\xc3\xa9trics HTTP/1.1\r\n\r\n"), HTTP_REQ_BAD, NULL },
	{ S("GET /met\0rics HTTP/1.1\r\n\r\n"), HTTP_REQ_BAD, NULL },
	{ S("GET /metrics HTTP/1.1\r\nHost: a\0b\r\n\r\n"), HTTP_REQ_BAD,
	    NULL },
	{ S("GET\t/metrics HTTP/1.1\r\n\r\n"), HTTP_REQ_BAD, NULL },
	{ S("GET /metrics HTTP/1.1\r\nno colon\r\n\r\n"), HTTP_REQ_BAD, NULL },
	{ S("GET /metrics HTTP/1.1\r\n: empty name\r\n\r\n"), HTTP_REQ_BAD,
	    NULL },
	{ S("GET /metrics HTTP/1.1\r\nBad Name: x\r\n\r\n"), HTTP_REQ_BAD,
	    NULL },
	{ S("GET /metrics HTTP/1.1\r\n Folded: x\r\n\r\n"), HTTP_REQ_BAD,
	    NULL },
	{ S("GET /metrics HTTP/1.1\r\nX: a\rb\r\n\r\n"), HTTP_REQ_BAD, NULL },
	{ S("GET /metrics HTTP/1.1\r\nX: a\x7f\r\n\r\n"), HTTP_REQ_BAD, NULL },
	/* no empty line, or bytes after it */
	{ S("GET /metrics HTTP/1.1\r\n"), HTTP_REQ_BAD, NULL },
	{ S("GET /metrics HTTP/1.1\r\nHost: x\r\n"), HTTP_REQ_BAD, NULL },
	{ S("GET /metrics HTTP/1.1"), HTTP_REQ_BAD, NULL },
	{ S("GET /metrics HTTP/1.1\r\n\r\nX"), HTTP_REQ_BAD, NULL },
	/* a method too long to be one */
	{ S("ABCDEFGHIJKLMNOPQ / HTTP/1.1\r\n\r\n"), HTTP_REQ_BAD, NULL },
	{ S("ABCDEFGHIJKLMNOP / HTTP/1.1\r\n\r\n"), HTTP_REQ_METHOD, NULL },
};

static void
test_target(void **state)
{
	char path[16];
	size_t i;
	int r;

	(void)state;
	for (i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
		const struct target_case *t = &targets[i];

		r = http_request_target(t->in, t->len, path, sizeof(path));
		if (r != t->want)
			fail_msg("case %zu %.30s: %d, want %d", i, t->in, r,
			    t->want);
		if (r == HTTP_REQ_GET && strcmp(path, t->path) != 0)
			fail_msg("case %zu: path %s, want %s", i, path,
			    t->path);
	}
}

/* A path that does not fit is a 400, one that just fits is served. */
static void
test_path_room(void **state)
{
	char path[9];	/* "/metrics" and its NUL */

	(void)state;
	assert_int_equal(http_request_target(S("GET /metrics HTTP/1.1\r\n\r\n"),
	    path, sizeof(path)), HTTP_REQ_GET);
	assert_string_equal(path, "/metrics");
	assert_int_equal(http_request_target(S("GET /metricsX HTTP/1.1\r\n"
	    "\r\n"), path, sizeof(path)), HTTP_REQ_BAD);
	assert_int_equal(http_request_target(S("GET / HTTP/1.1\r\n\r\n"),
	    path, 0), HTTP_REQ_BAD);
}

/* Each prefix of a good request is refused, never read past. */
static void
test_prefixes(void **state)
{
	static const char req[] = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
	char path[16], *copy;
	size_t n;

	(void)state;
	for (n = 0; n < sizeof(req) - 1; n++) {
		copy = test_malloc(n + 1);
		memcpy(copy, req, n);
		assert_int_equal(http_request_target(copy, n, path,
		    sizeof(path)), HTTP_REQ_BAD);
		test_free(copy);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_head_len),
		cmocka_unit_test(test_target),
		cmocka_unit_test(test_path_room),
		cmocka_unit_test(test_prefixes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
