/*
 * The control socket of privpopctl: a SOCK_SEQPACKET Unix socket at
 * control_socket, mode 0600, root's, made by the master at start and
 * removed at exit.  Its peer is root (SO_PEERCRED; or the master's own
 * user when it does not run as root), and still every read is bounded:
 * a connection sends one request (MSG_MASTER_CTL_REQUEST, checked by
 * the IPC table and its typed getter) within CTL_REQUEST_TIMEOUT, at
 * most CTL_CONN_MAX wait at a time, the listening socket and the
 * connections are non-blocking in the master's poll loop, and the
 * answer goes back at once in one message with a sealed memfd holding
 * its text, so a slow or hostile client can stall nothing.
 *
 * The answer's lines, one record each, fields separated by a tab:
 *   who, kick: pid, session id ("-" before login), user ("-"), client
 *     address, state ("pre-login", "logged-in"), TLS ("implicit" for
 *     an implicit TLS listener, "stls" or "none" once privpop-auth
 *     reported the login, "-" unknown), age in seconds, bytes
 *     received and sent (the session's last report: 0 before one)
 *   stats: name, value
 *
 * Runs as: root (the master).
 */
#include "config.h"

#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "addrlist.h"
#include "buf.h"
#include "control.h"
#include "fsutil.h"
#include "ipc.h"
#include "ipc_master.h"
#include "log.h"
#include "numparse.h"

/* What only a login report tells about a slot's session. */
struct ctl_info {
	char		user[POP3_MAX_USER + 1];
	char		sess[SESSION_ID_LEN + 1];
	unsigned char	known;	/* a login was reported */
	unsigned char	stls;	/* with TLS started */
	uint64_t	bytes_in, bytes_out;	/* the session's reports */
};

static struct ctl_info *info;	/* by slot index, never inherited */
static size_t info_cap;
static uint64_t counters[CTL_C_COUNT];
static uint64_t sess_counters[SST_COUNT];	/* the sessions' reports */
static time_t started;		/* wall clock, for the stats */

/* privpopctl transcript on: for these users and networks, until it is
 * switched off or the master ends (a reload keeps them) */
static char tr_users[CTL_TRANSCRIPT_MAX][POP3_MAX_USER + 1];
static char tr_nets[CTL_TRANSCRIPT_MAX][PEER_ADDR_MAX + 4];
static size_t ntr_users, ntr_nets;

static int ctl_fd = -1;
static char ctl_path[CONF_PATH_MAX];
static dev_t ctl_dev;
static ino_t ctl_ino;

static struct {
	int	fd;
	int	refused;	/* not root: its request gets CTL_ERR_NOT_ROOT */
	time_t	since;		/* CLOCK_MONOTONIC */
} conns[CTL_CONN_MAX];
static size_t nconns;

static time_t
mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

void
control_count(enum ctl_counter c)
{
	if ((unsigned)c < CTL_C_COUNT)
		counters[c]++;
}

/* Counters stay within INT64_MAX (what privpopctl and Prometheus
 * take), however much a lying session claims. */
static void
add_sat(uint64_t *c, uint64_t v)
{
	*c = v > (uint64_t)INT64_MAX - *c ? (uint64_t)INT64_MAX : *c + v;
}

/* What a session says of itself is counted, nothing more: it cannot
 * change a slot other than its own (i is the slot whose socket it came
 * on), and v is clamped (ipc_get_master_session_stats). */
void
control_session_stats(size_t i, const uint64_t v[SST_COUNT])
{
	size_t k;

	for (k = 0; k < SST_COUNT; k++)
		add_sat(&sess_counters[k], v[k]);
	if (i < info_cap) {
		add_sat(&info[i].bytes_in, v[SST_BYTES_IN]);
		add_sat(&info[i].bytes_out, v[SST_BYTES_OUT]);
	}
}

/*
 * Outside the heap, in a mapping no forked child inherits: the slot
 * zygote forks from the master, and the user names of the sessions are
 * none of its business (nor its pages' cost, see iplimit.c).
 */
