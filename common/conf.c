#include "config.h"

#include <sys/mman.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "conf.h"
#include "penalty.h"
#include "fsutil.h"
#include "numparse.h"
#include "addrlist.h"

/* PRIVPOP_SYSCONFDIR, _LIBEXECDIR, _RUNSTATEDIR and _EMPTYDIR: the
 * installed paths, from configure (config.h). */

/* The largest configuration file read; far above any real one. */
#define CONF_MAX_FILE	(256 * 1024)

void
conf_defaults(struct conf *c)
{
	memset(c, 0, sizeof(*c));
	c->nlisten = 0;	/* "*:110" is added after parsing if none given */
	snprintf(c->user, sizeof(c->user), "privpop");
	snprintf(c->chroot_dir, sizeof(c->chroot_dir), "%s", PRIVPOP_EMPTYDIR);
	c->prefork = DEFAULT_PREFORK;
	c->max_sessions = DEFAULT_MAX_SESSIONS;
	c->timeout = POP3_DEFAULT_TIMEOUT;
	c->max_auth_fails = POP3_DEFAULT_MAX_AUTH_FAILS;
	c->auth_fail_delay_ms = DEFAULT_AUTH_FAIL_DELAY_MS;
	snprintf(c->passwd_file, sizeof(c->passwd_file), "%s/passwd",
	    PRIVPOP_SYSCONFDIR);
	snprintf(c->auth_secret_file, sizeof(c->auth_secret_file),
	    "%s/auth-secret", PRIVPOP_STATEDIR);
	snprintf(c->mail_location, sizeof(c->mail_location),
	    "maildir:~/Maildir");
	snprintf(c->pid_file, sizeof(c->pid_file), "%s/privpopd.pid",
	    PRIVPOP_RUNSTATEDIR);
	snprintf(c->auth_helper, sizeof(c->auth_helper), "%s/privpop-auth",
	    PRIVPOP_LIBEXECDIR);
	snprintf(c->store_helper, sizeof(c->store_helper), "%s/privpop-store",
	    PRIVPOP_LIBEXECDIR);
	c->hostname[0] = '\0';	/* gethostname() at use */
	c->log_debug = 0;
	/* what Debian's delivery agents use (Postfix local, procmail) */
	c->mbox_locks = MBOX_LOCK_DOTLOCK | MBOX_LOCK_FCNTL;
	c->mbox_lock_timeout = 30;
	c->mbox_dotlock_stale = 300;	/* liblockfile: 5 minutes */
	snprintf(c->mbox_index_dir, sizeof(c->mbox_index_dir), "~/.privpop");
	snprintf(c->mail_privileged_group, sizeof(c->mail_privileged_group),
	    "mail");
	/* virtual users first, then the host's own */
	c->backends[0] = AUTH_BACKEND_PASSWD_FILE;
	c->backends[1] = AUTH_BACKEND_PAM;
	c->nbackends = 2;
	snprintf(c->pam_service, sizeof(c->pam_service), "privpop");
	c->pam_timeout = 30;
	c->first_valid_uid = 1000;	/* Debian's FIRST_UID */
	snprintf(c->system_mail_location, sizeof(c->system_mail_location),
	    "mbox:/var/mail/%%u");
	/* Dovecot's auth_penalty: 2 s doubling to 15 s */
	c->penalty_base_ms = 2000;
	c->penalty_max_ms = 15000;
	c->penalty_forget = 3600;
	c->penalty_ipv6_prefix = PENALTY_DEFAULT_V6PREFIX;
	c->penalty_exempt[0] = '\0';
	c->passwd_upgrade[0] = '\0';
	/* no tickets: their keys would be in every session child (README
	 * "TLS") */
	c->tls_ticket_rotate = 0;
	/* RFC 8314: passwords only inside TLS, but for local clients */
	c->plaintext_always = 0;
	c->md5_always = 0;
	snprintf(c->trusted_networks, sizeof(c->trusted_networks),
	    "127.0.0.0/8 ::1");
	c->passwd_upgrade_rounds = 100000;
	c->auth_mechs = AUTH_MECH_AUTO;
	/* a logind session per poll is not what most sites want */
	c->pam_session = 0;
	c->login_timeout = DEFAULT_LOGIN_TIMEOUT;
	c->login_line_timeout = DEFAULT_LOGIN_LINE_TIMEOUT;
	c->tls_handshake_timeout = DEFAULT_TLS_HANDSHAKE_TIMEOUT;
	c->max_preauth_per_ip = DEFAULT_MAX_PREAUTH_PER_IP;
	c->max_sessions_per_ip = DEFAULT_MAX_SESSIONS_PER_IP;
	c->limits_ipv6_prefix = PENALTY_DEFAULT_V6PREFIX;
	c->limits_exempt[0] = '\0';
	c->seccomp = 1;
}

