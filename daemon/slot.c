/*
 * Runs as root until priv_drop(): slot_main() gets its privpop-auth
 * (which stays root) from the master's fork server, or forks one itself
 * in inetd mode, and then gives up privilege for good before it is
 * handed a connection.  Everything after priv_drop() is unprivileged.
 *
 * Runs as: root until priv_drop(), then privpop.
 */
#include "config.h"

#include <sys/socket.h>

#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth_helper.h"
#include "ipc.h"
#include "log.h"
#include "penalty.h"
#include "privdrop.h"
#include "sandbox.h"
#include "session.h"
#include "slot.h"
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
	if (msg_get_u32(&m, &version) == -1 ||
	    msg_get_u32(&m, &h->flags) == -1 ||
	    msg_get_str(&m, &stamp, sizeof(h->stamp) - 1) == -1 ||
	    msg_get_str(&m, &id, SESSION_ID_LEN) == -1 ||
	    strlen(id) != SESSION_ID_LEN ||
	    strspn(id, "0123456789abcdef") != SESSION_ID_LEN ||
	    msg_end(&m) == -1)
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
	struct msg m;

	msg_init(&m, MSG_AUTH_PEER);
	if (ipc_send(auth_sock, &m, fd) == -1)
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
	uint32_t tls;
	int r;

	while ((r = ipc_recv(env->master_fd, &m)) == -1 && errno == EINTR)
		;
	if (r == 0)
		_exit(0);	/* retired while idle */
	if (r != 1 || m.type != MSG_SLOT_CONN || m.fd == -1 ||
	    msg_get_u32(&m, &tls) == -1 || tls > 1 || msg_end(&m) == -1)
		fatalx("bad connection message from the master");
	*tls_r = (int)tls;
	return m.fd;
}

void
slot_main(const struct slot_env *env, int rfd, int wfd)
{
	struct session_hello hello;
	char addr[PEER_ADDR_MAX];
	int auth_sock, implicit_tls = 0;

	signal(SIGHUP, SIG_IGN);	/* reload is the master's business */
	signal(SIGTERM, SIG_DFL);
	signal(SIGCHLD, SIG_DFL);
	signal(SIGPIPE, SIG_IGN);
	/* from the master's fork server, or (inetd) our own */
	auth_sock = env->auth_fd != -1 ? env->auth_fd : spawn_auth(env);
	/* the TLS key's private half is privpop-auth's */
	keyproxy_set_channel(auth_sock);
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
	if (rfd == -1)
		null_stdio();

	log_reopen();
	/* Drop before touching anything from the network. */
	if (priv_is_root())
		priv_drop(env->uid, env->gid, PRIV_NO_GROUP,
		    env->conf->chroot_dir);
	priv_limit(SESSION_RLIMIT_NOFILE, 1);
	sbx_session(env->conf->seccomp);
	recv_hello(auth_sock, &hello);

	if (rfd == -1) {
		rfd = wfd = recv_conn(env, &implicit_tls);
		session_set_master(env->master_fd);
	} else
		implicit_tls = env->inetd_tls;
	send_peer(auth_sock, rfd);
	(void)peer_addr_of(rfd, addr, sizeof(addr));
	session_run(env->conf, rfd, wfd, auth_sock, &hello, addr, env->tls_ctx,
	    implicit_tls);
}