int
control_reserve(size_t n)
{
	struct ctl_info *p;

	if (n <= info_cap)
		return 0;
	p = mmap(NULL, n * sizeof(*p), PROT_READ | PROT_WRITE, MAP_PRIVATE |
	    MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return -1;
	if (madvise(p, n * sizeof(*p), MADV_DONTFORK) == -1) {
		munmap(p, n * sizeof(*p));
		return -1;
	}
	if (info != NULL) {
		memcpy(p, info, info_cap * sizeof(*p));
		munmap(info, info_cap * sizeof(*p));
	}
	info = p;
	info_cap = n;
	if (started == 0)
		started = time(NULL);
	return 0;
}

void
control_slot_clear(size_t i)
{
	if (i < info_cap)
		memset(&info[i], 0, sizeof(info[i]));
}

void
control_slot_login(size_t i, const char *user, const char *sess, int tls)
{
	if (i >= info_cap)
		return;
	snprintf(info[i].user, sizeof(info[i].user), "%s", user);
	snprintf(info[i].sess, sizeof(info[i].sess), "%s", sess);
	info[i].known = 1;
	info[i].stls = tls != 0;
	control_count(CTL_C_LOGINS);
}

/* ------------------------------------------------------------------ */
/* The socket */

static void
conn_drop(size_t i)
{
	close(conns[i].fd);
	conns[i] = conns[--nconns];
}

/* A socket at path that something answers on: another privpopd. */
static int
live_socket(const char *path)
{
	struct sockaddr_un sun;
	int fd, r;

	if ((fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC |
	    SOCK_NONBLOCK, 0)) == -1)
		return 0;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	r = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
	if (r == -1 && errno != EAGAIN && errno != EINPROGRESS)
		r = -2;
	close(fd);
	return r != -2;
}

void
control_close(void)
{
	struct stat st;

	while (nconns > 0)
		conn_drop(nconns - 1);
	if (ctl_fd == -1)
		return;
	close(ctl_fd);
	ctl_fd = -1;
	/* only if it is still the one made here */
	if (lstat(ctl_path, &st) == 0 && S_ISSOCK(st.st_mode) &&
	    st.st_dev == ctl_dev && st.st_ino == ctl_ino)
		unlink(ctl_path);
	ctl_path[0] = '\0';
}

void
control_close_inherited(void)
{
	size_t i;

	for (i = 0; i < nconns; i++)
		close(conns[i].fd);
	nconns = 0;
	if (ctl_fd != -1)
		close(ctl_fd);
	ctl_fd = -1;
}

/*
 * Bound under a temporary name in the checked directory (through its
 * descriptor: nothing planted on the way is followed), made root's and
 * 0600 there, and renamed over the path: a stale socket, or anything
 * else planted at the path, is replaced, never used.
 */
void
control_open(const struct conf *c)
{
	struct sockaddr_un sun;
	char base[CONF_PATH_MAX], tmp[CONF_PATH_MAX + 16];
	struct stat st;
	mode_t um;
	int dfd, fd, ok;

	if (ctl_fd != -1 && strcmp(ctl_path, c->control_socket) == 0)
		return;		/* a reload: kept */
	control_close();
	if (c->control_socket[0] == '\0')
		return;
	if (strlen(c->control_socket) >= sizeof(sun.sun_path)) {
		log_warnx("control_socket %s: longer than %zu characters; no "
		    "control socket (privpopctl cannot connect)",
		    c->control_socket, sizeof(sun.sun_path) - 1);
		return;
	}
	if (live_socket(c->control_socket)) {
		log_warnx("control_socket %s: another privpopd answers there; "
		    "this one has no control socket (give each its own "
		    "control_socket)", c->control_socket);
		return;
	}
	if ((dfd = fs_open_parent(c->control_socket, 0, base,
	    sizeof(base))) == -1) {
		if (errno == EPERM)
			log_warnx("control_socket %s not made: its directory "
			    "is not root's or others can write to it",
			    c->control_socket);
		else
			log_warn("control_socket %s", c->control_socket);
		return;
	}
	if ((fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC |
	    SOCK_NONBLOCK, 0)) == -1) {
		log_warn("control socket");
		close(dfd);
		return;
	}
	snprintf(tmp, sizeof(tmp), "%s.%ld", base, (long)getpid());
	(void)unlinkat(dfd, tmp, 0);	/* a crash's leftover */
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	ok = snprintf(sun.sun_path, sizeof(sun.sun_path), "/proc/self/fd/%d/%s",
	    dfd, tmp) < (int)sizeof(sun.sun_path);
	um = umask(0177);
	ok = ok && bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0;
	umask(um);
	if (!ok) {
		log_warn("control_socket %s: bind", c->control_socket);
		close(fd);
		close(dfd);
		return;
	}
	if ((geteuid() == 0 && fchownat(dfd, tmp, 0, 0,
	    AT_SYMLINK_NOFOLLOW) == -1) || fchmodat(dfd, tmp, 0600, 0) == -1 ||
	    listen(fd, CTL_CONN_MAX) == -1 ||
	    renameat(dfd, tmp, dfd, base) == -1 ||
	    fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) == -1) {
		log_warn("control_socket %s", c->control_socket);
		(void)unlinkat(dfd, tmp, 0);
		close(fd);
		close(dfd);
		return;
	}
	close(dfd);
	ctl_fd = fd;
	ctl_dev = st.st_dev;
	ctl_ino = st.st_ino;
	snprintf(ctl_path, sizeof(ctl_path), "%s", c->control_socket);
	log_debug("control socket %s", ctl_path);
}

