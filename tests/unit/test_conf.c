/*
 * Unit tests for common/conf.c: defaults, every key, malformed lines,
 * listen forms and error positions.
 */
#include "config.h"

#include <sys/stat.h>

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

static struct conf c;
static char err[512];

static int
parse(const char *text)
{
	conf_defaults(&c);
	err[0] = '\0';
	return conf_parse_buf(&c, text, strlen(text), "t.conf", err,
	    sizeof(err));
}

static void
test_defaults(void **state)
{
	(void)state;
	conf_defaults(&c);
	assert_int_equal(c.nlisten, 0);
	assert_string_equal(c.user, "privpop");
	assert_int_equal(c.chroot_dir[0], '/');
	assert_int_equal(c.prefork, DEFAULT_PREFORK);
	assert_int_equal(c.max_sessions, DEFAULT_MAX_SESSIONS);
	assert_int_equal(c.timeout, POP3_DEFAULT_TIMEOUT);
	assert_int_equal(c.max_auth_fails, POP3_DEFAULT_MAX_AUTH_FAILS);
	assert_int_equal(c.auth_fail_delay_ms, DEFAULT_AUTH_FAIL_DELAY_MS);
	assert_int_equal(c.passwd_file[0], '/');
	assert_non_null(strstr(c.passwd_file, "/passwd"));
	assert_string_equal(c.mail_location, "maildir:~/Maildir");
	assert_int_equal(c.pid_file[0], '/');
	assert_non_null(strstr(c.auth_helper, "/privpop-auth"));
	assert_non_null(strstr(c.store_helper, "/privpop-store"));
	assert_string_equal(c.hostname, "");
	assert_int_equal(c.log_debug, 0);

	/* an empty file keeps them, and listens on *:110 */
	assert_int_equal(parse(""), 0);
	assert_int_equal(c.nlisten, 1);
	assert_string_equal(c.listen[0].host, "*");
	assert_string_equal(c.listen[0].port, "110");
	assert_int_equal(c.timeout, POP3_DEFAULT_TIMEOUT);
	assert_int_equal(parse("\n\n# only comments\n   \n\t\n"), 0);
	assert_int_equal(c.nlisten, 1);
}

enum fld {
	F_NONE, F_USER, F_CHROOT, F_PREFORK, F_MAXSESS, F_TIMEOUT, F_FAILS,
	F_DELAY, F_PASSWD, F_MAIL, F_PID, F_AUTHH, F_STOREH, F_HOST, F_DEBUG
};

struct key_case {
	const char	*text;
	int		 rc;
	enum fld	 f;
	const char	*s;	/* expected string value */
	int		 i;	/* expected int value */
	const char	*err;	/* expected error, after "t.conf:" */
};

