/*
 * Typed messages over SOCK_SEQPACKET socketpairs between the session
 * child, privpop-auth and privpop-store.  Every message type is declared
 * here, once, with the direction it travels in.  A message is one
 * datagram: a fixed header and at most IPC_MAX_PAYLOAD bytes, checked
 * before use; only types marked to carry a descriptor may carry one.
 *
 * The comments below say what each message's fields mean; the table in
 * ipc.c (msg_types[]) is authoritative for its payload layout and the
 * bound of each string, and ipc_recv refuses a message that does not
 * match it.  Change both together.
 */
#ifndef PRIVPOP_IPC_H
#define PRIVPOP_IPC_H

#include <stddef.h>
#include <stdint.h>

#include "limits.h"

/* Bump whenever the enum or a payload layout changes. */
#define IPC_VERSION	32

enum msg_type {
	MSG_NONE = 0,

	/* auth -> session: ready; u32 version, u32 flags (the AUTH_MECH_*
	 * offered), str APOP and CRAM-MD5 stamp, str session id
	 * (SESSION_ID_LEN hex digits: privpop-auth's login lines and the
	 * session's summary line carry it as sess=) */
	MSG_SESSION_HELLO,
	/* slot -> auth, the first message, once, before any byte of the
	 * client is read: (empty); fd: the client's socket (or inetd's
	 * stdin), whose peer privpop-auth reads itself (getpeername) */
	MSG_AUTH_PEER,
	/* slot -> auth, next and once, only when the peer is in
	 * haproxy_trusted_networks: the PROXY header the slot read before
	 * the greeting (proxy_proto.h); u32 local (1: the balancer's own
	 * connection, the rest empty), str client address, u32 its port,
	 * str the address the client reached, u32 its port, u32 ssl (1:
	 * the client used TLS to the balancer) */
	MSG_AUTH_PROXY,
	/* session -> auth: str user, str pass */
	MSG_AUTH_LOGIN,
	/* session -> auth: str user, str hex digest */
	MSG_AUTH_APOP,
	/* session -> auth: SASL CRAM-MD5 (RFC 2195) over the HELLO stamp;
	 * str user, str hex digest */
	MSG_AUTH_CRAM,
	/* session -> auth: SCRAM-SHA-256 client-first, as the session
	 * parsed it; u32 gs2 ("n,," 0, "y,," 1), str user (unescaped), str
	 * client nonce; user "" when the client-first was malformed (a
	 * failure privpop-auth counts) */
	MSG_AUTH_SCRAM_FIRST,
	/* session -> auth: SCRAM-SHA-256 client-final, as the session
	 * parsed it; u32 SCRAM_FINAL_*, bytes proof (SCRAM_PROOF_LEN, none
	 * unless SCRAM_FINAL_PROOF) */
	MSG_AUTH_SCRAM_FINAL,
	/* auth -> session: a SASL challenge to relay; str data */
	MSG_SESSION_SASL_CHALLENGE,
	/* session -> auth: a TLS handshake starts on this connection
	 * (implicit TLS or STLS), sent before its first byte is read; once
	 * (empty) */
	MSG_AUTH_TLS_START,
	/* session -> auth: the handshake's one signature, after TLS_START;
	 * u32 key index, u32 TLS SignatureScheme (TLSK_*), bytes the whole
	 * content to sign (privpop-auth checks its form and hashes it) */
	MSG_AUTH_TLS_SIGN,
	/* auth -> session: bytes result (empty: refused or failed) */
	MSG_SESSION_TLS_SIGNED,
	/* auth -> session: str canonical user; fd: socket to privpop-store */
	MSG_SESSION_AUTH_OK,
	/* auth -> session: u32 error code (enum ipc_err) */
	MSG_SESSION_AUTH_FAIL,
	/* master -> privpop-auth -Z: fork an auth helper for a new slot;
	 * (empty); fd: the helper's end of the slot's socket.  Always
	 * followed by the next (one descriptor a message). */
	MSG_AUTH_SPAWN,
	/* master -> privpop-auth -Z, right after each AUTH_SPAWN, the
	 * rest of that request: (empty); fd: the helper's end of the
	 * slot's login report channel, on which that helper alone sends
	 * MSG_MASTER_LOGIN */
	MSG_AUTH_SPAWN_REPORT,
	/* auth helper -> privpop-store -Z: fork a worker; u32 uid, u32 gid,
	 * u32 extra gid (or (uint32_t)-1); fd: a channel of its own to the
	 * helper, on which the next two travel */
	MSG_STORE_SPAWN,
	/* auth helper -> the forked worker, on that channel: (empty); fd:
	 * the worker's socket, its STORE_INIT already queued */
	MSG_STORE_SOCKET,
	/* privpop-store -Z -> auth helper, on that channel: (empty); fd: a
	 * pidfd of the worker, on which a helper holding a PAM session
	 * waits for its end */
	MSG_AUTH_WORKER_PIDFD,
	/* worker -> its dotlock child (mailstore/dotlock_child.h): take
	 * or remove the dotlock; u32 op (DLC_*), str lock name, u32 stale
	 * age; fd: the mbox's directory (the first request only) */
	MSG_LOCKD_REQUEST,
	/* dotlock child -> worker: u32 result (1 taken or removed, 0 busy,
	 * -1 error), u32 errno */
	MSG_LOCKD_RESULT,
	/* master -> slot: a connection to serve, accepted by the master;
	 * u32 implicit TLS (0 or 1), u32 transcript (1: privpopctl
	 * switched it on for the client's address), str the users
	 * privpopctl switched it on for ("" none; separated by spaces);
	 * fd: the client socket.  Only MSG_MASTER_SESSION_STATS goes the
	 * other way: a slot that sends anything else is ended. */
	MSG_SLOT_CONN,
	/* master -> slot, just before its SLOT_CONN when transcript_dir is
	 * set: (empty); fd: the session's transcript file, to append to */
	MSG_SLOT_TRANSCRIPT,
	/* auth helper -> master, on the slot's login report channel (never
	 * on the slot's own socket): the session has logged in, its
	 * credentials checked by that helper; once.  str canonical user
	 * (printable, no space), str session id (SESSION_ID_LEN hex
	 * digits, the sess= of the logs), u32 TLS (1: a handshake was
	 * announced on the connection, implicit TLS or STLS; 0: none) */
	MSG_MASTER_LOGIN,
	/* auth helper -> master, on the same channel, before any LOGIN
	 * and once: the client's address from the PROXY header of a
	 * connection from haproxy_trusted_networks, checked by that
	 * helper; str address (peeraddr.h's form) */
	MSG_MASTER_PEER,
	/* master -> slot zygote (slot.c): fork a slot; (empty); fd: the
	 * slot's socket to the master */
	MSG_ZYGOTE_SPAWN,
	/* slot zygote -> master: u32 the new slot's pid (0: fork failed) */
	MSG_MASTER_SLOT_PID,
	/* master -> a slot new from the zygote: (empty); fd: its socket
	 * to its privpop-auth */
	MSG_SLOT_AUTH,
	/* master -> the same slot, next: (empty); fd: a syslog socket of
	 * its own, or none when nothing listens on /dev/log */
	MSG_SLOT_LOG,
	/* privpop-auth -> master, on the penalty channel all helpers
	 * share (a datagram socket: one report a message): u32 ok (1 a
	 * login, 0 a failure), str client address, str mechanism ("pass"
	 * for USER/PASS, AUTH PLAIN and LOGIN; "apop", "cram-md5",
	 * "scram-sha-256") */
	MSG_MASTER_PENALTY,
	/* privpopctl -> master, on a connection to the control socket
	 * (root peers only), the one request of that connection: u32
	 * command (CTL_CMD_*), str argument (at most CTL_ARG_MAX, "" when
	 * the command takes none) */
	MSG_MASTER_CTL_REQUEST,
	/* master -> privpopctl, the one answer: u32 status (CTL_OK or
	 * CTL_ERR_*), u32 count (sessions listed or ended, counters);
	 * fd: a sealed memfd with the answer's text (control.c says its
	 * lines), none on an error */
	MSG_CTL_ANSWER,
	/* master -> the metrics process (daemon/metrics/), on their
	 * socketpair, every METRICS_PUSH_INTERVAL: (empty); fd: a sealed
	 * memfd with the stats text of privpopctl stats (name, tab,
	 * value, newline).  Nothing travels the other way. */
	MSG_METRICS_SNAPSHOT,
	/* session child -> master, on the slot's own socket (the one its
	 * SLOT_CONN came on), the only message the master takes there:
	 * what the session did since its last report, u64 x SST_COUNT
	 * (enum sess_stat order), deltas.  A session taken over can lie
	 * about its own figures; the master clamps each (SST_DELTA_MAX)
	 * and only adds them to counters. */
	MSG_MASTER_SESSION_STATS,

