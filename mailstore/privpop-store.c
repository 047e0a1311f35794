/*
 * privpop-store: the mailstore worker.  Forked by the store fork server
 * (-Z) or exec'd by privpop-auth (-u, -g, -G), as root, and dropped to
 * the mailbox owner here (worker_drop), with its socket on fd 3.  It
 * first takes MSG_STORE_INIT from privpop-auth, opens and locks that
 * one mailbox, then answers the session child's requests until QUIT or
 * EOF.  What runs as root: the fork server (-Z), and up to the drop,
 * reading the spawn request and the ids, and starting the dotlock
 * child.
 *
 * Runs as: root (the fork server -Z, a worker up to its drop), then the
 * mailbox owner.
 */
#include "config.h"

#include <sys/syscall.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "body_shm.h"
#include "buf.h"
#include "dotlock_child.h"
#include "fdlayout.h"
#include "ipc.h"
#include "log.h"
#include "maildir.h"
#include "mbox.h"
#include "mbox_lock.h"
#include "numparse.h"
#include "privdrop.h"
#include "sandbox.h"
#include "spawner.h"
#include "wire.h"

/* Descriptors the worker needs: socket, Maildir, lock, one message,
 * one directory scan, syslog, stdio. */
#define STORE_RLIMIT_NOFILE	32

enum store_state { ST_INIT, ST_READY, ST_DONE };

/* The one mailbox of this worker, Maildir or mbox; msgs and count
 * point into whichever is open. */
static struct maildir md;
static struct mbox mb;
static int is_mbox;
static struct mail_msg *msgs;
static uint32_t count;
static enum store_state state = ST_INIT;
static int sock = IPC_CHILD_FD;
static struct body_shm shm = { .pass_fd = -1 };	/* body_shm.h */
static int seccomp_on = 1;	/* -N: no filters (seccomp = no) */

static void
reply_ok(uint32_t n, uint64_t octets, const char *text)
{
	struct msg m;

	msg_init(&m, MSG_SESSION_OK);
	if (msg_put_u32(&m, n) == -1 || msg_put_u64(&m, octets) == -1 ||
	    msg_put_str(&m, text) == -1 || ipc_send(sock, &m, -1) == -1)
		fatal("send reply");
}

static void
reply_err(uint32_t code)
{
	if (ipc_send_u32(sock, MSG_SESSION_ERR, code) == -1)
		fatal("send error");
}

/* Send whole IPC_MAX_PAYLOAD chunks of b; with all, the rest too. */
static void
flush_data(struct buf *b, int all)
{
	while (buf_used(b) >= IPC_MAX_PAYLOAD ||
	    (all && buf_used(b) > 0)) {
		size_t n = buf_used(b);

		if (n > IPC_MAX_PAYLOAD)
			n = IPC_MAX_PAYLOAD;
		if (ipc_send_raw(sock, MSG_SESSION_DATA, buf_ptr(b), n) == -1)
			fatal("send data");
		buf_consume(b, n);
	}
	buf_compact(b);
}

static void
send_end(void)
{
	if (ipc_send_raw(sock, MSG_SESSION_END, NULL, 0) == -1)
		fatal("send end");
}

static void
live_totals(uint32_t *live_r, uint64_t *octets_r)
{
	uint32_t i;

	*live_r = 0;
	*octets_r = 0;
	for (i = 0; i < count; i++)
		if (!msgs[i].deleted) {
			(*live_r)++;
			*octets_r += msgs[i].size;
		}
}

/* Validate a message number (1-based) from the session: in range and
 * not deleted.  Returns the 0-based index or -1 after answering. */
static int
get_msgno(struct msg *m, uint32_t *idx)
{
	uint32_t n;

	if (msg_get_u32(m, &n) == -1)
		fatalx("%s: short message", msg_name(m->type));
	if (n == 0 || n > count) {
		reply_err(IPC_ERR_NOSUCH);
		return -1;
	}
	if (msgs[n - 1].deleted) {
		reply_err(IPC_ERR_DELETED);
		return -1;
	}
	*idx = n - 1;
	return 0;
}

