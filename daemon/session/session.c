/*
 * The POP3 state machine (RFC 1939, RFC 2449 CAPA and response codes,
 * RFC 3206 [SYS/TEMP], [SYS/PERM] and [AUTH]).  Runs unprivileged in a chroot; it can
 * neither check a password nor read mail: it asks privpop-auth and
 * privpop-store over IPC and relays their answers.
 *
 * Runs as: privpop, in the session child (chrooted, no privilege).
 */
#include "config.h"

#include <sys/mman.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "base64.h"
#include "client.h"
#include "ipc.h"
#include "ipc_auth.h"
#include "ipc_master.h"
#include "ipc_store.h"
#include "lang.h"
#include "log.h"
#include "numparse.h"
#include "addrlist.h"
#include "penalty.h"
#include "pop3_parse.h"
#include "proctitle.h"
#include "saslprep.h"
#include "session.h"
#include "scram_msg.h"
#include "session_store.h"
#include "tls_conn.h"
#include "transcript.h"
#include "utf8.h"

enum pop3_state { S_AUTH = 1, S_TRANS = 2 };

struct session {
	const struct conf	*conf;
	const struct session_hello *hello;
	struct client		 cl;
	int			 auth_sock;
	struct store_link	 st;		/* to privpop-store */
	enum pop3_state		 state;
	char			 id[SESSION_ID_LEN + 1];
	char			 addr[PEER_ADDR_MAX];
	char			 user[POP3_MAX_USER + 1];	/* after USER */
	char			 login[POP3_MAX_USER + 1];	/* after auth */
	int			 have_user;
	int			 auth_fails;
	SSL_CTX			*tls_ctx;	/* NULL: no TLS configured */
	const char		*auth_result;	/* none, ok, fail */
	unsigned		 retr_n;
	unsigned long long	 retr_b;
	unsigned		 dele_n;
	unsigned long long	 dele_b;
	unsigned		 expunged;
	uint32_t		 last_n;	/* LAST: highest RETR'd or DELE'd */
	uint32_t		 total_n;	/* the login's messages */
	uint64_t		 total_b;	/* and octets (STAT: less DELE's) */
	struct timespec		 start;
	int			 utf8;		/* RFC 6856 UTF8 given */
	unsigned		 lines;		/* command lines read */
};

static struct session s;
static int master_fd = -1;	/* the slot's socket (slot.c): reports */

/* What this session did, for the master's counters: st[] counts since
 * the start (the bytes are the client's, copied at each report),
 * st_sent[] what the master has been told; a report sends the
 * difference (stats_report). */
static uint64_t st[SST_COUNT], st_sent[SST_COUNT];
static long long st_sent_ms;	/* the last report (0: none yet) */

#define IMPLEMENTATION	"privpop " PACKAGE_VERSION

/*
 * Tell the master what changed since the last report
 * (MSG_MASTER_SESSION_STATS, deltas): when the client is about to be
 * waited for, at most once every SESSION_REPORT_INTERVAL_MS (a change
 * within it is reported when it ends, by a wakeup of the wait, so an
 * idle session's figures are never older than that), and at the end
 * (final), whatever the interval.  The socket is non-blocking: a full
 * one (a master that is behind) keeps the deltas for later; at the
 * end they are lost, which costs a counter, never a session.
 */
static void
stats_report(int final)
{
	uint64_t d[SST_COUNT];
	long long now;
	size_t k;
	int any = 0;

	s.cl.report_ms = 0;
	if (master_fd == -1)
		return;
	st[SST_BYTES_IN] = s.cl.octets_in;
	st[SST_BYTES_OUT] = s.cl.octets_out;
	for (k = 0; k < SST_COUNT; k++)
		any |= (d[k] = st[k] - st_sent[k]) != 0;
	if (!any)
		return;
	now = client_now_ms();
	if (!final && st_sent_ms != 0 &&
	    now - st_sent_ms < SESSION_REPORT_INTERVAL_MS) {
		s.cl.report_ms = st_sent_ms + SESSION_REPORT_INTERVAL_MS;
		return;
	}
	if (ipc_send_master_session_stats(master_fd, d) == -1) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			s.cl.report_ms = now + SESSION_REPORT_INTERVAL_MS;
		else {
			close(master_fd);	/* the master is gone */
			master_fd = -1;
		}
		return;
	}
	memcpy(st_sent, st, sizeof(st_sent));
	st_sent_ms = now;
}

static void
stats_report_hook(struct client *c)
{
	(void)c;
	stats_report(0);
}

/* The error answers an admin counts ([SYS/TEMP], [SYS/PERM], [IN-USE]),
 * from a line about to go out: fmt itself, or its one "%s" argument. */
static void
stats_reply(const char *fmt, va_list ap)
{
	const char *line = fmt;
	va_list aq;

	if (fmt[0] != '-' && strcmp(fmt, "%s") != 0)
		return;
	if (fmt[0] != '-') {
		va_copy(aq, ap);
		line = va_arg(aq, const char *);
		va_end(aq);
	}
	if (strncmp(line, "-ERR [SYS/TEMP]", 15) == 0)
		st[SST_ERR_SYS_TEMP]++;
	else if (strncmp(line, "-ERR [SYS/PERM]", 15) == 0)
		st[SST_ERR_SYS_PERM]++;
	else if (strncmp(line, "-ERR [IN-USE]", 13) == 0)
		st[SST_ERR_IN_USE]++;
}

void
session_end(const char *how)
{
	struct timespec now;
	double dur;
	char tls[96], summary[POP3_MAX_USER + 2 * PEER_ADDR_MAX + 256];

	client_flush(&s.cl);
	tls_close(&s.cl);
	clock_gettime(CLOCK_MONOTONIC, &now);
	dur = (double)(now.tv_sec - s.start.tv_sec) +
	    (double)(now.tv_nsec - s.start.tv_nsec) / 1e9;
	/* The classic "addr user msgs octets duration outcome" facts, as
	 * key=value (style guide 5); never a password. */
	tls_describe(&s.cl, tls, sizeof(tls));
	snprintf(summary, sizeof(summary), "sess=%s addr=%s user=%s auth=%s "
	    "tls=%s retr=%u/%llu ahead=%u dele=%u/%llu expunged=%u end=%s "
	    "dur=%.3fs", s.id, s.addr, s.login[0] ? s.login : "-",
	    s.auth_result, tls, s.retr_n, s.retr_b, s.st.ahead_used, s.dele_n,
	    s.dele_b, s.expunged, how, dur);
	log_info("%s", summary);
	transcript_summary(summary);
	stats_report(1);
	/* _exit: no stdio to flush; freeing the heap at exit would only
	 * copy pages shared with the master */
	_exit(strcmp(how, "error") == 0 ? 1 : 0);
}

