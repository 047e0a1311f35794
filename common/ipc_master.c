/*
 * Typed messages of the master, the slots, the fork servers and the
 * dotlock child; see ipc_master.h.
 *
 * Runs as: root (master, the fork servers, privpop-auth, privpopctl),
 * privpop (slots and their zygote), mailbox owner (worker, dotlock
 * child).
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "ipc_master.h"
#include "peeraddr.h"

/* A message of u32 fields only, with fd (or -1). */
static int
send_u32s(int sock, uint32_t type, const uint32_t *v, size_t n, int fd)
{
	struct msg m;
	size_t i;

	msg_init(&m, type);
	for (i = 0; i < n; i++)
		if (msg_put_u32(&m, v[i]) == -1) {
			errno = EMSGSIZE;
			return -1;
		}
	return ipc_send(sock, &m, fd);
}

int
ipc_send_slot_conn(int sock, int tls, int transcript, const char *users,
    int fd)
{
	struct msg m;

	msg_init(&m, MSG_SLOT_CONN);
	if (msg_put_u32(&m, tls != 0) == -1 ||
	    msg_put_u32(&m, transcript != 0) == -1 ||
	    msg_put_str(&m, users) == -1) {
		errno = EMSGSIZE;
		return -1;
	}
	return ipc_send(sock, &m, fd);
}

int
ipc_get_slot_conn(struct msg *m, int *tls_r, int *transcript_r,
    const char **users_r, int *fd_r)
{
	uint32_t tls, tr;

	if (m->type != MSG_SLOT_CONN || m->fd == -1 ||
	    msg_get_u32(m, &tls) == -1 || tls > 1 ||
	    msg_get_u32(m, &tr) == -1 || tr > 1 ||
	    msg_get_str(m, users_r, CTL_TRANSCRIPT_USERS_LEN - 1) == -1 ||
	    msg_end(m) == -1)
		return -1;
	*tls_r = (int)tls;
	*transcript_r = (int)tr;
	*fd_r = m->fd;
	m->fd = -1;
	return 0;
}

int
ipc_send_zygote_spawn(int sock, int fd)
{
	return ipc_send_fd(sock, MSG_ZYGOTE_SPAWN, fd);
}

int
ipc_get_zygote_spawn(struct msg *m, int *fd_r)
{
	return ipc_get_fd(m, MSG_ZYGOTE_SPAWN, 1, fd_r);
}

int
ipc_send_master_slot_pid(int sock, uint32_t pid)
{
	return ipc_send_u32(sock, MSG_MASTER_SLOT_PID, pid);
}

int
ipc_get_master_slot_pid(struct msg *m, uint32_t *pid_r)
{
	if (m->type != MSG_MASTER_SLOT_PID || m->fd != -1 ||
	    msg_get_u32(m, pid_r) == -1 || msg_end(m) == -1)
		return -1;
	return 0;
}

int
ipc_send_slot_auth(int sock, int fd)
{
	return ipc_send_fd(sock, MSG_SLOT_AUTH, fd);
}

int
ipc_get_slot_auth(struct msg *m, int *fd_r)
{
	return ipc_get_fd(m, MSG_SLOT_AUTH, 1, fd_r);
}

int
ipc_send_slot_log(int sock, int fd)
{
	return ipc_send_fd(sock, MSG_SLOT_LOG, fd);
}

int
ipc_get_slot_log(struct msg *m, int *fd_r)
{
	return ipc_get_fd(m, MSG_SLOT_LOG, 0, fd_r);
}

int
ipc_send_metrics_snapshot(int sock, int fd)
{
	return ipc_send_fd(sock, MSG_METRICS_SNAPSHOT, fd);
}

int
ipc_get_metrics_snapshot(struct msg *m, int *fd_r)
{
	return ipc_get_fd(m, MSG_METRICS_SNAPSHOT, 1, fd_r);
}

int
ipc_send_slot_transcript(int sock, int fd)
{
	return ipc_send_fd(sock, MSG_SLOT_TRANSCRIPT, fd);
}

int
ipc_get_slot_transcript(struct msg *m, int *fd_r)
{
	return ipc_get_fd(m, MSG_SLOT_TRANSCRIPT, 1, fd_r);
}

int
ipc_send_auth_spawn(int sock, int fd)
{
	return ipc_send_fd(sock, MSG_AUTH_SPAWN, fd);
}

int
ipc_get_auth_spawn(struct msg *m, int *fd_r)
{
	return ipc_get_fd(m, MSG_AUTH_SPAWN, 1, fd_r);
}

int
ipc_send_auth_spawn_report(int sock, int fd)
{
	return ipc_send_fd(sock, MSG_AUTH_SPAWN_REPORT, fd);
}

int
ipc_get_auth_spawn_report(struct msg *m, int *fd_r)
{
	return ipc_get_fd(m, MSG_AUTH_SPAWN_REPORT, 1, fd_r);
}

/* A user name or a control argument: printable ASCII, no space (what
 * a log line or privpopctl's table can show as one field). */
static int
printable_word(const char *s)
{
	for (; *s != '\0'; s++)
		if (*s <= ' ' || *s > '~')
			return 0;
	return 1;
}

