/*
 * Typed wrappers of the privpop-store messages; see ipc_store.h.  The
 * layouts are those of the table in ipc.c, which ipc_recv has checked
 * already; the decoders check them again (they also see messages built
 * in place, by the tests) and add each field's range.
 *
 * STORE_INIT, which privpop-auth sends as root, is in
 * ipc_store_init.c.
 *
 * Runs as: privpop (session child), mailbox owner (privpop-store).
 */
#include "config.h"

#include "conf.h"
#include "ipc_store.h"
#include "uidlfmt.h"

/* A payload of one u32, or none. */
static int
send_u32(int sock, uint32_t type, uint32_t v)
{
	struct msg m;

	msg_init(&m, type);
	if (msg_put_u32(&m, v) == -1)
		return -1;
	return ipc_send(sock, &m, -1);
}

static int
send_empty(int sock, uint32_t type)
{
	struct msg m;

	msg_init(&m, type);
	return ipc_send(sock, &m, -1);
}

/* Rewind m if it is of type. */
static int
begin(struct msg *m, uint32_t type)
{
	if (m->type != type)
		return -1;
	m->rpos = 0;
	return 0;
}

/* A request of one message number: 0 only where it means "all". */
static int
get_msgno(struct msg *m, uint32_t type, int all_ok, uint32_t *msgno_r)
{
	uint32_t n;

	if (begin(m, type) == -1 || msg_get_u32(m, &n) == -1 ||
	    msg_end(m) == -1 || (n == 0 && !all_ok))
		return -1;
	*msgno_r = n;
	return 0;
}

static int
get_empty(struct msg *m, uint32_t type)
{
	if (begin(m, type) == -1 || msg_end(m) == -1)
		return -1;
	return 0;
}

int
ipc_send_store_list(int sock, uint32_t msgno)
{
	return send_u32(sock, MSG_STORE_LIST, msgno);
}

int
ipc_send_store_uidl(int sock, uint32_t msgno)
{
	return send_u32(sock, MSG_STORE_UIDL, msgno);
}

int
ipc_send_store_retr(int sock, uint32_t msgno)
{
	return send_u32(sock, MSG_STORE_RETR, msgno);
}

int
ipc_send_store_top(int sock, uint32_t msgno, uint32_t lines)
{
	struct msg m;

	msg_init(&m, MSG_STORE_TOP);
	if (msg_put_u32(&m, msgno) == -1 || msg_put_u32(&m, lines) == -1)
		return -1;
	return ipc_send(sock, &m, -1);
}

int
ipc_send_store_dele(int sock, uint32_t msgno)
{
	return send_u32(sock, MSG_STORE_DELE, msgno);
}

int
ipc_send_store_rset(int sock)
{
	return send_empty(sock, MSG_STORE_RSET);
}

int
ipc_send_store_quit(int sock)
{
	return send_empty(sock, MSG_STORE_QUIT);
}

int
ipc_send_store_retr_ahead(int sock, uint32_t msgno)
{
	return send_u32(sock, MSG_STORE_RETR_AHEAD, msgno);
}

int
ipc_send_store_shm_done(int sock)
{
	return send_empty(sock, MSG_STORE_SHM_DONE);
}

int
ipc_get_store_list(struct msg *m, uint32_t *msgno_r)
{
	return get_msgno(m, MSG_STORE_LIST, 1, msgno_r);
}

int
ipc_get_store_uidl(struct msg *m, uint32_t *msgno_r)
{
	return get_msgno(m, MSG_STORE_UIDL, 1, msgno_r);
}

int
ipc_get_store_retr(struct msg *m, uint32_t *msgno_r)
{
	return get_msgno(m, MSG_STORE_RETR, 0, msgno_r);
}

/* lines: any count (UINT32_MAX: the whole body) */
int
ipc_get_store_top(struct msg *m, uint32_t *msgno_r, uint32_t *lines_r)
{
	uint32_t n, lines;

	if (begin(m, MSG_STORE_TOP) == -1 || msg_get_u32(m, &n) == -1 ||
	    msg_get_u32(m, &lines) == -1 || msg_end(m) == -1 || n == 0)
		return -1;
	*msgno_r = n;
	*lines_r = lines;
	return 0;
}

int
ipc_get_store_dele(struct msg *m, uint32_t *msgno_r)
{
	return get_msgno(m, MSG_STORE_DELE, 0, msgno_r);
}

int
ipc_get_store_rset(struct msg *m)
{
	return get_empty(m, MSG_STORE_RSET);
}

int
ipc_get_store_quit(struct msg *m)
{
	return get_empty(m, MSG_STORE_QUIT);
}

int
ipc_get_store_retr_ahead(struct msg *m, uint32_t *msgno_r)
{
	return get_msgno(m, MSG_STORE_RETR_AHEAD, 0, msgno_r);
}

int
ipc_get_store_shm_done(struct msg *m)
{
	return get_empty(m, MSG_STORE_SHM_DONE);
}