static void
do_listing(struct msg *m, int uidl)
{
	struct buf out;
	uint32_t n, i, live;
	uint64_t octets;

	if (msg_get_u32(m, &n) == -1 || msg_end(m) == -1)
		fatalx("%s: malformed", msg_name(m->type));
	if (n != 0) {
		m->rpos = 0;
		if (get_msgno(m, &i) == -1)
			return;
		reply_ok(n, msgs[i].size, uidl ? msgs[i].uidl : "");
		return;
	}
	live_totals(&live, &octets);
	reply_ok(live, octets, "");
	if (buf_init(&out, 2 * IPC_MAX_PAYLOAD, 4 * IPC_MAX_PAYLOAD) == -1)
		fatal("buf");
	for (i = 0; i < count; i++) {
		if (msgs[i].deleted)
			continue;
		if ((uidl ? buf_printf(&out, "%u %s\r\n", i + 1,
		    msgs[i].uidl) : buf_printf(&out, "%u %llu\r\n", i + 1,
		    (unsigned long long)msgs[i].size)) == -1)
			fatalx("listing buffer");
		flush_data(&out, 0);
	}
	flush_data(&out, 1);
	buf_free(&out);
	send_end();
}

/* POP3 octets of len bytes at off (mbox: checked before answering,
 * so a RETR always sends exactly the size LIST gave). */
static int
count_range(int fd, uint64_t off, uint64_t len, uint64_t *octets_r)
{
	static unsigned char chunk[WIRE_READ_CHUNK];
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
changed_err(uint32_t idx)
{
	log_warnx("mbox %s: message %u changed by another program", mb.path,
	    idx + 1);
	reply_err(IPC_ERR_TEMP);
}

/* Where message idx's bytes are: fd (close it when *own_r), offset and
 * length (UINT64_MAX: to the end of the file).  An mbox message is
 * checked here, its octets counted against the listing, unless the
 * caller counts them itself before it answers (count_later).  -1 after
 * answering. */
static int
locate(uint32_t idx, int count_later, int *fd_r, int *own_r, uint64_t *off_r,
    uint64_t *len_r)
{
	uint64_t octets;

	if (!is_mbox) {
		if ((*fd_r = maildir_open_msg(&md, idx)) == -1) {
			log_warn("open %s", msgs[idx].name);
			reply_err(IPC_ERR_TEMP);
			return -1;
		}
		*own_r = 1;
		*off_r = 0;
		*len_r = UINT64_MAX;
		return 0;
	}
	*fd_r = mb.fd;
	*own_r = 0;
	*off_r = msgs[idx].start;
	*len_r = msgs[idx].end - msgs[idx].start;
	if (mbox_check_msg(&mb, idx) == -1 || (!count_later &&
	    (count_range(mb.fd, *off_r, *len_r, &octets) == -1 ||
	    octets != msgs[idx].size))) {
		changed_err(idx);
		return -1;
	}
	return 0;
}

/* A whole message whose wire form surely fits one memfd half (LF to
 * CRLF at most doubles it) is encoded before its OK goes out, so the
 * octets can be checked on the encoded bytes: an mbox RETR then reads
 * its message once, not twice. */
static int
fits_one_region(uint32_t idx, uint64_t lines)
{
	return is_mbox && lines == WIRE_ALL_LINES && shm.base != NULL &&
	    msgs[idx].end - msgs[idx].start <= BODY_SHM_WHOLE_MAX;
}

/* The OK of a RETR or TOP goes just before its first body bytes, so
 * the session, which needs both, wakes up once for them. */
static void
send_ok_once(int *pending, uint32_t idx)
{
	if (*pending)
		reply_ok(idx + 1, msgs[idx].size, "");
	*pending = 0;
}

/* RETR/TOP, or with ahead a RETR_AHEAD: the same answer, but only in a
 * single region (else IPC_ERR_NOT_AHEAD, before anything is sent),
 * which the session holds until it releases it. */
static void
do_message(struct msg *m, uint64_t lines, int ahead)
{
	static unsigned char chunk[WIRE_READ_CHUNK];
	struct wire_enc w;
	struct buf out, *outp;
	uint64_t off, left;
	uint32_t idx;
	ssize_t n;
	int fd, own, ok_pending, count_later;

	if (get_msgno(m, &idx) == -1)
		return;
	if (m->type == MSG_STORE_TOP) {
		uint32_t k;

		if (msg_get_u32(m, &k) == -1)
			fatalx("TOP: malformed");
		lines = k;
	}
	if (msg_end(m) == -1)
		fatalx("%s: malformed", msg_name(m->type));
	(void)body_shm_ready(&shm);
	/* ahead: the listed octets bound the stored bytes (an mbox
	 * message's exactly; a Maildir file larger than listed makes the
	 * loop below give up) */
	if (ahead && (shm.base == NULL ||
	    msgs[idx].size > BODY_SHM_WHOLE_MAX)) {
		reply_err(IPC_ERR_NOT_AHEAD);
		return;
	}
	count_later = fits_one_region(idx, lines);
	if (locate(idx, count_later, &fd, &own, &off, &left) == -1)
		return;
	ok_pending = 1;
	if (shm.base != NULL)
		outp = body_shm_begin(&shm, sock);
	else {
		send_ok_once(&ok_pending, idx);
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
				reply_err(IPC_ERR_NOT_AHEAD);
				return;
			}
			send_ok_once(&ok_pending, idx);
			body_shm_flush(&shm, sock, 1);
		}
		if (wire_encode(&w, chunk, (size_t)n, outp) == -1)
			fatalx("encode buffer");
		if (outp == &out)
			flush_data(&out, 0);
		off += (uint64_t)n;
		if (left != UINT64_MAX)
			left -= (uint64_t)n;
	}
	if (own)
		close(fd);
	if (count_later) {
		/* nothing sent yet: the answer may still be an error */
		wire_finish(&w, outp);
		if (w.octets != msgs[idx].size) {
			changed_err(idx);
			return;
		}
	}
	send_ok_once(&ok_pending, idx);
	if (outp != &out && buf_room(outp) < 2)
		body_shm_flush(&shm, sock, 1);
	wire_finish(&w, outp);
	if (outp == &out) {
		flush_data(&out, 1);
		buf_free(&out);
		send_end();
	} else {
		body_shm_flush(&shm, sock, 0);	/* ends the answer */
		if (ahead)
			body_shm_hold(&shm);
	}
	if (lines == WIRE_ALL_LINES && w.octets != msgs[idx].size)
		log_warnx("message %u: sent %llu octets, listed %llu", idx + 1,
		    (unsigned long long)w.octets,
		    (unsigned long long)msgs[idx].size);
}

