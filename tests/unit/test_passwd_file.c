/*
 * Unit tests for auth/passwd_file.c and auth/verify.c: passwd-file
 * lines, user names, mailbox locations, lookup, password and APOP
 * checks.
 */
#include "config.h"

#include <sys/stat.h>

#include <crypt.h>
#include <ctype.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <cmocka.h>

#include <openssl/evp.h>

#include "conf.h"
#include "limits.h"
#include "passwd_file.h"
#include "verify.h"

static struct pwf_entry e;

/* ---- pwf_parse_line ---- */

struct line_case {
	const char	*line;
	int		 len;	/* -1: strlen */
	int		 rc;
	const char	*user;
	enum pwf_scheme	 scheme;
	const char	*secret;
	unsigned long	 uid, gid;
	const char	*home, *mail;
};

#define H6	"$6$salt$hash"

static const struct line_case line_cases[] = {
	/* blank and comment lines */
	{ "", -1, 0, NULL, 0, NULL, 0, 0, NULL, NULL },
	{ "   ", -1, 0, NULL, 0, NULL, 0, 0, NULL, NULL },
	{ "\r", -1, 0, NULL, 0, NULL, 0, 0, NULL, NULL },
	{ "# alice:{PLAIN}x:1:1::/h:", -1, 0, NULL, 0, NULL, 0, 0, NULL,
	    NULL },
	{ "#", -1, 0, NULL, 0, NULL, 0, 0, NULL, NULL },

	/* 7 fields; the mail field may contain ':' */
	{ "alice:{PLAIN}secret:1000:1001:Alice A:/home/alice:maildir:~/Maildir",
	    -1, 1, "alice", PWF_PLAIN, "secret", 1000, 1001, "/home/alice",
	    "maildir:~/Maildir" },
	{ "a:" H6 ":1:2::/h:maildir:/var/mail/a:b:c", -1, 1, "a", PWF_CRYPT,
	    H6, 1, 2, "/h", "maildir:/var/mail/a:b:c" },
	{ "a:" H6 ":1:2:g:e:c:o:s:/h:", -1, -1, NULL, 0, NULL, 0, 0, NULL,
	    NULL },	/* ':' in gecos shifts home: "e" is relative */
	/* 6 fields: no mail field */
	{ "bob:" H6 ":1001:1001::/home/bob", -1, 1, "bob", PWF_CRYPT, H6,
	    1001, 1001, "/home/bob", "" },
	/* 7 fields, empty mail */
	{ "bob:" H6 ":1001:1001::/home/bob:", -1, 1, "bob", PWF_CRYPT, H6,
	    1001, 1001, "/home/bob", "" },
	/* 5 fields and fewer */
	{ "bob:" H6 ":1001:1001:", -1, -1, NULL, 0, NULL, 0, 0, NULL, NULL },
	{ "bob:" H6 ":1001:1001", -1, -1, NULL, 0, NULL, 0, 0, NULL, NULL },
	{ "bob", -1, -1, NULL, 0, NULL, 0, 0, NULL, NULL },
	{ "::::::", -1, -1, NULL, 0, NULL, 0, 0, NULL, NULL },

	/* password schemes */
	{ "c:{CRYPT}" H6 ":1:1::/h", -1, 1, "c", PWF_CRYPT, H6, 1, 1, "/h",
	    "" },
	{ "c:{CRYPT}$y$j9T$abc$def:1:1::/h", -1, 1, "c", PWF_CRYPT,
	    "$y$j9T$abc$def", 1, 1, "/h", "" },
	{ "c:{PLAIN}p a:ss:1:1::/h", -1, -1, NULL, 0, NULL, 0, 0, NULL,
	    NULL },	/* ':' cannot be in a secret */
	{ "c:{PLAIN}p w#!:1:1::/h", -1, 1, "c", PWF_PLAIN, "p w#!", 1, 1,
	    "/h", "" },
	{ "c:{PLAIN}!x:1:1::/h", -1, 1, "c", PWF_PLAIN, "!x", 1, 1, "/h",
	    "" },
	{ "c:{PLAIN}:1:1::/h", -1, -1, NULL, 0, NULL, 0, 0, NULL, NULL },
	{ "c:{CRYPT}:1:1::/h", -1, -1, NULL, 0, NULL, 0, 0, NULL, NULL },
	{ "c:{X}abc:1:1::/h", -1, -1, NULL, 0, NULL, 0, 0, NULL, NULL },
	{ "c:{SHA512-CRYPT}$6$x:1:1::/h", -1, -1, NULL, 0, NULL, 0, 0, NULL,
	    NULL },
	{ "c:{plain}x:1:1::/h", -1, -1, NULL, 0, NULL, 0, 0, NULL, NULL },
	{ "c:{CRYPT}{PLAIN}x:1:1::/h", -1, -1, NULL, 0, NULL, 0, 0, NULL,
	    NULL },
	{ "c:{:1:1::/h", -1, -1, NULL, 0, NULL, 0, 0, NULL, NULL },
	/* locked */
	{ "d:!" H6 ":1:1::/h", -1, 1, "d", PWF_LOCKED, "!" H6, 1, 1, "/h",
	    "" },
	{ "d:*:1:1::/h", -1, 1, "d", PWF_LOCKED, "*", 1, 1, "/h", "" },
	{ "d:!:1:1::/h", -1, 1, "d", PWF_LOCKED, "!", 1, 1, "/h", "" },
	{ "d:!!:1:1::/h", -1, 1, "d", PWF_LOCKED, "!!", 1, 1, "/h", "" },
	/* empty password */
	{ "e::1:1::/h", -1, -1, NULL, 0, NULL, 0, 0, NULL, NULL },

	/* uid and gid */
	{ "f:" H6 ":0:0::/h", -1, 1, "f", PWF_CRYPT, H6, 0, 0, "/h", "" },
	{ "f:" H6 ":4294967294:4294967294::/h", -1, 1, "f", PWF_CRYPT, H6,
	    4294967294UL, 4294967294UL, "/h", "" },
	{ "f:" H6 ":4294967295:1::/h", -1, -1, NULL, 0, NULL, 0, 0, NULL,
	    NULL },	/* (uid_t)-1 */
	{ "f:" H6 ":1:4294967295::/h", -1, -1, NULL, 0, NULL, 0, 0, NULL,
	    NULL },
	{ "f:" H6 ":99999999999999999999999:1::/h", -1, -1, NULL, 0, NULL, 0,
	    0, NULL, NULL },
	{ "f:" H6 "::1::/h", -1, -1, NULL, 0, NULL, 0, 0, NULL, NULL },
	{ "f:" H6 ":1:::/h", -1, -1, NULL, 0, NULL, 0, 0, NULL, NULL },
	{ "f:" H6 ":x:1::/h", -1, -1, NULL, 0, NULL, 0, 0, NULL, NULL },
	{ "f:" H6 ":-1:1::/h", -1, -1, NULL, 0, NULL, 0, 0, NULL, NULL },
	{ "f:" H6 ":+1:1::/h", -1, -1, NULL, 0, NULL, 0, 0, NULL, NULL },
	{ "f:" H6 ": 1:1::/h", -1, -1, NULL, 0, NULL, 0, 0, NULL, NULL },
	{ "f:" H6 ":1:0x1::/h", -1, -1, NULL, 0, NULL, 0, 0, NULL, NULL },

	/* home */
	{ "g:" H6 ":1:1::home/g", -1, -1, NULL, 0, NULL, 0, 0, NULL, NULL },
	{ "g:" H6 ":1:1::", -1, -1, NULL, 0, NULL, 0, 0, NULL, NULL },
	{ "g:" H6 ":1:1::~/g", -1, -1, NULL, 0, NULL, 0, 0, NULL, NULL },
	{ "g:" H6 ":1:1:::maildir:/m", -1, -1, NULL, 0, NULL, 0, 0, NULL,
	    NULL },
	{ "g:" H6 ":1:1::/", -1, 1, "g", PWF_CRYPT, H6, 1, 1, "/", "" },

	/* user names */
	{ "alice@example.org:" H6 ":1:1::/h", -1, 1, "alice@example.org",
	    PWF_CRYPT, H6, 1, 1, "/h", "" },
	{ "a/b:" H6 ":1:1::/h", -1, -1, NULL, 0, NULL, 0, 0, NULL, NULL },
	{ "../x:" H6 ":1:1::/h", -1, -1, NULL, 0, NULL, 0, 0, NULL, NULL },
	{ "a:b:" H6 ":1:1::/h", -1, -1, NULL, 0, NULL, 0, 0, NULL, NULL },
	{ ":" H6 ":1:1::/h", -1, -1, NULL, 0, NULL, 0, 0, NULL, NULL },
	{ " alice:" H6 ":1:1::/h", -1, -1, NULL, 0, NULL, 0, 0, NULL, NULL },
	{ "al ice:" H6 ":1:1::/h", -1, -1, NULL, 0, NULL, 0, 0, NULL, NULL },
	{ "al\tice:" H6 ":1:1::/h", -1, -1, NULL, 0, NULL, 0, 0, NULL, NULL },
	{ "al\x7f" "ice:" H6 ":1:1::/h", -1, -1, NULL, 0, NULL, 0, 0, NULL,
	    NULL },
	/* RFC 6856: strict UTF-8 names (utf8.c), nothing else 8-bit */
	{ "j\xc3\xb6rg:" H6 ":1:1::/h", -1, 1, "j\xc3\xb6rg", PWF_CRYPT,
	    H6, 1, 1, "/h", "" },
	{ "j\xf6rg:" H6 ":1:1::/h", -1, -1, NULL, 0, NULL, 0, 0, NULL,
	    NULL },
	{ "a\xc0\xaf" "b:" H6 ":1:1::/h", -1, -1, NULL, 0, NULL, 0, 0,
	    NULL, NULL },
	{ "a\xed\xa0\x80:" H6 ":1:1::/h", -1, -1, NULL, 0, NULL, 0, 0,
	    NULL, NULL },
	{ "a\xc2\x85:" H6 ":1:1::/h", -1, -1, NULL, 0, NULL, 0, 0, NULL,
	    NULL },
	{ "a\xc2\xa0" "b:" H6 ":1:1::/h", -1, 1, "a\xc2\xa0" "b", PWF_CRYPT,
	    H6, 1, 1, "/h", "" },

	/* trailing CR and spaces are dropped; an inner NUL is refused */
	{ "h:" H6 ":1:1::/home/h\r", -1, 1, "h", PWF_CRYPT, H6, 1, 1,
	    "/home/h", "" },
	{ "h:" H6 ":1:1::/home/h:maildir:~/M  \r", -1, 1, "h", PWF_CRYPT, H6,
	    1, 1, "/home/h", "maildir:~/M" },
	{ "h:{PLAIN}a\0b:1:1::/h", 20, -1, NULL, 0, NULL, 0, 0, NULL, NULL },
	/* only len bytes count */
	{ "h:" H6 ":1:1::/home/hXXXX", 27, 1, "h", PWF_CRYPT, H6, 1, 1,
	    "/home/h", "" },
};

