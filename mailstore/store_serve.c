/*
 * The worker's serve loop and its handlers (store_serve.h): after
 * MSG_STORE_INIT from privpop-auth, one mailbox opened and locked, then
 * the session child's requests until QUIT or EOF, each checked against
 * the permit table before its handler runs.
 *
 * Runs as: mailbox owner (privpop-store, after its drop).
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "body_shm.h"
#include "buf.h"
#include "dotlock_child.h"
#include "expire.h"
#include "ipc.h"
#include "ipc_store.h"
#include "log.h"
#include "mail_auto.h"
#include "maildir.h"
#include "mbox.h"
#include "mbox_lock.h"
#include "proctitle.h"
#include "store_serve.h"
#include "wire.h"

static void
reply_ok(const struct store_state *st, uint32_t n, uint64_t octets,
    const char *text)
{
	if (ipc_send_session_ok(st->sock, n, octets, text) == -1)
		fatal("send reply");
}

static void
reply_err(const struct store_state *st, uint32_t code)
{
	if (ipc_send_session_err(st->sock, code) == -1)
		fatal("send error");
}

/* Send whole IPC_MAX_PAYLOAD chunks of b; with all, the rest too. */
static void
flush_data(const struct store_state *st, struct buf *b, int all)
{
	while (buf_used(b) >= IPC_MAX_PAYLOAD ||
	    (all && buf_used(b) > 0)) {
		size_t n = buf_used(b);

		if (n > IPC_MAX_PAYLOAD)
			n = IPC_MAX_PAYLOAD;
		if (ipc_send_session_data(st->sock, buf_ptr(b), n) == -1)
			fatal("send data");
		buf_consume(b, n);
	}
	buf_compact(b);
}

static void
send_end(const struct store_state *st)
{
	if (ipc_send_session_end(st->sock) == -1)
		fatal("send end");
}

static void
live_totals(const struct store_state *st, uint32_t *live_r, uint64_t *octets_r)
{
	uint32_t i;

	*live_r = 0;
	*octets_r = 0;
	for (i = 0; i < st->count; i++)
		if (!st->msgs[i].deleted) {
			(*live_r)++;
			*octets_r += st->msgs[i].size;
		}
}

/* Check a message number (1-based, decoded) against the mailbox: in
 * range and not deleted.  Returns the 0-based index or -1 after
 * answering. */
static int
check_msgno(const struct store_state *st, uint32_t n, uint32_t *idx)
{
	if (n == 0 || n > st->count) {
		reply_err(st, IPC_ERR_NOSUCH);
		return -1;
	}
	if (st->msgs[n - 1].deleted) {
		reply_err(st, IPC_ERR_DELETED);
		return -1;
	}
	*idx = n - 1;
	return 0;
}

/* RFC 2449 EXPIRE: message idx went to the client whole (a RETR, or a
 * RETR_AHEAD of the next one).  TOP is not a retrieval. */
static void
mark_seen(struct store_state *st, uint32_t idx)
{
	if (st->seen == NULL || idx >= st->count)
		return;
	st->seen[idx] = 1;
	if (st->first[idx] == 0 && st->expire != 0 &&
	    st->expire != EXPIRE_NEVER) {
		st->first[idx] = expire_now(st->is_mbox ? st->mb.dirfd :
		    st->md.dirfd);
		st->first_dirty = 1;
	}
}

static void
do_listing(struct store_state *st, struct msg *m, int uidl)
{
	struct buf out;
	uint32_t n, i, live;
	uint64_t octets;

	if ((uidl ? ipc_get_store_uidl(m, &n) : ipc_get_store_list(m,
	    &n)) == -1)
		fatalx("%s: malformed", msg_name(m->type));
	if (n != 0) {
		if (check_msgno(st, n, &i) == -1)
			return;
		reply_ok(st, n, st->msgs[i].size, uidl ? st->msgs[i].uidl : "");
		return;
	}
	live_totals(st, &live, &octets);
	reply_ok(st, live, octets, "");
	if (buf_init(&out, 2 * IPC_MAX_PAYLOAD, 4 * IPC_MAX_PAYLOAD) == -1)
		fatal("buf");
	for (i = 0; i < st->count; i++) {
		if (st->msgs[i].deleted)
			continue;
		if ((uidl ? buf_printf(&out, "%u %s\r\n", i + 1,
		    st->msgs[i].uidl) : buf_printf(&out, "%u %llu\r\n", i + 1,
		    (unsigned long long)st->msgs[i].size)) == -1)
			fatalx("listing buffer");
		flush_data(st, &out, 0);
	}
	flush_data(st, &out, 1);
	buf_free(&out);
	send_end(st);
}

