/*
 * transcript_dir: the protocol transcript to a file per session, made
 * by the master (root) in a directory of root's that no one else can
 * write to, and handed to the session child as a descriptor: the child
 * never names a path, and never holds the directory.
 */
#ifndef PRIVPOP_TRANSCRIPT_DIR_H
#define PRIVPOP_TRANSCRIPT_DIR_H

#include <sys/types.h>

#include "conf.h"

/* "20261206-174012-123456.log": a time and the slot's pid */
#define TRDIR_NAME_MAX	48

/* At start and at each reload: open transcript_dir and check it; an
 * unsafe or missing one is logged, and the transcript goes to syslog. */
void	trdir_open(const struct conf *);
/* In the slot zygote: the directory is not the slots' */
void	trdir_close_inherited(void);
/* A new file for the slot pid's session, its name in name: the
 * descriptor, or -1 (no directory, or it failed: logged). */
int	trdir_create(pid_t pid, char *name, size_t len);
/* The slot is gone: its file, if empty (a session whose transcript did
 * not switch on: transcript_users and someone else), is removed. */
void	trdir_reaped(const char *name);

#endif
