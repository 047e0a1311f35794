/* The protocol transcript (daemon/session/transcript.c): what each
 * line becomes, that no credential is written, the hold until a login
 * for transcript_users, listings counted or written, relayed listing
 * bytes cut anywhere.  log_info is wrapped (ld --wrap) to catch the
 * lines. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "conf.h"
#include "limits.h"
#include "transcript.h"

#define NLINES	512
static char lines[NLINES][1200];
static int nlines;

void __wrap_log_info(const char *, ...)
    __attribute__((format(printf, 1, 2)));

void
__wrap_log_info(const char *fmt, ...)
{
	va_list ap;

	if (nlines >= NLINES)
		fail_msg("too many log lines");
	va_start(ap, fmt);
	vsnprintf(lines[nlines++], sizeof(lines[0]), fmt, ap);
	va_end(ap);
}

#define PFX	"transcript: sess=S1 addr=192.0.2.7 "
#define C	PFX "\xc2\xab "		/* from the client */
#define S	PFX "\xc2\xbb "		/* from the server */

static struct conf c;

static void
start(int on, const char *users, const char *nets, int lists)
{
	conf_defaults(&c);
	c.transcript = on;
	snprintf(c.transcript_users, sizeof(c.transcript_users), "%s", users);
	snprintf(c.transcript_networks, sizeof(c.transcript_networks), "%s",
	    nets);
	c.transcript_lists = lists;
	nlines = 0;
	transcript_active = 0;
	transcript_start(&c, "S1", "192.0.2.7");
}

static void
cmd(const char *s)
{
	transcript_command(s, strlen(s));
}

static void
reply(const char *s)
{
	transcript_reply(s, strlen(s));
}

static void
want(int i, const char *line)
{
	if (i >= nlines)
		fail_msg("line %d missing (want \"%s\")", i, line);
	assert_string_equal(lines[i], line);
}

static void
no_secret(const char *secret)
{
	int i;

	for (i = 0; i < nlines; i++)
		if (strstr(lines[i], secret) != NULL)
			fail_msg("\"%s\" written: %s", secret, lines[i]);
}

static void
test_masks(void **state)
{
	(void)state;
	start(1, "", "", 0);
	cmd("USER alice");
	cmd("PASS s3cret pw");
	cmd("pass s3cret");
	cmd("APOP alice c4c9334bac560ecc979e58001b3e22fb");
	cmd("AUTH PLAIN AGFsaWNlAHMzY3JldA==");
	cmd("AUTH SCRAM-SHA-256");
	transcript_sasl_response("biwsbj1hbGljZSxyPXh5eg==", 24);
	transcript_sasl_response("*", 1);
	cmd("AUTH");
	cmd("APOP alice");
	cmd("PASS");
	want(0, C "USER alice");
	want(1, C "PASS *****");
	want(2, C "pass *****");
	want(3, C "APOP alice *****");
	want(4, C "AUTH PLAIN *****");
	want(5, C "AUTH SCRAM-SHA-256");
	want(6, C "*****");
	want(7, C "*");
	want(8, C "AUTH");
	want(9, C "APOP alice");
	want(10, C "PASS");
	assert_int_equal(nlines, 11);
	no_secret("s3cret");
	no_secret("c4c9334b");
	no_secret("AGFsaWNl");
	no_secret("biws");
}

/* control bytes and backslashes cannot make a line look like another */
static void
test_escapes(void **state)
{
	char longline[300];

	(void)state;
	start(1, "", "", 0);
	cmd("USER a\rb\x1b\\x");
	reply("+OK \x7f");
	memset(longline, 'x', sizeof(longline) - 1);
	longline[sizeof(longline) - 1] = '\0';
	longline[0] = '\001';
	cmd(longline);
	want(0, C "USER a\\x0db\\x1b\\x5cx");
	want(1, S "+OK \\x7f");
	assert_non_null(strstr(lines[2], "\\x01xxxx"));
	assert_true(strlen(lines[2]) < sizeof(lines[0]));
}

static void
test_off(void **state)
{
	(void)state;
	start(0, "", "", 0);
	assert_int_equal(transcript_active, 0);
	cmd("USER alice");
	reply("+OK");
	transcript_login("alice");
	assert_int_equal(nlines, 0);
	/* a network that is not the client's */
	start(0, "", "198.51.100.0/24", 0);
	assert_int_equal(transcript_active, 0);
	start(0, "", "192.0.2.0/24 2001:db8::/32", 0);
	assert_int_equal(transcript_active, 1);
	cmd("NOOP");
	want(0, C "NOOP");
}

