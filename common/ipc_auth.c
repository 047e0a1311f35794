/*
 * Typed messages between the session child and privpop-auth; see
 * ipc_auth.h.  Each get function checks what ipc_recv's layout check
 * cannot: the type, the receiver's own bounds and the values.
 *
 * Runs as: privpop (session child), root (privpop-auth).
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "ipc_auth.h"
#include "peeraddr.h"

/* Send m, then wipe what it held when it carried a credential. */
static int
send_msg(int sock, struct msg *m, int fd, int secret)
{
	int r = ipc_send(sock, m, fd);

	if (secret)
		explicit_bzero(m->data, m->len);
	return r;
}

static int
send_strs(int sock, uint32_t type, const char *a, const char *b, int secret)
{
	struct msg m;

	msg_init(&m, type);
	if (msg_put_str(&m, a) == -1 ||
	    (b != NULL && msg_put_str(&m, b) == -1)) {
		explicit_bzero(m.data, m.len);
		errno = EMSGSIZE;
		return -1;
	}
	return send_msg(sock, &m, -1, secret);
}

/* A user and a credential: LOGIN, APOP, CRAM. */
static int
get_cred(struct msg *m, uint32_t type, const char **user_r,
    const char **cred_r)
{
	if (m->type != type ||
	    msg_get_str(m, user_r, POP3_MAX_USER) == -1 ||
	    msg_get_str(m, cred_r, POP3_MAX_PASS) == -1 ||
	    msg_end(m) == -1)
		return -1;
	return 0;
}

static int
get_str(struct msg *m, uint32_t type, const char **s_r, size_t max)
{
	if (m->type != type || msg_get_str(m, s_r, max) == -1 ||
	    msg_end(m) == -1)
		return -1;
	return 0;
}

int
ipc_send_session_hello(int sock, uint32_t flags, const char *stamp,
    const char *id)
{
	struct msg m;

	msg_init(&m, MSG_SESSION_HELLO);
	if (msg_put_u32(&m, IPC_VERSION) == -1 ||
	    msg_put_u32(&m, flags) == -1 ||
	    msg_put_str(&m, stamp) == -1 || msg_put_str(&m, id) == -1) {
		errno = EMSGSIZE;
		return -1;
	}
	return send_msg(sock, &m, -1, 0);
}

int
ipc_get_session_hello(struct msg *m, uint32_t *version_r, uint32_t *flags_r,
    const char **stamp_r, const char **id_r)
{
	if (m->type != MSG_SESSION_HELLO ||
	    msg_get_u32(m, version_r) == -1 ||
	    msg_get_u32(m, flags_r) == -1 ||
	    msg_get_str(m, stamp_r, APOP_STAMP_MAX - 1) == -1 ||
	    msg_get_str(m, id_r, SESSION_ID_LEN) == -1 ||
	    strlen(*id_r) != SESSION_ID_LEN ||
	    strspn(*id_r, "0123456789abcdef") != SESSION_ID_LEN ||
	    msg_end(m) == -1)
		return -1;
	return 0;
}

int
ipc_send_auth_peer(int sock, int fd)
{
	return ipc_send_fd(sock, MSG_AUTH_PEER, fd);
}

int
ipc_get_auth_peer(struct msg *m, int *fd_r)
{
	return ipc_get_fd(m, MSG_AUTH_PEER, 1, fd_r);
}

int
ipc_send_auth_proxy(int sock, const struct ipc_proxy *p)
{
	struct msg m;

	msg_init(&m, MSG_AUTH_PROXY);
	if (msg_put_u32(&m, p->local) == -1 || msg_put_str(&m, p->src) == -1 ||
	    msg_put_u32(&m, p->src_port) == -1 ||
	    msg_put_str(&m, p->dst) == -1 ||
	    msg_put_u32(&m, p->dst_port) == -1 ||
	    msg_put_u32(&m, p->ssl) == -1) {
		errno = EMSGSIZE;
		return -1;
	}
	return ipc_send(sock, &m, -1);
}

/* A routable address as peeraddr.h prints one: not "local", no scope
 * (a balancer names an address, never an interface of ours). */
static int
proxy_addr_ok(const char *a)
{
	return a[0] != '\0' && strcmp(a, PEER_LOCAL) != 0 &&
	    strchr(a, '%') == NULL && peer_addr_valid(a);
}

