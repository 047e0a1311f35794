/*
 * The IPC framing; see ipc.h.  Runs as: every process: root (master,
 * privpop-auth, the fork servers), privpop (session), mailbox owner
 * (privpop-store).
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "ipc.h"

struct ipc_hdr {
	uint32_t	type;
	uint32_t	len;
};

#define T_FD	0x1	/* may carry one descriptor */

/* Descriptors one received message can bring in before the kernel
 * truncates (and itself closes) the rest. */
#define IPC_MAX_FDS_SEEN	8

/*
 * Every message type, once: its name, whether it may carry a descriptor,
 * and its payload layout.  This table is authoritative: ipc_recv and
 * ipc_decode refuse a payload that does not match its type's layout,
 * before any handler sees it, and the tests and the fuzz target walk
 * the same table (ipc_layout).  The comments in ipc.h say what the
 * fields mean.
 *
 * Layout: one character a field, in order:
 *   'u'  u32
 *   'q'  u64
 *   's'  string: u32 length with the NUL, the bytes, NUL-terminated,
 *        no inner NUL, at most max characters (msg_get_str)
 *   'b'  bytes: u32 length, at most max bytes (msg_get_bytes)
 *   '*'  the rest of the payload, unchecked (last field only)
 * Nothing may follow the last field.  max lists the bound of each 's'
 * and 'b' field, in order: the one its receiver passes to the getter
 * where that is a limits.h constant, else ANY (the payload bounds it)
 * with the receiver's own bound named beside it.
 */
#define ANY	IPC_MAX_PAYLOAD
#define SESSION_STATS_LAYOUT	"qqqqqqqqqqqqqqqqq"
_Static_assert(sizeof(SESSION_STATS_LAYOUT) - 1 == SST_COUNT,
    "MSG_MASTER_SESSION_STATS: one 'q' an enum sess_stat");
#define IPC_LAYOUT_MAX_VAR	5	/* 's' and 'b' fields in one layout */