/* POP3 octets of len bytes at off (mbox: checked before answering,
 * so a RETR always sends exactly the size LIST gave). */
static int
count_range(int fd, uint64_t off, uint64_t len, uint64_t *octets_r)
{
	static unsigned char chunk[WIRE_READ_CHUNK];	/* scratch only */
	struct wire_enc w;

	wire_init(&w, WIRE_ALL_LINES);
	while (len > 0) {
		size_t want = len > sizeof(chunk) ? sizeof(chunk) : (size_t)len;
		ssize_t n = pread(fd, chunk, want, (off_t)off);

		if (n <= 0) {
			if (n == -1 && errno == EINTR)
				continue;
			return -1;
		}
		wire_encode(&w, chunk, (size_t)n, NULL);
		off += (uint64_t)n;
		len -= (uint64_t)n;
	}
	wire_finish(&w, NULL);
	*octets_r = w.octets;
	return 0;
}

/* An mbox message changed under us: it may not be sent. */
static void
changed_err(const struct store_state *st, uint32_t idx)
{
	log_warnx("mbox %s: message %u changed by another program", st->mb.path,
	    idx + 1);
	reply_err(st, IPC_ERR_TEMP);
}

/* Where message idx's bytes are: fd (close it when *own_r), offset and
 * length (UINT64_MAX: to the end of the file).  An mbox message is
 * checked here, its octets counted against the listing, unless the
 * caller counts them itself before it answers (count_later).  -1 after
 * answering. */
static int
locate(struct store_state *st, uint32_t idx, int count_later, int *fd_r,
    int *own_r, uint64_t *off_r, uint64_t *len_r)
{
	uint64_t octets;

	if (!st->is_mbox) {
		if ((*fd_r = maildir_open_msg(&st->md, idx)) == -1) {
			log_warn("open %s", st->msgs[idx].name);
			reply_err(st, IPC_ERR_TEMP);
			return -1;
		}
		*own_r = 1;
		*off_r = 0;
		*len_r = UINT64_MAX;
		return 0;
	}
	*fd_r = st->mb.fd;
	*own_r = 0;
	*off_r = st->msgs[idx].start;
	*len_r = st->msgs[idx].end - st->msgs[idx].start;
	if (mbox_check_msg(&st->mb, idx) == -1 || (!count_later &&
	    (count_range(st->mb.fd, *off_r, *len_r, &octets) == -1 ||
	    octets != st->msgs[idx].size))) {
		changed_err(st, idx);
		return -1;
	}
	return 0;
}

/* A whole message whose wire form surely fits one memfd half (LF to
 * CRLF at most doubles it) is encoded before its OK goes out, so the
 * octets can be checked on the encoded bytes: an mbox RETR then reads
 * its message once, not twice. */
static int
fits_one_region(const struct store_state *st, uint32_t idx, uint64_t lines)
{
	return st->is_mbox && lines == WIRE_ALL_LINES && st->shm.base != NULL &&
	    st->msgs[idx].end - st->msgs[idx].start <= BODY_SHM_WHOLE_MAX;
}

/* The OK of a RETR or TOP goes just before its first body bytes, so
 * the session, which needs both, wakes up once for them. */
static void
send_ok_once(const struct store_state *st, int *pending, uint32_t idx)
{
	if (*pending)
		reply_ok(st, idx + 1, st->msgs[idx].size, "");
	*pending = 0;
}

/* RETR/TOP, or with ahead a RETR_AHEAD: the same answer, but only in a
 * single region (else IPC_ERR_NOT_AHEAD, before anything is sent),
 * which the session holds until it releases it. */
