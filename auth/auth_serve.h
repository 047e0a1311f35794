/*
 * privpop-auth's requests from its session child: one serve loop over a
 * permit table (OpenSSH mon_table).  Each row says in which states a
 * request is allowed, whether only once, what must have come first, and
 * which state follows; anything else ends the helper (fatalx).
 */
#ifndef PRIVPOP_AUTH_SERVE_H
#define PRIVPOP_AUTH_SERVE_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "auth_mailbox.h"
#include "conf.h"
#include "ipc.h"
#include "passwd_file.h"
#include "peeraddr.h"
#include "penalty.h"
#include "scram.h"
#include "tls_keys.h"

/* Where the session's login stands. */
enum auth_state {
	AS_PEER,	/* waiting for MSG_AUTH_PEER, the first message */
	AS_PROXY,	/* a balancer's connection: its PROXY header next */
	AS_AUTH,	/* the client's address known: login requests */
	AS_SCRAM,	/* a SCRAM-SHA-256 challenge sent: its final due */
	AS_DONE,	/* logged in: nothing more is read */
	AS_COUNT
};

/* One helper's session, all of it: the handlers keep nothing else. */
struct auth_session {
	const struct conf		*conf;
	const struct penalty_table	*penalties;	/* NULL: inetd mode */
	int				 sock;	/* to the session child */
	enum auth_state			 state;
	/* requests permitted so far, by type (ONCE, after) */
	unsigned			 served[MSG_TYPE_COUNT];
	int				 offer;	/* AUTH_MECH_* of the HELLO */
	int				 attempts;
	/* the current request's arrival (CLOCK_MONOTONIC): a failure is
	 * answered at a deadline from it (faildelay.h) */
	struct timespec			 arrival;
	/* the client's address, from MSG_AUTH_PEER; "" until it came.
	 * Behind a balancer (haproxy_trusted_networks) the PROXY header's
	 * client replaces it, and the balancer's is kept apart. */
	char				 peer[PEER_ADDR_MAX];
	char				 balancer[PEER_ADDR_MAX];
	/* the master's login report channel (-1: none, inetd mode), on
	 * which a balancer's client is reported (MSG_MASTER_PEER) */
	int				 report;
	char				 stamp[APOP_STAMP_MAX];
	char				 sess_id[SESSION_ID_LEN + 1];
	/* the canonical user, once logged in (the master's login report) */
	char				 user[POP3_MAX_USER + 1];
	struct tlsk_permit		 tls;
	/* the login mechanism of the request being served, for the
	 * master's counts (the penalty report): "pass", "apop",
	 * "cram-md5", "scram-sha-256" */
	const char			*method;
	/* SCRAM-SHA-256: two requests, state kept between them */
	struct {
		struct scram_state	 st;
		struct pwf_entry	 e;
		enum auth_found		 via;
		int			 refused, unserved;
	} scram;
	/* the mailbox worker to become, once a login has succeeded */
	struct {
		int			 fd;	/* its store socket end */
		uid_t			 uid;
		gid_t			 gid;
		gid_t			 extra;
	} worker;
};

void	auth_session_init(struct auth_session *, const struct conf *,
	    const struct penalty_table *, int sock);
/* The permit table's answer for a request of type in s's state: 0, or
 * -1 with why it is refused (the log line) in why. */
int	auth_permit(const struct auth_session *, uint32_t type, char *why,
	    size_t whylen);
/* Serve one received request: refused ones end the helper. */
void	auth_dispatch(struct auth_session *, struct msg *);
/* Serve requests until a login succeeded (AS_DONE); the session's end
 * ends the helper. */
void	auth_serve(struct auth_session *);
/* Tell the master (which keeps the shared table) about a login. */
void	auth_report(const struct auth_session *, const char *addr, int ok);

#endif