static const struct {
	const char	*name;
	int		 flags;
	const char	*layout;
	size_t		 max[IPC_LAYOUT_MAX_VAR];
} msg_types[MSG_TYPE_COUNT] = {
	[MSG_NONE] = { "NONE", 0, NULL, { 0 } },
	/* stamp: slot.c's sizeof(stamp) - 1 */
	[MSG_SESSION_HELLO] = { "SESSION_HELLO", 0, "uuss",
	    { ANY, SESSION_ID_LEN } },
	[MSG_AUTH_PEER] = { "AUTH_PEER", T_FD, "", { 0 } },
	[MSG_AUTH_PROXY] = { "AUTH_PROXY", 0, "ususuu",
	    { PEER_ADDR_MAX - 1, PEER_ADDR_MAX - 1 } },
	[MSG_AUTH_LOGIN] = { "AUTH_LOGIN", 0, "ss",
	    { POP3_MAX_USER, POP3_MAX_PASS } },
	[MSG_AUTH_APOP] = { "AUTH_APOP", 0, "ss",
	    { POP3_MAX_USER, POP3_MAX_PASS } },
	[MSG_AUTH_CRAM] = { "AUTH_CRAM", 0, "ss",
	    { POP3_MAX_USER, POP3_MAX_PASS } },
	[MSG_AUTH_SCRAM_FIRST] = { "AUTH_SCRAM_FIRST", 0, "uss",
	    { POP3_MAX_USER, SCRAM_NONCE_MAX } },
	[MSG_AUTH_SCRAM_FINAL] = { "AUTH_SCRAM_FINAL", 0, "ub",
	    { SCRAM_PROOF_LEN } },
	/* session: its challenge buffer */
	[MSG_SESSION_SASL_CHALLENGE] = { "SESSION_SASL_CHALLENGE", 0, "s",
	    { ANY } },
	[MSG_AUTH_TLS_START] = { "AUTH_TLS_START", 0, "", { 0 } },
	[MSG_AUTH_TLS_SIGN] = { "AUTH_TLS_SIGN", 0, "uub",
	    { TLS_SIGN_CONTENT_MAX } },
	/* tls_keyproxy: the caller's signature buffer */
	[MSG_SESSION_TLS_SIGNED] = { "SESSION_TLS_SIGNED", 0, "b", { ANY } },
	[MSG_SESSION_AUTH_OK] = { "SESSION_AUTH_OK", T_FD, "s",
	    { POP3_MAX_USER } },
	[MSG_SESSION_AUTH_FAIL] = { "SESSION_AUTH_FAIL", 0, "u", { 0 } },
	[MSG_AUTH_SPAWN] = { "AUTH_SPAWN", T_FD, "", { 0 } },
	[MSG_AUTH_SPAWN_REPORT] = { "AUTH_SPAWN_REPORT", T_FD, "", { 0 } },
	[MSG_STORE_SPAWN] = { "STORE_SPAWN", T_FD, "uuu", { 0 } },
	[MSG_STORE_SOCKET] = { "STORE_SOCKET", T_FD, "", { 0 } },
	[MSG_AUTH_WORKER_PIDFD] = { "AUTH_WORKER_PIDFD", T_FD, "", { 0 } },
	/* lock name: dotlock_child's sizeof(pinned) - 1 */
	[MSG_LOCKD_REQUEST] = { "LOCKD_REQUEST", T_FD, "usu", { ANY } },
	[MSG_LOCKD_RESULT] = { "LOCKD_RESULT", 0, "uu", { 0 } },
	[MSG_SLOT_CONN] = { "SLOT_CONN", T_FD, "uus",
	    { CTL_TRANSCRIPT_USERS_LEN - 1 } },
	[MSG_MASTER_LOGIN] = { "MASTER_LOGIN", 0, "ssu",
	    { POP3_MAX_USER, SESSION_ID_LEN } },
	[MSG_MASTER_PEER] = { "MASTER_PEER", 0, "s", { PEER_ADDR_MAX - 1 } },
	[MSG_ZYGOTE_SPAWN] = { "ZYGOTE_SPAWN", T_FD, "", { 0 } },
	[MSG_MASTER_SLOT_PID] = { "MASTER_SLOT_PID", 0, "u", { 0 } },
	[MSG_SLOT_AUTH] = { "SLOT_AUTH", T_FD, "", { 0 } },
	[MSG_SLOT_LOG] = { "SLOT_LOG", T_FD, "", { 0 } },
	[MSG_SLOT_TRANSCRIPT] = { "SLOT_TRANSCRIPT", T_FD, "", { 0 } },
	[MSG_MASTER_PENALTY] = { "MASTER_PENALTY", 0, "uss",
	    { PENALTY_ADDR_MAX - 1, AUTH_METHOD_NAME_MAX } },
	[MSG_MASTER_CTL_REQUEST] = { "MASTER_CTL_REQUEST", 0, "us",
	    { CTL_ARG_MAX } },
	[MSG_CTL_ANSWER] = { "CTL_ANSWER", T_FD, "uu", { 0 } },
	[MSG_METRICS_SNAPSHOT] = { "METRICS_SNAPSHOT", T_FD, "", { 0 } },
	/* one 'q' an enum sess_stat, checked below */
	[MSG_MASTER_SESSION_STATS] = { "MASTER_SESSION_STATS", 0,
	    SESSION_STATS_LAYOUT, { 0 } },
	[MSG_STORE_INIT] = { "STORE_INIT", 0, "ssuuussuuus",
	    { POP3_MAX_USER, MAIL_MAX_PATH, MAIL_MAX_PATH,
	    CONF_UIDL_FORMAT_MAX, MDLOCK_NODE_MAX + 1 } },
	[MSG_SESSION_STORE_READY] = { "SESSION_STORE_READY", 0, "uq", { 0 } },
	[MSG_SESSION_LOGIN_DELAY] = { "SESSION_LOGIN_DELAY", 0, "u", { 0 } },
	[MSG_SESSION_DATA_SHM] = { "SESSION_DATA_SHM", T_FD, "uuu", { 0 } },
	[MSG_STORE_SHM_DONE] = { "STORE_SHM_DONE", 0, "", { 0 } },
	[MSG_STORE_LIST] = { "STORE_LIST", 0, "u", { 0 } },
	[MSG_STORE_UIDL] = { "STORE_UIDL", 0, "u", { 0 } },
	[MSG_STORE_RETR] = { "STORE_RETR", 0, "u", { 0 } },
	[MSG_STORE_TOP] = { "STORE_TOP", 0, "uu", { 0 } },
	[MSG_STORE_DELE] = { "STORE_DELE", 0, "u", { 0 } },
	[MSG_STORE_RSET] = { "STORE_RSET", 0, "", { 0 } },
	[MSG_STORE_QUIT] = { "STORE_QUIT", 0, "", { 0 } },
	[MSG_STORE_RETR_AHEAD] = { "STORE_RETR_AHEAD", 0, "u", { 0 } },
	/* text: a UIDL, or "" */
	[MSG_SESSION_OK] = { "SESSION_OK", 0, "uqs", { POP3_MAX_UIDL } },
	[MSG_SESSION_ERR] = { "SESSION_ERR", 0, "u", { 0 } },
	/* raw wire bytes, any length */
	[MSG_SESSION_DATA] = { "SESSION_DATA", 0, "*", { 0 } },
	[MSG_SESSION_END] = { "SESSION_END", 0, "", { 0 } },
};

