/*
 * The privpopd master.  Runs as root: binds the listeners, accepts
 * every connection and hands it to a pre-forked session slot, keeps the
 * pool, counts connections per client address, reaps, reloads and
 * logs.  It never reads a byte from a client: it takes the address from
 * accept(2), and writes one fixed line to a connection it refuses.  It
 * learns that a session logged in only from the slot's privpop-auth
 * (root, it checked the credentials), on a channel the slot never
 * holds.  A slot says one thing on its own socket, its session's
 * figures (MSG_MASTER_SESSION_STATS, read_slot); anything else ends it.
 *
 * Runs as: root (the privpopd master).
 */
#include "config.h"

#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "addrlist.h"
#include "auth_helper.h"
#include "control.h"
#include "fsutil.h"
#include "ipc.h"
#include "ipc_master.h"
#include "iplimit.h"
#include "log.h"
#include "numparse.h"
#include "penalty.h"
#include "master.h"
#include "metrics.h"
#include "privdrop.h"
#include "proctitle.h"
#include "transcript_dir.h"
#include "sandbox.h"
#include "sdnotify.h"
#include "slot.h"
#include "tls_ctx.h"

struct slot {
	pid_t		pid;
	int		busy;		/* has been handed a connection */
	int		authed;		/* its privpop-auth reported a login */
	int		killed;		/* ended by the master, uncounted */
	int		tls;		/* its connection: implicit TLS */
	int		proxied;	/* from haproxy_trusted_networks: its
					   client comes in MSG_MASTER_PEER */
	time_t		kicked;		/* SIGTERM by privpopctl kick (mono),
					   SIGKILL after KICK_GRACE_SECONDS */
	unsigned	gen;
	int		sock;		/* the master's end of its socket */
	int		login;		/* its privpop-auth's login report
					   channel (MSG_MASTER_LOGIN), or -1 */
	time_t		since;		/* the connection's accept (mono) */
	time_t		rep_sec;	/* its reports in this second (mono) */
	unsigned	rep_n;
	char		key[PENALTY_ADDR_MAX];	/* iplimit key */
	char		addr[PEER_ADDR_MAX];
	char		trname[TRDIR_NAME_MAX];	/* its transcript_dir file */
};

/* Accepted, counted, waiting for a slot being freed or forked. */
struct pending {
	int		fd;
	int		tls;
	int		proxied;	/* from haproxy_trusted_networks */
	time_t		since;
	char		key[PENALTY_ADDR_MAX];
	char		addr[PEER_ADDR_MAX];
};

static struct slot *slots;
static size_t nslots_cap;
static unsigned generation;
static int sigpipe_fds[2] = { -1, -1 };
static struct pending pending[MASTER_PENDING_MAX];
static int npending;
static struct iplimit iplimits;
static time_t accept_pause_until;
static unsigned evicted;		/* since the last log line */
static time_t evict_logged;
static struct slot_env env;
static struct conf *live_conf;	/* env.conf, writable (log-level) */
static int penalty_fds[2] = { -1, -1 };	/* reports from privpop-auth */
static struct penalty_table *penalties;
static int fail_streak;		/* slots that died without serving */
static time_t tickets_rotated;
static time_t spawn_pause_until;
static int auth_spawner_fd = -1;	/* privpop-auth -Z of this generation */
static pid_t auth_spawner_pid;
static pid_t store_spawner_pid;		/* its privpop-store -Z */
static int zygote_fd = -1;		/* the slot zygote of this generation */
static pid_t zygote_pid;
static pid_t zygote_retired_pid;	/* the last one, for the reaper */

static void
on_signal(int sig)
{
	unsigned char c = (unsigned char)sig;
	int saved = errno;

	if (write(sigpipe_fds[1], &c, 1) == -1) {
		/* full pipe: a wakeup is pending anyway */
	}
	errno = saved;
}

static void
set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl == -1 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1)
		fatal("fcntl O_NONBLOCK");
}

int
master_bound_socket(const struct addrinfo *ai)
{
	int fd, on = 1, saved;

	if ((fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
	    ai->ai_protocol)) == -1)
		return -2;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (ai->ai_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) == -1) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

/* Bind every "listen" of c into fds (tls[] marks implicit TLS);
 * returns the count or -1. */
static int
bind_listeners(const struct conf *c, int *fds, int *tls, char *err,
    size_t errlen)
{
	int i, n = 0;

	for (i = 0; i < c->nlisten; i++) {
		const struct conf_listen *l = &c->listen[i];
		struct addrinfo hints, *res, *ai;
		int got = 0, r;

		memset(&hints, 0, sizeof(hints));
		hints.ai_family = AF_UNSPEC;
		hints.ai_socktype = SOCK_STREAM;
		hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
		r = getaddrinfo(strcmp(l->host, "*") == 0 ? NULL : l->host,
		    l->port, &hints, &res);
		if (r != 0) {
			snprintf(err, errlen, "listen %s:%s: %s", l->host,
			    l->port, gai_strerror(r));
			goto fail;
		}
		for (ai = res; ai != NULL; ai = ai->ai_next) {
			int fd;

			if (n >= MAX_LISTENERS)
				break;
			if ((fd = master_bound_socket(ai)) == -2)
				continue;
			if (fd == -1 || listen(fd, SOMAXCONN) == -1) {
				snprintf(err, errlen, "listen %s:%s: %s",
				    l->host, l->port, strerror(errno));
				if (fd != -1)
					close(fd);
				continue;
			}
			set_nonblock(fd);
			tls[n] = l->tls;
			fds[n++] = fd;
			got = 1;
		}
		freeaddrinfo(res);
		if (!got)
			goto fail;
	}
	return n;
fail:
	while (n > 0)
		close(fds[--n]);
	return -1;
}

/*
 * systemd socket activation (Accept=no): listeners on fds 3.. when
 * LISTEN_PID is us.  A socket named "pop3s" (FileDescriptorName=) is
 * implicit TLS.  Returns the count, 0 when not socket-activated.
 */
static int systemd_sockets;

int
master_listen_fds(void)
{
	const char *pid = getenv("LISTEN_PID"), *nfds = getenv("LISTEN_FDS");
	uint64_t v, n;

	if (pid == NULL || nfds == NULL ||
	    parse_uint(pid, strlen(pid), 1, INT32_MAX, &v) == -1 ||
	    (pid_t)v != getpid() ||
	    parse_uint(nfds, strlen(nfds), 1, MAX_LISTENERS, &n) == -1)
		return 0;
	return (int)n;
}

static int
inherit_listeners(int *fds, int *tls)
{
	const char *names = getenv("LISTEN_FDNAMES");
	int i, n;

	if ((n = master_listen_fds()) == 0)
		return 0;
	for (i = 0; i < n; i++) {
		const char *nm = names;
		int k;

		fds[i] = 3 + i;
		if (fcntl(fds[i], F_SETFD, FD_CLOEXEC) == -1)
			fatal("LISTEN_FDS fd %d", fds[i]);
		set_nonblock(fds[i]);
		/* the i-th ':'-separated name */
		for (k = 0; nm != NULL && k < i; k++)
			if ((nm = strchr(nm, ':')) != NULL)
				nm++;
		tls[i] = nm != NULL && strncmp(nm, "pop3s", 5) == 0 &&
		    (nm[5] == '\0' || nm[5] == ':');
	}
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	systemd_sockets = 1;
	return n;
}

