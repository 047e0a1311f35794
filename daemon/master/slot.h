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
	int		 listen_fds[MAX_LISTENERS];	/* the master's */
	int		 listen_tls[MAX_LISTENERS];	/* implicit TLS */
	int		 nlisten;
	SSL_CTX		*tls_ctx;	/* NULL without tls_cert */
	int		 tls_keys_fd;	/* key snapshot for privpop-auth */
	int		 master_fd;	/* this slot's socket to the master:
					   its connection comes in, the
					   session's reports go out; -1 in
					   inetd mode */
	int		 penalty_report_fd;	/* for privpop-auth, or -1 */
	int		 penalty_table_fd;	/* for privpop-auth, or -1 */
	int		 auth_fd;	/* this slot's privpop-auth, or -1:
					   start one (inetd mode) */
	int		 inetd_tls;	/* inetd mode: implicit TLS on 0/1 */
};

/* Runs in the forked child: take or start privpop-auth, drop privilege,
 * wait for the connection the master hands over (or use rfd/wfd when
 * >= 0, for inetd mode), serve it.  Never returns. */
__attribute__((noreturn))
void	slot_main(const struct slot_env *, int rfd, int wfd);

#define SLOT_ZYGOTE_NAME	"privpop-zygote"	/* its comm, for ps */

/* Runs in the master's one slot zygote of a generation: drop, filter,
 * and fork a slot for each request on sock.  Never returns. */
__attribute__((noreturn))
void	slot_zygote_main(const struct slot_env *, int sock);

#endif
