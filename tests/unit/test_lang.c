/*
 * The LANG message catalogs (daemon/session/lang.c): the parser on
 * every malformed form (a catalog is a file, read by the session side),
 * the tag syntax, RFC 4647 lookup, and the translation of an answer,
 * which keeps its status indicator and response code; and SASLprep
 * (common/saslprep.c) on the RFC 4013 examples.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lang.h"
#include "saslprep.h"

/* A malloc'd copy with the extra byte lang_parse writes. */
static char *
dup_text(const char *s, size_t *len_r)
{
	size_t n = strlen(s);
	char *p = malloc(n + 1);

	assert_non_null(p);
	memcpy(p, s, n + 1);
	*len_r = n;
	return p;
}

static int
parse(const char *text, size_t *line_r)
{
	struct lang_cat c;
	size_t len, line = 0;
	char *buf = dup_text(text, &len);
	int r;

	memset(&c, 0, sizeof(c));
	snprintf(c.tag, sizeof(c.tag), "xx");
	r = lang_parse(&c, buf, len, &line);
	if (line_r != NULL)
		*line_r = line;
	if (r == 0)
		lang_free(&c);	/* frees buf */
	else
		free(buf);
	return r;
}

static void
test_parse_good(void **state)
{
	struct lang_cat c;
	size_t len, line = 0;
	char *buf = dup_text("# comment\r\n\n@name\tDeutsch\n"
	    "Unknown command.\tUnbekannter Befehl.\r\n"
	    "Logged in, %u message%s (%llu octets).\t%u Nachricht(en)%.0s "
	    "(%llu Oktette), 100%% gut.\n"
	    "%s Language changed.\t%s Sprache gewechselt.", &len);

	(void)state;
	memset(&c, 0, sizeof(c));
	assert_int_equal(lang_parse(&c, buf, len, &line), 0);
	assert_string_equal(c.name, "Deutsch");
	assert_int_equal(c.n, 3);
	assert_string_equal(c.e[0].en, "Unknown command.");
	assert_string_equal(c.e[0].tr, "Unbekannter Befehl.");
	assert_string_equal(c.e[2].tr, "%s Sprache gewechselt.");
	lang_free(&c);
	/* no @name: the tag */
	memset(&c, 0, sizeof(c));
	snprintf(c.tag, sizeof(c.tag), "fr");
	buf = dup_text("", &len);
	assert_int_equal(lang_parse(&c, buf, len, &line), 0);
	assert_string_equal(c.name, "fr");
	assert_int_equal(c.n, 0);
	lang_free(&c);
}

static void
test_parse_bad(void **state)
{
	static const struct {
		const char	*text;
		size_t		 line;
	} bad[] = {
		{ "no tab here\n", 1 },
		{ "#ok\n\tempty English\n", 2 },
		{ "empty translation\t\n", 1 },
		{ "a\tb\tc\n", 1 },			/* a TAB in a text */
		{ "x\ty\nx\tz\n", 2 },			/* twice */
		{ "@name\tA\n@name\tB\n", 2 },
		{ "@name\t100%\n", 1 },
		{ "Message %u deleted.\tGone.\n", 1 },	/* lost a %u */
		{ "Gone.\tMessage %u deleted.\n", 1 },	/* added one */
		{ "Message %u deleted.\tGone %s.\n", 1 },	/* other type */
		{ "%u and %s\t%s and %u\n", 1 },	/* other order */
		{ "x\t%n\n", 1 },
		{ "x\t%x\n", 1 },
		{ "x\t%5s\n", 1 },
		{ "x\t%\n", 1 },
		{ "%u\t%lu\n", 1 },
		{ "x\tbad \xc3(\n", 1 },		/* not UTF-8 */
		{ "x\t\xc0\xaf\n", 1 },			/* overlong */
		{ "x\tbell \a\n", 1 },			/* a control */
		{ "x\t\xc2\x85\n", 1 },			/* C1 */
	};
	size_t i, line;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (parse(bad[i].text, &line) != -1)
			fail_msg("bad case %zu accepted", i);
		if (line != bad[i].line)
			fail_msg("bad case %zu: line %zu", i, line);
	}
}