size_t
control_pollfds(struct pollfd *pfds)
{
	size_t n = 0, i;

	if (ctl_fd != -1) {
		pfds[n].fd = ctl_fd;
		pfds[n].events = POLLIN;
		pfds[n++].revents = 0;
	}
	for (i = 0; i < nconns; i++) {
		pfds[n].fd = conns[i].fd;
		pfds[n].events = POLLIN;
		pfds[n++].revents = 0;
	}
	return n;
}

void
control_expire(void)
{
	time_t now = mono();
	size_t i = 0;

	while (i < nconns)
		if (now - conns[i].since > CTL_REQUEST_TIMEOUT)
			conn_drop(i);
		else
			i++;
}

/* ------------------------------------------------------------------ */
/* Requests */

/* A bounded text, written into a sealed memfd at the end. */
struct answer {
	struct buf	b;
	int		full;
};

static void
add(struct answer *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
add(struct answer *a, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (buf_vprintf(&a->b, fmt, ap) == -1)
		a->full = 1;	/* never a cut line */
	va_end(ap);
}

static void
add_session(struct answer *a, const struct ctl_session *s)
{
	const struct ctl_info *in = s->slot < info_cap ? &info[s->slot] :
	    NULL;
	int known = in != NULL && in->known && s->authed;

	add(a, "%ld\t%s\t%s\t%s\t%s\t%s\t%ld\t%" PRIu64 "\t%" PRIu64 "\n",
	    (long)s->pid, known ? in->sess : "-", known ? in->user : "-",
	    s->addr, s->authed ? "logged-in" : "pre-login",
	    s->tls ? "implicit" : !known ? "-" : in->stls ? "stls" : "none",
	    (long)s->age, in != NULL ? in->bytes_in : 0,
	    in != NULL ? in->bytes_out : 0);
}

/* USER (logged in), ADDR, SESS or PID */
static int
matches(const struct ctl_session *s, const char *arg)
{
	const struct ctl_info *in = s->slot < info_cap ? &info[s->slot] :
	    NULL;
	uint64_t pid;

	if (strcmp(s->addr, arg) == 0)
		return 1;
	if (in != NULL && in->known && s->authed &&
	    (strcmp(in->user, arg) == 0 || strcmp(in->sess, arg) == 0))
		return 1;
	return parse_uint(arg, strlen(arg), 1, INT32_MAX, &pid) == 0 &&
	    (pid_t)pid == s->pid;
}

static void
add_stats(struct answer *a)
{
	static const char *const names[CTL_C_COUNT] = {
		[CTL_C_ACCEPTED] = "connections_accepted_total",
		[CTL_C_REFUSED] = "connections_refused_total",
		[CTL_C_LOGINS] = "logins_total",
		[CTL_C_LOGIN_FAILS] = "login_failures_total",
		[CTL_C_EVICTED] = "evictions_total",
		[CTL_C_DEADLINE] = "login_deadline_kills_total",
		[CTL_C_KICKED] = "kicks_total",
		[CTL_C_RELOADS] = "reloads_total",
		[CTL_C_RELOAD_FAILS] = "reload_failures_total",
		[CTL_C_OK_PASS] = "logins_pass_total",
		[CTL_C_OK_APOP] = "logins_apop_total",
		[CTL_C_OK_CRAM_MD5] = "logins_cram_md5_total",
		[CTL_C_OK_SCRAM] = "logins_scram_sha_256_total",
		[CTL_C_FAIL_PASS] = "login_failures_pass_total",
		[CTL_C_FAIL_APOP] = "login_failures_apop_total",
		[CTL_C_FAIL_CRAM_MD5] = "login_failures_cram_md5_total",
		[CTL_C_FAIL_SCRAM] = "login_failures_scram_sha_256_total",
	};
	/* the sessions' own reports (MSG_MASTER_SESSION_STATS) */
	static const char *const snames[SST_COUNT] = {
		[SST_BYTES_IN] = "bytes_received_total",
		[SST_BYTES_OUT] = "bytes_sent_total",
		[SST_TLS_IMPLICIT_OK] = "tls_handshakes_implicit_total",
		[SST_TLS_IMPLICIT_FAIL] =
		    "tls_handshake_failures_implicit_total",
		[SST_TLS_STLS_OK] = "tls_handshakes_stls_total",
		[SST_TLS_STLS_FAIL] = "tls_handshake_failures_stls_total",
		[SST_RETR] = "retr_messages_total",
		[SST_RETR_OCTETS] = "retr_octets_total",
		[SST_TOP] = "top_total",
		[SST_DELE] = "dele_total",
		[SST_EXPUNGES] = "expunges_total",
		[SST_EXPUNGED] = "expunged_messages_total",
		[SST_ERR_SYS_TEMP] = "errors_sys_temp_total",
		[SST_ERR_SYS_PERM] = "errors_sys_perm_total",
		[SST_ERR_IN_USE] = "errors_in_use_total",
		[SST_TIMEOUTS] = "timeouts_total",
		[SST_PROTOCOL_ERRORS] = "protocol_errors_total",
	};
	struct ctl_gauges g;
	size_t i;

	master_ctl_gauges(&g);
	add(a, "start_time_seconds\t%lld\n", (long long)started);
	for (i = 0; i < CTL_C_COUNT; i++)
		add(a, "%s\t%" PRIu64 "\n", names[i], counters[i]);
	for (i = 0; i < SST_COUNT; i++)
		add(a, "%s\t%" PRIu64 "\n", snames[i], sess_counters[i]);
	add(a, "slots_busy\t%zu\n", g.busy);
	add(a, "slots_idle\t%zu\n", g.idle);
	add(a, "slots_max\t%zu\n", g.max);
	add(a, "connections_waiting\t%zu\n", g.pending);
}

char *
control_stats_text(size_t *len_r)
{
	struct answer a;

	memset(&a, 0, sizeof(a));
	if (buf_init(&a.b, 4096, (CTL_C_COUNT + SST_COUNT + 8) *
	    CTL_LINE_MAX) == -1)
		return NULL;
	add_stats(&a);
	*len_r = buf_used(&a.b);
	return (char *)a.b.data;	/* the caller's to free */
}

int
control_transcript_for(const char *addr, char *users, size_t len)
{
	size_t i, o = 0;
	int on = 0;

	users[0] = '\0';
	for (i = 0; i < ntr_nets && !on; i++)
		on = addrlist_match(addr, tr_nets[i]);
	for (i = 0; i < ntr_users; i++) {
		int n = snprintf(users + o, len - o, "%s%s", o ? " " : "",
		    tr_users[i]);

		if (n < 0 || (size_t)n >= len - o) {
			users[o] = '\0';	/* (len holds them all) */
			break;
		}
		o += (size_t)n;
	}
	return on;
}

static void
add_transcripts(struct answer *a, uint32_t *count_r)
{
	size_t i;

	for (i = 0; i < ntr_users; i++)
		add(a, "user\t%s\n", tr_users[i]);
	for (i = 0; i < ntr_nets; i++)
		add(a, "network\t%s\n", tr_nets[i]);
	*count_r = (uint32_t)(ntr_users + ntr_nets);
}

/* transcript on|off arg: an address or network (CIDR), else a user
 * name (printable, no space: CTL_ARG_MAX bounds it). */
static uint32_t
transcript_switch(int on, const char *arg)
{
	char (*list)[PEER_ADDR_MAX + 4] = tr_nets;
	size_t *n = &ntr_nets, i, size = sizeof(tr_nets[0]);
	int net = strcmp(arg, "none") != 0 && addrlist_valid(arg) &&
	    strpbrk(arg, " ,\t") == NULL;

	for (i = 0; arg[i] != '\0'; i++)
		if (arg[i] <= ' ' || arg[i] > '~')
			return CTL_ERR_BAD_REQUEST;
	if (!net) {
		list = (char (*)[PEER_ADDR_MAX + 4])tr_users;
		n = &ntr_users;
		size = sizeof(tr_users[0]);
	}
	for (i = 0; i < *n; i++)
		if (strcmp((char *)list + i * size, arg) == 0)
			break;
	if (!on) {
		if (i == *n)
			return CTL_ERR_NO_MATCH;
		memmove((char *)list + i * size, (char *)list + (i + 1) * size,
		    (*n - i - 1) * size);
		(*n)--;
		log_info("transcript off for %s %s (privpopctl)",
		    net ? "network" : "user", arg);
		return CTL_OK;
	}
	if (i < *n)
		return CTL_OK;		/* already on */
	if (*n == CTL_TRANSCRIPT_MAX || strlen(arg) >= size)
		return CTL_ERR_FULL;
	snprintf((char *)list + (*n)++ * size, size, "%s", arg);
	log_info("transcript on for %s %s (privpopctl)",
	    net ? "network" : "user", arg);
	return CTL_OK;
}

/* Serve one request: the status, *count_r, and the text in a. */
static uint32_t
serve(uint32_t cmd, const char *arg, struct answer *a, uint32_t *count_r)
{
	struct ctl_session *list;
	size_t n, i, hit = 0;

	*count_r = 0;
	switch (cmd) {
	case CTL_CMD_STATS:
		if (arg[0] != '\0')
			return CTL_ERR_BAD_REQUEST;
		add_stats(a);
		*count_r = CTL_C_COUNT + SST_COUNT;
		return CTL_OK;
	case CTL_CMD_RELOAD:
		if (arg[0] != '\0')
			return CTL_ERR_BAD_REQUEST;
		log_info("reload requested by privpopctl");
		raise(SIGHUP);		/* the loop's next turn reloads */
		return CTL_OK;
	case CTL_CMD_TRANSCRIPT_ON:
	case CTL_CMD_TRANSCRIPT_OFF:
	case CTL_CMD_TRANSCRIPTS: {
		uint32_t st = CTL_OK;

		if ((cmd == CTL_CMD_TRANSCRIPTS) != (arg[0] == '\0'))
			return CTL_ERR_BAD_REQUEST;
		if (cmd != CTL_CMD_TRANSCRIPTS)
			st = transcript_switch(cmd == CTL_CMD_TRANSCRIPT_ON, arg);
		if (st == CTL_OK)
			add_transcripts(a, count_r);
		return st;
	}
	case CTL_CMD_LOG_LEVEL:
		if (arg[0] != '\0') {
			if (strcmp(arg, "debug") != 0 && strcmp(arg, "info") != 0)
				return CTL_ERR_BAD_REQUEST;
			master_ctl_log_level(strcmp(arg, "debug") == 0);
		}
		add(a, "log_level\t%s\n", log_debug_enabled() ? "debug" :
		    "info");
		*count_r = 1;
		return CTL_OK;
	case CTL_CMD_WHO:
	case CTL_CMD_KICK:
		break;
	default:
		return CTL_ERR_BAD_REQUEST;
	}
	if ((cmd == CTL_CMD_WHO) != (arg[0] == '\0'))
		return CTL_ERR_BAD_REQUEST;
	if (info_cap == 0)
		return CTL_OK;
	if ((list = calloc(info_cap, sizeof(*list))) == NULL)
		return CTL_ERR_INTERNAL;
	n = master_ctl_sessions(list, info_cap);
	for (i = 0; i < n; i++) {
		if (cmd == CTL_CMD_KICK) {
			if (!matches(&list[i], arg))
				continue;
			add_session(a, &list[i]);	/* before it is gone */
			if (master_ctl_kick(list[i].slot) == -1)
				continue;
			control_count(CTL_C_KICKED);
		} else
			add_session(a, &list[i]);
		hit++;
	}
	free(list);
	*count_r = (uint32_t)hit;
	return cmd == CTL_CMD_KICK && hit == 0 ? CTL_ERR_NO_MATCH : CTL_OK;
}

static void
answer(int fd, uint32_t status, uint32_t count, const struct answer *a)
{
	int mfd = -1;

	if (status == CTL_OK && (mfd = fs_sealed_memfd("privpopctl",
	    buf_ptr(&a->b), buf_used(&a->b))) == -1) {
		log_warn("control answer");
		status = CTL_ERR_INTERNAL;
	}
	/* non-blocking: a peer that does not read loses its answer */
	if (ipc_send_ctl_answer(fd, status, count, mfd) == -1 &&
	    errno != EPIPE)
		log_warn("control answer");
	if (mfd != -1)
		close(mfd);
}

static void
conn_read(size_t i)
{
	struct answer a;
	struct msg m;
	const char *arg;
	uint32_t cmd, status, count = 0;
	int r;

	if ((r = ipc_recv(conns[i].fd, &m)) == -1 && (errno == EAGAIN ||
	    errno == EWOULDBLOCK))
		return;		/* not yet */
	if (r == 1 && m.fd != -1) {
		close(m.fd);	/* ipc_recv let none through for this type */
		m.fd = -1;
	}
	if (r != 1) {
		if (r == -1)
			log_warnx("control socket: a malformed request (%s)",
			    msg_name(m.type));
		conn_drop(i);
		return;
	}
	memset(&a, 0, sizeof(a));
	if (conns[i].refused)
		status = CTL_ERR_NOT_ROOT;	/* its request unread */
	else if (ipc_get_master_ctl_request(&m, &cmd, &arg) == -1) {
		log_warnx("control socket: a malformed request (%s)",
		    msg_name(m.type));
		status = CTL_ERR_BAD_REQUEST;
	} else {
		/* at most a line a slot, and a few more */
		if (buf_init(&a.b, 4096, (info_cap + CTL_C_COUNT + SST_COUNT + 8) *
		    CTL_LINE_MAX) == -1)
			status = CTL_ERR_INTERNAL;
		else
			status = serve(cmd, arg, &a, &count);
		if (a.full)
			log_warnx("control answer cut short");
	}
	answer(conns[i].fd, status, count, &a);
	buf_free(&a.b);
	conn_drop(i);
}

static void
conn_accept(void)
{
	struct ucred cr;
	socklen_t len;
	int k, fd, refused;

	for (k = 0; k < CTL_CONN_MAX; k++) {
		if ((fd = accept4(ctl_fd, NULL, NULL, SOCK_CLOEXEC |
		    SOCK_NONBLOCK)) == -1) {
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR && errno != ECONNABORTED)
				log_warn("control socket: accept");
			return;
		}
		len = sizeof(cr);
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) == -1 ||
		    len != sizeof(cr) || (cr.uid != 0 && cr.uid != geteuid())) {
			/* answered when its request has come: closed
			 * with the request unread, the peer would see a
			 * reset, not the refusal */
			log_warnx("control socket: refused a peer of uid %ld "
			    "(pid %ld): root only", len == sizeof(cr) ?
			    (long)cr.uid : -1L, len == sizeof(cr) ?
			    (long)cr.pid : -1L);
			refused = 1;
		} else
			refused = 0;
		if (nconns == CTL_CONN_MAX) {
			size_t i, old = 0;

			for (i = 1; i < nconns; i++)
				if (conns[i].since < conns[old].since)
					old = i;
			conn_drop(old);
		}
		conns[nconns].fd = fd;
		conns[nconns].refused = refused;
		conns[nconns++].since = mono();
	}
}

void
control_handle(const struct pollfd *pfds, size_t n)
{
	size_t i, k;

	for (i = 0; i < n; i++) {
		if (pfds[i].revents == 0)
			continue;
		if (pfds[i].fd == ctl_fd) {
			conn_accept();
			continue;
		}
		for (k = 0; k < nconns; k++)
			if (conns[k].fd == pfds[i].fd) {
				conn_read(k);
				break;
			}
	}
}