static const struct key_case key_cases[] = {
	/* strings */
	{ "user = pop", 0, F_USER, "pop", 0, NULL },
	{ "user=pop", 0, F_USER, "pop", 0, NULL },
	{ "  user\t=\tpop  \t", 0, F_USER, "pop", 0, NULL },
	{ "user = pop\r", 0, F_USER, "pop", 0, NULL },
	{ "user = a b", 0, F_USER, "a b", 0, NULL },
	{ "user = pop # trailing comment", 0, F_USER, "pop", 0, NULL },
	{ "user = a\nuser = b", 0, F_USER, "b", 0, NULL },	/* last wins */
	{ "user = "
	    "123456789012345678901234567890123456789012345678901234567890123",
	    0, F_USER,
	    "123456789012345678901234567890123456789012345678901234567890123",
	    0, NULL },					/* 63: fits */
	{ "user = "
	    "1234567890123456789012345678901234567890123456789012345678901234",
	    -1, F_NONE, NULL, 0, "1: bad value for \"user\"" },	/* 64 */
	{ "chroot = /var/empty", 0, F_CHROOT, "/var/empty", 0, NULL },
	{ "chroot = var/empty", -1, F_NONE, NULL, 0,
	    "1: bad value for \"chroot\": \"var/empty\"" },
	{ "passwd_file = /etc/privpop/users", 0, F_PASSWD,
	    "/etc/privpop/users", 0, NULL },
	{ "passwd_file = users", -1, F_NONE, NULL, 0,
	    "1: bad value for \"passwd_file\"" },
	{ "mail_location = maildir:/var/mail/%d/%n", 0, F_MAIL,
	    "maildir:/var/mail/%d/%n", 0, NULL },
	{ "mail_location = maildir:~/Mail", 0, F_MAIL, "maildir:~/Mail", 0,
	    NULL },
	{ "mail_location = mbox:~/mbox", 0, F_MAIL, "mbox:~/mbox", 0, NULL },
	{ "mail_location = auto", 0, F_MAIL, "auto", 0, NULL },
	{ "mail_location = mbx:~/mbox", -1, F_NONE, NULL, 0,
	    "1: bad value for \"mail_location\"" },
	{ "mail_location = Maildir:~/x", -1, F_NONE, NULL, 0,
	    "1: bad value for \"mail_location\"" },
	/* a location pwf_mail_location() could not expand: refused at
	 * -t, with the forms it takes, not at each login */
	{ "mail_location = maildir:Maildir", -1, F_NONE, NULL, 0,
	    "1: bad value for \"mail_location\": \"maildir:Maildir\": "
	    "expected maildir:PATH, mbox:PATH or auto, PATH absolute or ~/..."
	    },
	{ "mail_location = mbox:~mbox", -1, F_NONE, NULL, 0,
	    "1: bad value for \"mail_location\"" },
	{ "mail_location = maildir:/var/vmail/%x", -1, F_NONE, NULL, 0,
	    "1: bad value for \"mail_location\"" },
	{ "mail_location = maildir:/var/vmail/%", -1, F_NONE, NULL, 0,
	    "1: bad value for \"mail_location\"" },
	{ "mail_location = maildir:/var/vmail/%%/%u", 0, F_MAIL,
	    "maildir:/var/vmail/%%/%u", 0, NULL },
	{ "mail_location = maildir:", -1, F_NONE, NULL, 0,
	    "1: bad value for \"mail_location\"" },
	{ "pid_file = /run/p.pid", 0, F_PID, "/run/p.pid", 0, NULL },
	{ "pid_file = p.pid", -1, F_NONE, NULL, 0,
	    "1: bad value for \"pid_file\"" },
	{ "auth_helper = /opt/a", 0, F_AUTHH, "/opt/a", 0, NULL },
	{ "auth_helper = a", -1, F_NONE, NULL, 0,
	    "1: bad value for \"auth_helper\"" },
	{ "store_helper = /opt/s", 0, F_STOREH, "/opt/s", 0, NULL },
	{ "store_helper = ./s", -1, F_NONE, NULL, 0,
	    "1: bad value for \"store_helper\"" },
	{ "hostname = pop.example.org", 0, F_HOST, "pop.example.org", 0,
	    NULL },

	/* numbers: bounds inclusive, digits only */
	{ "prefork = 1", 0, F_PREFORK, NULL, 1, NULL },
	{ "prefork = 256", 0, F_PREFORK, NULL, 256, NULL },
	{ "prefork = 0", -1, F_NONE, NULL, 0, "1: bad value for \"prefork\"" },
	{ "prefork = 257", -1, F_NONE, NULL, 0, "1: bad value" },
	/* a number out of range names the range */
	{ "timeout = 5", -1, F_NONE, NULL, 0, "1: bad value for \"timeout\": "
	    "\"5\": expected a whole number from 10 to 86400" },
	{ "max_auth_fails = many", -1, F_NONE, NULL, 0,
	    "1: bad value for \"max_auth_fails\": \"many\": expected a "
	    "whole number from 1 to 100" },
	{ "first_valid_uid = 0", -1, F_NONE, NULL, 0,
	    "1: bad value for \"first_valid_uid\": \"0\": expected a whole "
	    "number from 1 to 2147483647" },
	{ "log_debug = maybe", -1, F_NONE, NULL, 0,
	    "1: bad value for \"log_debug\": \"maybe\": expected yes or no" },
	{ "listen = 0", -1, F_NONE, NULL, 0, "1: bad value for \"listen\": "
	    "\"0\": expected PORT, HOST:PORT" },
	{ "max_sessions = 1", 0, F_MAXSESS, NULL, 1, NULL },
	{ "max_sessions = 65536", 0, F_MAXSESS, NULL, 65536, NULL },
	{ "max_sessions = 65537", -1, F_NONE, NULL, 0, "1: bad value" },
	{ "timeout = 10", 0, F_TIMEOUT, NULL, 10, NULL },
	{ "timeout = 86400", 0, F_TIMEOUT, NULL, 86400, NULL },
	{ "timeout = 9", -1, F_NONE, NULL, 0, "1: bad value for \"timeout\"" },
	{ "timeout = 86401", -1, F_NONE, NULL, 0, "1: bad value" },
	{ "timeout = 0600", 0, F_TIMEOUT, NULL, 600, NULL },
	{ "timeout = -600", -1, F_NONE, NULL, 0, "1: bad value" },
	{ "timeout = +600", -1, F_NONE, NULL, 0, "1: bad value" },
	{ "timeout = 0x258", -1, F_NONE, NULL, 0, "1: bad value" },
	{ "timeout = 600s", -1, F_NONE, NULL, 0, "1: bad value" },
	{ "timeout = 6 00", -1, F_NONE, NULL, 0, "1: bad value" },
	{ "timeout = 1.5", -1, F_NONE, NULL, 0, "1: bad value" },
	{ "timeout = 99999999999999999999999", -1, F_NONE, NULL, 0,
	    "1: bad value" },
	{ "timeout = 4294967896", -1, F_NONE, NULL, 0, "1: bad value" },
	{ "max_auth_fails = 1", 0, F_FAILS, NULL, 1, NULL },
	{ "max_auth_fails = 100", 0, F_FAILS, NULL, 100, NULL },
	{ "max_auth_fails = 0", -1, F_NONE, NULL, 0, "1: bad value" },
	{ "max_auth_fails = 101", -1, F_NONE, NULL, 0, "1: bad value" },
	{ "auth_fail_delay_ms = 0", 0, F_DELAY, NULL, 0, NULL },
	{ "auth_fail_delay_ms = 60000", 0, F_DELAY, NULL, 60000, NULL },
	{ "auth_fail_delay_ms = 60001", -1, F_NONE, NULL, 0, "1: bad value" },

	/* booleans */
	{ "log_debug = yes", 0, F_DEBUG, NULL, 1, NULL },
	{ "log_debug = true", 0, F_DEBUG, NULL, 1, NULL },
	{ "log_debug = 1", 0, F_DEBUG, NULL, 1, NULL },
	{ "log_debug = yes\nlog_debug = no", 0, F_DEBUG, NULL, 0, NULL },
	{ "log_debug = false", 0, F_DEBUG, NULL, 0, NULL },
	{ "log_debug = 0", 0, F_DEBUG, NULL, 0, NULL },
	{ "log_debug = Yes", -1, F_NONE, NULL, 0,
	    "1: bad value for \"log_debug\"" },
	{ "log_debug = on", -1, F_NONE, NULL, 0, "1: bad value" },
	{ "log_debug = 2", -1, F_NONE, NULL, 0, "1: bad value" },

	/* malformed lines */
	{ "bogus = 1", -1, F_NONE, NULL, 0, "1: unknown key \"bogus\"" },
	{ "User = pop", -1, F_NONE, NULL, 0, "1: unknown key \"User\"" },
	{ "max sessions = 3", -1, F_NONE, NULL, 0,
	    "1: unknown key \"max sessions\"" },
	{ "user", -1, F_NONE, NULL, 0, "1: expected \"key = value\"" },
	{ "user pop", -1, F_NONE, NULL, 0, "1: expected \"key = value\"" },
	{ "user =", -1, F_NONE, NULL, 0, "1: missing value for \"user\"" },
	{ "user =   \t", -1, F_NONE, NULL, 0,
	    "1: missing value for \"user\"" },
	{ "user = # no value", -1, F_NONE, NULL, 0,
	    "1: missing value for \"user\"" },
	{ "timeout =\n", -1, F_NONE, NULL, 0,
	    "1: missing value for \"timeout\"" },
	{ "= pop", -1, F_NONE, NULL, 0, "1: missing key" },
	{ "=", -1, F_NONE, NULL, 0, "1: missing key" },
	{ "timeout == 5", -1, F_NONE, NULL, 0, "1: bad value" },	/* "= 5" */
	{ "user == pop", 0, F_USER, "= pop", 0, NULL },

	/* the error names the right line */
	{ "\n\n# comment\nbogus = 1\n", -1, F_NONE, NULL, 0,
	    "4: unknown key" },
	{ "user = a\r\n\r\ntimeout = 5\r\n", -1, F_NONE, NULL, 0,
	    "3: bad value for \"timeout\"" },
	{ "user = a\n  # x\n\t\nprefork = 2\nmax_sessions =\n", -1, F_NONE,
	    NULL, 0, "5: missing value" },
	{ "listen = 110\nlisten = 995\nlisten = 0\n", -1, F_NONE, NULL, 0,
	    "3: bad value for \"listen\": \"0\"" },
};

