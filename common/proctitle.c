/*
 * Process titles with libbsd's setproctitle(3); see proctitle.h.
 *
 * Why libbsd and not our own argv rewrite: a title has to go where the
 * kernel's /proc/PID/cmdline looks (from argv[0] on, into the
 * environment strings when they follow argv contiguously), the
 * environment must first move to the heap (getenv must keep working),
 * and the kernel's rules for where the title ends have changed between
 * versions.  libbsd's setproctitle_init and setproctitle do each of
 * these steps; a dozen lines of our own would get one of them wrong.
 *
 * Layout: setproctitle_init runs in each executable's main (privpopd,
 * privpop-auth, privpop-store).  Every other process inherits the state
 * across fork: the slot zygote and the slots are clones of the master
 * (their title area is the master's argv, copied on write), privpop-auth
 * helpers are forks of privpop-auth -Z, workers forks of privpop-store
 * -Z or an exec of privpop-store of their own.
 *
 * Runs as: root (privpopd's master, privpop-auth, privpop-store up to
 * its drop), privpop (slot zygote, slots, session children), the
 * mailbox owner (the mailstore worker).
 */
#include "config.h"

#include <sys/types.h>

#include <bsd/unistd.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proctitle.h"
#include "limits.h"

/* The master's listening addresses are shown while they take no more
 * than this (two or three of them; ps on a terminal shows one line). */
#define PROCTITLE_LISTEN_SHORT	64

static int	title_on;
/* The length of argv[0] as exec'd.  A title shorter than it is padded
 * with spaces to it: libbsd marks the end of such a title with a '.'
 * at argv[0]'s old end, which the kernel shows after the title once
 * the process had more than one argument ("privpop: [idle]   ."). */
static int	title_pad;

void
proctitle_init(int argc, char *argv[], char *envp[])
{
	char *name;

	if (argc < 1 || argv == NULL || argv[0] == NULL)
		return;
	title_pad = (int)strnlen(argv[0], PROCTITLE_MAX);
	/* libbsd keeps a copy of the short name; glibc's long one still
	 * points at argv[0], which the title overwrites */
	name = strdup(program_invocation_name);
	setproctitle_init(argc, argv, envp);
	if (name != NULL)
		program_invocation_name = name;
	title_on = 1;
}

void
proctitle_set(const char *fmt, ...)
{
	char t[PROCTITLE_MAX + 1];
	va_list ap;

	if (!title_on)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(t, sizeof(t), fmt, ap);
	va_end(ap);
	/* "-": no "progname: " prefix, the title says its role */
	setproctitle("-%-*s", title_pad, t);
}

void
proctitle_master(const struct conf *c, const char *conffile,
    int show_listen)
{
	char t[PROCTITLE_MAX + 1], a[LISTEN_HOST_MAX + 16];
	size_t len, shown = 0;
	int i;

	len = (size_t)snprintf(t, sizeof(t), "privpopd: master");
	/* which instance, where more than one runs */
	if (strcmp(conffile, PRIVPOP_SYSCONFDIR "/privpopd.conf") != 0)
		len += (size_t)snprintf(t + len, sizeof(t) - len, " -c %s",
		    conffile);
	for (i = 0; show_listen && c->verbose_proctitle && i < c->nlisten &&
	    len < sizeof(t); i++) {
		const struct conf_listen *l = &c->listen[i];

		snprintf(a, sizeof(a), strchr(l->host, ':') != NULL ?
		    " [%s]:%s%s" : " %s:%s%s", l->host, l->port,
		    l->tls ? "/tls" : "");
		if ((shown += strlen(a)) > PROCTITLE_LISTEN_SHORT) {
			snprintf(t + len, sizeof(t) - len, " ...");
			break;
		}
		len += (size_t)snprintf(t + len, sizeof(t) - len, "%s", a);
	}
	proctitle_set("%s", t);
}

void
proctitle_session(int verbose, const char *user, const char *addr,
    const char *state, int tls)
{
	const char *t = tls ? " TLS" : "";

	if (!verbose)
		proctitle_set("privpop: [%s]%s", state, t);
	else if (user != NULL)
		proctitle_set("privpop: %s %s [%s]%s", user, addr, state, t);
	else
		proctitle_set("privpop: %s [%s]%s", addr, state, t);
}

void
proctitle_store(int verbose, const char *user, int mbox)
{
	const char *fmt = mbox ? "mbox" : "maildir";

	if (verbose)
		proctitle_set("privpop-store: %s (%s)", user, fmt);
	else
		proctitle_set("privpop-store: (%s)", fmt);
}

void
proctitle_auth(int verbose, const char *addr)
{
	proctitle_set("privpop-auth: %s", verbose ? addr : "[session]");
}
