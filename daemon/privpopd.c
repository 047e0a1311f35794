/*
 * privpopd: command line and configuration; then the master (standalone)
 * or a single session (inetd mode).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"
#include "master.h"

#ifndef PRIVPOP_SYSCONFDIR
#define PRIVPOP_SYSCONFDIR "/usr/local/etc/privpop"
#endif

static void
usage(void)
{
	fprintf(stderr,
	    "usage: privpopd [-fitV] [-c file]\n"
	    "  -c file  configuration file (default %s/privpopd.conf)\n"
	    "  -f       stay in the foreground and log to stderr too\n"
	    "  -i       inetd mode: one session on stdin/stdout\n"
	    "  -t       check the configuration and exit\n"
	    "  -V       print the version and exit\n", PRIVPOP_SYSCONFDIR);
	exit(2);
}

int
main(int argc, char *argv[])
{
	static struct conf conf;
	static char conffile[CONF_PATH_MAX];
	struct master_opts o;
	char err[512];
	int ch, test = 0;

	memset(&o, 0, sizeof(o));
	snprintf(conffile, sizeof(conffile), "%s/privpopd.conf",
	    PRIVPOP_SYSCONFDIR);
	while ((ch = getopt(argc, argv, "c:fitV")) != -1) {
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
	o.conffile = conffile;

	if (conf_load(&conf, conffile, err, sizeof(err)) == -1) {
		fprintf(stderr, "privpopd: %s\n", err);
		return 1;
	}
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
