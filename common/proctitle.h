/*
 * Process titles (issue 18): what ps(1) and /proc/PID/cmdline show for
 * each process, so that an administrator sees who is doing what.
 * libbsd's setproctitle(3) writes them over the process's own argv and
 * environment strings; setproctitle writes memory only (no system
 * call), so a title may change in a chrooted, seccomp-filtered process.
 *
 * verbose_proctitle = no keeps the role and the state and leaves out
 * every user name and address (any local user can read a title, unless
 * /proc is mounted with hidepid=2).  A user name appears only once
 * privpop-auth has verified it, never what a client typed.
 */
#ifndef PRIVPOP_PROCTITLE_H
#define PRIVPOP_PROCTITLE_H

#include "conf.h"

/* Once, first thing in main(), with main's own arguments (envp as
 * main() got it: before anything sets or unsets a variable). */
void	proctitle_init(int argc, char *argv[], char *envp[]);
/* Any fixed title, e.g. "privpop: [idle]"; no-op before proctitle_init
 * (the unit tests link the callers without it). */
void	proctitle_set(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));
/* "privpopd: master", with " -c FILE" when conffile is not the default,
 * and the listening addresses (when verbose, listen says, and they fit
 * in a short line). */
void	proctitle_master(const struct conf *, const char *conffile,
	    int show_listen);
/* "privpop: [user ]addr [STATE][ TLS]": user NULL before login; terse
 * "privpop: [STATE][ TLS]". */
void	proctitle_session(int verbose, const char *user, const char *addr,
	    const char *state, int tls);
/* "privpop-store: user (maildir)" or "(mbox)"; terse without user. */
void	proctitle_store(int verbose, const char *user, int mbox);
/* "privpop-auth: addr", terse "privpop-auth: [session]". */
void	proctitle_auth(int verbose, const char *addr);

#endif
