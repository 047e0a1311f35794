/*
 * privpopd: command line and configuration; then the master (standalone)
 * or a single session (inetd mode).
 *
 * Runs as: root (privpopd before the master or the inetd session starts;
 * privpopd -t).
 */
#include "config.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "conf.h"
#include "fdlayout.h"
#include "log.h"
#include "master.h"
#include "sdnotify.h"
#include "tls_ctx.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <netinet/in.h>

#include <dirent.h>
#include <errno.h>
#include <netdb.h>

#include "privdrop.h"
#include "proctitle.h"

static void
usage(void)
{
	fprintf(stderr,
	    "usage: privpopd [-fiItV] [-c file]\n"
	    "  -c file  configuration file (default %s/privpopd.conf)\n"
	    "  -f       stay in the foreground and log to stderr too\n"
	    "  -i       inetd mode: one session on stdin/stdout\n"
	    "  -I       inetd mode, implicit TLS (a port 995 service)\n"
	    "  -t       check the configuration, the passwd-file, the TLS\n"
	    "           keys and the ports, and exit (a port held by a\n"
	    "           running privpopd is only a warning)\n"
	    "  -V       print the version and exit\n", PRIVPOP_SYSCONFDIR);
	exit(2);
}

/* Whether pid is a privpopd. */
static int
is_privpopd(long pid)
{
	char path[64], buf[32];
	FILE *fp;

	snprintf(path, sizeof(path), "/proc/%ld/comm", pid);
	if ((fp = fopen(path, "re")) == NULL)
		return 0;
	if (fgets(buf, sizeof(buf), fp) == NULL)
		buf[0] = '\0';
	fclose(fp);
	return strcmp(buf, "privpopd\n") == 0;
}

/* The inodes of the listening TCP sockets on port, from one of
 * /proc/net/tcp and tcp6, added to the n in ino: the new count. */
static size_t
listen_inodes(const char *table, unsigned port, unsigned long *ino,
    size_t max, size_t n)
{
	char line[512];
	unsigned lport, st;
	unsigned long inode;
	FILE *fp;

	if ((fp = fopen(table, "re")) == NULL)
		return n;
	while (n < max && fgets(line, sizeof(line), fp) != NULL)
		if (sscanf(line, " %*u: %*[0-9A-Fa-f]:%x %*[0-9A-Fa-f]:%*x "
		    "%x %*s %*s %*s %*s %*s %lu", &lport, &st, &inode) == 3 &&
		    lport == port && st == 0x0a)	/* TCP_LISTEN */
			ino[n++] = inode;
	fclose(fp);
	return n;
}

/* A running privpopd that holds port: the one pid_file names, or one
 * in the foreground (the systemd unit runs privpopd -f, which writes
 * no pid file) found through /proc.  0 if none. */
static pid_t
running_daemon(const struct conf *c, const char *port)
{
	unsigned long ino[8];
	char buf[32], path[320], link[64], want[64];
	struct dirent *de;
	DIR *proc, *fds;
	FILE *fp;
	long pid = 0;
	size_t n, i;
	char *end;

	if ((fp = fopen(c->pid_file, "re")) != NULL) {
		if (fgets(buf, sizeof(buf), fp) != NULL)
			pid = strtol(buf, &end, 10);
		fclose(fp);
		if (pid > 1 && is_privpopd(pid))
			return (pid_t)pid;
	}
	n = listen_inodes("/proc/net/tcp", (unsigned)atoi(port), ino, 8, 0);
	n = listen_inodes("/proc/net/tcp6", (unsigned)atoi(port), ino, 8, n);
	if (n == 0 || (proc = opendir("/proc")) == NULL)
		return 0;
	pid = 0;
	while (pid == 0 && (de = readdir(proc)) != NULL) {
		long p = strtol(de->d_name, &end, 10);

		if (*end != '\0' || p <= 1 || !is_privpopd(p))
			continue;
		snprintf(path, sizeof(path), "/proc/%ld/fd", p);
		if ((fds = opendir(path)) == NULL)
			continue;
		while (pid == 0 && (de = readdir(fds)) != NULL) {
			ssize_t l;

			snprintf(path, sizeof(path), "/proc/%ld/fd/%s", p,
			    de->d_name);
			if ((l = readlink(path, link, sizeof(link) - 1)) <= 0)
				continue;
			link[l] = '\0';
			for (i = 0; i < n; i++) {
				snprintf(want, sizeof(want), "socket:[%lu]",
				    ino[i]);
				if (strcmp(link, want) == 0)
					pid = p;
			}
		}
		closedir(fds);
	}
	closedir(proc);
	return (pid_t)pid;
}

