/*
 * The protocol transcript (daemon/session/transcript.c) on fuzzed
 * client and server lines: every line it writes is bounded and
 * printable (no control byte a client sent reaches the log), and a
 * credential never is: a command is written exactly as the client sent
 * it (escaped) up to its secret (PASS's argument, what follows APOP's
 * name and AUTH's mechanism), then " *****"; a SASL response is "*****"
 * unless it is "*".  Held lines (transcript_users) are checked when
 * the login writes them out, as anything printable.
 *
 * Input: byte 0 options (bit 0 transcript_lists, bit 1 hold for
 * transcript_users with the login at the end); then records, each a
 * kind byte and a length byte and that many bytes:
 *   kind % 5 == 0  a command line      1  a SASL response
 *   2  a reply line   3  a listing starts   4  relayed listing bytes
 */
#include "config.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf.h"
#include "transcript.h"

#define CHECK(x)	do { if (!(x)) abort(); } while (0)

/* What the line being fed must be written as (NULL: anything
 * printable, as checked for every line). */
static char want[2048];
static int want_set;

void log_info(const char *, ...) __attribute__((format(printf, 1, 2)));

void
log_info(const char *fmt, ...)
{
	char line[4096];
	const unsigned char *p;
	const char *text = NULL;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	CHECK(n > 0 && (size_t)n < sizeof(line));
	CHECK((size_t)n < 64 + 2 * 32 + 4 * 255 + 64);
	for (p = (const unsigned char *)line; *p != '\0'; p++) {
		/* the direction mark is the one non-ASCII pair */
		if (*p == 0xc2 && (p[1] == 0xab || p[1] == 0xbb)) {
			if (text == NULL)
				text = (const char *)p + 3;
			p++;
			continue;
		}
		CHECK(*p >= 0x20 && *p < 0x7f);
	}
	CHECK(text != NULL);
	if (want_set)
		CHECK(strcmp(text, want) == 0);
}

/* esc() of transcript.c, said again: printable bytes but '\\' as
 * they are, the others \xNN */
static size_t
escaped(const char *p, size_t n, char *out)
{
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c >= 0x20 && c < 0x7f && c != '\\')
			out[o++] = (char)c;
		else
			o += (size_t)sprintf(out + o, "\\x%02x", c);
	}
	out[o] = '\0';
	return o;
}

/* A command line as it must be written: up to the secret (after PASS;
 * after APOP's name or AUTH's mechanism), then " *****" */
static void
command_want(const char *l, size_t n)
{
	size_t v = 0, keep = n;

	while (v < n && l[v] != ' ')
		v++;
	if (v == 4 && n > v && strncasecmp(l, "PASS", 4) == 0)
		keep = v;
	else if (v == 4 && n > v && (strncasecmp(l, "APOP", 4) == 0 ||
	    strncasecmp(l, "AUTH", 4) == 0)) {
		for (keep = v + 1; keep < n && l[keep] != ' '; keep++)
			;
	}
	escaped(l, keep, want);
	if (keep < n)
		strcat(want, " *****");
	want_set = 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct conf c;
	size_t i = 1;

	if (size < 1)
		return 0;
	memset(&c, 0, sizeof(c));
	c.transcript_lists = data[0] & 1;
	if (data[0] & 2)
		snprintf(c.transcript_users, sizeof(c.transcript_users),
		    "bob carol");
	else
		c.transcript = 1;
	transcript_active = 0;
	want_set = 0;
	transcript_start(&c, "0123456789abcdef", "192.0.2.7");
	while (i + 2 <= size) {
		unsigned kind = data[i] % 5;
		size_t n = data[i + 1];
		const char *p = (const char *)data + i + 2;

		if (n > size - i - 2)
			n = size - i - 2;
		switch (kind) {
		case 0:
			command_want(p, n);
			transcript_command(p, n);
			break;
		case 1:
			snprintf(want, sizeof(want), "%s", n == 1 &&
			    p[0] == '*' ? "*" : "*****");
			want_set = 1;
			transcript_sasl_response(p, n);
			break;
		case 2:
			want_set = 0;
			transcript_reply(p, n);
			break;
		case 3:
			want_set = 0;
			transcript_listing();
			break;
		case 4:
			want_set = 0;
			transcript_relayed(p, n);
			break;
		}
		i += 2 + n;
	}
	want_set = 0;
	transcript_listing_end();
	if (data[0] & 2)
		transcript_login("bob");
	return 0;
}
