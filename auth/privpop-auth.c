/*
 * privpop-auth: the authentication helper.  Runs as root (when privpopd
 * runs as root), has no network socket and talks only to its session
 * child over the socketpair on fd 3.
 *
 * What runs as root here: reading the config and the passwd-file,
 * deciding which login mechanisms the session offers (send_hello),
 * serving the session's requests (auth_serve.c: the permit table, PAM,
 * crypt(3), SCRAM, the TLS signature), and starting privpop-store:
 * after a login the store fork server starts the worker (spawn_store),
 * or this process execs it as root and it drops itself (exec_store).  With a PAM session
 * (pam_session = yes) this process stays, root, and closes the session
 * when the worker ends (a pidfd from the fork server, or its own
 * child).  Nothing here drops privilege: a drop followed by an exec
 * would make the process dumpable by the mailbox owner again.
 *
 * A login is final in one place (main, after the serve loop), whatever
 * the mechanism: only there is the master told (report_login), on a
 * channel of this helper's that the slot never holds.
 *
 * With -Z it is instead the master's fork server for these helpers
 * (common/spawner.c).
 *
 * The client's address is the kernel's (getpeername on the socket the
 * slot hands over first, before it reads a byte: auth_serve.c), never the
 * session child's word; the install's secret (authsecret.h) is read or
 * made at start.
 *
 * Runs as: root (privpop-auth, its fork server).
 */
#include "config.h"

#include <sys/random.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "auth_serve.h"
#include "conf.h"
#include "fdlayout.h"
#include "ipc.h"
#include "ipc_auth.h"
#include "ipc_master.h"
#include "log.h"
#include "pam_auth.h"
#include "passwd_file.h"
#include "passwd_index.h"
#include "authsecret.h"
#include "penalty.h"
#include "scram.h"
#include "spawner.h"
#include "tls_keys.h"
#include "privdrop.h"
#include "proctitle.h"
#include "sandbox.h"

static struct conf conf;
static int store_spawner = -1;	/* -S: privpop-store -Z on fd 8 */
static int to_stderr, debug;
static const struct penalty_table *penalties;	/* NULL: inetd mode */
/* The slot's login report channel to the master, from the fork server
 * (MSG_AUTH_SPAWN_REPORT); -1 in an exec'd helper (inetd mode: no
 * master, nothing to tell). */
static int login_report = -1;

static void
make_stamp(struct auth_session *s)
{
	unsigned char rnd[8];
	char host[128];
	int i, o;

	if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd))
		fatal("getrandom");
	if (conf.hostname[0] != '\0')
		snprintf(host, sizeof(host), "%s", conf.hostname);
	else if (gethostname(host, sizeof(host)) == -1)
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	o = snprintf(s->stamp, sizeof(s->stamp), "<%ld.", (long)getpid());
	for (i = 0; i < 8; i++)
		o += snprintf(s->stamp + o, sizeof(s->stamp) - (size_t)o,
		    "%02x", rnd[i]);
	snprintf(s->stamp + o, sizeof(s->stamp) - (size_t)o, "@%s>", host);
	/* the session's id comes from here, not from the session child:
	 * what joins these login lines to its summary is this process's */
	if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd))
		fatal("getrandom");
	for (i = 0; i < SESSION_ID_LEN / 2; i++)
		snprintf(s->sess_id + 2 * i, 3, "%02x", rnd[i]);
}

/* Fork server, before each helper: the passwd-file's index and
 * capabilities as of now, so no helper reads the whole file. */
static void
refresh_user_db(void)
{
	if (conf_has_backend(&conf, AUTH_BACKEND_PASSWD_FILE)) {
		pwf_index_refresh(conf.passwd_file);
		(void)pwf_capabilities(conf.passwd_file);
	}
}

/* The install's secret, made at the first start and kept (authsecret.h).
 * Without it (a read-only or foreign state directory: a run as another
 * user) one made now serves, and salts of unknown names change at each
 * start: the log says so. */
static void
load_secret(void)
{
	unsigned char key[AUTH_SECRET_LEN];
	char why[512];

	if (authsecret_load(conf.auth_secret_file, key, why,
	    sizeof(why)) == -1) {
		log_warnx("auth_secret_file: %s; using a secret made for this "
		    "start (SCRAM salts of unknown users will change at the "
		    "next)", why);
		if (getrandom(key, sizeof(key), 0) != sizeof(key))
			fatal("getrandom");
	}
	scram_set_salt_key(key, sizeof(key));
	explicit_bzero(key, sizeof(key));
}

static void
say_stderr(const char *msg, void *arg)
{
	(void)arg;
	fprintf(stderr, "privpop-auth: %s\n", msg);
}

/* -t: what privpopd -t cannot check itself, since the parsers are here
 * (it links no auth code): every line of the passwd-file, as a login
 * reads it.  One line per problem on stderr; exit 1 if any. */
