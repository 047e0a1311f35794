/*
 * The serve loop of a privpop-store worker: one permit table that says,
 * for each request, in which states it may come, whether only once,
 * what is done with the body regions (body_shm.h) before it, and which
 * state follows; and the handlers, over one explicit struct
 * store_state, so unit tests can drive them without a process.
 */
#ifndef PRIVPOP_STORE_SERVE_H
#define PRIVPOP_STORE_SERVE_H

#include <sys/stat.h>

#include <stdint.h>

#include "body_shm.h"
#include "ipc.h"
#include "maildir.h"
#include "mbox.h"

enum store_phase { ST_INIT, ST_READY, ST_DONE };

/* Everything a worker knows: its socket, its one mailbox (Maildir or
 * mbox; msgs and count point into whichever is open), the memfd of
 * message bodies, and where the protocol is. */
struct store_state {
	enum store_phase phase;
	int		 sock;
	int		 open;		/* md or mb is open */
	int		 is_mbox;
	struct maildir	 md;
	struct mbox	 mb;
	struct mail_msg	*msgs;
	uint32_t	 count;
	struct body_shm	 shm;
	uint32_t	 once;		/* used ONCE rows, by index */
	int		 verbose_title;	/* user in the title (-T: no) */
	/* RFC 2449 (expire.h): the user's values from STORE_INIT, the
	 * directory of the state files (md.dirfd or mb.idxfd, not ours
	 * to close) and their names there, and per message its first
	 * retrieval (0: none known) and whether this session RETRieved
	 * it (EXPIRE 0 expunges those at QUIT) */
	uint32_t	 login_delay;
	uint32_t	 expire;
	int		 statefd;
	char		 login_name[MAIL_MAX_PATH];
	char		 rec_name[MAIL_MAX_PATH];
	int64_t		*first;
	unsigned char	*seen;
	int		 first_dirty;	/* records to save at the end */
};

/* What happens to the body regions before a request is handled, when
 * the memfd exists (a request means the session wrote out every region
 * it was given, except a held RETR_AHEAD answer). */
enum store_shm_step {
	SHM_STEP_RELEASE,	/* all but a held one are free again */
	SHM_STEP_RELEASE_HELD,	/* RETR_AHEAD: the held one too */
	SHM_STEP_NOT_HELD,	/* RETR, TOP need both halves: none held */
	SHM_STEP_OWN,		/* SHM_DONE: its handler releases one */
};

#define STORE_IN(phase)		(1u << (phase))
#define STORE_ONCE		0x1	/* at most once per worker */
#define STORE_REGION		0x2	/* only once the memfd is made */
#define STORE_NEXT_HANDLER	(-1)	/* the handler sets the phase */

struct store_permit {
	uint32_t	 type;
	unsigned int	 states;	/* STORE_IN() of each phase */
	unsigned int	 flags;	/* STORE_ONCE, STORE_REGION */
	enum store_shm_step shm;
	int		 next;	/* next phase, or STORE_NEXT_HANDLER */
	void		(*handler)(struct store_state *, struct msg *);
};

void	store_state_init(struct store_state *, int sock);
/* The row that permits type now, or NULL: refused. */
const struct store_permit *store_permit(const struct store_state *,
	    uint32_t type);
/* One request: refused ones are fatal; else the row's region step, its
 * handler, its next phase. */
void	store_handle(struct store_state *, struct msg *);
/* Requests until QUIT (ST_DONE) or EOF (nothing deleted). */
void	store_serve(struct store_state *);
/* Close the mailbox if open; no deletions (the retrieval records of
 * EXPIRE are saved first). */
void	store_close(struct store_state *);

/* The handlers of the table, each answering on st->sock; a malformed
 * request is fatal. */
void	store_h_init(struct store_state *, struct msg *);
void	store_h_shm_done(struct store_state *, struct msg *);
void	store_h_list(struct store_state *, struct msg *);
void	store_h_uidl(struct store_state *, struct msg *);
void	store_h_retr(struct store_state *, struct msg *);
void	store_h_top(struct store_state *, struct msg *);
void	store_h_dele(struct store_state *, struct msg *);
void	store_h_rset(struct store_state *, struct msg *);
void	store_h_quit(struct store_state *, struct msg *);
void	store_h_retr_ahead(struct store_state *, struct msg *);

#endif
