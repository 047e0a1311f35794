/*
 * privpop-uidl: before a site switches to privpop, print per message
 * the UIDL the old server (Dovecot, Courier, popa3d) served and the one
 * privpop will serve, and (without --dry-run) record privpop's in its
 * cache as a first login would (privpop-uidl(8)).
 *
 * privpop's UIDLs are privpop-store's own: the mailbox is opened with
 * maildir_open_fmt() or mbox_open(), under the same [IN-USE] lock and
 * mbox locks, so what is printed is what a login is served, and a live
 * session makes it stop.  The old server's come from its records in
 * the mailbox (dovecot-uidlist, courierpop3dsizelist: maildir_uidmap.c;
 * X-UIDL:, X-UID:, X-IMAPbase:) or its algorithm (popa3d's digest),
 * both through privpop-store's parsers (maildir_uidmap.c,
 * mbox_parse.c).  All of it parses files the mailbox owner controls,
 * so it runs only as that owner: as root, uidl_become_owner()
 * (privpop-uidl_root.c) has dropped before any of it.
 *
 * Runs as: the mailbox owner (uidl_main, after the drop in
 * privpop-uidl_root.c).
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth_mailbox.h"
#include "conf.h"
#include "log.h"
#include "mail_auto.h"
#include "maildir.h"
#include "maildir_uidmap.h"
#include "mbox.h"
#include "mbox_parse.h"
#include "privpop-uidl.h"
#include "uidlfmt.h"

/* Whose records (or algorithm) give the old UIDLs. */
enum from { FROM_AUTO, FROM_DOVECOT, FROM_COURIER, FROM_POPA3D };
static const char *const from_names[] = { "auto", "dovecot", "courier",
    "popa3d" };

typedef char uidl_t[POP3_MAX_UIDL + 1];

/* ------------------------------------------------------------------ */
/* The caller's own PATH (never as root) */

static int
own_path(const struct conf *conf, const char *arg, struct uidl_target *t)
{
	static struct pwf_entry e;
	const char *path = arg, *kind = NULL;
	struct passwd *pw;
	struct stat st;

	if (strncmp(arg, "maildir:", 8) == 0) {
		path = arg + 8;
		kind = "maildir";
	} else if (strncmp(arg, "mbox:", 5) == 0) {
		path = arg + 5;
		kind = "mbox";
	}
	if (path[0] != '/') {
		fprintf(stderr, "privpop-uidl: %s: not an absolute path\n",
		    arg);
		return -1;
	}
	if (kind == NULL)
		kind = stat(path, &st) == 0 && S_ISDIR(st.st_mode) ?
		    "maildir" : "mbox";
	if (snprintf(t->location, sizeof(t->location), "%s:%s", kind,
	    path) >= (int)sizeof(t->location))
		return -1;
	/* the index directory as privpop-auth expands it for this user */
	memset(&e, 0, sizeof(e));
	if ((pw = getpwuid(getuid())) == NULL ||
	    snprintf(e.user, sizeof(e.user), "%s", pw->pw_name) >=
	    (int)sizeof(e.user) || snprintf(e.home, sizeof(e.home), "%s",
	    pw->pw_dir) >= (int)sizeof(e.home)) {
		fprintf(stderr, "privpop-uidl: uid %u has no passwd entry\n",
		    (unsigned)getuid());
		return -1;
	}
	e.uid = pw->pw_uid;
	e.gid = pw->pw_gid;
	auth_index_dir(conf, &e, t->index_dir, sizeof(t->index_dir));
	snprintf(t->user, sizeof(t->user), "%s", e.user);
	return 0;
}

/* ------------------------------------------------------------------ */
/* The old server's UIDLs: Maildir */

/* The unique part of a listed name ("cur/x:2,S" -> "x"). */
static int
unique_key(const char *name, char *key, size_t keysz)
{
	const char *p = strchr(name, '/');
	size_t n;

	p = p != NULL ? p + 1 : name;
	n = strcspn(p, ":");
	if (n == 0 || n >= keysz)
		return -1;
	memcpy(key, p, n);
	key[n] = '\0';
	return 0;
}

