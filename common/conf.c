/*
 * The configuration table and parser; see conf.h.  Runs as: root (the
 * master, privpop-auth; privpopd -t).
 */
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
#include "uidlfmt.h"

/* PRIVPOP_SYSCONFDIR, _LIBEXECDIR, _RUNSTATEDIR and _EMPTYDIR: the
 * installed paths, from configure (config.h). */

/* The largest configuration file read; far above any real one. */
#define CONF_MAX_FILE	(256 * 1024)

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

/* The index of v among the space separated words, or -1. */
static int
word_index(const char *words, const char *v)
{
	const char *w;
	size_t n, vlen = strlen(v);
	int i = 0;

	while (list_next(&words, &w, &n)) {
		if (n == vlen && strncmp(w, v, n) == 0)
			return i;
		i++;
	}
	return -1;
}

/* "NAME CERT KEY" with absolute paths. */
static int
set_sni(struct conf *c, const char *v)
{
	struct conf_sni *e;
	char name[TLS_SNI_NAME_MAX], cert[CONF_PATH_MAX], key[CONF_PATH_MAX];
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

/* expire's value: "never" or days. */
static int
parse_expire(const char *v, size_t len, int *r)
{
	uint64_t n;

	if (len == 5 && strncasecmp(v, "never", 5) == 0) {
		*r = CONF_EXPIRE_NEVER;
		return 0;
	}
	if (parse_uint(v, len, 0, EXPIRE_DAYS_MAX, &n) == -1)
		return -1;
	*r = (int)n;
	return 0;
}

/* login_delay_domain / expire_domain = DOMAIN VALUE: the entry of
 * DOMAIN (made on its first line), its value of the key set. */
static int
set_policy(struct conf *c, const char *v, int expire)
{
	const char *sp = strchr(v, ' '), *val;
	size_t dlen;
	uint64_t n;
	int i, x;

	if (sp == NULL || (dlen = (size_t)(sp - v)) == 0 ||
	    dlen >= POLICY_DOMAIN_MAX || memchr(v, '@', dlen) != NULL)
		return -1;
	for (val = sp; *val == ' ' || *val == '\t'; val++)
		;
	if (*val == '\0' || strpbrk(val, " \t") != NULL)
		return -1;
	if (expire) {
		if (parse_expire(val, strlen(val), &x) == -1)
			return -1;
	} else {
		if (parse_uint(val, strlen(val), 0, LOGIN_DELAY_MAX, &n) == -1)
			return -1;
		x = (int)n;
	}
	for (i = 0; i < c->npolicy; i++)
		if (strlen(c->policy[i].domain) == dlen &&
		    strncasecmp(c->policy[i].domain, v, dlen) == 0)
			break;
	if (i == c->npolicy) {
		if (c->npolicy >= MAX_POLICY_DOMAINS)
			return -1;
		memcpy(c->policy[i].domain, v, dlen);
		c->policy[i].domain[dlen] = '\0';
		c->policy[i].login_delay = -1;
		c->policy[i].expire = -1;
		c->npolicy++;
	}
	if (expire)
		c->policy[i].expire = x;
	else
		c->policy[i].login_delay = x;
	return 0;
}

void
conf_user_policy(const struct conf *c, const char *user, int *delay_r,
    int *expire_r)
{
	const char *at = strrchr(user, '@');
	int i;

	*delay_r = c->login_delay;
	*expire_r = c->expire;
	if (at == NULL)
		return;
	for (i = 0; i < c->npolicy; i++)
		if (strcasecmp(c->policy[i].domain, at + 1) == 0) {
			if (c->policy[i].login_delay != -1)
				*delay_r = c->policy[i].login_delay;
			if (c->policy[i].expire != -1)
				*expire_r = c->policy[i].expire;
			return;
		}
}

void
conf_capa_policy(const struct conf *c, int *delay_r, int *delay_user_r,
    int *expire_r, int *expire_user_r)
{
	int i, e;

	*delay_r = c->login_delay;
	*expire_r = c->expire;
	*delay_user_r = *expire_user_r = 0;
	for (i = 0; i < c->npolicy; i++) {
		if (c->policy[i].login_delay != -1)
			*delay_user_r = 1;
		if ((e = c->policy[i].expire) == -1)
			continue;
		*expire_user_r = 1;
		/* "NEVER" only when nothing expires for anyone */
		if (c->expire == CONF_EXPIRE_NEVER && e != CONF_EXPIRE_NEVER &&
		    (*expire_r == CONF_EXPIRE_NEVER || e < *expire_r))
			*expire_r = e;
	}
}

/* "host:port", "[v6addr]:port", "*:port" or "port" into l. */
static int
parse_hostport(struct conf_listen *l, const char *v, int tls)
{
	const char *port, *host = "*";
	size_t hostlen = 1;
	uint64_t n;

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
	return 0;
}

static int
set_listen(struct conf *c, const char *v, int tls)
{
	if (c->nlisten >= MAX_LISTENERS ||
	    parse_hostport(&c->listen[c->nlisten], v, tls) == -1)
		return -1;
	c->nlisten++;
	return 0;
}

#define STR_(x)	#x
#define STR(x)	STR_(x)
#define FIELD(f)	offsetof(struct conf, f), sizeof(((struct conf *)0)->f)
/* key, field, min, max, default, flags */
#define INT(k, f, lo, hi, d, fl) \
	{ k, CONF_INT, FIELD(f), lo, hi, NULL, d, fl, NULL }
/* key, type, field, default, flags */
#define KEY(k, t, f, d, fl) \
	{ k, t, FIELD(f), 0, 0, NULL, d, fl, NULL }
/* key, type, field, values, default, flags */
#define ONEOF(k, t, f, vals, d, fl) \
	{ k, t, FIELD(f), 0, 0, vals, d, fl, NULL }

/*
 * Every key.  def is the text a user would write (NULL: unset, and the
 * code using it picks its own), parsed by the same code as the file.
 * CONF_RESTART marks what SIGHUP does not change (master.c reload()
 * rebinds the listeners, rebuilds the TLS context, sizes the pool anew
 * and starts new fork servers that read the new snapshot; new slots
 * take the new user and chroot; the log level and the pid file are
 * set at start only).
 */
static const struct conf_key keys[] = {
	KEY("listen", CONF_LISTEN, listen, "*:110", CONF_REPEAT),
	KEY("listen_tls", CONF_LISTEN, listen, NULL, CONF_REPEAT | CONF_TLS),
	KEY("tls_cert", CONF_PATH, tls_cert, NULL, 0),
	KEY("tls_key", CONF_PATH, tls_key, NULL, 0),
	KEY("tls_sni", CONF_SNI, sni, NULL, CONF_REPEAT),
	KEY("tls_ciphers", CONF_TEXT, tls_ciphers, TLS_DEFAULT_CIPHERS, 0),
	KEY("tls_ciphersuites", CONF_TEXT, tls_ciphersuites, NULL, 0),
	KEY("tls_groups", CONF_TEXT, tls_groups, NULL, 0),
	INT("tls_ticket_rotate", tls_ticket_rotate, 0, CONF_SECONDS_MAX, "0",
	    0),
	ONEOF("plaintext_auth", CONF_CHOICE, plaintext_always,
	    "tls-only always", "tls-only", 0),
	ONEOF("md5_auth", CONF_CHOICE, md5_always, "tls-only always",
	    "tls-only", 0),
	KEY("trusted_networks", CONF_NETS, trusted_networks,
	    "127.0.0.0/8 ::1", CONF_NONE),
	/* balancers whose PROXY header names the client (issue 20) */
	KEY("haproxy_trusted_networks", CONF_NETS, haproxy_trusted_networks,
	    "none", CONF_NONE),
	INT("haproxy_timeout", haproxy_timeout, 1, MAX_PREAUTH_TIMEOUT,
	    STR(DEFAULT_HAPROXY_TIMEOUT), 0),
	KEY("user", CONF_TEXT, user, "privpop", 0),
	KEY("chroot", CONF_PATH, chroot_dir, PRIVPOP_EMPTYDIR, 0),
	/* read by the slot zygote after its drop (lang.c) */
	KEY("lang_dir", CONF_PATH, lang_dir, PRIVPOP_LANGDIR, 0),
	INT("prefork", prefork, 1, MAX_PREFORK, STR(DEFAULT_PREFORK), 0),
	INT("max_sessions", max_sessions, 1, MAX_SESSIONS_LIMIT,
	    STR(DEFAULT_MAX_SESSIONS), 0),
	INT("timeout", timeout, POP3_MIN_TIMEOUT, CONF_SECONDS_MAX,
	    STR(POP3_DEFAULT_TIMEOUT), 0),
	KEY("pid_file", CONF_PATH, pid_file,
	    PRIVPOP_RUNSTATEDIR "/privpopd.pid", CONF_RESTART),
	/* privpopctl's, beside the pid file; a reload moves it */
	KEY("control_socket", CONF_PATH, control_socket,
	    PRIVPOP_RUNSTATEDIR "/privpopd.ctl", CONF_NONE),
	KEY("auth_helper", CONF_PATH, auth_helper,
	    PRIVPOP_LIBEXECDIR "/privpop-auth", 0),
	KEY("store_helper", CONF_PATH, store_helper,
	    PRIVPOP_LIBEXECDIR "/privpop-store", 0),
	KEY("hostname", CONF_TEXT, hostname, NULL, 0),
	KEY("log_debug", CONF_BOOL, log_debug, "no", CONF_RESTART),
	/* virtual users first, then the host's own */
	KEY("auth_backends", CONF_BACKENDS, backends, "passwd-file pam", 0),
	KEY("auth_mechanisms", CONF_MECHS, auth_mechs, "auto", 0),
	INT("max_auth_fails", max_auth_fails, 1, MAX_AUTH_FAILS_LIMIT,
	    STR(POP3_DEFAULT_MAX_AUTH_FAILS), 0),
	INT("auth_fail_delay_ms", auth_fail_delay_ms, 0,
	    MAX_AUTH_FAIL_DELAY_MS, STR(DEFAULT_AUTH_FAIL_DELAY_MS), 0),
	KEY("auth_secret_file", CONF_PATH, auth_secret_file,
	    PRIVPOP_STATEDIR "/auth-secret", 0),
	/* Dovecot's auth_penalty: 2 s doubling to 15 s */
	INT("auth_penalty_base_ms", penalty_base_ms, 0,
	    MAX_AUTH_FAIL_DELAY_MS, "2000", 0),
	INT("auth_penalty_max_ms", penalty_max_ms, 0, MAX_AUTH_FAIL_DELAY_MS,
	    "15000", 0),
	INT("auth_penalty_forget", penalty_forget, 1, PENALTY_FORGET_MAX,
	    STR(PENALTY_DEFAULT_FORGET), 0),
	INT("auth_penalty_ipv6_prefix", penalty_ipv6_prefix, IPV6_PREFIX_MIN,
	    IPV6_PREFIX_MAX,
	    STR(PENALTY_DEFAULT_V6PREFIX), 0),
	KEY("auth_penalty_exempt", CONF_NETS, penalty_exempt, "none",
	    CONF_NONE),
	KEY("passwd_file", CONF_PATH, passwd_file,
	    PRIVPOP_SYSCONFDIR "/passwd", 0),
	ONEOF("passwd_upgrade", CONF_WORD, passwd_upgrade,
	    "none yescrypt bcrypt sha512", "none", CONF_NONE),
	INT("passwd_upgrade_rounds", passwd_upgrade_rounds, PASSWD_ROUNDS_MIN,
	    PASSWD_ROUNDS_MAX,
	    "100000", 0),
	KEY("pam_service", CONF_TEXT, pam_service, "privpop", 0),
	/* a logind session per poll is not what most sites want */
	KEY("pam_session", CONF_BOOL, pam_session, "no", 0),
	INT("pam_timeout", pam_timeout, 1, PAM_TIMEOUT_MAX, "30", 0),
	INT("first_valid_uid", first_valid_uid, 1, INT32_MAX, "1000", 0),
	/* before login (issue 16): deadlines and per-address limits */
	INT("login_timeout", login_timeout, MIN_LOGIN_TIMEOUT,
	    MAX_PREAUTH_TIMEOUT, STR(DEFAULT_LOGIN_TIMEOUT), 0),
	INT("login_line_timeout", login_line_timeout, 1, MAX_PREAUTH_TIMEOUT,
	    STR(DEFAULT_LOGIN_LINE_TIMEOUT), 0),
	INT("tls_handshake_timeout", tls_handshake_timeout, 1,
	    MAX_PREAUTH_TIMEOUT, STR(DEFAULT_TLS_HANDSHAKE_TIMEOUT), 0),
	INT("max_preauth_per_ip", max_preauth_per_ip, 1, MAX_SESSIONS_LIMIT,
	    STR(DEFAULT_MAX_PREAUTH_PER_IP), 0),
	INT("max_sessions_per_ip", max_sessions_per_ip, 1, MAX_SESSIONS_LIMIT,
	    STR(DEFAULT_MAX_SESSIONS_PER_IP), 0),
	INT("limits_ipv6_prefix", limits_ipv6_prefix, IPV6_PREFIX_MIN,
	    IPV6_PREFIX_MAX,
	    STR(PENALTY_DEFAULT_V6PREFIX), 0),
	KEY("limits_exempt", CONF_NETS, limits_exempt, "none", CONF_NONE),
	/* the roles' seccomp filters (issue 16); no is for debugging */
	KEY("seccomp", CONF_BOOL, seccomp, "yes", 0),
	/* the protocol transcript, off unless asked for (issue 18) */
	KEY("transcript", CONF_BOOL, transcript, "no", 0),
	KEY("transcript_users", CONF_TEXT, transcript_users, "none",
	    CONF_NONE),
	KEY("transcript_networks", CONF_NETS, transcript_networks, "none",
	    CONF_NONE),
	KEY("transcript_lists", CONF_BOOL, transcript_lists, "no", 0),
	KEY("transcript_dir", CONF_PATH, transcript_dir, "none", CONF_NONE),
	/* RFC 1725's LAST, off as in Dovecot and popa3d (issue 19) */
	KEY("last_command", CONF_BOOL, last_command, "no", 0),
	/* process titles (issue 18); no: role and state only */
	KEY("verbose_proctitle", CONF_BOOL, verbose_proctitle, "yes", 0),
	/* Prometheus over HTTP from an unprivileged process (issue 18) */
	KEY("metrics_listen", CONF_HOSTPORT, metrics_listen, "none",
	    CONF_NONE),
	KEY("mail_location", CONF_LOCATION, mail_location,
	    "maildir:~/Maildir", 0),
	KEY("system_mail_location", CONF_LOCATION, system_mail_location,
	    "mbox:/var/mail/%u", 0),
	/* what Debian's delivery agents use (Postfix local, procmail) */
	KEY("mbox_locks", CONF_LOCKS, mbox_locks, "dotlock fcntl", 0),
	INT("mbox_lock_timeout", mbox_lock_timeout, 1, MBOX_LOCK_TIMEOUT_MAX,
	    "30", 0),
	/* liblockfile: 5 minutes */
	INT("mbox_dotlock_stale", mbox_dotlock_stale, DOTLOCK_STALE_MIN,
	    DOTLOCK_STALE_MAX, "300", 0),
	/* several nodes on one Maildir (issue 20) */
	INT("mail_lock_stale", mail_lock_stale, MDLOCK_STALE_MIN,
	    MDLOCK_STALE_MAX, STR(MDLOCK_STALE_DEFAULT), 0),
	KEY("mail_lock_node", CONF_TEXT, mail_lock_node, "none", CONF_NONE),
	KEY("mbox_index_dir", CONF_DIR, mbox_index_dir, "~/.privpop",
	    CONF_NONE),
	KEY("mail_privileged_group", CONF_TEXT, mail_privileged_group, "mail",
	    CONF_NONE),
	/* a Maildir's dovecot-uidlist: Dovecot's default (issue 19) */
	KEY("pop3_uidl_format", CONF_UIDLFMT, pop3_uidl_format,
	    UIDLFMT_DEFAULT, 0),
	/* RFC 2449 LOGIN-DELAY and EXPIRE, enforced by the worker (issue
	 * 19); per-domain overrides, the domain after the login's '@' */
	INT("login_delay", login_delay, 0, LOGIN_DELAY_MAX, "0", 0),
	KEY("expire", CONF_EXPIRE, expire, "never", 0),
	KEY("login_delay_domain", CONF_DOMAIN_DELAY, policy, NULL,
	    CONF_REPEAT),
	KEY("expire_domain", CONF_DOMAIN_EXPIRE, policy, NULL, CONF_REPEAT),
};

const struct conf_key *
conf_keys(size_t *n_r)
{
	*n_r = sizeof(keys) / sizeof(keys[0]);
	return keys;
}

const struct conf_key *
conf_key_find(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strcmp(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}

int
conf_key_set(struct conf *c, const struct conf_key *k, const char *v)
{
	void *f = (char *)c + k->off;
	uint64_t n;
	int i;

	if ((k->flags & CONF_NONE) && strcmp(v, "none") == 0 &&
	    k->type != CONF_CHOICE) {
		((char *)f)[0] = '\0';
		return 0;
	}
	switch (k->type) {
	case CONF_INT:
		if (parse_uint(v, strlen(v), (uint64_t)k->min,
		    (uint64_t)k->max, &n) == -1)
			return -1;
		*(int *)f = (int)n;
		return 0;
	case CONF_BOOL:
		if ((i = word_index("no yes false true 0 1", v)) == -1)
			return -1;
		*(int *)f = i % 2;
		return 0;
	case CONF_CHOICE:
		if ((i = word_index(k->values, v)) == -1)
			return -1;
		*(int *)f = i;
		return 0;
	case CONF_WORD:
		if (word_index(k->values, v) == -1)
			return -1;
		return set_str(f, k->size, v);
	case CONF_TEXT:
		return set_str(f, k->size, v);
	case CONF_PATH:
		return v[0] == '/' ? set_str(f, k->size, v) : -1;
	case CONF_DIR:
		return v[0] == '/' || v[0] == '~' ?
		    set_str(f, k->size, v) : -1;
	case CONF_LOCATION:
		return valid_location(v) ? set_str(f, k->size, v) : -1;
	case CONF_NETS:
		return addrlist_valid(v) ? set_str(f, k->size, v) : -1;
	case CONF_LISTEN:
		return set_listen(c, v, (k->flags & CONF_TLS) != 0);
	case CONF_HOSTPORT:
		return parse_hostport(f, v, 0);
	case CONF_SNI:
		return set_sni(c, v);
	case CONF_BACKENDS:
		return set_backends(c, v);
	case CONF_MECHS:
		return conf_parse_mechs(v, f);
	case CONF_LOCKS:
		return conf_parse_locks(v, f);
	case CONF_UIDLFMT:
		return uidlfmt_check(v) == 0 ? set_str(f, k->size, v) : -1;
	case CONF_EXPIRE:
		return parse_expire(v, strlen(v), f);
	case CONF_DOMAIN_DELAY:
		return set_policy(c, v, 0);
	case CONF_DOMAIN_EXPIRE:
		return set_policy(c, v, 1);
	}
	return -1;
}

/* "a, b or c" from "a b c", after prefix. */
static void
words_or(const char *prefix, const char *words, char *buf, size_t len)
{
	const char *w, *s = words;
	size_t n, o, left = 0;

	while (list_next(&s, &w, &n))
		left++;
	snprintf(buf, len, "%s", prefix);
	s = words;
	while (list_next(&s, &w, &n)) {
		left--;
		o = strlen(buf);
		snprintf(buf + o, len - o, "%.*s%s", (int)n, w,
		    left > 1 ? ", " : left == 1 ? " or " : "");
	}
}

#define FORMS_LISTEN	"PORT, HOST:PORT, *:PORT or [IPV6]:PORT, " \
			"PORT from 1 to 65535"
#define FORMS_NETS	"addresses or networks, e.g. 192.0.2.0/24 ::1"

void
conf_key_forms(const struct conf_key *k, char *buf, size_t len)
{
	const char *none = (k->flags & CONF_NONE) ? "none, or " : "";

	buf[0] = '\0';
	if (k->forms != NULL) {
		snprintf(buf, len, "%s", k->forms);
		return;
	}
	switch (k->type) {
	case CONF_INT:
		snprintf(buf, len, "a whole number from %d to %d", k->min,
		    k->max);
		break;
	case CONF_BOOL:
		snprintf(buf, len, "yes or no");
		break;
	case CONF_CHOICE:
	case CONF_WORD:
		words_or("", k->values, buf, len);
		break;
	case CONF_TEXT:
		snprintf(buf, len, "%stext of at most %zu characters", none,
		    k->size - 1);
		break;
	case CONF_PATH:
		snprintf(buf, len, "%san absolute path", none);
		break;
	case CONF_DIR:
		snprintf(buf, len, "%san absolute path or ~/...", none);
		break;
	case CONF_LOCATION:
		snprintf(buf, len, "maildir:PATH, mbox:PATH or auto, PATH "
		    "absolute or ~/..., with %%u (user), %%n (local part), "
		    "%%d (domain), %%%% (a %%)");
		break;
	case CONF_NETS:
		snprintf(buf, len, "%s%s", none, FORMS_NETS);
		break;
	case CONF_LISTEN:
		snprintf(buf, len, "%s, at most %d listeners", FORMS_LISTEN,
		    MAX_LISTENERS);
		break;
	case CONF_HOSTPORT:
		snprintf(buf, len, "%s%s", none, FORMS_LISTEN);
		break;
	case CONF_SNI:
		snprintf(buf, len, "NAME /CERT /KEY (absolute paths), at most "
		    "%d of them", MAX_SNI);
		break;
	case CONF_BACKENDS:
		snprintf(buf, len, "passwd-file and pam, each at most once, "
		    "in the order to ask them");
		break;
	case CONF_MECHS:
		snprintf(buf, len, "auto, or any of USER, PLAIN, LOGIN, "
		    "CRAM-MD5, SCRAM-SHA-256 and APOP");
		break;
	case CONF_LOCKS:
		snprintf(buf, len, "dotlock, fcntl and flock, any of them");
		break;
	case CONF_UIDLFMT:
		snprintf(buf, len, "text with %%u (UID), %%v (UIDVALIDITY), "
		    "%%f (file name), %%g (GUID) or %%%%, each with an optional "
		    "width and X, U or L (e.g. %%08Xu); %%m is not supported");
		break;
	case CONF_EXPIRE:
		snprintf(buf, len, "never, or days from 0 to %d",
		    EXPIRE_DAYS_MAX);
		break;
	case CONF_DOMAIN_DELAY:
		snprintf(buf, len, "DOMAIN SECONDS, SECONDS from 0 to %d, at "
		    "most %d domains", LOGIN_DELAY_MAX, MAX_POLICY_DOMAINS);
		break;
	case CONF_DOMAIN_EXPIRE:
		snprintf(buf, len, "DOMAIN never or DOMAIN DAYS, DAYS from 0 "
		    "to %d, at most %d domains", EXPIRE_DAYS_MAX,
		    MAX_POLICY_DOMAINS);
		break;
	}
}

void
conf_defaults(struct conf *c)
{
	size_t i;

	memset(c, 0, sizeof(*c));
	/* a repeatable key's default is added after parsing, if none was
	 * given (conf_parse_buf); tests/unit/test_conf.c checks that each
	 * default parses */
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (keys[i].def != NULL && !(keys[i].flags & CONF_REPEAT))
			(void)conf_key_set(c, &keys[i], keys[i].def);
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
	const struct conf_key *key;
	size_t pos = 0;
	int lineno = 0;

	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
		char *k, *e, *v;

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
		if ((key = conf_key_find(k)) == NULL)
			return set_err(err, errlen, where, lineno,
			    "unknown key \"%s\"", k);
		if (conf_key_set(c, key, v) == -1) {
			char hint[200];

			conf_key_forms(key, hint, sizeof(hint));
			return set_err(err, errlen, where, lineno,
			    "bad value for \"%s\": \"%s\"%s%s", k, v,
			    hint[0] != '\0' ? ": expected " : "", hint);
		}
	}
	/* Defaults: listen's, and 995 (RFC 8314 implicit TLS) with a
	 * cert. */
	if (c->nlisten == 0 && (set_listen(c, conf_key_find("listen")->def,
	    0) == -1 ||
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
	if (c->mail_lock_node[0] != '\0' &&
	    !conf_lock_node_ok(c->mail_lock_node))
		return set_err(err, errlen, where, lineno, "mail_lock_node: "
		    "letters, digits, \".-_\", at most %d", MDLOCK_NODE_MAX);
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