static int
check_config(void)
{
	int bad = 0, i;

	for (i = 0; i < conf.nbackends; i++)
		if (conf.backends[i] == AUTH_BACKEND_PASSWD_FILE)
			bad += pwf_check(conf.passwd_file, conf.mail_location,
			    say_stderr, NULL);
	return bad > 0;
}

/* The challenge mechanisms the passwd-file can serve for every user in
 * it (AUTH_MECH_*); 0 when it is not a backend. */
static int
pwf_mechs(void)
{
	if (!conf_has_backend(&conf, AUTH_BACKEND_PASSWD_FILE))
		return 0;
	return pwf_caps_mechs(pwf_capabilities(conf.passwd_file));
}

/*
 * The login mechanisms this helper's session offers (AUTH_MECH_*).
 * They are decided here, as root, once per connection, and nowhere
 * else: auth_mechanisms as given, or for auto what every backend can
 * serve for every user (conf_mechs_offered), since CAPA is answered
 * before the user is known.  The session child follows the HELLO, and
 * a request for a mechanism not offered ends the session (the permit
 * table, auth_serve.c).
 */
static void
send_hello(struct auth_session *s)
{
	s->offer = conf_mechs_offered(&conf, pwf_mechs());
	if (ipc_send_session_hello(s->sock, (uint32_t)s->offer,
	    (s->offer & (AUTH_MECH_APOP | AUTH_MECH_CRAM_MD5)) ? s->stamp : "",
	    s->sess_id) == -1) {
		/* the slot is gone before its first word (evicted, or
		 * retired by a reload): nothing to report */
		if (errno == EPIPE || errno == ECONNRESET)
			_exit(0);
		fatal("send hello");
	}
}

/* Fork server, at start: an auth_mechanisms list that names a challenge
 * mechanism some passwd-file entry holds no secret for (privpopd -t
 * says it of PAM). */
static void
warn_unserved(void)
{
	char names[96];
	int un;

	if (conf.auth_mechs == AUTH_MECH_AUTO ||
	    !conf_has_backend(&conf, AUTH_BACKEND_PASSWD_FILE))
		return;
	un = conf.auth_mechs & ~(AUTH_MECH_PASSWORD | pwf_mechs());
	if (un != 0)
		log_warnx("auth_mechanisms: %s offered, but not every entry "
		    "of %s stores the secret it needs; those users fail "
		    "with it (not counted as penalties)",
		    conf_mechs_str(un, names, sizeof(names)), conf.passwd_file);
}

/*
 * The session has logged in (its store socket is sent): tell the
 * master, which counts the connection as logged in (no eviction, no
 * login_timeout backstop, max_sessions_per_ip instead of
 * max_preauth_per_ip) on this word only, never on the session child's.
 * Once; the channel is closed after it.
 */
static void
report_login(const struct auth_session *s)
{
	char user[sizeof(s->user)];
	size_t i;

	if (login_report == -1)
		return;
	/* the user and the session id for privpopctl who: this helper's
	 * own (it checked the one, made the other); TLS as announced on
	 * this connection (TLS_START, before any byte of it was read).
	 * The master takes a user of printable characters only (one
	 * field of a table): anything else, a space included, shows as
	 * '?' there (the log lines have the name as it is). */
	snprintf(user, sizeof(user), "%s", s->user[0] != '\0' ? s->user :
	    "?");
	for (i = 0; user[i] != '\0'; i++)
		if (user[i] <= ' ' || user[i] > '~')
			user[i] = '?';
	if (ipc_send_master_login(login_report, user, s->sess_id,
	    s->served[MSG_AUTH_TLS_START] > 0) == -1)
		log_warn("login report to the master");
	close(login_report);
	login_report = -1;
}

/*
 * Have the store fork server start the worker: it forks a process that
 * has only ever run privpop-store and drops it to the owner, cheaper
 * than an exec here.  The request brings a channel of this helper's,
 * on which the worker takes its socket and the fork server answers
 * once the worker exists, with a pidfd of it: *pidfd_r gets it when
 * pidfd_r is not NULL (a PAM session to close at the worker's end).
 * 0; -1 when no worker was started (then exec_store); -2 when one may
 * have been but there is no pidfd.
 */