int
resolve_user(const struct conf *c, uid_t *uid, gid_t *gid, char *err,
    size_t errlen)
{
	struct passwd *pw;
	char why[128];

	if (!priv_is_root()) {
		*uid = getuid();
		*gid = getgid();
		return 0;
	}
	if ((pw = getpwnam(c->user)) == NULL) {
		snprintf(err, errlen, "user \"%s\" does not exist (create it: "
		    "useradd --system --no-create-home --home-dir /nonexistent "
		    "--shell /usr/sbin/nologin %s)", c->user, c->user);
		return -1;
	}
	if (pw->pw_uid == 0) {
		snprintf(err, errlen, "user = %s: uid 0, but session "
		    "children read client bytes and must not run as root: "
		    "set user to an unprivileged account (the default, "
		    "privpop)", c->user);
		return -1;
	}
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	if (priv_check_empty_dir(c->chroot_dir, why, sizeof(why)) == -1) {
		snprintf(err, errlen, "chroot %s %s (it must be an empty "
		    "directory owned by root, writable by no one else)",
		    c->chroot_dir, why);
		return -1;
	}
	return 0;
}

static struct slot *
slot_find(pid_t pid)
{
	size_t i;

	for (i = 0; i < nslots_cap; i++)
		if (slots[i].pid == pid)
			return &slots[i];
	return NULL;
}

static void
count_slots(size_t *idle, size_t *total)
{
	size_t i;

	*idle = *total = 0;
	for (i = 0; i < nslots_cap; i++) {
		if (slots[i].pid == 0)
			continue;
		(*total)++;
		if (!slots[i].busy && slots[i].gen == generation)
			(*idle)++;
	}
}

/* Retire this generation's fork server: at EOF it exits, and the
 * helpers it forked serve their sessions to the end. */
static void
auth_spawner_stop(void)
{
	if (auth_spawner_fd != -1)
		close(auth_spawner_fd);
	auth_spawner_fd = -1;
	auth_spawner_pid = 0;
	store_spawner_pid = 0;	/* it ends when its last client does */
}

/*
 * One privpop-auth per slot, forked by a privpop-auth -Z that has
 * already loaded the configuration, the libraries and the TLS keys:
 * exec'ing a fresh helper for every session cost more than the rest of
 * a login.  The helpers of one generation share the fork server's
 * address-space layout, as the slots share the master's.
 * Returns the slot's end of its helper socket, or -1.  *login_r gets
 * the master's end of the helper's login report channel: a login
 * counts only when the helper that checked it says so there, never on
 * the word of the slot, which holds no end of it.
 */
static int
auth_for_slot(int *login_r)
{
	int sv[2], lr[2];

	*login_r = -1;
	if (auth_spawner_fd == -1) {
		int ss[2] = { -1, -1 };

		/* the workers' fork server: only the auth fork server (and
		 * the helpers it forks) hold its socket, not the master */
		store_spawner_pid = 0;
		if (ipc_socketpair(ss) == -1)
			log_warn("socketpair");
		else if ((store_spawner_pid = store_spawner_start(&env,
		    ss[1])) == -1) {
			store_spawner_pid = 0;
			close(ss[0]);
			ss[0] = -1;
		}
		if (ipc_socketpair(sv) == -1) {
			log_warn("socketpair");
			if (ss[0] != -1)
				close(ss[0]);
			return -1;
		}
		auth_spawner_pid = auth_helper_start(&env, sv[1], 1, ss[0]);
		if (ss[0] != -1)
			close(ss[0]);
		if (auth_spawner_pid == -1) {
			close(sv[0]);
			return -1;
		}
		auth_spawner_fd = sv[0];
	}
	if (ipc_socketpair(sv) == -1) {
		log_warn("socketpair");
		return -1;
	}
	if (ipc_socketpair(lr) == -1) {
		log_warn("socketpair");
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	/* one descriptor a message: the request is two, sent together */
	if (ipc_send_auth_spawn(auth_spawner_fd, sv[1]) == -1 ||
	    ipc_send_auth_spawn_report(auth_spawner_fd, lr[1]) == -1) {
		log_warn("privpop-auth fork server");
		auth_spawner_stop();	/* a new one next time */
		close(sv[0]);
		close(sv[1]);
		close(lr[0]);
		close(lr[1]);
		return -1;
	}
	close(sv[1]);
	close(lr[1]);
	*login_r = lr[0];
	return sv[0];
}

static time_t
mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/* In a new slot: nothing of the master's but what the slot needs (no
 * listener: it cannot accept; no other slot's socket: it speaks for
 * itself only; no login report channel: those are the helpers' word,
 * not a slot's). */
static void
slot_close_inherited(int own)
{
	size_t i;
	int k;

	close(sigpipe_fds[0]);
	close(sigpipe_fds[1]);
	close(penalty_fds[0]);
	control_close_inherited();
	metrics_close_inherited();
	trdir_close_inherited();
	/* never the fork server's socket in an unprivileged slot */
	if (auth_spawner_fd != -1)
		close(auth_spawner_fd);
	for (k = 0; k < env.nlisten; k++)
		close(env.listen_fds[k]);
	env.nlisten = 0;
	for (i = 0; i < nslots_cap; i++) {
		if (slots[i].sock != -1 && slots[i].sock != own)
			close(slots[i].sock);
		if (slots[i].login != -1)
			close(slots[i].login);
	}
	for (k = 0; k < npending; k++)
		close(pending[k].fd);
}

/* Retire this generation's slot zygote: at EOF it exits; its slots
 * are the master's children and live on. */
static void
zygote_stop(void)
{
	if (zygote_fd != -1)
		close(zygote_fd);
	zygote_fd = -1;
	if (zygote_pid > 0)
		zygote_retired_pid = zygote_pid;
	zygote_pid = 0;
}

/* A hung or lying zygote is replaced, not waited for. */
static void
zygote_kill(const char *why)
{
	log_warnx("slot zygote %ld %s: starting another", (long)zygote_pid,
	    why);
	if (zygote_pid > 0)
		kill(zygote_pid, SIGKILL);
	zygote_stop();
}

/* The slot zygote of this generation (slot.c), forked after the TLS
 * context is warm, so that every slot shares it; 0 or -1. */
static int
zygote_start(void)
{
	pid_t pid;
	int sv[2];

	if (ipc_socketpair(sv) == -1) {
		log_warn("socketpair");
		return -1;
	}
	switch (pid = fork()) {
	case -1:
		log_warn("fork");
		close(sv[0]);
		close(sv[1]);
		return -1;
	case 0:
		slot_close_inherited(-1);
		close(sv[0]);
		env.master_fd = -1;
		env.auth_fd = -1;
		slot_zygote_main(&env, sv[1]);
	}
	close(sv[1]);
	zygote_fd = sv[0];
	zygote_pid = pid;
	return 0;
}

/*
 * The zygote's answer: the pid of the slot it forked, which must be a
 * child of ours (CLONE_PARENT) and no process we already know, lest a
 * zygote gone wrong have us kill another one later.  0 when it could
 * not fork; -1 when the zygote failed.
 */
static pid_t
zygote_answer(void)
{
	struct pollfd pfd = { zygote_fd, POLLIN, 0 };
	siginfo_t si;
	struct msg m;
	uint32_t v;
	pid_t pid;
	int r;

	while ((r = poll(&pfd, 1, ZYGOTE_ANSWER_TIMEOUT_MS)) == -1 &&
	    errno == EINTR)
		;
	if (r == 0) {
		zygote_kill("did not answer");
		return -1;
	}
	if (r == -1 || ipc_recv(zygote_fd, &m) != 1 ||
	    ipc_get_master_slot_pid(&m, &v) == -1) {
		zygote_kill("failed");
		return -1;
	}
	if (v == 0)
		return 0;
	pid = (pid_t)v;
	memset(&si, 0, sizeof(si));
	if (v > (uint32_t)INT32_MAX || pid == getpid() ||
	    pid == zygote_pid || pid == auth_spawner_pid ||
	    pid == store_spawner_pid || slot_find(pid) != NULL ||
	    waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) ==
	    -1) {
		zygote_kill("named a process that is not its new slot");
		return -1;
	}
	return pid;
}