static void
do_message(struct store_state *st, struct msg *m, uint64_t lines, int ahead)
{
	/* off the stack; it holds nothing from one call to the next */
	static unsigned char chunk[WIRE_READ_CHUNK];
	struct wire_enc w;
	struct buf out, *outp;
	uint64_t off, left;
	uint32_t msgno, k, idx;
	ssize_t n;
	int fd, own, ok_pending, count_later, r;

	if (m->type == MSG_STORE_TOP) {
		if ((r = ipc_get_store_top(m, &msgno, &k)) == 0)
			lines = k;
	} else if (ahead)
		r = ipc_get_store_retr_ahead(m, &msgno);
	else
		r = ipc_get_store_retr(m, &msgno);
	if (r == -1)
		fatalx("%s: malformed", msg_name(m->type));
	if (ahead && msgno >= 2)
		mark_seen(st, msgno - 2);	/* the client has n - 1 */
	if (ahead && msgno == st->count + 1) {
		reply_err(st, IPC_ERR_NOT_AHEAD);	/* only that */
		return;
	}
	if (check_msgno(st, msgno, &idx) == -1)
		return;
	(void)body_shm_ready(&st->shm);
	/* ahead: the listed octets bound the stored bytes (an mbox
	 * message's exactly; a Maildir file larger than listed makes the
	 * loop below give up) */
	if (ahead && (st->shm.base == NULL ||
	    st->msgs[idx].size > BODY_SHM_WHOLE_MAX)) {
		reply_err(st, IPC_ERR_NOT_AHEAD);
		return;
	}
	count_later = fits_one_region(st, idx, lines);
	if (locate(st, idx, count_later, &fd, &own, &off, &left) == -1)
		return;
	ok_pending = 1;
	if (st->shm.base != NULL)
		outp = body_shm_begin(&st->shm, st->sock);
	else {
		send_ok_once(st, &ok_pending, idx);
		if (buf_init(&out, 2 * WIRE_READ_CHUNK + IPC_MAX_PAYLOAD,
		    2 * WIRE_READ_CHUNK + 2 * IPC_MAX_PAYLOAD) == -1)
			fatal("buf");
		outp = &out;
	}
	wire_init(&w, lines);
	while (!w.done && left > 0) {
		size_t want = left > sizeof(chunk) ? sizeof(chunk) :
		    (size_t)left;

		if ((n = pread(fd, chunk, want, (off_t)off)) == 0)
			break;
		if (n == -1) {
			if (errno == EINTR)
				continue;
			/* The answer has begun: end the session rather than
			 * send a short message the client would accept. */
			fatal("read message %u", idx + 1);
		}
		/* the encoder wants room for twice its input */
		if (outp != &out && buf_room(outp) < 2 * (size_t)n + 2) {
			if (ahead) {	/* larger than listed: not ahead */
				if (own)
					close(fd);
				reply_err(st, IPC_ERR_NOT_AHEAD);
				return;
			}
			send_ok_once(st, &ok_pending, idx);
			body_shm_flush(&st->shm, st->sock, 1);
		}
		if (wire_encode(&w, chunk, (size_t)n, outp) == -1)
			fatalx("encode buffer");
		if (outp == &out)
			flush_data(st, &out, 0);
		off += (uint64_t)n;
		if (left != UINT64_MAX)
			left -= (uint64_t)n;
	}
	if (own)
		close(fd);
	if (count_later) {
		/* nothing sent yet: the answer may still be an error */
		wire_finish(&w, outp);
		if (w.octets != st->msgs[idx].size) {
			changed_err(st, idx);
			return;
		}
	}
	send_ok_once(st, &ok_pending, idx);
	if (outp != &out && buf_room(outp) < 2)
		body_shm_flush(&st->shm, st->sock, 1);
	wire_finish(&w, outp);
	if (outp == &out) {
		flush_data(st, &out, 1);
		buf_free(&out);
		send_end(st);
	} else {
		/* ends the answer */
		body_shm_flush(&st->shm, st->sock, 0);
		if (ahead)
			body_shm_hold(&st->shm);
	}
	if (lines == WIRE_ALL_LINES && w.octets != st->msgs[idx].size)
		log_warnx("message %u: sent %llu octets, listed %llu", idx + 1,
		    (unsigned long long)w.octets,
		    (unsigned long long)st->msgs[idx].size);
	if (lines == WIRE_ALL_LINES && !ahead)
		mark_seen(st, idx);
}