	/* auth -> store: str user, str mailbox location ("maildir:/p" or
	 * "mbox:/p"), u32 mbox locks, u32 lock timeout, u32 dotlock stale
	 * age, str index dir ("" = beside the mbox), str pop3_uidl_format,
	 * u32 the user's LOGIN-DELAY (s, 0 to LOGIN_DELAY_MAX), u32 the
	 * user's EXPIRE (days to EXPIRE_DAYS_MAX, or EXPIRE_NEVER): what
	 * privpop-auth decided, never the session child (RFC 2449) */
	MSG_STORE_INIT,
	/* store -> session: mailbox open; u32 count, u64 octets */
	MSG_SESSION_STORE_READY,
	/* store -> session, instead of STORE_READY: the user logged in
	 * less than LOGIN-DELAY seconds ago (RFC 2449 [LOGIN-DELAY]); u32
	 * seconds until a login is allowed (1 to LOGIN_DELAY_MAX) */
	MSG_SESSION_LOGIN_DELAY,
	/* store -> session: wire bytes of a message body in the memfd;
	 * u32 offset, u32 length, u32 flags (IPC_SHM_*); the first one
	 * brings the sealed memfd itself (body_shm.h) */
	MSG_SESSION_DATA_SHM,
	/* session -> store: the oldest DATA_SHM region is written out and
	 * may be reused; (empty).  When it is sent: the release rule in
	 * daemon/session/session_store.c. */
	MSG_STORE_SHM_DONE,