static void
h_init(struct msg *m)
{
	const char *user, *loc, *index_dir;
	struct mbox_opts o;
	uint32_t locks, timeout, stale;
	enum mail_err e;
	uint64_t octets;
	struct msg r;

	if (msg_get_str(m, &user, POP3_MAX_USER) == -1 ||
	    msg_get_str(m, &loc, MAIL_MAX_PATH) == -1 ||
	    msg_get_u32(m, &locks) == -1 || msg_get_u32(m, &timeout) == -1 ||
	    msg_get_u32(m, &stale) == -1 ||
	    msg_get_str(m, &index_dir, MAIL_MAX_PATH) == -1 ||
	    msg_end(m) == -1)
		fatalx("INIT: malformed");
	if (locks > (MBOX_LOCK_DOTLOCK | MBOX_LOCK_FCNTL | MBOX_LOCK_FLOCK) ||
	    timeout > 3600 || stale > 86400 ||
	    (index_dir[0] != '\0' && index_dir[0] != '/'))
		fatalx("INIT: bad mbox options");
	log_debug("user %s mailbox %s", user, loc);
	if (strncmp(loc, "maildir:/", 9) == 0) {
		e = maildir_open(&md, loc + 8);
		msgs = md.msgs;
		count = md.count;
		octets = md.octets;
	} else if (strncmp(loc, "mbox:/", 6) == 0) {
		o.locks = (int)locks;
		o.lock_timeout = (int)timeout;
		o.dotlock_stale = (int)stale;
		o.index_dir = index_dir;
		is_mbox = 1;
		e = mbox_open(&mb, loc + 5, &o);
		msgs = mb.msgs;
		count = mb.count;
		octets = mb.octets;
	} else
		fatalx("INIT: unsupported mailbox location");
	if (e != MAIL_OK) {
		reply_err(e == MAIL_INUSE ? IPC_ERR_INUSE :
		    e == MAIL_PERM ? IPC_ERR_PERM : IPC_ERR_TEMP);
		exit(0);
	}
	state = ST_READY;
	msg_init(&r, MSG_SESSION_STORE_READY);
	if (msg_put_u32(&r, count) == -1 || msg_put_u64(&r, octets) == -1 ||
	    ipc_send(sock, &r, -1) == -1)
		fatal("send ready");
}

static void
h_list(struct msg *m)
{
	do_listing(m, 0);
}

static void
h_uidl(struct msg *m)
{
	do_listing(m, 1);
}

static void
h_retr(struct msg *m)
{
	do_message(m, WIRE_ALL_LINES, 0);
}

static void
h_top(struct msg *m)
{
	do_message(m, 0, 0);
}

