/*
 * A session slot.  The master's slots come from the slot zygote of the
 * generation (slot_zygote_main): forked by the master as root, it drops
 * and installs its filter once, then forks a slot for each request,
 * which takes its privpop-auth socket and a syslog socket from the
 * master and waits for its connection.  In inetd mode slot_main() forks
 * its own privpop-auth and drops itself.  Everything after priv_drop()
 * is unprivileged.
 *
 * Runs as: root until priv_drop(), then privpop.
 */
#include "config.h"

#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addrlist.h"
#include "auth_helper.h"
#include "ipc.h"
#include "ipc_auth.h"
#include "ipc_master.h"
#include "lang.h"
#include "log.h"
#include "peeraddr.h"
#include "penalty.h"
#include "privdrop.h"
#include "proxy_conn.h"
#include "proctitle.h"
#include "sandbox.h"
#include "session.h"
#include "slot.h"
#include "transcript.h"
#include "tls_keyproxy.h"

static int
spawn_auth(const struct slot_env *env)
{
	int sv[2];

	if (ipc_socketpair(sv) == -1)
		fatal("socketpair");
	if (auth_helper_start(env, sv[1], 0, -1) == -1)
		fatalx("cannot start privpop-auth");
	return sv[0];
}

static void
recv_hello(int auth_sock, struct session_hello *h)
{
	struct msg m;
	uint32_t version;
	const char *stamp, *id;

	if (ipc_recv(auth_sock, &m) != 1 || m.type != MSG_SESSION_HELLO)
		fatalx("no hello from privpop-auth");
	if (ipc_get_session_hello(&m, &version, &h->flags, &stamp, &id) == -1)
		fatalx("malformed hello from privpop-auth");
	if (version != IPC_VERSION)
		fatalx("privpop-auth speaks IPC version %u, not %u", version,
		    IPC_VERSION);
	snprintf(h->stamp, sizeof(h->stamp), "%s", stamp);
	snprintf(h->id, sizeof(h->id), "%s", id);
}

/* Hand privpop-auth the client's socket before a byte of it is read:
 * it takes the address from the kernel (getpeername) itself, so a
 * session child hijacked later by what it reads can claim no other
 * (the helper takes this message once, and only first). */
static void
send_peer(int auth_sock, int fd)
{
	if (ipc_send_auth_peer(auth_sock, fd) == -1)
		fatal("send peer to privpop-auth");
}

static void
null_stdio(void)
{
	int fd;

	if ((fd = open("/dev/null", O_RDWR | O_CLOEXEC)) == -1)
		fatal("/dev/null");
	if (dup2(fd, 0) == -1 || dup2(fd, 1) == -1)
		fatal("dup2");
	if (fd > 1)
		close(fd);
}

/* Wait for the connection the master accepted for this slot; exit
 * when the master closes the socket (reload or shutdown). */
static int
recv_conn(const struct slot_env *env, int *tls_r)
{
	struct msg m;
	const char *users;
	int r, fd, transcript;

	while ((r = ipc_recv(env->master_fd, &m)) == -1 && errno == EINTR)
		;
	if (r == 0)
		_exit(0);	/* retired while idle */
	/* a transcript file first, with transcript_dir */
	if (r == 1 && m.type == MSG_SLOT_TRANSCRIPT) {
		if (ipc_get_slot_transcript(&m, &fd) == -1)
			fatalx("bad transcript file message from the master");
		transcript_file(fd);
		while ((r = ipc_recv(env->master_fd, &m)) == -1 &&
		    errno == EINTR)
			;
	}
	if (r != 1 || ipc_get_slot_conn(&m, tls_r, &transcript, &users,
	    &fd) == -1)
		fatalx("bad connection message from the master");
	transcript_runtime(transcript, users);
	return fd;
}

/* Before the drop, in a slot or the zygote: nothing of root's but what
 * the slot needs. */