/* -t only: can each listener bind?  A port held by a running privpopd
 * is a warning (-t is the reload check of a running
 * daemon, and systemd's ExecStartPre), anything else an error, as the
 * start would fail.  A start binds for itself and says so. */
static int
check_listeners(const struct conf *c)
{
	int bad = 0, i;

	for (i = 0; i < c->nlisten; i++) {
		struct addrinfo hints, *res, *ai;
		const struct conf_listen *l = &c->listen[i];
		char host[NI_MAXHOST];
		pid_t pid;
		int r, fd;

		memset(&hints, 0, sizeof(hints));
		hints.ai_socktype = SOCK_STREAM;
		hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
		r = getaddrinfo(strcmp(l->host, "*") ? l->host : NULL, l->port,
		    &hints, &res);
		if (r != 0) {
			fprintf(stderr, "privpopd: listen %s:%s: %s: fix "
			    "listen\n", l->host, l->port, gai_strerror(r));
			bad++;
			continue;
		}
		for (ai = res; ai != NULL; ai = ai->ai_next) {
			if ((fd = master_bound_socket(ai)) == -2)
				continue;
			r = fd == -1 ? errno : 0;
			if (fd != -1)
				close(fd);
			if (r == 0 || getnameinfo(ai->ai_addr, ai->ai_addrlen,
			    host, sizeof(host), NULL, 0, NI_NUMERICHOST) != 0)
				continue;
			if (r == EADDRINUSE &&
			    (pid = running_daemon(c, l->port)) > 0)
				fprintf(stderr, "privpopd: warning: port %s on "
				    "%s is in use by the running privpopd (pid "
				    "%ld): fine for a reload; stop it before "
				    "starting another\n", l->port, host,
				    (long)pid);
			else if (r == EADDRINUSE) {
				fprintf(stderr, "privpopd: port %s on %s is in "
				    "use (another POP3 server or privpopd "
				    "already running?): stop it, or change "
				    "listen\n", l->port, host);
				bad++;
			} else if (r == EADDRNOTAVAIL) {
				fprintf(stderr, "privpopd: listen %s:%s: %s is "
				    "not an address of this host: fix listen\n",
				    l->host, l->port, host);
				bad++;
			}
		}
		freeaddrinfo(res);
	}
	return bad;
}

static int
check_helpers(const struct conf *c)
{
	int bad = 0;

	if (access(c->auth_helper, X_OK) == -1) {
		fprintf(stderr, "privpopd: auth_helper %s: %s: fix "
		    "auth_helper or reinstall\n", c->auth_helper,
		    strerror(errno));
		bad++;
	}
	if (access(c->store_helper, X_OK) == -1) {
		fprintf(stderr, "privpopd: store_helper %s: %s: fix "
		    "store_helper or reinstall\n", c->store_helper,
		    strerror(errno));
		bad++;
	}
	return bad;
}

/* The passwd-file.  -t has privpop-auth -t read it whole, since the
 * parser is there (the master links no auth code: privpop-auth is the
 * only executable that reads the file); it prints every problem, and
 * one malformed line fails the check.  A start only needs the file to
 * be there: a bad line costs that user the login, and says why in the
 * log, rather than stopping every other user's mail. */