static void
check_field(size_t i, const struct key_case *t)
{
	const char *s = NULL;
	int v = 0;

	switch (t->f) {
	case F_NONE:
		return;
	case F_USER: s = c.user; break;
	case F_CHROOT: s = c.chroot_dir; break;
	case F_PASSWD: s = c.passwd_file; break;
	case F_MAIL: s = c.mail_location; break;
	case F_PID: s = c.pid_file; break;
	case F_AUTHH: s = c.auth_helper; break;
	case F_STOREH: s = c.store_helper; break;
	case F_HOST: s = c.hostname; break;
	case F_PREFORK: v = c.prefork; break;
	case F_MAXSESS: v = c.max_sessions; break;
	case F_TIMEOUT: v = c.timeout; break;
	case F_FAILS: v = c.max_auth_fails; break;
	case F_DELAY: v = c.auth_fail_delay_ms; break;
	case F_DEBUG: v = c.log_debug; break;
	}
	if (t->s != NULL) {
		if (s == NULL || strcmp(s, t->s) != 0)
			fail_msg("case %zu \"%s\": got \"%s\" want \"%s\"", i,
			    t->text, s ? s : "(null)", t->s);
	} else if (v != t->i)
		fail_msg("case %zu \"%s\": got %d want %d", i, t->text, v,
		    t->i);
}