/* Open the mailbox of in (again, after an expiry's expunge). */
static enum mail_err
open_box(struct store_state *st, const struct ipc_store_init *in,
    uint64_t *octets_r)
{
	const char *loc = in->location;
	struct mbox_opts o;
	enum mail_err e;

	if (strncmp(loc, "maildir:/", 9) == 0) {
		/* the lock file across nodes (maildir_lock.h) */
		mdlock_configure((int)in->lock_stale, in->lock_node);
		e = maildir_open_fmt(&st->md, loc + 8, in->uidl_format);
		st->msgs = st->md.msgs;
		st->count = st->md.count;
		*octets_r = st->md.octets;
		st->statefd = st->md.dirfd;
	} else if (strncmp(loc, "mbox:/", 6) == 0) {
		o.locks = (int)in->locks;
		o.lock_timeout = (int)in->lock_timeout;
		o.dotlock_stale = (int)in->dotlock_stale;
		o.index_dir = in->index_dir;
		o.no_cache_write = 0;
		o.uidl_format = in->uidl_format;
		st->is_mbox = 1;
		e = mbox_open(&st->mb, loc + 5, &o);
		st->msgs = st->mb.msgs;
		st->count = st->mb.count;
		*octets_r = st->mb.octets;
		st->statefd = st->mb.idxfd;
	} else
		fatalx("INIT: unsupported mailbox location");
	if (e == MAIL_OK)
		st->open = 1;
	return e;
}

/* The names of the state files in statefd (expire.h). */
static void
state_names(struct store_state *st)
{
	if (!st->is_mbox) {
		snprintf(st->login_name, sizeof(st->login_name), "%s",
		    EXPIRE_LOGIN_FILE);
		snprintf(st->rec_name, sizeof(st->rec_name), "%s",
		    EXPIRE_REC_FILE);
	} else if (mbox_index_name(&st->mb, EXPIRE_LOGIN_SUFFIX,
	    st->login_name, sizeof(st->login_name)) == -1 ||
	    mbox_index_name(&st->mb, EXPIRE_REC_SUFFIX, st->rec_name,
	    sizeof(st->rec_name)) == -1)
		fatalx("INIT: index name too long");
}

/* Each message's first retrieval from the records (EXPIRE n > 0). */
static void
map_first(struct store_state *st, const struct expire_rec *recs, uint32_t n)
{
	const struct expire_rec *r;
	uint32_t i, mapped = 0;

	free(st->first);
	free(st->seen);
	if ((st->first = calloc(st->count + 1, sizeof(*st->first))) == NULL ||
	    (st->seen = calloc(st->count + 1, 1)) == NULL)
		fatal("expire records");
	for (i = 0; i < st->count; i++)
		if ((r = expire_find(recs, n, st->msgs[i].uidl)) != NULL) {
			st->first[i] = r->first;
			mapped++;
		}
	/* records of messages that are gone are dropped by a save */
	st->first_dirty = mapped < n;
}

/* EXPIRE n > 0: expunge the messages first retrieved more than n days
 * ago, through the mailbox's own expunge (its journal keeps that
 * crash-safe), then open it again to list what is left.  MAIL_OK, or
 * why the mailbox could not be opened again. */
static enum mail_err
expire_old(struct store_state *st, const struct ipc_store_init *in,
    int64_t now, uint64_t *octets_r)
{
	struct expire_rec *recs;
	uint32_t n, i, due = 0, done = 0, failed = 0;
	int64_t age = (int64_t)st->expire * EXPIRE_DAY;
	enum mail_err e;

	expire_load(st->statefd, st->rec_name, &recs, &n);
	map_first(st, recs, n);
	for (i = 0; i < st->count; i++)
		if (st->first[i] != 0 && now - st->first[i] > age) {
			st->msgs[i].deleted = 1;
			due++;
		}
	if (due == 0) {
		free(recs);
		return MAIL_OK;
	}
	if (st->is_mbox) {
		if (mbox_expunge(&st->mb, &done) != MAIL_OK)
			failed = due;
	} else
		done = maildir_expunge(&st->md, &failed);
	log_info("expire: %u message%s first retrieved over %u day%s ago "
	    "deleted%s", done, done == 1 ? "" : "s", st->expire,
	    st->expire == 1 ? "" : "s", failed > 0 ? " (some failed)" : "");
	/* the records of what is gone are left out */
	(void)expire_save(st->statefd, st->rec_name, st->msgs, st->first,
	    st->count, !st->is_mbox || failed == 0);
	st->first_dirty = 0;
	store_close(st);
	st->is_mbox = 0;
	if ((e = open_box(st, in, octets_r)) == MAIL_OK) {
		state_names(st);
		map_first(st, recs, n);
	}
	free(recs);
	return e;
}

