/*
 * privpop-uidl's privileged part, kept to what needs root: its
 * options, privpopd's configuration (root's file), then look the
 * USER up in privpopd's backends (the passwd-file, the passwd
 * database), pick its mailbox, index directory and dotlock group with
 * privpop-auth's own functions (auth_mailbox.c), and drop for good to
 * the mailbox owner before anything of the mailbox is opened or read.
 * It reads only root's files (the configuration, the passwd-file);
 * the mailbox, which its owner controls, is parsed by privpop-uidl.c
 * after the drop.
 *
 * Runs as: root (the administrator who calls it), up to the drop; not
 * part of the daemon.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth_mailbox.h"
#include "conf.h"
#include "log.h"
#include "dotlock_child.h"
#include "privdrop.h"
#include "privpop-uidl.h"
#include "verify.h"

int
uidl_become_owner(const struct conf *conf, const char *user,
    struct uidl_target *t)
{
	static struct pwf_entry e;	/* holds a hash: wiped below */
	static char dummy[CONFIG_MAX_LINE];
	enum auth_found via;
	uid_t uid;
	gid_t gid, extra;
	int r = -1, fd;

	via = auth_lookup(conf, user, &e, dummy);
	uid = e.uid;
	gid = e.gid;
	if (via == F_NONE)
		fprintf(stderr, "privpop-uidl: %s: no such user in "
		    "auth_backends%s\n", user, priv_is_root() ? "" :
		    " (not root: the passwd-file may be unreadable)");
	else if (!verify_uid_allowed(uid, gid, conf->first_valid_uid,
	    priv_is_root()))
		fprintf(stderr, "privpop-uidl: %s: uid %u gid %u never log "
		    "in (first_valid_uid)\n", user, (unsigned)uid,
		    (unsigned)gid);
	else if (auth_mail_location(conf, &e, via, t->location,
	    sizeof(t->location)) == -1)
		fprintf(stderr, "privpop-uidl: %s: bad mail location\n", user);
	else if (!priv_is_root() && uid != getuid())
		fprintf(stderr, "privpop-uidl: %s is not you: run it as "
		    "root or as %s\n", user, user);
	else
		r = 0;
	if (r == 0) {
		auth_index_dir(conf, &e, t->index_dir, sizeof(t->index_dir));
		snprintf(t->user, sizeof(t->user), "%s", e.user);
	}
	explicit_bzero(&e, sizeof(e));
	explicit_bzero(dummy, sizeof(dummy));
	if (r == -1 || !priv_is_root())
		return r;
	/* as privpop-store's worker_drop: the mail group, where needed,
	 * only in a dotlock child; the parsing process drops without */
	extra = auth_privileged_group(conf, t->location, uid);
	if (extra != PRIV_NO_GROUP && extra != gid) {
		if ((fd = dotlock_child_start(uid, gid, extra, -1)) == -1) {
			perror("privpop-uidl: dotlock child");
			return -1;
		}
		dotlock_child_use(fd);
	}
	priv_drop(uid, gid, PRIV_NO_GROUP, NULL);
	return 0;
}

static void
usage(void)
{
	fprintf(stderr,
	    "usage: privpop-uidl [--dry-run] [--from "
	    "dovecot|courier|popa3d|auto]\n"
	    "                    [-c file] USER|PATH\n"
	    "  -n, --dry-run  print old and new UIDLs; write nothing\n"
	    "  -f, --from     whose UIDLs the clients have (default auto)\n"
	    "  -c file        privpopd's configuration (default "
	    "%s/privpopd.conf)\n"
	    "  USER           as root or as USER: privpopd's mailbox of "
	    "USER\n"
	    "  PATH           as the owner: a Maildir, an mbox, or "
	    "maildir:PATH, mbox:PATH\n", PRIVPOP_SYSCONFDIR);
	exit(UIDL_EXIT_USAGE);
}

static const struct option longopts[] = {
	{ "dry-run",	no_argument,		NULL, 'n' },
	{ "from",	required_argument,	NULL, 'f' },
	{ "help",	no_argument,		NULL, 'h' },
	{ NULL,		0,			NULL, 0 }
};

int
main(int argc, char *argv[])
{
	static struct conf conf;
	static struct uidl_target t;
	char conffile[CONF_PATH_MAX], err[512];
	const char *from = "auto", *arg;
	int ch, dry = 0;

	snprintf(conffile, sizeof(conffile), "%s/privpopd.conf",
	    PRIVPOP_SYSCONFDIR);
	while ((ch = getopt_long(argc, argv, "c:f:hn", longopts, NULL)) !=
	    -1) {
		switch (ch) {
		case 'c':
			if (snprintf(conffile, sizeof(conffile), "%s",
			    optarg) >= (int)sizeof(conffile))
				usage();
			break;
		case 'f':
			from = optarg;
			break;
		case 'n':
			dry = 1;
			break;
		default:
			usage();
		}
	}
	if (argc - optind != 1)
		usage();
	arg = argv[optind];
	log_open("privpop-uidl", 1, 0);
	/* privpopd's own: mail_location, mbox_index_dir, the locks,
	 * pop3_uidl_format; its defaults when there is none */
	if (access(conffile, F_OK) == -1 && errno == ENOENT)
		conf_defaults(&conf);
	else if (conf_load(&conf, conffile, err, sizeof(err)) == -1) {
		fprintf(stderr, "privpop-uidl: %s\n", err);
		return UIDL_EXIT_USAGE;
	}
	if (strchr(arg, '/') != NULL) {
		/* a PATH: the caller's own mailbox, opened as the caller */
		if (priv_is_root()) {
			fprintf(stderr, "privpop-uidl: as root, name a USER "
			    "(a PATH is for the mailbox owner)\n");
			return UIDL_EXIT_USAGE;
		}
	} else if (uidl_become_owner(&conf, arg, &t) == -1)
		return UIDL_EXIT_USAGE;
	return uidl_main(&conf, &t, arg, from, dry);
}