static void
test_keys_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(key_cases) / sizeof(key_cases[0]); i++) {
		const struct key_case *t = &key_cases[i];
		int rc = parse(t->text);

		if (rc != t->rc)
			fail_msg("case %zu \"%s\": rc %d want %d (%s)", i,
			    t->text, rc, t->rc, err);
		if (rc == 0) {
			check_field(i, t);
			continue;
		}
		/* "where:LINE: why" */
		if (strncmp(err, "t.conf:", 7) != 0 ||
		    strncmp(err + 7, t->err, strlen(t->err)) != 0)
			fail_msg("case %zu \"%s\": error \"%s\" want "
			    "\"t.conf:%s...\"", i, t->text, err, t->err);
	}
}

/* Only len bytes of the text are read; an embedded NUL is an error. */
static void
test_len_and_nul(void **state)
{
	static const char text[] = "user = alice\ntimeout = 5";
	static const char nul[] = "user = a\nuser = b\0c\n";

	(void)state;
	conf_defaults(&c);
	assert_int_equal(conf_parse_buf(&c, text, 13, "t.conf", err,
	    sizeof(err)), 0);
	assert_string_equal(c.user, "alice");
	assert_int_equal(c.timeout, POP3_DEFAULT_TIMEOUT);
	conf_defaults(&c);
	assert_int_equal(conf_parse_buf(&c, text, 12, "t.conf", err,
	    sizeof(err)), 0);
	assert_string_equal(c.user, "alice");	/* no final newline */
	conf_defaults(&c);
	assert_int_equal(conf_parse_buf(&c, nul, sizeof(nul) - 1, "t.conf",
	    err, sizeof(err)), -1);
	assert_string_equal(err, "t.conf:2: NUL byte");
}

/* Issue 16: the limits before login, their defaults and ranges. */
static void
test_preauth_keys(void **state)
{
	(void)state;
	assert_int_equal(parse(""), 0);
	assert_int_equal(c.login_timeout, DEFAULT_LOGIN_TIMEOUT);
	assert_int_equal(c.login_line_timeout, DEFAULT_LOGIN_LINE_TIMEOUT);
	assert_int_equal(c.tls_handshake_timeout,
	    DEFAULT_TLS_HANDSHAKE_TIMEOUT);
	assert_int_equal(c.max_preauth_per_ip, DEFAULT_MAX_PREAUTH_PER_IP);
	assert_int_equal(c.max_sessions_per_ip, DEFAULT_MAX_SESSIONS_PER_IP);
	assert_int_equal(c.limits_ipv6_prefix, 64);
	assert_string_equal(c.limits_exempt, "");
	assert_int_equal(parse("login_timeout = 3\nlogin_line_timeout = 1\n"
	    "tls_handshake_timeout = 1\nmax_preauth_per_ip = 1\n"
	    "max_sessions_per_ip = 65536\nlimits_ipv6_prefix = 48\n"
	    "limits_exempt = 192.0.2.0/24, 2001:db8::/32\n"), 0);
	assert_int_equal(c.login_timeout, 3);
	assert_int_equal(c.login_line_timeout, 1);
	assert_int_equal(c.tls_handshake_timeout, 1);
	assert_int_equal(c.max_preauth_per_ip, 1);
	assert_int_equal(c.max_sessions_per_ip, 65536);
	assert_int_equal(c.limits_ipv6_prefix, 48);
	assert_string_equal(c.limits_exempt, "192.0.2.0/24, 2001:db8::/32");
	assert_int_equal(parse("limits_exempt = none\n"), 0);
	assert_string_equal(c.limits_exempt, "");
	assert_int_equal(parse("login_timeout = 2\n"), -1);
	assert_non_null(strstr(err, "from 3 to 3600"));
	assert_int_equal(parse("login_timeout = 3601\n"), -1);
	assert_int_equal(parse("login_line_timeout = 0\n"), -1);
	assert_int_equal(parse("tls_handshake_timeout = 0\n"), -1);
	assert_int_equal(parse("max_preauth_per_ip = 0\n"), -1);
	assert_int_equal(parse("max_sessions_per_ip = 65537\n"), -1);
	assert_int_equal(parse("limits_ipv6_prefix = 15\n"), -1);
	assert_int_equal(parse("limits_ipv6_prefix = 129\n"), -1);
	assert_int_equal(parse("limits_exempt = 192.0.2.0/33\n"), -1);
	assert_int_equal(parse("limits_exempt = example.org\n"), -1);
}