static int
session_id_ok(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return i == SESSION_ID_LEN;
}

int
ipc_send_master_login(int sock, const char *user, const char *sess,
    int tls)
{
	struct msg m;

	msg_init(&m, MSG_MASTER_LOGIN);
	if (msg_put_str(&m, user) == -1 || msg_put_str(&m, sess) == -1 ||
	    msg_put_u32(&m, tls ? 1 : 0) == -1) {
		errno = EMSGSIZE;
		return -1;
	}
	return ipc_send(sock, &m, -1);
}

int
ipc_get_master_login(struct msg *m, const char **user_r,
    const char **sess_r, int *tls_r)
{
	const char *user, *sess;
	uint32_t tls;

	if (m->type != MSG_MASTER_LOGIN || m->fd != -1 ||
	    msg_get_str(m, &user, POP3_MAX_USER) == -1 ||
	    msg_get_str(m, &sess, SESSION_ID_LEN) == -1 ||
	    msg_get_u32(m, &tls) == -1 || msg_end(m) == -1 ||
	    user[0] == '\0' || !printable_word(user) ||
	    !session_id_ok(sess) || tls > 1)
		return -1;
	*user_r = user;
	*sess_r = sess;
	*tls_r = (int)tls;
	return 0;
}

int
ipc_send_master_peer(int sock, const char *addr)
{
	struct msg m;

	msg_init(&m, MSG_MASTER_PEER);
	if (msg_put_str(&m, addr) == -1) {
		errno = EMSGSIZE;
		return -1;
	}
	return ipc_send(sock, &m, -1);
}

int
ipc_get_master_peer(struct msg *m, const char **addr_r)
{
	const char *a;

	if (m->type != MSG_MASTER_PEER || m->fd != -1)
		return -1;
	m->rpos = 0;
	if (msg_get_str(m, &a, PEER_ADDR_MAX - 1) == -1 || msg_end(m) == -1 ||
	    a[0] == '\0' || strcmp(a, PEER_LOCAL) == 0 ||
	    strchr(a, '%') != NULL || !peer_addr_valid(a))
		return -1;
	*addr_r = a;
	return 0;
}

int
ipc_send_master_ctl_request(int sock, uint32_t cmd, const char *arg)
{
	struct msg m;

	msg_init(&m, MSG_MASTER_CTL_REQUEST);
	if (msg_put_u32(&m, cmd) == -1 || msg_put_str(&m, arg) == -1) {
		errno = EMSGSIZE;
		return -1;
	}
	return ipc_send(sock, &m, -1);
}

int
ipc_get_master_ctl_request(struct msg *m, uint32_t *cmd_r,
    const char **arg_r)
{
	const char *arg;
	uint32_t cmd;

	if (m->type != MSG_MASTER_CTL_REQUEST || m->fd != -1 ||
	    msg_get_u32(m, &cmd) == -1 ||
	    msg_get_str(m, &arg, CTL_ARG_MAX) == -1 || msg_end(m) == -1 ||
	    cmd == 0 || cmd >= CTL_CMD_MAX || !printable_word(arg))
		return -1;
	*cmd_r = cmd;
	*arg_r = arg;
	return 0;
}

int
ipc_send_ctl_answer(int sock, uint32_t status, uint32_t count, int fd)
{
	uint32_t v[2] = { status, count };

	return send_u32s(sock, MSG_CTL_ANSWER, v, 2, fd);
}

int
ipc_get_ctl_answer(struct msg *m, uint32_t *status_r, uint32_t *count_r,
    int *fd_r)
{
	uint32_t status, count;

	if (m->type != MSG_CTL_ANSWER || msg_get_u32(m, &status) == -1 ||
	    msg_get_u32(m, &count) == -1 || msg_end(m) == -1 ||
	    status >= CTL_ERR_MAX)
		return -1;
	*status_r = status;
	*count_r = count;
	*fd_r = m->fd;
	m->fd = -1;
	return 0;
}

static const char *const method_names[AUTH_METHOD_COUNT] = {
	"pass", "apop", "cram-md5", "scram-sha-256"
};

const char *
auth_method_name(int method)
{
	return method >= 0 && method < AUTH_METHOD_COUNT ?
	    method_names[method] : "?";
}

int
ipc_send_master_penalty(int sock, int ok, const char *addr,
    const char *method)
{
	struct msg m;

	msg_init(&m, MSG_MASTER_PENALTY);
	if (msg_put_u32(&m, ok ? 1 : 0) == -1 || msg_put_str(&m, addr) == -1 ||
	    msg_put_str(&m, method) == -1) {
		errno = EMSGSIZE;
		return -1;
	}
	return ipc_send(sock, &m, -1);
}

