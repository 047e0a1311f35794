/*
 * The HTTP request head of a metrics client: its end, its request line,
 * its header lines (checked, not used).  Strict on purpose: a scraper
 * or curl sends "GET /metrics HTTP/1.1" and a few headers; anything
 * unusual is a 400, never a guess.
 *
 * Runs as: privpop (the metrics process).
 */
#include "config.h"

#include <string.h>

#include "http_request.h"

size_t
http_head_len(const char *buf, size_t len)
{
	size_t i;

	/* an empty line: LF LF, or LF CR LF */
	for (i = 0; i < len; i++) {
		if (buf[i] != '\n')
			continue;
		if (i + 1 < len && buf[i + 1] == '\n')
			return i + 2;
		if (i + 2 < len && buf[i + 1] == '\r' && buf[i + 2] == '\n')
			return i + 3;
	}
	return 0;
}

/* RFC 9110 tchar */
static int
is_tchar(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || (c != '\0' &&
	    strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* One header line (without its end): "NAME:" then a value of visible
 * characters, spaces and tabs. */
static int
header_ok(const char *p, size_t n)
{
	size_t i = 0;

	while (i < n && is_tchar(p[i]))
		i++;
	if (i == 0 || i == n || p[i] != ':')
		return 0;
	for (i++; i < n; i++)
		if ((unsigned char)p[i] < ' ' && p[i] != '\t')
			return 0;
		else if ((unsigned char)p[i] == 0x7f)
			return 0;
	return 1;
}

int
http_request_target(const char *buf, size_t len, char *path,
    size_t pathlen)
{
	const char *p = buf, *end = buf + len, *eol, *sp1, *sp2, *q;
	size_t n, mlen, plen;
	int get;

	if (pathlen == 0 || memchr(buf, '\0', len) != NULL)
		return HTTP_REQ_BAD;
	path[0] = '\0';
	if ((eol = memchr(p, '\n', len)) == NULL)
		return HTTP_REQ_BAD;
	n = (size_t)(eol - p);
	if (n > 0 && p[n - 1] == '\r')
		n--;
	/* METHOD */
	for (mlen = 0; mlen < n && p[mlen] >= 'A' && p[mlen] <= 'Z'; mlen++)
		;
	if (mlen == 0 || mlen > HTTP_METHOD_MAX || mlen == n ||
	    p[mlen] != ' ')
		return HTTP_REQ_BAD;
	sp1 = p + mlen;
	/* TARGET: a path of visible ASCII */
	if ((sp2 = memchr(sp1 + 1, ' ', n - mlen - 1)) == NULL ||
	    sp1[1] != '/')
		return HTTP_REQ_BAD;
	for (q = sp1 + 1; q < sp2; q++)
		if (*q <= ' ' || *q > '~')
			return HTTP_REQ_BAD;
	/* VERSION, and nothing after it */
	if ((size_t)(p + n - sp2 - 1) != 8 ||
	    (memcmp(sp2 + 1, "HTTP/1.0", 8) != 0 &&
	    memcmp(sp2 + 1, "HTTP/1.1", 8) != 0))
		return HTTP_REQ_BAD;
	/* headers, up to the empty line */
	for (q = eol + 1; q < end; q = eol + 1) {
		if ((eol = memchr(q, '\n', (size_t)(end - q))) == NULL)
			return HTTP_REQ_BAD;
		n = (size_t)(eol - q);
		if (n > 0 && q[n - 1] == '\r')
			n--;
		if (n == 0)
			break;
		if (!header_ok(q, n))
			return HTTP_REQ_BAD;
	}
	if (q >= end || eol + 1 != end)
		return HTTP_REQ_BAD;	/* no empty line, or bytes after it */
	get = mlen == 3 && memcmp(p, "GET", 3) == 0;
	if (!get)
		return HTTP_REQ_METHOD;
	for (plen = 0; sp1 + 1 + plen < sp2 && sp1[1 + plen] != '?'; plen++)
		;
	if (plen >= pathlen)
		return HTTP_REQ_BAD;
	memcpy(path, sp1 + 1, plen);
	path[plen] = '\0';
	return HTTP_REQ_GET;
}
