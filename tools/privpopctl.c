/*
 * privpopctl, everything after the drop: the command's words, the
 * request, and the master's answer, checked field by field and printed
 * as a table, JSON or Prometheus text.  privpopctl_connect.c (root)
 * finds the control socket (control_socket, root's, mode 0600),
 * connects and drops to privpopd's unprivileged user before calling
 * ctl_main(): the master's credentials check (SO_PEERCRED) records
 * the connecting root, and nothing read from the socket is parsed with
 * privilege.
 *
 *   privpopctl [-c file] [-s socket] who [--json]
 *   privpopctl [-c file] [-s socket] kick USER|ADDR|SESS|PID
 *   privpopctl [-c file] [-s socket] stats [--json | --prometheus]
 *   privpopctl [-c file] [-s socket] reload
 *   privpopctl [-c file] [-s socket] transcript [on|off USER|ADDR]
 *   privpopctl [-c file] [-s socket] log-level [debug|info]
 *
 * One request a connection (MSG_MASTER_CTL_REQUEST); the answer
 * (MSG_CTL_ANSWER) brings a sealed memfd whose lines (tab-separated
 * records, daemon/master/control.c) are checked here.
 *
 * Runs as: privpop (privpopd's user =, or nobody), dropped to by
 * privpopctl_connect.c; not part of the daemon.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "privpopctl.h"
#include "ipc.h"
#include "ipc_master.h"
#include "metrics_text.h"
#include "numparse.h"

/* The largest answer read: a line a slot of MAX_SESSIONS_LIMIT. */
#define ANSWER_MAX	((size_t)(MAX_SESSIONS_LIMIT + 64) * CTL_LINE_MAX)
/* Fields of a who/kick record, of a stats record. */
#define WHO_FIELDS	9
#define STATS_FIELDS	2

static const char *prog = "privpopctl";

void
ctl_usage(void)
{
	fprintf(stderr,
	    "usage: privpopctl [-c file] [-s socket] command\n"
	    "  who [--json]                     the sessions, one a line\n"
	    "  kick USER|ADDR|SESS|PID          end the matching sessions\n"
	    "  stats [--json | --prometheus]    the master's counters\n"
	    "  reload                           re-read the configuration "
	    "(as SIGHUP)\n"
	    "  transcript [on|off USER|ADDR]    the protocol transcript for "
	    "a user\n"
	    "                                   or an address (CIDR) without "
	    "a reload;\n"
	    "                                   alone: what is switched on\n"
	    "  log-level [debug|info]           debug logging on or off "
	    "without a\n"
	    "                                   restart; alone: the level\n"
	    "  -c file    privpopd's configuration, for control_socket "
	    "(default %s/privpopd.conf)\n"
	    "  -s socket  the control socket itself\n", PRIVPOP_SYSCONFDIR);
	exit(2);
}

/* ------------------------------------------------------------------ */
/* Records */

struct rec {
	char	*f[WHO_FIELDS];
	size_t	 n;
};

/* Split the answer's text into records of want fields each; every
 * field non-empty, printable, without a space or a quote where none
 * belongs.  -1 on anything else. */
static int
split(char *text, size_t len, size_t want, struct rec **recs_r,
    size_t *n_r)
{
	struct rec *recs = NULL;
	size_t n = 0, i;
	char *p = text, *end = text + len, *nl;

	if (len > 0 && text[len - 1] != '\n')
		return -1;
	while (p < end) {
		struct rec *r;
		void *q;

		nl = memchr(p, '\n', (size_t)(end - p));
		*nl = '\0';
		if ((q = reallocarray(recs, n + 1, sizeof(*recs))) == NULL) {
			free(recs);
			return -1;
		}
		recs = q;
		r = &recs[n++];
		r->n = 0;
		for (;;) {
			char *tab = strchr(p, '\t');

			if (r->n == want)
				goto bad;
			r->f[r->n++] = p;
			if (tab == NULL)
				break;
			*tab = '\0';
			p = tab + 1;
		}
		if (r->n != want)
			goto bad;
		for (i = 0; i < want; i++) {
			const char *c = r->f[i];

			if (*c == '\0')
				goto bad;
			for (; *c != '\0'; c++)
				if (*c <= ' ' || *c > '~' || *c == '"' ||
				    *c == '\\')
					goto bad;
		}
		p = nl + 1;
	}
	*recs_r = recs;
	*n_r = n;
	return 0;
bad:
	free(recs);
	return -1;
}

static int
is_number(const char *s)
{
	uint64_t v;

	return parse_uint(s, strlen(s), 0, INT64_MAX, &v) == 0;
}

