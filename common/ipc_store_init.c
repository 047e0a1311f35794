/*
 * MSG_STORE_INIT's typed wrappers (ipc_store.h): the one store message
 * privpop-auth sends, apart from the session's and the worker's.
 *
 * Runs as: root (privpop-auth sends it), mailbox owner (privpop-store
 * reads it).
 */
#include "config.h"

#include "conf.h"
#include "ipc_store.h"
#include "uidlfmt.h"

int
ipc_send_store_init(int sock, const struct ipc_store_init *in)
{
	struct msg m;

	msg_init(&m, MSG_STORE_INIT);
	if (msg_put_str(&m, in->user) == -1 ||
	    msg_put_str(&m, in->location) == -1 ||
	    msg_put_u32(&m, in->locks) == -1 ||
	    msg_put_u32(&m, in->lock_timeout) == -1 ||
	    msg_put_u32(&m, in->dotlock_stale) == -1 ||
	    msg_put_str(&m, in->index_dir) == -1 ||
	    msg_put_str(&m, in->uidl_format) == -1 ||
	    msg_put_u32(&m, in->login_delay) == -1 ||
	    msg_put_u32(&m, in->expire) == -1 ||
	    msg_put_u32(&m, in->lock_stale) == -1 ||
	    msg_put_str(&m, in->lock_node) == -1)
		return -1;
	return ipc_send(sock, &m, -1);
}

/* The option ranges are conf.c's for the same keys. */
int
ipc_get_store_init(struct msg *m, struct ipc_store_init *in)
{
	if (m->type != MSG_STORE_INIT)
		return -1;
	m->rpos = 0;		/* a decoder starts from the beginning */
	if (msg_get_str(m, &in->user, POP3_MAX_USER) == -1 ||
	    msg_get_str(m, &in->location, MAIL_MAX_PATH) == -1 ||
	    msg_get_u32(m, &in->locks) == -1 ||
	    msg_get_u32(m, &in->lock_timeout) == -1 ||
	    msg_get_u32(m, &in->dotlock_stale) == -1 ||
	    msg_get_str(m, &in->index_dir, MAIL_MAX_PATH) == -1 ||
	    msg_get_str(m, &in->uidl_format, CONF_UIDL_FORMAT_MAX) == -1 ||
	    msg_get_u32(m, &in->login_delay) == -1 ||
	    msg_get_u32(m, &in->expire) == -1 ||
	    msg_get_u32(m, &in->lock_stale) == -1 ||
	    msg_get_str(m, &in->lock_node, MDLOCK_NODE_MAX + 1) == -1 ||
	    msg_end(m) == -1)
		return -1;
	if (in->locks > (MBOX_LOCK_DOTLOCK | MBOX_LOCK_FCNTL |
	    MBOX_LOCK_FLOCK) || in->lock_timeout < 1 ||
	    in->lock_timeout > MBOX_LOCK_TIMEOUT_MAX ||
	    in->dotlock_stale < DOTLOCK_STALE_MIN ||
	    in->dotlock_stale > DOTLOCK_STALE_MAX ||
	    (in->index_dir[0] != '\0' && in->index_dir[0] != '/') ||
	    uidlfmt_check(in->uidl_format) == -1 ||
	    in->login_delay > LOGIN_DELAY_MAX ||
	    (in->expire > EXPIRE_DAYS_MAX && in->expire != EXPIRE_NEVER) ||
	    in->lock_stale < MDLOCK_STALE_MIN ||
	    in->lock_stale > MDLOCK_STALE_MAX ||
	    (in->lock_node[0] != '\0' && !conf_lock_node_ok(in->lock_node)))
		return -1;
	return 0;
}
