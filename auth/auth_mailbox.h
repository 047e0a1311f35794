/*
 * Which mailbox a user name means, and as whom it is opened: the one
 * answer privpop-auth gives a login and privpop-uidl gives the
 * administrator who names a USER (both as root).  A name is looked up
 * in the configured backends, in order; its location is the entry's
 * own, else mail_location (passwd-file) or system_mail_location (PAM),
 * "auto" resolved as the worker will open it (passwd_file.h); the
 * index directory of mbox caches is mbox_index_dir expanded for it;
 * and a mail_privileged_group is kept by a dotlock child only for an
 * mbox in a spool directory that group can write and the owner cannot.
 */
#ifndef PRIVPOP_AUTH_MAILBOX_H
#define PRIVPOP_AUTH_MAILBOX_H

#include <sys/types.h>

#include <stddef.h>

#include "conf.h"
#include "passwd_file.h"

/* Which backend answers for a user name. */
enum auth_found { F_NONE, F_PASSWD_FILE, F_PAM };

/* The first backend, in the configured order, that knows the name; e
 * gets its entry (for PAM, the passwd database's uid and gid).  dummy
 * (CONFIG_MAX_LINE bytes) gets the passwd-file's dummy hash, for the
 * cost of a check that cannot succeed. */
enum auth_found auth_lookup(const struct conf *, const char *user,
	    struct pwf_entry *e, char *dummy);

/* A system user from the passwd database, with no stored secret:
 * 0, or -1 (no such user, or a name or home too long). */
int	auth_system_entry(const char *name, struct pwf_entry *e);

/* The mailbox location of e ("maildir:/..." or "mbox:/..."): 0, or -1
 * when it does not expand. */
int	auth_mail_location(const struct conf *, const struct pwf_entry *e,
	    enum auth_found via, char *out, size_t outlen);

/* mbox_index_dir expanded for e; "" (beside the mbox) when unset or
 * too long. */
void	auth_index_dir(const struct conf *, const struct pwf_entry *e,
	    char *out, size_t outlen);

/* The group the dotlock child of an mbox worker keeps (see above), or
 * PRIV_NO_GROUP. */
gid_t	auth_privileged_group(const struct conf *, const char *location,
	    uid_t uid);

#endif