const char *
msg_name(uint32_t type)
{
	if (type == MSG_NONE || type >= MSG_TYPE_COUNT)
		return "UNKNOWN";
	return msg_types[type].name;
}

const char *
ipc_layout(uint32_t type)
{
	if (type == MSG_NONE || type >= MSG_TYPE_COUNT)
		return NULL;
	return msg_types[type].layout;
}

size_t
ipc_layout_max(uint32_t type, size_t field)
{
	const char *l = ipc_layout(type);
	size_t i, var = 0;

	if (l == NULL || field >= strlen(l) ||
	    (l[field] != 's' && l[field] != 'b'))
		return 0;
	for (i = 0; i < field; i++)
		if (l[i] == 's' || l[i] == 'b')
			var++;
	return var < IPC_LAYOUT_MAX_VAR ? msg_types[type].max[var] : 0;
}

void
msg_init(struct msg *m, uint32_t type)
{
	m->type = type;
	m->len = 0;
	m->rpos = 0;
	m->fd = -1;
}

int
msg_put_raw(struct msg *m, const void *p, size_t n)
{
	if (n > sizeof(m->data) - m->len)
		return -1;
	if (n > 0)
		memcpy(m->data + m->len, p, n);
	m->len += (uint32_t)n;
	return 0;
}

int
msg_put_u32(struct msg *m, uint32_t v)
{
	return msg_put_raw(m, &v, sizeof(v));
}

int
msg_put_u64(struct msg *m, uint64_t v)
{
	return msg_put_raw(m, &v, sizeof(v));
}

/* A string travels as u32 length (including the NUL) and the bytes. */
int
msg_put_str(struct msg *m, const char *s)
{
	size_t n = strlen(s) + 1;

	if (n > sizeof(m->data) || msg_put_u32(m, (uint32_t)n) == -1)
		return -1;
	return msg_put_raw(m, s, n);
}

int
msg_put_bytes(struct msg *m, const void *p, size_t n)
{
	if (n > sizeof(m->data) || msg_put_u32(m, (uint32_t)n) == -1)
		return -1;
	return msg_put_raw(m, p, n);
}

static int
msg_get_raw(struct msg *m, void *p, size_t n)
{
	if (n > m->len - m->rpos)
		return -1;
	memcpy(p, m->data + m->rpos, n);
	m->rpos += n;
	return 0;
}