void
session_end_io(void)
{
	const char *how = "error";

	if (errno == EPIPE || errno == ECONNRESET)
		how = "disconnect";
	else if (errno == ETIMEDOUT) {
		st[SST_TIMEOUTS]++;
		how = client_expired(&s.cl) ? "login-timeout" : "timeout";
	}
	client_discard_output(&s.cl);
	session_end(how);
}

static void
out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* One answer line as formatted (the transcript's and the client's). */
static void
emit_v(const char *fmt, va_list ap)
{
	if (transcript_active) {
		char line[POP3_MAX_LINE + 1];
		va_list aq;
		int n;

		va_copy(aq, ap);
		n = vsnprintf(line, sizeof(line), fmt, aq);
		va_end(aq);
		if (n >= 0)
			transcript_reply(line, strlen(line));
	}
	if (client_vprintf(&s.cl, fmt, ap) == -1 ||
	    client_write(&s.cl, "\r\n", 2) == -1)
		session_end_io();
}

static void
emit(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	emit_v(fmt, ap);
	va_end(ap);
}

/* An answer in the language LANG chose (lang.c: the text after +OK or
 * -ERR and its response code; a translation has the very conversions
 * of the English format, checked when its catalog was read). */
static void
vout(const char *fmt, va_list ap)
{
	va_list aq;
	const char *line;

	stats_reply(fmt, ap);
	if (strcmp(fmt, "%s") == 0) {
		va_copy(aq, ap);
		line = va_arg(aq, const char *);
		va_end(aq);
		emit("%s", lang_line(line));
		return;
	}
	emit_v(lang_format(fmt), ap);
}

static void
out(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vout(fmt, ap);
	va_end(ap);
}

/* The same, for session_store.c. */
void
session_out(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vout(fmt, ap);
	va_end(ap);
}

void
session_set_master(int fd)
{
	master_fd = fd;
}

/* A balancer's PROXY v2 header said its client used TLS to it: that
 * counts as TLS for plaintext_auth (the balancer is trusted to say so:
 * haproxy_trusted_networks). */
static int proxy_tls;

void
session_set_proxy_tls(int on)
{
	proxy_tls = on;
}

/*
 * A PROXY header at the start of a connection from an address that is
 * not in haproxy_trusted_networks: a balancer privpop was not told
 * about, or a client pretending to be one.  v1 is a first line
 * "PROXY ..."; v2's signature reads as two empty lines and a NUL (then
 * its own QUIT).  Refused, with a log line that says what to change.
 */
static int
untrusted_proxy_header(const char *line, size_t len)
{
	static unsigned empty;

	if (s.lines > 3)
		return 0;
	if (s.lines == 1 && len >= 6 && memcmp(line, "PROXY ", 6) == 0)
		return 1;
	if (len == 0 && s.lines == empty + 1) {
		empty++;
		return 0;
	}
	return empty == 2 && s.lines == 3 && len == 1 && line[0] == '\0';
}

/* Logged in: RFC 1939's autologout timer from now on.  The master
 * learns of the login from privpop-auth, not from here. */
static void
preauth_over(void)
{
	s.cl.timeout_ms = s.conf->timeout * 1000;
	s.cl.deadline_ms = 0;
}

/*
 * Test builds only (--enable-test-hooks): PRIVPOP_TEST_FALSE_LOGIN_CLAIM=1
 * makes this session do what one taken over before login could: claim
 * a login to the master on the slot's socket and, never logging in,
 * keep only the logged-in idle timer (e2e preauth_false_login_claim_*).
 */
static void
test_false_login_claim(void)
{
#ifdef PRIVPOP_TEST_HOOKS
	const char *v = getenv("PRIVPOP_TEST_FALSE_LOGIN_CLAIM");

	if (v == NULL || strcmp(v, "1") != 0 || master_fd == -1)
		return;
	/* well-formed, as a hijacked session would make it */
	if (ipc_send_master_login(master_fd, "alice", "0123456789abcdef",
	    0) == -1)
		log_warn("sess=%s: test hook: login claim", s.id);
	s.cl.timeout_ms = s.conf->timeout * 1000;
	s.cl.deadline_ms = 0;
#endif
}

/*
 * Test builds only: PRIVPOP_TEST_STATS_LIE makes this session lie in its
 * reports as one taken over could: "1" one report of UINT64_MAX in
 * every field (the master clamps it), "flood" more reports at once
 * than a session ever sends (the master ends it).  e2e
 * ctl_stats_lying_session.
 */
static void
test_stats_lie(void)
{
#ifdef PRIVPOP_TEST_HOOKS
	const char *v = getenv("PRIVPOP_TEST_STATS_LIE");
	uint64_t d[SST_COUNT];
	int i, n;

	if (v == NULL || master_fd == -1)
		return;
	n = strcmp(v, "1") == 0 ? 1 : strcmp(v, "flood") == 0 ?
	    4 * SLOT_REPORTS_PER_SECOND : 0;
	memset(d, 0xff, sizeof(d));
	for (i = 0; i < n; i++)
		if (ipc_send_master_session_stats(master_fd, d) == -1)
			log_warn("sess=%s: test hook: stats lie", s.id);
#endif
}

/* A TLS handshake (implicit or STLS) within tls_handshake_timeout, and
 * within the login deadline. */
static int
tls_start(char *err, size_t errlen)
{
	long long saved = s.cl.deadline_ms, end;
	int r;

	end = client_now_ms() + (long long)s.conf->tls_handshake_timeout *
	    1000;
	if (saved == 0 || end < saved)
		s.cl.deadline_ms = end;
	r = tls_accept(&s.cl, s.tls_ctx, err, errlen);
	s.cl.deadline_ms = saved;
	return r;
}

/* The client took too long: a line, the login, or after login the
 * autologout timer. */
__attribute__((noreturn))
static void
timed_out(void)
{
	st[SST_TIMEOUTS]++;
	if (client_expired(&s.cl)) {
		out("-ERR Autologout; login took too long.");
		session_end("login-timeout");
	}
	out("-ERR Autologout; idle for too long.");
	session_end("timeout");
}

/* ------------------------------------------------------------------ */
/* Commands */

/* Parse an optional or required message number argument.  Returns 1
 * with *n set, 0 when absent (and allowed), -1 after answering. */