int
ipc_get_master_penalty(struct msg *m, int *ok_r, const char **addr_r,
    int *method_r)
{
	const char *method;
	uint32_t ok;
	int i;

	if (m->type != MSG_MASTER_PENALTY || msg_get_u32(m, &ok) == -1 ||
	    ok > 1 || msg_get_str(m, addr_r, PENALTY_ADDR_MAX - 1) == -1 ||
	    msg_get_str(m, &method, AUTH_METHOD_NAME_MAX) == -1 ||
	    msg_end(m) == -1 || m->fd != -1)
		return -1;
	for (i = 0; i < AUTH_METHOD_COUNT &&
	    strcmp(method, method_names[i]) != 0; i++)
		;
	if (i == AUTH_METHOD_COUNT)
		return -1;
	*ok_r = (int)ok;
	*method_r = i;
	return 0;
}

int
ipc_send_master_session_stats(int sock, const uint64_t v[SST_COUNT])
{
	struct msg m;
	size_t i;

	msg_init(&m, MSG_MASTER_SESSION_STATS);
	for (i = 0; i < SST_COUNT; i++)
		if (msg_put_u64(&m, v[i]) == -1) {
			errno = EMSGSIZE;
			return -1;
		}
	return ipc_send(sock, &m, -1);
}

/* The session's word: taken, clamped, never refused for its values
 * (a lie can only add to its own counters; see ipc.h). */
int
ipc_get_master_session_stats(struct msg *m, uint64_t v_r[SST_COUNT])
{
	uint64_t v[SST_COUNT];
	size_t i;

	if (m->type != MSG_MASTER_SESSION_STATS)
		return -1;
	for (i = 0; i < SST_COUNT; i++)
		if (msg_get_u64(m, &v[i]) == -1)
			return -1;
	if (msg_end(m) == -1 || m->fd != -1)
		return -1;
	for (i = 0; i < SST_COUNT; i++)
		v_r[i] = v[i] < SST_DELTA_MAX ? v[i] : SST_DELTA_MAX;
	return 0;
}

int
ipc_send_store_spawn(int sock, uid_t uid, gid_t gid, gid_t extra, int fd)
{
	uint32_t v[3] = { (uint32_t)uid, (uint32_t)gid, (uint32_t)extra };

	return send_u32s(sock, MSG_STORE_SPAWN, v, 3, fd);
}

int
ipc_get_store_spawn(struct msg *m, uid_t *uid_r, gid_t *gid_r,
    gid_t *extra_r, int *fd_r)
{
	uint32_t uid, gid, extra;

	if (m->type != MSG_STORE_SPAWN || m->fd == -1 ||
	    msg_get_u32(m, &uid) == -1 || msg_get_u32(m, &gid) == -1 ||
	    msg_get_u32(m, &extra) == -1 || msg_end(m) == -1)
		return -1;
	*uid_r = (uid_t)uid;
	*gid_r = (gid_t)gid;
	*extra_r = (gid_t)extra;
	*fd_r = m->fd;
	m->fd = -1;
	return 0;
}

int
ipc_send_store_socket(int sock, int fd)
{
	return ipc_send_fd(sock, MSG_STORE_SOCKET, fd);
}

int
ipc_get_store_socket(struct msg *m, int *fd_r)
{
	return ipc_get_fd(m, MSG_STORE_SOCKET, 1, fd_r);
}

int
ipc_send_auth_worker_pidfd(int sock, int pidfd)
{
	return ipc_send_fd(sock, MSG_AUTH_WORKER_PIDFD, pidfd);
}

int
ipc_get_auth_worker_pidfd(struct msg *m, int *pidfd_r)
{
	return ipc_get_fd(m, MSG_AUTH_WORKER_PIDFD, 0, pidfd_r);
}

int
ipc_send_lockd_request(int sock, uint32_t op, const char *lock,
    uint32_t stale, int dirfd)
{
	struct msg m;

	msg_init(&m, MSG_LOCKD_REQUEST);
	if (msg_put_u32(&m, op) == -1 || msg_put_str(&m, lock) == -1 ||
	    msg_put_u32(&m, stale) == -1) {
		errno = EMSGSIZE;
		return -1;
	}
	return ipc_send(sock, &m, dirfd);
}

int
ipc_get_lockd_request(struct msg *m, uint32_t *op_r, const char **lock_r,
    size_t max, uint32_t *stale_r, int *dirfd_r)
{
	if (m->type != MSG_LOCKD_REQUEST || msg_get_u32(m, op_r) == -1 ||
	    msg_get_str(m, lock_r, max) == -1 ||
	    msg_get_u32(m, stale_r) == -1 || msg_end(m) == -1)
		return -1;
	*dirfd_r = m->fd;
	m->fd = -1;
	return 0;
}

int
ipc_send_lockd_result(int sock, int result, int err)
{
	uint32_t v[2] = { (uint32_t)result, (uint32_t)err };

	return send_u32s(sock, MSG_LOCKD_RESULT, v, 2, -1);
}

int
ipc_get_lockd_result(struct msg *m, int *result_r, int *err_r)
{
	uint32_t r, err;

	if (m->type != MSG_LOCKD_RESULT || msg_get_u32(m, &r) == -1 ||
	    msg_get_u32(m, &err) == -1 || msg_end(m) == -1 ||
	    (r > 1 && r != UINT32_MAX))
		return -1;
	*result_r = r == UINT32_MAX ? -1 : (int)r;
	*err_r = (int)err;
	return 0;
}
