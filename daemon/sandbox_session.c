/*
 * The session child's system calls (runs as the unprivileged user, in
 * the chroot, after priv_limit()).  Installed before accept, so the
 * accept loop is on the list too.  It parses every client byte, so it
 * gets the least: sockets it was given, the IPC, the body memfd it is
 * sent, and nothing that opens, makes or runs anything.
 *
 * Runs as: privpop (the session child; the list is compiled by the root
 * master before it forks slots).
 */
#include "config.h"

#include <sys/socket.h>

#include <signal.h>

#include "sandbox.h"

static const struct sbx_rule session_calls[] = {
	/* the accept loop: wait on the listeners and the control pipe,
	 * take a connection, set TCP_NODELAY, tell the master (write) */
	SBX_CALL(poll), SBX_CALL(ppoll), SBX_CALL(accept4),
	SBX_CALL(accept), SBX_CALL(setsockopt), SBX_CALL(getsockname),
	SBX_CALL(getpeername),
	/* the client connection, plain or TLS (OpenSSL's socket BIO) */
	SBX_CALL(read), SBX_CALL(readv), SBX_CALL(recvfrom),
	SBX_CALL(shutdown), SBX_CALL(close), SBX_CALL(fcntl),
	/* the IPC to privpop-auth and privpop-store (SCM_RIGHTS: the
	 * store's socket, the body memfd) */
	SBX_CALL(recvmsg), SBX_CALL(sendmsg),
	/* the body memfd is only mapped (mmap, munmap: the base list)
	 * and its seals read (fcntl) */
	/* syslog(3) tries a new socket when the syslog daemon went away:
	 * it fails instead of killing the session */
	SBX_REFUSE(socket), SBX_REFUSE(connect),
	/* abort() on an OpenSSL or libc internal error */
	SBX_CALL_IF(tgkill, 2, SIGABRT),
};

static const struct sbx_list session_list = {
	"session child", "session", 0,
	{ SBX_PART(session_calls) },
};

void
sbx_session_prepare(int on)
{
	sbx_prepare(&session_list, on);
}

void
sbx_session(int on)
{
	sbx_install(&session_list, on);
}
