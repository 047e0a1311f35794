#ifndef PRIVPOP_MASTER_H
#define PRIVPOP_MASTER_H

#include <sys/types.h>

#include "conf.h"

struct master_opts {
	const char	*conffile;
	int		 conf_fd;	/* snapshot of the text parsed */
	int		 foreground;
	int		 inetd;
	int		 inetd_tls;	/* -I: the connection starts with TLS */
};

/* The listeners systemd passed on 3.. (LISTEN_FDS for our pid), or 0. */
int	master_listen_fds(void);

struct addrinfo;
/* A socket for ai with the listeners' options, bound: the fd, -1 when
 * bind failed (errno says why), -2 when no socket of that family. */
int	master_bound_socket(const struct addrinfo *);

/* Bind listeners, keep the pre-forked pool, reap, reload; returns the
 * exit status. */
int	master_run(const struct master_opts *, struct conf *);
/* inetd mode: one session on stdin/stdout with the same split. */
int	master_inetd(const struct master_opts *, struct conf *);

/* The unprivileged user of the session children (the caller's own when
 * not root): 0, or -1 with what is wrong and its fix in err (unknown,
 * root, a chroot that is not root-owned).  Also privpopd -t. */
int	resolve_user(const struct conf *, uid_t *, gid_t *, char *err,
	    size_t errlen);

#endif