static void
test_parse_line_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(line_cases) / sizeof(line_cases[0]); i++) {
		const struct line_case *t = &line_cases[i];
		size_t len = t->len < 0 ? strlen(t->line) : (size_t)t->len;
		int rc;

		memset(&e, 0x41, sizeof(e));
		rc = pwf_parse_line(t->line, len, &e);
		if (rc != t->rc)
			fail_msg("case %zu \"%s\": rc %d want %d", i, t->line,
			    rc, t->rc);
		if (rc != 1)
			continue;
		if (strcmp(e.user, t->user) != 0 || e.scheme != t->scheme ||
		    strcmp(e.secret, t->secret) != 0 ||
		    (unsigned long)e.uid != t->uid ||
		    (unsigned long)e.gid != t->gid ||
		    strcmp(e.home, t->home) != 0 ||
		    strcmp(e.mail, t->mail) != 0)
			fail_msg("case %zu \"%s\": got user \"%s\" scheme %d "
			    "secret \"%s\" uid %lu gid %lu home \"%s\" mail "
			    "\"%s\"", i, t->line, e.user, (int)e.scheme,
			    e.secret, (unsigned long)e.uid,
			    (unsigned long)e.gid, e.home, e.mail);
	}
}

/* A malformed line says what is wrong, never with the password field
 * in it. */
