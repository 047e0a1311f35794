/*
 * The LANG message catalog parser (daemon/session/lang.c) on fuzzed
 * files, and the lookup of answers through what it accepted.  An
 * accepted catalog holds at most LANG_ENTRIES_MAX entries whose texts
 * are bounded strict UTF-8 with no TAB or line end; a translated
 * answer keeps its status indicator and response code and, formatted
 * with arguments of the English text's types, stays within bounds
 * (ASan and the conversion check in the parser: no %n, no mismatch).
 *
 * Input: byte 0 picks which English formats to try; the rest is the
 * file.
 */
#include "config.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lang.h"
#include "utf8.h"

#define CHECK(x)	do { if (!(x)) abort(); } while (0)

void log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));

void
log_warnx(const char *fmt, ...)
{
	(void)fmt;
}

void log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));

void
log_warn(const char *fmt, ...)
{
	(void)fmt;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lang_cat c;
	char *buf, out[1024];
	const char *f;
	size_t i, line = 0;

	if (size < 1 || size > LANG_FILE_MAX)
		return 0;
	buf = malloc(size);	/* size - 1 bytes and lang_parse's one */
	memcpy(buf, data + 1, size - 1);
	memset(&c, 0, sizeof(c));
	snprintf(c.tag, sizeof(c.tag), "xx");
	if (lang_parse(&c, buf, size - 1, &line) == -1) {
		CHECK(line >= 1);
		free(buf);
		return 0;
	}
	CHECK(c.n <= LANG_ENTRIES_MAX && c.name != NULL);
	for (i = 0; i < c.n; i++) {
		CHECK(strlen(c.e[i].en) <= LANG_LINE_MAX);
		CHECK(strlen(c.e[i].tr) <= LANG_LINE_MAX);
		CHECK(utf8_valid(c.e[i].en, strlen(c.e[i].en), 0));
		CHECK(utf8_valid(c.e[i].tr, strlen(c.e[i].tr), 0));
	}
	lang_free(&c);

	/* the same file as a catalog in use */
	lang_reset();
	buf = malloc(size);
	memcpy(buf, data + 1, size - 1);
	if (lang_add("xx", buf, size - 1) == 0 && lang_select("xx", 2) == 0) {
		/* session.c's answers, of each conversion kind */
		if (data[0] & 1) {
			f = lang_format("+OK Logged in, %u message%s (%llu "
			    "octets).");
			CHECK(strncmp(f, "+OK ", 4) == 0);
			snprintf(out, sizeof(out), f, 3u, "s", 99ULL);
		}
		if (data[0] & 2) {
			f = lang_format("-ERR [AUTH] Authentication failed.");
			CHECK(strncmp(f, "-ERR [AUTH] ", 12) == 0);
			CHECK(strchr(f, '%') == NULL ||
			    snprintf(out, sizeof(out), f) >= 0);
		}
		if (data[0] & 4) {
			f = lang_format("+OK %s Language changed.");
			snprintf(out, sizeof(out), f, "xx");
		}
		if (data[0] & 8) {
			f = lang_line("-ERR [IN-USE] Mailbox is locked by "
			    "another POP3 session.");
			CHECK(strncmp(f, "-ERR [IN-USE] ", 14) == 0);
			CHECK(strchr(f, '%') == NULL);
		}
	}
	lang_reset();
	return 0;
}