static int
old_maildir(struct maildir *md, enum from from, const char *fmt,
    uidl_t *old)
{
	struct uidmap dv, cr;
	char key[MAIL_MAX_PATH];
	int have_dv = 0, have_cr = 0;
	uint32_t i;

	if (from == FROM_POPA3D) {
		fprintf(stderr, "privpop-uidl: popa3d serves mbox only\n");
		return -1;
	}
	memset(&dv, 0, sizeof(dv));
	memset(&cr, 0, sizeof(cr));
	if (from != FROM_COURIER)
		have_dv = uidmap_load(&dv, UIDMAP_DOVECOT, md->dirfd) == 0;
	if (from != FROM_DOVECOT)
		have_cr = uidmap_load(&cr, UIDMAP_COURIER, md->dirfd) == 0;
	if (!have_dv && !have_cr)
		fprintf(stderr, "privpop-uidl: no usable %s%s%s in the "
		    "Maildir: no message is covered\n",
		    from != FROM_COURIER ? UIDMAP_DOVECOT_FILE : "",
		    from == FROM_AUTO ? " or " : "",
		    from != FROM_DOVECOT ? UIDMAP_COURIER_FILE : "");
	/* Dovecot's first, as maildir.c applies them */
	for (i = 0; i < md->count; i++) {
		old[i][0] = '\0';
		if (unique_key(md->msgs[i].name, key, sizeof(key)) == -1)
			continue;
		if (have_dv && uidmap_lookup(&dv, key, fmt, old[i],
		    sizeof(old[i])) == 0)
			continue;
		if (!have_cr || uidmap_lookup(&cr, key, NULL, old[i],
		    sizeof(old[i])) == -1)
			old[i][0] = '\0';
	}
	uidmap_free(&dv);
	uidmap_free(&cr);
	return 0;
}

/* ------------------------------------------------------------------ */
/* The old server's UIDLs: mbox, scanned again by privpop's parser */

/* bytes read per call while scanning */
#define UIDL_SCAN_CHUNK	(64 * 1024)

struct oldscan {
	const struct mbox *mb;
	uidl_t		*old;
	enum from	 from;
	const char	*fmt;
	uint32_t	 next;		/* the listed message to match */
	int		 first;		/* the next found is the file's first */
	int		 imapbase;
	uint32_t	 uidvalidity, uidnext;
};

/* Dovecot: X-UIDL: (pop3_save_uidl), else pop3_uidl_format of X-UID:
 * and the first message's X-IMAPbase:; popa3d: its digest. */
static void
old_of(struct oldscan *o, const struct mbox_found *f, char *u, size_t usz)
{
	struct uidlfmt_vars v;

	u[0] = '\0';
	if (o->from != FROM_POPA3D) {
		if (f->flags & MBOX_F_XUIDL) {
			snprintf(u, usz, "%s", f->xuidl);
			return;
		}
		/* X-IMAPbase: "UIDVALIDITY LAST-UID" as Dovecot writes it */
		if ((f->flags & MBOX_F_XUID) && o->imapbase &&
		    f->xuid <= o->uidnext) {
			memset(&v, 0, sizeof(v));
			v.uid = f->xuid;
			v.uidvalidity = o->uidvalidity;
			if (uidlfmt_render(o->fmt, &v, u, usz) == -1)
				u[0] = '\0';
			return;
		}
	}
	/* popa3d hashes what delivery headers there are (none: MD5 of
	 * nothing); auto counts only messages that have some */
	if (o->from == FROM_POPA3D || (o->from == FROM_AUTO &&
	    (f->flags & MBOX_F_P3)))
		mbox_popa3d_uidl(f->p3, u);
}

static int
old_found(void *arg, const struct mbox_found *f)
{
	struct oldscan *o = arg;

	if (o->first) {
		o->first = 0;
		if (f->flags & MBOX_F_IMAPBASE) {
			o->imapbase = 1;
			o->uidvalidity = f->uidvalidity;
			o->uidnext = f->uidnext;
		}
	}
	while (o->next < o->mb->count &&
	    o->mb->meta[o->next].from_off < f->from_off)
		o->next++;
	if (o->next < o->mb->count &&
	    o->mb->meta[o->next].from_off == f->from_off) {
		old_of(o, f, o->old[o->next], sizeof(o->old[o->next]));
		o->next++;
	}
	return 0;
}

static int
old_mbox(const struct mbox *mb, enum from from, const char *fmt,
    uidl_t *old)
{
	static unsigned char chunk[UIDL_SCAN_CHUNK];
	struct mbox_scan sc;
	struct oldscan o;
	uint64_t off = 0;
	ssize_t n;
	int r = 0;

	if (from == FROM_COURIER) {
		fprintf(stderr, "privpop-uidl: courier's records are a "
		    "Maildir's\n");
		return -1;
	}
	if (mb->fd == -1 || mb->count == 0)
		return 0;
	memset(&o, 0, sizeof(o));
	o.mb = mb;
	o.old = old;
	o.from = from;
	o.fmt = fmt;
	o.first = 1;
	if (mbox_scan_init(&sc, 0, old_found, &o) == -1)
		return -1;
	/* what mbox_open indexed: mail delivered since is not listed */
	while (r == 0 && off < mb->scanned) {
		size_t want = mb->scanned - off < sizeof(chunk) ?
		    (size_t)(mb->scanned - off) : sizeof(chunk);

		n = pread(mb->fd, chunk, want, (off_t)off);
		if (n <= 0) {
			r = -1;
			break;
		}
		off += (uint64_t)n;
		r = mbox_scan_feed(&sc, chunk, (size_t)n);
	}
	if (r == 0)
		r = mbox_scan_finish(&sc);
	mbox_scan_free(&sc);
	return r;
}

/* ------------------------------------------------------------------ */

