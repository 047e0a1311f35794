/*
 * privpopd: command line and configuration; then the master (standalone)
 * or a single session (inetd mode).
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
#include "tls.h"

#include <netdb.h>
#include <pwd.h>
#include <sys/stat.h>

static void
usage(void)
{
	fprintf(stderr,
	    "usage: privpopd [-fiItV] [-c file]\n"
	    "  -c file  configuration file (default %s/privpopd.conf)\n"
	    "  -f       stay in the foreground and log to stderr too\n"
	    "  -i       inetd mode: one session on stdin/stdout\n"
	    "  -I       inetd mode, implicit TLS (a port 995 service)\n"
	    "  -t       check the configuration and exit\n"
	    "  -V       print the version and exit\n", PRIVPOP_SYSCONFDIR);
	exit(2);
}

/* What -t checks beyond the syntax, and what start-up checks before it
 * daemonizes: problems that would otherwise only show as failing
 * sessions.  Prints each problem; returns their number. */
static int
check_setup(const struct conf *c)
{
	struct stat st;
	SSL_CTX *ctx;
	char err[512];
	int bad = 0, i, kfd;

	for (i = 0; i < c->nlisten; i++) {
		struct addrinfo hints, *res;
		const struct conf_listen *l = &c->listen[i];
		int r;

		memset(&hints, 0, sizeof(hints));
		hints.ai_socktype = SOCK_STREAM;
		hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
		r = getaddrinfo(strcmp(l->host, "*") ? l->host : NULL, l->port,
		    &hints, &res);
		if (r != 0) {
			fprintf(stderr, "privpopd: listen %s:%s: %s\n",
			    l->host, l->port, gai_strerror(r));
			bad++;
		} else
			freeaddrinfo(res);
	}
	if (access(c->auth_helper, X_OK) == -1) {
		fprintf(stderr, "privpopd: auth_helper %s: not executable\n",
		    c->auth_helper);
		bad++;
	}
	if (access(c->store_helper, X_OK) == -1) {
		fprintf(stderr, "privpopd: store_helper %s: not executable\n",
		    c->store_helper);
		bad++;
	}
	if (conf_has_backend(c, AUTH_BACKEND_PASSWD_FILE) &&
	    (stat(c->passwd_file, &st) == -1 || access(c->passwd_file, R_OK))) {
		fprintf(stderr, "privpopd: passwd_file %s: not readable\n",
		    c->passwd_file);
		bad++;
	} else if (conf_has_backend(c, AUTH_BACKEND_PASSWD_FILE) &&
	    (st.st_mode & S_IROTH))
		fprintf(stderr, "privpopd: warning: passwd_file %s is "
		    "world-readable (chmod 600 it)\n", c->passwd_file);
	if (geteuid() == 0 && getpwnam(c->user) == NULL) {
		fprintf(stderr, "privpopd: user \"%s\" does not exist\n",
		    c->user);
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
	if (check_setup(&conf) > 0)
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
	return master_run(&o, &conf);
}
