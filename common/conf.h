/*
 * The configuration file: "key = value" lines, '#' comments.  Every key
 * is documented in etc/privpopd.conf.  Parsed by privpopd; privpop-auth
 * parses the master's sealed snapshot of the same text.
 */
#ifndef PRIVPOP_CONF_H
#define PRIVPOP_CONF_H

#include <stddef.h>

#include "limits.h"

#define CONF_PATH_MAX	256

struct conf_listen {
	char	host[64];
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

/* An SNI certificate: tls_sni = NAME CERT KEY (NAME may be *.domain). */
#define MAX_SNI		8
struct conf_sni {
	char	name[128];
	char	cert[CONF_PATH_MAX];
	char	key[CONF_PATH_MAX];
};

struct conf {
	struct conf_listen listen[MAX_LISTENERS];
	int	 nlisten;
	char	 user[64];
	char	 chroot_dir[CONF_PATH_MAX];
	int	 prefork;
	int	 max_sessions;
	int	 timeout;
	int	 max_auth_fails;
	int	 auth_fail_delay_ms;
	char	 passwd_file[CONF_PATH_MAX];
	char	 mail_location[CONF_PATH_MAX];
	char	 pid_file[CONF_PATH_MAX];
	char	 auth_helper[CONF_PATH_MAX];
	char	 store_helper[CONF_PATH_MAX];
	char	 hostname[128];
	int	 log_debug;
	char	 tls_cert[CONF_PATH_MAX];	/* chain file, PEM */
	char	 tls_key[CONF_PATH_MAX];
	char	 tls_ciphers[256];		/* TLS 1.2 cipher list */
	char	 tls_ciphersuites[256];		/* TLS 1.3 suites */
	char	 tls_groups[256];		/* key exchange groups */
	struct conf_sni sni[MAX_SNI];
	int	 nsni;
	int	 tls_ticket_rotate;		/* seconds; 0 = no tickets */
	int	 mbox_locks;			/* MBOX_LOCK_* */
	int	 mbox_lock_timeout;		/* seconds */
	int	 mbox_dotlock_stale;		/* seconds */
	char	 mbox_index_dir[CONF_PATH_MAX];	/* "" = beside the mbox */
	char	 mail_privileged_group[64];	/* "" = none */
	int	 backends[AUTH_MAX_BACKENDS];	/* AUTH_BACKEND_*, in order */
	int	 nbackends;
	char	 pam_service[64];
	int	 pam_timeout;			/* seconds */
	int	 first_valid_uid;
	char	 system_mail_location[CONF_PATH_MAX];
	int	 penalty_base_ms;		/* 0 = no penalties */
	int	 penalty_max_ms;
	int	 penalty_forget;		/* seconds */
	char	 penalty_exempt[512];		/* CIDR list */
	char	 passwd_upgrade[16];		/* scheme, "" = never */
	int	 plaintext_always;		/* plaintext_auth = always */
	char	 trusted_networks[512];		/* CIDR list */
	int	 passwd_upgrade_rounds;
};

void	conf_defaults(struct conf *);
/* Whether backend (AUTH_BACKEND_*) is among auth_backends. */
int	conf_has_backend(const struct conf *, int backend);
/* "dotlock fcntl flock" in any order, space or comma separated. */
int	conf_parse_locks(const char *, int *set_r);
/* Parse text; on error returns -1 with "where:line: why" in err. */
int	conf_parse_buf(struct conf *, const char *text, size_t len,
	    const char *where, char *err, size_t errlen);
int	conf_load(struct conf *, const char *path, char *err, size_t errlen);
/* conf_load, and on success a sealed memfd holding the very text that
 * was parsed: privpopd hands it to privpop-auth, so a helper never
 * reads a newer, unvalidated file than the master did. */
int	conf_load_snapshot(struct conf *, const char *path, int *snap_r,
	    char *err, size_t errlen);
/* Parse the text in fd (a snapshot); where names it in errors. */
int	conf_load_fd(struct conf *, int fd, const char *where, char *err,
	    size_t errlen);

/* The descriptor on which privpop-auth finds the config snapshot. */
#define CONF_SNAPSHOT_FD	4

#endif
