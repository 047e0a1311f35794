/*
 * The metrics process's system calls: it accepts and serves HTTP
 * connections on the socket the master bound, and takes snapshots (a
 * sealed memfd, mapped read-only) from the master's socketpair.  It
 * opens, makes and runs nothing.
 *
 * Runs as: privpop (the metrics process).
 */
#include "config.h"

#include <fcntl.h>
#include <signal.h>

#include "sandbox.h"

static const struct sbx_rule metrics_calls[] = {
	/* the loop: the listener, the connections, the master's socket */
	SBX_CALL(poll), SBX_CALL(ppoll), SBX_CALL(accept4),
	/* a request in, an answer out (write and sendto: the base list),
	 * then a half close and the client's last bytes drained */
	SBX_CALL(read), SBX_CALL(shutdown), SBX_CALL(close),
	/* a snapshot: the message with its memfd (SCM_RIGHTS), its seals
	 * (fcntl F_GET_SEALS only), its size (fstat: the base list),
	 * mapped read-only (mmap, munmap: the base list) */
	SBX_CALL(recvmsg), SBX_CALL_IF(fcntl, 1, F_GET_SEALS),
	/* syslog(3) tries a new socket when the syslog daemon went away:
	 * it fails instead of killing the process */
	SBX_REFUSE(socket), SBX_REFUSE(connect),
	/* abort() on a libc internal error */
	SBX_CALL_IF(tgkill, 2, SIGABRT),
};

static const struct sbx_list metrics_list = {
	"metrics process", "metrics", 0,
	{ SBX_PART(metrics_calls) },
};

void
sbx_metrics(int on)
{
	sbx_install(&metrics_list, on);
}