/* A new idle slot, forked by the zygote; 0, or -1 when none could be
 * started.  The slot's privpop-auth socket and a syslog socket of its
 * own follow on its socket. */
static int
spawn_slot(void)
{
	struct slot *sl = slot_find(0);
	pid_t pid;
	int sv[2], logfd, login;

	if (sl == NULL)
		return -1;
	if (zygote_fd == -1 && zygote_start() == -1) {
		spawn_pause_until = time(NULL) + 1;
		return -1;
	}
	if (ipc_socketpair(sv) == -1) {
		log_warn("socketpair");
		spawn_pause_until = time(NULL) + 1;
		return -1;
	}
	if ((env.auth_fd = auth_for_slot(&login)) == -1) {
		spawn_pause_until = time(NULL) + 1;
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if (ipc_send_zygote_spawn(zygote_fd, sv[1]) == -1) {
		zygote_kill("is gone");
		pid = -1;
	} else
		pid = zygote_answer();
	close(sv[1]);
	if (pid <= 0) {
		if (pid == 0)
			log_warnx("the slot zygote could not fork");
		spawn_pause_until = time(NULL) + 1;
		close(env.auth_fd);
		env.auth_fd = -1;
		close(login);
		close(sv[0]);
		return -1;
	}
	if (ipc_send_slot_auth(sv[0], env.auth_fd) == -1)
		log_warn("privpop-auth socket to slot %ld", (long)pid);
	close(env.auth_fd);
	env.auth_fd = -1;
	logfd = log_syslog_socket();
	if (ipc_send_slot_log(sv[0], logfd) == -1)
		log_warn("syslog socket to slot %ld", (long)pid);
	if (logfd != -1)
		close(logfd);
	memset(sl, 0, sizeof(*sl));
	sl->pid = pid;
	sl->gen = generation;
	sl->sock = sv[0];
	sl->login = login;
	set_nonblock(sl->sock);	/* read_slot: what is there, no more */
	return 0;
}

static void
refill(const struct conf *c)
{
	size_t idle, total;

	if (time(NULL) < spawn_pause_until)
		return;
	count_slots(&idle, &total);
	while (idle < (size_t)c->prefork && total < (size_t)c->max_sessions &&
	    total < nslots_cap) {
		if (spawn_slot() == -1)
			break;
		idle++;
		total++;
	}
}

static void read_slot(struct slot *, int);

static void
reap(void)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		struct slot *sl = slot_find(pid);
		int bad = WIFSIGNALED(status) ||
		    (WIFEXITED(status) && WEXITSTATUS(status) != 0);

		if (sl == NULL && metrics_reaped(pid, status))
			continue;	/* restarted by metrics_tick() */

		if (sl == NULL && store_spawner_pid > 0 &&
		    pid == store_spawner_pid) {
			/* helpers start workers themselves meanwhile; the
			 * next slot gets a new pair, unless it could not
			 * even be exec'd (127): then not before a reload,
			 * rather than a new pair for every slot */
			log_warnx("privpop-store fork server %ld %s %d",
			    (long)pid, WIFSIGNALED(status) ?
			    "killed by signal" : "exited with status",
			    WIFSIGNALED(status) ? WTERMSIG(status) :
			    WEXITSTATUS(status));
			store_spawner_pid = 0;
			if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
				log_warnx("helpers exec privpop-store "
				    "themselves until the next reload");
			else
				auth_spawner_stop();
			continue;
		}
		if (sl == NULL && pid > 0 && (pid == zygote_pid ||
		    pid == zygote_retired_pid)) {
			/* a retired one ends at EOF with status 0 */
			if (bad)
				log_warnx("slot zygote %ld %s %d", (long)pid,
				    WIFSIGNALED(status) ? "killed by signal" :
				    "exited with status", WIFSIGNALED(status) ?
				    WTERMSIG(status) : WEXITSTATUS(status));
			if (pid == zygote_pid)
				zygote_stop();	/* another for the next slot */
			continue;
		}
		if (sl == NULL && pid == auth_spawner_pid) {
			log_warnx("privpop-auth fork server %ld %s %d",
			    (long)pid, WIFSIGNALED(status) ?
			    "killed by signal" : "exited with status",
			    WIFSIGNALED(status) ? WTERMSIG(status) :
			    WEXITSTATUS(status));
			auth_spawner_stop();
			continue;
		}
		if (sl == NULL) {
			/* a helper reparented here (privpop-store after
			 * its privpop-auth exited) */
			if (WIFSIGNALED(status))
				log_warnx("helper process %ld killed by signal "
				    "%d", (long)pid, WTERMSIG(status));
			else if (bad)
				log_warnx("helper process %ld exited with "
				    "status %d", (long)pid, WEXITSTATUS(status));
			continue;
		}
		if (sl->killed)
			;	/* evicted or past its login: logged then */
		else if (WIFSIGNALED(status) && WTERMSIG(status) != SIGTERM)
			log_warnx("session process %ld killed by signal %d",
			    (long)pid, WTERMSIG(status));
		else if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
			log_warnx("session process %ld exited with status %d",
			    (long)pid, WEXITSTATUS(status));
		/* A slot that dies before serving anyone is broken: back
		 * off rather than fork in a tight loop. */
		if (!sl->busy && sl->gen == generation && bad) {
			if (++fail_streak >= 5) {
				log_warnx("session slots keep failing; "
				    "pausing for a second");
				spawn_pause_until = time(NULL) + 1;
			}
		} else if (sl->busy)
			fail_streak = 0;
		if (sl->busy && !sl->killed)
			iplimit_release(&iplimits, sl->key, !sl->authed);
		/* its last report came just before its exit */
		if (sl->busy && sl->sock != -1)
			read_slot(sl, SLOT_REPORTS_AT_REAP);
		if (sl->sock != -1)
			close(sl->sock);
		if (sl->login != -1)
			close(sl->login);
		trdir_reaped(sl->trname);
		memset(sl, 0, sizeof(*sl));
		sl->sock = sl->login = -1;
	}
}

/* End a slot's session now (SIGKILL: a hijacked one cannot refuse);
 * its connection no longer counts. */
static void
slot_kill(struct slot *sl)
{
	kill(sl->pid, SIGKILL);
	sl->killed = 1;
	iplimit_release(&iplimits, sl->key, !sl->authed);
}