static int
spawn_store(struct auth_session *s, int *pidfd_r)
{
	struct msg m;
	int ch[2], r, pidfd;

	if (store_spawner == -1)
		return -1;
	if (ipc_socketpair(ch) == -1) {
		log_warn("socketpair");
		return -1;
	}
	if (ipc_send_store_spawn(store_spawner, s->worker.uid, s->worker.gid,
	    s->worker.extra, ch[1]) == -1) {
		log_warn("privpop-store fork server; starting the worker here");
		close(ch[0]);
		close(ch[1]);
		return -1;
	}
	close(ch[1]);
	if (ipc_send_store_socket(ch[0], s->worker.fd) == -1) {
		/* a child forked for it ends at EOF */
		log_warn("privpop-store fork server; starting the worker here");
		close(ch[0]);
		return -1;
	}
	/* read before closing: a channel closed with an unread message
	 * would reset the worker's end before it took its socket */
	if ((r = ipc_recv(ch[0], &m)) != 1 ||
	    ipc_get_auth_worker_pidfd(&m, &pidfd) == -1) {
		if (r == 1 && m.fd != -1)
			close(m.fd);
		close(ch[0]);
		log_warnx("privpop-store fork server did not start the worker");
		return -2;
	}
	close(ch[0]);
	close(s->worker.fd);
	s->worker.fd = -1;
	if (pidfd_r == NULL) {
		if (pidfd != -1)
			close(pidfd);
	} else if ((*pidfd_r = pidfd) == -1)
		return -2;
	return 0;
}

/*
 * Become privpop-store, so that nothing of this process (passwords,
 * keys) survives into the worker.  As root the exec happens first and
 * privpop-store drops to the owner itself (-u, -g, -G): a process that
 * dropped and then exec'd would be dumpable again, and the owner could
 * ptrace it while it still held the spool's group.
 */
__attribute__((noreturn)) static void
exec_store(struct auth_session *s)
{
	char *envp[PRIV_ENV_MAX];
	char *argv[12];
	char uid[16], gid[16], extra[16];
	struct fd_place place;
	int argc = 0;

	/* the path: room for its title (proctitle.c) */
	argv[argc++] = conf.store_helper;
	if (to_stderr)
		argv[argc++] = "-e";
	if (debug)
		argv[argc++] = "-d";
	if (priv_is_root()) {
		snprintf(uid, sizeof(uid), "%u", (unsigned)s->worker.uid);
		snprintf(gid, sizeof(gid), "%u", (unsigned)s->worker.gid);
		argv[argc++] = "-u";
		argv[argc++] = uid;
		argv[argc++] = "-g";
		argv[argc++] = gid;
		if (s->worker.extra != PRIV_NO_GROUP) {
			snprintf(extra, sizeof(extra), "%u",
			    (unsigned)s->worker.extra);
			argv[argc++] = "-G";
			argv[argc++] = extra;
		}
	}
	if (!conf.seccomp)
		argv[argc++] = "-N";
	if (!conf.verbose_proctitle)
		argv[argc++] = "-T";
	argv[argc] = NULL;
	priv_child_env(envp, "/usr/bin:/bin");
	place.from = s->worker.fd;
	place.to = IPC_CHILD_FD;
	closelog();	/* its number may be a target (fdlayout.h) */
	if (fd_layout(&place, 1, IPC_CHILD_FD) == -1)
		_exit(127);
	if (chdir("/") == -1)
		_exit(127);
	execve(conf.store_helper, argv, envp);
	log_warn("exec %s", conf.store_helper);
	_exit(127);
}