static int
arg_msgno(struct pop3_cmd *c, int idx, uint32_t *n)
{
	size_t i;

	if (idx >= c->nargs)
		return 0;
	if (pop3_msgno(c->arg[idx], c->arglen[idx], n) == 0)
		return 1;
	for (i = 0; i < c->arglen[idx]; i++)
		if (c->arg[idx][i] < '0' || c->arg[idx][i] > '9') {
			out("-ERR Invalid message number.");
			return -1;
		}
	out("-ERR No such message.");	/* 0 or too large */
	return -1;
}

static int
need_args(struct pop3_cmd *c, int min, int max)
{
	enum pop3_parse r;

	if ((r = pop3_split_args(c, min, max)) == P_OK)
		return 0;
	st[SST_PROTOCOL_ERRORS]++;
	switch (r) {
	case P_MISSING:
		out("-ERR Missing argument.");
		return -1;
	case P_TOOMANY:
		out("-ERR Too many arguments.");
		return -1;
	default:
		out("-ERR Invalid arguments.");
		return -1;
	}
}

/* RFC 8314: a password travels in the clear only inside TLS, or from a
 * trusted network (loopback by default). */
static int
plaintext_ok(void)
{
	return s.cl.ssl != NULL || proxy_tls || s.conf->plaintext_always ||
	    strcmp(s.addr, PEER_LOCAL) == 0 ||
	    addrlist_match(s.addr, s.conf->trusted_networks);
}

/* APOP and CRAM-MD5 send no password, but one exchange seen on the
 * wire (the challenge and its MD5 answer) lets the eavesdropper try
 * passwords offline at MD5 speed: by default they follow the rule for
 * plaintext passwords (md5_auth = tls-only). */
static int
md5_ok(void)
{
	return s.conf->md5_always || plaintext_ok();
}

static void
plaintext_refused(void)
{
	out(s.tls_ctx != NULL ?
	    "-ERR [AUTH] Plaintext authentication disallowed on non-secure "
	    "connections; use STLS first." :
	    "-ERR [AUTH] Plaintext authentication disallowed on non-secure "
	    "connections; connect with TLS.");
}

static void
md5_refused(void)
{
	out(s.tls_ctx != NULL ?
	    "-ERR [AUTH] APOP and CRAM-MD5 disallowed on non-secure "
	    "connections; use STLS first." :
	    "-ERR [AUTH] APOP and CRAM-MD5 disallowed on non-secure "
	    "connections; connect with TLS.");
}

/* Whether mechanism m (AUTH_MECH_*) is offered.  privpop-auth decided
 * it (auth_mechanisms, or what every backend can serve for every user)
 * and said so in its HELLO; this process only follows. */
static int
offered(int m)
{
	return (s.hello->flags & (uint32_t)m) != 0;
}

/* What privpop-auth offers, and what this connection allows. */
static const char *
sasl_mechs(void)
{
	static char list[64];

	snprintf(list, sizeof(list), "%s%s%s%s",
	    plaintext_ok() && offered(AUTH_MECH_PLAIN) ? "PLAIN " : "",
	    plaintext_ok() && offered(AUTH_MECH_LOGIN) ? "LOGIN " : "",
	    md5_ok() && offered(AUTH_MECH_CRAM_MD5) ? "CRAM-MD5 " : "",
	    offered(AUTH_MECH_SCRAM) ? "SCRAM-SHA-256 " : "");
	if (list[0] != '\0')
		list[strlen(list) - 1] = '\0';
	return list;
}

/* RFC 2449 LOGIN-DELAY and EXPIRE: before login the site's values,
 * with USER where a domain has its own; after, the user's, as
 * privpop-auth decided them for the worker from the same
 * configuration and name (common/conf.c). */
static void
capa_policy(void)
{
	int delay, delay_user, expire, expire_user;

	if (s.state == S_AUTH)
		conf_capa_policy(s.conf, &delay, &delay_user, &expire,
		    &expire_user);
	else {
		conf_user_policy(s.conf, s.login, &delay, &expire);
		delay_user = expire_user = 0;
	}
	if (delay > 0 || delay_user)
		out("LOGIN-DELAY %d%s", delay, delay_user ? " USER" : "");
	if (expire == CONF_EXPIRE_NEVER)
		out("EXPIRE NEVER");
	else
		out("EXPIRE %d%s", expire, expire_user ? " USER" : "");
}

static void
cmd_capa(struct pop3_cmd *c)
{
	if (need_args(c, 0, 0) == -1)
		return;
	out("+OK Capability list follows");
	transcript_listing();
	out("TOP");
	if (s.state == S_AUTH && plaintext_ok() && offered(AUTH_MECH_USER))
		out("USER");
	if (s.state == S_AUTH && s.tls_ctx != NULL && s.cl.ssl == NULL)
		out("STLS");
	if (s.state == S_AUTH && sasl_mechs()[0] != '\0')
		out("SASL %s", sasl_mechs());
	out("UIDL");
	out("RESP-CODES");
	capa_policy();
	out("PIPELINING");
	out("AUTH-RESP-CODE");
	/* RFC 6856: UTF-8 names and passwords in USER and PASS */
	out(s.state == S_AUTH && plaintext_ok() && offered(AUTH_MECH_USER) ?
	    "UTF8 USER" : "UTF8");
	out("LANG");
	out("IMPLEMENTATION %s", IMPLEMENTATION);
	out(".");
}

static void
cmd_quit(struct pop3_cmd *c)
{
	uint32_t n;
	uint64_t unused;

	if (need_args(c, 0, 0) == -1)
		return;
	if (s.state == S_AUTH) {
		out("+OK privpop signing off.");
		session_end("quit");
	}
	/* UPDATE state: the worker expunges now. */
	proctitle_session(s.conf->verbose_proctitle, s.login, s.addr,
	    "UPDATE", s.cl.ssl != NULL);
	store_request(&s.st, MSG_STORE_QUIT, 0, 0);
	s.st.lock_wait = 1;
	if (store_answer(&s.st, &n, &unused, NULL, 0) == -1) {
		/* err_text already told the client */
		session_end("quit-error");
	}
	s.expunged = n;
	if (n > 0) {
		st[SST_EXPUNGES]++;
		st[SST_EXPUNGED] += n;
	}
	out("+OK Logging out, %u message%s deleted.", n, n == 1 ? "" : "s");
	session_end("quit");
}

static void
cmd_noop(struct pop3_cmd *c)
{
	if (need_args(c, 0, 0) == -1)
		return;
	out("+OK");
}