int
ipc_send_session_store_ready(int sock, uint32_t count, uint64_t octets)
{
	struct msg m;

	msg_init(&m, MSG_SESSION_STORE_READY);
	if (msg_put_u32(&m, count) == -1 || msg_put_u64(&m, octets) == -1)
		return -1;
	return ipc_send(sock, &m, -1);
}

int
ipc_send_session_ok(int sock, uint32_t n, uint64_t octets, const char *text)
{
	struct msg m;

	msg_init(&m, MSG_SESSION_OK);
	if (msg_put_u32(&m, n) == -1 || msg_put_u64(&m, octets) == -1 ||
	    msg_put_str(&m, text) == -1)
		return -1;
	return ipc_send(sock, &m, -1);
}

int
ipc_send_session_err(int sock, uint32_t code)
{
	return send_u32(sock, MSG_SESSION_ERR, code);
}

int
ipc_send_session_login_delay(int sock, uint32_t seconds)
{
	return send_u32(sock, MSG_SESSION_LOGIN_DELAY, seconds);
}

int
ipc_get_session_login_delay(struct msg *m, uint32_t *seconds_r)
{
	uint32_t n;

	if (begin(m, MSG_SESSION_LOGIN_DELAY) == -1 ||
	    msg_get_u32(m, &n) == -1 || msg_end(m) == -1 || n == 0 ||
	    n > LOGIN_DELAY_MAX)
		return -1;
	*seconds_r = n;
	return 0;
}

int
ipc_send_session_data_shm(int sock, uint32_t off, uint32_t len, uint32_t flags,
    int fd)
{
	struct msg m;

	msg_init(&m, MSG_SESSION_DATA_SHM);
	if (msg_put_u32(&m, off) == -1 || msg_put_u32(&m, len) == -1 ||
	    msg_put_u32(&m, flags) == -1)
		return -1;
	return ipc_send(sock, &m, fd);
}

/* No copy: the bytes go out from where they are. */
int
ipc_send_session_data(int sock, const void *p, size_t len)
{
	return ipc_send_raw(sock, MSG_SESSION_DATA, p, len);
}

int
ipc_send_session_end(int sock)
{
	return send_empty(sock, MSG_SESSION_END);
}

/* The worker refuses a mailbox of more (mbox.c, maildir.c). */
int
ipc_get_session_store_ready(struct msg *m, uint32_t *count_r,
    uint64_t *octets_r)
{
	uint32_t count;
	uint64_t octets;

	if (begin(m, MSG_SESSION_STORE_READY) == -1 ||
	    msg_get_u32(m, &count) == -1 || msg_get_u64(m, &octets) == -1 ||
	    msg_end(m) == -1 || count > MAIL_MAX_MESSAGES)
		return -1;
	*count_r = count;
	*octets_r = octets;
	return 0;
}

int
ipc_get_session_ok(struct msg *m, uint32_t *n_r, uint64_t *octets_r,
    const char **text_r)
{
	uint32_t n;
	uint64_t octets;
	const char *t;

	if (begin(m, MSG_SESSION_OK) == -1 || msg_get_u32(m, &n) == -1 ||
	    msg_get_u64(m, &octets) == -1 ||
	    msg_get_str(m, &t, POP3_MAX_UIDL) == -1 || msg_end(m) == -1)
		return -1;
	*n_r = n;
	*octets_r = octets;
	*text_r = t;
	return 0;
}

int
ipc_get_session_err(struct msg *m, uint32_t *code_r)
{
	uint32_t code;

	if (begin(m, MSG_SESSION_ERR) == -1 || msg_get_u32(m, &code) == -1 ||
	    msg_end(m) == -1 || code == 0 || code >= IPC_ERR_MAX)
		return -1;
	*code_r = code;
	return 0;
}

int
ipc_get_session_data_shm(struct msg *m, uint32_t *off_r, uint32_t *len_r,
    uint32_t *flags_r)
{
	uint32_t off, len, flags;

	if (begin(m, MSG_SESSION_DATA_SHM) == -1 ||
	    msg_get_u32(m, &off) == -1 || msg_get_u32(m, &len) == -1 ||
	    msg_get_u32(m, &flags) == -1 || msg_end(m) == -1 ||
	    off > SESSION_BODY_MAP_MAX || len > SESSION_BODY_MAP_MAX - off ||
	    (flags & ~(uint32_t)IPC_SHM_LAST) != 0)
		return -1;
	*off_r = off;
	*len_r = len;
	*flags_r = flags;
	return 0;
}

/* Any length (IPC_MAX_PAYLOAD bounds it), empty too. */
int
ipc_get_session_data(struct msg *m, const unsigned char **p_r, size_t *len_r)
{
	if (begin(m, MSG_SESSION_DATA) == -1 || m->len > IPC_MAX_PAYLOAD)
		return -1;
	m->rpos = m->len;
	*p_r = m->data;
	*len_r = m->len;
	return 0;
}

int
ipc_get_session_end(struct msg *m)
{
	return get_empty(m, MSG_SESSION_END);
}
