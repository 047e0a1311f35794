/*
 * Typed wrappers for every message to and from privpop-store: the
 * session child's requests and the worker's answers, and STORE_INIT
 * from privpop-auth (OpenSSH monitor_wrap.c).  Nothing else builds or
 * reads these payloads, so each layout and each bound is written here
 * once, beside the table in ipc.c.
 *
 * ipc_send_<msg>: build and send one message; 0 or -1 (errno from
 * ipc_send).  ipc_get_<msg>: decode a message ipc_recv returned, of that
 * type, into out-parameters that point into it (strings, bytes): 0, or
 * -1 when it is of another type, short, has leftover bytes or a value
 * out of range.  A decoder starts from the payload's beginning.
 */
#ifndef PRIVPOP_IPC_STORE_H
#define PRIVPOP_IPC_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "ipc.h"

/* MSG_STORE_INIT, privpop-auth -> privpop-store */
struct ipc_store_init {
	const char	*user;		/* POP3_MAX_USER */
	const char	*location;	/* "maildir:/p" or "mbox:/p" */
	uint32_t	 locks;		/* MBOX_LOCK_* of conf.h */
	uint32_t	 lock_timeout;	/* s, 1 to MBOX_LOCK_TIMEOUT_MAX */
	uint32_t	 dotlock_stale;	/* s, DOTLOCK_STALE_MIN to _MAX */
	const char	*index_dir;	/* absolute, or "" (beside the mbox) */
	const char	*uidl_format;	/* pop3_uidl_format (uidlfmt.h) */
	uint32_t	 login_delay;	/* s, 0 to LOGIN_DELAY_MAX */
	uint32_t	 expire;	/* days to EXPIRE_DAYS_MAX, EXPIRE_NEVER */
	uint32_t	 lock_stale;	/* s, MDLOCK_STALE_MIN to _MAX */
	const char	*lock_node;	/* mail_lock_node, "" = host name */
};

int	ipc_send_store_init(int sock, const struct ipc_store_init *);
int	ipc_get_store_init(struct msg *, struct ipc_store_init *);

/* session -> store.  msgno 0 means "all" for LIST and UIDL, and is
 * refused for the others; a number above the mailbox's count is the
 * worker's to answer (IPC_ERR_NOSUCH). */
int	ipc_send_store_list(int sock, uint32_t msgno);
int	ipc_send_store_uidl(int sock, uint32_t msgno);
int	ipc_send_store_retr(int sock, uint32_t msgno);
int	ipc_send_store_top(int sock, uint32_t msgno, uint32_t lines);
int	ipc_send_store_dele(int sock, uint32_t msgno);
int	ipc_send_store_rset(int sock);
int	ipc_send_store_quit(int sock);
int	ipc_send_store_retr_ahead(int sock, uint32_t msgno);
int	ipc_send_store_shm_done(int sock);

int	ipc_get_store_list(struct msg *, uint32_t *msgno_r);
int	ipc_get_store_uidl(struct msg *, uint32_t *msgno_r);
int	ipc_get_store_retr(struct msg *, uint32_t *msgno_r);
int	ipc_get_store_top(struct msg *, uint32_t *msgno_r, uint32_t *lines_r);
int	ipc_get_store_dele(struct msg *, uint32_t *msgno_r);
int	ipc_get_store_rset(struct msg *);
int	ipc_get_store_quit(struct msg *);
int	ipc_get_store_retr_ahead(struct msg *, uint32_t *msgno_r);
int	ipc_get_store_shm_done(struct msg *);

/* store -> session */
int	ipc_send_session_store_ready(int sock, uint32_t count, uint64_t octets);
int	ipc_send_session_ok(int sock, uint32_t n, uint64_t octets,
	    const char *text);
int	ipc_send_session_err(int sock, uint32_t code);
/* seconds: 1 to LOGIN_DELAY_MAX */
int	ipc_send_session_login_delay(int sock, uint32_t seconds);
/* fd: the sealed memfd with the first one, else -1 */
int	ipc_send_session_data_shm(int sock, uint32_t off, uint32_t len,
	    uint32_t flags, int fd);
int	ipc_send_session_data(int sock, const void *, size_t);
int	ipc_send_session_end(int sock);

/* count to MAIL_MAX_MESSAGES */
int	ipc_get_session_store_ready(struct msg *, uint32_t *count_r,
	    uint64_t *octets_r);
/* text: a UIDL (POP3_MAX_UIDL) or "" */
int	ipc_get_session_ok(struct msg *, uint32_t *n_r, uint64_t *octets_r,
	    const char **text_r);
/* code: an enum ipc_err */
int	ipc_get_session_err(struct msg *, uint32_t *code_r);
int	ipc_get_session_login_delay(struct msg *, uint32_t *seconds_r);
/* the region within SESSION_BODY_MAP_MAX, flags IPC_SHM_* only; its
 * descriptor, if any, stays in m->fd */
int	ipc_get_session_data_shm(struct msg *, uint32_t *off_r, uint32_t *len_r,
	    uint32_t *flags_r);
int	ipc_get_session_data(struct msg *, const unsigned char **p_r,
	    size_t *len_r);
int	ipc_get_session_end(struct msg *);

#endif