/*
 * A busy slot says one thing to the master: its session's figures
 * (MSG_MASTER_SESSION_STATS: fixed u64 fields, checked by the IPC table
 * and clamped by the getter), which are only added to counters, at
 * most SLOT_REPORTS_PER_SECOND (a session sends fewer).  Its
 * login is its privpop-auth's to report (read_login): any other
 * message, a claim of a login included, is a session child taken over
 * by what it read: it is ended.  At most max reports a call (the
 * socket is non-blocking), so a chatty session holds up nobody.  EOF is
 * the normal end (the session closes its end as it exits).
 */
static void
read_slot(struct slot *sl, int max)
{
	uint64_t v[SST_COUNT];
	struct msg m;
	int r, n;

	for (n = 0; n < max; n++) {
		r = ipc_recv(sl->sock, &m);
		if (r == -1 && (errno == EAGAIN || errno == EWOULDBLOCK ||
		    errno == EINTR))
			return;		/* the rest next turn */
		if (r == 1 && m.fd != -1)
			close(m.fd);
		if (r == 1 && ipc_get_master_session_stats(&m, v) == 0) {
			if (sl->rep_sec != mono_now()) {
				sl->rep_sec = mono_now();
				sl->rep_n = 0;
			}
			if (++sl->rep_n > SLOT_REPORTS_PER_SECOND &&
			    !sl->killed) {
				log_warnx("session process %ld sent more than "
				    "%d reports in a second: ended",
				    (long)sl->pid, SLOT_REPORTS_PER_SECOND);
				slot_kill(sl);
			}
			if (!sl->killed)
				control_session_stats((size_t)(sl - slots), v);
			continue;
		}
		if ((r == 1 || (r == -1 && errno == EPROTO)) && !sl->killed) {
			log_warnx("session process %ld sent %s to the master: "
			    "ended", (long)sl->pid, msg_name(m.type));
			slot_kill(sl);
		}
		break;
	}
	if (n == max)
		return;
	close(sl->sock);
	sl->sock = -1;
}

/*
 * What a slot's privpop-auth (root, it checked the credentials) says on
 * its login report channel: that the session logged in, once, after
 * the slot was handed its connection; the only word the master takes
 * for a login.  Anything else is a broken helper: the slot is ended.
 * EOF: the helper ended without a login (the session is over).
 */
/*
 * A balancer's client, named by the slot's privpop-auth from the PROXY
 * header (MSG_MASTER_PEER): the connection moves from the balancer's
 * count to its client's, under the client's limits, and privpopctl who
 * shows the client.  Over a limit, the session ends (the client sees
 * the connection close: the session child owns the socket now).
 */
static void
slot_peer(const struct conf *c, struct slot *sl, const char *addr)
{
	char key[PENALTY_ADDR_MAX];
	unsigned n;
	int exempt;

	penalty_key(addr, (unsigned)c->limits_ipv6_prefix, key);
	exempt = c->limits_exempt[0] != '\0' &&
	    addrlist_match(addr, c->limits_exempt);
	iplimit_release(&iplimits, sl->key, 1);
	sl->proxied = 0;		/* told once */
	snprintf(sl->addr, sizeof(sl->addr), "%s", addr);
	if (iplimit_admit(&iplimits, key, exempt ? UINT_MAX :
	    (unsigned)c->max_preauth_per_ip, exempt ? UINT_MAX :
	    (unsigned)c->max_sessions_per_ip) == -1) {
		control_count(CTL_C_REFUSED);
		if (iplimit_log_due(&iplimits, key, time(NULL),
		    LIMIT_LOG_INTERVAL, &n))
			log_warnx("too many connections from %s (through a "
			    "balancer): refused %u since the last report "
			    "(max_preauth_per_ip %d, max_sessions_per_ip "
			    "%d); next report in %d s at the earliest", key,
			    n, c->max_preauth_per_ip, c->max_sessions_per_ip,
			    LIMIT_LOG_INTERVAL);
		kill(sl->pid, SIGKILL);	/* counted nowhere now */
		sl->killed = 1;
		return;
	}
	memcpy(sl->key, key, sizeof(sl->key));
}

static void
read_login(struct slot *sl)
{
	const char *user, *sess, *addr;
	struct msg m;
	int r, tls;

	r = ipc_recv(sl->login, &m);
	if (r == 1 && m.fd != -1)
		close(m.fd);
	if (r == 1 && sl->proxied && !sl->authed && !sl->killed &&
	    ipc_get_master_peer(&m, &addr) == 0) {
		slot_peer(env.conf, sl, addr);
		return;		/* its login may follow */
	}
	if (r == 1 && ipc_get_master_login(&m, &user, &sess, &tls) == 0 &&
	    sl->busy && !sl->authed && !sl->killed) {
		sl->authed = 1;
		iplimit_login(&iplimits, sl->key);
		control_slot_login((size_t)(sl - slots), user, sess, tls);
	} else if ((r == 1 || (r == -1 && errno == EPROTO)) && !sl->killed) {
		log_warnx("privpop-auth of session process %ld sent %s on its "
		    "login report channel: ended", (long)sl->pid,
		    msg_name(m.type));
		slot_kill(sl);
	}
	close(sl->login);	/* said all it may */
	sl->login = -1;
}

static void
read_penalties(void)
{
	struct penalty_report r;
	struct msg m;
	const char *addr;
	int ok, n, method;

	/* bounded: the rest waits for the next turn of the loop */
	for (n = 0; n < PENALTY_READS_PER_TURN; n++) {
		if ((ok = ipc_recv(penalty_fds[0], &m)) == -1 &&
		    errno == EPROTO) {
			log_warnx("penalty report: %s malformed",
			    msg_name(m.type));
			continue;
		}
		if (ok <= 0)
			break;		/* EAGAIN: all read */
		if (ipc_get_master_penalty(&m, &ok, &addr, &method) == -1) {
			log_warnx("penalty report: %s malformed",
			    msg_name(m.type));
			if (m.fd != -1)
				close(m.fd);
			continue;
		}
		if (!ok)
			control_count(CTL_C_LOGIN_FAILS);
		control_count((enum ctl_counter)((ok ? CTL_C_OK_PASS :
		    CTL_C_FAIL_PASS) + method));
		memset(&r, 0, sizeof(r));
		r.ok = (uint32_t)ok;
		snprintf(r.addr, sizeof(r.addr), "%s", addr);
		penalty_apply(penalties, &r, time(NULL));
	}
}

/* A new generation: idle slots, which hold the old configuration or
 * ticket keys, see their socket close and exit. */
static void
retire_idle(void)
{
	size_t i;

	for (i = 0; i < nslots_cap; i++)
		if (slots[i].pid > 0 && !slots[i].busy &&
		    slots[i].sock != -1) {
			close(slots[i].sock);
			slots[i].sock = -1;
		}
	zygote_stop();		/* the next one has the new configuration */
	generation++;
}

/* Room for the slots' sockets and the pending connections: the
 * master's descriptors grow with max_sessions. */
static void
raise_nofile(size_t want)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_cur >= want)
		return;
	rl.rlim_cur = want;
	if (rl.rlim_max < want && priv_is_root())
		rl.rlim_max = want;
	if (rl.rlim_cur > rl.rlim_max)
		rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
		log_warn("RLIMIT_NOFILE %zu", want);
}