static void
test_users_hold(void **state)
{
	(void)state;
	/* not listed: nothing, ever, and the rest is off */
	start(0, "bob,carol", "", 0);
	assert_int_equal(transcript_active, 1);
	reply("+OK privpop ready.");
	cmd("USER alice");
	cmd("PASS s3cret");
	assert_int_equal(nlines, 0);
	transcript_login("alice");
	assert_int_equal(transcript_active, 0);
	cmd("STAT");
	assert_int_equal(nlines, 0);

	/* listed: the held lines in order, then the rest as it comes */
	start(0, "bob carol", "", 0);
	reply("+OK privpop ready.");
	cmd("USER carol");
	reply("+OK");
	cmd("PASS s3cret");
	assert_int_equal(nlines, 0);
	transcript_login("carol");
	reply("+OK Logged in, 0 messages (0 octets).");
	want(0, S "+OK privpop ready.");
	want(1, C "USER carol");
	want(2, S "+OK");
	want(3, C "PASS *****");
	want(4, S "+OK Logged in, 0 messages (0 octets).");
	assert_int_equal(nlines, 5);
	no_secret("s3cret");

	/* a name that only starts like a listed one */
	start(0, "bob", "", 0);
	transcript_login("bobby");
	assert_int_equal(transcript_active, 0);
}

static void
test_hold_bounded(void **state)
{
	int i;

	(void)state;
	start(0, "bob", "", 0);
	for (i = 0; i < 200; i++)
		cmd("NOOP with some words to fill the hold up quickly");
	transcript_login("bob");
	assert_true(nlines > 10 && nlines < 200);	/* cut, and said */
	assert_non_null(strstr(lines[nlines - 1], "more lines before the "
	    "login, not kept)"));
}

static void
test_listing(void **state)
{
	(void)state;
	start(1, "", "", 0);
	reply("+OK Capability list follows");
	transcript_listing();
	reply("TOP");
	reply("UIDL");
	reply(".");
	reply("+OK");
	want(0, S "+OK Capability list follows");
	want(1, S "(2 lines)");
	want(2, S ".");
	want(3, S "+OK");

	start(1, "", "", 1);
	reply("+OK Capability list follows");
	transcript_listing();
	reply("TOP");
	reply(".");
	want(1, S "TOP");
	want(2, S ".");
	assert_int_equal(nlines, 3);
}

/* relayed listing bytes, cut at every place */
static void
test_relayed(void **state)
{
	static const char wire[] = "1 120\r\n2 4567\r\n3 89\r\n";
	size_t cut;

	(void)state;
	for (cut = 0; cut <= sizeof(wire) - 1; cut++) {
		start(1, "", "", 1);
		transcript_listing();
		transcript_relayed(wire, cut);
		transcript_relayed(wire + cut, sizeof(wire) - 1 - cut);
		transcript_listing_end();
		want(0, S "1 120");
		want(1, S "2 4567");
		want(2, S "3 89");
		want(3, S ".");
		assert_int_equal(nlines, 4);

		start(1, "", "", 0);
		transcript_listing();
		transcript_relayed(wire, cut);
		transcript_relayed(wire + cut, sizeof(wire) - 1 - cut);
		transcript_listing_end();
		want(0, S "(3 lines)");
		assert_int_equal(nlines, 2);
	}
	/* bytes relayed outside a listing (a message body): nothing */
	start(1, "", "", 1);
	transcript_relayed("Subject: secret\r\n", 17);
	assert_int_equal(nlines, 0);
}

/* transcript_dir: lines to the file (time, mark, text), none to the
 * log, the summary last; and no more than TRANSCRIPT_FILE_MAX */
static void
test_file(void **state)
{
	char path[] = "/tmp/privpop-tr-XXXXXX", buf[4096];
	FILE *fp;
	int fd, i;
	long size;

	(void)state;
	assert_true((fd = mkstemp(path)) != -1);
	transcript_file(fd);
	start(1, "", "", 0);
	cmd("USER alice");
	cmd("PASS s3cret");
	transcript_summary("sess=S1 addr=192.0.2.7 user=alice end=quit");
	assert_int_equal(nlines, 0);
	assert_non_null(fp = fopen(path, "r"));
	assert_non_null(fgets(buf, sizeof(buf), fp));
	assert_true(strlen(buf) > 25 && buf[4] == '-' && buf[10] == 'T' &&
	    buf[23] == 'Z');
	assert_string_equal(buf + 25, "\xc2\xab USER alice\n");
	assert_non_null(fgets(buf, sizeof(buf), fp));
	assert_string_equal(buf + 25, "\xc2\xab PASS *****\n");
	assert_non_null(fgets(buf, sizeof(buf), fp));
	assert_string_equal(buf + 25,
	    "*** sess=S1 addr=192.0.2.7 user=alice end=quit\n");
	fclose(fp);
	/* the cap: a line of 1 kB, written until well past it */
	memset(buf, 'x', 1000);
	buf[1000] = '\0';
	for (i = 0; i < (int)(TRANSCRIPT_FILE_MAX / 1000) + 100; i++)
		reply(buf);
	assert_non_null(fp = fopen(path, "r"));
	assert_int_equal(fseek(fp, 0, SEEK_END), 0);
	size = ftell(fp);
	fclose(fp);
	assert_true(size > (long)TRANSCRIPT_FILE_MAX - 2000 &&
	    size < (long)TRANSCRIPT_FILE_MAX + 200);
	transcript_file(-1);
	close(fd);
	unlink(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_masks),
		cmocka_unit_test(test_escapes),
		cmocka_unit_test(test_off),
		cmocka_unit_test(test_users_hold),
		cmocka_unit_test(test_hold_bounded),
		cmocka_unit_test(test_listing),
		cmocka_unit_test(test_relayed),
		cmocka_unit_test(test_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
