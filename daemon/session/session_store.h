/*
 * The session child's link to its privpop-store worker: requests,
 * answers, and the body path from the worker's memfd to the client
 * (session_store.c, which states the memfd's release rule).
 */
#ifndef PRIVPOP_SESSION_STORE_H
#define PRIVPOP_SESSION_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "ipc.h"

struct client;

/* The next message, asked for ahead of the client (MSG_STORE_RETR_AHEAD)
 * after each RETR: the store reads and encodes it while this process
 * writes the last one out and the client asks, so a RETR of it waits
 * for nobody.  At most one; its region is held until SHM_DONE, or
 * until the next RETR_AHEAD, which releases it. */
enum ahead_state {
	AH_NONE = 0,
	AH_PENDING,	/* asked; the answer is not read yet */
	AH_OK,		/* a region of the memfd holds the whole answer */
	AH_ERR,		/* the answer is an error (deleted, changed) */
};

struct ahead {
	enum ahead_state	 state;
	uint32_t		 msgno;
	uint32_t		 code;		/* AH_ERR */
	uint64_t		 octets;	/* AH_OK */
	uint32_t		 off, len;	/* AH_OK: region */
};

struct store_link {
	int			 sock;		/* to the worker; -1 before
						   the login */
	int			 lock_wait;	/* it may wait for mbox locks */
	int			 timeout;	/* s: the client's idle timeout */
	int			 lock_timeout;	/* s: mbox_lock_timeout */
	const char		*id;		/* the session's, for the log */
	struct client		*cl;
	const unsigned char	*body;		/* the worker's memfd, read-only */
	size_t			 body_len;
	struct ahead		 ahead;
	int			 ahead_off;	/* one went unused: no more */
	unsigned		 ahead_used;	/* RETRs it answered */
	uint32_t		 total_n;	/* messages at login */
};

/* The next answer (bounded by the timeouts: a stuck worker ends the
 * session with [SYS/TEMP]). */
void	store_recv(struct store_link *, struct msg *);
/* A request (MSG_STORE_LIST to QUIT) with its message number a and
 * TOP's lines b, where it has them; a pending read-ahead is settled
 * first (answers come in order). */
void	store_request(struct store_link *, uint32_t type, uint32_t a,
	    uint32_t b);
/* OK: 0 with its fields; ERR: the client is answered, -1. */
int	store_answer(struct store_link *, uint32_t *n, uint64_t *octets,
	    char *text, size_t textlen);
/* A multi-line answer's lines to the client, and its terminator. */
void	store_relay(struct store_link *);
int	store_retr(struct store_link *, uint32_t n, uint64_t *octets);
int	store_top(struct store_link *, uint32_t n, uint32_t lines);
/* The client's line for an IPC error code. */
const char *store_err_text(uint32_t code);

/* session.c's, for the link: a line to the client, and the end. */
void	session_out(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));
__attribute__((noreturn))
void	session_end(const char *how);
/* The end after a failed read or write of the client's, as errno says:
 * "disconnect" (EPIPE, ECONNRESET), "timeout" (ETIMEDOUT: it read
 * nothing for the timeout), else "error"; nothing more is sent. */
__attribute__((noreturn))
void	session_end_io(void);

#endif
