/*
 * privpop-store's system calls: the worker (the mailbox owner, after
 * priv_drop() and priv_limit()) and its fork server (root, -Z).  A
 * filter is inherited across fork and can only be tightened, so the fork
 * server's list is the worker's and what a child does between the fork
 * and its own filter: its syslog socket, the drop to the owner and its
 * checks, the limits.
 *
 * Runs as: root (privpop-store -Z) and the mailbox owner (the worker).
 */
#include "config.h"

#include <sys/socket.h>

#include <signal.h>

#include "sandbox.h"

static const struct sbx_rule store_calls[] = {
	/* Maildir and mbox: directories walked one component at a time
	 * (openat, fstatat, readlinkat for root's own symlinks), messages
	 * read, caches and journals written to a temporary name and
	 * renamed, deletions, dotlocks made with link() */
	SBX_CALL(openat), SBX_CALL(open), SBX_CALL(close), SBX_CALL(read),
	SBX_CALL(pread64), SBX_CALL(readv), SBX_CALL(preadv),
	SBX_CALL(pwrite64), SBX_CALL(lseek), SBX_CALL(statx),
	SBX_CALL(stat), SBX_CALL(lstat), SBX_CALL(getdents64),
	SBX_CALL(readlinkat), SBX_CALL(readlink), SBX_CALL(mkdirat),
	SBX_CALL(mkdir), SBX_CALL(renameat), SBX_CALL(renameat2),
	SBX_CALL(rename), SBX_CALL(unlinkat), SBX_CALL(unlink),
	SBX_CALL(linkat), SBX_CALL(link), SBX_CALL(fsync),
	SBX_CALL(fdatasync), SBX_CALL(ftruncate), SBX_CALL(fadvise64),
	SBX_CALL(utimensat),
	/* a directory descriptor kept while another reads it
	 * (fdopendir of a dup) */
	SBX_CALL(dup), SBX_CALL(dup2), SBX_CALL(dup3),
	/* locks: fcntl and flock; a dotlock's holder is alive if
	 * kill(pid, 0) says so; the dotlock and Maildir names carry the
	 * host name */
	SBX_CALL(fcntl), SBX_CALL(flock), SBX_CALL_IF(kill, 1, 0),
	SBX_CALL(uname),
	/* the IPC with the session child */
	SBX_CALL(recvmsg), SBX_CALL(sendmsg), SBX_CALL(poll),
	/* the body memfd: made, sized, sealed (fcntl), mapped (base) */
	SBX_CALL(memfd_create), SBX_CALL(fallocate),
	/* abort() */
	SBX_CALL_IF(tgkill, 2, SIGABRT),
};

/* The worker only: syslog(3) tries a new socket when the syslog daemon
 * went away; it fails instead of killing the worker.  (Under the fork
 * server's filter a socket other than AF_UNIX still kills.) */
static const struct sbx_rule worker_refused[] = {
	SBX_REFUSE(socket), SBX_REFUSE(connect),
};

/* The fork server and its children until their own filter is in. */
static const struct sbx_rule spawner_calls[] = {
	/* serving requests: epoll over the request socket and a
	 * signalfd for SIGCHLD; fork; reap */
	SBX_CALL(epoll_create1), SBX_CALL(epoll_ctl), SBX_CALL(epoll_wait),
	SBX_CALL(epoll_pwait), SBX_CALL(signalfd4), SBX_CALL(clone),
	SBX_CALL(clone3), SBX_CALL(fork), SBX_CALL(wait4), SBX_CALL(waitid),
	SBX_CALL(set_robust_list), SBX_CALL(close_range),
	/* the helper that asked gets a pidfd of its worker */
	SBX_CALL(pidfd_open),
	/* a worker for a spool with a group starts its dotlock child
	 * (socketpair, fork, name, drop) before it drops; that child keeps
	 * this list */
	SBX_CALL(socketpair),
	/* the child's syslog socket of its own (log_reopen), a Unix one
	 * only */
	SBX_CALL_IF(socket, 0, AF_UNIX), SBX_CALL(connect),
	/* the drop to the owner, and its checks (setuid(0) and setgid(0)
	 * must fail, not trap) */
	SBX_CALL(setgroups), SBX_CALL(setresgid), SBX_CALL(setresuid),
	SBX_CALL(setgid), SBX_CALL(setuid), SBX_CALL(getresuid),
	SBX_CALL(getresgid), SBX_CALL(getgroups), SBX_CALL(chdir),
	/* priv_limit: rlimits, no_new_privs, not dumpable */
	SBX_CALL(prlimit64), SBX_CALL(setrlimit), SBX_CALL(getrlimit),
	SBX_CALL(prctl),
	/* installing the worker's filter (seccomp(2), or prctl) */
	SBX_CALL(seccomp),
};

static const struct sbx_list worker_list = {
	"mailstore worker", "store", 0,
	{ SBX_PART(store_calls), SBX_PART(worker_refused) },
};

static const struct sbx_list spawner_list = {
	"store fork server", "store-spawner", 0,
	{ SBX_PART(store_calls), SBX_PART(spawner_calls) },
};

void
sbx_store(int on)
{
	sbx_install(&worker_list, on);
}

/* The fork server compiles its workers' list once, for all of them. */
void
sbx_store_spawner(int on)
{
	sbx_prepare(&worker_list, on);
	sbx_install(&spawner_list, on);
}
