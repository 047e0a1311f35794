/*
 * Runs as root inside privpop-auth: reads the root-owned passwd-file.
 * Nothing here reads client bytes except the user name it looks up,
 * which has been validated by pwf_valid_user().
 *
 * Runs as: root (privpop-auth).
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "fsutil.h"
#include "log.h"
#include "numparse.h"
#include "passwd_file.h"
#include "passwd_index.h"
#include "utf8.h"

int
pwf_valid_user(const char *p, size_t len)
{
	size_t i;

	int wide = 0;

	if (len == 0 || len > POP3_MAX_USER)
		return 0;
	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)p[i];

		if (ch >= 0x80)
			wide = 1;
		else if (ch < 0x21 || ch > 0x7e || ch == ':' || ch == '/')
			return 0;
	}
	/* RFC 6856 names: strict UTF-8, checked here whoever sent it (the
	 * session checks too, but privpop-auth takes no one's word) */
	return !wide || utf8_valid(p, len, UTF8_NO_SPACE);
}

/* Copy field [p, p+n) into dst of size dstlen; -1 if it does not fit. */
static int
field(char *dst, size_t dstlen, const char *p, size_t n)
{
	if (n >= dstlen)
		return -1;
	memcpy(dst, p, n);
	dst[n] = '\0';
	return 0;
}