/* Lines up to CONFIG_MAX_LINE - 1 bytes; longer ones are refused. */
static void
test_long_line(void **state)
{
	char *text = malloc(3 * CONFIG_MAX_LINE);
	size_t n;

	(void)state;
	assert_non_null(text);
	/* "# xxx...": a comment of exactly CONFIG_MAX_LINE - 1 bytes */
	memset(text, 'x', CONFIG_MAX_LINE - 1);
	text[0] = '#';
	memcpy(text + CONFIG_MAX_LINE - 1, "\nuser = u\n", 10);
	n = CONFIG_MAX_LINE - 1 + 10;
	conf_defaults(&c);
	assert_int_equal(conf_parse_buf(&c, text, n, "t.conf", err,
	    sizeof(err)), 0);
	assert_string_equal(c.user, "u");
	/* one byte more */
	memset(text, 'x', CONFIG_MAX_LINE);
	text[0] = '#';
	memcpy(text + CONFIG_MAX_LINE, "\nuser = u\n", 10);
	n = CONFIG_MAX_LINE + 10;
	conf_defaults(&c);
	assert_int_equal(conf_parse_buf(&c, text, n, "t.conf", err,
	    sizeof(err)), -1);
	assert_string_equal(err, "t.conf:1: line too long");
	/* and on a later line, without a final newline */
	memcpy(text, "user = a\n", 9);
	memset(text + 9, 'y', 2 * CONFIG_MAX_LINE);
	conf_defaults(&c);
	assert_int_equal(conf_parse_buf(&c, text, 9 + 2 * CONFIG_MAX_LINE,
	    "t.conf", err, sizeof(err)), -1);
	assert_string_equal(err, "t.conf:2: line too long");
	free(text);
}

/* listen: "host:port", "[v6]:port", "*:port" or "port". */
struct listen_case {
	const char	*v;
	int		 rc;
	const char	*host, *port;
};

static const struct listen_case listen_cases[] = {
	{ "110", 0, "*", "110" },
	{ "995", 0, "*", "995" },
	{ "*:110", 0, "*", "110" },
	{ "0.0.0.0:110", 0, "0.0.0.0", "110" },
	{ "127.0.0.1:1100", 0, "127.0.0.1", "1100" },
	{ "localhost:110", 0, "localhost", "110" },
	{ "[::1]:995", 0, "::1", "995" },
	{ "[::]:110", 0, "::", "110" },
	{ "[fe80::1%eth0]:110", 0, "fe80::1%eth0", "110" },
	{ "::1:110", 0, "::1", "110" },		/* last ':' splits */
	{ "1", 0, "*", "1" },
	{ "65535", 0, "*", "65535" },
	{ "00110", 0, "*", "110" },		/* normalised */
	{ "0", -1, NULL, NULL },
	{ "65536", -1, NULL, NULL },
	{ "*:0", -1, NULL, NULL },
	{ "*:65536", -1, NULL, NULL },
	{ "[::1]:0", -1, NULL, NULL },
	{ "[::1]:65536", -1, NULL, NULL },
	{ "99999999999999999999999", -1, NULL, NULL },
	{ "pop3", -1, NULL, NULL },		/* no service names */
	{ "*:pop3", -1, NULL, NULL },
	{ "*:", -1, NULL, NULL },
	{ ":110", -1, NULL, NULL },		/* empty host */
	{ "[]:110", -1, NULL, NULL },
	{ "[::1]", -1, NULL, NULL },		/* no port */
	{ "[::1]110", -1, NULL, NULL },
	{ "[::1:110", -1, NULL, NULL },
	{ "[::1]:", -1, NULL, NULL },
	{ "*:-1", -1, NULL, NULL },
	{ "*:+110", -1, NULL, NULL },
	{ "*:0x6e", -1, NULL, NULL },
	{ "*:110x", -1, NULL, NULL },
	/* a host of 63 characters fits, 64 does not */
	{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa:1",
	    0, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	    "1" },
	{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa:1",
	    -1, NULL, NULL },
};