static void
test_parse_line_why(void **state)
{
	static const struct {
		const char	*line;
		const char	*why;
	} cases[] = {
		{ "alice:{PLAIN}s3cret:1000", "3 fields, expected at least 6 "
		    "(user:password:uid:gid:gecos:home[:mail])" },
		{ "alice", "1 field, expected at least 6" },
		{ "alice:{PLAIN}s3cret:10x0:1::/h", "bad uid \"10x0\" (a "
		    "number from 0 to 4294967294)" },
		{ "alice:{PLAIN}s3cret::1::/h", "bad uid \"\"" },
		{ "alice:{PLAIN}s3cret:-1:1::/h", "bad uid \"-1\"" },
		{ "alice:{PLAIN}s3cret:1:5000x::/h", "bad gid \"5000x\"" },
		{ "alice:{PLAIN}s3cret:1:1::home/alice", "home \"home/alice\" "
		    "is not an absolute path" },
		{ "alice:{PLAIN}s3cret:1:1::", "home \"\" is not" },
		{ "alice:{MD5}s3cret:1:1::/h", "unknown password scheme" },
		{ "alice::1:1::/h", "empty password field" },
		{ "al/ice:{PLAIN}s3cret:1:1::/h", "bad user name \"al/ice\"" },
	};
	char why[200];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(why, sizeof(why), "unset");
		if (pwf_parse_line_why(cases[i].line, strlen(cases[i].line),
		    &e, why, sizeof(why)) != -1)
			fail_msg("\"%s\" accepted", cases[i].line);
		if (strncmp(why, cases[i].why, strlen(cases[i].why)) != 0)
			fail_msg("\"%s\": why \"%s\", want \"%s...\"",
			    cases[i].line, why, cases[i].why);
		if (strstr(why, "s3cret") != NULL)
			fail_msg("\"%s\": why shows the password",
			    cases[i].line);
	}
	/* a short buffer is cut, not overrun; NULL is allowed */
	assert_int_equal(pwf_parse_line_why("a", 1, &e, why, 4), -1);
	assert_string_equal(why, "1 f");
	assert_int_equal(pwf_parse_line_why("a", 1, &e, NULL, 0), -1);
}

/* Field lengths: user up to POP3_MAX_USER, fields within their arrays. */
static void
test_parse_line_lengths(void **state)
{
	char user[POP3_MAX_USER + 2], line[4096];
	char big[MAIL_MAX_PATH + 2];

	(void)state;
	memset(user, 'u', sizeof(user));
	user[POP3_MAX_USER] = '\0';
	snprintf(line, sizeof(line), "%s:" H6 ":1:1::/h", user);
	assert_int_equal(pwf_parse_line(line, strlen(line), &e), 1);
	assert_string_equal(e.user, user);
	user[POP3_MAX_USER] = 'u';
	user[POP3_MAX_USER + 1] = '\0';
	snprintf(line, sizeof(line), "%s:" H6 ":1:1::/h", user);
	assert_int_equal(pwf_parse_line(line, strlen(line), &e), -1);

	/* home of MAIL_MAX_PATH - 1 fits, MAIL_MAX_PATH does not */
	memset(big, 'h', sizeof(big));
	big[0] = '/';
	big[MAIL_MAX_PATH - 1] = '\0';
	snprintf(line, sizeof(line), "u:" H6 ":1:1::%s", big);
	assert_int_equal(pwf_parse_line(line, strlen(line), &e), 1);
	assert_int_equal(strlen(e.home), MAIL_MAX_PATH - 1);
	big[MAIL_MAX_PATH - 1] = 'h';
	big[MAIL_MAX_PATH] = '\0';
	snprintf(line, sizeof(line), "u:" H6 ":1:1::%s", big);
	assert_int_equal(pwf_parse_line(line, strlen(line), &e), -1);
	/* same for the mail field */
	big[MAIL_MAX_PATH - 1] = '\0';
	snprintf(line, sizeof(line), "u:" H6 ":1:1::/h:%s", big);
	assert_int_equal(pwf_parse_line(line, strlen(line), &e), 1);
	big[MAIL_MAX_PATH - 1] = 'h';
	snprintf(line, sizeof(line), "u:" H6 ":1:1::/h:%s", big);
	assert_int_equal(pwf_parse_line(line, strlen(line), &e), -1);
}

/* ---- pwf_valid_user ---- */