static void
test_parse_limits(void **state)
{
	struct lang_cat c;
	char *buf, *p;
	size_t i, len, line;
	static const char nul[] = "x\ty\0z\n";

	(void)state;
	/* a NUL byte anywhere */
	memset(&c, 0, sizeof(c));
	buf = malloc(sizeof(nul));
	memcpy(buf, nul, sizeof(nul));
	assert_int_equal(lang_parse(&c, buf, sizeof(nul) - 1, &line), -1);
	free(buf);
	/* LANG_ENTRIES_MAX entries, and one more */
	for (i = LANG_ENTRIES_MAX; i <= LANG_ENTRIES_MAX + 1; i++) {
		size_t k;

		buf = p = malloc(i * 16 + 1);
		for (k = 0; k < i; k++)
			p += sprintf(p, "e%05zu\tt%05zu\n", k, k);
		len = (size_t)(p - buf);
		memset(&c, 0, sizeof(c));
		line = 0;
		if (i == LANG_ENTRIES_MAX) {
			assert_int_equal(lang_parse(&c, buf, len, &line), 0);
			lang_free(&c);
		} else {
			assert_int_equal(lang_parse(&c, buf, len, &line), -1);
			assert_int_equal(line, LANG_ENTRIES_MAX + 1);
			free(buf);
		}
	}
	/* a text longer than an answer line */
	buf = malloc(LANG_LINE_MAX + 8);
	memset(buf, 'a', LANG_LINE_MAX + 1);
	memcpy(buf + LANG_LINE_MAX + 1, "\tb\n", 4);
	memset(&c, 0, sizeof(c));
	assert_int_equal(lang_parse(&c, buf, LANG_LINE_MAX + 4, &line), -1);
	free(buf);
}

static void
test_tags(void **state)
{
	static const char *good[] = { "de", "en", "pt-BR", "zh-Hant-TW",
	    "de-CH-1996", "x-klingon", "i-default", "abcdefgh" };
	static const char *bad[] = { "", "-", "de-", "-de", "de--CH", "1de",
	    "abcdefghi", "de_CH", "de CH", "d\xc3\xa9", "de-abcdefghi",
	    "*", "de.txt" };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_int_equal(lang_tag_ok(good[i], strlen(good[i])), 1);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (lang_tag_ok(bad[i], strlen(bad[i])) != 0)
			fail_msg("tag %s accepted", bad[i]);
	assert_int_equal(lang_tag_ok("aaaaaaaa-bbbbbbbb-cccccccc-dddddddd",
	    35), 1);
	assert_int_equal(lang_tag_ok("aaaaaaaa-bbbbbbbb-cccccccc-ddddddddd",
	    36), 0);
}

static int
add_r(const char *tag, const char *text)
{
	size_t len;
	char *buf = dup_text(text, &len);

	return lang_add(tag, buf, len);
}

static void
add(const char *tag, const char *text)
{
	assert_int_equal(add_r(tag, text), 0);
}

static void
test_select_translate(void **state)
{
	(void)state;
	lang_reset();
	add("de", "@name\tDeutsch\nUnknown command.\tUnbekannter Befehl.\n"
	    "Authentication failed.\tAnmeldung fehlgeschlagen.\n"
	    "Message %u deleted.\tNachricht %u gel\xc3\xb6scht.\n"
	    "%s Language changed.\t%s Sprache gewechselt.\n"
	    "Done.\tFertig (100%%).\n");
	add("fr-CA", "Unknown command.\tCommande inconnue.\n");
	/* refused: en (built in), a second de, a bad tag, a bad file */
	assert_int_equal(add_r("en", ""), -1);
	assert_int_equal(add_r("DE", ""), -1);
	assert_int_equal(add_r("d e", ""), -1);
	assert_int_equal(add_r("it", "x\t%n\n"), -1);
	assert_int_equal(lang_count(), 3);
	assert_string_equal(lang_tag(0), "en");
	assert_string_equal(lang_name(0), "English");
	assert_string_equal(lang_name(1), "Deutsch");
	assert_string_equal(lang_name(2), "fr-CA");

	/* English: everything as it is */
	assert_string_equal(lang_current(), "en");
	assert_string_equal(lang_format("-ERR Unknown command."),
	    "-ERR Unknown command.");
	assert_int_equal(lang_select("de", 2), 0);
	assert_string_equal(lang_current(), "de");
	assert_string_equal(lang_format("-ERR Unknown command."),
	    "-ERR Unbekannter Befehl.");
	/* the response code is kept, never looked up */
	assert_string_equal(lang_format("-ERR [AUTH] Authentication failed."),
	    "-ERR [AUTH] Anmeldung fehlgeschlagen.");
	assert_string_equal(lang_line("-ERR [AUTH] Authentication failed."),
	    "-ERR [AUTH] Anmeldung fehlgeschlagen.");
	assert_string_equal(lang_format("+OK Message %u deleted."),
	    "+OK Nachricht %u gel\xc3\xb6scht.");
	assert_string_equal(lang_format("+OK %s Language changed."),
	    "+OK %s Sprache gewechselt.");
	/* a line is no format: a translation with a % stays English */
	assert_string_equal(lang_line("+OK Done."), "+OK Done.");
	assert_string_equal(lang_format("+OK Done."), "+OK Fertig (100%%).");
	/* not an answer, untranslated, or only the code */
	assert_string_equal(lang_format("Unknown command."),
	    "Unknown command.");
	assert_string_equal(lang_format("+OK"), "+OK");
	assert_string_equal(lang_format("-ERR Nothing."), "-ERR Nothing.");
	assert_string_equal(lang_format("-ERR [AUTH]"), "-ERR [AUTH]");
	assert_string_equal(lang_format("+OKUnknown command."),
	    "+OKUnknown command.");

	/* RFC 4647 lookup, any case; "*" the default; unknown ones */
	assert_int_equal(lang_select("DE-ch-1996", 10), 0);
	assert_string_equal(lang_current(), "de");
	assert_int_equal(lang_select("fr-CA-x-foo", 11), 0);
	assert_string_equal(lang_current(), "fr-CA");
	assert_int_equal(lang_select("fr", 2), -1);
	assert_string_equal(lang_current(), "fr-CA");	/* unchanged */
	assert_int_equal(lang_select("*", 1), 0);
	assert_string_equal(lang_current(), "en");
	assert_int_equal(lang_select("en-GB", 5), 0);
	assert_string_equal(lang_current(), "en");
	assert_int_equal(lang_select("xx", 2), -1);
	assert_int_equal(lang_select("", 0), -1);
	assert_int_equal(lang_select("**", 2), -1);
	assert_int_equal(lang_select("de_DE", 5), -1);
	lang_reset();
	assert_int_equal(lang_count(), 1);
}

