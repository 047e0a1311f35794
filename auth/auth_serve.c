/*
 * privpop-auth's serve loop: the requests of its session child, each
 * checked against the permit table (OpenSSH mon_table) before its
 * handler runs, and the handlers, which keep all they know in one
 * struct auth_session.  What runs as root here: all of it (PAM,
 * crypt(3), the passwd-file, SCRAM, the TLS signature, the store
 * socket handed to the session).  main() in privpop-auth.c starts the
 * worker once the loop returns.
 *
 * Runs as: root (privpop-auth).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "addrlist.h"
#include "auth_mailbox.h"
#include "auth_serve.h"
#include "faildelay.h"
#include "fdlayout.h"
#include "ipc_auth.h"
#include "ipc_master.h"
#include "ipc_store.h"
#include "log.h"
#include "pam_auth.h"
#include "privdrop.h"
#include "proctitle.h"
#include "upgrade.h"
#include "verify.h"

void
auth_report(const struct auth_session *s, const char *addr, int ok)
{
	char a[PENALTY_ADDR_MAX];

	if (s->penalties == NULL)
		return;
	/* (a long scoped IPv6 address is cut: its prefix is still a key) */
	if (snprintf(a, sizeof(a), "%s", addr) < 0)
		return;
	if (ipc_send_master_penalty(PENALTY_REPORT_FD, ok, a,
	    s->method != NULL ? s->method : "pass") == -1)
		log_warn("penalty report");
}

/* The answer to a failure leaves at the configured delay after the
 * request arrived, later for an address that keeps failing; the same
 * for every kind of failure, however long its check took.  A failure
 * that is not counted (a method the user's backend cannot serve) waits
 * as long, but does not add to the address's count. */
static void
fail_delay(struct auth_session *s, const char *addr, int counted)
{
	int ms = s->conf->auth_fail_delay_ms, p;

	if (s->penalties != NULL &&
	    !addrlist_match(addr, s->conf->penalty_exempt)) {
		uint32_t n = penalty_fails(s->penalties, addr, time(NULL),
		    s->conf->penalty_forget) + 1;

		p = penalty_delay_ms(n, s->conf->penalty_base_ms,
		    s->conf->penalty_max_ms);
		if (p > ms) {
			ms = p;
			log_info("penalty: addr=%s failures=%u delay=%dms",
			    addr, n, ms);
		}
	}
	if (counted)
		auth_report(s, addr, 0);
	faildelay_wait(&s->arrival, s->conf->auth_fail_delay_ms, ms);
}

static void
answer_fail(struct auth_session *s, uint32_t code)
{
	if (ipc_send_session_auth_fail(s->sock, code) == -1)
		fatal("send auth fail");
}

/* Open the session's store socket: queue STORE_INIT for the worker and
 * hand the other end to the session.  The worker starts in main(). */