static void
slot_prepare(const struct slot_env *env, int inetd)
{
	signal(SIGHUP, SIG_IGN);	/* reload is the master's business */
	signal(SIGTERM, SIG_DFL);
	signal(SIGCHLD, SIG_DFL);
	signal(SIGPIPE, SIG_IGN);
	/* only privpop-auth talks to the master about penalties */
	if (env->penalty_report_fd != -1)
		close(env->penalty_report_fd);
	if (env->penalty_table_fd != -1)
		close(env->penalty_table_fd);
	if (env->tls_keys_fd != -1)
		close(env->tls_keys_fd);
	/* privpop-auth has its copy of the configuration */
	if (env->conf_fd != -1)
		close(env->conf_fd);
	/* nothing of the launching shell's: the client is on 0 and 1
	 * only in inetd mode; 2 stays for -f and for libc's last words */
	if (!inetd)
		null_stdio();
	log_reopen();
}

/* The directory of the LANG catalogs (RFC 6856), opened here, before
 * the chroot; lang_load() reads and parses them after the drop, as the
 * unprivileged user: root only opens the directory.  -1 (English
 * only) when it is missing. */
static int
lang_dir_open(const struct slot_env *env)
{
	return open(env->conf->lang_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

/*
 * A connection from haproxy_trusted_networks: read the balancer's PROXY
 * header before the greeting (and before a TLS handshake), tell
 * privpop-auth what it said (it checks that the peer is a trusted
 * balancer and tells the master), and take the client's address for
 * this session.  Without a valid header in haproxy_timeout the
 * connection is closed: a trusted balancer always sends one.
 */
static void
proxy_header(const struct conf *c, int auth_sock, int fd, char *addr,
    size_t addrlen)
{
	struct proxy_info pi;
	struct ipc_proxy px;
	char why[160];

	if (proxy_read(fd, c->haproxy_timeout, &pi, why, sizeof(why)) == -1) {
		log_warnx("haproxy: %s: %s; connection closed (a peer in "
		    "haproxy_trusted_networks must send a PROXY header: "
		    "send-proxy or send-proxy-v2 on HAProxy's server line)",
		    addr, why);
		_exit(0);
	}
	memset(&px, 0, sizeof(px));
	px.local = (uint32_t)pi.local;
	px.src = pi.local ? "" : pi.src;
	px.dst = pi.local ? "" : pi.dst;
	px.src_port = pi.local ? 0 : pi.src_port;
	px.dst_port = pi.local ? 0 : pi.dst_port;
	px.ssl = pi.local ? 0 : (uint32_t)pi.ssl;
	if (ipc_send_auth_proxy(auth_sock, &px) == -1)
		fatal("PROXY header to privpop-auth");
	if (pi.local)
		return;
	snprintf(addr, addrlen, "%s", pi.src);
	session_set_proxy_tls(pi.ssl);
}

/* After the filter: wait for the connection (or take inetd's), serve. */
__attribute__((noreturn)) static void
slot_serve(const struct slot_env *env, int auth_sock, int rfd, int wfd)
{
	struct session_hello hello;
	char addr[PEER_ADDR_MAX];
	int implicit_tls = 0;

	/* the TLS key's private half is privpop-auth's */
	keyproxy_set_channel(auth_sock);
	recv_hello(auth_sock, &hello);
	if (rfd == -1) {
		rfd = wfd = recv_conn(env, &implicit_tls);
		session_set_master(env->master_fd);
	} else
		implicit_tls = env->inetd_tls;
	send_peer(auth_sock, rfd);
	if (peer_addr_of(rfd, addr, sizeof(addr)) == PEER_GONE) {
		/* reset before a byte was exchanged (a scanner, a health
		 * check): no session to log, no error; privpop-auth, which
		 * finds the same, ends as quietly */
		log_debug("a connection reset by its client before the "
		    "greeting");
		_exit(0);
	}
	if (env->conf->haproxy_trusted_networks[0] != '\0' &&
	    addrlist_match(addr, env->conf->haproxy_trusted_networks))
		proxy_header(env->conf, auth_sock, rfd, addr, sizeof(addr));
	session_run(env->conf, rfd, wfd, auth_sock, &hello, addr, env->tls_ctx,
	    implicit_tls);
}

void
slot_main(const struct slot_env *env, int rfd, int wfd)
{
	int auth_sock, lang_fd;

	/* from the master's fork server, or (inetd) our own */
	auth_sock = env->auth_fd != -1 ? env->auth_fd : spawn_auth(env);
	slot_prepare(env, rfd != -1);
	lang_fd = lang_dir_open(env);
	/* Drop before touching anything from the network. */
	if (priv_is_root())
		priv_drop(env->uid, env->gid, PRIV_NO_GROUP,
		    env->conf->chroot_dir);
	lang_load(lang_fd);
	priv_limit(SESSION_RLIMIT_NOFILE, 1);
	sbx_session(env->conf->seccomp);
	slot_serve(env, auth_sock, rfd, wfd);
}

/* A descriptor the master sends a new slot of the zygote's, read by
 * get (ipc_get_slot_auth or ipc_get_slot_log). */
static int
recv_slot_fd(int master_fd, int (*get)(struct msg *, int *),
    const char *what)
{
	struct msg m;
	int fd;

	if (ipc_recv(master_fd, &m) != 1 || get(&m, &fd) == -1)
		fatalx("no %s from the master", what);
	return fd;
}

/* A slot forked by the zygote: its filter is the zygote's (a filter of
 * its own would cost a load per slot: see sandbox_session.c). */
__attribute__((noreturn)) static void
zygote_child(struct slot_env *env, int master_fd)
{
	struct rlimit rl;
	int auth_sock;

	(void)prctl(PR_SET_NAME, program_invocation_short_name, 0, 0, 0);
	proctitle_set("privpop: [idle]");
	/* what the zygote may do and a slot must not: fork */
	rl.rlim_cur = rl.rlim_max = 0;
	if (setrlimit(RLIMIT_NPROC, &rl) == -1)
		fatal("setrlimit nproc");
	env->master_fd = master_fd;
	auth_sock = recv_slot_fd(master_fd, ipc_get_slot_auth,
	    "privpop-auth socket");
	/* a syslog socket of its own: a shared one, one slot could shut
	 * down for every other */
	log_adopt_socket(recv_slot_fd(master_fd, ipc_get_slot_log,
	    "SLOT_LOG"));
	sbx_session_forked();
	slot_serve(env, auth_sock, -1, -1);
}

/*
 * The slot zygote: one per generation, forked by the master, dropped and
 * filtered once; each MSG_ZYGOTE_SPAWN becomes a slot, a child of the
 * master's (CLONE_PARENT: the master reaps and kills it like any slot),
 * whose pid goes back to the master.  It reads nothing but the master's
 * messages; its slots cannot reach it (they do not hold its socket).
 */
void
slot_zygote_main(const struct slot_env *env0, int sock)
{
	struct slot_env env = *env0;
	struct msg m;
	pid_t pid;
	int r, fd, lang_fd;

	slot_prepare(&env, 0);
	/* ps and the tests tell it from the slots (which take back the
	 * program's name) */
	(void)prctl(PR_SET_NAME, SLOT_ZYGOTE_NAME, 0, 0, 0);
	proctitle_set("privpop: [zygote]");
	lang_fd = lang_dir_open(&env);
	if (priv_is_root())
		priv_drop(env.uid, env.gid, PRIV_NO_GROUP,
		    env.conf->chroot_dir);
	lang_load(lang_fd);	/* its slots inherit the catalogs */
	priv_limit(SESSION_RLIMIT_NOFILE, 0);	/* it forks; slots do not */
	sbx_session_zygote(env.conf->seccomp);
	for (;;) {
		while ((r = ipc_recv(sock, &m)) == -1 && errno == EINTR)
			;
		if (r == 0)
			_exit(0);	/* the generation is over */
		if (r != 1 || ipc_get_zygote_spawn(&m, &fd) == -1)
			fatalx("bad request from the master");
		/* raw clone: glibc's fork cannot make a sibling; this
		 * process has one thread and holds no lock here */
		pid = (pid_t)syscall(SYS_clone, CLONE_PARENT | SIGCHLD, 0L,
		    NULL, NULL, 0L);
		if (pid == 0) {
			close(sock);
			zygote_child(&env, fd);
		}
		if (pid == -1)
			log_warn("clone");
		close(fd);
		if (ipc_send_master_slot_pid(sock,
		    pid == -1 ? 0 : (uint32_t)pid) == -1)
			fatal("answer the master");
	}
}
