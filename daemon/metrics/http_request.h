/*
 * The request head of the metrics process's HTTP server: where it
 * ends, and what its request line asks for.  Pure functions over a
 * bounded buffer, no I/O (unit test tests/unit/test_http_request.c,
 * fuzz target tests/fuzz/fuzz_http.c).
 */
#ifndef PRIVPOP_HTTP_REQUEST_H
#define PRIVPOP_HTTP_REQUEST_H

#include <stddef.h>

/* What http_request_target() finds. */
#define HTTP_REQ_GET		0	/* GET, its path in path */
#define HTTP_REQ_BAD		400	/* malformed */
#define HTTP_REQ_METHOD		405	/* well formed, not GET */

/* The longest method taken ("OPTIONS" is 7; "PROPFIND" 8). */
#define HTTP_METHOD_MAX		16

/*
 * The length of the request head in buf (request line, headers and the
 * empty line that ends them, each line ended by CRLF or a bare LF), or
 * 0 while it is not complete.
 */
size_t	http_head_len(const char *buf, size_t len);

/*
 * Parse a complete request head (buf, len: what http_head_len counted):
 * "METHOD SP TARGET SP HTTP/1.0|HTTP/1.1", then header lines of "NAME:
 * value" (a token for a name, no control character but a tab in a
 * value).  The target must be a path ('/' and visible ASCII); a query
 * ("?...") is left out of path.  Returns HTTP_REQ_GET with the path in
 * path (NUL-terminated, at most pathlen - 1 characters, else
 * HTTP_REQ_BAD), HTTP_REQ_METHOD for another method (an upper-case
 * token), or HTTP_REQ_BAD.  A NUL byte anywhere is HTTP_REQ_BAD.
 */
int	http_request_target(const char *buf, size_t len, char *path,
	    size_t pathlen);

#endif
