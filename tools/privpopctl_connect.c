/*
 * privpopctl's privileged part, kept to what needs root: find the
 * control socket (-s, or control_socket in privpopd's configuration),
 * connect to it (root's, mode 0600), and drop for good to privpopd's
 * unprivileged user before anything is sent or read.  The master checks
 * the connecting process's credentials as connect() recorded them
 * (SO_PEERCRED), so the request still comes from root; the answer is
 * parsed by privpopctl.c without privilege.
 *
 * Runs as: root (the administrator who calls it), up to the drop; not
 * part of the daemon.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "privdrop.h"
#include "privpopctl.h"

static const char *prog = "privpopctl";

static int
connect_to(const char *path, const char *conffile)
{
	struct sockaddr_un sun;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path) >=
	    (int)sizeof(sun.sun_path)) {
		fprintf(stderr, "%s: control_socket %s is longer than %zu "
		    "characters\n", prog, path, sizeof(sun.sun_path) - 1);
		exit(1);
	}
	if ((fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0)) == -1) {
		fprintf(stderr, "%s: socket: %s\n", prog, strerror(errno));
		exit(1);
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0)
		return fd;
	if (errno == EACCES || errno == EPERM)
		fprintf(stderr, "%s: %s: %s: must be run as root (the control "
		    "socket is root's, mode 0600)\n", prog, path,
		    strerror(errno));
	else if (errno == ENOENT || errno == ECONNREFUSED)
		fprintf(stderr, "%s: %s: %s: is privpopd running? "
		    "control_socket = %s%s%s%s\n", prog, path, strerror(errno),
		    path, conffile ? " (from " : "", conffile ? conffile : "",
		    conffile ? "; -s names another)" : "");
	else
		fprintf(stderr, "%s: %s: %s\n", prog, path, strerror(errno));
	exit(1);
}

/* Become user (privpopd's unprivileged one), or nobody when this host
 * has no such user (privpopctl -s without a configuration). */
static void
drop_to(const char *user)
{
	struct passwd *pw;

	if (!priv_is_root())
		return;		/* nothing to drop: connect() was refused */
	if ((pw = getpwnam(user)) == NULL || pw->pw_uid == 0)
		pw = getpwnam("nobody");
	if (pw == NULL || pw->pw_uid == 0 || pw->pw_gid == 0) {
		fprintf(stderr, "%s: neither user %s nor nobody exists to drop "
		    "root to (user = in privpopd.conf names it)\n", prog,
		    user);
		exit(1);
	}
	priv_drop(pw->pw_uid, pw->pw_gid, PRIV_NO_GROUP, NULL);
}

int
main(int argc, char **argv)
{
	static struct conf conf;
	char conffile[CONF_PATH_MAX], err[512];
	const char *sockpath = NULL;
	int ch, fd, cflag = 0, have_conf;

	snprintf(conffile, sizeof(conffile), "%s/privpopd.conf",
	    PRIVPOP_SYSCONFDIR);
	while ((ch = getopt(argc, argv, "+c:s:")) != -1) {
		switch (ch) {
		case 'c':
			if (snprintf(conffile, sizeof(conffile), "%s",
			    optarg) >= (int)sizeof(conffile))
				ctl_usage();
			cflag = 1;
			break;
		case 's':
			sockpath = optarg;
			break;
		default:
			ctl_usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		ctl_usage();

	conf_defaults(&conf);
	have_conf = access(conffile, F_OK) == 0;
	if (have_conf || cflag) {
		if (conf_load(&conf, conffile, err, sizeof(err)) == -1) {
			if (sockpath == NULL) {
				fprintf(stderr, "%s: %s (-s names the control "
				    "socket without it)\n", prog, err);
				return 1;
			}
			conf_defaults(&conf);	/* -s: only the user */
		}
	}
	if (sockpath == NULL) {
		if (conf.control_socket[0] == '\0') {
			fprintf(stderr, "%s: control_socket = none in %s: this "
			    "privpopd has no control socket\n", prog,
			    conffile);
			return 1;
		}
		sockpath = conf.control_socket;
	}
	fd = connect_to(sockpath, have_conf && sockpath ==
	    conf.control_socket ? conffile : NULL);
	drop_to(conf.user);
	return ctl_main(fd, sockpath, argc, argv);
}