/* Set why (when wanted) and fail. */
static int
bad(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (why != NULL && whylen > 0) {
		va_start(ap, fmt);
		vsnprintf(why, whylen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* A field as shown in an error: at most 40 bytes of it. */
#define SHOWN(n)	((int)((n) > 40 ? 40 : (n)))

int
pwf_parse_line_why(const char *line, size_t len, struct pwf_entry *e,
    char *why, size_t whylen)
{
	const char *f[7];
	size_t flen[7];
	size_t i, start = 0;
	int nf = 0;
	uint64_t v;
	const char *pw;
	size_t pwlen;

	while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == ' '))
		len--;
	if (len == 0 || line[0] == '#')
		return 0;
	if (memchr(line, '\0', len) != NULL)
		return bad(why, whylen, "NUL byte in the line");
	/* six ':' separators; the mail field takes the rest */
	for (i = 0; i <= len && nf < 7; i++) {
		if (i == len || (line[i] == ':' && nf < 6)) {
			f[nf] = line + start;
			flen[nf] = i - start;
			nf++;
			start = i + 1;
		}
	}
	if (nf < 6)
		return bad(why, whylen, "%d field%s, expected at least 6 "
		    "(user:password:uid:gid:gecos:home[:mail])", nf,
		    nf == 1 ? "" : "s");
	if (nf == 6) {	/* no mail field */
		f[6] = line + len;
		flen[6] = 0;
	}
	memset(e, 0, sizeof(*e));
	if (!pwf_valid_user(f[0], flen[0]) ||
	    field(e->user, sizeof(e->user), f[0], flen[0]) == -1)
		return bad(why, whylen, "bad user name \"%.*s\" (1 to %d "
		    "printable characters, no ':' or '/')", SHOWN(flen[0]),
		    f[0], POP3_MAX_USER);
	/* never the password field itself: it may hold a secret */
	pw = f[1];
	pwlen = flen[1];
	if (pwlen == 0)
		return bad(why, whylen, "empty password field (a crypt(3) "
		    "hash, {PLAIN}secret, or '!' to lock the account)");
	if (pw[0] == '!' || pw[0] == '*') {
		e->scheme = PWF_LOCKED;
	} else if (pwlen > 7 && strncmp(pw, "{PLAIN}", 7) == 0) {
		e->scheme = PWF_PLAIN;
		pw += 7;
		pwlen -= 7;
	} else if (pwlen > 15 && strncmp(pw, "{SCRAM-SHA-256}", 15) == 0) {
		e->scheme = PWF_SCRAM;
		pw += 15;
		pwlen -= 15;
	} else {
		e->scheme = PWF_CRYPT;
		if (pwlen > 7 && strncmp(pw, "{CRYPT}", 7) == 0) {
			pw += 7;
			pwlen -= 7;
		}
		if (pw[0] == '{')
			return bad(why, whylen, "unknown password scheme "
			    "(a crypt(3) hash, {CRYPT}, {PLAIN} or "
			    "{SCRAM-SHA-256})");
	}
	if (field(e->secret, sizeof(e->secret), pw, pwlen) == -1)
		return bad(why, whylen, "password field too long");
	if (parse_uint(f[2], flen[2], 0, UINT32_MAX - 1, &v) == -1)
		return bad(why, whylen, "bad uid \"%.*s\" (a number from 0 to "
		    "%u)", SHOWN(flen[2]), f[2], UINT32_MAX - 1);
	e->uid = (uid_t)v;
	if (parse_uint(f[3], flen[3], 0, UINT32_MAX - 1, &v) == -1)
		return bad(why, whylen, "bad gid \"%.*s\" (a number from 0 to "
		    "%u)", SHOWN(flen[3]), f[3], UINT32_MAX - 1);
	e->gid = (gid_t)v;
	if (flen[5] == 0 || f[5][0] != '/')
		return bad(why, whylen, "home \"%.*s\" is not an absolute "
		    "path", SHOWN(flen[5]), f[5]);
	if (field(e->home, sizeof(e->home), f[5], flen[5]) == -1)
		return bad(why, whylen, "home longer than %d bytes",
		    MAIL_MAX_PATH - 1);
	if (field(e->mail, sizeof(e->mail), f[6], flen[6]) == -1)
		return bad(why, whylen, "mail field longer than %d bytes",
		    MAIL_MAX_PATH - 1);
	return 1;
}

int
pwf_parse_line(const char *line, size_t len, struct pwf_entry *e)
{
	return pwf_parse_line_why(line, len, e, NULL, 0);
}

int
pwf_line_usable(size_t len)
{
	return len <= CONFIG_MAX_LINE;
}

int
pwf_check_type(int fd, const char *path, char *why, size_t whylen)
{
	struct stat st;

	if (fstat(fd, &st) == -1) {
		snprintf(why, whylen, "passwd_file %s: %s", path,
		    strerror(errno));
		return -1;
	}
	if (S_ISDIR(st.st_mode)) {
		snprintf(why, whylen, "passwd_file %s is a directory: set "
		    "passwd_file to the file of users in it (format in "
		    "passwd.example)", path);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(why, whylen, "passwd_file %s is not a regular file: "
		    "set passwd_file to a file of users (format in "
		    "passwd.example)", path);
		return -1;
	}
	return 0;
}

void
pwf_warn_line(const char *path, int lineno, const char *why)
{
	log_warnx(PWF_LINE_SKIPPED, path, lineno, why);
}

/* Buffered reading of the passwd-file, a line at a time. */
struct line_reader {
	int		fd;
	size_t		pos, len;
	size_t		high;		/* bytes of buf ever filled */
	char		buf[PWF_READ_CHUNK];
};

/* The next line into line (size CONFIG_MAX_LINE + 1), without its
 * newline, NUL bytes and all: its length, or -1 at the end (or on a
 * read error).  *long_r: it was longer than the buffer, and the rest of
 * it was skipped. */
static ssize_t
next_line(struct line_reader *lr, char *line, int *long_r)
{
	size_t n = 0, seg, take;
	const char *nl;
	ssize_t got;

	*long_r = 0;
	for (;;) {
		if (lr->pos == lr->len) {
			while ((got = read(lr->fd, lr->buf,
			    sizeof(lr->buf))) == -1 && errno == EINTR)
				;
			if (got <= 0)
				return n == 0 && !*long_r ? -1 : (ssize_t)n;
			lr->pos = 0;
			lr->len = (size_t)got;
			if (lr->len > lr->high)
				lr->high = lr->len;
		}
		nl = memchr(lr->buf + lr->pos, '\n', lr->len - lr->pos);
		seg = (nl != NULL ? (size_t)(nl - lr->buf) : lr->len) -
		    lr->pos;
		take = seg < CONFIG_MAX_LINE + 1 - n ? seg :
		    CONFIG_MAX_LINE + 1 - n;
		memcpy(line + n, lr->buf + lr->pos, take);
		n += take;
		if (take < seg)
			*long_r = 1;
		lr->pos += seg;
		if (nl != NULL) {
			lr->pos++;
			return (ssize_t)n;
		}
	}
}

/* A problem with the file or a line: logged, or told to say (-t). */
static void
problem(void (*say)(const char *, void *), void *arg, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (say != NULL)
		say(msg, arg);
	else
		log_warnx("%s", msg);
}

/* Calls fn for every entry, with its line number; stops early when fn
 * returns non-zero.  Malformed lines are reported (through say, else
 * the log) and skipped.  With wants, only the lines it accepts are
 * parsed (and so can be reported malformed). */
static int
pwf_each(const char *path, int (*wants)(const char *, size_t, void *),
    int (*fn)(const struct pwf_entry *, int, void *),
    void (*say)(const char *, void *), void *arg)
{
	static struct pwf_entry e;
	static struct line_reader lr;
	char line[CONFIG_MAX_LINE + 1], why[200];
	ssize_t n;
	int lineno = 0, r = 0, toolong;

	if ((lr.fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) == -1) {
		problem(say, arg, "passwd_file %s: %s: %s", path,
		    strerror(errno), errno == ENOENT ? "create it (format in "
		    "passwd.example) or fix passwd_file" : "privpop-auth "
		    "reads it as root; check its mode and owner");
		return -1;
	}
	if (pwf_check_type(lr.fd, path, line, sizeof(line)) == -1) {
		problem(say, arg, "%s", line);
		close(lr.fd);
		return -1;
	}
	lr.pos = lr.len = lr.high = 0;
	while ((n = next_line(&lr, line, &toolong)) != -1) {
		int pr;

		lineno++;
		if (toolong || !pwf_line_usable((size_t)n)) {
			problem(say, arg, "passwd_file %s:%d: line longer "
			    "than %d bytes; the line is skipped (its user "
			    "cannot log in): shorten it", path, lineno,
			    CONFIG_MAX_LINE);
			continue;
		}
		if (wants != NULL && !wants(line, (size_t)n, arg))
			continue;
		pr = pwf_parse_line_why(line, (size_t)n, &e, why,
		    sizeof(why));
		if (pr == -1)
			problem(say, arg, PWF_LINE_SKIPPED, path, lineno, why);
		if (pr == 1 && r == 0)
			r = fn(&e, lineno, arg);
	}
	close(lr.fd);
	/* hashes passed through it; what was never filled is untouched */
	explicit_bzero(lr.buf, lr.high);
	explicit_bzero(line, sizeof(line));
	explicit_bzero(&e, sizeof(e));
	return r;
}

struct lookup_ctx {
	const char		*user;
	struct pwf_entry	*out;
	char			*dummy;
	int			 found;
};

/* The lines a lookup must parse: the user's own, and, until the dummy
 * hash is found, those that may be a crypt entry (a password field not
 * locked and not {PLAIN} or {SCRAM-...}).  Any other line costs the
 * same comparison wherever the user is, and no copy of its fields:
 * with 100,000 users, most of the time of a full read. */
static int
lookup_wants(const char *line, size_t len, void *arg)
{
	const struct lookup_ctx *c = arg;
	size_t ulen = strlen(c->user), rest;
	const char *pw;

	if (len > ulen && memcmp(line, c->user, ulen) == 0 &&
	    line[ulen] == ':')
		return 1;
	if (c->dummy[0] != '\0' || (pw = memchr(line, ':', len)) == NULL)
		return 0;
	pw++;
	rest = len - (size_t)(pw - line);
	if (rest > 7 && memcmp(pw, "{CRYPT}", 7) == 0)
		return 1;
	return rest > 0 && pw[0] != '{' && pw[0] != '!' && pw[0] != '*';
}

static int
lookup_cb(const struct pwf_entry *e, int lineno, void *arg)
{
	struct lookup_ctx *c = arg;

	(void)lineno;
	if (c->dummy[0] == '\0' && e->scheme == PWF_CRYPT)
		snprintf(c->dummy, CONFIG_MAX_LINE, "%s", e->secret);
	if (!c->found && strcmp(e->user, c->user) == 0) {
		*c->out = *e;
		c->found = 1;
	}
	return 0;	/* always read on */
}

int
pwf_lookup(const char *path, const char *user, struct pwf_entry *out,
    char *dummy_r)
{
	struct lookup_ctx c = { user, out, dummy_r, 0 };
	int r;

	if ((r = pwf_index_lookup(path, user, out, dummy_r)) != -1)
		return r;
	dummy_r[0] = '\0';
	if (pwf_each(path, lookup_wants, lookup_cb, NULL, &c) == -1)
		return -1;
	return c.found;
}

void
pwf_stamp_of(const struct stat *st, struct pwf_stamp *s)
{
	memset(s, 0, sizeof(*s));
	s->dev = st->st_dev;
	s->ino = st->st_ino;
	s->size = st->st_size;
	s->mtime = st->st_mtim;
	s->ctime = st->st_ctim;
}

int
pwf_stamp_eq(const struct pwf_stamp *a, const struct pwf_stamp *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	    a->mtime.tv_sec == b->mtime.tv_sec &&
	    a->mtime.tv_nsec == b->mtime.tv_nsec &&
	    a->ctime.tv_sec == b->ctime.tv_sec &&
	    a->ctime.tv_nsec == b->ctime.tv_nsec;
}

int
pwf_entry_caps(const struct pwf_entry *e)
{
	switch (e->scheme) {
	case PWF_PLAIN:
		return PWF_CAN_APOP | PWF_CAN_SCRAM;
	case PWF_SCRAM:
		return PWF_CAN_SCRAM | PWF_LACKS_APOP;
	case PWF_CRYPT:
		return PWF_LACKS_APOP | PWF_LACKS_SCRAM;
	default:
		return 0;	/* locked: logs in with nothing */
	}
}

int
pwf_caps_mechs(int caps)
{
	int mechs = 0;

	if ((caps & (PWF_CAN_APOP | PWF_LACKS_APOP)) == PWF_CAN_APOP)
		mechs |= AUTH_MECH_APOP | AUTH_MECH_CRAM_MD5;
	if ((caps & (PWF_CAN_SCRAM | PWF_LACKS_SCRAM)) == PWF_CAN_SCRAM)
		mechs |= AUTH_MECH_SCRAM;
	return mechs;
}

static int
caps_cb(const struct pwf_entry *e, int lineno, void *arg)
{
	int *caps = arg;

	(void)lineno;
	*caps |= pwf_entry_caps(e);
	return 0;
}

/* The answer for the file as it was last read, when there is no index
 * (passwd_index.h) that gives it: privpop-auth -Z asks before each
 * fork, and the helpers only stat the file to see it is still the
 * same, instead of reading all of it for every connection. */
static struct {
	int			valid, caps;
	struct pwf_stamp	stamp;
} caps_cache;

int
pwf_capabilities(const char *path)
{
	struct pwf_stamp now;
	struct stat st;
	int caps = 0;

	if (stat(path, &st) == -1)
		return pwf_each(path, NULL, caps_cb, NULL, &caps) == -1 ? 0 : caps;
	pwf_stamp_of(&st, &now);
	if ((caps = pwf_index_caps(&now)) != -1)
		return caps;
	if (caps_cache.valid && pwf_stamp_eq(&now, &caps_cache.stamp))
		return caps_cache.caps;
	caps_cache.valid = 0;
	caps = 0;
	if (pwf_each(path, NULL, caps_cb, NULL, &caps) == -1)
		return caps;
	/* the stat from before the read: a change during it shows next
	 * time */
	caps_cache.valid = 1;
	caps_cache.caps = caps;
	caps_cache.stamp = now;
	return caps;
}

/* Expand tmpl into out: a '~' at tilde_at is the home; %u the user,
 * %n its local part, %d its domain, %% a '%'.  The path after the first
 * tilde_at characters must be absolute and hold no ".." component. */
static int
expand(const struct pwf_entry *e, const char *tmpl, size_t tilde_at,
    char *out, size_t outlen)
{
	const char *at = strchr(e->user, '@');
	size_t o = 0;
	const char *p;

	for (p = tmpl; *p != '\0'; p++) {
		const char *ins = NULL;
		size_t n = 0;
		char ch[1];

		if (*p == '~' && p == tmpl + tilde_at) {
			ins = e->home;
			n = strlen(ins);
		} else if (*p == '%' && p[1] != '\0') {
			p++;
			switch (*p) {
			case 'u':
				ins = e->user;
				n = strlen(ins);
				break;
			case 'n':
				ins = e->user;
				n = at ? (size_t)(at - e->user) : strlen(ins);
				break;
			case 'd':
				ins = at ? at + 1 : "";
				n = strlen(ins);
				break;
			case '%':
				ins = "%";
				n = 1;
				break;
			default:
				return -1;
			}
		} else {
			ch[0] = *p;
			ins = ch;
			n = 1;
		}
		if (n >= outlen - o)
			return -1;
		memcpy(out + o, ins, n);
		o += n;
	}
	out[o] = '\0';
	if (o <= tilde_at || out[tilde_at] != '/')
		return -1;
	/* no ".." component anywhere, also at the end */
	for (p = out + tilde_at; (p = strstr(p, "/..")) != NULL; p += 3)
		if (p[3] == '/' || p[3] == '\0')
			return -1;
	return 0;
}

int
pwf_mail_location(const struct pwf_entry *e, const char *deflt, char *out,
    size_t outlen)
{
	const char *src = e->mail[0] ? e->mail : deflt;

	/*
	 * auto: ~/Maildir when its owner can open it, else the system
	 * spool; which of the two is for the owner's process to find
	 * (mail_auto.h), not for this one, which runs as root: it only
	 * says where ~/Maildir would be.
	 */
	if (strcmp(src, "auto") == 0)
		return expand(e, MAIL_AUTO_PREFIX "~/Maildir",
		    sizeof(MAIL_AUTO_PREFIX) - 1, out, outlen);
	if (strncmp(src, "maildir:", 8) == 0)
		return expand(e, src, 8, out, outlen);
	if (strncmp(src, "mbox:", 5) == 0)
		return expand(e, src, 5, out, outlen);
	return -1;
}

int
pwf_expand_path(const struct pwf_entry *e, const char *tmpl, char *out,
    size_t outlen)
{
	return expand(e, tmpl, 0, out, outlen);
}

struct check_ctx {
	const char	*path, *deflt;
	void		(*say)(const char *, void *);
	void		*arg;
	int		 bad;
};

static void
check_say(const char *msg, void *arg)
{
	struct check_ctx *c = arg;

	c->bad++;
	c->say(msg, c->arg);
}

/* What a login would refuse of a well-formed entry. */
static int
check_cb(const struct pwf_entry *e, int lineno, void *arg)
{
	struct check_ctx *c = arg;
	char loc[MAIL_MAX_PATH];

	if (e->uid == 0 || e->gid == 0)
		problem(check_say, c, "passwd_file %s:%d: user %s has %s 0; "
		    "privpop never reads mail as root: give it the uid and "
		    "gid that own its mailbox", c->path, lineno, e->user,
		    e->uid == 0 ? "uid" : "gid");
	else if (pwf_mail_location(e, c->deflt, loc, sizeof(loc)) == -1)
		problem(check_say, c, "passwd_file %s:%d: user %s: mail "
		    "location \"%s\" cannot be used: expected maildir:PATH, "
		    "mbox:PATH or auto, PATH absolute or ~/..., with %%u, "
		    "%%n, %%d, no \"..\"", c->path, lineno, e->user,
		    e->mail[0] != '\0' ? e->mail : c->deflt);
	return 0;
}

int
pwf_check(const char *path, const char *deflt,
    void (*say)(const char *, void *), void *arg)
{
	struct check_ctx c = { path, deflt, say, arg, 0 };

	(void)pwf_each(path, NULL, check_cb, check_say, &c);
	return c.bad;
}