static void
test_valid_user(void **state)
{
	static const struct {
		const char	*u;
		int		 len;
		int		 want;
	} rows[] = {
		{ "alice", -1, 1 },
		{ "a", -1, 1 },
		{ "alice@example.org", -1, 1 },
		{ "a.b-c_d+e", -1, 1 },
		{ "!~", -1, 1 },
		{ "..", -1, 1 },	/* no '/' so no path of its own */
		{ "", -1, 0 },
		{ "a b", -1, 0 },
		{ " a", -1, 0 },
		{ "a ", -1, 0 },
		{ "a:b", -1, 0 },
		{ "a/b", -1, 0 },
		{ "/", -1, 0 },
		{ "a\tb", -1, 0 },
		{ "a\r", -1, 0 },
		{ "a\n", -1, 0 },
		{ "a\x7f", -1, 0 },
		{ "\x1f", -1, 0 },
		{ "\x80", -1, 0 },
		{ "\xff", -1, 0 },
		{ "a\0b", 3, 0 },
		{ "abc", 2, 1 },	/* only len bytes */
	};
	char longu[POP3_MAX_USER + 2];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		size_t len = rows[i].len < 0 ? strlen(rows[i].u) :
		    (size_t)rows[i].len;

		if (pwf_valid_user(rows[i].u, len) != rows[i].want)
			fail_msg("row %zu \"%s\": want %d", i, rows[i].u,
			    rows[i].want);
	}
	memset(longu, 'x', sizeof(longu));
	assert_int_equal(pwf_valid_user(longu, POP3_MAX_USER), 1);
	assert_int_equal(pwf_valid_user(longu, POP3_MAX_USER + 1), 0);
}

/* ---- pwf_mail_location ---- */

struct loc_case {
	const char	*user, *home, *mail, *deflt;
	int		 rc;
	const char	*out;
};

static const struct loc_case loc_cases[] = {
	{ "a", "/home/a", "", "maildir:~/Maildir", 0,
	    "maildir:/home/a/Maildir" },
	{ "a", "/home/a", "maildir:~/Mail", "maildir:~/Maildir", 0,
	    "maildir:/home/a/Mail" },
	{ "a", "/home/a", "maildir:~", "x", 0, "maildir:/home/a" },
	{ "a", "/", "maildir:~", "x", 0, "maildir:/" },
	{ "a", "/home/a", "maildir:/var/mail/~", "x", 0,
	    "maildir:/var/mail/~" },	/* '~' only at the start */
	{ "a@b.org", "/h", "maildir:/var/mail/%u", "x", 0,
	    "maildir:/var/mail/a@b.org" },
	{ "a@b.org", "/h", "maildir:/v/%d/%n", "x", 0, "maildir:/v/b.org/a" },
	{ "a", "/h", "maildir:/v/%d/%n", "x", 0, "maildir:/v//a" },
	{ "a", "/h", "maildir:/v/%n%d", "x", 0, "maildir:/v/a" },
	{ "a@b@c", "/h", "maildir:/v/%d/%n", "x", 0, "maildir:/v/b@c/a" },
	{ "a", "/h", "maildir:/v/100%%", "x", 0, "maildir:/v/100%" },
	{ "a", "/h", "maildir:/v/%%u", "x", 0, "maildir:/v/%u" },
	{ "a", "/h", "maildir:/v/%", "x", 0, "maildir:/v/%" },
	{ "a", "/h", "maildir:/v/%x", "x", -1, NULL },
	{ "a", "/h", "maildir:/v/%U", "x", -1, NULL },
	{ "a", "/h", "maildir:/v/%/", "x", -1, NULL },
	{ "a", "/h", "", "maildir:/v/%h", -1, NULL },
	/* mbox */
	{ "a", "/h", "mbox:~/mbox", "maildir:~/Maildir", 0, "mbox:/h/mbox" },
	{ "a", "/h", "", "mbox:/var/mail/%u", 0, "mbox:/var/mail/a" },
	{ "a", "/h", "mbox:/var/mail/..", "x", -1, NULL },
	{ "a", "/h", "mbox:mbox", "x", -1, NULL },
	/* auto: where ~/Maildir would be; the owner's worker decides
	 * (test_mail_auto) */
	{ "a", "/nonexistent", "auto", "x", 0, "auto:/nonexistent/Maildir" },
	{ "a", "/tmp", "", "auto", 0, "auto:/tmp/Maildir" },
	/* neither */
	{ "a", "/h", "mbx:~/mbox", "x", -1, NULL },
	{ "a", "/h", "Maildir:~/M", "x", -1, NULL },
	{ "a", "/h", "maildir", "x", -1, NULL },
	/* not absolute */
	{ "a", "/h", "maildir:Maildir", "x", -1, NULL },
	{ "a", "/h", "maildir:", "x", -1, NULL },
	{ "a", "/h", "maildir:%u", "x", -1, NULL },
	{ "a", "/h", "maildir:./M", "x", -1, NULL },
	/* no way up */
	{ "a", "/h", "maildir:/var/mail/../etc", "x", -1, NULL },
	{ "a", "/h", "maildir:~/../x", "x", -1, NULL },
	{ "a", "/home/../root", "maildir:~/M", "x", -1, NULL },
	{ "a@..", "/h", "maildir:/v/%d/%n", "x", -1, NULL },
	{ "a", "/h", "maildir:/../x", "x", -1, NULL },
	{ "a", "/h", "maildir:/v/..x/a..", "x", 0, "maildir:/v/..x/a.." },
};

/* A location that ends in "/.." climbs out of the directory just as
 * "/../" does; a user named ".." (valid: no '/') or with local part
 * ".." reaches it through %u or %n. */
