/*
 * The Prometheus text of the master's counters: the one HELP and TYPE
 * table, and the checks and formatting of privpopctl stats
 * --prometheus and of the metrics process.  It formats text the master
 * wrote; it parses nothing from a client.
 *
 * Runs as: privpop (privpopctl after its drop, the metrics process).
 */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "metrics_text.h"
#include "numparse.h"

/* What each counter means, for Prometheus' HELP and TYPE. */
static const struct {
	const char	*name;
	const char	*type;
	const char	*help;
} metrics[] = {
	{ "start_time_seconds", "gauge",
	    "Unix time at which the privpopd master started." },
	{ "connections_accepted_total", "counter",
	    "Connections the master accepted." },
	{ "connections_refused_total", "counter",
	    "Connections refused by max_preauth_per_ip or "
	    "max_sessions_per_ip." },
	{ "logins_total", "counter",
	    "Logins, as privpop-auth reported them to the master." },
	{ "login_failures_total", "counter",
	    "Failed logins that count toward penalties, as privpop-auth "
	    "reported them." },
	{ "evictions_total", "counter",
	    "Unauthenticated connections ended to serve new clients." },
	{ "login_deadline_kills_total", "counter",
	    "Sessions ended by the master still not logged in after "
	    "login_timeout." },
	{ "kicks_total", "counter", "Sessions ended by privpopctl kick." },
	{ "logins_pass_total", "counter",
	    "Logins with a password: USER/PASS, AUTH PLAIN or AUTH LOGIN." },
	{ "logins_apop_total", "counter", "Logins with APOP." },
	{ "logins_cram_md5_total", "counter", "Logins with AUTH CRAM-MD5." },
	{ "logins_scram_sha_256_total", "counter",
	    "Logins with AUTH SCRAM-SHA-256." },
	{ "login_failures_pass_total", "counter",
	    "Counted failures with a password: USER/PASS, AUTH PLAIN or "
	    "AUTH LOGIN." },
	{ "login_failures_apop_total", "counter",
	    "Counted failures with APOP." },
	{ "login_failures_cram_md5_total", "counter",
	    "Counted failures with AUTH CRAM-MD5." },
	{ "login_failures_scram_sha_256_total", "counter",
	    "Counted failures with AUTH SCRAM-SHA-256 (a cancelled or "
	    "abandoned exchange included)." },
	{ "reloads_total", "counter", "Configuration reloads that took." },
	{ "reload_failures_total", "counter",
	    "Reloads that kept the old configuration." },
	/* the session children's own reports (MSG_MASTER_SESSION_STATS) */
	{ "bytes_received_total", "counter",
	    "POP3 bytes received from clients (TLS records not counted), "
	    "as sessions reported them." },
	{ "bytes_sent_total", "counter",
	    "POP3 bytes sent to clients (TLS records not counted), as "
	    "sessions reported them." },
	{ "tls_handshakes_implicit_total", "counter",
	    "TLS handshakes done on an implicit TLS listener." },
	{ "tls_handshake_failures_implicit_total", "counter",
	    "TLS handshakes failed or timed out on an implicit TLS "
	    "listener." },
	{ "tls_handshakes_stls_total", "counter",
	    "TLS handshakes done after STLS." },
	{ "tls_handshake_failures_stls_total", "counter",
	    "TLS handshakes failed or timed out after STLS." },
	{ "retr_messages_total", "counter", "Messages sent for RETR." },
	{ "retr_octets_total", "counter",
	    "Octets of the messages sent for RETR, as their +OK line "
	    "counts them." },
	{ "top_total", "counter", "TOP commands answered with +OK." },
	{ "dele_total", "counter",
	    "DELE commands answered with +OK (RSET or a session's end "
	    "without QUIT may undo them)." },
	{ "expunges_total", "counter",
	    "Sessions whose QUIT removed one message or more." },
	{ "expunged_messages_total", "counter",
	    "Messages removed at QUIT." },
	{ "errors_sys_temp_total", "counter",
	    "Answers with -ERR [SYS/TEMP]: mailbox or authentication "
	    "service trouble, worker timeouts." },
	{ "errors_sys_perm_total", "counter",
	    "Answers with -ERR [SYS/PERM]: a mailbox that cannot be used." },
	{ "errors_in_use_total", "counter",
	    "Answers with -ERR [IN-USE]: a mailbox locked by another "
	    "session." },
	{ "timeouts_total", "counter",
	    "Sessions ended by autologout: idle, not logged in by "
	    "login_timeout, or reading nothing of an answer for timeout." },
	{ "protocol_errors_total", "counter",
	    "Command lines refused: unknown, malformed, too long, or not "
	    "valid in the state." },
	{ "slots_busy", "gauge", "Session processes serving a connection." },
	{ "slots_idle", "gauge",
	    "Pre-forked session processes waiting for a connection." },
	{ "slots_max", "gauge", "max_sessions." },
	{ "connections_waiting", "gauge",
	    "Accepted connections waiting for a session process." },
};
#define NMETRICS	(sizeof(metrics) / sizeof(metrics[0]))

int
metrics_name_ok(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > METRICS_NAME_MAX)
		return 0;
	for (i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return 0;
	return 1;
}

int
metrics_value_ok(const char *s, size_t len)
{
	uint64_t v;

	return parse_uint(s, len, 0, INT64_MAX, &v) == 0;
}

int
metrics_text_add(struct buf *out, const char *name, const char *value)
{
	size_t k;

	for (k = 0; k < NMETRICS && strcmp(metrics[k].name, name) != 0; k++)
		;
	if (k < NMETRICS && buf_printf(out, "# HELP privpop_%s %s\n", name,
	    metrics[k].help) == -1)
		return -1;
	return buf_printf(out, "# TYPE privpop_%s %s\nprivpop_%s %s\n", name,
	    k < NMETRICS ? metrics[k].type : "untyped", name, value);
}

int
metrics_text_prometheus(const char *text, size_t len, struct buf *out)
{
	char name[METRICS_NAME_MAX + 1], value[24];
	const char *p = text, *end = text + len, *nl, *tab;

	while (p < end) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL ||
		    (tab = memchr(p, '\t', (size_t)(nl - p))) == NULL ||
		    !metrics_name_ok(p, (size_t)(tab - p)) ||
		    (size_t)(nl - tab - 1) >= sizeof(value) ||
		    !metrics_value_ok(tab + 1, (size_t)(nl - tab - 1)))
			return -1;
		memcpy(name, p, (size_t)(tab - p));
		name[tab - p] = '\0';
		memcpy(value, tab + 1, (size_t)(nl - tab - 1));
		value[nl - tab - 1] = '\0';
		if (metrics_text_add(out, name, value) == -1)
			return -1;
		p = nl + 1;
	}
	return 0;
}
