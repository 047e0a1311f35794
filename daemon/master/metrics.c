/*
 * metrics_listen, the master's side: bind the HTTP socket, fork the
 * metrics process (daemon/metrics/metrics_proc.c), which drops here,
 * before it runs any code of its own, exactly as the slot zygote does
 * (chroot, user, no supplementary group, uid 0 and gid 0 checked
 * unreachable), and push it the stats text of privpopctl stats in a
 * sealed memfd every METRICS_PUSH_INTERVAL.  Push, never pull: the
 * master only writes to the metrics process's socket (non-blocking:
 * when it is full the round is skipped) and never reads or polls it;
 * every HTTP byte is parsed in the unprivileged process.
 *
 * Runs as: root (the master; its forked child until priv_drop()).
 */
#include "config.h"

#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "control.h"
#include "fdlayout.h"
#include "fsutil.h"
#include "ipc.h"
#include "ipc_master.h"
#include "log.h"
#include "master.h"
#include "metrics.h"
#include "metrics_proc.h"
#include "privdrop.h"

/* The descriptors the metrics process keeps, where it keeps them. */
#define METRICS_FD_LISTEN	3
#define METRICS_FD_MASTER	4
/* The master's send buffer toward it: a push is some 40 bytes and a
 * descriptor, so a few wait at most when the process does not read
 * (the kernel's minimum is about 4.5 KiB whatever is asked). */
#define METRICS_SNDBUF		4096
#define METRICS_COMM		"privpop-metrics"	/* its comm, for ps */

static struct conf_listen where;	/* bound; host "" when none */
static char chroot_dir[CONF_PATH_MAX];
static uid_t m_uid;
static gid_t m_gid;
static int m_seccomp;
static int lfd = -1;		/* the HTTP listener */
static int sock = -1;		/* the master's end of the socketpair */
static pid_t pid;		/* the metrics process, or 0 */
static time_t last_start, last_push;	/* CLOCK_MONOTONIC */

static time_t
mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/* kill by pid, reap: SIGKILL ends it at once, so the wait is short */
static void
proc_stop(void)
{
	int status;

	if (sock != -1)
		close(sock);
	sock = -1;
	if (pid <= 0)
		return;
	kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	pid = 0;
}

static void push(void);

static int
bind_metrics(const struct conf_listen *l)
{
	struct addrinfo hints, *res, *ai;
	int fd = -1, r, saved = 0;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((r = getaddrinfo(strcmp(l->host, "*") == 0 ? NULL : l->host,
	    l->port, &hints, &res)) != 0) {
		log_warnx("metrics_listen %s:%s: %s; no metrics", l->host,
		    l->port, gai_strerror(r));
		return -1;
	}
	for (ai = res; ai != NULL && fd < 0; ai = ai->ai_next) {
		if ((fd = master_bound_socket(ai)) == -1)
			saved = errno;
		else if (fd >= 0 && (listen(fd, METRICS_CONN_MAX) == -1 ||
		    fcntl(fd, F_SETFL, O_NONBLOCK) == -1)) {
			saved = errno;
			close(fd);
			fd = -1;
		}
	}
	freeaddrinfo(res);
	if (fd < 0) {
		errno = saved;
		log_warn("metrics_listen %s:%s; no metrics", l->host, l->port);
		return -1;
	}
	return fd;
}

/* The child: nothing of the master's but the listener, its socket and
 * a syslog socket of its own; then the drop, before any code of the
 * metrics process runs. */
__attribute__((noreturn)) static void
child(int csock)
{
	struct fd_place keep[] = {
		{ lfd, METRICS_FD_LISTEN }, { csock, METRICS_FD_MASTER },
	};
	int fd;

	/* ps -o comm and the tests tell it from the slots */
	(void)prctl(PR_SET_NAME, METRICS_COMM, 0, 0, 0);
	signal(SIGHUP, SIG_IGN);
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGCHLD, SIG_DFL);
	signal(SIGPIPE, SIG_IGN);
	closelog();
	if (fd_layout(keep, sizeof(keep) / sizeof(keep[0]),
	    METRICS_FD_LISTEN) == -1)
		_exit(1);
	(void)fcntl(METRICS_FD_LISTEN, F_SETFD, FD_CLOEXEC);
	(void)fcntl(METRICS_FD_MASTER, F_SETFD, FD_CLOEXEC);
	if ((fd = open("/dev/null", O_RDWR | O_CLOEXEC)) == -1 ||
	    dup2(fd, 0) == -1 || dup2(fd, 1) == -1)
		_exit(1);
	close(fd);
	log_reopen();		/* its own socket, before the chroot */
	if (priv_is_root())
		priv_drop(m_uid, m_gid, PRIV_NO_GROUP, chroot_dir);
	metrics_proc_main(METRICS_FD_LISTEN, METRICS_FD_MASTER, m_seccomp);
}

