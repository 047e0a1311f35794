/*
 * privpop-auth: the authentication helper.  Runs as root (when privpopd
 * runs as root), has no network socket and talks only to its session
 * child over the socketpair on fd 3.
 *
 * What runs as root here: reading the config and the passwd-file,
 * crypt(3), PAM, deciding which login mechanisms the session offers
 * (send_hello), and starting privpop-store: after a login the store
 * fork server starts the worker (spawn_store), or this process execs
 * it as root and it drops itself (exec_store).  With a PAM session
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
 * slot hands over first, before it reads a byte: h_peer), never the
 * session child's word; the install's secret (authsecret.h) is read or
 * made at start.
 *
 * Runs as: root (privpop-auth, its fork server).
 */
#include "config.h"

#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "conf.h"
#include "fdlayout.h"
#include "ipc.h"
#include "log.h"
#include "pam_auth.h"
#include "passwd_file.h"
#include "passwd_index.h"
#include "addrlist.h"
#include "authsecret.h"
#include "faildelay.h"
#include "peeraddr.h"
#include "penalty.h"
#include "scram.h"
#include "spawner.h"
#include "tls_keys.h"
#include "upgrade.h"
#include "privdrop.h"
#include "sandbox.h"
#include "verify.h"

/* The APOP timestamp: "<pid.random@host>", RFC 1939 section 7. */
#define STAMP_MAX	200

static struct conf conf;
static int sock = IPC_CHILD_FD;
static int store_spawner = -1;	/* -S: privpop-store -Z on fd 8 */
static int to_stderr, debug;
static char stamp[STAMP_MAX];
static char sess_id[SESSION_ID_LEN + 1];	/* sent in HELLO */
static int attempts;
/* The current request's arrival (CLOCK_MONOTONIC): a failure is
 * answered at a deadline from it (faildelay.h). */
static struct timespec arrival;
/* The client's address, from MSG_AUTH_PEER; "" until it came. */
static char peer[PEER_ADDR_MAX];
static const struct penalty_table *penalties;	/* NULL: inetd mode */
/* The slot's login report channel to the master, from the fork server
 * (MSG_AUTH_SPAWN_REPORT); -1 in an exec'd helper (inetd mode: no
 * master, nothing to tell). */
static int login_report = -1;

static void
make_stamp(void)
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
	o = snprintf(stamp, sizeof(stamp), "<%ld.", (long)getpid());
	for (i = 0; i < 8; i++)
		o += snprintf(stamp + o, sizeof(stamp) - (size_t)o, "%02x",
		    rnd[i]);
	snprintf(stamp + o, sizeof(stamp) - (size_t)o, "@%s>", host);
	/* the session's id comes from here, not from the session child:
	 * what joins these login lines to its summary is this process's */
	if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd))
		fatal("getrandom");
	for (i = 0; i < SESSION_ID_LEN / 2; i++)
		snprintf(sess_id + 2 * i, 3, "%02x", rnd[i]);
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
 * a request for a mechanism not offered ends the session (dispatch).
 */
static int offer;