static void
test_listen_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(listen_cases) / sizeof(listen_cases[0]); i++) {
		const struct listen_case *t = &listen_cases[i];
		char text[256];
		int rc;

		snprintf(text, sizeof(text), "listen = %s\n", t->v);
		rc = parse(text);
		if (rc != t->rc)
			fail_msg("case %zu \"%s\": rc %d want %d (%s)", i, t->v,
			    rc, t->rc, err);
		if (rc == 0) {
			assert_int_equal(c.nlisten, 1);
			if (strcmp(c.listen[0].host, t->host) != 0 ||
			    strcmp(c.listen[0].port, t->port) != 0)
				fail_msg("case %zu \"%s\": got %s / %s", i,
				    t->v, c.listen[0].host, c.listen[0].port);
		} else if (strncmp(err, "t.conf:1: bad value for \"listen\"",
		    32) != 0)
			fail_msg("case %zu \"%s\": error \"%s\"", i, t->v, err);
	}
}

/* Up to MAX_LISTENERS listen lines, in order; one more is an error on
 * its own line. */
static void
test_listen_many(void **state)
{
	char text[1024];
	size_t o = 0;
	int i;

	(void)state;
	for (i = 0; i < MAX_LISTENERS; i++)
		o += (size_t)snprintf(text + o, sizeof(text) - o,
		    "listen = 127.0.0.%d:%d\n", i + 1, 1000 + i);
	assert_int_equal(parse(text), 0);
	assert_int_equal(c.nlisten, MAX_LISTENERS);
	for (i = 0; i < MAX_LISTENERS; i++) {
		char h[32], p[8];

		snprintf(h, sizeof(h), "127.0.0.%d", i + 1);
		snprintf(p, sizeof(p), "%d", 1000 + i);
		assert_string_equal(c.listen[i].host, h);
		assert_string_equal(c.listen[i].port, p);
	}
	snprintf(text + o, sizeof(text) - o, "listen = 9999\n");
	assert_int_equal(parse(text), -1);
	snprintf(text, sizeof(text), "t.conf:%d: bad value", MAX_LISTENERS + 1);
	assert_int_equal(strncmp(err, text, strlen(text)), 0);
}

/* prefork is capped at max_sessions, in either order. */
static void
test_prefork_cap(void **state)
{
	(void)state;
	assert_int_equal(parse("prefork = 100\nmax_sessions = 10\n"), 0);
	assert_int_equal(c.prefork, 10);
	assert_int_equal(c.max_sessions, 10);
	assert_int_equal(parse("max_sessions = 10\nprefork = 100\n"), 0);
	assert_int_equal(c.prefork, 10);
	assert_int_equal(parse("max_sessions = 10\nprefork = 3\n"), 0);
	assert_int_equal(c.prefork, 3);
}

/* A full example file. */
static void
test_full_file(void **state)
{
	static const char text[] =
	    "# privpopd.conf\n"
	    "listen = *:110\n"
	    "listen = [::1]:995   # v6\n"
	    "user = _privpop\n"
	    "chroot = /var/lib/privpop/empty\n"
	    "prefork = 8\n"
	    "max_sessions = 512\n"
	    "timeout = 900\n"
	    "max_auth_fails = 5\n"
	    "auth_fail_delay_ms = 1500\n"
	    "passwd_file = /etc/privpop/passwd\n"
	    "mail_location = maildir:/var/vmail/%d/%n\n"
	    "pid_file = /run/privpopd.pid\n"
	    "auth_helper = /usr/libexec/privpop/privpop-auth\n"
	    "store_helper = /usr/libexec/privpop/privpop-store\n"
	    "hostname = mail.example.org\n"
	    "log_debug = yes\n";

	(void)state;
	assert_int_equal(parse(text), 0);
	assert_int_equal(c.nlisten, 2);
	assert_string_equal(c.listen[1].host, "::1");
	assert_string_equal(c.listen[1].port, "995");
	assert_string_equal(c.user, "_privpop");
	assert_int_equal(c.prefork, 8);
	assert_int_equal(c.max_sessions, 512);
	assert_int_equal(c.timeout, 900);
	assert_int_equal(c.max_auth_fails, 5);
	assert_int_equal(c.auth_fail_delay_ms, 1500);
	assert_string_equal(c.mail_location, "maildir:/var/vmail/%d/%n");
	assert_string_equal(c.hostname, "mail.example.org");
	assert_int_equal(c.log_debug, 1);
}