	/* session -> store requests; u32 msgno (0 = all) where noted */
	MSG_STORE_LIST,		/* u32 msgno */
	MSG_STORE_UIDL,		/* u32 msgno */
	MSG_STORE_RETR,		/* u32 msgno */
	MSG_STORE_TOP,		/* u32 msgno, u32 body lines */
	MSG_STORE_DELE,		/* u32 msgno */
	MSG_STORE_RSET,		/* (empty) */
	MSG_STORE_QUIT,		/* (empty) */
	/* RETR msgno ahead of the client asking, sent after a RETR of
	 * msgno - 1: answered like a RETR in one DATA_SHM region, which the
	 * session holds (daemon/session/session_store.c), or ERR (IPC_ERR_NOT_AHEAD:
	 * too large, or no memfd). */
	MSG_STORE_RETR_AHEAD,	/* u32 msgno */
	/* (RETR_AHEAD n also tells the worker that the client was sent
	 * message n - 1 whole, for EXPIRE; n may be count + 1 for only
	 * that, answered IPC_ERR_NOT_AHEAD) */

	/* store -> session answers */
	MSG_SESSION_OK,		/* u32 number, u64 octets, str text */
	MSG_SESSION_ERR,	/* u32 error code */
	MSG_SESSION_DATA,	/* raw wire bytes of a multi-line answer */
	MSG_SESSION_END,	/* (empty) end of a multi-line answer */

	MSG_TYPE_COUNT
};

/* Error codes carried in MSG_SESSION_AUTH_FAIL and MSG_SESSION_ERR. */
enum ipc_err {
	IPC_ERR_AUTH = 1,	/* bad credentials, unknown user: [AUTH] */
	IPC_ERR_NOSUCH,		/* no such message */
	IPC_ERR_DELETED,	/* message already deleted */
	IPC_ERR_INUSE,		/* mailbox locked by another session */
	IPC_ERR_TEMP,		/* temporary failure: [SYS/TEMP] */
	IPC_ERR_PERM,		/* permanent failure: [SYS/PERM] */
	IPC_ERR_EXPIRED,	/* right password, but it must be changed */
	IPC_ERR_NOT_AHEAD,	/* RETR_AHEAD declined; never shown to a client */
	IPC_ERR_MAX
};

