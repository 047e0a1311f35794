/*
 * The session child's system calls (runs as the unprivileged user, in
 * the chroot, after priv_limit()).  Installed before accept, so the
 * accept loop is on the list too.  It parses every client byte, so it
 * gets the least: sockets it was given, the IPC, the body memfd it is
 * sent, and nothing that opens, makes or runs anything.
 *
 * Runs as: privpop (the slot zygote and the session children it forks;
 * inetd's session child installs the session list itself).
 */
#include "config.h"

#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <sched.h>

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

/*
 * The slot zygote forks the master's slots, and they keep its filter:
 * loading one costs about 0.3 ms of kernel time per process (the BPF
 * JIT and its text patching), a tenth of a login's CPU.  What this adds
 * to a slot's list gives a slot nothing: clone only as the zygote calls
 * it, and a slot's RLIMIT_NPROC is 0 (set as it starts, raised by no
 * one without CAP_SYS_RESOURCE), so it fails; prlimit64 only lowers
 * this process's process limit; dup3 of descriptors it holds; prctl
 * only names it.
 */
static const struct sbx_rule zygote_calls[] = {
	/* a slot: a sibling of the zygote's, the master's child */
	SBX_CALL_IF(clone, 0, CLONE_PARENT | SIGCHLD),
	/* the new slot: RLIMIT_NPROC 0 (setrlimit is prlimit64 of 0) */
	SBX_CALL_IF2(prlimit64, 0, 0, 1, RLIMIT_NPROC),
	/* and its own syslog socket where syslog(3) keeps the shared one */
	SBX_CALL(dup3),
	/* the slot takes back the program's name from "privpop-zygote" */
	SBX_CALL_IF(prctl, 0, PR_SET_NAME),
};

static const struct sbx_list zygote_list = {
	"slot zygote", "zygote", 0,
	{ SBX_PART(session_calls), SBX_PART(zygote_calls) },
};

void
sbx_session_zygote(int on)
{
	sbx_install(&zygote_list, on);
}

/* A slot of the zygote's: its filter is already in. */
void
sbx_session_forked(void)
{
	sbx_inherited(session_list.role, session_list.key);
}

void
sbx_session(int on)
{
	sbx_install(&session_list, on);
}
