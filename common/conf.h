/*
 * The configuration file: "key = value" lines, '#' comments.  Every key
 * is one entry of the table in conf.c (name, type, field, default,
 * range, reload); etc/privpopd.conf.in and man/privpopd.conf.5.in
 * document each, and tests/unit/conf_docs.py checks that they agree.
 * Parsed by privpopd; privpop-auth parses the master's sealed snapshot
 * of the same text.
 */
#ifndef PRIVPOP_CONF_H
#define PRIVPOP_CONF_H

#include <stddef.h>

#include "limits.h"	/* CONF_*_MAX, MAX_SNI, TLS_SNI_NAME_MAX */

struct conf_listen {
	char	host[LISTEN_HOST_MAX];
	char	port[8];
	int	tls;		/* implicit TLS (listen_tls) */
};

/* mbox lock methods (mailstore/mbox_lock.h) */
#define MBOX_LOCK_DOTLOCK	0x1
#define MBOX_LOCK_FCNTL		0x2
#define MBOX_LOCK_FLOCK		0x4

/* Where user names are looked up, in the configured order. */
#define AUTH_BACKEND_PASSWD_FILE	1
#define AUTH_BACKEND_PAM		2
#define AUTH_MAX_BACKENDS		2

/* Login mechanisms (auth_mechanisms).  USER, PLAIN and LOGIN carry the
 * password itself, which every backend can check; the others need a
 * secret stored for the user (a passwd-file {PLAIN} or {SCRAM-SHA-256}
 * entry), which PAM never has. */
#define AUTH_MECH_USER		0x01	/* USER and PASS */
#define AUTH_MECH_PLAIN		0x02
#define AUTH_MECH_LOGIN		0x04
#define AUTH_MECH_CRAM_MD5	0x08
#define AUTH_MECH_SCRAM		0x10	/* SCRAM-SHA-256 */
#define AUTH_MECH_APOP		0x20	/* and the greeting's timestamp */
#define AUTH_MECH_PASSWORD	(AUTH_MECH_USER | AUTH_MECH_PLAIN | \
				 AUTH_MECH_LOGIN)
#define AUTH_MECH_ALL		0x3f
#define AUTH_MECH_AUTO		0	/* auth_mechanisms = auto */

/* An SNI certificate: tls_sni = NAME CERT KEY (NAME may be *.domain). */
struct conf_sni {
	char	name[TLS_SNI_NAME_MAX];
	char	cert[CONF_PATH_MAX];
	char	key[CONF_PATH_MAX];
};

/* RFC 2449 LOGIN-DELAY and EXPIRE for the users of one domain (the part
 * after the last '@' of the login name): login_delay_domain and
 * expire_domain lines name the same entry; -1 where a line did not set
 * one (the global value applies).  expire: days, 0, or CONF_EXPIRE_NEVER. */
struct conf_policy {
	char	domain[POLICY_DOMAIN_MAX];
	int	login_delay;		/* seconds, or -1 */
	int	expire;			/* days, CONF_EXPIRE_NEVER, or -1 */
};
#define CONF_EXPIRE_NEVER	(-2)