static const struct loc_case loc_dotdot_cases[] = {
	{ "a", "/h", "maildir:/..", "x", -1, NULL },
	{ "a", "/h", "maildir:/var/mail/..", "x", -1, NULL },
	{ "a", "/home/..", "maildir:~", "x", -1, NULL },
	{ "..", "/h", "maildir:/var/mail/%u", "x", -1, NULL },
	{ "..@example.org", "/h", "maildir:/v/%d/%n", "x", -1, NULL },
	{ "a@..", "/h", "maildir:/v/%n/%d", "x", -1, NULL },
};

static void
run_loc_cases(const struct loc_case *cases, size_t ncases)
{
	size_t i;

	for (i = 0; i < ncases; i++) {
		const struct loc_case *t = &cases[i];
		char out[MAIL_MAX_PATH];
		int rc;

		memset(&e, 0, sizeof(e));
		snprintf(e.user, sizeof(e.user), "%s", t->user);
		snprintf(e.home, sizeof(e.home), "%s", t->home);
		snprintf(e.mail, sizeof(e.mail), "%s", t->mail);
		rc = pwf_mail_location(&e, t->deflt, out, sizeof(out));
		if (rc != t->rc)
			fail_msg("case %zu (%s, %s, \"%s\"): rc %d want %d%s%s",
			    i, t->user, t->home, t->mail[0] ? t->mail :
			    t->deflt, rc, t->rc, rc == 0 ? " out " : "",
			    rc == 0 ? out : "");
		if (rc == 0 && strcmp(out, t->out) != 0)
			fail_msg("case %zu: \"%s\" want \"%s\"", i, out,
			    t->out);
	}
}

static void
test_mail_location_table(void **state)
{
	(void)state;
	run_loc_cases(loc_cases, sizeof(loc_cases) / sizeof(loc_cases[0]));
}

static void
test_mail_location_trailing_dotdot(void **state)
{
	(void)state;
	run_loc_cases(loc_dotdot_cases,
	    sizeof(loc_dotdot_cases) / sizeof(loc_dotdot_cases[0]));
}

/* The output is bounded by outlen. */
static void
test_mail_location_bounds(void **state)
{
	char out[32];

	(void)state;
	memset(&e, 0, sizeof(e));
	strcpy(e.user, "alice");
	strcpy(e.home, "/home/alice");
	strcpy(e.mail, "maildir:~/Maildir");	/* 27 characters out */
	assert_int_equal(pwf_mail_location(&e, "", out, 28), 0);
	assert_string_equal(out, "maildir:/home/alice/Maildir");
	memset(out, 'Z', sizeof(out));
	assert_int_equal(pwf_mail_location(&e, "", out, 27), -1);
	assert_int_equal(out[27], 'Z');
	strcpy(e.mail, "maildir:/%u%u%u%u%u%u%u");
	assert_int_equal(pwf_mail_location(&e, "", out, sizeof(out)), -1);
}

/* auto looks at nothing as root: the answer is the same whatever is
 * at ~/Maildir (a directory, a symlink, nothing). */
static void
test_mail_location_auto_looks_at_nothing(void **state)
{
	char base[64], link[128], out[256], want[160];

	(void)state;
	snprintf(base, sizeof(base), "/tmp/privpop-auto-XXXXXX");
	assert_non_null(mkdtemp(base));
	snprintf(link, sizeof(link), "%s/Maildir", base);
	snprintf(want, sizeof(want), "auto:%s", link);
	memset(&e, 0, sizeof(e));
	strcpy(e.user, "a");
	snprintf(e.home, sizeof(e.home), "%s", base);
	strcpy(e.mail, "auto");
	assert_int_equal(pwf_mail_location(&e, "", out, sizeof(out)), 0);
	assert_string_equal(out, want);
	assert_int_equal(mkdir(link, 0700), 0);
	assert_int_equal(pwf_mail_location(&e, "", out, sizeof(out)), 0);
	assert_string_equal(out, want);
	assert_int_equal(rmdir(link), 0);
	assert_int_equal(symlink("/", link), 0);
	assert_int_equal(pwf_mail_location(&e, "", out, sizeof(out)), 0);
	assert_string_equal(out, want);
	assert_int_equal(unlink(link), 0);
	assert_int_equal(rmdir(base), 0);
}

/* ---- pwf_lookup ---- */

static char tmpdir[64];