static void
send_hello(void)
{
	struct msg m;

	offer = conf_mechs_offered(&conf, pwf_mechs());
	msg_init(&m, MSG_SESSION_HELLO);
	if (msg_put_u32(&m, IPC_VERSION) == -1 ||
	    msg_put_u32(&m, (uint32_t)offer) == -1 ||
	    msg_put_str(&m, (offer & (AUTH_MECH_APOP | AUTH_MECH_CRAM_MD5)) ?
	    stamp : "") == -1 ||
	    msg_put_str(&m, sess_id) == -1)
		fatalx("hello too long");
	if (ipc_send(sock, &m, -1) == -1) {
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

/* Tell the master (which keeps the shared table) about a login. */
static void
report(const char *addr, int ok)
{
	struct penalty_report r;

	if (penalties == NULL)
		return;
	memset(&r, 0, sizeof(r));
	r.ok = ok ? 1 : 0;
	/* (a long scoped IPv6 address is cut: its prefix is still a key) */
	if (snprintf(r.addr, sizeof(r.addr), "%s", addr) < 0)
		return;
	if (write(PENALTY_REPORT_FD, &r, sizeof(r)) != sizeof(r))
		log_warn("penalty report");
}

/*
 * The session has logged in (its store socket is sent): tell the
 * master, which counts the connection as logged in (no eviction, no
 * login_timeout backstop, max_sessions_per_ip instead of
 * max_preauth_per_ip) on this word only, never on the session child's.
 * Once; the channel is closed after it.
 */
static void
report_login(void)
{
	struct msg m;

	if (login_report == -1)
		return;
	msg_init(&m, MSG_MASTER_LOGIN);
	if (ipc_send(login_report, &m, -1) == -1)
		log_warn("login report to the master");
	close(login_report);
	login_report = -1;
}

/* The answer to a failure leaves at the configured delay after the
 * request arrived, later for an address that keeps failing; the same
 * for every kind of failure, however long its check took.  A failure
 * that is not counted (a method the user's backend cannot serve) waits
 * as long, but does not add to the address's count. */
static void
fail_delay(const char *addr, int counted)
{
	int ms = conf.auth_fail_delay_ms, p;

	if (penalties != NULL && !addrlist_match(addr, conf.penalty_exempt)) {
		uint32_t n = penalty_fails(penalties, addr, time(NULL),
		    conf.penalty_forget) + 1;

		p = penalty_delay_ms(n, conf.penalty_base_ms,
		    conf.penalty_max_ms);
		if (p > ms) {
			ms = p;
			log_info("penalty: addr=%s failures=%u delay=%dms", addr,
			    n, ms);
		}
	}
	if (counted)
		report(addr, 0);
	faildelay_wait(&arrival, conf.auth_fail_delay_ms, ms);
}

static void
answer_fail(uint32_t code)
{
	if (ipc_send_u32(sock, MSG_SESSION_AUTH_FAIL, code) == -1)
		fatal("send auth fail");
}

/*
 * Fork privpop-store as the mailbox owner with a new socketpair, tell
 * it which mailbox to open, and hand the other end to the session.
 */
/* The group an mbox worker's dotlock child keeps besides the owner's,
 * for dotlocks in a root:mail 2775 spool (Dovecot:
 * mail_privileged_group): only when the mbox's directory is that
 * group's to write and not the owner's.  Never for a Maildir or an
 * mbox in the owner's own directory (~/mbox). */
static gid_t
privileged_group(const char *location, uid_t uid)
{
	char dir[MAIL_MAX_PATH];
	struct group *gr;
	struct stat st;
	char *slash;

	if (strncmp(location, "mbox:", 5) != 0 ||
	    conf.mail_privileged_group[0] == '\0')
		return PRIV_NO_GROUP;
	if ((gr = getgrnam(conf.mail_privileged_group)) == NULL) {
		log_warnx("mail_privileged_group %s does not exist",
		    conf.mail_privileged_group);
		return PRIV_NO_GROUP;
	}
	if (gr->gr_gid == 0) {
		log_warnx("mail_privileged_group %s is gid 0; not used",
		    conf.mail_privileged_group);
		return PRIV_NO_GROUP;
	}
	if (snprintf(dir, sizeof(dir), "%s", location + 5) >=
	    (int)sizeof(dir) || (slash = strrchr(dir, '/')) == NULL)
		return PRIV_NO_GROUP;
	*(slash == dir ? slash + 1 : slash) = '\0';
	if (stat(dir, &st) == -1 || st.st_gid != gr->gr_gid ||
	    !(st.st_mode & S_IWGRP) ||
	    (st.st_uid == uid && (st.st_mode & S_IWUSR)))
		return PRIV_NO_GROUP;
	return gr->gr_gid;
}

/* The mailbox worker to become, once a login has succeeded. */
static struct {
	int	fd;		/* its end of the session's store socket */
	uid_t	uid;
	gid_t	gid;
	gid_t	extra;
} worker = { -1, 0, 0, PRIV_NO_GROUP };

/* Open the session's store socket: queue STORE_INIT for the worker and
 * hand the other end to the session.  The worker starts in main(). */
static int
prepare_store(const struct pwf_entry *e, const char *location)
{
	char index_dir[MAIL_MAX_PATH];
	int sv[2];
	struct msg m;

	if (ipc_socketpair(sv) == -1) {
		log_warn("socketpair");
		return -1;
	}
	if (conf.mbox_index_dir[0] == '\0' || pwf_expand_path(e,
	    conf.mbox_index_dir, index_dir, sizeof(index_dir)) == -1)
		index_dir[0] = '\0';	/* beside the mbox */
	msg_init(&m, MSG_STORE_INIT);
	if (msg_put_str(&m, e->user) == -1 ||
	    msg_put_str(&m, location) == -1 ||
	    msg_put_u32(&m, (uint32_t)conf.mbox_locks) == -1 ||
	    msg_put_u32(&m, (uint32_t)conf.mbox_lock_timeout) == -1 ||
	    msg_put_u32(&m, (uint32_t)conf.mbox_dotlock_stale) == -1 ||
	    msg_put_str(&m, index_dir) == -1 ||
	    ipc_send(sv[0], &m, -1) == -1) {
		log_warn("send store init");
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	msg_init(&m, MSG_SESSION_AUTH_OK);
	if (msg_put_str(&m, e->user) == -1 ||
	    ipc_send(sock, &m, sv[0]) == -1)
		fatal("send auth ok");
	close(sv[0]);
	worker.fd = sv[1];
	worker.uid = e->uid;
	worker.gid = e->gid;
	worker.extra = privileged_group(location, e->uid);
	return 0;
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
spawn_store(int *pidfd_r)
{
	struct msg m;
	int ch[2], r;

	if (store_spawner == -1)
		return -1;
	if (ipc_socketpair(ch) == -1) {
		log_warn("socketpair");
		return -1;
	}
	msg_init(&m, MSG_STORE_SPAWN);
	if (msg_put_u32(&m, (uint32_t)worker.uid) == -1 ||
	    msg_put_u32(&m, (uint32_t)worker.gid) == -1 ||
	    msg_put_u32(&m, (uint32_t)worker.extra) == -1 ||
	    ipc_send(store_spawner, &m, ch[1]) == -1) {
		log_warn("privpop-store fork server; starting the worker here");
		close(ch[0]);
		close(ch[1]);
		return -1;
	}
	close(ch[1]);
	msg_init(&m, MSG_STORE_SOCKET);
	if (ipc_send(ch[0], &m, worker.fd) == -1) {
		/* a child forked for it ends at EOF */
		log_warn("privpop-store fork server; starting the worker here");
		close(ch[0]);
		return -1;
	}
	/* read before closing: a channel closed with an unread message
	 * would reset the worker's end before it took its socket */
	if ((r = ipc_recv(ch[0], &m)) != 1 || m.type != MSG_AUTH_WORKER_PIDFD ||
	    msg_end(&m) == -1) {
		if (r == 1 && m.fd != -1)
			close(m.fd);
		close(ch[0]);
		log_warnx("privpop-store fork server did not start the worker");
		return -2;
	}
	close(ch[0]);
	close(worker.fd);
	worker.fd = -1;
	if (pidfd_r == NULL) {
		if (m.fd != -1)
			close(m.fd);
	} else if ((*pidfd_r = m.fd) == -1)
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
exec_store(void)
{
	char *envp[PRIV_ENV_MAX];
	char *argv[11];
	char uid[16], gid[16], extra[16];
	struct fd_place place;
	int argc = 0;

	argv[argc++] = "privpop-store";
	if (to_stderr)
		argv[argc++] = "-e";
	if (debug)
		argv[argc++] = "-d";
	if (priv_is_root()) {
		snprintf(uid, sizeof(uid), "%u", (unsigned)worker.uid);
		snprintf(gid, sizeof(gid), "%u", (unsigned)worker.gid);
		argv[argc++] = "-u";
		argv[argc++] = uid;
		argv[argc++] = "-g";
		argv[argc++] = gid;
		if (worker.extra != PRIV_NO_GROUP) {
			snprintf(extra, sizeof(extra), "%u",
			    (unsigned)worker.extra);
			argv[argc++] = "-G";
			argv[argc++] = extra;
		}
	}
	if (!conf.seccomp)
		argv[argc++] = "-N";
	argv[argc] = NULL;
	priv_child_env(envp, "/usr/bin:/bin");
	place.from = worker.fd;
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

/* How a credential arrives (the session has already decoded SASL). */
enum method { M_PASS, M_APOP, M_CRAM };
static const char *const method_names[] = { "pass", "apop", "cram-md5" };

/* Which backend answers for a user name. */
enum found { F_NONE, F_PASSWD_FILE, F_PAM };

/* After a verified credential: pick the mailbox and start the worker
 * (inside an open PAM session for system users). */
static void
login_ok(const struct pwf_entry *e, const char *addr, enum found via)
{
	char location[MAIL_MAX_PATH];
	const char *deflt = via == F_PAM ? conf.system_mail_location :
	    conf.mail_location;

	/* checked before the password; again as the last word */
	if (e->uid == 0 || (priv_is_root() && e->gid == 0)) {
		log_warnx("login refused: addr=%s user=%s: uid/gid 0", addr,
		    e->user);
		pamb_close();
		answer_fail(IPC_ERR_PERM);
		return;
	}
	if (pwf_mail_location(e, deflt, location, sizeof(location)) == -1) {
		log_warnx("login refused: addr=%s user=%s: bad mail location",
		    addr, e->user);
		pamb_close();
		answer_fail(IPC_ERR_PERM);
		return;
	}
	/* pam_session = no: authentication and account only, and the
	 * worker starts as for a passwd-file user (no process waits) */
	if (via == F_PAM && !conf.pam_session)
		pamb_close();
	if (via == F_PAM && conf.pam_session && pamb_open_session() == -1) {
		pamb_close();
		answer_fail(IPC_ERR_TEMP);
		return;
	}
	if (prepare_store(e, location) == -1) {
		answer_fail(IPC_ERR_TEMP);
		return;
	}
	log_info("login: sess=%s addr=%s user=%s via=%s", sess_id, addr,
	    e->user,
	    via == F_PAM ? "pam" : "passwd-file");
	report(addr, 1);
}

/* Root and system accounts never read mail over POP3: a user below
 * first_valid_uid (uid 0 always is) or with gid 0 is refused before
 * any password check, with the answer and the delay of a wrong
 * password; only the log says why. */
static int
uid_allowed(const struct pwf_entry *e, const char *addr)
{
	if (verify_uid_allowed(e->uid, e->gid, conf.first_valid_uid,
	    priv_is_root()))
		return 1;
	if (e->uid == 0 || e->uid < (uid_t)conf.first_valid_uid)
		log_warnx("login refused: addr=%s user=%s: uid %u is below "
		    "first_valid_uid %d", addr, e->user, (unsigned)e->uid,
		    conf.first_valid_uid);
	else
		log_warnx("login refused: addr=%s user=%s: gid 0", addr,
		    e->user);
	return 0;
}

/* A system user from the passwd database, with no stored secret. */
static int
system_entry(const char *name, struct pwf_entry *e)
{
	struct passwd *pw = getpwnam(name);

	memset(e, 0, sizeof(*e));
	if (pw == NULL || snprintf(e->user, sizeof(e->user), "%s", name) >=
	    (int)sizeof(e->user) || snprintf(e->home, sizeof(e->home), "%s",
	    pw->pw_dir) >= (int)sizeof(e->home))
		return -1;
	e->uid = pw->pw_uid;
	e->gid = pw->pw_gid;
	e->scheme = PWF_LOCKED;	/* no stored secret here */
	return 0;
}

/* The first backend, in the configured order, that knows the name; e
 * gets its entry (for PAM, the passwd database's uid and gid). */
static enum found
lookup(const char *user, struct pwf_entry *e, char *dummy)
{
	int i;

	dummy[0] = '\0';
	if (!pwf_valid_user(user, strlen(user)))
		return F_NONE;
	for (i = 0; i < conf.nbackends; i++) {
		if (conf.backends[i] == AUTH_BACKEND_PASSWD_FILE) {
			int r = pwf_lookup(conf.passwd_file, user, e, dummy);

			if (r == 1)
				return F_PASSWD_FILE;
		} else if (conf.backends[i] == AUTH_BACKEND_PAM &&
		    system_entry(user, e) == 0)
			return F_PAM;
	}
	return F_NONE;
}

/* A known user whose backend cannot check a credential of this method:
 * PAM checks only passwords, a challenge needs a stored {PLAIN} secret.
 * Such a failure is answered as any other but is no evidence of a
 * wrong password, so it feeds no penalty. */
static int
method_unserved(enum found via, const struct pwf_entry *e, enum method how)
{
	if (how == M_PASS || via == F_NONE)
		return 0;
	if (via == F_PAM)
		return 1;
	return e->scheme != PWF_PLAIN && e->scheme != PWF_LOCKED;
}

/* The work of a check that cannot succeed (an unknown user, a refused
 * uid, a method the user's backend cannot serve): what a real check by
 * the same method costs, so the time taken tells none of them apart. */
static void
dummy_check(enum method how, const char *dummy, const char *cred)
{
	static const struct pwf_entry plain = { .scheme = PWF_PLAIN,
	    .secret = "privpop-no-such-secret" };

	if (how == M_APOP)
		(void)verify_apop(&plain, stamp, cred);
	else if (how == M_CRAM)
		(void)verify_cram(&plain, stamp, cred);
	else
		(void)verify_password(NULL, dummy, cred);
}

/* PASS, APOP and CRAM-MD5 share everything but the check. */
static void
handle_login(struct msg *m, enum method how)
{
	static struct pwf_entry e;
	static char dummy[CONFIG_MAX_LINE];
	char canon[POP3_MAX_USER + 1], user[POP3_MAX_USER + 1];
	const char *userp, *cred, *addr = peer;
	enum found via;
	uint32_t code = IPC_ERR_AUTH;
	int ok = 0, counted = 1;

	if (msg_get_str(m, &userp, POP3_MAX_USER) == -1 ||
	    msg_get_str(m, &cred, POP3_MAX_PASS) == -1 ||
	    msg_end(m) == -1)
		fatalx("%s: malformed", msg_name(m->type));
	/* a copy: the message is wiped with the credential in it */
	snprintf(user, sizeof(user), "%s", userp);
	if (++attempts > conf.max_auth_fails)
		fatalx("too many login attempts");

	via = lookup(user, &e, dummy);
	if (via != F_NONE && !uid_allowed(&e, addr)) {
		dummy_check(how, dummy, cred);
	} else if (method_unserved(via, &e, how)) {
		dummy_check(how, dummy, cred);
		counted = 0;
	} else if (via == F_PASSWD_FILE) {
		if (how == M_APOP)
			ok = verify_apop(&e, stamp, cred);
		else if (how == M_CRAM)
			ok = verify_cram(&e, stamp, cred);
		else
			ok = verify_password(&e, dummy, cred);
		ok = ok && e.scheme != PWF_LOCKED;
		if (ok && how == M_PASS && e.scheme == PWF_CRYPT &&
		    conf.passwd_upgrade[0] != '\0' &&
		    upgrade_is_weak(e.secret, conf.passwd_upgrade_rounds))
			upgrade_entry(conf.passwd_file, e.user, e.secret, cred,
			    conf.passwd_upgrade);
	} else if (via == F_PAM) {
		switch (pamb_authenticate(conf.pam_service, user, cred, addr,
		    conf.pam_timeout, canon, sizeof(canon))) {
		case PAMB_OK:
			/* a module may have mapped the name */
			ok = system_entry(canon, &e) == 0 &&
			    uid_allowed(&e, addr);
			break;
		case PAMB_CHANGE:
			/* not IPC_ERR_EXPIRED: that confirmed the password */
			break;
		case PAMB_ERROR:
			code = IPC_ERR_TEMP;
			break;
		case PAMB_FAIL:
			break;
		}
	} else {
		/* unknown: the same work as a wrong password */
		dummy_check(how, dummy, cred);
	}
	/* Wipe the password (and the message holding it) now. */
	explicit_bzero(m->data, sizeof(m->data));

	if (ok) {
		login_ok(&e, addr, via);
	} else {
		log_info("login failed: sess=%s addr=%s user=%s method=%s%s",
		    sess_id, addr, via != F_NONE ? user : "-",
		    method_names[how], counted ?
		    "" : " (no secret for this method; not counted)");
		if (via == F_PAM)
			pamb_close();
		fail_delay(addr, counted);
		answer_fail(code);
	}
	explicit_bzero(&e, sizeof(e));
}

static void
h_tls_start(struct msg *m)
{
	tlskeys_start(m);
}

static void
h_tls_sign(struct msg *m)
{
	tlskeys_sign(sock, m);
}

static void
h_login(struct msg *m)
{
	handle_login(m, M_PASS);
}

static void
h_apop(struct msg *m)
{
	handle_login(m, M_APOP);
}

static void
h_cram(struct msg *m)
{
	handle_login(m, M_CRAM);
}

/* SCRAM-SHA-256: two requests, state kept between them. */
static struct scram_state scram;
static struct pwf_entry scram_e;
static enum found scram_via;
static int scram_refused, scram_unserved;

/* A failed exchange; how says why when it is not a wrong proof. */
static void
scram_fail(const char *user, const char *how)
{
	log_info("login failed: sess=%s addr=%s user=%s "
	    "method=scram-sha-256%s%s", sess_id, peer,
	    scram_via != F_NONE ? user : "-", how, scram_unserved ?
	    " (no secret for this method; not counted)" : "");
	if (scram_via == F_PAM)
		pamb_close();
	fail_delay(peer, !scram_unserved);
	answer_fail(IPC_ERR_AUTH);
	explicit_bzero(&scram, sizeof(scram));
	explicit_bzero(&scram_e, sizeof(scram_e));
}

static void
h_scram_first(struct msg *m)
{
	static char dummy[CONFIG_MAX_LINE];
	char user[POP3_MAX_USER + 1], out[SCRAM_MSG_MAX];
	unsigned char salt[SCRAM_HASH_LEN];
	struct scram_keys k, *kp = NULL;
	const char *cf;
	struct msg r;

	if (msg_get_str(m, &cf, SCRAM_MSG_MAX - 1) == -1 ||
	    msg_end(m) == -1)
		fatalx("SCRAM_FIRST: malformed");
	if (++attempts > conf.max_auth_fails)
		fatalx("too many login attempts");
	memset(&scram, 0, sizeof(scram));
	scram_via = F_NONE;
	scram_refused = scram_unserved = 0;
	if (scram_client_user(cf, user, sizeof(user)) == -1) {
		scram_fail("-", "");
		return;
	}
	scram_via = lookup(user, &scram_e, dummy);
	if (scram_via != F_NONE && !uid_allowed(&scram_e, peer))
		scram_refused = 1;
	else
		scram_unserved = scram_via == F_PAM ||
		    (scram_via == F_PASSWD_FILE &&
		    scram_e.scheme == PWF_CRYPT);
	/* one PBKDF2 on every path, so timing tells no user apart; the
	 * salt of a name without stored keys is the one scram_server_first
	 * answers for it (unknown) or the key's ({PLAIN}) */
	if (scram_fake_salt(user, salt) == -1)
		fatalx("SCRAM: no salt key");
	if (scram_refused) {
		scram_derive("privpop", salt, SCRAM_SALT_LEN, SCRAM_ITERATIONS,
		    &k);
	} else if (scram_via == F_PASSWD_FILE &&
	    scram_e.scheme == PWF_PLAIN) {
		if (scram_derive(scram_e.secret, salt, SCRAM_SALT_LEN,
		    SCRAM_ITERATIONS, &k) == 0)
			kp = &k;
	} else {
		scram_derive("privpop", salt, SCRAM_SALT_LEN, SCRAM_ITERATIONS,
		    &k);
		if (scram_via == F_PASSWD_FILE && scram_e.scheme == PWF_SCRAM &&
		    scram_parse_stored(scram_e.secret, &k) == 0)
			kp = &k;
	}
	if (scram_server_first(&scram, cf, kp, out, sizeof(out)) == -1) {
		scram_fail(user, "");
		return;
	}
	explicit_bzero(&k, sizeof(k));
	msg_init(&r, MSG_SESSION_SASL_CHALLENGE);
	if (msg_put_str(&r, out) == -1 || ipc_send(sock, &r, -1) == -1)
		fatal("send challenge");
}

static void
h_scram_final(struct msg *m)
{
	char out[SCRAM_MSG_MAX], user[POP3_MAX_USER + 1];
	const char *cf;
	struct msg r;

	if (scram.step != 1)
		fatalx("SCRAM_FINAL before SCRAM_FIRST");
	if (msg_get_str(m, &cf, SCRAM_MSG_MAX - 1) == -1 || msg_end(m) == -1)
		fatalx("SCRAM_FINAL: malformed");
	snprintf(user, sizeof(user), "%s", scram.user);
	/* "*": the client cancelled after it saw the salt; as much a
	 * failure as a wrong proof (else a free probe) */
	if (strcmp(cf, "*") == 0) {
		scram_fail(user, " (cancelled)");
		return;
	}
	if (!scram_server_final(&scram, cf, out, sizeof(out)) ||
	    scram_via != F_PASSWD_FILE || scram_e.scheme == PWF_LOCKED ||
	    scram_refused) {
		scram_fail(user, "");
		return;
	}
	/* RFC 5034: the server-final goes as one more challenge */
	msg_init(&r, MSG_SESSION_SASL_CHALLENGE);
	if (msg_put_str(&r, out) == -1 || ipc_send(sock, &r, -1) == -1)
		fatal("send challenge");
	login_ok(&scram_e, peer, scram_via);
	explicit_bzero(&scram, sizeof(scram));
	explicit_bzero(&scram_e, sizeof(scram_e));
}

/* An exchange left after the salt was sent (another request, or the
 * session's end): counted as the failure it is, so a client cannot
 * probe names for free.  The session child cancels through
 * SCRAM_FINAL "*" and waits; this is for one that does not. */
static void
scram_abandoned(void)
{
	if (scram.step != 1)
		return;
	log_info("login failed: sess=%s addr=%s user=%s "
	    "method=scram-sha-256 (abandoned)", sess_id, peer,
	    scram_via != F_NONE ? scram.user : "-");
	if (!scram_unserved)
		report(peer, 0);
	if (scram_via == F_PAM)
		pamb_close();
	explicit_bzero(&scram, sizeof(scram));
	explicit_bzero(&scram_e, sizeof(scram_e));
}

/*
 * The slot's first message: the client's socket, sent before it read a
 * byte of it, so before anything could have taken the session child
 * over.  The address is the kernel's; taken once, first, and only in
 * a form the log and the address lists can carry.
 */
static void
h_peer(struct msg *m)
{
	if (m->fd == -1 || msg_end(m) == -1)
		fatalx("AUTH_PEER: malformed");
	if (peer[0] != '\0')
		fatalx("AUTH_PEER: a second time");
	if (peer_addr_of(m->fd, peer, sizeof(peer)) == -1 ||
	    !peer_addr_valid(peer))
		fatalx("AUTH_PEER: the client's address cannot be read");
	close(m->fd);
	m->fd = -1;
}

/* The requests a session child may send (OpenSSH mon_table), and the
 * mechanisms of which one must have been offered (0: any time). */
static const struct {
	uint32_t	type;
	int		mechs;
	void		(*fn)(struct msg *);
} dispatch[] = {
	{ MSG_AUTH_PEER, 0, h_peer },
	{ MSG_AUTH_LOGIN, AUTH_MECH_PASSWORD, h_login },
	{ MSG_AUTH_APOP, AUTH_MECH_APOP, h_apop },
	{ MSG_AUTH_CRAM, AUTH_MECH_CRAM_MD5, h_cram },
	{ MSG_AUTH_SCRAM_FIRST, AUTH_MECH_SCRAM, h_scram_first },
	{ MSG_AUTH_SCRAM_FINAL, AUTH_MECH_SCRAM, h_scram_final },
	{ MSG_AUTH_TLS_START, 0, h_tls_start },	/* once */
	{ MSG_AUTH_TLS_SIGN, 0, h_tls_sign },	/* once, after TLS_START */
};

int
main(int argc, char *argv[])
{
	const char *conffile = NULL;
	size_t i;
	char err[512];
	struct msg m;
	pid_t store_pid;
	int nkeys_loaded, pidfd = -1, spawned;
	int ch, status, from_fd = 0, penalty_fds = 0, tls_fd = 0, zygote = 0;
	int test = 0;

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
	if (fcntl(sock, F_GETFD) == -1)
		fatalx("no IPC socket on fd %d", sock);
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
		int chan;

		refresh_user_db();	/* read the passwd-file once here */
		warn_unserved();
		/* a channel per helper that has not logged in yet */
		if (getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
		    rl.rlim_cur < rl.rlim_max) {
			rl.rlim_cur = rl.rlim_max;
			(void)setrlimit(RLIMIT_NOFILE, &rl);
		}
		if (spawner_serve(sock, MSG_AUTH_SPAWN, MSG_AUTH_SPAWN_REPORT,
		    "privpop-auth (or the privpop-store it became)", &m,
		    &login_report, nkeys_loaded ? tlskeys_serve : NULL, &chan,
		    refresh_user_db, NULL))
			return 0;
		if (dup2(m.fd, IPC_CHILD_FD) == -1)
			fatal("dup2");
		close(m.fd);
		if (chan != -1)
			tlskeys_use_signer(chan);
		sbx_auth_helper();
	}
	make_stamp();
	send_hello();

	for (;;) {
		int r = ipc_recv(sock, &m);

		/* _exit: nothing to flush, and OpenSSL's exit-time cleanup
		 * of a forked helper is pure cost */
		if (r == 0) {
			scram_abandoned();
			_exit(0);	/* the session ended */
		}
		if (r == -1 && errno == EPROTO && m.type != MSG_NONE)
			fatalx("%s: malformed", msg_name(m.type));
		if (r == -1)
			fatal("ipc receive");
		if (clock_gettime(CLOCK_MONOTONIC, &arrival) == -1)
			fatal("clock_gettime");
		/* the address first: nothing is answered without it */
		if ((m.type == MSG_AUTH_PEER) != (peer[0] == '\0'))
			fatalx("%s %s the client's socket", msg_name(m.type),
			    peer[0] == '\0' ? "before" : "after");
		for (i = 0; i < sizeof(dispatch) / sizeof(dispatch[0]); i++)
			if (dispatch[i].type == m.type)
				break;
		/* Only login requests, and only until one succeeds. */
		if (i == sizeof(dispatch) / sizeof(dispatch[0]))
			fatalx("unexpected message %s", msg_name(m.type));
		if (dispatch[i].mechs != 0 && !(offer & dispatch[i].mechs))
			fatalx("%s: mechanism not offered", msg_name(m.type));
		/* a password attempt abandons a SCRAM exchange */
		if (m.type != MSG_AUTH_SCRAM_FINAL &&
		    m.type != MSG_AUTH_TLS_SIGN &&
		    m.type != MSG_AUTH_TLS_START)
			scram_abandoned();
		dispatch[i].fn(&m);
		if (worker.fd != -1)
			break;
	}
	/* The session has its store socket: the login is final, by
	 * whichever mechanism, and the master is told.  Without a PAM
	 * session to close when the worker ends there is nothing left to
	 * do here: the store fork server starts the worker, or this
	 * process becomes it (one process, not a fork that then execs).
	 * An idle session then costs two processes, not three. */
	report_login();
	close(sock);
	if (!pamb_active()) {
		if ((spawned = spawn_store(NULL)) == 0)
			_exit(0);
		if (spawned == -2)
			_exit(1);
		exec_store();
	}
	/* With one, this process stays root to close it: the worker comes
	 * from the fork server as for anyone (a pidfd tells its end), or,
	 * without one, from a child that execs privpop-store as root. */
	if ((spawned = spawn_store(&pidfd)) == 0) {
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
		exec_store();
	}
	close(worker.fd);
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