void
store_h_init(struct store_state *st, struct msg *m)
{
	char auto_loc[MAIL_MAX_PATH];
	struct ipc_store_init in;
	enum mail_err e;
	uint64_t octets;
	uint32_t wait;
	int64_t now;

	/* the mbox options too, within their config ranges */
	if (ipc_get_store_init(m, &in) == -1)
		fatalx("INIT: malformed");
	/* auto: ~/Maildir if this process, the owner's, can open it */
	if (strncmp(in.location, MAIL_AUTO_PREFIX,
	    sizeof(MAIL_AUTO_PREFIX) - 1) == 0) {
		if (mail_auto_resolve(in.location, in.user, auto_loc,
		    sizeof(auto_loc)) == -1)
			fatalx("INIT: bad auto location");
		in.location = auto_loc;
		/* the spool's dotlock child, started in case: not needed */
		if (strncmp(auto_loc, "maildir:", 8) == 0)
			dotlock_child_end();
	}
	log_debug("user %s mailbox %s", in.user, in.location);
	proctitle_store(st->verbose_title, in.user,
	    strncmp(in.location, "mbox:/", 6) == 0);
	st->login_delay = in.login_delay;
	st->expire = in.expire;
	e = open_box(st, &in, &octets);
	if (e == MAIL_OK) {
		state_names(st);
		now = expire_now(st->is_mbox ? st->mb.dirfd : st->md.dirfd);
		/* RFC 2449 LOGIN-DELAY: a refused login leaves the time */
		if (login_refused(st->statefd, st->login_name, st->login_delay,
		    now, &wait)) {
			log_info("login refused: LOGIN-DELAY %u s, %u s to "
			    "wait", st->login_delay, wait);
			store_close(st);
			if (ipc_send_session_login_delay(st->sock, wait) == -1)
				fatal("send login delay");
			st->phase = ST_DONE;
			return;
		}
		if (st->login_delay > 0)
			login_record(st->statefd, st->login_name, now);
		if (st->expire != EXPIRE_NEVER && st->expire > 0)
			e = expire_old(st, &in, now, &octets);
		else if (st->expire == 0)
			map_first(st, NULL, 0);
	}
	if (e != MAIL_OK) {
		/* nothing to close: the worker ends without a mailbox */
		reply_err(st, e == MAIL_INUSE ? IPC_ERR_INUSE :
		    e == MAIL_PERM ? IPC_ERR_PERM : IPC_ERR_TEMP);
		st->phase = ST_DONE;
		return;
	}
	st->phase = ST_READY;
	if (ipc_send_session_store_ready(st->sock, st->count, octets) == -1)
		fatal("send ready");
}

void
store_h_list(struct store_state *st, struct msg *m)
{
	do_listing(st, m, 0);
}

void
store_h_uidl(struct store_state *st, struct msg *m)
{
	do_listing(st, m, 1);
}

void
store_h_retr(struct store_state *st, struct msg *m)
{
	do_message(st, m, WIRE_ALL_LINES, 0);
}

void
store_h_top(struct store_state *st, struct msg *m)
{
	do_message(st, m, 0, 0);
}

void
store_h_retr_ahead(struct store_state *st, struct msg *m)
{
	do_message(st, m, WIRE_ALL_LINES, 1);
}

void
store_h_dele(struct store_state *st, struct msg *m)
{
	uint32_t msgno, idx;

	if (ipc_get_store_dele(m, &msgno) == -1)
		fatalx("DELE: malformed");
	if (check_msgno(st, msgno, &idx) == -1)
		return;
	st->msgs[idx].deleted = 1;
	reply_ok(st, idx + 1, st->msgs[idx].size, "");
}