int
ipc_get_auth_proxy(struct msg *m, struct ipc_proxy *p)
{
	if (m->type != MSG_AUTH_PROXY || m->fd != -1)
		return -1;
	m->rpos = 0;
	if (msg_get_u32(m, &p->local) == -1 ||
	    msg_get_str(m, &p->src, PEER_ADDR_MAX - 1) == -1 ||
	    msg_get_u32(m, &p->src_port) == -1 ||
	    msg_get_str(m, &p->dst, PEER_ADDR_MAX - 1) == -1 ||
	    msg_get_u32(m, &p->dst_port) == -1 ||
	    msg_get_u32(m, &p->ssl) == -1 || msg_end(m) == -1 ||
	    p->local > 1 || p->ssl > 1 || p->src_port > 65535 ||
	    p->dst_port > 65535)
		return -1;
	if (p->local)
		return p->src[0] == '\0' && p->dst[0] == '\0' &&
		    p->src_port == 0 && p->dst_port == 0 ? 0 : -1;
	return proxy_addr_ok(p->src) && proxy_addr_ok(p->dst) ? 0 : -1;
}

int
ipc_send_auth_login(int sock, const char *user, const char *pass)
{
	return send_strs(sock, MSG_AUTH_LOGIN, user, pass, 1);
}

int
ipc_get_auth_login(struct msg *m, const char **user_r, const char **pass_r)
{
	return get_cred(m, MSG_AUTH_LOGIN, user_r, pass_r);
}

int
ipc_send_auth_apop(int sock, const char *user, const char *digest)
{
	return send_strs(sock, MSG_AUTH_APOP, user, digest, 1);
}

int
ipc_get_auth_apop(struct msg *m, const char **user_r, const char **digest_r)
{
	return get_cred(m, MSG_AUTH_APOP, user_r, digest_r);
}

int
ipc_send_auth_cram(int sock, const char *user, const char *digest)
{
	return send_strs(sock, MSG_AUTH_CRAM, user, digest, 1);
}

int
ipc_get_auth_cram(struct msg *m, const char **user_r, const char **digest_r)
{
	return get_cred(m, MSG_AUTH_CRAM, user_r, digest_r);
}

int
ipc_send_auth_scram_first(int sock, int gs2_y, const char *user,
    const char *cnonce)
{
	struct msg m;

	msg_init(&m, MSG_AUTH_SCRAM_FIRST);
	if (msg_put_u32(&m, gs2_y ? 1 : 0) == -1 ||
	    msg_put_str(&m, user) == -1 || msg_put_str(&m, cnonce) == -1) {
		errno = EMSGSIZE;
		return -1;
	}
	return send_msg(sock, &m, -1, 0);
}

/* RFC 5802 "printable": %x21-2B / %x2D-7E, at least one */
static int
scram_nonce_ok(const char *n)
{
	if (*n == '\0')
		return 0;
	for (; *n != '\0'; n++)
		if (*n < 0x21 || *n > 0x7e || *n == ',')
			return 0;
	return 1;
}

int
ipc_get_auth_scram_first(struct msg *m, int *gs2_y_r, const char **user_r,
    const char **cnonce_r)
{
	uint32_t gs2;

	if (m->type != MSG_AUTH_SCRAM_FIRST || msg_get_u32(m, &gs2) == -1 ||
	    gs2 > 1 || msg_get_str(m, user_r, POP3_MAX_USER) == -1 ||
	    msg_get_str(m, cnonce_r, SCRAM_NONCE_MAX) == -1 ||
	    msg_end(m) == -1)
		return -1;
	/* a malformed client-first carries nothing */
	if (**user_r == '\0' ? **cnonce_r != '\0' : !scram_nonce_ok(*cnonce_r))
		return -1;
	*gs2_y_r = (int)gs2;
	return 0;
}

int
ipc_send_auth_scram_final(int sock, int kind, const unsigned char *proof)
{
	struct msg m;

	msg_init(&m, MSG_AUTH_SCRAM_FINAL);
	if (msg_put_u32(&m, (uint32_t)kind) == -1 ||
	    msg_put_bytes(&m, proof, kind == SCRAM_FINAL_PROOF ?
	    SCRAM_PROOF_LEN : 0) == -1) {
		errno = EMSGSIZE;
		return -1;
	}
	return send_msg(sock, &m, -1, 1);
}

