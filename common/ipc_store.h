/*
 * Typed wrappers for every message to and from privpop-store: the
 * session child's requests and the worker's answers, and STORE_INIT
 * from privpop-auth (OpenSSH monitor_wrap.c).  Nothing else builds or
 * reads these payloads, so each layout and each bound is written here
 * once, beside the table in ipc.c.
 *
 * ipcs_send_*: build and send one message; 0 or -1 (errno from
 * ipc_send).  ipcs_get_*: decode a message ipc_recv returned, of that
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
struct ipcs_init {
	const char	*user;		/* POP3_MAX_USER */
	const char	*location;	/* "maildir:/p" or "mbox:/p" */
	uint32_t	 locks;		/* MBOX_LOCK_* of conf.h */
	uint32_t	 lock_timeout;	/* s, 1 to MBOX_LOCK_TIMEOUT_MAX */
	uint32_t	 dotlock_stale;	/* s, DOTLOCK_STALE_MIN to _MAX */
	const char	*index_dir;	/* absolute, or "" (beside the mbox) */
};

int	ipcs_send_init(int sock, const struct ipcs_init *);
int	ipcs_get_init(struct msg *, struct ipcs_init *);

/* session -> store.  msgno 0 means "all" for LIST and UIDL, and is
 * refused for the others; a number above the mailbox's count is the
 * worker's to answer (IPC_ERR_NOSUCH). */
int	ipcs_send_list(int sock, uint32_t msgno);
int	ipcs_send_uidl(int sock, uint32_t msgno);
int	ipcs_send_retr(int sock, uint32_t msgno);
int	ipcs_send_top(int sock, uint32_t msgno, uint32_t lines);
int	ipcs_send_dele(int sock, uint32_t msgno);
int	ipcs_send_rset(int sock);
int	ipcs_send_quit(int sock);
int	ipcs_send_retr_ahead(int sock, uint32_t msgno);
int	ipcs_send_shm_done(int sock);

int	ipcs_get_list(struct msg *, uint32_t *msgno_r);
int	ipcs_get_uidl(struct msg *, uint32_t *msgno_r);
int	ipcs_get_retr(struct msg *, uint32_t *msgno_r);
int	ipcs_get_top(struct msg *, uint32_t *msgno_r, uint32_t *lines_r);
int	ipcs_get_dele(struct msg *, uint32_t *msgno_r);
int	ipcs_get_rset(struct msg *);
int	ipcs_get_quit(struct msg *);
int	ipcs_get_retr_ahead(struct msg *, uint32_t *msgno_r);
int	ipcs_get_shm_done(struct msg *);

/* store -> session */
int	ipcs_send_ready(int sock, uint32_t count, uint64_t octets);
int	ipcs_send_ok(int sock, uint32_t n, uint64_t octets, const char *text);
int	ipcs_send_err(int sock, uint32_t code);
/* fd: the sealed memfd with the first one, else -1 */
int	ipcs_send_data_shm(int sock, uint32_t off, uint32_t len,
	    uint32_t flags, int fd);
int	ipcs_send_data(int sock, const void *, size_t);
int	ipcs_send_end(int sock);

/* count to MAIL_MAX_MESSAGES */
int	ipcs_get_ready(struct msg *, uint32_t *count_r, uint64_t *octets_r);
/* text: a UIDL (POP3_MAX_UIDL) or "" */
int	ipcs_get_ok(struct msg *, uint32_t *n_r, uint64_t *octets_r,
	    const char **text_r);
/* code: an enum ipc_err */
int	ipcs_get_err(struct msg *, uint32_t *code_r);
/* the region within SESSION_BODY_MAP_MAX, flags IPC_SHM_* only; its
 * descriptor, if any, stays in m->fd */
int	ipcs_get_data_shm(struct msg *, uint32_t *off_r, uint32_t *len_r,
	    uint32_t *flags_r);
int	ipcs_get_data(struct msg *, const unsigned char **p_r, size_t *len_r);
int	ipcs_get_end(struct msg *);

#endif
