#ifndef PRIVPOP_MASTER_H
#define PRIVPOP_MASTER_H

#include "conf.h"

struct master_opts {
	const char	*conffile;
	int		 conf_fd;	/* snapshot of the text parsed */
	int		 foreground;
	int		 inetd;
};

/* Bind listeners, keep the pre-forked pool, reap, reload; returns the
 * exit status. */
int	master_run(const struct master_opts *, struct conf *);
/* inetd mode: one session on stdin/stdout with the same split. */
int	master_inetd(const struct master_opts *, struct conf *);

#endif
