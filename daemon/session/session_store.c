/*
 * The session child's side of privpop-store: requests and their
 * answers, and the one path of message bodies (RETR, TOP, the listings)
 * from the worker's sealed memfd to the client, with the read-ahead of
 * the next RETR.
 *
 * The release rule of the memfd's regions, once: the worker writes an
 * answer's body into a region of the memfd and sends DATA_SHM; this
 * process writes the region out (or into TLS) and gives it back with
 * SHM_DONE, except the last region of an answer, which its next request
 * gives back (no round trip per message), and the region of a
 * RETR_AHEAD answer, which it holds until the client's RETR of that
 * message has been written (then the next RETR_AHEAD gives it back) or
 * until a request that drops the read-ahead sends SHM_DONE.  The worker
 * checks the same rule from its side (mailstore/privpop-store.c,
 * body_shm.h).
 *
 * Runs as: privpop, in the session child (chrooted, no privilege).
 */
#include "config.h"

#include <sys/mman.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "ipc.h"
#include "ipc_store.h"
#include "log.h"
#include "session_store.h"
#include "transcript.h"

static void	ahead_settle(struct store_link *, uint32_t, uint32_t);

/* in_body: a multi-line answer has begun, so an error line would be
 * taken as message text; close without the terminator instead, which
 * every client treats as a failed transfer. */
static void
store_recv_in(struct store_link *l, struct msg *m, int in_body)
{
	struct pollfd pfd = { l->sock, POLLIN, 0 };
	int secs, r;

	/* bounded (common/limits.h): a stuck worker ends the session */
	secs = l->timeout < STORE_ANSWER_TIMEOUT ? l->timeout :
	    STORE_ANSWER_TIMEOUT;
	if (l->lock_wait)
		secs += l->lock_timeout;
	while ((r = poll(&pfd, 1, secs * 1000)) == -1 && errno == EINTR)
		;
	if (r == 0) {
		log_warnx("sess=%s: no answer from the mailstore worker in "
		    "%d s", l->id, secs);
		if (!in_body)
			session_out("-ERR [SYS/TEMP] Mailbox access timed out.");
		session_end("store-timeout");
	}
	r = ipc_recv(l->sock, m);
	if (r != 1) {
		log_warnx("sess=%s: mailstore worker gone", l->id);
		if (!in_body)
			session_out("-ERR [SYS/TEMP] Mailbox access failed.");
		session_end("error");
	}
}

void
store_recv(struct store_link *l, struct msg *m)
{
	store_recv_in(l, m, 0);
}

void
store_request(struct store_link *l, uint32_t type, uint32_t a, uint32_t b)
{
	int r;

	ahead_settle(l, type, a);
	switch (type) {
	case MSG_STORE_LIST:
		r = ipc_send_store_list(l->sock, a);
		break;
	case MSG_STORE_UIDL:
		r = ipc_send_store_uidl(l->sock, a);
		break;
	case MSG_STORE_RETR:
		r = ipc_send_store_retr(l->sock, a);
		break;
	case MSG_STORE_TOP:
		r = ipc_send_store_top(l->sock, a, b);
		break;
	case MSG_STORE_DELE:
		r = ipc_send_store_dele(l->sock, a);
		break;
	case MSG_STORE_RSET:
		r = ipc_send_store_rset(l->sock);
		break;
	case MSG_STORE_QUIT:
		r = ipc_send_store_quit(l->sock);
		break;
	default:
		fatalx("store request %s", msg_name(type));
	}
	if (r == -1) {
		session_out("-ERR [SYS/TEMP] Mailbox access failed.");
		session_end("error");
	}
}

const char *
store_err_text(uint32_t code)
{
	switch (code) {
	case IPC_ERR_NOSUCH:
		return "-ERR No such message.";
	case IPC_ERR_DELETED:
		return "-ERR Message is deleted.";
	case IPC_ERR_INUSE:
		return "-ERR [IN-USE] Mailbox is locked by another POP3 "
		    "session.";
	case IPC_ERR_PERM:
		return "-ERR [SYS/PERM] Mailbox cannot be used; contact "
		    "your administrator.";
	case IPC_ERR_AUTH:
		return "-ERR [AUTH] Authentication failed.";
	case IPC_ERR_EXPIRED:
		return "-ERR [AUTH] Password expired: change it before "
		    "reading mail.";
	default:
		return "-ERR [SYS/TEMP] Temporary failure, try again later.";
	}
}

