/*
 * privpop-store's system calls: the worker (the mailbox owner, after
 * priv_drop() and priv_limit()) and its fork server (root, -Z).  A
 * filter is inherited across fork and can only be tightened, so the fork
 * server's list is the worker's and what a child does between the fork
 * and the drop: its syslog socket, the drop to the owner and its checks,
 * the limits.
 *
 * A worker forked by the fork server keeps that filter and loads none of
 * its own: loading one costs about 0.3 ms of kernel time per process
 * (the BPF JIT and its text patching), a tenth of a login.  What the
 * fork server's list allows beyond the worker's own gives a worker
 * nothing: fork and clone fail (priv_limit() sets RLIMIT_NPROC to 0,
 * which only CAP_SYS_RESOURCE could raise, and the worker has no
 * capability), the set*id calls of a process whose ids are all the
 * owner's change nothing, prctl only forbids (no_new_privs, not
 * dumpable) or names, prlimit64 only this process, socket only Unix
 * ones, and the owner's worker may already write any file the owner
 * can.  A worker exec'd by privpop-auth (no fork server) loads the
 * worker list itself.
 *
 * Runs as: root (privpop-store -Z) and the mailbox owner (the worker).
 */
#include "config.h"

#include <sys/prctl.h>
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
	/* a dotlock on NFS may be another host's: its pid is not checked
	 * there (mbox_lock.c), which fstatfs tells; the Maildir lock file
	 * reads /proc/sys/kernel/random/boot_id with openat (above) */
	SBX_CALL(fstatfs),
	/* the IPC with the session child */
	SBX_CALL(recvmsg), SBX_CALL(sendmsg), SBX_CALL(poll),
	/* the body memfd: made, sized, sealed (fcntl), mapped (base) */
	SBX_CALL(memfd_create), SBX_CALL(fallocate),
	/* abort() */
	SBX_CALL_IF(tgkill, 2, SIGABRT),
	/* glibc's qsort asks for the machine's memory (sysinfo, through
	 * sysconf(_SC_PHYS_PAGES)) the first time it sorts more than 1 kB:
	 * the names of a Maildir of about 60 messages or more */
	SBX_CALL(sysinfo),
	/* mail_location = auto that found ~/Maildir: the spool's dotlock
	 * child, let go, is reaped (dotlock_child_end) */
	SBX_CALL(wait4),
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
	/* priv_limit: this process's rlimits (prlimit64 of pid 0), no new
	 * privileges, not dumpable; the dotlock child's name */
	SBX_CALL_IF(prlimit64, 0, 0), SBX_CALL(setrlimit),
	SBX_CALL(getrlimit), SBX_CALL_IF(prctl, 0, PR_SET_NO_NEW_PRIVS),
	SBX_CALL_IF2(prctl, 0, PR_SET_DUMPABLE, 1, 0),
	SBX_CALL_IF(prctl, 0, PR_SET_NAME),
};

static const struct sbx_list worker_list = {
	"mailstore worker", "store", 0,
	{ SBX_PART(store_calls), SBX_PART(worker_refused) },
};

static const struct sbx_list spawner_list = {
	"store fork server", "store-spawner", 0,
	{ SBX_PART(store_calls), SBX_PART(spawner_calls) },
};

/* An exec'd worker (privpop-auth had no fork server to ask). */
void
sbx_store(int on)
{
	sbx_install(&worker_list, on);
}

void
sbx_store_spawner(int on)
{
	sbx_install(&spawner_list, on);
}

/* A worker of the fork server: its filter is already in. */
void
sbx_store_forked(void)
{
	sbx_inherited(worker_list.role, worker_list.key);
}