int
conf_has_backend(const struct conf *c, int backend)
{
	int i;

	for (i = 0; i < c->nbackends; i++)
		if (c->backends[i] == backend)
			return 1;
	return 0;
}

/* "passwd-file pam" in the order given, each at most once. */
static int
set_backends(struct conf *c, const char *s)
{
	const char *w;
	size_t len;
	int n = 0, i, b;

	while (list_next(&s, &w, &len)) {
		if (len == 11 && strncmp(w, "passwd-file", 11) == 0)
			b = AUTH_BACKEND_PASSWD_FILE;
		else if (len == 3 && strncmp(w, "pam", 3) == 0)
			b = AUTH_BACKEND_PAM;
		else
			return -1;
		for (i = 0; i < n; i++)
			if (c->backends[i] == b)
				return -1;
		if (n >= AUTH_MAX_BACKENDS)
			return -1;
		c->backends[n++] = b;
	}
	if (n == 0)
		return -1;
	c->nbackends = n;
	return 0;
}

static const struct {
	const char	*name;
	int		 mech;
} mech_names[] = {
	{ "USER", AUTH_MECH_USER },
	{ "PLAIN", AUTH_MECH_PLAIN },
	{ "LOGIN", AUTH_MECH_LOGIN },
	{ "CRAM-MD5", AUTH_MECH_CRAM_MD5 },
	{ "SCRAM-SHA-256", AUTH_MECH_SCRAM },
	{ "APOP", AUTH_MECH_APOP },
};

int
conf_parse_mechs(const char *s, int *set_r)
{
	const char *w;
	size_t n, i;
	int set = 0;

	if (strcmp(s, "auto") == 0) {
		*set_r = AUTH_MECH_AUTO;
		return 0;
	}
	while (list_next(&s, &w, &n)) {
		for (i = 0; i < sizeof(mech_names) / sizeof(mech_names[0]); i++)
			if (strlen(mech_names[i].name) == n &&
			    strncasecmp(w, mech_names[i].name, n) == 0)
				break;
		if (i == sizeof(mech_names) / sizeof(mech_names[0]))
			return -1;
		set |= mech_names[i].mech;
	}
	if (set == 0)
		return -1;
	*set_r = set;
	return 0;
}

const char *
conf_mechs_str(int set, char *buf, size_t len)
{
	size_t i, o = 0;
	int n;

	if (len == 0)
		return buf;
	buf[0] = '\0';
	for (i = 0; i < sizeof(mech_names) / sizeof(mech_names[0]); i++) {
		if (!(set & mech_names[i].mech))
			continue;
		n = snprintf(buf + o, len - o, "%s%s", o ? " " : "",
		    mech_names[i].name);
		if (n < 0 || (size_t)n >= len - o) {
			buf[o] = '\0';	/* whole names only */
			break;
		}
		o += (size_t)n;
	}
	return buf;
}

int
conf_mechs_served(const struct conf *c, int pwf_mechs)
{
	int served = AUTH_MECH_ALL, i;

	for (i = 0; i < c->nbackends; i++) {
		if (c->backends[i] == AUTH_BACKEND_PAM)
			served &= AUTH_MECH_PASSWORD;
		else
			served &= AUTH_MECH_PASSWORD | pwf_mechs;
	}
	return served;
}

int
conf_mechs_offered(const struct conf *c, int pwf_mechs)
{
	if (c->auth_mechs != AUTH_MECH_AUTO)
		return c->auth_mechs;
	return conf_mechs_served(c, pwf_mechs);
}