/* MSG_MASTER_SESSION_STATS fields, in order: what the session child
 * counted since its last report (common/ipc.c's layout has one 'q'
 * each: change both together). */
enum sess_stat {
	SST_BYTES_IN,		/* POP3 bytes from the client (after TLS) */
	SST_BYTES_OUT,		/* POP3 bytes to the client (before TLS) */
	SST_TLS_IMPLICIT_OK,	/* handshakes done, implicit TLS */
	SST_TLS_IMPLICIT_FAIL,	/* failed or timed out, implicit TLS */
	SST_TLS_STLS_OK,	/* handshakes done after STLS */
	SST_TLS_STLS_FAIL,	/* failed or timed out after STLS */
	SST_RETR,		/* messages sent for RETR */
	SST_RETR_OCTETS,	/* their octets (the +OK line's count) */
	SST_TOP,		/* TOP answered with +OK */
	SST_DELE,		/* DELE answered with +OK (RSET undoes none) */
	SST_EXPUNGES,		/* QUIT that committed one deletion or more */
	SST_EXPUNGED,		/* messages those removed */
	SST_ERR_SYS_TEMP,	/* -ERR [SYS/TEMP] answers */
	SST_ERR_SYS_PERM,	/* -ERR [SYS/PERM] answers */
	SST_ERR_IN_USE,		/* -ERR [IN-USE] answers */
	SST_TIMEOUTS,		/* autologouts: idle, the login deadline, or
				   an answer the client read nothing of */
	SST_PROTOCOL_ERRORS,	/* lines refused: unknown, malformed, too
				   long, not valid in the state */
	SST_COUNT
};

/* MSG_MASTER_CTL_REQUEST commands */
enum ctl_cmd {
	CTL_CMD_WHO = 1,	/* the sessions, one line each */
	CTL_CMD_KICK,		/* end the sessions the argument matches */
	CTL_CMD_STATS,		/* the master's counters */
	CTL_CMD_RELOAD,		/* as SIGHUP */
	CTL_CMD_TRANSCRIPT_ON,	/* a transcript for a user or an address */
	CTL_CMD_TRANSCRIPT_OFF,	/* no more of that */
	CTL_CMD_TRANSCRIPTS,	/* what is switched on, one line each */
	CTL_CMD_LOG_LEVEL,	/* "debug" or "info": every process's, from
				   the next session on */
	CTL_CMD_MAX
};

/* MSG_CTL_ANSWER status */
enum ctl_status {
	CTL_OK = 0,
	CTL_ERR_NOT_ROOT,	/* the peer is not root: refused */
	CTL_ERR_BAD_REQUEST,	/* unknown command, or a bad argument */
	CTL_ERR_NO_MATCH,	/* kick: no session matches */
	CTL_ERR_INTERNAL,	/* the master could not answer (memfd) */
	CTL_ERR_FULL,		/* transcript on: CTL_TRANSCRIPT_MAX already */
	CTL_ERR_MAX
};

/* MSG_SESSION_DATA_SHM flags */
#define IPC_SHM_LAST	0x1	/* ends the answer: no MSG_SESSION_END follows */

/* MSG_SESSION_HELLO flags: the login mechanisms the session offers,
 * AUTH_MECH_* of conf.h, as privpop-auth decided them (auth_mechanisms,
 * or what every backend serves for every user).  The stamp is sent when
 * APOP or CRAM-MD5 is among them, and is "" otherwise. */

/* The session id of MSG_SESSION_HELLO: hex digits of 8 random bytes. */
#define SESSION_ID_LEN	16

/* MSG_AUTH_TLS_SIGN schemes: the TLS SignatureScheme codes (RFC 8446
 * 4.2.3) privpop-auth signs with; nothing else (no raw RSA) */