int
main(int argc, char *argv[])
{
	struct auth_session s;
	const char *conffile = NULL;
	char err[512];
	struct msg m;
	pid_t store_pid;
	int nkeys_loaded, pidfd = -1, spawned;
	int ch, status, from_fd = 0, penalty_fds = 0, tls_fd = 0, zygote = 0;
	int test = 0;

	proctitle_init(argc, argv, environ);
	while ((ch = getopt(argc, argv, "c:deFKPStZ")) != -1) {
		switch (ch) {
		case 'c':
			conffile = optarg;
			break;
		case 'd':
			debug = 1;
			break;
		case 'e':
			to_stderr = 1;
			break;
		case 'F':
			from_fd = 1;
			break;
		case 'P':
			penalty_fds = 1;
			break;
		case 'K':
			tls_fd = 1;
			break;
		case 'S':
			store_spawner = STORE_SPAWNER_FD;
			break;
		case 't':
			test = 1;
			break;
		case 'Z':
			zygote = 1;
			break;
		default:
			fprintf(stderr, "usage: privpop-auth -c file [-deFKPStZ]\n");
			return 2;
		}
	}
	log_open("privpop-auth", to_stderr, debug);
	if (conffile == NULL)
		fatalx("no configuration file given");
	if (test) {
		if (conf_load(&conf, conffile, err, sizeof(err)) == -1) {
			fprintf(stderr, "privpop-auth: %s\n", err);
			return 1;
		}
		return check_config();
	}
	if (fcntl(IPC_CHILD_FD, F_GETFD) == -1)
		fatalx("no IPC socket on fd %d", IPC_CHILD_FD);
	if (store_spawner != -1 && fcntl(store_spawner, F_GETFD) == -1)
		store_spawner = -1;
	/* -F: the master's snapshot of the config on fd 4, the very text it
	 * validated; -c alone (by hand) reads the file. */
	if ((from_fd ? conf_load_fd(&conf, CONF_SNAPSHOT_FD, conffile, err,
	    sizeof(err)) : conf_load(&conf, conffile, err, sizeof(err))) == -1)
		fatalx("%s", err);
	if (from_fd)
		close(CONF_SNAPSHOT_FD);
	/* -P: the master's penalty table on fd 6, its report pipe on 5 */
	if (penalty_fds && (penalties = penalty_map(PENALTY_TABLE_FD)) == NULL)
		log_warn("penalty table");
	if (penalty_fds)
		close(PENALTY_TABLE_FD);
	/* no core file or ptrace of a process that holds passwords */
	priv_limit(0, 0);
	signal(SIGPIPE, SIG_IGN);
	/* -K: the TLS keys privpopd checked, on fd 7 */
	if (tlskeys_load(&conf, tls_fd ? TLS_KEYS_FD : -1) == -1)
		fatalx("cannot load the TLS key");
	nkeys_loaded = conf.tls_key[0] != '\0';
	if (tls_fd)
		close(TLS_KEYS_FD);
	load_secret();
	/* PAM and NSS modules may call almost anything: a deny-list */
	sbx_auth(conf.seccomp, zygote);
	/* -Z: a fork server.  fd 3 is the master's; every MSG_AUTH_SPAWN
	 * brings one slot's socket and the MSG_AUTH_SPAWN_REPORT after it
	 * that slot's login report channel (both parsed here, as root,
	 * from the master), and a forked child serves that slot exactly
	 * as an exec'd helper would, without paying again for exec, the
	 * libraries, the config and the keys; only it has a channel to
	 * report the login on (an exec'd helper is inetd mode's). */
	if (zygote) {
		struct rlimit rl;
		int chan, fd;

		refresh_user_db();	/* read the passwd-file once here */
		warn_unserved();
		/* a channel per helper that has not logged in yet */
		if (getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
		    rl.rlim_cur < rl.rlim_max) {
			rl.rlim_cur = rl.rlim_max;
			(void)setrlimit(RLIMIT_NOFILE, &rl);
		}
		if (spawner_serve(IPC_CHILD_FD, MSG_AUTH_SPAWN,
		    MSG_AUTH_SPAWN_REPORT,
		    "privpop-auth (or the privpop-store it became)", &m,
		    &login_report, nkeys_loaded ? tlskeys_serve : NULL, &chan,
		    refresh_user_db, NULL))
			return 0;
		if (ipc_get_auth_spawn(&m, &fd) == -1)
			fatalx("AUTH_SPAWN: malformed");
		if (dup2(fd, IPC_CHILD_FD) == -1)
			fatal("dup2");
		close(fd);
		if (chan != -1)
			tlskeys_use_signer(chan);
		sbx_auth_helper();
	}
	auth_session_init(&s, &conf, penalties, IPC_CHILD_FD);
	s.report = login_report;
	make_stamp(&s);
	send_hello(&s);
	auth_serve(&s);

	/* The session has its store socket: the login is final, by
	 * whichever mechanism, and the master is told.  Without a PAM
	 * session to close when the worker ends there is nothing left to
	 * do here: the store fork server starts the worker, or this
	 * process becomes it (one process, not a fork that then execs).
	 * An idle session then costs two processes, not three. */
	report_login(&s);
	close(s.sock);
	if (!pamb_active()) {
		if ((spawned = spawn_store(&s, NULL)) == 0)
			_exit(0);
		if (spawned == -2)
			_exit(1);
		exec_store(&s);
	}
	/* With one, this process stays root to close it: the worker comes
	 * from the fork server as for anyone (a pidfd tells its end), or,
	 * without one, from a child that execs privpop-store as root. */
	if ((spawned = spawn_store(&s, &pidfd)) == 0) {
		struct pollfd pfd = { .fd = pidfd, .events = POLLIN };

		while (poll(&pfd, 1, -1) == -1 && errno == EINTR)
			;
		close(pidfd);
		pamb_close();
		_exit(0);
	}
	if (spawned == -2) {
		/* no end to wait for: the session closes now */
		pamb_close();
		_exit(1);
	}
	switch (store_pid = fork()) {
	case -1:
		log_warn("fork");
		pamb_close();
		_exit(1);
	case 0:
		exec_store(&s);
	}
	close(s.worker.fd);
	while (waitpid(store_pid, &status, 0) == -1 && errno == EINTR)
		;
	pamb_close();
	if (WIFSIGNALED(status))
		log_warnx("privpop-store killed by signal %d",
		    WTERMSIG(status));
	else if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
		log_warnx("privpop-store exited with status %d",
		    WEXITSTATUS(status));
	_exit(0);
}