/* conf_load reads a file, and reports its path on errors. */
static void
test_load(void **state)
{
	char dir[] = "/tmp/privpop-conf-XXXXXX", path[64];
	FILE *fp;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/p.conf", dir);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs("timeout = 42\n\nbogus = 1\n", fp);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(conf_load(&c, path, err, sizeof(err)), -1);
	assert_int_equal(strncmp(err, path, strlen(path)), 0);
	assert_string_equal(err + strlen(path), ":3: unknown key \"bogus\"");

	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs("timeout = 42\n", fp);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(conf_load(&c, path, err, sizeof(err)), 0);
	assert_int_equal(c.timeout, 42);
	assert_int_equal(c.nlisten, 1);
	unlink(path);

	assert_int_equal(conf_load(&c, path, err, sizeof(err)), -1);
	assert_int_equal(strncmp(err, path, strlen(path)), 0);
	/* a directory is not a configuration file */
	assert_int_equal(conf_load(&c, dir, err, sizeof(err)), -1);
	assert_int_equal(strncmp(err, dir, strlen(dir)), 0);
	rmdir(dir);
}

/* auth_mechanisms: names in any case and order, space or comma
 * separated, or "auto"; anything else is an error on its line. */
static void
test_auth_mechanisms(void **state)
{
	static const struct {
		const char	*text;
		int		 rc;
		int		 mechs;
	} cases[] = {
		{ "", 0, AUTH_MECH_AUTO },
		{ "auth_mechanisms = auto", 0, AUTH_MECH_AUTO },
		{ "auth_mechanisms = USER", 0, AUTH_MECH_USER },
		{ "auth_mechanisms = user plain", 0,
		    AUTH_MECH_USER | AUTH_MECH_PLAIN },
		{ "auth_mechanisms = PLAIN,LOGIN, CRAM-MD5", 0,
		    AUTH_MECH_PLAIN | AUTH_MECH_LOGIN | AUTH_MECH_CRAM_MD5 },
		{ "auth_mechanisms = USER PLAIN LOGIN CRAM-MD5 SCRAM-SHA-256 "
		    "APOP", 0, AUTH_MECH_ALL },
		{ "auth_mechanisms = apop scram-sha-256 apop", 0,
		    AUTH_MECH_APOP | AUTH_MECH_SCRAM },
		{ "auth_mechanisms = SCRAM-SHA-256\nauth_mechanisms = auto",
		    0, AUTH_MECH_AUTO },
		{ "auth_mechanisms = AUTO", -1, 0 },
		{ "auth_mechanisms = auto PLAIN", -1, 0 },
		{ "auth_mechanisms = DIGEST-MD5", -1, 0 },
		{ "auth_mechanisms = SCRAM-SHA-1", -1, 0 },
		{ "auth_mechanisms = CRAM", -1, 0 },
		{ "auth_mechanisms = PLAINLOGIN", -1, 0 },
		{ "auth_mechanisms = ,", -1, 0 },
		{ "auth_mechanisms = PLAIN;LOGIN", -1, 0 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = parse(cases[i].text);

		if (rc != cases[i].rc)
			fail_msg("case %zu \"%s\": rc %d want %d (%s)", i,
			    cases[i].text, rc, cases[i].rc, err);
		if (rc == 0 && c.auth_mechs != cases[i].mechs)
			fail_msg("case %zu \"%s\": mechs %#x want %#x", i,
			    cases[i].text, c.auth_mechs, cases[i].mechs);
		if (rc == -1 && strstr(err,
		    "1: bad value for \"auth_mechanisms\"") == NULL)
			fail_msg("case %zu: error \"%s\"", i, err);
	}
}

/* What CAPA offers: with auto, only what every backend serves for
 * every user; an explicit list as given.  conf_mechs_str names them. */
static void
test_mechs_offered(void **state)
{
	static const int pwf_all = AUTH_MECH_APOP | AUTH_MECH_CRAM_MD5 |
	    AUTH_MECH_SCRAM;
	char names[128];

	(void)state;
	/* default backends: passwd-file then pam; pam serves passwords */
	assert_int_equal(parse(""), 0);
	assert_true(conf_has_backend(&c, AUTH_BACKEND_PASSWD_FILE));
	assert_true(conf_has_backend(&c, AUTH_BACKEND_PAM));
	assert_int_equal(conf_mechs_offered(&c, pwf_all), AUTH_MECH_PASSWORD);
	assert_int_equal(conf_mechs_offered(&c, 0), AUTH_MECH_PASSWORD);
	assert_int_equal(parse("auth_backends = pam"), 0);
	assert_false(conf_has_backend(&c, AUTH_BACKEND_PASSWD_FILE));
	assert_int_equal(conf_mechs_offered(&c, pwf_all), AUTH_MECH_PASSWORD);
	/* passwd-file alone: what all its entries serve */
	assert_int_equal(parse("auth_backends = passwd-file"), 0);
	assert_false(conf_has_backend(&c, AUTH_BACKEND_PAM));
	assert_int_equal(conf_mechs_offered(&c, pwf_all),
	    AUTH_MECH_PASSWORD | pwf_all);
	assert_int_equal(conf_mechs_offered(&c, AUTH_MECH_SCRAM),
	    AUTH_MECH_PASSWORD | AUTH_MECH_SCRAM);
	assert_int_equal(conf_mechs_offered(&c, 0), AUTH_MECH_PASSWORD);
	/* explicit: as given, whatever the backends serve */
	assert_int_equal(parse("auth_backends = pam passwd-file\n"
	    "auth_mechanisms = PLAIN CRAM-MD5"), 0);
	assert_int_equal(conf_mechs_offered(&c, 0),
	    AUTH_MECH_PLAIN | AUTH_MECH_CRAM_MD5);
	assert_int_equal(conf_mechs_served(&c, pwf_all), AUTH_MECH_PASSWORD);
	assert_string_equal(conf_mechs_str(c.auth_mechs &
	    ~conf_mechs_served(&c, pwf_all), names, sizeof(names)),
	    "CRAM-MD5");
	assert_string_equal(conf_mechs_str(AUTH_MECH_ALL, names,
	    sizeof(names)), "USER PLAIN LOGIN CRAM-MD5 SCRAM-SHA-256 APOP");
	assert_string_equal(conf_mechs_str(0, names, sizeof(names)), "");
	/* a short buffer keeps whole names only */
	assert_string_equal(conf_mechs_str(AUTH_MECH_ALL, names, 12),
	    "USER PLAIN");
}

/* pam_session: a boolean, no by default. */
static void
test_pam_session(void **state)
{
	(void)state;
	assert_int_equal(parse(""), 0);
	assert_int_equal(c.pam_session, 0);
	assert_int_equal(parse("pam_session = yes"), 0);
	assert_int_equal(c.pam_session, 1);
	assert_int_equal(parse("pam_session = yes\npam_session = no"), 0);
	assert_int_equal(c.pam_session, 0);
	assert_int_equal(parse("pam_session = maybe"), -1);
	assert_non_null(strstr(err, "1: bad value for \"pam_session\""));
}

/* The table: every default parses, a file that writes each default out
 * gives the same configuration as an empty one, and every error names
 * what the key accepts. */
static void
test_table_defaults(void **state)
{
	static struct conf d, w;
	const struct conf_key *k;
	char text[8192], forms[256], line[512];
	size_t n, i, o = 0;

	(void)state;
	k = conf_keys(&n);
	assert_true(n > 40);
	for (i = 0; i < n; i++) {
		assert_ptr_equal(conf_key_find(k[i].name), &k[i]);
		conf_key_forms(&k[i], forms, sizeof(forms));
		if (k[i].type != CONF_TEXT && forms[0] == '\0')
			fail_msg("%s: no forms for its error", k[i].name);
		if (k[i].def == NULL)
			continue;
		conf_defaults(&w);
		if (conf_key_set(&w, &k[i], k[i].def) == -1)
			fail_msg("%s: default \"%s\" does not parse",
			    k[i].name, k[i].def);
		o += (size_t)snprintf(text + o, sizeof(text) - o, "%s = %s\n",
		    k[i].name, k[i].def);
		assert_true(o < sizeof(text));
	}
	assert_null(conf_key_find("bogus"));
	assert_int_equal(parse(""), 0);
	d = c;
	assert_int_equal(parse(text), 0);
	assert_memory_equal(&d, &c, sizeof(d));

	/* each key's error ends with its forms */
	for (i = 0; i < n; i++) {
		if (k[i].type == CONF_TEXT)
			continue;
		snprintf(line, sizeof(line), "%s = \x01" "bad", k[i].name);
		assert_int_equal(parse(line), -1);
		conf_key_forms(&k[i], forms, sizeof(forms));
		if (strstr(err, forms) == NULL || strstr(err, "expected ") ==
		    NULL)
			fail_msg("%s: error \"%s\" lacks \"%s\"", k[i].name,
			    err, forms);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_keys_table),
		cmocka_unit_test(test_len_and_nul),
		cmocka_unit_test(test_long_line),
		cmocka_unit_test(test_preauth_keys),
		cmocka_unit_test(test_listen_table),
		cmocka_unit_test(test_listen_many),
		cmocka_unit_test(test_prefork_cap),
		cmocka_unit_test(test_full_file),
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_auth_mechanisms),
		cmocka_unit_test(test_mechs_offered),
		cmocka_unit_test(test_pam_session),
		cmocka_unit_test(test_table_defaults),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