int
msg_get_u32(struct msg *m, uint32_t *v)
{
	return msg_get_raw(m, v, sizeof(*v));
}

int
msg_get_u64(struct msg *m, uint64_t *v)
{
	return msg_get_raw(m, v, sizeof(*v));
}

int
msg_get_str(struct msg *m, const char **s, size_t max)
{
	uint32_t n;
	const char *p;

	if (msg_get_u32(m, &n) == -1)
		return -1;
	if (n == 0 || n - 1 > max || n > m->len - m->rpos)
		return -1;
	p = (const char *)m->data + m->rpos;
	if (p[n - 1] != '\0' || memchr(p, '\0', n - 1) != NULL)
		return -1;
	m->rpos += n;
	*s = p;
	return 0;
}

int
msg_get_bytes(struct msg *m, const unsigned char **p, size_t *len,
    size_t max)
{
	uint32_t n;

	if (msg_get_u32(m, &n) == -1 || n > max || n > m->len - m->rpos)
		return -1;
	*p = m->data + m->rpos;
	*len = n;
	m->rpos += n;
	return 0;
}

int
msg_end(const struct msg *m)
{
	return m->rpos == m->len ? 0 : -1;
}

/* Walk the payload with the type's layout, with the getters the
 * receivers use; m's cursor is left where it was. */
int
ipc_check(struct msg *m)
{
	const char *l = ipc_layout(m->type);
	size_t saved = m->rpos, var = 0, blen;
	const unsigned char *b;
	const char *s;
	uint32_t u32;
	uint64_t u64;
	int ok = l != NULL && m->len <= IPC_MAX_PAYLOAD;

	m->rpos = 0;
	for (; ok && *l != '\0'; l++) {
		switch (*l) {
		case 'u':
			ok = msg_get_u32(m, &u32) == 0;
			break;
		case 'q':
			ok = msg_get_u64(m, &u64) == 0;
			break;
		case 's':
			ok = var < IPC_LAYOUT_MAX_VAR &&
			    msg_get_str(m, &s, msg_types[m->type].max[var++]) ==
			    0;
			break;
		case 'b':
			ok = var < IPC_LAYOUT_MAX_VAR &&
			    msg_get_bytes(m, &b, &blen,
			    msg_types[m->type].max[var++]) == 0;
			break;
		case '*':
			m->rpos = m->len;	/* the rest: unchecked */
			break;
		default:
			ok = 0;
		}
	}
	if (ok && msg_end(m) == -1)
		ok = 0;
	m->rpos = saved;
	return ok ? 0 : -1;
}

int
ipc_decode(struct msg *m, const void *p, size_t n)
{
	struct ipc_hdr h;

	msg_init(m, MSG_NONE);
	if (n < sizeof(h))
		return -1;
	memcpy(&h, p, sizeof(h));
	if (h.type == MSG_NONE || h.type >= MSG_TYPE_COUNT)
		return -1;
	if (h.len > IPC_MAX_PAYLOAD || h.len != n - sizeof(h))
		return -1;
	m->type = h.type;
	m->len = h.len;
	memcpy(m->data, (const unsigned char *)p + sizeof(h), h.len);
	if (ipc_check(m) == -1) {
		msg_init(m, MSG_NONE);
		return -1;
	}
	return 0;
}

static int
ipc_sendv(int sock, uint32_t type, const void *p, size_t n, int fd)
{
	struct ipc_hdr h;
	struct iovec iov[2];
	struct msghdr mh;
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int))];
	} cm;
	struct cmsghdr *c;
	ssize_t r;

	if (type == MSG_NONE || type >= MSG_TYPE_COUNT || n > IPC_MAX_PAYLOAD)
		return -1;
	if (fd != -1 && !(msg_types[type].flags & T_FD))
		return -1;
	h.type = type;
	h.len = (uint32_t)n;
	iov[0].iov_base = &h;
	iov[0].iov_len = sizeof(h);
	iov[1].iov_base = (void *)(uintptr_t)p;
	iov[1].iov_len = n;
	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = iov;
	mh.msg_iovlen = 2;
	if (fd != -1) {
		memset(&cm, 0, sizeof(cm));
		mh.msg_control = cm.buf;
		mh.msg_controllen = sizeof(cm.buf);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	do {
		r = sendmsg(sock, &mh, MSG_NOSIGNAL);
	} while (r == -1 && errno == EINTR);
	if (r == -1)
		return -1;
	if ((size_t)r != sizeof(h) + n) {
		errno = EMSGSIZE;
		return -1;
	}
	return 0;
}