struct conf {
	struct conf_listen listen[MAX_LISTENERS];
	int	 nlisten;
	char	 user[CONF_NAME_MAX];
	char	 chroot_dir[CONF_PATH_MAX];
	char	 lang_dir[CONF_PATH_MAX];	/* RFC 6856 LANG catalogs */
	int	 prefork;
	int	 max_sessions;
	int	 timeout;
	int	 max_auth_fails;
	int	 auth_fail_delay_ms;
	char	 passwd_file[CONF_PATH_MAX];
	char	 auth_secret_file[CONF_PATH_MAX];	/* authsecret.h */
	char	 mail_location[CONF_PATH_MAX];
	char	 pid_file[CONF_PATH_MAX];
	char	 control_socket[CONF_PATH_MAX];	/* "": none (privpopctl) */
	char	 auth_helper[CONF_PATH_MAX];
	char	 store_helper[CONF_PATH_MAX];
	char	 hostname[HOSTNAME_MAX];
	int	 log_debug;
	char	 tls_cert[CONF_PATH_MAX];	/* chain file, PEM */
	char	 tls_key[CONF_PATH_MAX];
	char	 tls_ciphers[CONF_TLS_LIST_MAX];		/* TLS 1.2 cipher list */
	char	 tls_ciphersuites[CONF_TLS_LIST_MAX];		/* TLS 1.3 suites */
	char	 tls_groups[CONF_TLS_LIST_MAX];		/* key exchange groups */
	struct conf_sni sni[MAX_SNI];
	int	 nsni;
	int	 tls_ticket_rotate;		/* seconds; 0 = no tickets (default) */
	int	 mbox_locks;			/* MBOX_LOCK_* */
	int	 mbox_lock_timeout;		/* seconds */
	int	 mbox_dotlock_stale;		/* seconds */
	int	 mail_lock_stale;		/* seconds: Maildir lock file */
	char	 mail_lock_node[MDLOCK_NODE_MAX + 1];	/* "" = host name */
	char	 mbox_index_dir[CONF_PATH_MAX];	/* "" = beside the mbox */
	char	 mail_privileged_group[CONF_NAME_MAX];	/* "" = none */
	/* Dovecot's UIDLs of the messages its dovecot-uidlist covers */
	char	 pop3_uidl_format[CONF_UIDL_FORMAT_MAX];
	int	 backends[AUTH_MAX_BACKENDS];	/* AUTH_BACKEND_*, in order */
	int	 nbackends;
	char	 pam_service[CONF_NAME_MAX];
	int	 pam_timeout;			/* seconds */
	int	 first_valid_uid;
	char	 system_mail_location[CONF_PATH_MAX];
	int	 penalty_base_ms;		/* 0 = no penalties */
	int	 penalty_max_ms;
	int	 penalty_forget;		/* seconds */
	int	 penalty_ipv6_prefix;		/* bits an IPv6 key keeps */
	char	 penalty_exempt[CONF_NET_LIST_MAX];		/* CIDR list */
	char	 passwd_upgrade[16];		/* scheme, "" = never */
	int	 plaintext_always;		/* plaintext_auth = always */
	int	 md5_always;			/* md5_auth = always */
	char	 trusted_networks[CONF_NET_LIST_MAX];		/* CIDR list */
	char	 haproxy_trusted_networks[CONF_NET_LIST_MAX];	/* PROXY from */
	int	 haproxy_timeout;		/* s, for the PROXY header */
	int	 passwd_upgrade_rounds;
	int	 auth_mechs;			/* AUTH_MECH_*, or _AUTO */
	int	 pam_session;			/* pam_open_session */
	/* before login (issue 16): seconds, and per-address limits */
	int	 login_timeout;
	int	 login_line_timeout;
	int	 tls_handshake_timeout;
	int	 max_preauth_per_ip;
	int	 max_sessions_per_ip;
	int	 limits_ipv6_prefix;		/* bits an IPv6 key keeps */
	char	 limits_exempt[CONF_NET_LIST_MAX];		/* CIDR list */
	int	 seccomp;			/* the roles' filters */
	/* the protocol transcript (issue 18) */
	int	 transcript;			/* for every session */
	char	 transcript_users[CONF_USER_LIST_MAX];
	char	 transcript_networks[CONF_NET_LIST_MAX];	/* CIDR list */
	int	 transcript_lists;		/* every listing line */
	int	 last_command;			/* RFC 1725 LAST */
	char	 transcript_dir[CONF_PATH_MAX];	/* files, not syslog */
	int	 verbose_proctitle;		/* user, address in titles */
	struct conf_listen metrics_listen;	/* host "": none */
	/* RFC 2449 (issue 19): seconds, 0 = none; days or CONF_EXPIRE_NEVER */
	int	 login_delay;
	int	 expire;
	struct conf_policy policy[MAX_POLICY_DOMAINS];
	int	 npolicy;
};

/* Without RSA key exchange (the key holder only signs), no anonymous
 * or weak suites: the default of tls_ciphers. */
#define TLS_DEFAULT_CIPHERS	"HIGH:!aNULL:!kRSA:!PSK:!SRP:!CAMELLIA:!ARIA"

/* How a key's value is read and checked. */
enum conf_type {
	CONF_INT,	/* a whole number from min to max */
	CONF_BOOL,	/* yes/no, true/false, 1/0 */
	CONF_CHOICE,	/* one of values, stored as its index (an int) */
	CONF_WORD,	/* one of values, stored as text */
	CONF_TEXT,	/* any text that fits */
	CONF_PATH,	/* an absolute path */
	CONF_DIR,	/* an absolute path or ~/... */
	CONF_LOCATION,	/* maildir:PATH, mbox:PATH or auto */
	CONF_NETS,	/* addresses and networks (addrlist.h) */
	CONF_LISTEN,	/* [HOST:]PORT, one listener per line */
	CONF_HOSTPORT,	/* [HOST:]PORT, one (a struct conf_listen) */
	CONF_SNI,	/* NAME CERT KEY, one per line */
	CONF_BACKENDS,	/* auth_backends */
	CONF_MECHS,	/* auth_mechanisms */
	CONF_LOCKS,	/* mbox_locks */
	CONF_UIDLFMT,	/* pop3_uidl_format (uidlfmt.h) */
	CONF_EXPIRE,	/* never, or days from 0 to EXPIRE_DAYS_MAX */
	CONF_DOMAIN_DELAY,	/* DOMAIN SECONDS, one per line */
	CONF_DOMAIN_EXPIRE	/* DOMAIN never|DAYS, one per line */
};