int
conf_parse_locks(const char *s, int *set_r)
{
	const char *w;
	size_t n;
	int set = 0;

	while (list_next(&s, &w, &n)) {
		if (n == 7 && strncmp(w, "dotlock", 7) == 0)
			set |= MBOX_LOCK_DOTLOCK;
		else if (n == 5 && strncmp(w, "fcntl", 5) == 0)
			set |= MBOX_LOCK_FCNTL;
		else if (n == 5 && strncmp(w, "flock", 5) == 0)
			set |= MBOX_LOCK_FLOCK;
		else
			return -1;
	}
	*set_r = set;
	return 0;
}

static int
set_err(char *err, size_t errlen, const char *where, int line,
    const char *fmt, ...)
{
	char why[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	snprintf(err, errlen, "%s:%d: %s", where, line, why);
	return -1;
}

static int
set_str(char *dst, size_t dstlen, const char *v)
{
	int n = snprintf(dst, dstlen, "%s", v);

	return (n < 0 || (size_t)n >= dstlen) ? -1 : 0;
}

static int
set_int(int *dst, const char *v, int min, int max)
{
	uint64_t n;

	if (parse_uint(v, strlen(v), (uint64_t)min, (uint64_t)max, &n) == -1)
		return -1;
	*dst = (int)n;
	return 0;
}

/* The numeric keys and their ranges: one place, so that an error can
 * name the range it checked. */
static const struct {
	const char	*key;
	size_t		 off;
	int		 min, max;
} int_keys[] = {
	{ "prefork", offsetof(struct conf, prefork), 1, MAX_PREFORK },
	{ "max_sessions", offsetof(struct conf, max_sessions), 1,
	    MAX_SESSIONS_LIMIT },
	{ "timeout", offsetof(struct conf, timeout), POP3_MIN_TIMEOUT, 86400 },
	{ "max_auth_fails", offsetof(struct conf, max_auth_fails), 1, 100 },
	{ "auth_fail_delay_ms", offsetof(struct conf, auth_fail_delay_ms), 0,
	    MAX_AUTH_FAIL_DELAY_MS },
	{ "tls_ticket_rotate", offsetof(struct conf, tls_ticket_rotate), 0,
	    86400 },
	{ "mbox_lock_timeout", offsetof(struct conf, mbox_lock_timeout), 1,
	    3600 },
	{ "mbox_dotlock_stale", offsetof(struct conf, mbox_dotlock_stale), 10,
	    86400 },
	{ "auth_penalty_base_ms", offsetof(struct conf, penalty_base_ms), 0,
	    MAX_AUTH_FAIL_DELAY_MS },
	{ "auth_penalty_max_ms", offsetof(struct conf, penalty_max_ms), 0,
	    MAX_AUTH_FAIL_DELAY_MS },
	{ "auth_penalty_forget", offsetof(struct conf, penalty_forget), 1,
	    86400 * 7 },
	{ "auth_penalty_ipv6_prefix", offsetof(struct conf,
	    penalty_ipv6_prefix), 16, 128 },
	{ "passwd_upgrade_rounds", offsetof(struct conf,
	    passwd_upgrade_rounds), 1000, 999999999 },
	{ "pam_timeout", offsetof(struct conf, pam_timeout), 1, 600 },
	{ "first_valid_uid", offsetof(struct conf, first_valid_uid), 1,
	    INT32_MAX },
	{ "login_timeout", offsetof(struct conf, login_timeout),
	    MIN_LOGIN_TIMEOUT, MAX_PREAUTH_TIMEOUT },
	{ "login_line_timeout", offsetof(struct conf, login_line_timeout), 1,
	    MAX_PREAUTH_TIMEOUT },
	{ "tls_handshake_timeout", offsetof(struct conf,
	    tls_handshake_timeout), 1, MAX_PREAUTH_TIMEOUT },
	{ "max_preauth_per_ip", offsetof(struct conf, max_preauth_per_ip), 1,
	    MAX_SESSIONS_LIMIT },
	{ "max_sessions_per_ip", offsetof(struct conf, max_sessions_per_ip),
	    1, MAX_SESSIONS_LIMIT },
	{ "limits_ipv6_prefix", offsetof(struct conf, limits_ipv6_prefix), 16,
	    128 },
};

/* What the other keys accept, for the error of a bad value. */
#define FORMS_LISTEN	"PORT, HOST:PORT, *:PORT or [IPV6]:PORT, " \
			"PORT from 1 to 65535"
#define FORMS_PATH	"an absolute path"
#define FORMS_LOCATION	"maildir:PATH, mbox:PATH or auto, PATH absolute " \
			"or ~/..., with %u (user), %n (local part), " \
			"%d (domain), %% (a %)"
#define FORMS_NETS	"addresses or networks, e.g. 192.0.2.0/24 ::1"
static const struct {
	const char	*key;
	const char	*forms;
} key_forms[] = {
	{ "listen", FORMS_LISTEN },
	{ "listen_tls", FORMS_LISTEN },
	{ "tls_cert", FORMS_PATH },
	{ "tls_key", FORMS_PATH },
	{ "tls_sni", "NAME /CERT /KEY (absolute paths), at most 8 of them" },
	{ "chroot", FORMS_PATH },
	{ "passwd_file", FORMS_PATH },
	{ "auth_secret_file", FORMS_PATH },
	{ "pid_file", FORMS_PATH },
	{ "auth_helper", FORMS_PATH },
	{ "store_helper", FORMS_PATH },
	{ "mail_location", FORMS_LOCATION },
	{ "system_mail_location", FORMS_LOCATION },
	{ "mbox_locks", "dotlock, fcntl and flock, any of them" },
	{ "mbox_index_dir", "none, an absolute path or ~/..." },
	{ "auth_penalty_exempt", FORMS_NETS },
	{ "limits_exempt", "none, or " FORMS_NETS },
	{ "trusted_networks", "none, or " FORMS_NETS },
	{ "plaintext_auth", "always or tls-only" },
	{ "md5_auth", "always or tls-only" },
	{ "passwd_upgrade", "none, yescrypt, bcrypt or sha512" },
	{ "auth_backends", "passwd-file and pam, each at most once, in the "
	    "order to ask them" },
	{ "log_debug", "yes or no" },
};

/* What key accepts, into buf: "" when it takes any short text. */
static void
key_hint(const char *key, char *buf, size_t len)
{
	size_t i;

	buf[0] = '\0';
	for (i = 0; i < sizeof(int_keys) / sizeof(int_keys[0]); i++)
		if (strcmp(key, int_keys[i].key) == 0)
			snprintf(buf, len, "a whole number from %d to %d",
			    int_keys[i].min, int_keys[i].max);
	for (i = 0; i < sizeof(key_forms) / sizeof(key_forms[0]); i++)
		if (strcmp(key, key_forms[i].key) == 0)
			snprintf(buf, len, "%s", key_forms[i].forms);
}

/* A mailbox location as pwf_mail_location() can expand it: "auto", or
 * maildir: or mbox: with an absolute or ~/ path whose escapes are
 * known. */
static int
valid_location(const char *v)
{
	const char *p;

	if (strcmp(v, "auto") == 0)
		return 1;
	if (strncmp(v, "maildir:", 8) == 0)
		p = v + 8;
	else if (strncmp(v, "mbox:", 5) == 0)
		p = v + 5;
	else
		return 0;
	if (p[0] != '/' && strncmp(p, "~/", 2) != 0)
		return 0;
	for (; *p != '\0'; p++)
		if (*p == '%' && (p[1] == '\0' || strchr("und%", p[1]) == NULL))
			return 0;
		else if (*p == '%')
			p++;
	return 1;
}

static int
set_bool(int *dst, const char *v)
{
	if (strcmp(v, "yes") == 0 || strcmp(v, "true") == 0 ||
	    strcmp(v, "1") == 0)
		*dst = 1;
	else if (strcmp(v, "no") == 0 || strcmp(v, "false") == 0 ||
	    strcmp(v, "0") == 0)
		*dst = 0;
	else
		return -1;
	return 0;
}

/* "NAME CERT KEY" with absolute paths. */
static int
set_sni(struct conf *c, const char *v)
{
	struct conf_sni *e;
	char name[128], cert[CONF_PATH_MAX], key[CONF_PATH_MAX];
	int n = 0;

	if (c->nsni >= MAX_SNI ||
	    sscanf(v, "%127s %255s %255s %n", name, cert, key, &n) != 3 ||
	    v[n] != '\0' || cert[0] != '/' || key[0] != '/')
		return -1;
	e = &c->sni[c->nsni++];
	snprintf(e->name, sizeof(e->name), "%s", name);
	snprintf(e->cert, sizeof(e->cert), "%s", cert);
	snprintf(e->key, sizeof(e->key), "%s", key);
	return 0;
}

/* "host:port", "[v6addr]:port", "*:port" or "port". */
static int
set_listen(struct conf *c, const char *v, int tls)
{
	struct conf_listen *l;
	const char *port, *host = "*";
	size_t hostlen = 1;
	uint64_t n;

	if (c->nlisten >= MAX_LISTENERS)
		return -1;
	l = &c->listen[c->nlisten];
	if (v[0] == '[') {
		const char *e = strchr(v, ']');

		if (e == NULL || e[1] != ':')
			return -1;
		host = v + 1;
		hostlen = (size_t)(e - host);
		port = e + 2;
	} else if ((port = strrchr(v, ':')) != NULL) {
		host = v;
		hostlen = (size_t)(port - v);
		port++;
	} else
		port = v;
	if (hostlen == 0 || hostlen >= sizeof(l->host))
		return -1;
	if (parse_uint(port, strlen(port), 1, 65535, &n) == -1)
		return -1;
	memcpy(l->host, host, hostlen);
	l->host[hostlen] = '\0';
	snprintf(l->port, sizeof(l->port), "%u", (unsigned)n);
	l->tls = tls;
	c->nlisten++;
	return 0;
}

static int
conf_line(struct conf *c, const char *key, const char *v)
{
	size_t i;

	for (i = 0; i < sizeof(int_keys) / sizeof(int_keys[0]); i++)
		if (strcmp(key, int_keys[i].key) == 0)
			return set_int((int *)(void *)((char *)c +
			    int_keys[i].off), v, int_keys[i].min,
			    int_keys[i].max);
	if (strcmp(key, "listen") == 0)
		return set_listen(c, v, 0);
	if (strcmp(key, "listen_tls") == 0)
		return set_listen(c, v, 1);
	if (strcmp(key, "tls_cert") == 0)
		return v[0] == '/' ? set_str(c->tls_cert,
		    sizeof(c->tls_cert), v) : -1;
	if (strcmp(key, "tls_key") == 0)
		return v[0] == '/' ? set_str(c->tls_key,
		    sizeof(c->tls_key), v) : -1;
	if (strcmp(key, "tls_ciphers") == 0)
		return set_str(c->tls_ciphers, sizeof(c->tls_ciphers), v);
	if (strcmp(key, "tls_ciphersuites") == 0)
		return set_str(c->tls_ciphersuites, sizeof(c->tls_ciphersuites),
		    v);
	if (strcmp(key, "tls_sni") == 0)
		return set_sni(c, v);
	if (strcmp(key, "tls_groups") == 0)
		return set_str(c->tls_groups, sizeof(c->tls_groups), v);
	if (strcmp(key, "user") == 0)
		return set_str(c->user, sizeof(c->user), v);
	if (strcmp(key, "chroot") == 0)
		return v[0] == '/' ? set_str(c->chroot_dir,
		    sizeof(c->chroot_dir), v) : -1;
	if (strcmp(key, "passwd_file") == 0)
		return v[0] == '/' ? set_str(c->passwd_file,
		    sizeof(c->passwd_file), v) : -1;
	if (strcmp(key, "auth_secret_file") == 0)
		return v[0] == '/' ? set_str(c->auth_secret_file,
		    sizeof(c->auth_secret_file), v) : -1;
	if (strcmp(key, "mail_location") == 0)
		return valid_location(v) ? set_str(c->mail_location,
		    sizeof(c->mail_location), v) : -1;
	if (strcmp(key, "mbox_locks") == 0)
		return conf_parse_locks(v, &c->mbox_locks);
	if (strcmp(key, "mbox_index_dir") == 0)
		return (strcmp(v, "none") == 0) ? set_str(c->mbox_index_dir,
		    sizeof(c->mbox_index_dir), "") : (v[0] == '/' ||
		    v[0] == '~') ? set_str(c->mbox_index_dir,
		    sizeof(c->mbox_index_dir), v) : -1;
	if (strcmp(key, "auth_penalty_exempt") == 0)
		return addrlist_valid(v) ? set_str(c->penalty_exempt,
		    sizeof(c->penalty_exempt), v) : -1;
	if (strcmp(key, "limits_exempt") == 0)
		return strcmp(v, "none") == 0 ? set_str(c->limits_exempt,
		    sizeof(c->limits_exempt), "") : addrlist_valid(v) ?
		    set_str(c->limits_exempt, sizeof(c->limits_exempt), v) : -1;
	if (strcmp(key, "md5_auth") == 0) {
		if (strcmp(v, "always") == 0)
			c->md5_always = 1;
		else if (strcmp(v, "tls-only") == 0)
			c->md5_always = 0;
		else
			return -1;
		return 0;
	}
	if (strcmp(key, "plaintext_auth") == 0) {
		if (strcmp(v, "always") == 0)
			c->plaintext_always = 1;
		else if (strcmp(v, "tls-only") == 0)
			c->plaintext_always = 0;
		else
			return -1;
		return 0;
	}
	if (strcmp(key, "trusted_networks") == 0)
		return strcmp(v, "none") == 0 ? set_str(c->trusted_networks,
		    sizeof(c->trusted_networks), "") : addrlist_valid(v) ?
		    set_str(c->trusted_networks, sizeof(c->trusted_networks), v)
		    : -1;
	if (strcmp(key, "passwd_upgrade") == 0)
		return (strcmp(v, "none") == 0) ? set_str(c->passwd_upgrade,
		    sizeof(c->passwd_upgrade), "") :
		    (strcmp(v, "yescrypt") == 0 || strcmp(v, "bcrypt") == 0 ||
		    strcmp(v, "sha512") == 0) ? set_str(c->passwd_upgrade,
		    sizeof(c->passwd_upgrade), v) : -1;
	if (strcmp(key, "auth_backends") == 0)
		return set_backends(c, v);
	if (strcmp(key, "auth_mechanisms") == 0)
		return conf_parse_mechs(v, &c->auth_mechs);
	if (strcmp(key, "pam_session") == 0)
		return set_bool(&c->pam_session, v);
	if (strcmp(key, "seccomp") == 0)
		return set_bool(&c->seccomp, v);
	if (strcmp(key, "pam_service") == 0)
		return set_str(c->pam_service, sizeof(c->pam_service), v);
	if (strcmp(key, "system_mail_location") == 0)
		return valid_location(v) ? set_str(c->system_mail_location,
		    sizeof(c->system_mail_location), v) : -1;
	if (strcmp(key, "mail_privileged_group") == 0)
		return set_str(c->mail_privileged_group,
		    sizeof(c->mail_privileged_group),
		    strcmp(v, "none") == 0 ? "" : v);
	if (strcmp(key, "pid_file") == 0)
		return v[0] == '/' ? set_str(c->pid_file,
		    sizeof(c->pid_file), v) : -1;
	if (strcmp(key, "auth_helper") == 0)
		return v[0] == '/' ? set_str(c->auth_helper,
		    sizeof(c->auth_helper), v) : -1;
	if (strcmp(key, "store_helper") == 0)
		return v[0] == '/' ? set_str(c->store_helper,
		    sizeof(c->store_helper), v) : -1;
	if (strcmp(key, "hostname") == 0)
		return set_str(c->hostname, sizeof(c->hostname), v);
	if (strcmp(key, "log_debug") == 0)
		return set_bool(&c->log_debug, v);
	return -2;
}

static int
is_space(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r';
}

int
conf_parse_buf(struct conf *c, const char *text, size_t len,
    const char *where, char *err, size_t errlen)
{
	char line[CONFIG_MAX_LINE];
	size_t pos = 0;
	int lineno = 0;

	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
		char *k, *e, *v;
		int r;

		lineno++;
		if (n >= sizeof(line))
			return set_err(err, errlen, where, lineno,
			    "line too long");
		memcpy(line, text + pos, n);
		line[n] = '\0';
		pos += n + (nl ? 1 : 0);
		if (memchr(line, '\0', n) != NULL)
			return set_err(err, errlen, where, lineno,
			    "NUL byte");

		if ((e = strchr(line, '#')) != NULL)
			*e = '\0';
		for (k = line; is_space(*k); k++)
			;
		e = k + strlen(k);
		while (e > k && is_space(e[-1]))
			*--e = '\0';
		if (*k == '\0')
			continue;
		if ((v = strchr(k, '=')) == NULL)
			return set_err(err, errlen, where, lineno,
			    "expected \"key = value\"");
		e = v;
		*v++ = '\0';
		while (e > k && is_space(e[-1]))
			*--e = '\0';
		while (is_space(*v))
			v++;
		if (*k == '\0')
			return set_err(err, errlen, where, lineno,
			    "missing key");
		if (*v == '\0')
			return set_err(err, errlen, where, lineno,
			    "missing value for \"%s\"", k);
		r = conf_line(c, k, v);
		if (r == -2)
			return set_err(err, errlen, where, lineno,
			    "unknown key \"%s\"", k);
		if (r == -1) {
			char hint[200];

			key_hint(k, hint, sizeof(hint));
			return set_err(err, errlen, where, lineno,
			    "bad value for \"%s\": \"%s\"%s%s", k, v,
			    hint[0] != '\0' ? ": expected " : "", hint);
		}
	}
	/* Defaults: 110, and 995 (RFC 8314 implicit TLS) with a cert. */
	if (c->nlisten == 0 && (set_listen(c, "*:110", 0) == -1 ||
	    (c->tls_cert[0] != '\0' && set_listen(c, "*:995", 1) == -1)))
		return set_err(err, errlen, where, lineno, "internal error");
	{
		int i, any_tls = 0;

		for (i = 0; i < c->nlisten; i++)
			any_tls |= c->listen[i].tls;
		if ((c->tls_cert[0] == '\0') != (c->tls_key[0] == '\0'))
			return set_err(err, errlen, where, lineno,
			    "tls_cert and tls_key must be given together");
		if (any_tls && c->tls_cert[0] == '\0')
			return set_err(err, errlen, where, lineno,
			    "listen_tls needs tls_cert and tls_key");
		if (c->nsni > 0 && c->tls_cert[0] == '\0')
			return set_err(err, errlen, where, lineno,
			    "tls_sni needs a default tls_cert and tls_key");
	}
	if (c->prefork > c->max_sessions)
		c->prefork = c->max_sessions;
	return 0;
}