void
store_h_rset(struct store_state *st, struct msg *m)
{
	uint32_t i, live;
	uint64_t octets;

	if (ipc_get_store_rset(m) == -1)
		fatalx("RSET: malformed");
	for (i = 0; i < st->count; i++)
		st->msgs[i].deleted = 0;
	live_totals(st, &live, &octets);
	reply_ok(st, live, octets, "");
}

/* Save the EXPIRE records if they changed (skip_deleted: leave out
 * those of messages marked deleted, which are gone). */
static void
save_first(struct store_state *st, int skip_deleted)
{
	uint32_t i;

	if (!st->open || st->first == NULL || st->expire == 0 ||
	    st->expire == EXPIRE_NEVER)
		return;
	for (i = 0; skip_deleted && !st->first_dirty && i < st->count; i++)
		if (st->msgs[i].deleted && st->first[i] != 0)
			st->first_dirty = 1;
	if (st->first_dirty)
		(void)expire_save(st->statefd, st->rec_name, st->msgs,
		    st->first, st->count, skip_deleted);
	st->first_dirty = 0;
}

void
store_h_quit(struct store_state *st, struct msg *m)
{
	uint32_t i, done, failed = 0;

	if (ipc_get_store_quit(m) == -1)
		fatalx("QUIT: malformed");
	/* RFC 2449 EXPIRE 0: what was RETRieved is deleted at UPDATE, as
	 * if the client had sent DELE (a session that ends without QUIT
	 * deletes nothing) */
	for (i = 0; st->expire == 0 && st->seen != NULL && i < st->count; i++)
		if (st->seen[i])
			st->msgs[i].deleted = 1;
	if (st->is_mbox) {
		if (mbox_expunge(&st->mb, &done) != MAIL_OK)
			failed = 1;
	} else
		done = maildir_expunge(&st->md, &failed);
	/* the records of the messages expunged now are left out */
	save_first(st, !st->is_mbox || failed == 0);
	store_close(st);
	/* the mailbox (and its [IN-USE] lock) is released before the
	 * client hears +OK, so its next login cannot find it still held */
	if (failed > 0)
		reply_err(st, IPC_ERR_TEMP);
	else
		reply_ok(st, done, 0, "");
}

void
store_h_shm_done(struct store_state *st, struct msg *m)
{
	if (ipc_get_store_shm_done(m) == -1)
		fatalx("SHM_DONE: malformed");
	body_shm_done(&st->shm);
}

/*
 * What the worker accepts, and when (OpenSSH mon_table); anything else
 * is fatal.  The body regions are released by the requests themselves
 * (body_shm.h), so that step is a column too: SHM_DONE releases one,
 * only once the memfd exists (before, there is nothing it could
 * release); RETR_AHEAD also releases the held answer of the last one;
 * RETR and TOP need both halves, so the session must have let go of a
 * held one first.
 */
static const struct store_permit permits[] = {
	/* next: READY, or DONE when the mailbox cannot be opened */
	{ MSG_STORE_INIT, STORE_IN(ST_INIT), STORE_ONCE, SHM_STEP_RELEASE,
	    STORE_NEXT_HANDLER, store_h_init },
	{ MSG_STORE_SHM_DONE, STORE_IN(ST_READY), STORE_REGION, SHM_STEP_OWN,
	    ST_READY, store_h_shm_done },
	{ MSG_STORE_LIST, STORE_IN(ST_READY), 0, SHM_STEP_RELEASE,
	    ST_READY, store_h_list },
	{ MSG_STORE_UIDL, STORE_IN(ST_READY), 0, SHM_STEP_RELEASE,
	    ST_READY, store_h_uidl },
	{ MSG_STORE_RETR, STORE_IN(ST_READY), 0, SHM_STEP_NOT_HELD,
	    ST_READY, store_h_retr },
	{ MSG_STORE_TOP, STORE_IN(ST_READY), 0, SHM_STEP_NOT_HELD,
	    ST_READY, store_h_top },
	{ MSG_STORE_DELE, STORE_IN(ST_READY), 0, SHM_STEP_RELEASE,
	    ST_READY, store_h_dele },
	{ MSG_STORE_RSET, STORE_IN(ST_READY), 0, SHM_STEP_RELEASE,
	    ST_READY, store_h_rset },
	{ MSG_STORE_QUIT, STORE_IN(ST_READY), STORE_ONCE, SHM_STEP_RELEASE,
	    ST_DONE, store_h_quit },
	{ MSG_STORE_RETR_AHEAD, STORE_IN(ST_READY), 0, SHM_STEP_RELEASE_HELD,
	    ST_READY, store_h_retr_ahead },
};
#define NPERMITS	(sizeof(permits) / sizeof(permits[0]))