static int
setup_dir(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/privpop-pwf-XXXXXX");
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int
teardown_dir(void **state)
{
	char p[128];

	(void)state;
	snprintf(p, sizeof(p), "%s/passwd", tmpdir);
	unlink(p);
	return rmdir(tmpdir);
}

static void
write_passwd(const char *text, char *path, size_t pathlen)
{
	FILE *fp;

	snprintf(path, pathlen, "%s/passwd", tmpdir);
	fp = fopen(path, "w");
	assert_non_null(fp);
	assert_int_equal(fputs(text, fp) >= 0, 1);
	assert_int_equal(fclose(fp), 0);
}

static void
test_lookup(void **state)
{
	char path[128], dummy[CONFIG_MAX_LINE], *text;
	size_t n;
	int i;

	(void)state;
	text = malloc(8192);
	assert_non_null(text);
	n = (size_t)snprintf(text, 8192,
	    "# users\n"
	    "\n"
	    "locked:!$6$lock$lockhash:1000:1000::/home/locked:\n"
	    "plain:{PLAIN}pw:1001:1001::/home/plain:\n"
	    "this line is malformed\n"
	    "alice:$6$first$firsthash:1002:1002::/home/alice:\n"
	    "bob:{CRYPT}$5$second$hash:1003:1003::/home/bob:maildir:/m/bob\n"
	    "alice:{PLAIN}dup:1004:1004::/home/alice2:\n");
	/* an overlong line whose tail looks like an entry */
	memcpy(text + n, "junk", 4);
	n += 4;
	for (i = 0; i < CONFIG_MAX_LINE - 3; i++)
		text[n++] = 'x';
	n += (size_t)snprintf(text + n, 8192 - n,
	    "mallory:{PLAIN}m:1005:1005::/home/m:\n"
	    "carol:{PLAIN}c:1006:1006::/home/carol\n"
	    "last:{PLAIN}l:1007:1007::/home/last");	/* no newline */
	write_passwd(text, path, sizeof(path));

	memset(dummy, 'Q', sizeof(dummy));
	assert_int_equal(pwf_lookup(path, "alice", &e, dummy), 1);
	assert_string_equal(e.user, "alice");
	assert_int_equal(e.scheme, PWF_CRYPT);
	assert_string_equal(e.secret, "$6$first$firsthash");	/* first */
	assert_int_equal(e.uid, 1002);
	assert_string_equal(e.home, "/home/alice");
	/* the first crypt entry, not the locked or the plain one */
	assert_string_equal(dummy, "$6$first$firsthash");

	assert_int_equal(pwf_lookup(path, "bob", &e, dummy), 1);
	assert_string_equal(e.secret, "$5$second$hash");
	assert_string_equal(e.mail, "maildir:/m/bob");
	assert_string_equal(dummy, "$6$first$firsthash");

	assert_int_equal(pwf_lookup(path, "locked", &e, dummy), 1);
	assert_int_equal(e.scheme, PWF_LOCKED);
	assert_int_equal(pwf_lookup(path, "plain", &e, dummy), 1);
	assert_int_equal(e.scheme, PWF_PLAIN);
	assert_string_equal(e.secret, "pw");
	assert_int_equal(pwf_lookup(path, "carol", &e, dummy), 1);
	assert_int_equal(e.uid, 1006);
	assert_int_equal(pwf_lookup(path, "last", &e, dummy), 1);
	assert_string_equal(e.home, "/home/last");

	memset(&e, 0, sizeof(e));
	memset(dummy, 'Q', sizeof(dummy));
	assert_int_equal(pwf_lookup(path, "nobody", &e, dummy), 0);
	assert_string_equal(dummy, "$6$first$firsthash");
	assert_int_equal(pwf_lookup(path, "mallory", &e, dummy), 0);
	assert_int_equal(pwf_lookup(path, "Alice", &e, dummy), 0);
	assert_int_equal(pwf_lookup(path, "alic", &e, dummy), 0);
	assert_int_equal(pwf_lookup(path, "", &e, dummy), 0);
	assert_int_equal(pwf_lookup(path, "#", &e, dummy), 0);

	assert_int_equal(pwf_capabilities(path) & PWF_CAN_APOP, PWF_CAN_APOP);

	/* no crypt entry: no dummy hash, no plain: no APOP */
	write_passwd("p:{PLAIN}x:1:1::/h\nl:*:2:2::/h\n", path, sizeof(path));
	memset(dummy, 'Q', sizeof(dummy));
	assert_int_equal(pwf_lookup(path, "zz", &e, dummy), 0);
	assert_string_equal(dummy, "");
	write_passwd("c:$6$a$b:1:1::/h\nl:*:2:2::/h\n", path, sizeof(path));
	assert_int_equal(pwf_capabilities(path) & PWF_CAN_APOP, 0);
	write_passwd("", path, sizeof(path));
	assert_int_equal(pwf_lookup(path, "zz", &e, dummy), 0);
	assert_string_equal(dummy, "");

	/* a missing file is an error */
	unlink(path);
	assert_int_equal(pwf_lookup(path, "alice", &e, dummy), -1);
	assert_int_equal(pwf_capabilities(path) & PWF_CAN_APOP, 0);
	free(text);
}

/* pwf_capabilities remembers its answer for the file as it was: a
 * rewrite in place (same inode, same size) is still noticed, and so is
 * a new file renamed over it. */
static void
test_capabilities_follow_changes(void **state)
{
	static const char plain[] = "u:{PLAIN}abcdefgh:1:1::/h\n";
	static const char crypt[] = "u:$6$ab$cdefghijk:1:1::/h\n";
	char path[128], tmp[160];
	int fd;

	(void)state;
	assert_int_equal(sizeof(plain), sizeof(crypt));
	write_passwd(plain, path, sizeof(path));
	assert_int_equal(pwf_capabilities(path), PWF_CAN_APOP | PWF_CAN_SCRAM);
	/* asked again: the same answer */
	assert_int_equal(pwf_capabilities(path), PWF_CAN_APOP | PWF_CAN_SCRAM);
	fd = open(path, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, crypt, sizeof(crypt) - 1, 0),
	    (ssize_t)sizeof(crypt) - 1);
	close(fd);
	assert_int_equal(pwf_capabilities(path),
	    PWF_LACKS_APOP | PWF_LACKS_SCRAM);
	snprintf(tmp, sizeof(tmp), "%s/passwd.new", tmpdir);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, plain, sizeof(plain) - 1),
	    (ssize_t)sizeof(plain) - 1);
	close(fd);
	assert_int_equal(rename(tmp, path), 0);
	assert_int_equal(pwf_capabilities(path), PWF_CAN_APOP | PWF_CAN_SCRAM);
	unlink(path);
	assert_int_equal(pwf_capabilities(path), 0);
}

/* ---- verify_password ---- */

