/*
 * Typed messages of the master, its slots and the fork servers, and of
 * an mbox worker and its dotlock child: one send and one get function
 * per message of ipc.h, as in ipc_auth.h (whose conventions hold here:
 * send 0 or -1; get 0, or -1 when malformed, with a descriptor moved
 * from m->fd to *fd_r on success only).  A descriptor that ipc.h calls
 * optional may be -1 on both sides; any other must be there.
 */
#ifndef PRIVPOP_IPC_MASTER_H
#define PRIVPOP_IPC_MASTER_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#include "ipc.h"

/* master -> slot: a client socket; tls is 0 or 1; the transcript
 * privpopctl switched on: for this client (transcript 1) and for the
 * users listed (separated by spaces, "" none) */
int	ipc_send_slot_conn(int sock, int tls, int transcript,
	    const char *users, int fd);
int	ipc_get_slot_conn(struct msg *, int *tls_r, int *transcript_r,
	    const char **users_r, int *fd_r);
/* master -> slot zygote: a new slot's socket to the master */
int	ipc_send_zygote_spawn(int sock, int fd);
int	ipc_get_zygote_spawn(struct msg *, int *fd_r);
/* slot zygote -> master: the new slot's pid, 0 if the fork failed */
int	ipc_send_master_slot_pid(int sock, uint32_t pid);
int	ipc_get_master_slot_pid(struct msg *, uint32_t *pid_r);
/* master -> new slot: its privpop-auth socket, then its syslog socket
 * (optional) */
int	ipc_send_slot_auth(int sock, int fd);
int	ipc_get_slot_auth(struct msg *, int *fd_r);
int	ipc_send_slot_log(int sock, int fd);
int	ipc_get_slot_log(struct msg *, int *fd_r);
/* master -> metrics process: the stats text in a sealed memfd */
int	ipc_send_metrics_snapshot(int sock, int fd);
int	ipc_get_metrics_snapshot(struct msg *, int *fd_r);
/* master -> slot: its transcript file (transcript_dir) */
int	ipc_send_slot_transcript(int sock, int fd);
int	ipc_get_slot_transcript(struct msg *, int *fd_r);

/* master -> privpop-auth -Z: the slot's socket, then its login report
 * channel */
int	ipc_send_auth_spawn(int sock, int fd);
int	ipc_get_auth_spawn(struct msg *, int *fd_r);
int	ipc_send_auth_spawn_report(int sock, int fd);
int	ipc_get_auth_spawn_report(struct msg *, int *fd_r);
/* auth helper -> master, on the login report channel: the canonical
 * user (printable ASCII, no space), the session id (SESSION_ID_LEN
 * lower-case hex digits) and whether TLS was started (0 or 1) */
int	ipc_send_master_login(int sock, const char *user, const char *sess,
	    int tls);
int	ipc_get_master_login(struct msg *, const char **user_r,
	    const char **sess_r, int *tls_r);
/* auth helper -> master, on that channel before the login: the real
 * client of a balancer's connection (peeraddr.h's form, not "local",
 * no scope) */
int	ipc_send_master_peer(int sock, const char *addr);
int	ipc_get_master_peer(struct msg *, const char **addr_r);

/* privpopctl -> master: a command (CTL_CMD_*) and its argument ("" for
 * none; at most CTL_ARG_MAX printable characters, no space) */
int	ipc_send_master_ctl_request(int sock, uint32_t cmd, const char *arg);
int	ipc_get_master_ctl_request(struct msg *, uint32_t *cmd_r,
	    const char **arg_r);
/* master -> privpopctl: a status (CTL_OK, CTL_ERR_*), a count and the
 * answer's memfd (optional: none on an error) */
int	ipc_send_ctl_answer(int sock, uint32_t status, uint32_t count,
	    int fd);
int	ipc_get_ctl_answer(struct msg *, uint32_t *status_r,
	    uint32_t *count_r, int *fd_r);

/* privpop-auth -> master, on the penalty channel: a login (ok 1) or a
 * failure (0) from addr by a mechanism (AUTH_METHOD_*; the get takes
 * only those names and gives their index) */
enum { AUTH_METHOD_PASS, AUTH_METHOD_APOP, AUTH_METHOD_CRAM_MD5,
    AUTH_METHOD_SCRAM, AUTH_METHOD_COUNT };
int	ipc_send_master_penalty(int sock, int ok, const char *addr,
	    const char *method);
int	ipc_get_master_penalty(struct msg *, int *ok_r, const char **addr_r,
	    int *method_r);
/* "pass", "apop", "cram-md5", "scram-sha-256" */
const char *auth_method_name(int method);

/* session child -> master, on the slot's socket: its figures since
 * the last report (deltas, enum sess_stat order); the get clamps each
 * to SST_DELTA_MAX */
int	ipc_send_master_session_stats(int sock, const uint64_t v[SST_COUNT]);
int	ipc_get_master_session_stats(struct msg *, uint64_t v_r[SST_COUNT]);

/* auth helper -> privpop-store -Z: fork a worker for uid, gid and the
 * extra group (or (gid_t)-1); fd: the helper's channel */
int	ipc_send_store_spawn(int sock, uid_t uid, gid_t gid, gid_t extra,
	    int fd);
int	ipc_get_store_spawn(struct msg *, uid_t *uid_r, gid_t *gid_r,
	    gid_t *extra_r, int *fd_r);
/* auth helper -> worker: its socket */
int	ipc_send_store_socket(int sock, int fd);
int	ipc_get_store_socket(struct msg *, int *fd_r);
/* privpop-store -Z -> auth helper: a pidfd of the worker (optional) */
int	ipc_send_auth_worker_pidfd(int sock, int pidfd);
int	ipc_get_auth_worker_pidfd(struct msg *, int *pidfd_r);

/* worker -> dotlock child: op (DLC_*), a lock name of at most max
 * characters, the stale age; the directory (optional: the first
 * request only) */
int	ipc_send_lockd_request(int sock, uint32_t op, const char *lock,
	    uint32_t stale, int dirfd);
int	ipc_get_lockd_request(struct msg *, uint32_t *op_r,
	    const char **lock_r, size_t max, uint32_t *stale_r, int *dirfd_r);
/* dotlock child -> worker: result 1, 0 or -1 (checked), and errno */
int	ipc_send_lockd_result(int sock, int result, int err);
int	ipc_get_lockd_result(struct msg *, int *result_r, int *err_r);

#endif