/*
 * RFC 6856 section 2.2: the n bytes at p, a user name, into dst (cap
 * bytes).  Printable ASCII as before; UTF-8 only where allowed (after
 * UTF8; in SASL, whose strings are UTF-8), strict (utf8.c) and
 * SASLprep'd (saslprep.c) before privpop-auth sees it.  -1 if refused.
 */
static int
take_user(char *dst, size_t cap, const char *p, size_t n, int allowed)
{
	if (n >= cap || memchr(p, '\0', n) != NULL)
		return -1;
	if (dst != p)
		memcpy(dst, p, n);
	dst[n] = '\0';
	if (utf8_is_ascii(dst, n))
		return 0;
	if (!allowed || saslprep_query(dst, cap) == -1 ||
	    !utf8_valid(dst, strlen(dst), UTF8_NO_SPACE)) {
		explicit_bzero(dst, cap);	/* perhaps a password */
		return -1;
	}
	return 0;
}

/* The same for a password (in place, cap bytes): SASLprep'd after
 * UTF8 (refused if it is not UTF-8 then); before it, the bytes as
 * they came, for the 8-bit passwords of older systems (strict: in
 * SASL too, as RFC 4616 asks, when UTF8 was given). */
static int
take_pass(char *pass, size_t cap, int sasl)
{
	if (utf8_is_ascii(pass, strlen(pass)))
		return 0;
	if (s.utf8)
		return saslprep_query(pass, cap);
	if (sasl && utf8_valid(pass, strlen(pass), 0))
		(void)saslprep_query(pass, cap);	/* else: as it came */
	return 0;
}

/* RFC 6856 UTF8: UTF-8 user names and passwords from now on; mail is
 * served as it is stored (with UTF-8 headers or not) in either case. */
static void
cmd_utf8(struct pop3_cmd *c)
{
	if (need_args(c, 0, 0) == -1)
		return;
	s.utf8 = 1;
	out("+OK UTF8 enabled.");
}

/* RFC 6856 LANG: list the languages, or choose one (lang.c). */
static void
cmd_lang(struct pop3_cmd *c)
{
	size_t i;

	if (need_args(c, 0, 1) == -1)
		return;
	if (c->nargs == 0) {
		out("+OK Language listing follows:");
		transcript_listing();
		for (i = 0; i < lang_count(); i++)
			out("%s %s", lang_tag(i), lang_name(i));
		out(".");
		return;
	}
	if (lang_select(c->arg[0], c->arglen[0]) == -1) {
		out("-ERR Unsupported language.");
		return;
	}
	out("+OK %s Language changed.", lang_current());
}

static void
cmd_user(struct pop3_cmd *c)
{
	/* The user name is the whole rest of the line (it may not hold
	 * spaces, but report that as an invalid name). */
	s.have_user = 0;
	if (!offered(AUTH_MECH_USER)) {
		out("-ERR USER not available.");
		return;
	}
	if (!plaintext_ok()) {
		plaintext_refused();
		return;
	}
	if (c->restlen == 0) {
		out("-ERR Missing user name.");
		return;
	}
	if (c->restlen > POP3_MAX_USER || memchr(c->rest, ' ', c->restlen) ||
	    take_user(s.user, sizeof(s.user), c->rest, c->restlen,
	    s.utf8) == -1) {
		out("-ERR Invalid user name.");
		return;
	}
	s.have_user = 1;
	out("+OK");
}

static void auth_recv(struct msg *);
static void login_answer(struct msg *);
static void login_answer_as(struct msg *, const char *);

/* Ask privpop-auth with send (ipc_send_auth_login, _apop or _cram,
 * which wipe the credential they sent); on success wait for the worker
 * to open the box. */
static void
do_login(int (*send)(int, const char *, const char *), const char *user,
    const char *cred)
{
	struct msg m;

	if (send(s.auth_sock, user, cred) == -1) {
		out("-ERR [SYS/TEMP] Authentication service unavailable.");
		session_end("error");
	}
	auth_recv(&m);
	login_answer(&m);
}

/* The next message from privpop-auth; its loss ends the session. */
static void
auth_recv(struct msg *m)
{
	if (ipc_recv(s.auth_sock, m) != 1) {
		out("-ERR [SYS/TEMP] Authentication service unavailable.");
		session_end("error");
	}
}

/* privpop-auth's verdict (AUTH_FAIL, or AUTH_OK with the worker's
 * socket), then the worker's READY: answer the client.  Consumes *m,
 * which is reused for the READY (no 16 kB copy on a fresh stack). */
static void
login_answer(struct msg *m)
{
	login_answer_as(m, NULL);
}

/* The same, with text (if not NULL) as the answer to a failure. */
static void
login_answer_as(struct msg *m, const char *text)
{
	uint32_t code, count;
	uint64_t octets;
	const char *login;

	if (m->type == MSG_SESSION_AUTH_FAIL) {
		if (ipc_get_session_auth_fail(m, &code) == -1)
			fatalx("AUTH_FAIL malformed");
		s.auth_result = "fail";
		out("%s", text != NULL ? text : store_err_text(code));
		if ((code == IPC_ERR_AUTH || code == IPC_ERR_EXPIRED) &&
		    ++s.auth_fails >= s.conf->max_auth_fails) {
			out("-ERR Too many authentication failures.");
			session_end("authfail");
		}
		return;
	}
	if (ipc_get_session_auth_ok(m, &login, &s.st.sock) == -1)
		fatalx("unexpected %s from auth", msg_name(m->type));
	snprintf(s.login, sizeof(s.login), "%s", login);	/* before reuse */
	transcript_login(s.login);
	s.auth_result = "ok";
	preauth_over();
	close(s.auth_sock);	/* auth has nothing more to say */
	s.auth_sock = -1;

	s.st.lock_wait = 1;	/* opening: the mbox locks, a scan */
	store_recv(&s.st, m);
	s.st.lock_wait = 0;
	if (m->type == MSG_SESSION_LOGIN_DELAY) {
		/* RFC 2449 [LOGIN-DELAY]; privpop-auth is gone: the end */
		if (ipc_get_session_login_delay(m, &code) == -1)
			fatalx("LOGIN_DELAY malformed");
		out("-ERR [LOGIN-DELAY] Logged in too recently; wait %u more "
		    "second%s.", code, code == 1 ? "" : "s");
		session_end("login-delay");
	}
	if (m->type == MSG_SESSION_ERR) {
		if (ipc_get_session_err(m, &code) == -1)
			fatalx("store ERR malformed");
		out("%s", store_err_text(code));
		session_end(code == IPC_ERR_INUSE ? "in-use" : "store-error");
	}
	if (ipc_get_session_store_ready(m, &count, &octets) == -1)
		fatalx("unexpected %s from store", msg_name(m->type));
	s.state = S_TRANS;
	proctitle_session(s.conf->verbose_proctitle, s.login, s.addr,
	    "TRANSACTION", s.cl.ssl != NULL);
	s.total_n = s.st.total_n = count;
	s.total_b = octets;
	out("+OK Logged in, %u message%s (%llu octets).", count,
	    count == 1 ? "" : "s", (unsigned long long)octets);
}

