/*
 * A session slot: the pre-forked child that becomes one POP3 session.
 */
#ifndef PRIVPOP_SLOT_H
#define PRIVPOP_SLOT_H

#include <sys/types.h>

#include <openssl/ssl.h>

#include "conf.h"

/* What the master hands to every slot. */
struct slot_env {
	const struct conf *conf;
	const char	*conffile;	/* names the config in messages */
	int		 conf_fd;	/* sealed snapshot for privpop-auth */
	int		 foreground;	/* helpers log to stderr too */
	uid_t		 uid;		/* the unprivileged session user */
	gid_t		 gid;
	int		 listen_fds[MAX_LISTENERS];
	int		 listen_tls[MAX_LISTENERS];	/* implicit TLS */
	int		 nlisten;
	SSL_CTX		*tls_ctx;	/* NULL without tls_cert */
	int		 tls_keys_fd;	/* key snapshot for privpop-auth */
	int		 status_fd;	/* write end to the master, or -1 */
	int		 penalty_report_fd;	/* for privpop-auth, or -1 */
	int		 penalty_table_fd;	/* for privpop-auth, or -1 */
	int		 control_fd;	/* read end; EOF means "retire" */
	int		 auth_fd;	/* this slot's privpop-auth, or -1:
					   start one (inetd mode) */
	int		 inetd_tls;	/* inetd mode: implicit TLS on 0/1 */
};

/* Slot status records written to the master (atomic, < PIPE_BUF). */
struct slot_status {
	pid_t		 pid;
	int		 busy;
};

/* Runs in the forked child: take or start privpop-auth, drop privilege, wait
 * for a connection (or use rfd/wfd when >= 0, for inetd mode), serve
 * it.  Never returns. */
__attribute__((noreturn))
void	slot_main(const struct slot_env *, int rfd, int wfd);

#endif