/* Wait for OK/ERR; on OK fill the fields and return 0, on ERR answer
 * the client and return -1. */
int
store_answer(struct store_link *l, uint32_t *n, uint64_t *octets, char *text,
    size_t textlen)
{
	struct msg m;
	uint32_t code;
	const char *t;

	store_recv(l, &m);
	if (m.type == MSG_SESSION_ERR) {
		if (ipc_get_session_err(&m,
		    &code) == -1 || code == IPC_ERR_NOT_AHEAD)
			fatalx("store ERR malformed");
		session_out("%s", store_err_text(code));
		return -1;
	}
	if (ipc_get_session_ok(&m, n, octets, &t) == -1)
		fatalx("unexpected %s from store", msg_name(m.type));
	if (text != NULL)
		snprintf(text, textlen, "%s", t);
	return 0;
}

/* Map the store's sealed memfd of message bodies (read-only; its size
 * cannot change, so no read of it can fault). */
static void
map_bodies(struct store_link *l, int fd)
{
	struct stat st;
	void *p;
	int seals = fcntl(fd, F_GET_SEALS);

	if (seals == -1 || (seals & (F_SEAL_SHRINK | F_SEAL_SEAL)) !=
	    (F_SEAL_SHRINK | F_SEAL_SEAL) || fstat(fd, &st) == -1 ||
	    st.st_size <= 0 || st.st_size > SESSION_BODY_MAP_MAX ||
	    (p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd,
	    0)) == MAP_FAILED)
		fatalx("store's body memfd refused");
	close(fd);
	l->body = p;
	l->body_len = (size_t)st.st_size;
}

/* A DATA_SHM: its region, checked against the memfd (mapped from the
 * first one, which alone brings it).  Returns whether it is the last of
 * its answer. */
static int
shm_region(struct store_link *l, struct msg *m, uint32_t *off, uint32_t *len)
{
	uint32_t flags;

	if (m->type != MSG_SESSION_DATA_SHM ||
	    (m->fd != -1) != (l->body == NULL))
		fatalx("DATA_SHM without the memfd, or twice");
	if (m->fd != -1)
		map_bodies(l, m->fd);
	if (ipc_get_session_data_shm(m, off, len, &flags) == -1 ||
	    *off > l->body_len || *len > l->body_len - *off)
		fatalx("DATA_SHM malformed");
	return (flags & IPC_SHM_LAST) != 0;
}

/* Relay DATA (and DATA_SHM) messages to the client until END (or a
 * DATA_SHM marked last), then the terminator. */
void
store_relay(struct store_link *l)
{
	struct msg m;
	const unsigned char *p;
	size_t len;
	uint32_t off, rlen;
	int last;

	for (;;) {
		store_recv_in(l, &m, 1);
		if (m.type == MSG_SESSION_END) {
			if (ipc_get_session_end(&m) == -1)
				fatalx("END malformed");
			break;
		}
		if (m.type == MSG_SESSION_DATA_SHM) {
			last = shm_region(l, &m, &off, &rlen);
			transcript_relayed(l->body + off, rlen);
			/* the answer line, the body and its terminator leave
			 * together */
			if (client_write_direct(l->cl, l->body + off, rlen,
			    last ? ".\r\n" : NULL, last ? 3 : 0) == -1)
				session_end_io();
			if (last)
				return;	/* our next request releases it */
			/* written out (or into TLS): the store may reuse it */
			if (ipc_send_store_shm_done(l->sock) == -1)
				session_end("error");
			continue;
		}
		if (ipc_get_session_data(&m, &p, &len) == -1)
			fatalx("unexpected %s from store", msg_name(m.type));
		transcript_relayed(p, len);
		if (client_write(l->cl, p, len) == -1)
			session_end_io();
	}
	if (client_write(l->cl, ".\r\n", 3) == -1)
		session_end_io();
}

/* Read the answer to a RETR_AHEAD, if not yet read: one OK and one
 * DATA_SHM region holding the whole message, or an ERR. */