static void
cmd_pass(struct pop3_cmd *c)
{
	char pass[POP3_MAX_PASS + 1];

	if (!plaintext_ok()) {
		plaintext_refused();
		return;
	}
	if (!s.have_user) {
		out("-ERR USER first.");
		return;
	}
	s.have_user = 0;
	/* RFC 1939: spaces may be part of the password */
	if (c->restlen == 0 || c->restlen > POP3_MAX_PASS) {
		out("-ERR [AUTH] Authentication failed.");
		return;
	}
	memcpy(pass, c->rest, c->restlen);
	pass[c->restlen] = '\0';
	client_wipe_line(&s.cl, c->rest, c->restlen);
	if (take_pass(pass, sizeof(pass), 0) == -1)
		out("-ERR [AUTH] Authentication failed.");
	else
		do_login(ipc_send_auth_login, s.user, pass);
	explicit_bzero(pass, sizeof(pass));
}

static void
cmd_apop(struct pop3_cmd *c)
{
	char user[POP3_MAX_USER + 1], digest[64];

	s.have_user = 0;
	if (!offered(AUTH_MECH_APOP)) {
		out("-ERR APOP not available.");
		return;
	}
	if (need_args(c, 2, 2) == -1)
		return;
	if (!md5_ok()) {
		md5_refused();
		return;
	}
	if (c->arglen[0] > POP3_MAX_USER || c->arglen[1] >= sizeof(digest) ||
	    take_user(user, sizeof(user), c->arg[0], c->arglen[0],
	    s.utf8) == -1) {
		out("-ERR [AUTH] Authentication failed.");
		return;
	}
	memcpy(digest, c->arg[1], c->arglen[1]);
	digest[c->arglen[1]] = '\0';
	do_login(ipc_send_auth_apop, user, digest);
}

/* The totals follow from the store's own answers (the login's, less
 * each DELE's): no round trip to the store for the command most clients
 * start with. */
static void
cmd_stat(struct pop3_cmd *c)
{
	if (need_args(c, 0, 0) == -1)
		return;
	out("+OK %u %llu", s.total_n - s.dele_n,
	    (unsigned long long)(s.total_b - s.dele_b));
}

static void
listing(struct pop3_cmd *c, uint32_t type)
{
	uint32_t n = 0, rn;
	uint64_t octets;
	char text[POP3_MAX_UIDL + 1];
	int r;

	if (need_args(c, 0, 1) == -1 || (r = arg_msgno(c, 0, &n)) == -1)
		return;
	store_request(&s.st, type, n, 0);
	if (store_answer(&s.st, &rn, &octets, text, sizeof(text)) == -1)
		return;
	if (n != 0) {
		if (type == MSG_STORE_LIST)
			out("+OK %u %llu", rn, (unsigned long long)octets);
		else
			out("+OK %u %s", rn, text);
		return;
	}
	if (type == MSG_STORE_LIST)
		out("+OK %u messages (%llu octets)", rn,
		    (unsigned long long)octets);
	else
		out("+OK Unique-ID listing follows");
	transcript_listing();
	store_relay(&s.st);
	transcript_listing_end();
}

static void
cmd_list(struct pop3_cmd *c)
{
	listing(c, MSG_STORE_LIST);
}

static void
cmd_uidl(struct pop3_cmd *c)
{
	listing(c, MSG_STORE_UIDL);
}

/* The body path, the read-ahead and the memfd's release rule are
 * session_store.c's. */
static void
cmd_retr(struct pop3_cmd *c)
{
	uint32_t n;
	uint64_t octets;

	if (need_args(c, 1, 1) == -1 || arg_msgno(c, 0, &n) == -1)
		return;
	if (store_retr(&s.st, n, &octets)) {
		s.retr_n++;
		s.retr_b += octets;
		if (n > s.last_n)
			s.last_n = n;
		st[SST_RETR]++;
		st[SST_RETR_OCTETS] += octets;
	}
}

static void
cmd_top(struct pop3_cmd *c)
{
	uint32_t n, lines;
	uint64_t v;
	size_t i;

	if (need_args(c, 2, 2) == -1 || arg_msgno(c, 0, &n) == -1)
		return;
	for (i = 0; i < c->arglen[1]; i++)
		if (c->arg[1][i] < '0' || c->arg[1][i] > '9')
			break;
	if (i == 0 || i < c->arglen[1]) {
		out("-ERR Invalid line count.");
		return;
	}
	/* a huge count means the whole body */
	lines = parse_uint(c->arg[1], c->arglen[1], 0, UINT32_MAX, &v) == 0 ?
	    (uint32_t)v : UINT32_MAX;
	if (store_top(&s.st, n, lines))
		st[SST_TOP]++;
}

static void
cmd_dele(struct pop3_cmd *c)
{
	uint32_t n, rn;
	uint64_t octets;

	if (need_args(c, 1, 1) == -1 || arg_msgno(c, 0, &n) == -1)
		return;
	store_request(&s.st, MSG_STORE_DELE, n, 0);
	if (store_answer(&s.st, &rn, &octets, NULL, 0) == -1)
		return;
	if (s.dele_n >= s.total_n || octets > s.total_b - s.dele_b)
		fatalx("store's DELE answer does not add up");
	s.dele_n++;
	s.dele_b += octets;
	if (rn > s.last_n)
		s.last_n = rn;
	st[SST_DELE]++;
	out("+OK Message %u deleted.", rn);
}

static void
cmd_rset(struct pop3_cmd *c)
{
	uint32_t n;
	uint64_t octets;

	if (need_args(c, 0, 0) == -1)
		return;
	store_request(&s.st, MSG_STORE_RSET, 0, 0);
	if (store_answer(&s.st, &n, &octets, NULL, 0) == 0) {
		s.dele_n = 0;
		s.dele_b = 0;
		s.last_n = 0;
		out("+OK %u messages (%llu octets).", n,
		    (unsigned long long)octets);
	}
}

