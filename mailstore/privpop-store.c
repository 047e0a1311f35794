/*
 * privpop-store: the mailstore worker.  Started by privpop-auth as the
 * mailbox owner (never root), with its socket on fd 3.  It first takes
 * MSG_STORE_INIT from privpop-auth, opens and locks that one mailbox,
 * then answers the session child's requests until QUIT or EOF.
 * Nothing in this file runs as root.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "ipc.h"
#include "log.h"
#include "maildir.h"
#include "privdrop.h"
#include "wire.h"

/* Descriptors the worker needs: socket, Maildir, lock, one message,
 * one directory scan, syslog, stdio. */
#define STORE_RLIMIT_NOFILE	32

enum store_state { ST_INIT, ST_READY, ST_DONE };

static struct maildir mbox;
static enum store_state state = ST_INIT;
static int sock = IPC_CHILD_FD;

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
live_totals(uint32_t *count, uint64_t *octets)
{
	uint32_t i;

	*count = 0;
	*octets = 0;
	for (i = 0; i < mbox.count; i++)
		if (!mbox.msgs[i].deleted) {
			(*count)++;
			*octets += mbox.msgs[i].size;
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
	if (n == 0 || n > mbox.count) {
		reply_err(IPC_ERR_NOSUCH);
		return -1;
	}
	if (mbox.msgs[n - 1].deleted) {
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
	uint32_t n, i, count;
	uint64_t octets;

	if (msg_get_u32(m, &n) == -1 || msg_end(m) == -1)
		fatalx("%s: malformed", msg_name(m->type));
	if (n != 0) {
		m->rpos = 0;
		if (get_msgno(m, &i) == -1)
			return;
		reply_ok(n, mbox.msgs[i].size, uidl ? mbox.msgs[i].uidl : "");
		return;
	}
	live_totals(&count, &octets);
	reply_ok(count, octets, "");
	if (buf_init(&out, 2 * IPC_MAX_PAYLOAD, 4 * IPC_MAX_PAYLOAD) == -1)
		fatal("buf");
	for (i = 0; i < mbox.count; i++) {
		if (mbox.msgs[i].deleted)
			continue;
		if ((uidl ? buf_printf(&out, "%u %s\r\n", i + 1,
		    mbox.msgs[i].uidl) : buf_printf(&out, "%u %llu\r\n", i + 1,
		    (unsigned long long)mbox.msgs[i].size)) == -1)
			fatalx("listing buffer");
		flush_data(&out, 0);
	}
	flush_data(&out, 1);
	buf_free(&out);
	send_end();
}

static void
do_message(struct msg *m, uint64_t lines)
{
	static unsigned char chunk[WIRE_READ_CHUNK];
	struct wire_enc w;
	struct buf out;
	uint32_t idx;
	ssize_t n;
	int fd;

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
	if ((fd = maildir_open_msg(&mbox, idx)) == -1) {
		log_warn("open %s", mbox.msgs[idx].name);
		reply_err(IPC_ERR_TEMP);
		return;
	}
	reply_ok(idx + 1, mbox.msgs[idx].size, "");
	if (buf_init(&out, 2 * WIRE_READ_CHUNK + IPC_MAX_PAYLOAD,
	    2 * WIRE_READ_CHUNK + 2 * IPC_MAX_PAYLOAD) == -1)
		fatal("buf");
	wire_init(&w, lines);
	while (!w.done && (n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n == -1) {
			if (errno == EINTR)
				continue;
			/* The answer has begun: end the session rather than
			 * send a short message the client would accept. */
			fatal("read %s", mbox.msgs[idx].name);
		}
		if (wire_encode(&w, chunk, (size_t)n, &out) == -1)
			fatalx("encode buffer");
		flush_data(&out, 0);
	}
	close(fd);
	wire_finish(&w, &out);
	flush_data(&out, 1);
	buf_free(&out);
	send_end();
	if (lines == WIRE_ALL_LINES && w.octets != mbox.msgs[idx].size)
		log_warnx("%s: sent %llu octets, listed %llu",
		    mbox.msgs[idx].name, (unsigned long long)w.octets,
		    (unsigned long long)mbox.msgs[idx].size);
}

static void
h_init(struct msg *m)
{
	const char *user, *loc;
	enum maildir_err e;

	if (msg_get_str(m, &user, POP3_MAX_USER) == -1 ||
	    msg_get_str(m, &loc, MAIL_MAX_PATH) == -1 || msg_end(m) == -1)
		fatalx("INIT: malformed");
	if (strncmp(loc, "maildir:/", 9) != 0)
		fatalx("INIT: unsupported mailbox location");
	log_debug("user %s mailbox %s", user, loc);
	e = maildir_open(&mbox, loc + 8);
	if (e != MD_OK) {
		reply_err(e == MD_INUSE ? IPC_ERR_INUSE :
		    e == MD_PERM ? IPC_ERR_PERM : IPC_ERR_TEMP);
		exit(0);
	}
	state = ST_READY;
	{
		struct msg r;

		msg_init(&r, MSG_SESSION_STORE_READY);
		if (msg_put_u32(&r, mbox.count) == -1 ||
		    msg_put_u64(&r, mbox.octets) == -1 ||
		    ipc_send(sock, &r, -1) == -1)
			fatal("send ready");
	}
}

static void
h_stat(struct msg *m)
{
	uint32_t count;
	uint64_t octets;

	if (msg_end(m) == -1)
		fatalx("STAT: malformed");
	live_totals(&count, &octets);
	reply_ok(count, octets, "");
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
	do_message(m, WIRE_ALL_LINES);
}

static void
h_top(struct msg *m)
{
	do_message(m, 0);
}

static void
h_dele(struct msg *m)
{
	uint32_t idx;

	if (get_msgno(m, &idx) == -1)
		return;
	if (msg_end(m) == -1)
		fatalx("DELE: malformed");
	mbox.msgs[idx].deleted = 1;
	reply_ok(idx + 1, mbox.msgs[idx].size, "");
}

static void
h_rset(struct msg *m)
{
	uint32_t i, count;
	uint64_t octets;

	if (msg_end(m) == -1)
		fatalx("RSET: malformed");
	for (i = 0; i < mbox.count; i++)
		mbox.msgs[i].deleted = 0;
	live_totals(&count, &octets);
	reply_ok(count, octets, "");
}

static void
h_quit(struct msg *m)
{
	uint32_t done, failed;

	if (msg_end(m) == -1)
		fatalx("QUIT: malformed");
	done = maildir_expunge(&mbox, &failed);
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
	{ MSG_STORE_STAT, ST_READY, h_stat },
	{ MSG_STORE_LIST, ST_READY, h_list },
	{ MSG_STORE_UIDL, ST_READY, h_uidl },
	{ MSG_STORE_RETR, ST_READY, h_retr },
	{ MSG_STORE_TOP, ST_READY, h_top },
	{ MSG_STORE_DELE, ST_READY, h_dele },
	{ MSG_STORE_RSET, ST_READY, h_rset },
	{ MSG_STORE_QUIT, ST_READY, h_quit },
};

int
main(int argc, char *argv[])
{
	struct msg m;
	int ch, to_stderr = 0, debug = 0;

	while ((ch = getopt(argc, argv, "de")) != -1) {
		switch (ch) {
		case 'd':
			debug = 1;
			break;
		case 'e':
			to_stderr = 1;
			break;
		default:
			fprintf(stderr, "usage: privpop-store [-de]\n");
			return 2;
		}
	}
	log_open("privpop-store", to_stderr, debug);
	if (geteuid() == 0 || getuid() == 0)
		fatalx("refusing to run as root");
	if (fcntl(sock, F_GETFD) == -1)
		fatalx("no IPC socket on fd %d", sock);
	priv_limit(STORE_RLIMIT_NOFILE, 1);

	while (state != ST_DONE) {
		size_t i;
		int r = ipc_recv(sock, &m);

		if (r == 0)
			break;	/* session gone: nothing is deleted */
		if (r == -1)
			fatal("ipc receive");
		for (i = 0; i < sizeof(dispatch) / sizeof(dispatch[0]); i++)
			if (dispatch[i].type == m.type)
				break;
		if (i == sizeof(dispatch) / sizeof(dispatch[0]) ||
		    dispatch[i].state != state)
			fatalx("unexpected message %s", msg_name(m.type));
		dispatch[i].handler(&m);
	}
	maildir_close(&mbox);
	return 0;
}
