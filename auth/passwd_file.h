/*
 * The passwd-file of virtual users (documented in etc/passwd.example):
 *
 *   user:password:uid:gid:gecos:home:mail
 *
 * user      1..128 printable characters, no ':' or '/'; may hold @domain
 * password  a crypt(3) hash ($y$ yescrypt, $2b$ bcrypt, $6$ SHA-512,
 *           $5$ SHA-256), optionally prefixed {CRYPT}; or {PLAIN}secret,
 *           a stored plaintext secret that also enables APOP; a field
 *           starting with '!' or '*' disables the account
 * uid, gid  numeric owner of the mailbox (uid 0 is refused)
 * gecos     ignored
 * home      absolute path
 * mail      mailbox location, the rest of the line (may contain ':'),
 *           maildir:~/Maildir, mbox:/var/mail/%u, mbox:~/mbox or auto;
 *           empty means the config default
 */
#ifndef PRIVPOP_PASSWD_FILE_H
#define PRIVPOP_PASSWD_FILE_H

#include <sys/stat.h>
#include <sys/types.h>
#include <stddef.h>

#include "limits.h"
#include "mail_auto.h"

enum pwf_scheme { PWF_CRYPT, PWF_PLAIN, PWF_SCRAM, PWF_LOCKED };

struct pwf_entry {
	char		 user[POP3_MAX_USER + 1];
	enum pwf_scheme	 scheme;
	char		 secret[CONFIG_MAX_LINE];	/* hash or plaintext */
	uid_t		 uid;
	gid_t		 gid;
	char		 home[MAIL_MAX_PATH];
	char		 mail[MAIL_MAX_PATH];
};

/* A user name as privpop accepts it anywhere. */
int	pwf_valid_user(const char *p, size_t len);

/* Parse one line (without its newline).  Returns 1 for an entry, 0 for
 * a blank or comment line, -1 for a malformed line. */
int	pwf_parse_line(const char *line, size_t len, struct pwf_entry *);
/* The same; a malformed line also gets why (what is wrong and what it
 * should be, never the password field) into why, of whylen bytes. */
int	pwf_parse_line_why(const char *line, size_t len, struct pwf_entry *,
	    char *why, size_t whylen);

/* Whether the open passwd-file fd is a regular file: 0, or -1 with
 * the problem and its fix (a directory, a device) in why. */
int	pwf_check_type(int fd, const char *path, char *why, size_t whylen);
/* Log a malformed line: where it is, why, and that its user cannot log
 * in until it is corrected (the message is PWF_LINE_SKIPPED). */
void	pwf_warn_line(const char *path, int lineno, const char *why);
#define PWF_LINE_SKIPPED	"passwd_file %s:%d: %s; the line is skipped " \
				"(its user cannot log in): correct it"

/* privpop-auth -t: read the whole file as a login would and tell say
 * every problem, one line each: the file itself, malformed lines, and
 * entries a login would refuse (uid or gid 0, a mail location, the
 * entry's or deflt, that cannot be expanded).  Returns their number. */
int	pwf_check(const char *path, const char *deflt,
	    void (*say)(const char *msg, void *arg), void *arg);

/* The full read's buffer. */
#define PWF_READ_CHUNK	(64 * 1024)

/* Whether a line of len bytes (without its newline) is read at all:
 * a longer one is skipped with a warning, by the full read and by the
 * index alike. */
int	pwf_line_usable(size_t len);

/*
 * Look user up in the file at path: through the index (passwd_index.h)
 * while it matches the file, else by reading the whole file.  Either
 * way the time taken does not tell where in the file the user is.  Also
 * returns in dummy_r (size CONFIG_MAX_LINE) the hash of the first crypt
 * entry, which an unknown user's password is checked against so that
 * it costs the same work.  Returns 1 found, 0 not found, -1 on error.
 */
int	pwf_lookup(const char *path, const char *user, struct pwf_entry *,
	    char *dummy_r);

/* What the entries allow: PWF_CAN_* flags, and PWF_LACKS_* for what
 * some entry that may log in cannot do (a locked entry counts for
 * neither), so that the flags of a file are those of its entries ORed
 * together, and every entry can when PWF_CAN_x is set without
 * PWF_LACKS_x. */
#define PWF_CAN_APOP	0x1	/* some {PLAIN} entry: APOP, CRAM-MD5 */
#define PWF_CAN_SCRAM	0x2	/* some {PLAIN} or {SCRAM-SHA-256} entry */
#define PWF_LACKS_APOP	0x4	/* some entry with no {PLAIN} secret */
#define PWF_LACKS_SCRAM	0x8	/* some crypt(3) entry */
int	pwf_capabilities(const char *path);
/* What one entry allows. */
int	pwf_entry_caps(const struct pwf_entry *);
/* The AUTH_MECH_* (conf.h) that the file with these capabilities can
 * serve for every user in it: none for an empty file. */
int	pwf_caps_mechs(int caps);

/* What stat() says of a passwd-file: a cache of it (the capabilities,
 * the index) holds while a fresh stat() gives the same. */
struct pwf_stamp {
	dev_t		dev;
	ino_t		ino;
	off_t		size;
	struct timespec	mtime, ctime;
};
void	pwf_stamp_of(const struct stat *, struct pwf_stamp *);
int	pwf_stamp_eq(const struct pwf_stamp *, const struct pwf_stamp *);

/* The system mail spool of "auto" locations (Debian: /var/mail). */
#define PWF_SPOOL_DIR	MAIL_SPOOL_DIR

/* Expand the mailbox location (the entry's, else deflt): ~ -> home,
 * %u user, %n local part, %d domain.  The result is "maildir:/absolute"
 * or "mbox:/absolute", or for "auto" "auto:/home/Maildir": the worker,
 * as the owner, takes that directory when it can open it, else
 * mbox:/var/mail/USER (mail_auto.h).  0 or -1. */
int	pwf_mail_location(const struct pwf_entry *, const char *deflt,
	    char *out, size_t outlen);
/* The same expansion for a path template such as "~/.privpop". */
int	pwf_expand_path(const struct pwf_entry *, const char *tmpl,
	    char *out, size_t outlen);

#endif