/* RFC 1725's LAST (last_command = yes): the highest message number
 * RETRieved or DELEted in this session, 0 after RSET; TOP does not
 * count, as in qpopper.  Nothing is kept across sessions: a message
 * read in an earlier one is not "seen" here (Dovecot keeps \Seen). */
static void
cmd_last(struct pop3_cmd *c)
{
	if (need_args(c, 0, 0) == -1)
		return;
	out("+OK %u", s.last_n);
}

/* ------------------------------------------------------------------ */
/* SASL (RFC 5034) */

/* Longest decoded SASL message we take: the base64 of a full line. */
#define SASL_MAX_DECODED	(SASL_MAX_LINE / 4 * 3)

/* Send a challenge ("+ base64") and read the client's answer into out.
 * Returns the decoded length, or -1 after answering (cancel, bad
 * base64, connection trouble ends the session). */
static long sasl_read(const void *, size_t, unsigned char *, size_t,
    const char **);

static long
sasl_exchange(const void *chal, size_t chlen, unsigned char *outb,
    size_t outlen)
{
	const char *err;
	long n;

	if ((n = sasl_read(chal, chlen, outb, outlen, &err)) < 0)
		out("%s", err);
	return n;
}

/* The same, with the answer to a cancel or a bad response left to the
 * caller (*err_r): a SCRAM exchange answers it only after privpop-auth
 * has counted the failure and waited its delay. */
static long
sasl_read(const void *chal, size_t chlen, unsigned char *outb,
    size_t outlen, const char **err_r)
{
	char enc[BASE64_ENCODED_LEN(256)];
	const char *line;
	size_t len;
	long n;
	enum client_line r;

	if (chlen > 256)
		fatalx("SASL challenge too long");
	base64_encode(chal, chlen, enc);
	out("+ %s", enc);
	s.cl.maxline = SASL_MAX_LINE;
	r = client_getline(&s.cl, &line, &len);
	s.cl.maxline = POP3_MAX_LINE;
	switch (r) {
	case CL_LINE:
		transcript_sasl_response(line, len);
		break;
	case CL_TOOLONG:
		*err_r = "-ERR SASL response too long.";
		return -1;
	case CL_TIMEOUT:
		timed_out();
	case CL_EOF:
		session_end("disconnect");
	default:
		session_end_io();	/* a flush that failed, too */
	}
	if (len == 1 && line[0] == '*') {
		*err_r = "-ERR Authentication cancelled.";
		return -1;
	}
	n = base64_decode(line, len, outb, outlen);
	client_wipe_line(&s.cl, line, len);	/* credentials, in base64 */
	if (n < 0) {
		*err_r = "-ERR Invalid base64 in SASL response.";
		return -1;
	}
	return n;
}

/* The initial response of AUTH, or a challenge round when absent. */
static long
sasl_first(struct pop3_cmd *c, const void *chal, size_t chlen,
    unsigned char *outb, size_t outlen)
{
	long n;

	if (c->nargs < 2)
		return sasl_exchange(chal, chlen, outb, outlen);
	if (c->arglen[1] == 1 && c->arg[1][0] == '=')
		return 0;	/* an empty initial response */
	n = base64_decode(c->arg[1], c->arglen[1], outb, outlen);
	client_wipe_line(&s.cl, c->arg[1], c->arglen[1]);
	if (n < 0)
		out("-ERR Invalid base64 in initial response.");
	return n;
}

/* Copy n bytes to a C string; fails on NUL bytes or overflow. */
static int
sasl_str(char *dst, size_t dstlen, const unsigned char *p, size_t n)
{
	if (n >= dstlen || memchr(p, '\0', n) != NULL)
		return -1;
	memcpy(dst, p, n);
	dst[n] = '\0';
	return 0;
}

/* RFC 4616: [authzid] NUL authcid NUL passwd */
static void
sasl_plain(struct pop3_cmd *c)
{
	unsigned char b[SASL_MAX_DECODED];
	char user[POP3_MAX_USER + 1], pass[POP3_MAX_PASS + 1];
	const unsigned char *n1, *n2;
	long n;

	if (!plaintext_ok()) {
		plaintext_refused();
		return;
	}
	if ((n = sasl_first(c, "", 0, b, sizeof(b))) < 0)
		return;
	if ((n1 = memchr(b, '\0', (size_t)n)) == NULL ||
	    (n2 = memchr(n1 + 1, '\0', (size_t)(b + n - n1 - 1))) == NULL ||
	    sasl_str(user, sizeof(user), n1 + 1, (size_t)(n2 - n1 - 1)) ||
	    sasl_str(pass, sizeof(pass), n2 + 1, (size_t)(b + n - n2 - 1)) ||
	    user[0] == '\0' || pass[0] == '\0' ||
	    take_user(user, sizeof(user), user, strlen(user), 1) == -1 ||
	    take_pass(pass, sizeof(pass), 1) == -1) {
		out("-ERR [AUTH] Authentication failed.");
		goto done;
	}
	/* acting as another user (authzid) is not offered */
	if (n1 != b && ((size_t)(n1 - b) != strlen(user) ||
	    memcmp(b, user, strlen(user)) != 0)) {
		out("-ERR [AUTH] Authorization identity not permitted.");
		goto done;
	}
	do_login(ipc_send_auth_login, user, pass);
done:
	explicit_bzero(b, sizeof(b));
	explicit_bzero(pass, sizeof(pass));
}

/* The LOGIN mechanism (draft-murchison-sasl-login): user, then pass. */
static void
sasl_login(struct pop3_cmd *c)
{
	unsigned char b[SASL_MAX_DECODED];
	char user[POP3_MAX_USER + 1], pass[POP3_MAX_PASS + 1];
	long n;

	if (!plaintext_ok()) {
		plaintext_refused();
		return;
	}
	if ((n = sasl_first(c, "Username:", 9, b, sizeof(b))) < 0)
		return;
	if (sasl_str(user, sizeof(user), b, (size_t)n) == -1 ||
	    user[0] == '\0' ||
	    take_user(user, sizeof(user), user, strlen(user), 1) == -1) {
		out("-ERR [AUTH] Authentication failed.");
		return;
	}
	if ((n = sasl_exchange("Password:", 9, b, sizeof(b))) < 0)
		return;
	if (sasl_str(pass, sizeof(pass), b, (size_t)n) == -1 ||
	    pass[0] == '\0' || take_pass(pass, sizeof(pass), 1) == -1)
		out("-ERR [AUTH] Authentication failed.");
	else
		do_login(ipc_send_auth_login, user, pass);
	explicit_bzero(b, sizeof(b));
	explicit_bzero(pass, sizeof(pass));
}