static int
check_passwd_file(const struct conf *c, const char *conffile, int test)
{
	char *argv[] = { "privpop-auth", "-t", "-c", (char *)conffile, NULL };
	char *envp[PRIV_ENV_MAX];
	struct stat st;
	const char *why = NULL;
	pid_t pid;
	int status;


	if (stat(c->passwd_file, &st) == -1)
		why = strerror(errno);
	else if (!S_ISREG(st.st_mode))
		why = "not a regular file";
	else if (st.st_mode & S_IROTH)
		fprintf(stderr, "privpopd: warning: passwd_file %s is "
		    "world-readable (chmod 600 it)\n", c->passwd_file);
	if (!test) {
		if (why == NULL)
			return 0;
		fprintf(stderr, "privpopd: passwd_file %s: %s: fix passwd_file "
		    "(privpopd -t says more)\n", c->passwd_file, why);
		return 1;
	}
	if (access(c->auth_helper, X_OK) == -1)
		return 0;	/* check_helpers says so */
	fflush(stderr);
	switch (pid = fork()) {
	case -1:
		fprintf(stderr, "privpopd: fork: %s\n", strerror(errno));
		return 1;
	case 0:
		priv_child_env(envp, "/usr/bin:/bin");
		execve(c->auth_helper, argv, envp);
		fprintf(stderr, "privpopd: exec %s: %s\n", c->auth_helper,
		    strerror(errno));
		_exit(1);
	}
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	return !WIFEXITED(status) || WEXITSTATUS(status) != 0;
}

/* What -t checks beyond the syntax, and what start-up checks before it
 * daemonizes: problems that would otherwise only show as failing
 * sessions.  Prints each problem, one line with its fix; returns their
 * number (warnings are not counted). */
static int
check_setup(const struct conf *c, const char *conffile, int test,
    int inetd)
{
	SSL_CTX *ctx;
	char err[512];
	uid_t uid;
	gid_t gid;
	int bad = 0, kfd;

	if (test && !inetd)	/* inetd holds the port */
		bad += check_listeners(c);
	bad += check_helpers(c);
	if (conf_has_backend(c, AUTH_BACKEND_PASSWD_FILE))
		bad += check_passwd_file(c, conffile, test);
	if (resolve_user(c, &uid, &gid, err, sizeof(err)) == -1) {
		fprintf(stderr, "privpopd: %s\n", err);
		bad++;
	}
	if (c->tls_cert[0] != '\0') {
		if ((ctx = tls_ctx_new(c, &kfd, err, sizeof(err))) == NULL) {
			fprintf(stderr, "privpopd: TLS: %s\n", err);
			bad++;
		} else {
			tls_ctx_free(ctx);
			close(kfd);
		}
	}
	return bad;
}

static ssize_t
syslog_write(void *cookie, const char *buf, size_t len)
{
	size_t n = len;

	(void)cookie;
	while (n > 0 && buf[n - 1] == '\n')
		n--;
	if (n > 0)
		syslog(LOG_ERR, "%.*s", (int)(n > INT_MAX ? INT_MAX : n), buf);
	return (ssize_t)len;
}

/*
 * inetd mode: stderr may be the client's socket (inetd and xinetd pass
 * it on 0, 1 and 2), and a start-up error must never reach the client
 * as its greeting.  Whatever privpopd would print there goes to syslog
 * (facility mail), one line a record, and fd 2 becomes /dev/null; the
 * session then ends without a word to the client.
 */
static void
stderr_to_syslog(void)
{
	static cookie_io_functions_t io = { .write = syslog_write };
	FILE *f;
	int fd;

	log_open("privpopd", 0, 0);
	if ((fd = open("/dev/null", O_WRONLY)) == -1 || dup2(fd, 2) == -1)
		exit(1);
	if (fd != 2)
		close(fd);
	if ((f = fopencookie(NULL, "w", io)) == NULL)
		exit(1);
	setvbuf(f, NULL, _IOLBF, 0);
	stderr = f;
}