static int
prepare_store(struct auth_session *s, const struct pwf_entry *e,
    const char *location)
{
	char index_dir[MAIL_MAX_PATH];
	struct ipc_store_init in;
	int sv[2], delay, expire;

	if (ipc_socketpair(sv) == -1) {
		log_warn("socketpair");
		return -1;
	}
	auth_index_dir(s->conf, e, index_dir, sizeof(index_dir));
	in.user = e->user;
	in.location = location;
	in.locks = (uint32_t)s->conf->mbox_locks;
	in.lock_timeout = (uint32_t)s->conf->mbox_lock_timeout;
	in.dotlock_stale = (uint32_t)s->conf->mbox_dotlock_stale;
	in.index_dir = index_dir;
	in.uidl_format = s->conf->pop3_uidl_format;
	/* RFC 2449: the user's own, by the domain of its canonical name */
	conf_user_policy(s->conf, e->user, &delay, &expire);
	in.login_delay = (uint32_t)delay;
	in.expire = expire == CONF_EXPIRE_NEVER ? EXPIRE_NEVER :
	    (uint32_t)expire;
	in.lock_stale = (uint32_t)s->conf->mail_lock_stale;
	in.lock_node = s->conf->mail_lock_node;
	if (ipc_send_store_init(sv[0], &in) == -1) {
		log_warn("send store init");
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if (ipc_send_session_auth_ok(s->sock, e->user, sv[0]) == -1)
		fatal("send auth ok");
	close(sv[0]);
	s->worker.fd = sv[1];
	s->worker.uid = e->uid;
	s->worker.gid = e->gid;
	s->worker.extra = auth_privileged_group(s->conf, location, e->uid);
	return 0;
}

/* How a credential arrives (the session has already decoded SASL). */
enum method { M_PASS, M_APOP, M_CRAM };
static const char *const method_names[] = { "pass", "apop", "cram-md5" };
static int (*const get_cred[])(struct msg *, const char **,
    const char **) = { ipc_get_auth_login, ipc_get_auth_apop,
    ipc_get_auth_cram };

/* After a verified credential: pick the mailbox and start the worker
 * (inside an open PAM session for system users). */
static void
login_ok(struct auth_session *s, const struct pwf_entry *e, const char *addr,
    enum auth_found via)
{
	char location[MAIL_MAX_PATH];

	/* checked before the password; again as the last word */
	if (e->uid == 0 || (priv_is_root() && e->gid == 0)) {
		log_warnx("login refused: addr=%s user=%s: uid/gid 0", addr,
		    e->user);
		pamb_close();
		answer_fail(s, IPC_ERR_PERM);
		return;
	}
	if (auth_mail_location(s->conf, e, via, location,
	    sizeof(location)) == -1) {
		log_warnx("login refused: addr=%s user=%s: bad mail location",
		    addr, e->user);
		pamb_close();
		answer_fail(s, IPC_ERR_PERM);
		return;
	}
	/* pam_session = no: authentication and account only, and the
	 * worker starts as for a passwd-file user (no process waits) */
	if (via == F_PAM && !s->conf->pam_session)
		pamb_close();
	if (via == F_PAM && s->conf->pam_session && pamb_open_session() == -1) {
		pamb_close();
		answer_fail(s, IPC_ERR_TEMP);
		return;
	}
	if (prepare_store(s, e, location) == -1) {
		answer_fail(s, IPC_ERR_TEMP);
		return;
	}
	/* the store socket is the session's: nothing more is read */
	s->state = AS_DONE;
	snprintf(s->user, sizeof(s->user), "%s", e->user);
	log_info("login: sess=%s addr=%s user=%s via=%s", s->sess_id, addr,
	    e->user,
	    via == F_PAM ? "pam" : "passwd-file");
	auth_report(s, addr, 1);
}

/* Root and system accounts never read mail over POP3: a user below
 * first_valid_uid (uid 0 always is) or with gid 0 is refused before
 * any password check, with the answer and the delay of a wrong
 * password; only the log says why. */
static int
uid_allowed(const struct conf *conf, const struct pwf_entry *e,
    const char *addr)
{
	if (verify_uid_allowed(e->uid, e->gid, conf->first_valid_uid,
	    priv_is_root()))
		return 1;
	if (e->uid == 0 || e->uid < (uid_t)conf->first_valid_uid)
		log_warnx("login refused: addr=%s user=%s: uid %u is below "
		    "first_valid_uid %d", addr, e->user, (unsigned)e->uid,
		    conf->first_valid_uid);
	else
		log_warnx("login refused: addr=%s user=%s: gid 0", addr,
		    e->user);
	return 0;
}

/* A known user whose backend cannot check a credential of this method:
 * PAM checks only passwords, a challenge needs a stored {PLAIN} secret.
 * Such a failure is answered as any other but is no evidence of a
 * wrong password, so it feeds no penalty. */
static int
method_unserved(enum auth_found via, const struct pwf_entry *e,
    enum method how)
{
	if (how == M_PASS || via == F_NONE)
		return 0;
	if (via == F_PAM)
		return 1;
	return e->scheme != PWF_PLAIN && e->scheme != PWF_LOCKED;
}

/* The work of a check that cannot succeed (an unknown user, a refused
 * uid, a method the user's backend cannot serve): what a real check by
 * the same method costs, so the time taken tells none of them apart. */
static void
dummy_check(const struct auth_session *s, enum method how,
    const char *dummy, const char *cred)
{
	static const struct pwf_entry plain = { .scheme = PWF_PLAIN,
	    .secret = "privpop-no-such-secret" };

	if (how == M_APOP)
		(void)verify_apop(&plain, s->stamp, cred);
	else if (how == M_CRAM)
		(void)verify_cram(&plain, s->stamp, cred);
	else
		(void)verify_password(NULL, dummy, cred);
}

/* PASS, APOP and CRAM-MD5 share everything but the check. */
static void
handle_login(struct auth_session *s, struct msg *m, enum method how)
{
	static struct pwf_entry e;
	static char dummy[CONFIG_MAX_LINE];
	char canon[POP3_MAX_USER + 1], user[POP3_MAX_USER + 1];
	const char *userp, *cred, *addr = s->peer;
	enum auth_found via;
	uint32_t code = IPC_ERR_AUTH;
	int ok = 0, counted = 1;

	s->method = method_names[how];
	if (get_cred[how](m, &userp, &cred) == -1)
		fatalx("%s: malformed", msg_name(m->type));
	/* a copy: the message is wiped with the credential in it */
	snprintf(user, sizeof(user), "%s", userp);
	if (++s->attempts > s->conf->max_auth_fails)
		fatalx("too many login attempts");

	via = auth_lookup(s->conf, user, &e, dummy);
	if (via != F_NONE && !uid_allowed(s->conf, &e, addr)) {
		dummy_check(s, how, dummy, cred);
	} else if (method_unserved(via, &e, how)) {
		dummy_check(s, how, dummy, cred);
		counted = 0;
	} else if (via == F_PASSWD_FILE) {
		if (how == M_APOP)
			ok = verify_apop(&e, s->stamp, cred);
		else if (how == M_CRAM)
			ok = verify_cram(&e, s->stamp, cred);
		else
			ok = verify_password(&e, dummy, cred);
		ok = ok && e.scheme != PWF_LOCKED;
		if (ok && how == M_PASS && e.scheme == PWF_CRYPT &&
		    s->conf->passwd_upgrade[0] != '\0' &&
		    upgrade_is_weak(e.secret, s->conf->passwd_upgrade_rounds))
			upgrade_entry(s->conf->passwd_file, e.user, e.secret,
			    cred, s->conf->passwd_upgrade);
	} else if (via == F_PAM) {
		switch (pamb_authenticate(s->conf->pam_service, user, cred,
		    addr, s->conf->pam_timeout, canon, sizeof(canon))) {
		case PAMB_OK:
			/* a module may have mapped the name */
			ok = auth_system_entry(canon, &e) == 0 &&
			    uid_allowed(s->conf, &e, addr);
			break;
		case PAMB_CHANGE:
			/* not IPC_ERR_EXPIRED: that confirmed the password */
			break;
		case PAMB_ERROR:
			code = IPC_ERR_TEMP;
			break;
		case PAMB_FAIL:
			break;
		}
	} else {
		/* unknown: the same work as a wrong password */
		dummy_check(s, how, dummy, cred);
	}
	/* Wipe the password (and the message holding it) now. */
	explicit_bzero(m->data, sizeof(m->data));

	if (ok) {
		login_ok(s, &e, addr, via);
	} else {
		log_info("login failed: sess=%s addr=%s user=%s method=%s%s",
		    s->sess_id, addr, via != F_NONE ? user : "-",
		    method_names[how], counted ?
		    "" : " (no secret for this method; not counted)");
		if (via == F_PAM)
			pamb_close();
		fail_delay(s, addr, counted);
		answer_fail(s, code);
	}
	explicit_bzero(&e, sizeof(e));
}

static void
h_tls_start(struct auth_session *s, struct msg *m)
{
	tlskeys_start(&s->tls, m);
}

static void
h_tls_sign(struct auth_session *s, struct msg *m)
{
	tlskeys_sign(&s->tls, s->sock, m);
}

static void
h_login(struct auth_session *s, struct msg *m)
{
	handle_login(s, m, M_PASS);
}

static void
h_apop(struct auth_session *s, struct msg *m)
{
	handle_login(s, m, M_APOP);
}

static void
h_cram(struct auth_session *s, struct msg *m)
{
	handle_login(s, m, M_CRAM);
}

/* A failed exchange; how says why when it is not a wrong proof. */
static void
scram_fail(struct auth_session *s, const char *user, const char *how)
{
	log_info("login failed: sess=%s addr=%s user=%s "
	    "method=scram-sha-256%s%s", s->sess_id, s->peer,
	    s->scram.via != F_NONE ? user : "-", how, s->scram.unserved ?
	    " (no secret for this method; not counted)" : "");
	if (s->scram.via == F_PAM)
		pamb_close();
	fail_delay(s, s->peer, !s->scram.unserved);
	answer_fail(s, IPC_ERR_AUTH);
	explicit_bzero(&s->scram.st, sizeof(s->scram.st));
	explicit_bzero(&s->scram.e, sizeof(s->scram.e));
	s->state = AS_AUTH;
}

static void
h_scram_first(struct auth_session *s, struct msg *m)
{
	static char dummy[CONFIG_MAX_LINE];
	char out[SCRAM_MSG_MAX];
	unsigned char salt[SCRAM_HASH_LEN];
	struct scram_keys k, *kp = NULL;
	const char *user, *cnonce;
	int gs2_y;

	if (ipc_get_auth_scram_first(m, &gs2_y, &user, &cnonce) == -1)
		fatalx("SCRAM_FIRST: malformed");
	s->method = "scram-sha-256";
	if (++s->attempts > s->conf->max_auth_fails)
		fatalx("too many login attempts");
	memset(&s->scram.st, 0, sizeof(s->scram.st));
	s->scram.via = F_NONE;
	s->scram.refused = s->scram.unserved = 0;
	if (*user == '\0') {		/* the session found it malformed */
		scram_fail(s, "-", "");
		return;
	}
	s->scram.via = auth_lookup(s->conf, user, &s->scram.e, dummy);
	if (s->scram.via != F_NONE &&
	    !uid_allowed(s->conf, &s->scram.e, s->peer))
		s->scram.refused = 1;
	else
		s->scram.unserved = s->scram.via == F_PAM ||
		    (s->scram.via == F_PASSWD_FILE &&
		    s->scram.e.scheme == PWF_CRYPT);
	/* one PBKDF2 on every path, so timing tells no user apart; the
	 * salt of a name without stored keys is the one scram_server_first
	 * answers for it (unknown) or the key's ({PLAIN}) */
	if (scram_fake_salt(user, salt) == -1)
		fatalx("SCRAM: no salt key");
	if (s->scram.refused) {
		scram_derive("privpop", salt, SCRAM_SALT_LEN, SCRAM_ITERATIONS,
		    &k);
	} else if (s->scram.via == F_PASSWD_FILE &&
	    s->scram.e.scheme == PWF_PLAIN) {
		if (scram_derive(s->scram.e.secret, salt, SCRAM_SALT_LEN,
		    SCRAM_ITERATIONS, &k) == 0)
			kp = &k;
	} else {
		scram_derive("privpop", salt, SCRAM_SALT_LEN, SCRAM_ITERATIONS,
		    &k);
		if (s->scram.via == F_PASSWD_FILE &&
		    s->scram.e.scheme == PWF_SCRAM &&
		    scram_parse_stored(s->scram.e.secret, &k) == 0)
			kp = &k;
	}
	if (scram_server_first(&s->scram.st, gs2_y, user, cnonce, kp, out,
	    sizeof(out)) == -1) {
		scram_fail(s, user, "");
		return;
	}
	explicit_bzero(&k, sizeof(k));
	if (ipc_send_session_sasl_challenge(s->sock, out) == -1)
		fatal("send challenge");
	s->state = AS_SCRAM;	/* its final is due */
}

static void
h_scram_final(struct auth_session *s, struct msg *m)
{
	char out[SCRAM_MSG_MAX], user[POP3_MAX_USER + 1];
	const unsigned char *proof;
	int kind;

	if (ipc_get_auth_scram_final(m, &kind, &proof) == -1)
		fatalx("SCRAM_FINAL: malformed");
	snprintf(user, sizeof(user), "%s", s->scram.st.user);
	/* the client cancelled after it saw the salt: as much a failure
	 * as a wrong proof (else a free probe) */
	if (kind == SCRAM_FINAL_CANCELLED) {
		scram_fail(s, user, " (cancelled)");
		return;
	}
	if (!scram_server_final(&s->scram.st, proof, out, sizeof(out)) ||
	    s->scram.via != F_PASSWD_FILE || s->scram.e.scheme == PWF_LOCKED ||
	    s->scram.refused) {
		scram_fail(s, user, "");
		return;
	}
	/* RFC 5034: the server-final goes as one more challenge */
	if (ipc_send_session_sasl_challenge(s->sock, out) == -1)
		fatal("send challenge");
	/* the exchange is over, whatever login_ok makes of it */
	s->state = AS_AUTH;
	login_ok(s, &s->scram.e, s->peer, s->scram.via);
	explicit_bzero(&s->scram.st, sizeof(s->scram.st));
	explicit_bzero(&s->scram.e, sizeof(s->scram.e));
}

/* An exchange left after the salt was sent (another request, or the
 * session's end): counted as the failure it is, so a client cannot
 * probe names for free.  The session child cancels through
 * SCRAM_FINAL "*" and waits; this is for one that does not. */
static void
scram_abandoned(struct auth_session *s)
{
	if (s->state != AS_SCRAM)
		return;
	log_info("login failed: sess=%s addr=%s user=%s "
	    "method=scram-sha-256 (abandoned)", s->sess_id, s->peer,
	    s->scram.via != F_NONE ? s->scram.st.user : "-");
	if (!s->scram.unserved)
		auth_report(s, s->peer, 0);
	if (s->scram.via == F_PAM)
		pamb_close();
	explicit_bzero(&s->scram.st, sizeof(s->scram.st));
	explicit_bzero(&s->scram.e, sizeof(s->scram.e));
	s->state = AS_AUTH;
}

/*
 * The slot's first message: the client's socket, sent before it read a
 * byte of it, so before anything could have taken the session child
 * over.  The address is the kernel's; taken once, first, and only in
 * a form the log and the address lists can carry.
 */
static void
h_peer(struct auth_session *s, struct msg *m)
{
	int fd, r;

	if (ipc_get_auth_peer(m, &fd) == -1)
		fatalx("AUTH_PEER: malformed");
	/* a client that reset its connection already (HAProxy ends its
	 * health checks so) has nothing left to serve: not an error */
	if ((r = peer_addr_of(fd, s->peer, sizeof(s->peer))) == PEER_GONE) {
		log_debug("AUTH_PEER: the client reset its connection before "
		    "its address was read");
		_exit(0);
	}
	if (r == -1 || !peer_addr_valid(s->peer))
		fatalx("AUTH_PEER: the client's address cannot be read");
	close(fd);
	proctitle_auth(s->conf->verbose_proctitle, s->peer);
	/* a balancer's connection: the client it names comes next */
	s->state = s->conf->haproxy_trusted_networks[0] != '\0' &&
	    addrlist_match(s->peer, s->conf->haproxy_trusted_networks) ?
	    AS_PROXY : AS_AUTH;
}

/*
 * The PROXY header of a connection from haproxy_trusted_networks, as the
 * slot parsed it before the greeting (daemon/session/proxy_proto.c):
 * taken only from a peer the kernel says is a trusted balancer, once,
 * before anything else, and only in peeraddr.h's form (the get checks
 * it).  The session child cannot have been taken over by a client
 * byte yet: the header is the balancer's.  From here on the client's
 * address is the one every check, log line and report uses, and the
 * master learns it from this helper, never from the slot.
 */
static void
h_proxy(struct auth_session *s, struct msg *m)
{
	struct ipc_proxy p;

	if (ipc_get_auth_proxy(m, &p) == -1)
		fatalx("AUTH_PROXY: malformed");
	if (p.local) {		/* the balancer's own (a health check) */
		log_debug("haproxy: %s: a LOCAL connection of the balancer",
		    s->peer);
		return;
	}
	snprintf(s->balancer, sizeof(s->balancer), "%s", s->peer);
	snprintf(s->peer, sizeof(s->peer), "%s", p.src);
	log_info("haproxy: %s is client %s port %u%s", s->balancer, s->peer,
	    (unsigned)p.src_port, p.ssl ? " (TLS to the balancer)" : "");
	if (s->report != -1 && ipc_send_master_peer(s->report, s->peer) == -1)
		log_warn("client address report to the master");
	proctitle_auth(s->conf->verbose_proctitle, s->peer);
}


/* ------------------------------------------------------------------ */

#define S(st)		(1u << (st))
#define AP_ONCE		0x1	/* allowed once per session */
#define AP_ABANDON	0x2	/* ends an unfinished SCRAM exchange first */
#define AS_SAME		(-1)	/* next: the state stays as it was */
#define AS_HANDLER	(-2)	/* next: the handler sets it */

/*
 * The permit table: the only requests a session child may send, in
 * which states, and what follows.  A request outside it, in another
 * state, a second time where AP_ONCE, before its after has been
 * served, or for a mechanism the HELLO did not offer ends the helper
 * (auth_dispatch).  The refusals keep the words the log has always
 * used: again (a second one), early (before after), other (another
 * state; NULL: the state's own words).
 */
static const struct auth_permit {
	uint32_t	 type;
	unsigned	 states;
	int		 flags;
	uint32_t	 after;	/* served before it, or MSG_NONE */
	int		 mechs;	/* one of them offered (0: any) */
	int		 next;	/* enum auth_state, AS_SAME, AS_HANDLER */
	const char	*again, *early, *other;
	void		(*fn)(struct auth_session *, struct msg *);
} permits[] = {
	/* the kernel's word on the client's address, first and once */
	{ MSG_AUTH_PEER, S(AS_PEER), AP_ONCE, MSG_NONE, 0, AS_HANDLER,
	    "AUTH_PEER after the client's socket", NULL,
	    "AUTH_PEER after the client's socket", h_peer },
	/* a trusted balancer's PROXY header, next and once (AS_PROXY only
	 * when the peer is in haproxy_trusted_networks) */
	{ MSG_AUTH_PROXY, S(AS_PROXY), AP_ONCE, MSG_NONE, 0, AS_AUTH,
	    "AUTH_PROXY a second time", NULL,
	    "AUTH_PROXY from a peer that is not a trusted balancer", h_proxy },
	/* a login: AS_DONE if it succeeds (login_ok), else AS_AUTH */
	{ MSG_AUTH_LOGIN, S(AS_AUTH) | S(AS_SCRAM), AP_ABANDON, MSG_NONE,
	    AUTH_MECH_PASSWORD, AS_HANDLER, NULL, NULL, NULL, h_login },
	{ MSG_AUTH_APOP, S(AS_AUTH) | S(AS_SCRAM), AP_ABANDON, MSG_NONE,
	    AUTH_MECH_APOP, AS_HANDLER, NULL, NULL, NULL, h_apop },
	{ MSG_AUTH_CRAM, S(AS_AUTH) | S(AS_SCRAM), AP_ABANDON, MSG_NONE,
	    AUTH_MECH_CRAM_MD5, AS_HANDLER, NULL, NULL, NULL, h_cram },
	/* AS_SCRAM once the challenge is sent, else AS_AUTH */
	{ MSG_AUTH_SCRAM_FIRST, S(AS_AUTH) | S(AS_SCRAM), AP_ABANDON,
	    MSG_NONE, AUTH_MECH_SCRAM, AS_HANDLER, NULL, NULL, NULL,
	    h_scram_first },
	/* AS_DONE if the proof is right, else AS_AUTH */
	{ MSG_AUTH_SCRAM_FINAL, S(AS_SCRAM), 0, MSG_NONE, AUTH_MECH_SCRAM,
	    AS_HANDLER, NULL, NULL, "SCRAM_FINAL before SCRAM_FIRST",
	    h_scram_final },
	/* beside the login, even within a SCRAM exchange: one handshake,
	 * one signature (TLS_MAX_SIGNS) */
	{ MSG_AUTH_TLS_START, S(AS_AUTH) | S(AS_SCRAM), AP_ONCE, MSG_NONE,
	    0, AS_SAME, "TLS_START: TLS already started on this connection",
	    NULL, NULL, h_tls_start },
	{ MSG_AUTH_TLS_SIGN, S(AS_AUTH) | S(AS_SCRAM), AP_ONCE,
	    MSG_AUTH_TLS_START, 0, AS_SAME,
	    "TLS_SIGN: a second signature on this connection",
	    "TLS_SIGN: signature before TLS started", NULL, h_tls_sign },
};

/* What a state says of any request it has no row for: NULL where the
 * table's own words serve ("unexpected message"). */
static const char *const state_refusal[AS_COUNT] = {
	[AS_PEER] = "before the client's socket",
	[AS_PROXY] = "before the balancer's PROXY header",
	[AS_DONE] = "after the login",
};

void
auth_session_init(struct auth_session *s, const struct conf *conf,
    const struct penalty_table *penalties, int sock)
{
	memset(s, 0, sizeof(*s));
	s->conf = conf;
	s->penalties = penalties;
	s->sock = sock;
	s->state = AS_PEER;
	s->report = -1;
	s->worker.fd = -1;
	s->worker.extra = PRIV_NO_GROUP;
}

static const struct auth_permit *
permit_find(const struct auth_session *s, uint32_t type, char *why,
    size_t whylen)
{
	const struct auth_permit *p = NULL;
	size_t i;

	for (i = 0; i < sizeof(permits) / sizeof(permits[0]); i++)
		if (permits[i].type == type)
			p = &permits[i];
	/* the address first: nothing is answered without it */
	if (state_refusal[s->state] != NULL &&
	    (p == NULL || !(p->states & S(s->state)))) {
		snprintf(why, whylen, "%s %s", msg_name(type),
		    state_refusal[s->state]);
		return NULL;
	}
	/* only login requests, and only until one succeeds */
	if (p == NULL) {
		snprintf(why, whylen, "unexpected message %s", msg_name(type));
		return NULL;
	}
	if (p->mechs != 0 && !(s->offer & p->mechs)) {
		snprintf(why, whylen, "%s: mechanism not offered",
		    msg_name(type));
		return NULL;
	}
	if (!(p->states & S(s->state))) {
		if (p->other != NULL)
			snprintf(why, whylen, "%s", p->other);
		else
			snprintf(why, whylen, "unexpected message %s",
			    msg_name(type));
		return NULL;
	}
	if (p->after != MSG_NONE && s->served[p->after] == 0) {
		snprintf(why, whylen, "%s", p->early);
		return NULL;
	}
	if ((p->flags & AP_ONCE) && s->served[type] > 0) {
		snprintf(why, whylen, "%s", p->again);
		return NULL;
	}
	return p;
}

int
auth_permit(const struct auth_session *s, uint32_t type, char *why,
    size_t whylen)
{
	return permit_find(s, type, why, whylen) != NULL ? 0 : -1;
}

void
auth_dispatch(struct auth_session *s, struct msg *m)
{
	const struct auth_permit *p;
	char why[128];

	if ((p = permit_find(s, m->type, why, sizeof(why))) == NULL)
		fatalx("%s", why);
	s->served[m->type]++;
	/* a password attempt abandons a SCRAM exchange */
	if (p->flags & AP_ABANDON)
		scram_abandoned(s);
	p->fn(s, m);
	if (p->next >= 0)
		s->state = (enum auth_state)p->next;
}

void
auth_serve(struct auth_session *s)
{
	struct msg m;
	int r;

	while (s->state != AS_DONE) {
		r = ipc_recv(s->sock, &m);
		/* _exit: nothing to flush, and OpenSSL's exit-time cleanup
		 * of a forked helper is pure cost */
		if (r == 0) {
			scram_abandoned(s);
			_exit(0);	/* the session ended */
		}
		if (r == -1 && errno == EPROTO && m.type != MSG_NONE)
			fatalx("%s: malformed", msg_name(m.type));
		if (r == -1)
			fatal("ipc receive");
		if (clock_gettime(CLOCK_MONOTONIC, &s->arrival) == -1)
			fatal("clock_gettime");
		auth_dispatch(s, &m);
	}
}
