/*
 * mail_location = auto (Dovecot's autodetection, reduced to what
 * privpop serves): ~/Maildir when the mailbox owner can open it as a
 * directory, else the system spool.  privpop-auth only expands the
 * user's ~/Maildir into "auto:PATH" (pwf_mail_location); the choice is
 * made by the owner's own process (mail_auto_resolve), so that no
 * process of root's looks into a user's home at a login.
 */
#ifndef PRIVPOP_MAIL_AUTO_H
#define PRIVPOP_MAIL_AUTO_H

#include <stddef.h>

/* The system spool of mbox files, one per user, named after it. */
#define MAIL_SPOOL_DIR		"/var/mail"
#define MAIL_AUTO_PREFIX	"auto:"

/* "auto:/home/u/Maildir" and the user's name to "maildir:/home/u/Maildir"
 * (the directory opens as fs_open_dir opens it: no symlink but root's)
 * or "mbox:" MAIL_SPOOL_DIR "/user".  0, or -1 for a location that is
 * not "auto:" with an absolute path, a name that cannot be a file name
 * of the spool, or an out too small. */
int	 mail_auto_resolve(const char *loc, const char *user, char *out,
	    size_t outlen);

#endif
