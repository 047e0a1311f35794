/*
 * Why a mailbox cannot be opened, for the log and for the client's
 * response code (RFC 3206): runs in privpop-store, as the owner.
 */
#ifndef PRIVPOP_MAILERR_H
#define PRIVPOP_MAILERR_H

#include "mailbox.h"

/* The system call on path (of a mailbox of kind "maildir" or "mbox")
 * failed with err: log one line with the path, the cause and the fix,
 * and return MAIL_TEMP for what may pass by itself (out of memory or
 * descriptors, interrupted, I/O) or MAIL_PERM for what needs the
 * administrator (a missing or foreign-owned directory, a file where a
 * directory should be): a client told [SYS/TEMP] retries for ever. */
enum mail_err	mail_os_error(const char *kind, const char *path, int err);

/* Only the class of err. */
enum mail_err	mail_err_class(int err);

#endif