/* An auth_mechanisms list that names a mechanism PAM cannot serve (it
 * checks passwords only); privpop-auth says the same at start of the
 * passwd-file entries without the secret a mechanism needs. */
static void
warn_mechs(const struct conf *c)
{
	char names[96];
	int un;

	if (c->auth_mechs == AUTH_MECH_AUTO)
		return;
	un = c->auth_mechs & ~conf_mechs_served(c, AUTH_MECH_ALL);
	if (un != 0)
		fprintf(stderr, "privpopd: warning: auth_mechanisms: the pam "
		    "backend cannot serve %s (PAM checks passwords only); its "
		    "users fail with it (not counted as penalties)\n",
		    conf_mechs_str(un, names, sizeof(names)));
}

int
main(int argc, char *argv[])
{
	static struct conf conf;
	static char conffile[CONF_PATH_MAX];
	struct master_opts o;
	char err[512];
	int ch, test = 0;

	/* libbsd moves the environment out of the title's way: before
	 * anything sets or unsets a variable (sdnotify_init does) */
	proctitle_init(argc, argv, environ);
	/* Before anything opens a descriptor (see fdlayout.h): 0..2 open,
	 * and nothing else we did not ask for (a shell's or a service
	 * manager's leftovers would reach every slot), but systemd's
	 * listeners. */
	if (fd_stdio_ensure() == -1)
		return 1;
	closefrom(3 + master_listen_fds());
	memset(&o, 0, sizeof(o));
	snprintf(conffile, sizeof(conffile), "%s/privpopd.conf",
	    PRIVPOP_SYSCONFDIR);
	while ((ch = getopt(argc, argv, "c:fiItV")) != -1) {
		switch (ch) {
		case 'c':
			if (optarg[0] != '/') {
				/* helpers are started elsewhere: make it
				 * absolute */
				char cwd[CONF_PATH_MAX];

				if (getcwd(cwd, sizeof(cwd)) == NULL ||
				    snprintf(conffile, sizeof(conffile),
				    "%s/%s", cwd, optarg) >=
				    (int)sizeof(conffile)) {
					fprintf(stderr, "privpopd: config path "
					    "too long\n");
					return 2;
				}
			} else if (snprintf(conffile, sizeof(conffile), "%s",
			    optarg) >= (int)sizeof(conffile)) {
				fprintf(stderr, "privpopd: config path too "
				    "long\n");
				return 2;
			}
			break;
		case 'f':
			o.foreground = 1;
			break;
		case 'I':
			o.inetd_tls = 1;
			/* FALLTHROUGH */
		case 'i':
			o.inetd = 1;
			break;
		case 't':
			test = 1;
			break;
		case 'V':
			printf("privpopd %s\n", PACKAGE_VERSION);
			return 0;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	if (o.inetd && !o.foreground && !test)
		stderr_to_syslog();
	o.conffile = conffile;
	/* systemd's $NOTIFY_SOCKET is the master's alone: read and unset it
	 * before anything forks (check_setup's key check does) */
	if (sdnotify_init() == -1)
		fprintf(stderr, "privpopd: NOTIFY_SOCKET is not a socket "
		    "name; not notifying systemd\n");

	if (conf_load_snapshot(&conf, conffile, &o.conf_fd, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "privpopd: %s\n", err);
		return 1;
	}
	if (check_setup(&conf, conffile, test, o.inetd) > 0)
		return 1;
	warn_mechs(&conf);
	if (test) {
		printf("privpopd: configuration %s is valid\n", conffile);
		return 0;
	}
	/* Errors before daemonizing reach the terminal; after it stderr is
	 * /dev/null.  In inetd mode stderr may be the client: never. */
	log_open("privpopd", o.inetd ? o.foreground : 1, conf.log_debug);
	if (o.inetd)
		return master_inetd(&o, &conf);
	proctitle_master(&conf, conffile, master_listen_fds() == 0);
	return master_run(&o, &conf);
}