/* RFC 2195 CRAM-MD5 over privpop-auth's timestamp. */
static void
sasl_cram(struct pop3_cmd *c)
{
	unsigned char b[SASL_MAX_DECODED];
	char resp[POP3_MAX_USER + 40];
	char *sp;
	long n;

	if (c->nargs > 1) {
		out("-ERR CRAM-MD5 takes no initial response.");
		return;
	}
	if (!md5_ok()) {
		md5_refused();
		return;
	}
	n = sasl_exchange(s.hello->stamp, strlen(s.hello->stamp), b,
	    sizeof(b));
	if (n < 0)
		return;
	if (sasl_str(resp, sizeof(resp), b, (size_t)n) == -1 ||
	    (sp = strrchr(resp, ' ')) == NULL || sp == resp) {
		out("-ERR [AUTH] Authentication failed.");
		return;
	}
	*sp = '\0';
	do_login(ipc_send_auth_cram, resp, sp + 1);
}

/* After a SCRAM step was sent to privpop-auth: its challenge in out,
 * or -1 after the failure has been answered (with failtext, if not
 * NULL). */
static int
scram_answer(int sent, const char *failtext, char *outs, size_t outlen)
{
	struct msg m;
	const char *ch;

	if (sent == -1) {
		out("-ERR [SYS/TEMP] Authentication service unavailable.");
		session_end("error");
	}
	auth_recv(&m);
	if (m.type != MSG_SESSION_SASL_CHALLENGE) {
		login_answer_as(&m, failtext);	/* the failure */
		return -1;
	}
	if (ipc_get_session_sasl_challenge(&m, &ch, outlen - 1) == -1)
		fatalx("SASL challenge malformed");
	snprintf(outs, outlen, "%s", ch);
	return 0;
}

/* RFC 7677 SCRAM-SHA-256; privpop-auth holds the keys and the state,
 * and takes the client's messages as fields parsed here (scram_msg.c):
 * a malformed one is sent as such, a failure it counts. */
static void
sasl_scram(struct pop3_cmd *c)
{
	unsigned char b[SASL_MAX_DECODED], proof[SCRAM_PROOF_LEN];
	char msg[SASL_MAX_DECODED + 1], chal[SASL_MAX_DECODED + 1];
	struct scram_client_first f;
	struct msg m;
	const char *err = NULL;
	long n;
	int kind;

	if ((n = sasl_first(c, "", 0, b, sizeof(b))) < 0)
		return;
	if (sasl_str(msg, sizeof(msg), b, (size_t)n) == -1) {
		out("-ERR [AUTH] Authentication failed.");
		return;
	}
	(void)scram_parse_client_first(msg, &f);	/* "" if malformed */
	explicit_bzero(msg, sizeof(msg));
	if (scram_answer(ipc_send_auth_scram_first(s.auth_sock, f.gs2_y,
	    f.user, f.cnonce), NULL, chal, sizeof(chal)) == -1)
		return;
	kind = SCRAM_FINAL_PROOF;
	if ((n = sasl_read(chal, strlen(chal), b, sizeof(b), &err)) < 0)
		kind = SCRAM_FINAL_CANCELLED;	/* "*", or a line in error */
	else if (sasl_str(msg, sizeof(msg), b, (size_t)n) == -1 ||
	    scram_parse_client_final(msg, f.gs2_y, chal, proof) == -1)
		kind = SCRAM_FINAL_MALFORMED;
	explicit_bzero(msg, sizeof(msg));
	/* the client has seen the salt: a cancel or a malformed final is
	 * a failure, which privpop-auth counts and answers after its
	 * delay (err: the answer a line in error gets) */
	if (scram_answer(ipc_send_auth_scram_final(s.auth_sock, kind,
	    kind == SCRAM_FINAL_PROOF ? proof : NULL), err, chal,
	    sizeof(chal)) == -1)
		return;
	explicit_bzero(proof, sizeof(proof));
	if (kind != SCRAM_FINAL_PROOF)
		fatalx("privpop-auth accepted an exchange without a proof");
	/* the server-final, answered by an empty response, then +OK */
	if ((n = sasl_exchange(chal, strlen(chal), b, sizeof(b))) != 0) {
		if (n > 0)
			out("-ERR Unexpected SASL response.");
		session_end("authfail");
	}
	auth_recv(&m);
	login_answer(&m);
}

static void
cmd_auth(struct pop3_cmd *c)
{
	static const struct {
		const char	*name;
		int		 mech;
		void		(*fn)(struct pop3_cmd *);
	} mechs[] = {
		{ "PLAIN", AUTH_MECH_PLAIN, sasl_plain },
		{ "LOGIN", AUTH_MECH_LOGIN, sasl_login },
		{ "CRAM-MD5", AUTH_MECH_CRAM_MD5, sasl_cram },
		{ "SCRAM-SHA-256", AUTH_MECH_SCRAM, sasl_scram },
	};
	size_t i;

	s.have_user = 0;
	if (c->restlen == 0) {
		/* the pre-RFC 5034 listing many clients still ask for */
		const char *m = sasl_mechs();

		out("+OK Supported mechanisms follow");
		while (*m != '\0') {
			size_t w = strcspn(m, " ");

			out("%.*s", (int)w, m);
			m += w + (m[w] == ' ');
		}
		out(".");
		return;
	}
	if (need_args(c, 1, 2) == -1)
		return;
	for (i = 0; i < sizeof(mechs) / sizeof(mechs[0]); i++) {
		/* the line holds no NUL, so this stays within the arg */
		if (strlen(mechs[i].name) == c->arglen[0] &&
		    strncasecmp(c->arg[0], mechs[i].name, c->arglen[0]) == 0) {
			/* not offered: refused here, privpop-auth never
			 * hears of it, and no penalty is counted */
			if (!offered(mechs[i].mech))
				break;
			mechs[i].fn(c);
			return;
		}
	}
	out("-ERR Unsupported mechanism.");
}