/* A who record: pid, sess, user, addr, state, tls, age, bytes in,
 * bytes out. */
static int
who_ok(const struct rec *r)
{
	return is_number(r->f[0]) && is_number(r->f[6]) &&
	    is_number(r->f[7]) && is_number(r->f[8]) &&
	    (strcmp(r->f[4], "pre-login") == 0 ||
	    strcmp(r->f[4], "logged-in") == 0) &&
	    (strcmp(r->f[5], "implicit") == 0 ||
	    strcmp(r->f[5], "stls") == 0 || strcmp(r->f[5], "none") == 0 ||
	    strcmp(r->f[5], "-") == 0);
}

static void
json_str_or_null(const char *s)
{
	/* split() let no quote, backslash or control character through */
	if (strcmp(s, "-") == 0)
		fputs("null", stdout);
	else
		printf("\"%s\"", s);
}

static void
print_who(const struct rec *recs, size_t n, int json)
{
	static const char *const head[WHO_FIELDS] = { "PID", "SESSION",
	    "USER", "ADDRESS", "STATE", "TLS", "AGE", "IN", "OUT" };
	size_t w[WHO_FIELDS], i, k;

	if (json) {
		fputs("[", stdout);
		for (i = 0; i < n; i++) {
			const char *const *f = (const char *const *)recs[i].f;

			printf("%s\n  {\"pid\": %s, \"session\": ", i ? "," : "",
			    f[0]);
			json_str_or_null(f[1]);
			fputs(", \"user\": ", stdout);
			json_str_or_null(f[2]);
			printf(", \"address\": \"%s\", \"state\": \"%s\", "
			    "\"tls\": ", f[3], f[4]);
			json_str_or_null(f[5]);
			printf(", \"age\": %s, \"bytes_in\": %s, "
			    "\"bytes_out\": %s}", f[6], f[7], f[8]);
		}
		fputs(n ? "\n]\n" : "]\n", stdout);
		return;
	}
	for (k = 0; k < WHO_FIELDS; k++) {
		w[k] = strlen(head[k]);
		for (i = 0; i < n; i++)
			if (strlen(recs[i].f[k]) > w[k])
				w[k] = strlen(recs[i].f[k]);
	}
	for (k = 0; k < WHO_FIELDS; k++)
		printf("%-*s%s", k + 1 < WHO_FIELDS ? (int)w[k] : 0, head[k],
		    k + 1 < WHO_FIELDS ? "  " : "\n");
	for (i = 0; i < n; i++)
		for (k = 0; k < WHO_FIELDS; k++)
			printf("%-*s%s", k + 1 < WHO_FIELDS ? (int)w[k] : 0,
			    recs[i].f[k], k + 1 < WHO_FIELDS ? "  " : "\n");
}

/* A transcript record: "user" or "network", and a printable word. */
static int
transcript_ok(const struct rec *r)
{
	const char *p;

	if (strcmp(r->f[0], "user") != 0 && strcmp(r->f[0], "network") != 0)
		return 0;
	for (p = r->f[1]; *p != '\0'; p++)
		if (*p <= ' ' || *p > '~')
			return 0;
	return r->f[1][0] != '\0';
}

static void
print_stats(const struct rec *recs, size_t n, int json, int prom)
{
	size_t i, w = 0;

	if (json)
		fputs("{", stdout);
	for (i = 0; i < n; i++) {
		const char *name = recs[i].f[0], *v = recs[i].f[1];

		if (json) {
			printf("%s\n  \"%s\": %s", i ? "," : "", name, v);
			continue;
		}
		if (prom) {
			struct buf b;
			char line[1024];

			/* the one table of HELP and TYPE (metrics_text.c) */
			buf_init_fixed(&b, line, sizeof(line));
			if (metrics_text_add(&b, name, v) == 0)
				fwrite(buf_ptr(&b), 1, buf_used(&b), stdout);
			continue;
		}
		if (strlen(name) > w)
			w = strlen(name);
	}
	if (json) {
		fputs(n ? "\n}\n" : "}\n", stdout);
		return;
	}
	if (!prom)
		for (i = 0; i < n; i++)
			printf("%-*s  %s\n", (int)w, recs[i].f[0],
			    recs[i].f[1]);
}

/* ------------------------------------------------------------------ */