static int
slots_alloc(const struct conf *c)
{
	size_t want = (size_t)c->max_sessions + (size_t)c->prefork + 1;
	void *p;

	if (want <= nslots_cap)
		return 0;
	if ((p = reallocarray(slots, want, sizeof(*slots))) == NULL ||
	    iplimit_reserve(&iplimits, want + MASTER_PENDING_MAX) == -1 ||
	    control_reserve(want) == -1)
		return -1;
	slots = p;
	for (; nslots_cap < want; nslots_cap++) {
		memset(&slots[nslots_cap], 0, sizeof(*slots));
		slots[nslots_cap].sock = slots[nslots_cap].login = -1;
	}
	/* two a slot: its socket and its login report channel */
	raise_nofile(2 * want + MASTER_PENDING_MAX + MAX_LISTENERS + 32);
	return 0;
}

static int
same_listeners(const struct conf *a, const struct conf *b)
{
	int i;

	if (a->nlisten != b->nlisten)
		return 0;
	for (i = 0; i < a->nlisten; i++)
		if (strcmp(a->listen[i].host, b->listen[i].host) != 0 ||
		    strcmp(a->listen[i].port, b->listen[i].port) != 0)
			return 0;
	return 1;
}

/* Before the slots that will use it are forked (see tls_warm). */
static void
warm_tls(SSL_CTX *ctx)
{
	if (ctx == NULL)
		return;
	if (tls_warm(ctx))
		log_debug("TLS warm-up: the handshake reached the key holder");
	else
		log_debug("TLS warm-up: the handshake stopped early");
}

/* seccomp = no is for debugging a filter, never for a live site. */
static void
seccomp_setup(const struct conf *c)
{
#ifdef HAVE_SECCOMP
	if (!c->seccomp)
		log_warnx("seccomp = no: the system call filters of every "
		    "role are off");
#else
	(void)c;
	log_warnx("built without seccomp (--disable-seccomp): no system "
	    "call filters");
#endif
}

static void
reload(const struct master_opts *o, struct conf *c)
{
	static struct conf nc;
	char err[512];
	int fds[MAX_LISTENERS], tls[MAX_LISTENERS], n = -1, i;
	uid_t uid;
	gid_t gid;
	SSL_CTX *ctx = NULL;
	int snap = -1, kfd = -1;

	log_check_syslog();	/* a syslog daemon started since */
	if (conf_load_snapshot(&nc, o->conffile, &snap, err,
	    sizeof(err)) == -1 ||
	    resolve_user(&nc, &uid, &gid, err, sizeof(err)) == -1 ||
	    (nc.tls_cert[0] != '\0' &&
	    (ctx = tls_ctx_new(&nc, &kfd, err, sizeof(err))) == NULL)) {
		log_warnx("reload failed, keeping the old configuration: %s",
		    err);
		control_count(CTL_C_RELOAD_FAILS);
		if (snap != -1)
			close(snap);
		return;
	}
	close(env.conf_fd);	/* the next fork server gets the new one */
	env.conf_fd = snap;
	/* Sessions in progress hold their own copy of the old context. */
	tls_ctx_free(env.tls_ctx);
	env.tls_ctx = ctx;
	warm_tls(ctx);
	if (env.tls_keys_fd != -1)
		close(env.tls_keys_fd);
	env.tls_keys_fd = kfd;
	if (!systemd_sockets && !same_listeners(c, &nc)) {
		for (i = 0; i < env.nlisten; i++)
			close(env.listen_fds[i]);
		env.nlisten = 0;
		if ((n = bind_listeners(&nc, fds, tls, err, sizeof(err))) ==
		    -1) {
			log_warnx("reload: %s; trying the old listeners", err);
			if ((n = bind_listeners(c, fds, tls, err,
			    sizeof(err))) == -1)
				fatalx("%s", err);
		} else
			*c = nc;
		memcpy(env.listen_fds, fds, sizeof(int) * (size_t)n);
		memcpy(env.listen_tls, tls, sizeof(int) * (size_t)n);
		env.nlisten = n;
	} else
		*c = nc;
	/* log_debug is the start's, or privpopctl log-level's: kept */
	c->log_debug = log_debug_enabled();
	if (slots_alloc(c) == -1)
		fatal("slots");
	penalties->forget = (uint32_t)c->penalty_forget;
	penalties->v6prefix = (uint32_t)c->penalty_ipv6_prefix;
	env.uid = uid;
	env.gid = gid;
	auth_spawner_stop();	/* the next one reads the new snapshot */
	retire_idle();
	control_open(c);	/* kept, or moved to a new path */
	metrics_configure(c, uid, gid);	/* kept, or moved, or stopped */
	trdir_open(c);
	control_count(CTL_C_RELOADS);
	log_info("configuration reloaded");
	proctitle_master(c, o->conffile, !systemd_sockets);
	seccomp_setup(c);
}

/* ------------------------------------------------------------------ */
/* Connections: accepted here, counted per address, handed to slots */

/* Over the per-address limits: one fixed line (none on a TLS port: the
 * client expects a handshake), close, and a log line per address and
 * interval. */
static void
conn_refuse(const struct conf *c, int fd, int tls, const char *key)
{
	static const char msg[] =
	    "-ERR [SYS/TEMP] Too many connections from your address\r\n";
	unsigned n;

	control_count(CTL_C_REFUSED);
	if (!tls && write(fd, msg, sizeof(msg) - 1) == -1) {
		/* gone, or a full buffer: it is closed either way */
	}
	close(fd);
	if (iplimit_log_due(&iplimits, key, time(NULL), LIMIT_LOG_INTERVAL,
	    &n))
		log_warnx("too many connections from %s: refused %u since "
		    "the last report (max_preauth_per_ip %d, "
		    "max_sessions_per_ip %d); next report in %d s at the "
		    "earliest", key, n, c->max_preauth_per_ip,
		    c->max_sessions_per_ip, LIMIT_LOG_INTERVAL);
}

static void
pending_drop(int i)
{
	close(pending[i].fd);
	memmove(&pending[i], &pending[i + 1], sizeof(pending[0]) *
	    (size_t)(npending - i - 1));
	npending--;
}

/* The waiting connection of the address with the most unauthenticated
 * ones (most: 1) or the fewest (-1), the oldest among equals. */
static int
pending_pick(int most)
{
	unsigned n, best = 0;
	int i, pick = -1;

	for (i = 0; i < npending; i++) {
		n = iplimit_preauth(&iplimits, pending[i].key);
		if (pick == -1 || (most ? n > best : n < best)) {
			pick = i;
			best = n;
		}
	}
	return pick;
}

static void
evict_note(const struct conf *c, const char *addr, const char *key,
    time_t age)
{
	time_t now = mono_now();

	control_count(CTL_C_EVICTED);
	evicted++;
	if (evict_logged != 0 && now - evict_logged < LIMIT_LOG_INTERVAL)
		return;
	log_warnx("all %d session slots busy: ended %u unauthenticated "
	    "connection%s to serve new clients since the last report (the "
	    "last: addr=%s, %u of them from %s, %ld s old)", c->max_sessions,
	    evicted, evicted == 1 ? "" : "s", addr,
	    iplimit_preauth(&iplimits, key), key, (long)age);
	evicted = 0;
	evict_logged = now;
}

