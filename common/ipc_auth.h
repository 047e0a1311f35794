/*
 * Typed messages between the session child and its privpop-auth, in
 * the manner of OpenSSH's monitor_wrap.c: one send and one get function
 * per message of ipc.h, so neither side builds or walks a payload by
 * hand.  The payload of each is the one ipc.h describes and ipc.c's
 * table checks; the bytes on the wire are those of msg_put_*.
 *
 * Send functions return 0 or -1 (errno from ipc_send, or EMSGSIZE).
 * Get functions take a message from ipc_recv, check its type, every
 * field's bound and value and msg_end, and return 0 with the out
 * parameters filled, or -1 when it is malformed.  Strings and bytes
 * point into m's payload.  A descriptor goes to *fd_r on success (m->fd
 * is then -1); on failure it stays in m->fd for the caller to close.
 */
#ifndef PRIVPOP_IPC_AUTH_H
#define PRIVPOP_IPC_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "ipc.h"

/* auth -> session.  The version sent is IPC_VERSION; the get function
 * returns the peer's, for its caller to compare.  The stamp is at most
 * APOP_STAMP_MAX - 1 characters; the id SESSION_ID_LEN hex digits. */
int	ipc_send_session_hello(int sock, uint32_t flags, const char *stamp,
	    const char *id);
int	ipc_get_session_hello(struct msg *, uint32_t *version_r,
	    uint32_t *flags_r, const char **stamp_r, const char **id_r);

/* slot -> auth: the client's socket */
int	ipc_send_auth_peer(int sock, int fd);
int	ipc_get_auth_peer(struct msg *, int *fd_r);

/* slot -> auth: what the balancer's PROXY header said.  local: its own
 * connection (addresses "" and ports 0); else two numeric addresses of
 * peeraddr.h's form (not "local") and ports of 0 to 65535; ssl 0 or 1.
 * The get refuses anything else. */
struct ipc_proxy {
	uint32_t	 local;
	const char	*src;
	uint32_t	 src_port;
	const char	*dst;
	uint32_t	 dst_port;
	uint32_t	 ssl;
};
int	ipc_send_auth_proxy(int sock, const struct ipc_proxy *);
int	ipc_get_auth_proxy(struct msg *, struct ipc_proxy *);

/* session -> auth: a user and its credential.  The send functions wipe
 * their copy of the payload. */
int	ipc_send_auth_login(int sock, const char *user, const char *pass);
int	ipc_get_auth_login(struct msg *, const char **user_r,
	    const char **pass_r);
int	ipc_send_auth_apop(int sock, const char *user, const char *digest);
int	ipc_get_auth_apop(struct msg *, const char **user_r,
	    const char **digest_r);
int	ipc_send_auth_cram(int sock, const char *user, const char *digest);
int	ipc_get_auth_cram(struct msg *, const char **user_r,
	    const char **digest_r);

/* session -> auth: the SCRAM client-first's fields, parsed by the
 * session (daemon/session/scram_msg.c): gs2_y 1 for "y,,"; user ""
 * for a malformed one.  The get checks the nonce's characters (RFC
 * 5802 "printable", no ','), so privpop-auth parses no SCRAM syntax. */
int	ipc_send_auth_scram_first(int sock, int gs2_y, const char *user,
	    const char *cnonce);
int	ipc_get_auth_scram_first(struct msg *, int *gs2_y_r,
	    const char **user_r, const char **cnonce_r);
/* session -> auth: the client-final: its proof, or that the client
 * cancelled or sent a malformed one (proof NULL) */
enum { SCRAM_FINAL_PROOF, SCRAM_FINAL_CANCELLED, SCRAM_FINAL_MALFORMED };
int	ipc_send_auth_scram_final(int sock, int kind,
	    const unsigned char *proof);
int	ipc_get_auth_scram_final(struct msg *, int *kind_r,
	    const unsigned char **proof_r);

/* auth -> session: a challenge of at most max characters */
int	ipc_send_session_sasl_challenge(int sock, const char *data);
int	ipc_get_session_sasl_challenge(struct msg *, const char **data_r,
	    size_t max);

/* session -> auth: TLS, then its one signature */
int	ipc_send_auth_tls_start(int sock);
int	ipc_get_auth_tls_start(struct msg *);
int	ipc_send_auth_tls_sign(int sock, uint32_t idx, uint32_t scheme,
	    const void *in, size_t inlen);
int	ipc_get_auth_tls_sign(struct msg *, uint32_t *idx_r,
	    uint32_t *scheme_r, const unsigned char **in_r, size_t *inlen_r);

/* auth -> session: the signature, at most max bytes (empty: refused) */
int	ipc_send_session_tls_signed(int sock, const void *sig, size_t len);
int	ipc_get_session_tls_signed(struct msg *, const unsigned char **sig_r,
	    size_t *len_r, size_t max);

/* auth -> session: the verdict.  AUTH_OK brings the store socket;
 * AUTH_FAIL's code is an enum ipc_err (checked: 0 < code < IPC_ERR_MAX). */
int	ipc_send_session_auth_ok(int sock, const char *user, int store_fd);
int	ipc_get_session_auth_ok(struct msg *, const char **user_r, int *fd_r);
int	ipc_send_session_auth_fail(int sock, uint32_t code);
int	ipc_get_session_auth_fail(struct msg *, uint32_t *code_r);

#endif