static void
make_hash(const char *prefix, const char *pass, char *out, size_t outlen)
{
	char setting[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data *cd = calloc(1, sizeof(*cd));
	const char *h;

	assert_non_null(cd);
	assert_non_null(crypt_gensalt_rn(prefix, 0, NULL, 0, setting,
	    sizeof(setting)));
	h = crypt_rn(pass, setting, cd, sizeof(*cd));
	assert_non_null(h);
	assert_true(h[0] != '*');
	assert_int_equal(strncmp(h, prefix, strlen(prefix)), 0);
	snprintf(out, outlen, "%s", h);
	free(cd);
}

static void
test_verify_crypt(void **state)
{
	static const char *const prefixes[] = { "$y$", "$2b$", "$6$", "$5$" };
	static const char pass[] = "correct horse battery";
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		char hash[CRYPT_OUTPUT_SIZE], line[512];

		make_hash(prefixes[i], pass, hash, sizeof(hash));
		/* through the passwd-file parser, with and without {CRYPT} */
		snprintf(line, sizeof(line), "u:%s%s:1:1::/h",
		    (i % 2) ? "{CRYPT}" : "", hash);
		assert_int_equal(pwf_parse_line(line, strlen(line), &e), 1);
		assert_int_equal(e.scheme, PWF_CRYPT);
		assert_string_equal(e.secret, hash);

		if (verify_password(&e, "", pass) != 1)
			fail_msg("%s: right password refused", prefixes[i]);
		if (verify_password(&e, "", "correct horse batter") != 0 ||
		    verify_password(&e, "", "correct horse battery ") != 0 ||
		    verify_password(&e, "", "Correct horse battery") != 0 ||
		    verify_password(&e, "", "") != 0 ||
		    verify_password(&e, "", hash) != 0)
			fail_msg("%s: wrong password accepted", prefixes[i]);

		/* locked: the right password does not help */
		snprintf(line, sizeof(line), "u:!%s:1:1::/h", hash);
		assert_int_equal(pwf_parse_line(line, strlen(line), &e), 1);
		assert_int_equal(e.scheme, PWF_LOCKED);
		assert_int_equal(verify_password(&e, hash, pass), 0);

		/* unknown user: the dummy hash is worked on, never true */
		assert_int_equal(verify_password(NULL, hash, pass), 0);
	}
}

static void
test_verify_plain_and_odd(void **state)
{
	(void)state;
	assert_int_equal(pwf_parse_line("p:{PLAIN}s3cret:1:1::/h", 23, &e), 1);
	assert_int_equal(e.scheme, PWF_PLAIN);
	assert_int_equal(verify_password(&e, "", "s3cret"), 1);
	assert_int_equal(verify_password(&e, "", "s3cre"), 0);
	assert_int_equal(verify_password(&e, "", "s3cret!"), 0);
	assert_int_equal(verify_password(&e, "", "S3CRET"), 0);
	assert_int_equal(verify_password(&e, "", ""), 0);
	assert_int_equal(verify_password(&e, "", "{PLAIN}s3cret"), 0);

	/* an unknown user with no dummy hash at all */
	assert_int_equal(verify_password(NULL, "", "x"), 0);
	assert_int_equal(verify_password(NULL, "", ""), 0);
	/* a crypt secret that is no valid hash never matches */
	memset(&e, 0, sizeof(e));
	e.scheme = PWF_CRYPT;
	strcpy(e.secret, "*");
	assert_int_equal(verify_password(&e, "", "*"), 0);
	assert_int_equal(verify_password(&e, "", ""), 0);
	strcpy(e.secret, "$6$");
	assert_int_equal(verify_password(&e, "", ""), 0);
	strcpy(e.secret, "plaintext");
	assert_int_equal(verify_password(&e, "", "plaintext"), 0);
	e.secret[0] = '\0';
	assert_int_equal(verify_password(&e, "", ""), 0);
}

static void
test_secret_equal(void **state)
{
	(void)state;
	assert_int_equal(secret_equal("", ""), 1);
	assert_int_equal(secret_equal("abc", "abc"), 1);
	assert_int_equal(secret_equal("abc", "abd"), 0);
	assert_int_equal(secret_equal("abc", "ab"), 0);
	assert_int_equal(secret_equal("ab", "abc"), 0);
	assert_int_equal(secret_equal("", "a"), 0);
}

/* ---- verify_apop (RFC 1939 section 7) ---- */

#define APOP_STAMP	"<1896.697170952@dbc.mtview.ca.us>"
#define APOP_SECRET	"tanstaaf"
#define APOP_DIGEST	"c4c9334bac560ecc979e58001b3e22fb"