/* Accept what waits on listener i.  The listen queue is drained even
 * when every slot is busy: a flood must not queue the next client
 * behind it, so when too many wait here, one of the busiest address
 * goes. */
static void
conn_accept(const struct conf *c, int i)
{
	int k, v;

	for (k = 0; k < MASTER_ACCEPT_BURST; k++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		struct pending *p;
		char addr[PEER_ADDR_MAX];
		int fd, on = 1, exempt;

		if (npending >= MASTER_PENDING_MAX) {
			v = pending_pick(1);
			evict_note(c, pending[v].addr, pending[v].key,
			    mono_now() - pending[v].since);
			iplimit_release(&iplimits, pending[v].key, 1);
			pending_drop(v);
		}
		if ((fd = accept4(env.listen_fds[i], (struct sockaddr *)&ss,
		    &sl, SOCK_CLOEXEC | SOCK_NONBLOCK)) == -1) {
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM) {
				log_warn("accept");
				accept_pause_until = mono_now() + 1;
			} else if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR && errno != ECONNABORTED)
				log_warn("accept");
			return;
		}
		control_count(CTL_C_ACCEPTED);
		if (getnameinfo((struct sockaddr *)&ss, sl, addr, sizeof(addr),
		    NULL, 0, NI_NUMERICHOST) != 0)
			snprintf(addr, sizeof(addr), "-");
		p = &pending[npending];
		penalty_key(addr, (unsigned)c->limits_ipv6_prefix, p->key);
		/* a balancer's connection is counted under its client once
		 * privpop-auth names it (read_login): the balancer itself
		 * is held to no per-address limit */
		p->proxied = c->haproxy_trusted_networks[0] != '\0' &&
		    addrlist_match(addr, c->haproxy_trusted_networks);
		exempt = p->proxied || (c->limits_exempt[0] != '\0' &&
		    addrlist_match(addr, c->limits_exempt));
		if (iplimit_admit(&iplimits, p->key, exempt ? UINT_MAX :
		    (unsigned)c->max_preauth_per_ip, exempt ? UINT_MAX :
		    (unsigned)c->max_sessions_per_ip) == -1) {
			conn_refuse(c, fd, env.listen_tls[i], p->key);
			continue;
		}
		/* answers are written whole; Nagle would hold the last
		 * segment (".\r\n") for the peer's delayed ACK, ~40 ms a
		 * RETR */
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
		p->fd = fd;
		p->tls = env.listen_tls[i];
		p->since = mono_now();
		snprintf(p->addr, sizeof(p->addr), "%s", addr);
		npending++;
	}
}

/* Give pending[i] to slot sl. */
static void
conn_hand(struct slot *sl, int i)
{
	struct pending *p = &pending[i];
	const struct conf *c = env.conf;
	char users[CTL_TRANSCRIPT_USERS_LEN];
	int tr = control_transcript_for(p->addr, users, sizeof(users));
	int tfd = -1;

	/* a file where a transcript may come of this session (only the
	 * login can say, for transcript_users): one left empty goes at
	 * the reap */
	if (c->transcript_dir[0] != '\0' && (c->transcript || tr ||
	    users[0] != '\0' || c->transcript_users[0] != '\0' ||
	    (c->transcript_networks[0] != '\0' &&
	    addrlist_match(p->addr, c->transcript_networks))) &&
	    (tfd = trdir_create(sl->pid, sl->trname, sizeof(sl->trname))) !=
	    -1) {
		if (ipc_send_slot_transcript(sl->sock, tfd) == -1)
			log_warn("transcript file to session process %ld",
			    (long)sl->pid);
		close(tfd);
	}
	if (ipc_send_slot_conn(sl->sock, p->tls, tr, users, p->fd) == -1) {
		log_warn("handing a connection to session process %ld",
		    (long)sl->pid);
		iplimit_release(&iplimits, p->key, 1);
		kill(sl->pid, SIGKILL);
		sl->killed = 1;
	} else {
		sl->busy = 1;
		sl->since = p->since;
		sl->tls = p->tls;
		sl->proxied = p->proxied;
		control_slot_clear((size_t)(sl - slots));
		memcpy(sl->key, p->key, sizeof(sl->key));
		memcpy(sl->addr, p->addr, sizeof(sl->addr));
	}
	pending_drop(i);
}

/*
 * All slots are busy and a client waits: end the oldest unauthenticated
 * session of the address with the most of them (Dovecot does the
 * same), never a logged-in one, and none of an address with fewer than
 * the waiting client's (need): a flood evicts only itself.  0, or -1
 * when there is none.
 */
static int
evict_one(const struct conf *c, unsigned need)
{
	struct slot *v = NULL;
	unsigned vn = 0, n;
	size_t i;
	time_t now = mono_now();

	for (i = 0; i < nslots_cap; i++) {
		struct slot *sl = &slots[i];

		if (sl->pid == 0 || !sl->busy || sl->authed || sl->killed)
			continue;
		n = iplimit_preauth(&iplimits, sl->key);
		if (v == NULL || n > vn || (n == vn && sl->since < v->since)) {
			v = sl;
			vn = n;
		}
	}
	if (v == NULL || vn < need)
		return -1;
	evict_note(c, v->addr, v->key, now - v->since);
	slot_kill(v);
	return 0;
}

/* Place pending connections: an idle slot, a new one, or make room. */
static void
conn_dispatch(const struct conf *c)
{
	size_t i, total, killed;
	time_t now = mono_now();

	/* none waits longer than a login may take */
	while (npending > 0 && now - pending[0].since > c->login_timeout) {
		iplimit_release(&iplimits, pending[0].key, 1);
		pending_drop(0);
	}
	while (npending > 0) {
		struct slot *idle = NULL;

		total = killed = 0;
		for (i = 0; i < nslots_cap; i++) {
			struct slot *sl = &slots[i];

			if (sl->pid == 0)
				continue;
			total++;
			killed += sl->killed != 0;
			if (idle == NULL && !sl->busy && sl->gen == generation &&
			    sl->sock != -1)
				idle = sl;
		}
		/* the least busy address first: a flood waits behind
		 * everyone else */
		if (idle != NULL) {
			conn_hand(idle, pending_pick(0));
			continue;
		}
		if (total < (size_t)c->max_sessions && total < nslots_cap &&
		    time(NULL) >= spawn_pause_until && spawn_slot() == 0)
			continue;
		/* each slot being ended frees room for one */
		if (killed >= (size_t)npending || evict_one(c,
		    iplimit_preauth(&iplimits, pending[pending_pick(0)].key)) ==
		    -1)
			return;
	}
}

/* The master's backstop for login_timeout: a session child enforces
 * it itself, so one still not logged in well after it is broken or
 * hijacked. */
static void
check_login_deadlines(const struct conf *c)
{
	time_t now = mono_now(), limit;
	size_t i;

	limit = (time_t)c->login_timeout + c->pam_timeout +
	    (c->auth_fail_delay_ms + c->penalty_max_ms) / 1000 +
	    LOGIN_BACKSTOP_GRACE;
	for (i = 0; i < nslots_cap; i++) {
		struct slot *sl = &slots[i];

		if (sl->pid == 0 || !sl->busy || sl->authed || sl->killed ||
		    now - sl->since <= limit)
			continue;
		log_warnx("session process %ld (addr=%s) not logged in after "
		    "%ld s (login_timeout %d): ended", (long)sl->pid, sl->addr,
		    (long)(now - sl->since), c->login_timeout);
		control_count(CTL_C_DEADLINE);
		slot_kill(sl);
	}
}