static void
proc_start(void)
{
	int sv[2], sz = METRICS_SNDBUF;

	last_start = mono();
	if (ipc_socketpair(sv) == -1) {
		log_warn("metrics: socketpair");
		return;
	}
	switch (pid = fork()) {
	case -1:
		log_warn("metrics: fork");
		pid = 0;
		close(sv[0]);
		close(sv[1]);
		return;
	case 0:
		close(sv[0]);
		child(sv[1]);
	}
	close(sv[1]);
	sock = sv[0];
	if (fcntl(sock, F_SETFL, O_NONBLOCK) == -1)
		log_warn("metrics: O_NONBLOCK");
	(void)setsockopt(sock, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	/* a first snapshot at once: it waits in the socket before the
	 * process polls, and the process reads it before it accepts */
	push();
}

void
metrics_configure(const struct conf *c, uid_t uid, gid_t gid)
{
	const struct conf_listen *l = &c->metrics_listen;
	int same_addr = strcmp(where.host, l->host) == 0 &&
	    strcmp(where.port, l->port) == 0;

	if (same_addr && uid == m_uid && gid == m_gid &&
	    strcmp(chroot_dir, c->chroot_dir) == 0 &&
	    m_seccomp == c->seccomp && (lfd != -1 || l->host[0] == '\0'))
		return;		/* a reload that changes none of it */
	proc_stop();
	m_uid = uid;
	m_gid = gid;
	m_seccomp = c->seccomp;
	snprintf(chroot_dir, sizeof(chroot_dir), "%s", c->chroot_dir);
	if (!same_addr || lfd == -1) {
		if (lfd != -1)
			close(lfd);
		lfd = -1;
		memset(&where, 0, sizeof(where));
		if (l->host[0] == '\0')
			return;
		if ((lfd = bind_metrics(l)) == -1)
			return;
		where = *l;
	}
	proc_start();
	log_info("metrics on http://%s:%s/metrics (privpop: [metrics] %ld)",
	    where.host, where.port, (long)pid);
}

static void
push(void)
{
	char *text;
	size_t len;
	int mfd;

	last_push = mono();
	if ((text = control_stats_text(&len)) == NULL) {
		log_warn("metrics snapshot");
		return;
	}
	if (len > METRICS_SNAPSHOT_MAX)
		len = 0;	/* cannot be: control.c's lines are bounded */
	mfd = fs_sealed_memfd("privpop-metrics", text, len);
	free(text);
	if (mfd == -1) {
		log_warn("metrics snapshot");
		return;
	}
	/* non-blocking: a process that does not read misses this round */
	if (ipc_send_metrics_snapshot(sock, mfd) == -1 && errno != EAGAIN &&
	    errno != EWOULDBLOCK && errno != EPIPE && errno != ECONNREFUSED)
		log_warn("metrics snapshot");
	close(mfd);
}

void
metrics_tick(void)
{
	time_t now;

	if (lfd == -1)
		return;
	now = mono();
	if (pid == 0 && now - last_start >= METRICS_RESTART_INTERVAL) {
		proc_start();
		if (pid > 0)
			log_info("metrics process restarted (%ld)", (long)pid);
	}
	if (pid > 0 && sock != -1 && now - last_push >= METRICS_PUSH_INTERVAL)
		push();
}

int
metrics_reaped(pid_t p, int status)
{
	if (pid <= 0 || p != pid)
		return 0;
	log_warnx("metrics process %ld %s %d; restarting it", (long)p,
	    WIFSIGNALED(status) ? "killed by signal" : "exited with status",
	    WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
	pid = 0;
	if (sock != -1)
		close(sock);
	sock = -1;
	return 1;
}

void
metrics_close_inherited(void)
{
	if (lfd != -1)
		close(lfd);
	if (sock != -1)
		close(sock);
	lfd = sock = -1;
	pid = 0;
}

void
metrics_stop(void)
{
	proc_stop();
	if (lfd != -1)
		close(lfd);
	lfd = -1;
	memset(&where, 0, sizeof(where));
}