static void
test_verify_apop(void **state)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;
	char hex[33], upper[33];
	static const char both[] = APOP_STAMP APOP_SECRET;

	(void)state;
	/* the vector itself: MD5(stamp secret) */
	assert_int_equal(EVP_Digest(both, strlen(both), md, &mdlen,
	    EVP_md5(), NULL), 1);
	assert_int_equal(mdlen, 16);
	for (i = 0; i < 16; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	assert_string_equal(hex, APOP_DIGEST);

	memset(&e, 0, sizeof(e));
	assert_int_equal(pwf_parse_line("mrose:{PLAIN}" APOP_SECRET
	    ":1:1::/h", strlen("mrose:{PLAIN}" APOP_SECRET ":1:1::/h"), &e),
	    1);
	assert_int_equal(verify_apop(&e, APOP_STAMP, hex), 1);
	for (i = 0; i < 32; i++)
		upper[i] = (char)toupper((unsigned char)hex[i]);
	upper[32] = '\0';
	assert_int_equal(verify_apop(&e, APOP_STAMP, upper), 1);

	/* wrong digests */
	assert_int_equal(verify_apop(&e, APOP_STAMP,
	    "c4c9334bac560ecc979e58001b3e22fc"), 0);
	assert_int_equal(verify_apop(&e, APOP_STAMP,
	    "c4c9334bac560ecc979e58001b3e22f"), 0);	/* 31 */
	assert_int_equal(verify_apop(&e, APOP_STAMP,
	    "c4c9334bac560ecc979e58001b3e22fb0"), 0);	/* 33 */
	assert_int_equal(verify_apop(&e, APOP_STAMP,
	    "c4c9334bac560ecc979e58001b3e22fb "), 0);
	assert_int_equal(verify_apop(&e, APOP_STAMP, ""), 0);
	assert_int_equal(verify_apop(&e, APOP_STAMP,
	    "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz"), 0);
	/* another stamp (replay) */
	assert_int_equal(verify_apop(&e, "<1897.697170952@dbc.mtview.ca.us>",
	    APOP_DIGEST), 0);
	assert_int_equal(verify_apop(&e, "", APOP_DIGEST), 0);
	/* another secret */
	strcpy(e.secret, "tanstaaF");
	assert_int_equal(verify_apop(&e, APOP_STAMP, APOP_DIGEST), 0);

	/* only entries with a stored plaintext secret can use APOP */
	assert_int_equal(verify_apop(NULL, APOP_STAMP, APOP_DIGEST), 0);
	strcpy(e.secret, APOP_SECRET);
	e.scheme = PWF_CRYPT;
	assert_int_equal(verify_apop(&e, APOP_STAMP, APOP_DIGEST), 0);
	e.scheme = PWF_LOCKED;
	assert_int_equal(verify_apop(&e, APOP_STAMP, APOP_DIGEST), 0);
	e.scheme = PWF_PLAIN;
	assert_int_equal(verify_apop(&e, APOP_STAMP, APOP_DIGEST), 1);
}

/* What a file's capabilities let CAPA offer to everyone in it: a
 * challenge mechanism only when every entry that may log in stores
 * its secret, and nothing for an empty file. */
static void
test_caps_mechs(void **state)
{
	static const struct {
		const char	*text;
		int		 mechs;
	} cases[] = {
		{ "", 0 },
		{ "a:$6$s$h:1:1::/h\n", 0 },
		{ "a:{PLAIN}x:1:1::/h\n",
		    AUTH_MECH_APOP | AUTH_MECH_CRAM_MD5 | AUTH_MECH_SCRAM },
		{ "a:{PLAIN}x:1:1::/h\nb:$6$s$h:1:1::/h\n", 0 },
		{ "a:{PLAIN}x:1:1::/h\nb:{SCRAM-SHA-256}4096,s,k,k:1:1::/h\n",
		    AUTH_MECH_SCRAM },
		{ "b:{SCRAM-SHA-256}4096,s,k,k:1:1::/h\n", AUTH_MECH_SCRAM },
		/* a locked entry logs in with nothing: it does not count */
		{ "a:{PLAIN}x:1:1::/h\nl:!$6$s$h:1:1::/h\n",
		    AUTH_MECH_APOP | AUTH_MECH_CRAM_MD5 | AUTH_MECH_SCRAM },
		{ "l:*:1:1::/h\n", 0 },
	};
	struct pwf_entry e;
	size_t i;
	int caps;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *p = cases[i].text, *nl;

		caps = 0;
		for (; (nl = strchr(p, '\n')) != NULL; p = nl + 1)
			if (pwf_parse_line(p, (size_t)(nl - p), &e) == 1)
				caps |= pwf_entry_caps(&e);
		if (pwf_caps_mechs(caps) != cases[i].mechs)
			fail_msg("case %zu: mechs %#x want %#x", i,
			    pwf_caps_mechs(caps), cases[i].mechs);
	}
}

/* uid 0, uids below first_valid_uid, and gid 0 when root: refused. */
static void
test_uid_allowed(void **state)
{
	(void)state;
	assert_int_equal(verify_uid_allowed(0, 100, 1, 0), 0);
	assert_int_equal(verify_uid_allowed(0, 100, 1, 1), 0);
	assert_int_equal(verify_uid_allowed(999, 100, 1000, 1), 0);
	assert_int_equal(verify_uid_allowed(50, 50, 1000, 1), 0);
	assert_int_equal(verify_uid_allowed(1000, 100, 1000, 1), 1);
	assert_int_equal(verify_uid_allowed(5000, 5000, 1000, 1), 1);
	assert_int_equal(verify_uid_allowed(1, 1, 1, 1), 1);
	assert_int_equal(verify_uid_allowed(5000, 0, 1000, 1), 0);
	assert_int_equal(verify_uid_allowed(5000, 0, 1000, 0), 1);
	assert_int_equal(verify_uid_allowed((uid_t)-2, 1, 1000, 1), 1);
	assert_int_equal(verify_uid_allowed(2000, 1, 2001, 1), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_capabilities_follow_changes),
		cmocka_unit_test(test_parse_line_table),
		cmocka_unit_test(test_parse_line_why),
		cmocka_unit_test(test_parse_line_lengths),
		cmocka_unit_test(test_valid_user),
		cmocka_unit_test(test_mail_location_table),
		cmocka_unit_test(test_mail_location_trailing_dotdot),
		cmocka_unit_test(test_mail_location_bounds),
		cmocka_unit_test(test_mail_location_auto_looks_at_nothing),
		cmocka_unit_test_setup_teardown(test_lookup, setup_dir,
		    teardown_dir),
		cmocka_unit_test(test_verify_crypt),
		cmocka_unit_test(test_verify_plain_and_odd),
		cmocka_unit_test(test_secret_equal),
		cmocka_unit_test(test_verify_apop),
		cmocka_unit_test(test_caps_mechs),
		cmocka_unit_test(test_uid_allowed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