/* ------------------------------------------------------------------ */
/* privpopctl (control.c): what the master knows of its sessions */

size_t
master_ctl_sessions(struct ctl_session *out, size_t max)
{
	time_t now = mono_now();
	size_t i, n = 0;

	for (i = 0; i < nslots_cap && n < max; i++) {
		const struct slot *sl = &slots[i];

		if (sl->pid <= 0 || !sl->busy || sl->killed)
			continue;
		out[n].slot = i;
		out[n].pid = sl->pid;
		out[n].authed = sl->authed;
		out[n].tls = sl->tls;
		out[n].age = now - sl->since;
		out[n].addr = sl->addr;
		n++;
	}
	return n;
}

/*
 * End a session as a shutdown does: SIGTERM (a session child ends at
 * once, without QUIT: its privpop-store sees the socket close and
 * deletes nothing), SIGKILL after KICK_GRACE_SECONDS (check_kicked).
 * Its connection no longer counts against its address.
 */
int
master_ctl_kick(size_t i)
{
	struct slot *sl;

	if (i >= nslots_cap || (sl = &slots[i])->pid <= 0 || !sl->busy ||
	    sl->killed)
		return -1;
	log_info("session process %ld (addr=%s) ended by privpopctl kick",
	    (long)sl->pid, sl->addr);
	kill(sl->pid, SIGTERM);
	sl->killed = 1;
	sl->kicked = mono_now();
	iplimit_release(&iplimits, sl->key, !sl->authed);
	return 0;
}

void
master_ctl_log_level(int debug)
{
	if (live_conf == NULL || log_debug_enabled() == (debug != 0))
		return;
	log_info("log level %s (privpopctl)", debug ? "debug" : "info");
	log_set_debug(debug);
	live_conf->log_debug = debug != 0;	/* the helpers' -d */
	/* new fork servers and a new zygote, with the new level; the
	 * sessions in progress keep theirs */
	auth_spawner_stop();
	retire_idle();
}

void
master_ctl_gauges(struct ctl_gauges *g)
{
	size_t i;

	memset(g, 0, sizeof(*g));
	for (i = 0; i < nslots_cap; i++) {
		if (slots[i].pid <= 0)
			continue;
		if (slots[i].busy)
			g->busy++;
		else if (slots[i].gen == generation && slots[i].sock != -1)
			g->idle++;
	}
	g->max = env.conf != NULL ? (size_t)env.conf->max_sessions : 0;
	g->pending = (size_t)npending;
}

/* A kicked session still there after its grace: SIGKILL. */
static void
check_kicked(void)
{
	time_t now = mono_now();
	size_t i;

	for (i = 0; i < nslots_cap; i++)
		if (slots[i].pid > 0 && slots[i].kicked != 0 &&
		    now - slots[i].kicked >= KICK_GRACE_SECONDS) {
			kill(slots[i].pid, SIGKILL);
			slots[i].kicked = 0;
		}
}

/*
 * A new file renamed over the path, in a directory no one else can
 * write to: nothing planted at the path (a symlink, a hard link to
 * another file, a FIFO) is opened or written.
 */
/* The pid file written at start, unlinked at exit only if ours (and
 * that path, not a pid_file changed by a reload since). */
static char pidfile_written[CONF_PATH_MAX];

static void
write_pidfile(const char *path)
{
	char b[32], base[CONF_PATH_MAX], tmp[CONF_PATH_MAX + 8];
	int dfd, fd, n, ok;

	if ((dfd = fs_open_parent(path, 0, base, sizeof(base))) == -1) {
		if (errno == EPERM)
			log_warnx("pid file %s not written: its directory is "
			    "not root's or others can write to it", path);
		else
			log_warn("pid file %s", path);
		return;
	}
	if ((fd = fs_mktemp_at(dfd, base, 0644, tmp, sizeof(tmp))) == -1) {
		log_warn("pid file %s", path);
		close(dfd);
		return;
	}
	n = snprintf(b, sizeof(b), "%ld\n", (long)getpid());
	ok = write(fd, b, (size_t)n) == n && fchmod(fd, 0644) == 0;
	if (close(fd) == -1)
		ok = 0;
	if (!ok || renameat(dfd, tmp, dfd, base) == -1) {
		log_warn("pid file %s", path);
		unlinkat(dfd, tmp, 0);
	} else
		snprintf(pidfile_written, sizeof(pidfile_written), "%s",
		    path);
	close(dfd);
}