/* RFC 2595 STLS. */
static void
cmd_stls(struct pop3_cmd *c)
{
	char err[256];

	if (need_args(c, 0, 0) == -1)
		return;
	if (s.tls_ctx == NULL) {
		out("-ERR TLS is not configured.");
		return;
	}
	if (s.cl.ssl != NULL) {
		out("-ERR Already using TLS.");
		return;
	}
	out("+OK Begin TLS negotiation.");
	if (client_flush(&s.cl) == -1)
		session_end_io();
	/* Anything pipelined after STLS came in the clear: drop it, never
	 * run it inside the TLS session (STARTTLS command injection). */
	client_discard_input(&s.cl);
	if (tls_start(err, sizeof(err)) == -1) {
		st[SST_TLS_STLS_FAIL]++;
		log_info("sess=%s addr=%s: STLS %s", s.id, s.addr, err);
		session_end("tls-error");
	}
	st[SST_TLS_STLS_OK]++;
	s.have_user = 0;
	proctitle_session(s.conf->verbose_proctitle, NULL, s.addr,
	    "AUTHORIZATION", 1);
}

static const struct {
	const char	*name;
	int		 states;
	void		(*fn)(struct pop3_cmd *);
} commands[] = {
	{ "CAPA", S_AUTH | S_TRANS, cmd_capa },
	{ "QUIT", S_AUTH | S_TRANS, cmd_quit },
	{ "USER", S_AUTH, cmd_user },
	{ "PASS", S_AUTH, cmd_pass },
	{ "APOP", S_AUTH, cmd_apop },
	{ "STLS", S_AUTH, cmd_stls },
	{ "AUTH", S_AUTH, cmd_auth },
	{ "UTF8", S_AUTH, cmd_utf8 },	/* RFC 6856 */
	{ "LANG", S_AUTH | S_TRANS, cmd_lang },
	{ "STAT", S_TRANS, cmd_stat },
	{ "LIST", S_TRANS, cmd_list },
	{ "UIDL", S_TRANS, cmd_uidl },
	{ "RETR", S_TRANS, cmd_retr },
	{ "TOP", S_TRANS, cmd_top },
	{ "DELE", S_TRANS, cmd_dele },
	{ "RSET", S_TRANS, cmd_rset },
	{ "NOOP", S_TRANS, cmd_noop },
	{ "LAST", S_TRANS, cmd_last },	/* only with last_command = yes */
};

static void
dispatch(const char *line, size_t len)
{
	struct pop3_cmd c;
	size_t i;

	switch (pop3_parse_line(line, len, &c)) {
	case P_OK:
		break;
	case P_NUL:
		st[SST_PROTOCOL_ERRORS]++;
		out("-ERR NUL byte in command.");
		return;
	case P_EMPTY:
		st[SST_PROTOCOL_ERRORS]++;
		out("-ERR Empty command.");
		return;
	default:
		st[SST_PROTOCOL_ERRORS]++;
		out("-ERR Unknown command.");
		return;
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(commands[i].name, c.verb) != 0 ||
		    (commands[i].fn == cmd_last && !s.conf->last_command))
			continue;
		if (!(commands[i].states & s.state)) {
			st[SST_PROTOCOL_ERRORS]++;
			out(s.state == S_AUTH ?
			    "-ERR Not logged in." :
			    "-ERR Command not valid in this state.");
			return;
		}
		/* RFC 1939: PASS must follow USER directly */
		if (strcmp(c.verb, "PASS") != 0)
			s.have_user = 0;
		commands[i].fn(&c);
		return;
	}
	st[SST_PROTOCOL_ERRORS]++;
	out("-ERR Unknown command.");
}

void
session_run(const struct conf *conf, int rfd, int wfd, int auth_sock,
    const struct session_hello *hello, const char *addr, SSL_CTX *tls_ctx,
    int implicit_tls)
{
	char err[256];
	const char *line;
	size_t len;

	memset(&s, 0, sizeof(s));
	s.conf = conf;
	s.hello = hello;
	s.auth_sock = auth_sock;
	s.st.sock = -1;
	s.st.cl = &s.cl;
	s.st.id = s.id;
	s.st.timeout = conf->timeout;
	s.st.lock_timeout = conf->mbox_lock_timeout;
	s.state = S_AUTH;
	s.auth_result = "none";
	snprintf(s.addr, sizeof(s.addr), "%s", addr);
	clock_gettime(CLOCK_MONOTONIC, &s.start);
	/* privpop-auth's: its login lines carry the same sess= */
	snprintf(s.id, sizeof(s.id), "%s", hello->id);
	transcript_start(conf, s.id, s.addr);
	s.tls_ctx = tls_ctx;
	/* before login: a whole line within login_line_timeout, the login
	 * within login_timeout of the accept */
	client_init(&s.cl, rfd, wfd, conf->login_line_timeout * 1000);
	s.cl.deadline_ms = client_now_ms() + (long long)conf->login_timeout *
	    1000;
	test_false_login_claim();
	test_stats_lie();
	/* The slot's socket stays for the reports (stats_report), the one
	 * message the master takes on it: a login claimed there, by a
	 * session taken over by what it read, ends it (privpop-auth
	 * reports logins).  Non-blocking: a report never waits. */
	if (master_fd != -1 &&
	    fcntl(master_fd, F_SETFL, fcntl(master_fd, F_GETFL) |
	    O_NONBLOCK) == -1) {
		close(master_fd);
		master_fd = -1;
	}
	s.cl.report = stats_report_hook;
	proctitle_session(conf->verbose_proctitle, NULL, s.addr,
	    "AUTHORIZATION", implicit_tls);
	if (implicit_tls && tls_start(err, sizeof(err)) == -1) {
		st[SST_TLS_IMPLICIT_FAIL]++;
		log_info("sess=%s addr=%s: TLS %s", s.id, s.addr, err);
		session_end("tls-error");
	}
	if (implicit_tls)
		st[SST_TLS_IMPLICIT_OK]++;

	if (offered(AUTH_MECH_APOP))
		out("+OK privpop ready. %s", hello->stamp);
	else
		out("+OK privpop ready.");

	for (;;) {
		switch (client_getline(&s.cl, &line, &len)) {
		case CL_LINE:
			transcript_command(line, len);
			s.lines++;
			if (untrusted_proxy_header(line, len)) {
				log_warnx("haproxy: %s sent a PROXY header, but "
				    "haproxy_trusted_networks does not list it: "
				    "refused (list the balancer there if it is "
				    "one)", s.addr);
				out("-ERR [SYS/PERM] A PROXY header from an "
				    "address that is not a trusted balancer.");
				session_end("proxy-refused");
			}
			dispatch(line, len);
			break;
		case CL_TOOLONG:
			st[SST_PROTOCOL_ERRORS]++;
			out("-ERR Line too long.");
			break;
		case CL_TIMEOUT:
			timed_out();
		case CL_EOF:
			session_end("disconnect");
		case CL_ERROR:
			session_end_io();	/* a flush that failed, too */
		}
	}
}
