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

static const struct {
	const char	*name;
	int		 flags;
} msg_types[MSG_TYPE_COUNT] = {
	[MSG_NONE] = { "NONE", 0 },
	[MSG_SESSION_HELLO] = { "SESSION_HELLO", 0 },
	[MSG_AUTH_PEER] = { "AUTH_PEER", T_FD },
	[MSG_AUTH_LOGIN] = { "AUTH_LOGIN", 0 },
	[MSG_AUTH_APOP] = { "AUTH_APOP", 0 },
	[MSG_AUTH_CRAM] = { "AUTH_CRAM", 0 },
	[MSG_AUTH_SCRAM_FIRST] = { "AUTH_SCRAM_FIRST", 0 },
	[MSG_AUTH_SCRAM_FINAL] = { "AUTH_SCRAM_FINAL", 0 },
	[MSG_SESSION_SASL_CHALLENGE] = { "SESSION_SASL_CHALLENGE", 0 },
	[MSG_AUTH_TLS_START] = { "AUTH_TLS_START", 0 },
	[MSG_AUTH_TLS_SIGN] = { "AUTH_TLS_SIGN", 0 },
	[MSG_SESSION_TLS_SIGNED] = { "SESSION_TLS_SIGNED", 0 },
	[MSG_SESSION_AUTH_OK] = { "SESSION_AUTH_OK", T_FD },
	[MSG_SESSION_AUTH_FAIL] = { "SESSION_AUTH_FAIL", 0 },
	[MSG_AUTH_SPAWN] = { "AUTH_SPAWN", T_FD },
	[MSG_STORE_SPAWN] = { "STORE_SPAWN", T_FD },
	[MSG_STORE_SOCKET] = { "STORE_SOCKET", T_FD },
	[MSG_AUTH_WORKER_PIDFD] = { "AUTH_WORKER_PIDFD", T_FD },
	[MSG_LOCKD_REQUEST] = { "LOCKD_REQUEST", T_FD },
	[MSG_LOCKD_RESULT] = { "LOCKD_RESULT", 0 },
	[MSG_SLOT_CONN] = { "SLOT_CONN", T_FD },
	[MSG_MASTER_LOGIN] = { "MASTER_LOGIN", 0 },
	[MSG_STORE_INIT] = { "STORE_INIT", 0 },
	[MSG_SESSION_STORE_READY] = { "SESSION_STORE_READY", 0 },
	[MSG_SESSION_DATA_SHM] = { "SESSION_DATA_SHM", T_FD },
	[MSG_STORE_SHM_DONE] = { "STORE_SHM_DONE", 0 },
	[MSG_STORE_LIST] = { "STORE_LIST", 0 },
	[MSG_STORE_UIDL] = { "STORE_UIDL", 0 },
	[MSG_STORE_RETR] = { "STORE_RETR", 0 },
	[MSG_STORE_TOP] = { "STORE_TOP", 0 },
	[MSG_STORE_DELE] = { "STORE_DELE", 0 },
	[MSG_STORE_RSET] = { "STORE_RSET", 0 },
	[MSG_STORE_QUIT] = { "STORE_QUIT", 0 },
	[MSG_STORE_RETR_AHEAD] = { "STORE_RETR_AHEAD", 0 },
	[MSG_SESSION_OK] = { "SESSION_OK", 0 },
	[MSG_SESSION_ERR] = { "SESSION_ERR", 0 },
	[MSG_SESSION_DATA] = { "SESSION_DATA", 0 },
	[MSG_SESSION_END] = { "SESSION_END", 0 },
};

const char *
msg_name(uint32_t type)
{
	if (type == MSG_NONE || type >= MSG_TYPE_COUNT)
		return "UNKNOWN";
	return msg_types[type].name;
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