static void
daemonize(void)
{
	int fd;

	switch (fork()) {
	case -1:
		fatal("fork");
	case 0:
		break;
	default:
		_exit(0);
	}
	if (setsid() == -1)
		fatal("setsid");
	if ((fd = open("/dev/null", O_RDWR)) != -1) {
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
	if (chdir("/") == -1)
		fatal("chdir /");
}

static void
shutdown_all(void)
{
	time_t deadline = time(NULL) + SHUTDOWN_GRACE_SECONDS;
	size_t idle, total, i;
	int killed = 0;

	for (i = 0; i < (size_t)env.nlisten; i++)
		close(env.listen_fds[i]);
	env.nlisten = 0;
	while (npending > 0)
		close(pending[--npending].fd);
	auth_spawner_stop();
	retire_idle();
	for (;;) {
		reap();
		count_slots(&idle, &total);
		if (total == 0)
			break;
		if (time(NULL) >= deadline && killed < 2) {
			for (i = 0; i < nslots_cap; i++)
				if (slots[i].pid > 0)
					kill(slots[i].pid,
					    killed ? SIGKILL : SIGTERM);
			killed++;
			deadline = time(NULL) + 2;
		}
		poll(NULL, 0, 50);
	}
}

static void
install_signals(void)
{
	struct sigaction sa;

	if (pipe2(sigpipe_fds, O_CLOEXEC | O_NONBLOCK) == -1)
		fatal("pipe");
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGCHLD, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* The poll set of the main loop: 2 pipes, the listeners, the busy
 * slots' sockets and login report channels (poll_slot says whose).
 * Rewritten at every wakeup, so kept where forked slots do not inherit
 * it (see iplimit.c). */
static struct pollfd *pfds;
static struct slot **poll_slot;
static size_t pfds_cap;

static void *
map_dontfork(size_t n)
{
	void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE |
	    MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	if (madvise(p, n, MADV_DONTFORK) == -1) {
		munmap(p, n);
		return NULL;
	}
	return p;
}

static int
poll_grow(size_t want)
{
	if (want <= pfds_cap)
		return 0;
	if (pfds != NULL) {
		munmap(pfds, pfds_cap * sizeof(*pfds));
		munmap(poll_slot, pfds_cap * sizeof(*poll_slot));
	}
	pfds = map_dontfork(want * sizeof(*pfds));
	poll_slot = map_dontfork(want * sizeof(*poll_slot));
	if (pfds == NULL || poll_slot == NULL)
		return -1;
	pfds_cap = want;
	return 0;
}

int
master_run(const struct master_opts *o, struct conf *c)
{
	char err[512];
	int running = 1;

	memset(&env, 0, sizeof(env));
	env.tls_keys_fd = -1;
	env.auth_fd = -1;
	if (resolve_user(c, &env.uid, &env.gid, err, sizeof(err)) == -1)
		fatalx("%s", err);
	if (c->tls_cert[0] != '\0' &&
	    (env.tls_ctx = tls_ctx_new(c, &env.tls_keys_fd, err,
	    sizeof(err))) == NULL)
		fatalx("%s", err);
	warm_tls(env.tls_ctx);
	if ((env.nlisten = inherit_listeners(env.listen_fds,
	    env.listen_tls)) == 0 &&
	    (env.nlisten = bind_listeners(c, env.listen_fds, env.listen_tls,
	    err, sizeof(err))) == -1)
		fatalx("%s", err);
	if (!o->foreground)
		daemonize();
	if (!priv_is_root())
		log_warnx("not running as root: privilege separation is "
		    "reduced (every role runs as uid %u, no chroot)",
		    (unsigned)getuid());
	seccomp_setup(c);
	if (!o->foreground)
		write_pidfile(c->pid_file);
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) == -1)
		log_warn("PR_SET_CHILD_SUBREAPER");
	install_signals();
	/* a datagram each report, from any helper, whole or not at all */
	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0,
	    penalty_fds) == -1 ||
	    (env.penalty_table_fd = penalty_create(&penalties)) == -1)
		fatal("penalty table");
	set_nonblock(penalty_fds[0]);
	env.penalty_report_fd = penalty_fds[1];
	penalties->forget = (uint32_t)c->penalty_forget;
	penalties->v6prefix = (uint32_t)c->penalty_ipv6_prefix;
	generation = 1;
	if (slots_alloc(c) == -1)
		fatal("slots");
	env.conf = live_conf = c;
	env.conffile = o->conffile;
	env.conf_fd = o->conf_fd;
	env.foreground = o->foreground;
	control_open(c);
	metrics_configure(c, env.uid, env.gid);
	trdir_open(c);
	log_info("privpopd %s started: %d listener(s), prefork %d, "
	    "max_sessions %d", PACKAGE_VERSION, env.nlisten, c->prefork,
	    c->max_sessions);

	/* no ticket keys at all unless tickets are on: every session
	 * child would inherit them */
	if (c->tls_ticket_rotate > 0)
		tls_tickets_rotate();
	tickets_rotated = time(NULL);
	sdnotify("READY=1");	/* systemd Type=notify: listeners are bound */
	while (running) {
		unsigned char sig[16];
		size_t np = 0, nl = 0, nc, i;
		ssize_t n, k;

		/* new ticket keys; idle slots (which hold the old ones)
		 * are retired so new connections use them */
		if (c->tls_ticket_rotate > 0 && env.tls_ctx != NULL &&
		    time(NULL) - tickets_rotated >= c->tls_ticket_rotate) {
			tls_tickets_rotate();
			tickets_rotated = time(NULL);
			retire_idle();
		}
		refill(c);
		conn_dispatch(c);
		check_login_deadlines(c);
		check_kicked();
		control_expire();
		metrics_tick();
		if (poll_grow(2 * nslots_cap + MAX_LISTENERS + 2 +
		    CONTROL_POLL_MAX) == -1)
			fatal("poll set");
		pfds[np].fd = sigpipe_fds[0];
		pfds[np++].events = POLLIN;
		pfds[np].fd = penalty_fds[0];
		pfds[np++].events = POLLIN;
		/* the listen queue holds what cannot be placed now */
		if (mono_now() >= accept_pause_until)
			for (nl = 0; nl < (size_t)env.nlisten; nl++) {
				pfds[np].fd = env.listen_fds[nl];
				pfds[np++].events = POLLIN;
			}
		for (i = 0; i < nslots_cap; i++) {
			if (slots[i].pid <= 0 || !slots[i].busy)
				continue;
			if (slots[i].sock != -1) {
				poll_slot[np] = &slots[i];
				pfds[np].fd = slots[i].sock;
				pfds[np++].events = POLLIN;
			}
			if (slots[i].login != -1) {
				poll_slot[np] = &slots[i];
				pfds[np].fd = slots[i].login;
				pfds[np++].events = POLLIN;
			}
		}
		/* last: the slots' entries are those before it */
		nc = control_pollfds(&pfds[np]);
		if (poll(pfds, (nfds_t)(np + nc), MASTER_TICK_MS) == -1 &&
		    errno != EINTR)
			fatal("poll");
		if (pfds[1].revents & POLLIN)
			read_penalties();
		for (i = 0; i < nl; i++)
			if (pfds[2 + i].revents & POLLIN)
				conn_accept(c, (int)i);
		for (i = 2 + nl; i < np; i++) {
			if (pfds[i].revents == 0)
				continue;
			if (poll_slot[i]->sock == pfds[i].fd)
				read_slot(poll_slot[i], SLOT_REPORTS_PER_TURN);
			else if (poll_slot[i]->login == pfds[i].fd)
				read_login(poll_slot[i]);
		}
		control_handle(&pfds[np], nc);
		if (!(pfds[0].revents & POLLIN))
			continue;
		n = read(sigpipe_fds[0], sig, sizeof(sig));
		for (k = 0; k < n; k++) {
			switch (sig[k]) {
			case SIGCHLD:
				reap();
				break;
			case SIGHUP:
				sdnotify_reloading();
				reload(o, c);
				sdnotify("READY=1");
				break;
			case SIGTERM:
			case SIGINT:
				running = 0;
				break;
			}
		}
	}
	log_info("shutting down");
	sdnotify("STOPPING=1");
	control_close();	/* no request is served from here on */
	metrics_stop();
	shutdown_all();
	if (pidfile_written[0] != '\0')
		unlink(pidfile_written);
	return 0;
}

int
master_inetd(const struct master_opts *o, struct conf *c)
{
	char err[512];

	memset(&env, 0, sizeof(env));
	env.tls_keys_fd = -1;
	if (resolve_user(c, &env.uid, &env.gid, err, sizeof(err)) == -1)
		fatalx("%s", err);
	if (!priv_is_root())
		log_warnx("not running as root: privilege separation is "
		    "reduced");
	seccomp_setup(c);
	env.conf = live_conf = c;
	env.conffile = o->conffile;
	env.conf_fd = o->conf_fd;
	env.foreground = o->foreground;
	env.master_fd = env.auth_fd = -1;
	env.penalty_report_fd = env.penalty_table_fd = -1;	/* no master */
	env.inetd_tls = o->inetd_tls;
	if (o->inetd_tls && c->tls_cert[0] == '\0')
		fatalx("privpopd -I (implicit TLS) needs tls_cert and tls_key "
		    "in %s", o->conffile);
	/* One process per connection: no other process could resume a
	 * ticket, and no master makes the ticket keys, so none are sent
	 * (a ticket callback without keys failed every handshake). */
	c->tls_ticket_rotate = 0;
	if (c->tls_cert[0] != '\0' &&
	    (env.tls_ctx = tls_ctx_new(c, &env.tls_keys_fd, err,
	    sizeof(err))) == NULL)
		fatalx("%s", err);
	set_nonblock(0);
	set_nonblock(1);
	slot_main(&env, 0, 1);
}