/* The memfd's text, whole: NUL-terminated, its length in *len_r. */
static char *
read_answer(int fd, size_t *len_r)
{
	struct stat st;
	size_t got = 0;
	ssize_t r;
	char *buf;

	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) || st.st_size < 0 ||
	    (uint64_t)st.st_size > ANSWER_MAX)
		return NULL;
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL)
		return NULL;
	while (got < (size_t)st.st_size) {
		r = pread(fd, buf + got, (size_t)st.st_size - got, (off_t)got);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0) {
			free(buf);
			return NULL;
		}
		got += (size_t)r;
	}
	buf[got] = '\0';
	if (memchr(buf, '\0', got) != NULL) {
		free(buf);
		return NULL;
	}
	*len_r = got;
	return buf;
}

int
ctl_main(int fd, const char *sockpath, int argc, char **argv)
{
	const char *cmdname, *arg = "", *opt = NULL;
	struct pollfd pfd;
	struct rec *recs = NULL;
	struct msg m;
	uint32_t cmd, status, count;
	size_t len = 0, nrec = 0, i;
	char *text = NULL;
	int mfd, r, json = 0, prom = 0, tr;

	if (argc < 1)
		ctl_usage();
	cmdname = argv[0];
	if (argc > 3 || (argc == 3 && strcmp(cmdname, "transcript") != 0))
		ctl_usage();
	if (argc >= 2)
		opt = argv[1];
	if (strcmp(cmdname, "transcript") == 0) {
		if (argc == 1)
			cmd = CTL_CMD_TRANSCRIPTS;
		else if (argc == 3 && strcmp(opt, "on") == 0)
			cmd = CTL_CMD_TRANSCRIPT_ON;
		else if (argc == 3 && strcmp(opt, "off") == 0)
			cmd = CTL_CMD_TRANSCRIPT_OFF;
		else
			ctl_usage();
		if (argc == 3) {
			arg = argv[2];
			if (arg[0] == '\0' || strlen(arg) > CTL_ARG_MAX ||
			    strpbrk(arg, " \t,") != NULL) {
				fprintf(stderr, "%s: transcript: a user name or "
				    "an address or network (CIDR), of at most "
				    "%d printable characters\n", prog,
				    CTL_ARG_MAX);
				return 2;
			}
		}
	} else if (strcmp(cmdname, "log-level") == 0) {
		cmd = CTL_CMD_LOG_LEVEL;
		if (opt != NULL && strcmp(opt, "debug") != 0 &&
		    strcmp(opt, "info") != 0)
			ctl_usage();
		if (opt != NULL)
			arg = opt;
	} else if (strcmp(cmdname, "who") == 0) {
		cmd = CTL_CMD_WHO;
		if (opt != NULL && !(json = strcmp(opt, "--json") == 0))
			ctl_usage();
	} else if (strcmp(cmdname, "stats") == 0) {
		cmd = CTL_CMD_STATS;
		if (opt != NULL && !(json = strcmp(opt, "--json") == 0) &&
		    !(prom = strcmp(opt, "--prometheus") == 0))
			ctl_usage();
	} else if (strcmp(cmdname, "kick") == 0) {
		cmd = CTL_CMD_KICK;
		if (opt == NULL || opt[0] == '\0')
			ctl_usage();
		arg = opt;
		if (strlen(arg) > CTL_ARG_MAX) {
			fprintf(stderr, "%s: kick: %s: longer than %d "
			    "characters\n", prog, arg, CTL_ARG_MAX);
			return 2;
		}
		for (i = 0; arg[i] != '\0'; i++)
			if (arg[i] <= ' ' || arg[i] > '~') {
				fprintf(stderr, "%s: kick: a user, an address, "
				    "a session id or a pid, of printable "
				    "characters without spaces\n", prog);
				return 2;
			}
	} else if (strcmp(cmdname, "reload") == 0) {
		cmd = CTL_CMD_RELOAD;
		if (opt != NULL)
			ctl_usage();
	} else
		ctl_usage();

	if (ipc_send_master_ctl_request(fd, cmd, arg) == -1) {
		fprintf(stderr, "%s: %s: %s\n", prog, sockpath,
		    errno == EPIPE || errno == ECONNRESET ?
		    "the master closed the connection (is privpopctl run as "
		    "root?)" : strerror(errno));
		return 1;
	}
	pfd.fd = fd;
	pfd.events = POLLIN;
	while ((r = poll(&pfd, 1, CTL_ANSWER_TIMEOUT * 1000)) == -1 &&
	    errno == EINTR)
		;
	if (r == 0) {
		fprintf(stderr, "%s: no answer from the master in %d s\n", prog,
		    CTL_ANSWER_TIMEOUT);
		return 1;
	}
	if ((r = ipc_recv(fd, &m)) != 1 ||
	    ipc_get_ctl_answer(&m, &status, &count, &mfd) == -1) {
		fprintf(stderr, "%s: %s\n", prog, r == 0 ||
		    (r == -1 && errno == ECONNRESET) ?
		    "the master closed the connection without an answer "
		    "(its log says why)" :
		    "a malformed answer from the master (a privpopd of "
		    "another version?)");
		return 1;
	}
	close(fd);
	switch (status) {
	case CTL_OK:
		break;
	case CTL_ERR_NOT_ROOT:
		fprintf(stderr, "%s: must be run as root: the master answers "
		    "only root\n", prog);
		return 1;
	case CTL_ERR_NO_MATCH:
		if (cmd == CTL_CMD_TRANSCRIPT_OFF)
			fprintf(stderr, "%s: transcript: it is not switched on "
			    "for %s (privpopctl transcript lists them)\n", prog,
			    arg);
		else
			fprintf(stderr, "%s: kick: no session matches %s "
			    "(privpopctl who lists them)\n", prog, arg);
		return 1;
	case CTL_ERR_FULL:
		fprintf(stderr, "%s: transcript: at most %d users and %d "
		    "addresses or networks; switch one off first (or use "
		    "transcript_users and transcript_networks)\n", prog,
		    CTL_TRANSCRIPT_MAX, CTL_TRANSCRIPT_MAX);
		return 1;
	case CTL_ERR_BAD_REQUEST:
		fprintf(stderr, "%s: the master refused the request (a "
		    "privpopd of another version?)\n", prog);
		return 1;
	default:
		fprintf(stderr, "%s: the master could not answer (its log "
		    "says why)\n", prog);
		return 1;
	}
	if (cmd == CTL_CMD_RELOAD) {
		if (mfd != -1)
			close(mfd);
		printf("reload requested: privpopd re-reads its configuration "
		    "(its log says whether it took)\n");
		return 0;
	}
	if (cmd == CTL_CMD_LOG_LEVEL) {
		if (mfd == -1 || (text = read_answer(mfd, &len)) == NULL ||
		    (strcmp(text, "log_level\tdebug\n") != 0 &&
		    strcmp(text, "log_level\tinfo\n") != 0)) {
			fprintf(stderr, "%s: a malformed answer from the "
			    "master\n", prog);
			return 1;
		}
		close(mfd);
		text[len - 1] = '\0';		/* the newline */
		printf("log level: %s%s\n", text + strlen("log_level\t"),
		    arg[0] != '\0' ? " (from the next session on)" : "");
		free(text);
		return fflush(stdout) == 0 ? 0 : 1;
	}
	tr = cmd == CTL_CMD_TRANSCRIPTS || cmd == CTL_CMD_TRANSCRIPT_ON ||
	    cmd == CTL_CMD_TRANSCRIPT_OFF;
	if (mfd == -1 || (text = read_answer(mfd, &len)) == NULL ||
	    split(text, len, cmd == CTL_CMD_STATS || tr ? STATS_FIELDS :
	    WHO_FIELDS, &recs, &nrec) == -1) {
		fprintf(stderr, "%s: a malformed answer from the master\n",
		    prog);
		return 1;
	}
	close(mfd);
	for (i = 0; i < nrec; i++)
		if (tr ? !transcript_ok(&recs[i]) :
		    cmd == CTL_CMD_STATS ? !metrics_name_ok(recs[i].f[0], strlen(recs[i].f[0])) ||
		    !is_number(recs[i].f[1]) :
		    !who_ok(&recs[i])) {
			fprintf(stderr, "%s: a malformed answer from the "
			    "master\n", prog);
			return 1;
		}
	if (tr) {
		if (cmd != CTL_CMD_TRANSCRIPTS)
			printf("transcript %s for %s\n",
			    cmd == CTL_CMD_TRANSCRIPT_ON ? "on" : "off", arg);
		if (nrec == 0)
			printf("no transcript switched on by privpopctl\n");
		for (i = 0; i < nrec; i++)
			printf("%-8s %s\n", recs[i].f[0], recs[i].f[1]);
	} else if (cmd == CTL_CMD_STATS)
		print_stats(recs, nrec, json, prom);
	else if (cmd == CTL_CMD_KICK) {
		printf("ended %" PRIu32 " session%s\n", count,
		    count == 1 ? "" : "s");
		print_who(recs, nrec, 0);
	} else
		print_who(recs, nrec, json);
	free(recs);
	free(text);
	return fflush(stdout) == 0 ? 0 : 1;
}
