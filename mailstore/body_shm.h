/*
 * The channel for message bodies (RETR, TOP): a memfd the worker fills
 * with wire bytes and the session child maps read-only and writes to
 * the client from.  A 50 kB message then crosses from this process to
 * the session as one small MSG_SESSION_DATA_SHM, not as several 16 kB
 * datagrams each copied into the kernel and out again.
 *
 * The memfd is two halves used in turn: while the session writes one,
 * the worker fills the other.  When a region is released is written
 * once, in daemon/session/session_store.c (the session's side of the body
 * path).  The memfd is sealed against growing, shrinking and new
 * writable mappings before it is passed, so the session can read it
 * and nothing else.
 */
#ifndef PRIVPOP_BODY_SHM_H
#define PRIVPOP_BODY_SHM_H

#include <stddef.h>

#include "buf.h"

/* Each half; a 64 kB read chunk encodes to at most twice its size. */
#define BODY_SHM_HALF	(256 * 1024)
#define BODY_SHM_SIZE	(2 * BODY_SHM_HALF)
/* A message of at most this many stored bytes surely encodes into one
 * half, CRLF at most doubling it: the largest that a RETR_AHEAD answers
 * (by its listed octets, never fewer than its bytes), and that an mbox
 * RETR counts after encoding. */
#define BODY_SHM_WHOLE_MAX	((BODY_SHM_HALF - 2) / 2)

struct body_shm {
	unsigned char	*base;		/* NULL: not made (yet), use DATA */
	int		 failed;	/* could not be made: DATA for good */
	int		 pass_fd;	/* goes with the first DATA_SHM */
	int		 cur;		/* the half being filled */
	int		 outstanding;	/* regions sent, not yet released */
	int		 held;		/* one of them a RETR_AHEAD answer */
	struct buf	 b;		/* over the current half */
};

/* Create, map and seal the memfd at the first message body (a session
 * that only lists costs nothing); its descriptor goes to the session
 * with the first MSG_SESSION_DATA_SHM.  0, or -1 when there is none and
 * bodies go as DATA. */
int	body_shm_ready(struct body_shm *);

/* The buffer to encode into: the current half, emptied, waiting for the
 * session to release it first if needed. */
struct buf *body_shm_begin(struct body_shm *, int sock);

/* Send what the current half holds (if anything) and switch halves;
 * with more to come, wait until the next half is free.  Without, the
 * region is sent even if empty, marked IPC_SHM_LAST: it ends the
 * answer, and the session does not release it with a DONE. */
void	body_shm_flush(struct body_shm *, int sock, int more);

/* The session sent its next request: it has written out every region
 * it was given, the last one included, except a held one. */
void	body_shm_release_all(struct body_shm *);

/* The answer just flushed (one region) was a RETR_AHEAD: the session
 * holds it across other requests until its MSG_STORE_SHM_DONE or its
 * next MSG_STORE_RETR_AHEAD (the store then calls body_shm_done). */
void	body_shm_hold(struct body_shm *);

/* A MSG_STORE_SHM_DONE arrived: one region released (the held one when
 * no answer is under way, as none may be while one is held). */
void	body_shm_done(struct body_shm *);

#endif