#define TLSK_RSA_PKCS1_SHA256	0x0401	/* TLS 1.2 only */
#define TLSK_RSA_PKCS1_SHA384	0x0501
#define TLSK_RSA_PKCS1_SHA512	0x0601
#define TLSK_ECDSA_SHA256	0x0403
#define TLSK_ECDSA_SHA384	0x0503
#define TLSK_ECDSA_SHA512	0x0603
#define TLSK_RSA_PSS_SHA256	0x0804	/* rsa_pss_rsae_* */
#define TLSK_RSA_PSS_SHA384	0x0805
#define TLSK_RSA_PSS_SHA512	0x0806

struct msg {
	uint32_t	 type;
	uint32_t	 len;	/* payload bytes */
	size_t		 rpos;	/* getter cursor */
	int		 fd;	/* received descriptor, or -1 */
	unsigned char	 data[IPC_MAX_PAYLOAD];
};

const char *msg_name(uint32_t);

/* The payload layout of a type, from the table in ipc.c: one character
 * a field, 'u' u32, 'q' u64, 's' string, 'b' bytes, '*' the rest
 * unchecked (last only); NULL for an unknown type. */
const char *ipc_layout(uint32_t type);
/* The bound (characters of an 's', bytes of a 'b') of field number
 * field of that layout; 0 if it is not an 's' or 'b' field. */
size_t	ipc_layout_max(uint32_t type, size_t field);
/* 0 if m's payload matches its type's layout exactly (every field
 * present and within its bound, nothing left over), else -1.  m's
 * cursor is not moved.  ipc_recv and ipc_decode check this. */
int	ipc_check(struct msg *);

void	msg_init(struct msg *, uint32_t type);
int	msg_put_u32(struct msg *, uint32_t);
int	msg_put_u64(struct msg *, uint64_t);
int	msg_put_str(struct msg *, const char *);
int	msg_put_raw(struct msg *, const void *, size_t);
/* u32 length and the bytes (binary, may hold NULs). */
int	msg_put_bytes(struct msg *, const void *, size_t);

/* Getters fail (-1) on short data, an unterminated string, a string
 * with an inner NUL or longer than max; msg_end fails on leftovers. */
int	msg_get_u32(struct msg *, uint32_t *);
int	msg_get_u64(struct msg *, uint64_t *);
int	msg_get_str(struct msg *, const char **, size_t max);
int	msg_get_bytes(struct msg *, const unsigned char **, size_t *len,
	    size_t max);
int	msg_end(const struct msg *);

/* Parse a received datagram (header + payload) into m, checked like
 * ipc_recv checks one (header, then ipc_check); used by the fuzz
 * target.  Returns 0 or -1. */
int	ipc_decode(struct msg *, const void *, size_t);

/* Send m, with fd (or -1) if its type may carry one.  0 or -1. */
int	ipc_send(int sock, const struct msg *, int fd);
/* Send a message whose whole payload is one u32 (error codes). */
int	ipc_send_u32(int sock, uint32_t type, uint32_t);
/* Send a message whose payload is given directly (no copy). */
int	ipc_send_raw(int sock, uint32_t type, const void *, size_t);
/* Send an empty message, with fd (or -1) if its type may carry one. */
int	ipc_send_fd(int sock, uint32_t type, int fd);
/* 0 if m is of type with nothing left to read (msg_end) and, when need
 * is set, a descriptor; that descriptor (or -1) then moves from m->fd
 * to *fd_r.  -1 otherwise, with m->fd left for the caller to close.
 * For the typed wrappers (ipc_auth.h, ipc_master.h). */
int	ipc_get_fd(struct msg *, uint32_t type, int need, int *fd_r);
/* Receive one message: 1 on success, 0 on orderly EOF, -1 on error
 * (malformed, truncated, unknown type, stray descriptor, a payload not
 * matching its type's layout: errno EPROTO).  After a payload refused
 * for its layout, m->type still names its type (for the log), with no
 * payload and no descriptor; after any other error it is MSG_NONE. */
int	ipc_recv(int sock, struct msg *);

int	ipc_socketpair(int sv[2]);

#endif