int
ipc_send(int sock, const struct msg *m, int fd)
{
	return ipc_sendv(sock, m->type, m->data, m->len, fd);
}

int
ipc_send_u32(int sock, uint32_t type, uint32_t v)
{
	return ipc_sendv(sock, type, &v, sizeof(v), -1);
}

int
ipc_send_raw(int sock, uint32_t type, const void *p, size_t n)
{
	return ipc_sendv(sock, type, p, n, -1);
}

int
ipc_send_fd(int sock, uint32_t type, int fd)
{
	return ipc_sendv(sock, type, NULL, 0, fd);
}

int
ipc_get_fd(struct msg *m, uint32_t type, int need, int *fd_r)
{
	if (m->type != type || msg_end(m) == -1 || (need && m->fd == -1))
		return -1;
	*fd_r = m->fd;
	m->fd = -1;
	return 0;
}

int
ipc_recv(int sock, struct msg *m)
{
	struct ipc_hdr h;
	struct iovec iov[2];
	struct msghdr mh;
	union {
		struct cmsghdr	hdr;
		/* room for several, so extra descriptors arrive and can be
		 * closed rather than linger (none may be kept but one) */
		char		buf[CMSG_SPACE(IPC_MAX_FDS_SEEN * sizeof(int))];
	} cm;
	struct cmsghdr *c;
	ssize_t r;
	int fd = -1, bad = 0;

	msg_init(m, MSG_NONE);
	iov[0].iov_base = &h;
	iov[0].iov_len = sizeof(h);
	iov[1].iov_base = m->data;
	iov[1].iov_len = sizeof(m->data);
	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = iov;
	mh.msg_iovlen = 2;
	mh.msg_control = cm.buf;
	mh.msg_controllen = sizeof(cm.buf);
	do {
		r = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	} while (r == -1 && errno == EINTR);
	if (r == -1)
		return -1;
	if (r == 0)
		return 0;

	/* Take every descriptor first, so each is closed on every error
	 * path: exactly one in one SCM_RIGHTS block may be kept. */
	for (c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c)) {
		size_t i, nfd;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
		    c->cmsg_len < CMSG_LEN(0)) {
			bad = 1;
			continue;
		}
		nfd = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < nfd; i++) {
			int got;

			memcpy(&got, CMSG_DATA(c) + i * sizeof(int),
			    sizeof(int));
			if (fd == -1 && nfd == 1)
				fd = got;
			else {
				close(got);
				bad = 1;
			}
		}
	}
	if (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC))
		bad = 1;
	if ((size_t)r < sizeof(h) || h.type == MSG_NONE ||
	    h.type >= MSG_TYPE_COUNT || h.len != (size_t)r - sizeof(h))
		bad = 1;
	if (!bad && fd != -1 && !(msg_types[h.type].flags & T_FD))
		bad = 1;
	if (!bad) {
		m->type = h.type;
		m->len = h.len;
		if (ipc_check(m) == -1) {
			/* refused before any handler: only its type is kept,
			 * for the receiver's log (it may hold a password) */
			explicit_bzero(m->data, m->len);
			m->len = 0;
			bad = 1;
		}
	}
	if (bad) {
		if (fd != -1)
			close(fd);
		errno = EPROTO;
		return -1;
	}
	m->type = h.type;
	m->len = h.len;
	m->fd = fd;
	return 1;
}

int
ipc_socketpair(int sv[2])
{
	return socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv);
}