#define CONF_NONE	0x1	/* "none" stands for the empty value */
#define CONF_REPEAT	0x2	/* each line adds one; default only if none */
#define CONF_RESTART	0x4	/* SIGHUP does not change it: restart */
#define CONF_TLS	0x8	/* CONF_LISTEN: implicit TLS */

/* One configuration key.  Adding a key is one entry in conf.c's table
 * (and the field here), plus its lines in etc/privpopd.conf.in and
 * man/privpopd.conf.5.in. */
struct conf_key {
	const char	*name;
	enum conf_type	 type;
	size_t		 off;	/* offsetof(struct conf, field) */
	size_t		 size;	/* of the field */
	int		 min, max;	/* CONF_INT */
	const char	*values;	/* CONF_CHOICE, CONF_WORD: "a b c" */
	const char	*def;	/* as written in the file; NULL: unset */
	int		 flags;	/* CONF_NONE, ... */
	const char	*forms;	/* what it accepts, if the type does not say */
};

/* The table, and its length in *n_r. */
const struct conf_key *conf_keys(size_t *n_r);
const struct conf_key *conf_key_find(const char *name);
/* Set one key from its text: 0, or -1 for a bad value. */
int	conf_key_set(struct conf *, const struct conf_key *, const char *);
/* What key accepts, for "expected ..." ("" when any short text). */
void	conf_key_forms(const struct conf_key *, char *buf, size_t len);

/* Every key at its default (the table's text, parsed). */
void	conf_defaults(struct conf *);
/* Whether backend (AUTH_BACKEND_*) is among auth_backends. */
int	conf_has_backend(const struct conf *, int backend);
/* "USER PLAIN LOGIN CRAM-MD5 SCRAM-SHA-256 APOP" in any order, space or
 * comma separated, case-insensitive; or "auto" (AUTH_MECH_AUTO). */
int	conf_parse_mechs(const char *, int *set_r);
/* The mechanism names of set, space separated, into buf.  buf. */
const char *conf_mechs_str(int set, char *buf, size_t len);
/* The mechanisms that every configured backend can serve for every
 * user: the password ones, and those in pwf_mechs (what a secret is
 * stored for in every entry of the passwd-file) when the passwd-file
 * is the only backend.  PAM only ever checks a password. */
int	conf_mechs_served(const struct conf *, int pwf_mechs);
/* What the sessions offer: auth_mechanisms as given, or for auto the
 * served ones.  privpop-auth decides it (it alone reads the
 * passwd-file) and sends it in its HELLO. */
int	conf_mechs_offered(const struct conf *, int pwf_mechs);
/* A user's LOGIN-DELAY (seconds) and EXPIRE (days, or
 * CONF_EXPIRE_NEVER): the override of the domain after the last '@' of
 * user (case-insensitive), else the global keys.  privpop-auth decides
 * them for the worker (STORE_INIT); never the session child. */
void	conf_user_policy(const struct conf *, const char *user,
	    int *login_delay_r, int *expire_r);
/* What CAPA says before login: LOGIN-DELAY (0: not advertised) and
 * EXPIRE (CONF_EXPIRE_NEVER: "NEVER"), and whether an override exists
 * for each (the USER tag).  With expire never for the site but some
 * domain expiring, the smallest override is said, with USER. */
void	conf_capa_policy(const struct conf *, int *login_delay_r,
	    int *delay_user_r, int *expire_r, int *expire_user_r);
/* "dotlock fcntl flock" in any order, space or comma separated. */
int	conf_parse_locks(const char *, int *set_r);
/* Parse text; on error returns -1 with "where:line: why" in err. */
int	conf_parse_buf(struct conf *, const char *text, size_t len,
	    const char *where, char *err, size_t errlen);
/* mail_lock_node's form: 1 to MDLOCK_NODE_MAX of [A-Za-z0-9.-_] (the
 * config and STORE_INIT's decoder check it; inline, so the decoder
 * needs no parser of the config). */
static inline int
conf_lock_node_ok(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if (i >= MDLOCK_NODE_MAX || !((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' &&
		    s[i] <= '9') || s[i] == '.' || s[i] == '-' || s[i] == '_'))
			return 0;
	return i > 0;
}
int	conf_load(struct conf *, const char *path, char *err, size_t errlen);
/* conf_load, and on success a sealed memfd holding the very text that
 * was parsed: privpopd hands it to privpop-auth, so a helper never
 * reads a newer, unvalidated file than the master did. */
int	conf_load_snapshot(struct conf *, const char *path, int *snap_r,
	    char *err, size_t errlen);
/* Parse the text in fd (a snapshot); where names it in errors. */
int	conf_load_fd(struct conf *, int fd, const char *where, char *err,
	    size_t errlen);

#endif