static void
prep(const char *in, const char *want)
{
	char buf[64];

	snprintf(buf, sizeof(buf), "%s", in);
	if (want == NULL) {
		if (saslprep_query(buf, sizeof(buf)) != -1)
			fail_msg("saslprep %s accepted", in);
		return;
	}
	assert_int_equal(saslprep_query(buf, sizeof(buf)), 0);
	assert_string_equal(buf, want);
}

/* RFC 4013 section 3's examples, and what privpop adds. */
static void
test_saslprep(void **state)
{
	char small[4];

	(void)state;
	prep("I\xc2\xad" "X", "IX");		/* SOFT HYPHEN mapped to nothing */
	prep("user", "user");
	prep("USER", "USER");			/* case kept */
	prep("\xc2\xaa", "a");			/* NFKC */
	prep("\xe2\x85\xa8", "IX");		/* ROMAN NUMERAL NINE */
	prep("two\xc2\xa0words", "two words");	/* NBSP is a space */
	prep("\xef\xac\x81ona", "fiona");	/* the fi ligature */
	prep("two words", "two words");		/* ASCII: as it is */
	prep("\x07", NULL);			/* a control */
	prep("a\xe2\x80\xa8" "b", NULL);	/* LINE SEPARATOR */
	prep("\xd8\xa7" "1", NULL);		/* RandALCat with L/digit */
	prep("a\xc3(", NULL);			/* not UTF-8 */
	prep("\xc2\xad", NULL);			/* mapped to nothing at all */
	prep("", NULL);
	/* a result that does not fit */
	snprintf(small, sizeof(small), "\xe2\x85\xa8");	/* 3 bytes -> "IX" */
	assert_int_equal(saslprep_query(small, sizeof(small)), 0);
	assert_string_equal(small, "IX");
	/* U+3300 SQUARE APAATO: NFKC makes 4 characters, 12 bytes */
	snprintf(small, sizeof(small), "\xe3\x8c\x80");
	assert_int_equal(saslprep_query(small, sizeof(small)), -1);
}

/* A stored string (privpop-passwd): as a query, but a code point that
 * Unicode 3.2 does not assign is refused (RFC 3454 section 7). */
static void
test_saslprep_stored(void **state)
{
	char buf[32];

	(void)state;
	snprintf(buf, sizeof(buf), "\xef\xac\x81sh\xc2\xa0" "chips");
	assert_int_equal(saslprep_stored(buf, sizeof(buf)), 0);
	assert_string_equal(buf, "fish chips");
	snprintf(buf, sizeof(buf), "plain");
	assert_int_equal(saslprep_stored(buf, sizeof(buf)), 0);
	assert_string_equal(buf, "plain");
	/* U+0221, unassigned in Unicode 3.2 (table A.1) */
	snprintf(buf, sizeof(buf), "a\xc8\xa1" "b");
	assert_int_equal(saslprep_query(buf, sizeof(buf)), 0);
	assert_string_equal(buf, "a\xc8\xa1" "b");
	assert_int_equal(saslprep_stored(buf, sizeof(buf)), -1);
	snprintf(buf, sizeof(buf), "a\xe2\x80\xa8" "b");
	assert_int_equal(saslprep_stored(buf, sizeof(buf)), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_good),
		cmocka_unit_test(test_parse_bad),
		cmocka_unit_test(test_parse_limits),
		cmocka_unit_test(test_tags),
		cmocka_unit_test(test_select_translate),
		cmocka_unit_test(test_saslprep),
		cmocka_unit_test(test_saslprep_stored),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