static void
h_retr_ahead(struct msg *m)
{
	do_message(m, WIRE_ALL_LINES, 1);
}

static void
h_dele(struct msg *m)
{
	uint32_t idx;

	if (get_msgno(m, &idx) == -1)
		return;
	if (msg_end(m) == -1)
		fatalx("DELE: malformed");
	msgs[idx].deleted = 1;
	reply_ok(idx + 1, msgs[idx].size, "");
}

static void
h_rset(struct msg *m)
{
	uint32_t i, live;
	uint64_t octets;

	if (msg_end(m) == -1)
		fatalx("RSET: malformed");
	for (i = 0; i < count; i++)
		msgs[i].deleted = 0;
	live_totals(&live, &octets);
	reply_ok(live, octets, "");
}

static void
h_quit(struct msg *m)
{
	uint32_t done, failed = 0;

	if (msg_end(m) == -1)
		fatalx("QUIT: malformed");
	if (is_mbox) {
		if (mbox_expunge(&mb, &done) != MAIL_OK)
			failed = 1;
		mbox_close(&mb);
	} else {
		done = maildir_expunge(&md, &failed);
		maildir_close(&md);
	}
	/* the mailbox (and its [IN-USE] lock) is released before the
	 * client hears +OK, so its next login cannot find it still held */
	if (failed > 0)
		reply_err(IPC_ERR_TEMP);
	else
		reply_ok(done, 0, "");
	state = ST_DONE;
}

/* What each state permits (OpenSSH mon_table); anything else is fatal. */
static const struct {
	uint32_t	 type;
	enum store_state state;
	void		(*handler)(struct msg *);
} dispatch[] = {
	{ MSG_STORE_INIT, ST_INIT, h_init },
	{ MSG_STORE_LIST, ST_READY, h_list },
	{ MSG_STORE_UIDL, ST_READY, h_uidl },
	{ MSG_STORE_RETR, ST_READY, h_retr },
	{ MSG_STORE_TOP, ST_READY, h_top },
	{ MSG_STORE_DELE, ST_READY, h_dele },
	{ MSG_STORE_RSET, ST_READY, h_rset },
	{ MSG_STORE_QUIT, ST_READY, h_quit },
	{ MSG_STORE_RETR_AHEAD, ST_READY, h_retr_ahead },
};

/*
 * As root: become the mailbox owner, for good (no exec follows).  A
 * worker that needs a group for dotlocks (an mbox in a root:mail 2775
 * spool) leaves it to a dotlock child and drops without it, so the
 * process that parses mail can open no other user's spool.
 */
static void
worker_drop(uid_t uid, gid_t gid, gid_t extra)
{
	int fd;

	if (uid == 0 || gid == 0)
		fatalx("uid/gid 0 refused");
	if (extra != PRIV_NO_GROUP && extra != gid) {
		if ((fd = dotlock_child_start(uid, gid, extra, sock)) == -1)
			fatal("dotlock child");
		dotlock_child_use(fd);
	}
	priv_drop(uid, gid, PRIV_NO_GROUP, NULL);
}

/* The fork server, after each fork: the helper that asked learns that
 * its worker exists, with a pidfd of it (none if pidfd_open failed),
 * on which it waits when it holds a PAM session. */
static void
report_pidfd(int chan, pid_t pid)
{
	struct msg m;
	int pfd;

	if ((pfd = (int)syscall(SYS_pidfd_open, pid, 0)) == -1)
		log_warn("pidfd_open");
	msg_init(&m, MSG_AUTH_WORKER_PIDFD);
	(void)ipc_send(chan, &m, pfd);
	if (pfd != -1)
		close(pfd);
}

/*
 * -Z: the fork server of workers.  Started by privpopd as root (it
 * needs to setuid its children), it holds no secret and parses nothing
 * itself: each MSG_STORE_SPAWN from an auth helper brings a channel to
 * that helper and becomes a child that reads the request, takes its
 * socket from the channel, drops to that owner and serves the socket,
 * exactly as an exec'd worker would.
 */