static int
report(const struct mail_msg *msgs, uint32_t count, uidl_t *old)
{
	uint32_t i, same = 0, differ = 0, fresh = 0;
	const char *what;

	for (i = 0; i < count; i++) {
		if (old[i][0] == '\0') {
			what = "new";
			fresh++;
		} else if (strcmp(old[i], msgs[i].uidl) == 0) {
			what = "same";
			same++;
		} else {
			what = "differ";
			differ++;
		}
		printf("%u %s %s %s\n", i + 1, old[i][0] ? old[i] : "-",
		    msgs[i].uidl, what);
	}
	printf("same=%u differ=%u new=%u\n", same, differ, fresh);
	return differ > 0 ? UIDL_EXIT_DIFFER : UIDL_EXIT_SAME;
}

/* After the drop (or as the owner from the start): t is the mailbox
 * for a USER, empty for a PATH (arg). */
int
uidl_main(const struct conf *conf, struct uidl_target *t, const char *arg,
    const char *from_name, int dry)
{
	struct maildir md;
	struct mbox mb;
	struct mbox_opts mo;
	const struct mail_msg *msgs;
	enum mail_err e;
	enum from from = FROM_AUTO;
	uidl_t *old;
	uint32_t count;
	size_t i;
	int is_mbox, rc, r;

	if (geteuid() == 0 || getuid() == 0) {
		fprintf(stderr, "privpop-uidl: refusing to read a mailbox "
		    "as root\n");
		return UIDL_EXIT_USAGE;
	}
	for (i = 0; i < sizeof(from_names) / sizeof(from_names[0]); i++)
		if (strcmp(from_name, from_names[i]) == 0)
			break;
	if (i == sizeof(from_names) / sizeof(from_names[0])) {
		fprintf(stderr, "privpop-uidl: --from: expected dovecot, "
		    "courier, popa3d or auto\n");
		return UIDL_EXIT_USAGE;
	}
	from = (enum from)i;
	if (t->location[0] == '\0' && own_path(conf, arg, t) == -1)
		return UIDL_EXIT_USAGE;
	/* auto: decided here, as the owner, as privpop-store decides it */
	if (strncmp(t->location, MAIL_AUTO_PREFIX,
	    sizeof(MAIL_AUTO_PREFIX) - 1) == 0) {
		char loc[sizeof(t->location)];

		if (mail_auto_resolve(t->location, t->user, loc,
		    sizeof(loc)) == -1) {
			fprintf(stderr, "privpop-uidl: %s: bad mail location\n",
			    t->user);
			return UIDL_EXIT_USAGE;
		}
		memcpy(t->location, loc, sizeof(loc));
	}

	is_mbox = strncmp(t->location, "mbox:", 5) == 0;
	if (is_mbox) {
		memset(&mo, 0, sizeof(mo));
		mo.locks = conf->mbox_locks;
		mo.lock_timeout = conf->mbox_lock_timeout;
		mo.dotlock_stale = conf->mbox_dotlock_stale;
		mo.index_dir = t->index_dir;
		mo.no_cache_write = dry;
		mo.uidl_format = conf->pop3_uidl_format;
		e = mbox_open(&mb, t->location + 5, &mo);
		msgs = mb.msgs;
		count = mb.count;
	} else {
		/* the sessions' lock file, with the nodes' settings */
		mdlock_configure(conf->mail_lock_stale, conf->mail_lock_node);
		e = maildir_open_fmt(&md, t->location + 8,
		    conf->pop3_uidl_format);
		msgs = md.msgs;
		count = md.count;
	}
	if (e != MAIL_OK) {
		if (e == MAIL_INUSE)
			fprintf(stderr, "privpop-uidl: %s: in use by a POP3 "
			    "session; run it again when that ends\n",
			    t->location);
		else
			fprintf(stderr, "privpop-uidl: %s: cannot be opened\n",
			    t->location);
		if (is_mbox)
			mbox_close(&mb);
		else
			maildir_close(&md);
		return e == MAIL_INUSE ? UIDL_EXIT_INUSE : UIDL_EXIT_FAIL;
	}
	if ((old = calloc(count > 0 ? count : 1, sizeof(*old))) == NULL) {
		perror("privpop-uidl");
		return UIDL_EXIT_FAIL;
	}
	r = is_mbox ? old_mbox(&mb, from, conf->pop3_uidl_format, old) :
	    old_maildir(&md, from, conf->pop3_uidl_format, old);
	rc = r == -1 ? UIDL_EXIT_FAIL : report(msgs, count, old);
	free(old);
	/* the caches privpop-store writes at a login: an mbox's at open
	 * (unless dry), a Maildir's at close, still under its lock */
	if (is_mbox)
		mbox_close(&mb);
	else {
		if (dry)
			md.cache_stale = md.listing_stale = 0;
		maildir_close(&md);
	}
	if (!dry && r == 0)
		fprintf(stderr, "privpop-uidl: %s (%s): privpop's UIDLs of "
		    "%u messages recorded\n", t->user, t->location, count);
	return rc;
}