int
ipc_get_auth_scram_final(struct msg *m, int *kind_r,
    const unsigned char **proof_r)
{
	uint32_t kind;
	size_t len;

	if (m->type != MSG_AUTH_SCRAM_FINAL || msg_get_u32(m, &kind) == -1 ||
	    kind > SCRAM_FINAL_MALFORMED ||
	    msg_get_bytes(m, proof_r, &len, SCRAM_PROOF_LEN) == -1 ||
	    msg_end(m) == -1 ||
	    len != (kind == SCRAM_FINAL_PROOF ? SCRAM_PROOF_LEN : 0))
		return -1;
	if (kind != SCRAM_FINAL_PROOF)
		*proof_r = NULL;
	*kind_r = (int)kind;
	return 0;
}

int
ipc_send_session_sasl_challenge(int sock, const char *data)
{
	return send_strs(sock, MSG_SESSION_SASL_CHALLENGE, data, NULL, 0);
}

int
ipc_get_session_sasl_challenge(struct msg *m, const char **data_r,
    size_t max)
{
	return get_str(m, MSG_SESSION_SASL_CHALLENGE, data_r, max);
}

int
ipc_send_auth_tls_start(int sock)
{
	return ipc_send_fd(sock, MSG_AUTH_TLS_START, -1);
}

int
ipc_get_auth_tls_start(struct msg *m)
{
	int fd;

	return ipc_get_fd(m, MSG_AUTH_TLS_START, 0, &fd);
}

int
ipc_send_auth_tls_sign(int sock, uint32_t idx, uint32_t scheme,
    const void *in, size_t inlen)
{
	struct msg m;

	msg_init(&m, MSG_AUTH_TLS_SIGN);
	if (msg_put_u32(&m, idx) == -1 || msg_put_u32(&m, scheme) == -1 ||
	    msg_put_bytes(&m, in, inlen) == -1) {
		errno = EMSGSIZE;
		return -1;
	}
	return send_msg(sock, &m, -1, 0);
}

int
ipc_get_auth_tls_sign(struct msg *m, uint32_t *idx_r, uint32_t *scheme_r,
    const unsigned char **in_r, size_t *inlen_r)
{
	if (m->type != MSG_AUTH_TLS_SIGN ||
	    msg_get_u32(m, idx_r) == -1 ||
	    msg_get_u32(m, scheme_r) == -1 ||
	    msg_get_bytes(m, in_r, inlen_r, TLS_SIGN_CONTENT_MAX) == -1 ||
	    msg_end(m) == -1)
		return -1;
	return 0;
}

int
ipc_send_session_tls_signed(int sock, const void *sig, size_t len)
{
	struct msg m;

	msg_init(&m, MSG_SESSION_TLS_SIGNED);
	if (msg_put_bytes(&m, sig, len) == -1) {
		errno = EMSGSIZE;
		return -1;
	}
	return send_msg(sock, &m, -1, 0);
}

int
ipc_get_session_tls_signed(struct msg *m, const unsigned char **sig_r,
    size_t *len_r, size_t max)
{
	if (m->type != MSG_SESSION_TLS_SIGNED ||
	    msg_get_bytes(m, sig_r, len_r, max) == -1 || msg_end(m) == -1)
		return -1;
	return 0;
}

int
ipc_send_session_auth_ok(int sock, const char *user, int store_fd)
{
	struct msg m;

	msg_init(&m, MSG_SESSION_AUTH_OK);
	if (msg_put_str(&m, user) == -1) {
		errno = EMSGSIZE;
		return -1;
	}
	return send_msg(sock, &m, store_fd, 0);
}

int
ipc_get_session_auth_ok(struct msg *m, const char **user_r, int *fd_r)
{
	if (m->type != MSG_SESSION_AUTH_OK || m->fd == -1 ||
	    msg_get_str(m, user_r, POP3_MAX_USER) == -1 || msg_end(m) == -1)
		return -1;
	*fd_r = m->fd;
	m->fd = -1;
	return 0;
}

int
ipc_send_session_auth_fail(int sock, uint32_t code)
{
	return ipc_send_u32(sock, MSG_SESSION_AUTH_FAIL, code);
}

int
ipc_get_session_auth_fail(struct msg *m, uint32_t *code_r)
{
	if (m->type != MSG_SESSION_AUTH_FAIL || msg_get_u32(m, code_r) == -1 ||
	    msg_end(m) == -1 || *code_r == 0 || *code_r >= IPC_ERR_MAX)
		return -1;
	return 0;
}
