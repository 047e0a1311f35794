/*
 * Logging for every process (master and privpop-auth as root, the
 * session child, privpop-store as the mailbox owner): syslog, and in
 * the foreground stderr.  Every line is escaped here, once: its strings
 * come from clients and from file names that users choose.
 *
 * Runs as: every process, root included.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <paths.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "limits.h"
#include "log.h"

static int log_stderr;		/* in effect */
static int log_stderr_wanted;	/* asked for by log_open */
static int log_debug_on;
static int log_syslog = 1;
static char log_ident[LOG_IDENT_MAX] = "privpop";

int
log_syslog_probe(const char *path)
{
	struct sockaddr_un sa;
	int fd, ok;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa.sun_path))
		return 1;
	memcpy(sa.sun_path, path, strlen(path));
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return 1;	/* cannot tell: keep trying */
	/* a stream socket (EPROTOTYPE) is a daemon too: syslog(3) uses it */
	ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 ||
	    (errno != ENOENT && errno != ECONNREFUSED && errno != ENOTDIR);
	close(fd);
	return ok;
}

int
log_stderr_is_journal(void)
{
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	char tail;

	if (e == NULL ||
	    sscanf(e, "%llu:%llu%c", &dev, &ino, &tail) != 2 ||
	    fstat(STDERR_FILENO, &st) == -1)
		return 0;
	return (unsigned long long)st.st_dev == dev &&
	    (unsigned long long)st.st_ino == ino;
}

void
log_check_syslog(void)
{
	log_syslog = log_syslog_probe(_PATH_LOG);
	if (log_syslog)
		openlog(log_ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
	/* Under systemd stderr is the journal, which syslog reaches too:
	 * one copy of each line is enough.  Without syslog, stderr it is. */
	log_stderr = log_stderr_wanted &&
	    !(log_syslog && log_stderr_is_journal());
}

/*
 * A new socket to the syslog daemon, for a process forked by one that
 * can no longer open one (the slot zygote): -1 when nothing listens.
 */
int
log_syslog_socket(void)
{
	struct sockaddr_un sa;
	int fd;

	if (!log_syslog || strlen(_PATH_LOG) >= sizeof(sa.sun_path))
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, _PATH_LOG, strlen(_PATH_LOG));
	/* the type syslog(3) tries first, and then the other */
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
		return fd;
	close(fd);
	if (errno != EPROTOTYPE ||
	    (fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
		return fd;
	close(fd);
	return -1;
}

static int
same_peer(int a, int b)
{
	struct sockaddr_un pa, pb;
	socklen_t la = sizeof(pa), lb = sizeof(pb);
	int ta, tb;
	socklen_t l = sizeof(ta);

	memset(&pa, 0, sizeof(pa));
	memset(&pb, 0, sizeof(pb));
	if (getsockopt(a, SOL_SOCKET, SO_TYPE, &ta, &l) == -1 ||
	    (l = sizeof(tb), getsockopt(b, SOL_SOCKET, SO_TYPE, &tb, &l)) ==
	    -1 || ta != tb ||
	    getpeername(a, (struct sockaddr *)&pa, &la) == -1 ||
	    getpeername(b, (struct sockaddr *)&pb, &lb) == -1 ||
	    pa.sun_family != AF_UNIX || la != lb || la <= sizeof(sa_family_t))
		return 0;
	return memcmp(&pa, &pb, la) == 0;
}

/*
 * Put fd (from log_syslog_socket() in another process) where syslog(3)
 * keeps its socket, so that this process stops sharing its parent's:
 * a process that shares one could shut it down for all the others.
 * syslog(3) keeps only the descriptor's number, which dup3 keeps.
 * fd is closed; without a socket of syslog(3)'s to replace, the lines
 * go where they went.
 */
void
log_adopt_socket(int fd)
{
	int k;

	if (fd == -1)
		return;
	for (k = 0; k < LOG_FD_SCAN_MAX; k++)
		if (k != fd && same_peer(k, fd)) {
			if (dup3(fd, k, O_CLOEXEC) == -1)
				log_warn("dup3 of the syslog socket");
			break;
		}
	close(fd);
}

void
log_reopen(void)
{
	closelog();
	log_check_syslog();
}

void
log_open(const char *ident, int to_stderr, int debug)
{
	log_stderr = log_stderr_wanted = to_stderr;
	log_debug_on = debug;
	log_set_ident(ident);
	tzset();	/* syslog needs the zone before chroot */
	log_check_syslog();
}

void
log_set_ident(const char *ident)
{
	/* syslog keeps the pointer, so keep a stable copy */
	snprintf(log_ident, sizeof(log_ident), "%s", ident);
}

int
log_to_stderr(void)
{
	return log_stderr;
}

int
log_debug_enabled(void)
{
	return log_debug_on;
}

void
log_set_debug(int on)
{
	log_debug_on = on != 0;
}

size_t
log_escape(char *dst, size_t dstsz, const char *src)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	if (dstsz == 0)
		return 0;
	for (; *src != '\0'; src++) {
		unsigned char c = (unsigned char)*src;

		if (c >= 0x20 && c != 0x7f) {
			if (o + 1 >= dstsz)
				break;
			dst[o++] = (char)c;
			continue;
		}
		/* a newline in a file name must not start a log line */
		if (o + 4 >= dstsz)
			break;
		dst[o++] = '\\';
		dst[o++] = 'x';
		dst[o++] = hex[c >> 4];
		dst[o++] = hex[c & 0xf];
	}
	dst[o] = '\0';
	return o;
}

static void
vlog(int pri, const char *fmt, va_list ap, const char *suffix)
{
	char msg[LOG_LINE_MAX], esc[4 * sizeof(msg)];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	log_escape(esc, sizeof(esc), msg);
	if (log_stderr)
		fprintf(stderr, "%s[%ld]: %s%s%s\n", log_ident, (long)getpid(),
		    esc, suffix ? ": " : "", suffix ? suffix : "");
	if (log_syslog)
		syslog(pri, "%s%s%s", esc, suffix ? ": " : "",
		    suffix ? suffix : "");
}

void
log_warn(const char *fmt, ...)
{
	va_list ap;
	const char *e = strerror(errno);

	va_start(ap, fmt);
	vlog(LOG_WARNING, fmt, ap, e);
	va_end(ap);
}

void
log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_WARNING, fmt, ap, NULL);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_INFO, fmt, ap, NULL);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	if (!log_debug_on)
		return;
	va_start(ap, fmt);
	vlog(LOG_DEBUG, fmt, ap, NULL);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list ap;
	const char *e = strerror(errno);

	va_start(ap, fmt);
	vlog(LOG_ERR, fmt, ap, e);
	va_end(ap);
	exit(EXIT_FAILURE);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_ERR, fmt, ap, NULL);
	va_end(ap);
	exit(EXIT_FAILURE);
}