/* st->once has a bit per row */
_Static_assert(NPERMITS <= 32, "permit rows exceed store_state.once");

void
store_state_init(struct store_state *st, int sock)
{
	memset(st, 0, sizeof(*st));
	st->phase = ST_INIT;
	st->sock = sock;
	st->shm.pass_fd = -1;
}

const struct store_permit *
store_permit(const struct store_state *st, uint32_t type)
{
	const struct store_permit *p;
	size_t i;

	for (i = 0; i < NPERMITS; i++)
		if (permits[i].type == type)
			break;
	if (i == NPERMITS)
		return NULL;
	p = &permits[i];
	if ((p->states & STORE_IN(st->phase)) == 0 ||
	    ((p->flags & STORE_ONCE) && (st->once & (1u << i))) ||
	    ((p->flags & STORE_REGION) && st->shm.base == NULL))
		return NULL;
	return p;
}

/* The row's region step, before its handler (nothing to do before the
 * memfd is made). */
static void
shm_step(struct store_state *st, const struct store_permit *p)
{
	if (st->shm.base == NULL || p->shm == SHM_STEP_OWN)
		return;
	/* the session has written out what it held when it asks for the
	 * next message ahead */
	if (p->shm == SHM_STEP_RELEASE_HELD && st->shm.held)
		body_shm_done(&st->shm);
	if (p->shm == SHM_STEP_NOT_HELD && st->shm.held)
		fatalx("%s while a region is held", msg_name(p->type));
	body_shm_release_all(&st->shm);
}

void
store_handle(struct store_state *st, struct msg *m)
{
	const struct store_permit *p;

	if ((p = store_permit(st, m->type)) == NULL)
		fatalx("unexpected message %s", msg_name(m->type));
	if (p->flags & STORE_ONCE)
		st->once |= 1u << (size_t)(p - permits);
	shm_step(st, p);
	p->handler(st, m);
	if (p->next != STORE_NEXT_HANDLER)
		st->phase = (enum store_phase)p->next;
}

/*
 * Between requests: the Maildir lock file's refresh (maildir_lock.h),
 * when it is due, while the session is idle.  0: a request is waiting;
 * -1: another node took the lock over, and the session ends here
 * (nothing expunged, the lock file left to its new holder).
 */
static int
wait_request(struct store_state *st)
{
	struct pollfd pfd;
	int due, r;

	for (;;) {
		if (!st->open || st->is_mbox ||
		    (due = maildir_lock_due(&st->md)) == -1)
			return 0;	/* no lock file: block in recvmsg */
		if (due == 0) {
			if (maildir_lock_refresh(&st->md) == -1) {
				log_warnx("maildir lock taken over by another "
				    "node: session ended");
				return -1;
			}
			continue;
		}
		pfd.fd = st->sock;
		pfd.events = POLLIN;
		if ((r = poll(&pfd, 1, due * 1000)) == -1 && errno != EINTR)
			fatal("poll");
		if (r > 0)
			return 0;
	}
}

void
store_serve(struct store_state *st)
{
	struct msg m;
	int r;

	while (st->phase != ST_DONE) {
		if (wait_request(st) == -1)
			break;	/* lost the lock: nothing is deleted */
		if ((r = ipc_recv(st->sock, &m)) == 0)
			break;	/* session gone: nothing is deleted */
		if (r == -1 && errno == EPROTO && m.type != MSG_NONE)
			fatalx("%s: malformed", msg_name(m.type));
		if (r == -1)
			fatal("ipc receive");
		store_handle(st, &m);
	}
}

void
store_close(struct store_state *st)
{
	if (!st->open)
		return;
	save_first(st, 0);	/* still under the mailbox's lock */
	free(st->first);
	free(st->seen);
	st->first = NULL;
	st->seen = NULL;
	if (st->is_mbox)
		mbox_close(&st->mb);
	else
		maildir_close(&st->md);
	st->open = 0;
	st->msgs = NULL;
	st->count = 0;
}