/* Read at most CONF_MAX_FILE bytes of fd (from offset 0) into text. */
static int
read_text(int fd, const char *where, char **text_r, size_t *len_r,
    char *err, size_t errlen)
{
	struct stat st;

	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_size > CONF_MAX_FILE) {
		snprintf(err, errlen, "%s: not a regular file of at most %d "
		    "bytes", where, CONF_MAX_FILE);
		return -1;
	}
	if ((*text_r = fs_read_fd(fd, (size_t)st.st_size, len_r)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", where);
		return -1;
	}
	return 0;
}

int
conf_load_fd(struct conf *c, int fd, const char *where, char *err,
    size_t errlen)
{
	char *text;
	size_t len;
	int r;

	conf_defaults(c);
	if (read_text(fd, where, &text, &len, err, errlen) == -1)
		return -1;
	r = conf_parse_buf(c, text, len, where, err, errlen);
	free(text);
	return r;
}

int
conf_load_snapshot(struct conf *c, const char *path, int *snap_r,
    char *err, size_t errlen)
{
	char *text;
	size_t len;
	int fd, r;

	conf_defaults(c);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	r = read_text(fd, path, &text, &len, err, errlen);
	close(fd);
	if (r == -1)
		return -1;
	r = conf_parse_buf(c, text, len, path, err, errlen);
	if (r == 0 && snap_r != NULL &&
	    (*snap_r = fs_sealed_memfd("privpopd.conf", text, len)) == -1) {
		snprintf(err, errlen, "%s: memfd: %s", path, strerror(errno));
		r = -1;
	}
	free(text);
	return r;
}

int
conf_load(struct conf *c, const char *path, char *err, size_t errlen)
{
	return conf_load_snapshot(c, path, NULL, err, errlen);
}
