/*
 * privpopctl's two halves: privpopctl_connect.c connects as root and
 * drops, privpopctl.c does the rest unprivileged.
 */
#ifndef PRIVPOP_PRIVPOPCTL_H
#define PRIVPOP_PRIVPOPCTL_H

/* The usage text on stderr, then exit(2). */
void	ctl_usage(void) __attribute__((noreturn));

/* Send the request argv names over fd (connected to sockpath), read the
 * master's answer, print it: the exit status. */
int	ctl_main(int fd, const char *sockpath, int argc, char **argv);

#endif
