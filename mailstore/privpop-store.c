/*
 * privpop-store: the mailstore worker.  Forked by the store fork server
 * (-Z) or exec'd by privpop-auth (-u, -g, -G), as root, and dropped to
 * the mailbox owner here (worker_drop), with its socket on fd 3, which
 * it then serves (store_serve.c: MSG_STORE_INIT from privpop-auth, then
 * the session child's requests until QUIT or EOF).  What runs as root:
 * the fork server (-Z), and up to the drop, reading the spawn request
 * and the ids, and starting the dotlock child.
 *
 * Runs as: root (the fork server -Z, a worker up to its drop), then the
 * mailbox owner.
 */
#include "config.h"

#include <sys/syscall.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dotlock_child.h"
#include "fdlayout.h"
#include "ipc.h"
#include "ipc_master.h"
#include "log.h"
#include "numparse.h"
#include "privdrop.h"
#include "proctitle.h"
#include "sandbox.h"
#include "spawner.h"
#include "store_serve.h"

/* Descriptors the worker needs: socket, Maildir, lock, one message,
 * one directory scan, syslog, stdio. */
#define STORE_RLIMIT_NOFILE	32

/*
 * As root: become the mailbox owner, for good (no exec follows).  A
 * worker that needs a group for dotlocks (an mbox in a root:mail 2775
 * spool) leaves it to a dotlock child and drops without it, so the
 * process that parses mail can open no other user's spool.
 */
static void
worker_drop(uid_t uid, gid_t gid, gid_t extra)
{
	int fd;

	if (uid == 0 || gid == 0)
		fatalx("uid/gid 0 refused");
	if (extra != PRIV_NO_GROUP && extra != gid) {
		if ((fd = dotlock_child_start(uid, gid, extra,
		    IPC_CHILD_FD)) == -1)
			fatal("dotlock child");
		dotlock_child_use(fd);
	}
	priv_drop(uid, gid, PRIV_NO_GROUP, NULL);
}

/* The fork server, after each fork: the helper that asked learns that
 * its worker exists, with a pidfd of it (none if pidfd_open failed),
 * on which it waits when it holds a PAM session. */
static void
report_pidfd(int chan, pid_t pid)
{
	int pfd;

	if ((pfd = (int)syscall(SYS_pidfd_open, pid, 0)) == -1)
		log_warn("pidfd_open");
	(void)ipc_send_auth_worker_pidfd(chan, pfd);
	if (pfd != -1)
		close(pfd);
}

/*
 * -Z: the fork server of workers.  Started by privpopd as root (it
 * needs to setuid its children), it holds no secret and parses nothing
 * itself: each MSG_STORE_SPAWN from an auth helper brings a channel to
 * that helper and becomes a child that reads the request, takes its
 * socket from the channel, drops to that owner and serves the socket,
 * exactly as an exec'd worker would.
 */
static void
become_worker(int seccomp_on)
{
	struct msg m, s;
	uid_t uid;
	gid_t gid, extra;
	int chan, hfd, fd;

	sbx_store_spawner(seccomp_on);
	if (spawner_serve(IPC_CHILD_FD, MSG_STORE_SPAWN, 0, "privpop-store",
	    &m, NULL, NULL, &chan, NULL, report_pidfd) == 1)
		exit(0);
	if (ipc_get_store_spawn(&m, &uid, &gid, &extra, &hfd) == -1)
		fatalx("STORE_SPAWN: malformed");
	if (ipc_recv(hfd, &s) != 1 || ipc_get_store_socket(&s, &fd) == -1)
		fatal("STORE_SOCKET: missing or malformed");
	close(hfd);
	/* the spawner's socket was fd 3: the new one may be there now */
	if (fd != IPC_CHILD_FD) {
		if (dup2(fd, IPC_CHILD_FD) == -1)
			fatal("dup2");
		close(fd);
	}
	log_reopen();	/* a syslog socket of its own, not root's */
	if (geteuid() == 0)
		worker_drop(uid, gid, extra);
}

/* -u uid, -g gid, -G gid: privpop-auth execs this as root when it
 * has no fork server to ask, and the drop happens here, before
 * anything else (uid and gid 0 refused). */
static uint32_t
id_arg(const char *s, uint64_t min)
{
	uint64_t v;

	if (parse_uint(s, strlen(s), min, UINT32_MAX, &v) == -1)
		fatalx("bad id %s", s);
	return (uint32_t)v;
}

int
main(int argc, char *argv[])
{
	struct store_state st;
	uint32_t uid = 0, gid = 0, extra = (uint32_t)PRIV_NO_GROUP;
	int ch, to_stderr = 0, debug = 0, zygote = 0, seccomp_on = 1;
	int verbose_title = 1;

	proctitle_init(argc, argv, environ);
	while ((ch = getopt(argc, argv, "deg:G:Nu:TZ")) != -1) {
		switch (ch) {
		case 'g':
			gid = id_arg(optarg, 1);
			break;
		case 'G':
			extra = id_arg(optarg, 1);
			break;
		case 'u':
			uid = id_arg(optarg, 1);
			break;
		case 'd':
			debug = 1;
			break;
		case 'e':
			to_stderr = 1;
			break;
		case 'N':
			seccomp_on = 0;
			break;
		case 'T':	/* verbose_proctitle = no */
			verbose_title = 0;
			break;
		case 'Z':
			zygote = 1;
			break;
		default:
			fprintf(stderr, "usage: privpop-store [-deNT] "
			    "[-u uid -g gid [-G gid]] | -Z\n");
			return 2;
		}
	}
	log_open("privpop-store", to_stderr, debug);
	if (zygote)
		become_worker(seccomp_on);
	else if (uid != 0 && gid != 0 && geteuid() == 0)
		worker_drop((uid_t)uid, (gid_t)gid, (gid_t)extra);
	if (geteuid() == 0 || getuid() == 0)
		fatalx("refusing to run as root");
	if (fcntl(IPC_CHILD_FD, F_GETFD) == -1)
		fatalx("no IPC socket on fd %d", IPC_CHILD_FD);
	priv_limit(STORE_RLIMIT_NOFILE, 1);
	if (zygote)
		sbx_store_forked();	/* the fork server's filter */
	else
		sbx_store(seccomp_on);

	store_state_init(&st, IPC_CHILD_FD);
	st.verbose_title = verbose_title;
	store_serve(&st);
	store_close(&st);	/* after EOF: nothing deleted */
	return 0;
}