static void
become_worker(void)
{
	struct msg m, s;
	uint32_t uid, gid, extra;
	int chan;

	sbx_store_spawner(seccomp_on);
	if (spawner_serve(sock, MSG_STORE_SPAWN, 0, "privpop-store", &m, NULL,
	    NULL, &chan, NULL, report_pidfd) == 1)
		exit(0);
	if (msg_get_u32(&m, &uid) == -1 || msg_get_u32(&m, &gid) == -1 ||
	    msg_get_u32(&m, &extra) == -1 || msg_end(&m) == -1)
		fatalx("STORE_SPAWN: malformed");
	if (ipc_recv(m.fd, &s) != 1 || s.type != MSG_STORE_SOCKET ||
	    s.fd == -1 || msg_end(&s) == -1)
		fatal("STORE_SOCKET: missing or malformed");
	close(m.fd);
	/* the spawner's socket was fd 3: the new one may be there now */
	if (s.fd != sock) {
		if (dup2(s.fd, sock) == -1)
			fatal("dup2");
		close(s.fd);
	}
	log_reopen();	/* a syslog socket of its own, not root's */
	if (geteuid() == 0)
		worker_drop((uid_t)uid, (gid_t)gid, (gid_t)extra);
}

/* -u uid, -g gid, -G gid: privpop-auth execs this as root when it
 * has no fork server to ask, and the drop happens here, before
 * anything else (uid and gid 0 refused). */
static uint32_t
id_arg(const char *s, uint64_t min)
{
	uint64_t v;

	if (parse_uint(s, strlen(s), min, UINT32_MAX, &v) == -1)
		fatalx("bad id %s", s);
	return (uint32_t)v;
}

int
main(int argc, char *argv[])
{
	struct msg m;
	uint32_t uid = 0, gid = 0, extra = (uint32_t)PRIV_NO_GROUP;
	int ch, to_stderr = 0, debug = 0, zygote = 0;

	while ((ch = getopt(argc, argv, "deg:G:Nu:Z")) != -1) {
		switch (ch) {
		case 'g':
			gid = id_arg(optarg, 1);
			break;
		case 'G':
			extra = id_arg(optarg, 1);
			break;
		case 'u':
			uid = id_arg(optarg, 1);
			break;
		case 'd':
			debug = 1;
			break;
		case 'e':
			to_stderr = 1;
			break;
		case 'N':
			seccomp_on = 0;
			break;
		case 'Z':
			zygote = 1;
			break;
		default:
			fprintf(stderr, "usage: privpop-store [-deN] "
			    "[-u uid -g gid [-G gid]] | -Z\n");
			return 2;
		}
	}
	log_open("privpop-store", to_stderr, debug);
	if (zygote)
		become_worker();
	else if (uid != 0 && gid != 0 && geteuid() == 0)
		worker_drop((uid_t)uid, (gid_t)gid, (gid_t)extra);
	if (geteuid() == 0 || getuid() == 0)
		fatalx("refusing to run as root");
	if (fcntl(sock, F_GETFD) == -1)
		fatalx("no IPC socket on fd %d", sock);
	priv_limit(STORE_RLIMIT_NOFILE, 1);
	if (zygote)
		sbx_store_forked();	/* the fork server's filter */
	else
		sbx_store(seccomp_on);

	while (state != ST_DONE) {
		size_t i;
		int r = ipc_recv(sock, &m);

		if (r == 0)
			break;	/* session gone: nothing is deleted */
		if (r == -1 && errno == EPROTO && m.type != MSG_NONE)
			fatalx("%s: malformed", msg_name(m.type));
		if (r == -1)
			fatal("ipc receive");
		/* releases of the last message's regions, before the next
		 * request */
		if (m.type == MSG_STORE_SHM_DONE && state == ST_READY &&
		    shm.base != NULL) {
			if (msg_end(&m) == -1)
				fatalx("SHM_DONE: malformed");
			body_shm_done(&shm);
			continue;
		}
		if (shm.base != NULL) {
			/* the session has written out what it held when it
			 * asks for the next message ahead */
			if (shm.held && m.type == MSG_STORE_RETR_AHEAD)
				body_shm_done(&shm);
			/* a message answer needs both halves free: the
			 * session releases what it holds before asking */
			if (shm.held && (m.type == MSG_STORE_RETR ||
			    m.type == MSG_STORE_TOP))
				fatalx("%s while a region is held",
				    msg_name(m.type));
			body_shm_release_all(&shm);
		}
		for (i = 0; i < sizeof(dispatch) / sizeof(dispatch[0]); i++)
			if (dispatch[i].type == m.type)
				break;
		if (i == sizeof(dispatch) / sizeof(dispatch[0]) ||
		    dispatch[i].state != state)
			fatalx("unexpected message %s", msg_name(m.type));
		dispatch[i].handler(&m);
	}
	if (is_mbox)
		mbox_close(&mb);
	else
		maildir_close(&md);
	return 0;
}
