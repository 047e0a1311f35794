/*
 * POP3 command parsing; see pop3_parse.h.  Runs as: privpop, in the
 * session child.
 */
#include "config.h"

#include <string.h>

#include "numparse.h"
#include "pop3_parse.h"

enum pop3_parse
pop3_parse_line(const char *line, size_t len, struct pop3_cmd *c)
{
	size_t i;

	memset(c, 0, sizeof(*c));
	if (memchr(line, '\0', len) != NULL)
		return P_NUL;
	if (len == 0)
		return P_EMPTY;
	for (i = 0; i < len && line[i] != ' '; i++) {
		char ch = line[i];

		if (i >= POP3_VERB_MAX)
			return P_BADVERB;
		if (ch >= 'a' && ch <= 'z')
			ch = (char)(ch - 'a' + 'A');
		/* letters, and digits after the first (RFC 6856 "UTF8") */
		if ((ch < 'A' || ch > 'Z') && (i == 0 || ch < '0' || ch > '9'))
			return P_BADVERB;
		c->verb[i] = ch;
	}
	if (i < 3)
		return P_BADVERB;
	c->verb[i] = '\0';
	if (i < len) {	/* line[i] == ' ' */
		c->rest = line + i + 1;
		c->restlen = len - i - 1;
	} else {
		c->rest = line + len;
		c->restlen = 0;
	}
	return P_OK;
}

enum pop3_parse
pop3_split_args(struct pop3_cmd *c, int min, int max)
{
	const char *p = c->rest, *end = c->rest + c->restlen;

	c->nargs = 0;
	/* tolerate trailing spaces some clients send */
	while (end > p && end[-1] == ' ')
		end--;
	while (p < end) {
		const char *sp = memchr(p, ' ', (size_t)(end - p));
		size_t n = sp ? (size_t)(sp - p) : (size_t)(end - p);

		if (n == 0)
			return P_BADARG;
		if (c->nargs >= max || c->nargs >= POP3_MAX_ARGS)
			return P_TOOMANY;
		c->arg[c->nargs] = p;
		c->arglen[c->nargs] = n;
		c->nargs++;
		p += n + (sp ? 1 : 0);
	}
	if (c->nargs < min)
		return P_MISSING;
	return P_OK;
}

int
pop3_msgno(const char *p, size_t len, uint32_t *n_r)
{
	uint64_t v;

	if (parse_uint(p, len, 1, UINT32_MAX, &v) == -1)
		return -1;
	*n_r = (uint32_t)v;
	return 0;
}

long
pop3_find_line(const char *p, size_t len, size_t *used_r)
{
	const char *nl = memchr(p, '\n', len);
	size_t n;

	if (nl == NULL)
		return -1;
	n = (size_t)(nl - p);
	*used_r = n + 1;
	if (n > 0 && p[n - 1] == '\r')
		n--;
	return (long)n;
}