static void
ahead_collect(struct store_link *l)
{
	struct msg m;
	uint32_t rn;
	const char *t;

	if (l->ahead.state != AH_PENDING)
		return;
	store_recv(l, &m);
	if (m.type == MSG_SESSION_ERR) {
		if (ipc_get_session_err(&m, &l->ahead.code) == -1)
			fatalx("store ERR malformed");
		l->ahead.state = l->ahead.code == IPC_ERR_NOT_AHEAD ? AH_NONE :
		    AH_ERR;
		return;
	}
	if (ipc_get_session_ok(&m, &rn, &l->ahead.octets, &t) == -1 ||
	    rn != l->ahead.msgno)
		fatalx("unexpected %s from store", msg_name(m.type));
	store_recv(l, &m);
	if (m.type != MSG_SESSION_DATA_SHM ||
	    !shm_region(l, &m, &l->ahead.off, &l->ahead.len))
		fatalx("RETR_AHEAD answer not in one region");
	l->ahead.state = AH_OK;
}

/* Give the held region back (SHM_DONE), used or not. */
static void
ahead_release(struct store_link *l)
{
	if (l->ahead.state == AH_OK && ipc_send_store_shm_done(l->sock) == -1)
		session_end("error");
	l->ahead.state = AH_NONE;
}

/* Before a request: answers come in order, so a pending RETR_AHEAD's is
 * read first.  A listing, or a DELE of another message, leaves it
 * standing (fetchmail alternates RETR and DELE); anything else may
 * change it or needs the whole memfd, so it is dropped, and a session
 * whose client did not want it asks no more. */
static void
ahead_settle(struct store_link *l, uint32_t type, uint32_t msgno)
{
	if (l->ahead.state == AH_NONE)
		return;
	ahead_collect(l);
	if (type == MSG_STORE_LIST || type == MSG_STORE_UIDL ||
	    (type == MSG_STORE_DELE && msgno != l->ahead.msgno))
		return;
	if (l->ahead.state != AH_NONE)
		l->ahead_off = 1;
	ahead_release(l);
}

/* After a RETR of n-1: ask for n, while the memfd serves bodies.  A
 * region held from a RETR of n-1 answered ahead is released by the
 * asking (see MSG_STORE_RETR_AHEAD), or else with SHM_DONE.  After the
 * last message, n = count + 1 is asked all the same: it tells the
 * worker the client has n-1 (RFC 2449 EXPIRE), and is declined. */
static void
ahead_ask(struct store_link *l, uint32_t n)
{
	if (l->ahead_off || l->body == NULL || n > l->total_n + 1) {
		ahead_release(l);
		return;
	}
	if (ipc_send_store_retr_ahead(l->sock, n) == -1)
		session_end("error");
	l->ahead.state = AH_PENDING;
	l->ahead.msgno = n;
}

/* RETR of the message asked for ahead: 1 when the client got it, 0
 * when it got the error the worker answered, -1 when it was not asked
 * ahead (or declined): ask as usual. */
static int
retr_from_ahead(struct store_link *l, uint32_t n, uint64_t *octets)
{
	if (l->ahead.state == AH_NONE || l->ahead.msgno != n)
		return -1;
	ahead_collect(l);
	switch (l->ahead.state) {
	case AH_ERR:
		session_out("%s", store_err_text(l->ahead.code));
		l->ahead.state = AH_NONE;
		return 0;
	case AH_OK:
		session_out("+OK %llu octets",
		    (unsigned long long)l->ahead.octets);
		if (client_write_direct(l->cl, l->body + l->ahead.off,
		    l->ahead.len, ".\r\n", 3) == -1)
			session_end_io();
		*octets = l->ahead.octets;
		l->ahead_used++;
		ahead_ask(l, n + 1);	/* releases the region */
		return 1;
	default:
		return -1;
	}
}

/* RETR n: from the read-ahead when it holds n, else asked for; then the
 * next one is asked ahead.  1 when the client got the message (its
 * octets in *octets), 0 when it got an error line. */
int
store_retr(struct store_link *l, uint32_t n, uint64_t *octets)
{
	uint32_t rn;
	int r;

	if ((r = retr_from_ahead(l, n, octets)) != -1)
		return r;
	store_request(l, MSG_STORE_RETR, n, 0);
	if (store_answer(l, &rn, octets, NULL, 0) == -1)
		return 0;
	session_out("+OK %llu octets", (unsigned long long)*octets);
	store_relay(l);
	ahead_ask(l, n + 1);
	return 1;
}

/* TOP n lines: 1 when the client got them, 0 after an error line. */
int
store_top(struct store_link *l, uint32_t n, uint32_t lines)
{
	uint32_t rn;
	uint64_t octets;

	store_request(l, MSG_STORE_TOP, n, lines);
	if (store_answer(l, &rn, &octets, NULL, 0) == -1)
		return 0;
	session_out("+OK Top of message follows");
	store_relay(l);
	return 1;
}
