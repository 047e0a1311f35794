/*
 * Unit tests for mailstore/store_serve.c, privpop-store's serve loop:
 * the permit table asked for every message type in every state (with
 * and without a body memfd), its ONCE rows and next phases, and the
 * handlers driven directly over a small temporary Maildir, with the
 * session's end of a socketpair reading their answers.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "body_shm.h"
#include "ipc.h"
#include "ipc_store.h"
#include "limits.h"
#include "log.h"
#include "store_serve.h"

#define MSG1	"1700000001.M1P1.host"
#define MSG2	"1700000002.M2P1.host"

/* ---- the permit table ---- */

/* The protocol, written out independently of the table: INIT once,
 * first; the requests after it; SHM_DONE only when there is a region
 * it could release (else fatal, as it always was); nothing after QUIT,
 * and no other message type at all. */
static int
want_permitted(uint32_t type, enum store_phase phase, int region)
{
	switch (type) {
	case MSG_STORE_INIT:
		return phase == ST_INIT;
	case MSG_STORE_SHM_DONE:
		return phase == ST_READY && region;
	case MSG_STORE_LIST:
	case MSG_STORE_UIDL:
	case MSG_STORE_RETR:
	case MSG_STORE_TOP:
	case MSG_STORE_DELE:
	case MSG_STORE_RSET:
	case MSG_STORE_QUIT:
	case MSG_STORE_RETR_AHEAD:
		return phase == ST_READY;
	default:
		return 0;
	}
}

static void
test_permit_matrix(void **state)
{
	static unsigned char fake_region;
	static const enum store_phase phases[] = { ST_INIT, ST_READY,
	    ST_DONE };
	struct store_state *st;
	const struct store_permit *p;
	size_t i;
	uint32_t t;
	int region, want;

	(void)state;
	st = malloc(sizeof(*st));
	assert_non_null(st);
	for (i = 0; i < sizeof(phases) / sizeof(phases[0]); i++)
		for (region = 0; region <= 1; region++)
			for (t = 0; t <= MSG_TYPE_COUNT + 1; t++) {
				store_state_init(st, -1);
				st->phase = phases[i];
				st->shm.base = region ? &fake_region : NULL;
				p = store_permit(st, t);
				want = want_permitted(t, phases[i], region);
				if ((p != NULL) != want)
					fail_msg("%s (%u) in phase %d, region "
					    "%d: %s, want %s", msg_name(t), t,
					    (int)phases[i], region,
					    p ? "permitted" : "refused",
					    want ? "permitted" : "refused");
				if (p != NULL) {
					assert_int_equal(p->type, t);
					assert_non_null(p->handler);
				}
			}
	store_state_init(st, -1);
	st->phase = ST_READY;
	assert_null(store_permit(st, UINT32_MAX));
	free(st);
}

/* What each row does around its handler: the region step, and the
 * phase after it. */
static void
test_permit_columns(void **state)
{
	struct store_state *st;
	const struct store_permit *p;
	uint32_t t;

	(void)state;
	st = malloc(sizeof(*st));
	assert_non_null(st);
	store_state_init(st, -1);
	assert_int_equal(st->phase, ST_INIT);
	p = store_permit(st, MSG_STORE_INIT);
	assert_non_null(p);
	assert_true(p->flags & STORE_ONCE);
	assert_int_equal(p->next, STORE_NEXT_HANDLER);

	st->phase = ST_READY;
	st->shm.base = (unsigned char *)st;	/* any non-NULL */
	for (t = MSG_STORE_SHM_DONE; t <= MSG_STORE_RETR_AHEAD; t++) {
		p = store_permit(st, t);
		assert_non_null(p);
		if (t == MSG_STORE_QUIT) {
			assert_int_equal(p->next, ST_DONE);
			assert_true(p->flags & STORE_ONCE);
		} else {
			assert_int_equal(p->next, ST_READY);
			assert_false(p->flags & STORE_ONCE);
		}
		if (t == MSG_STORE_SHM_DONE)
			assert_int_equal(p->shm, SHM_STEP_OWN);
		else if (t == MSG_STORE_RETR || t == MSG_STORE_TOP)
			assert_int_equal(p->shm, SHM_STEP_NOT_HELD);
		else if (t == MSG_STORE_RETR_AHEAD)
			assert_int_equal(p->shm, SHM_STEP_RELEASE_HELD);
		else
			assert_int_equal(p->shm, SHM_STEP_RELEASE);
	}
	free(st);
}

/* ---- handlers over a Maildir ---- */

struct fix {
	char		 dir[64];
	char		 box[128];
	int		 sv[2];	/* the worker's end, the session's */
	struct store_state st;
};

static void
put_file(const char *dir, const char *sub, const char *name,
    const char *text)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "%s/%s/%s", dir, sub, name);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd != -1);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static int
setup_box(void **state)
{
	static const char *const subs[] = { "", "/cur", "/new", "/tmp" };
	struct fix *f;
	char path[256];
	size_t i;

	f = calloc(1, sizeof(*f));
	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/test_store_serve.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->box, sizeof(f->box), "%s/Maildir", f->dir);
	for (i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
		snprintf(path, sizeof(path), "%s%s", f->box, subs[i]);
		assert_int_equal(mkdir(path, 0700), 0);
	}
	/* 3 and 7 octets in POP3 form (CRLF) */
	put_file(f->box, "new", MSG1, "a\n");
	put_file(f->box, "cur", MSG2 ":2,S", "bc\nd\n");
	assert_int_equal(ipc_socketpair(f->sv), 0);
	store_state_init(&f->st, f->sv[0]);
	*state = f;
	return 0;
}

static int
rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int
teardown_box(void **state)
{
	struct fix *f = *state;

	store_close(&f->st);
	if (f->st.shm.base != NULL)
		munmap(f->st.shm.base, BODY_SHM_SIZE);
	if (f->st.shm.pass_fd != -1)
		close(f->st.shm.pass_fd);
	close(f->sv[0]);
	close(f->sv[1]);
	nftw(f->dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

/* A request of type with up to two u32 fields (nu of them). */
static void
req(struct msg *m, uint32_t type, int nu, uint32_t a, uint32_t b)
{
	msg_init(m, type);
	if (nu > 0)
		assert_int_equal(msg_put_u32(m, a), 0);
	if (nu > 1)
		assert_int_equal(msg_put_u32(m, b), 0);
}

static void
handle(struct fix *f, uint32_t type, int nu, uint32_t a, uint32_t b)
{
	struct msg m;

	req(&m, type, nu, a, b);
	store_handle(&f->st, &m);
}

static void
init_req_policy(struct msg *m, const char *loc, uint32_t delay,
    uint32_t expire)
{
	msg_init(m, MSG_STORE_INIT);
	assert_int_equal(msg_put_str(m, "alice"), 0);
	assert_int_equal(msg_put_str(m, loc), 0);
	assert_int_equal(msg_put_u32(m, 0), 0);		/* mbox locks */
	assert_int_equal(msg_put_u32(m, 10), 0);	/* lock timeout */
	assert_int_equal(msg_put_u32(m, 300), 0);	/* dotlock stale */
	assert_int_equal(msg_put_str(m, ""), 0);	/* index dir */
	assert_int_equal(msg_put_str(m, "%08Xu%08Xv"), 0);
	assert_int_equal(msg_put_u32(m, delay), 0);	/* LOGIN-DELAY */
	assert_int_equal(msg_put_u32(m, expire), 0);
	assert_int_equal(msg_put_u32(m, 120), 0);	/* mail_lock_stale */
	assert_int_equal(msg_put_str(m, ""), 0);	/* mail_lock_node */
}

static void
init_req(struct msg *m, const char *loc)
{
	init_req_policy(m, loc, 0, EXPIRE_NEVER);
}

static void
recv_type(struct fix *f, struct msg *m, uint32_t type)
{
	assert_int_equal(ipc_recv(f->sv[1], m), 1);
	if (m->type != type)
		fail_msg("got %s, want %s", msg_name(m->type), msg_name(type));
}

static void
expect_ok(struct fix *f, uint32_t n, uint64_t octets, const char *text)
{
	struct msg m;
	uint32_t gn;
	uint64_t go;
	const char *gt;

	recv_type(f, &m, MSG_SESSION_OK);
	assert_int_equal(ipc_get_session_ok(&m, &gn, &go, &gt), 0);
	assert_int_equal(gn, n);
	assert_int_equal(go, octets);
	assert_string_equal(gt, text);
}

static void
expect_err(struct fix *f, uint32_t code)
{
	struct msg m;
	uint32_t c;

	recv_type(f, &m, MSG_SESSION_ERR);
	assert_int_equal(ipc_get_session_err(&m, &c), 0);
	assert_int_equal(c, code);
}

/* DATA messages up to END: together, text. */
static void
expect_data(struct fix *f, const char *text)
{
	char got[1024];
	const unsigned char *p;
	size_t len = 0, n;
	struct msg m;

	for (;;) {
		assert_int_equal(ipc_recv(f->sv[1], &m), 1);
		if (ipc_get_session_end(&m) == 0)
			break;
		assert_int_equal(ipc_get_session_data(&m, &p, &n), 0);
		assert_true(len + n < sizeof(got));
		memcpy(got + len, p, n);
		len += n;
	}
	got[len] = '\0';
	assert_string_equal(got, text);
}

/* One body region, the last of its answer; its bytes are want. */
static void
expect_region(struct fix *f, const char *want)
{
	static int memfd = -1;
	struct msg m;
	uint32_t off, len, flags;
	unsigned char *p;

	recv_type(f, &m, MSG_SESSION_DATA_SHM);
	if (m.fd != -1) {	/* the first one brings the memfd */
		if (memfd != -1)
			close(memfd);
		memfd = m.fd;
	}
	assert_true(memfd != -1);
	assert_int_equal(ipc_get_session_data_shm(&m, &off, &len, &flags), 0);
	assert_true(flags & IPC_SHM_LAST);
	assert_int_equal(len, strlen(want));
	p = mmap(NULL, BODY_SHM_SIZE, PROT_READ, MAP_SHARED, memfd, 0);
	assert_true(p != MAP_FAILED);
	assert_memory_equal(p + off, want, len);
	munmap(p, BODY_SHM_SIZE);
}

static void
open_box(struct fix *f)
{
	char loc[160];
	struct msg m;
	uint32_t count;
	uint64_t octets;

	snprintf(loc, sizeof(loc), "maildir:%s", f->box);
	init_req(&m, loc);
	store_handle(&f->st, &m);
	recv_type(f, &m, MSG_SESSION_STORE_READY);
	assert_int_equal(ipc_get_session_store_ready(&m, &count, &octets), 0);
	assert_int_equal(count, 2);
	assert_int_equal(octets, 10);
	assert_int_equal(f->st.phase, ST_READY);
	assert_true(f->st.open);
}

/* type, a ONCE row already used, is refused even in the phase that
 * would permit it. */
static void
assert_used_once(struct fix *f, uint32_t type, enum store_phase phase)
{
	enum store_phase was = f->st.phase;

	f->st.phase = phase;
	assert_null(store_permit(&f->st, type));
	f->st.phase = was;
}

/* INIT opens the box and moves to READY; it is refused after, even
 * in a phase forced back to INIT (ONCE). */
static void
test_init_once(void **state)
{
	struct fix *f = *state;

	assert_non_null(store_permit(&f->st, MSG_STORE_INIT));
	assert_null(store_permit(&f->st, MSG_STORE_RETR));
	open_box(f);
	assert_null(store_permit(&f->st, MSG_STORE_INIT));
	assert_used_once(f, MSG_STORE_INIT, ST_INIT);
}

/* A mailbox that cannot be opened: an error answer, and the handler
 * ends the worker (DONE) with nothing to close. */
static void
test_init_fails(void **state)
{
	struct fix *f = *state;
	char loc[200];
	struct msg m;

	put_file(f->dir, "", "plain", "x\n");
	snprintf(loc, sizeof(loc), "maildir:%s/plain/Maildir", f->dir);
	init_req(&m, loc);
	store_handle(&f->st, &m);
	recv_type(f, &m, MSG_SESSION_ERR);
	assert_int_equal(f->st.phase, ST_DONE);
	assert_false(f->st.open);
	assert_null(store_permit(&f->st, MSG_STORE_LIST));
}

/* LIST, UIDL, DELE, RSET, "STAT" (LIST 0's first answer), called
 * directly, then QUIT through the table. */
static void
test_listing(void **state)
{
	struct fix *f = *state;
	struct msg m;
	char path[256];

	open_box(f);

	req(&m, MSG_STORE_LIST, 1, 0, 0);
	store_h_list(&f->st, &m);
	expect_ok(f, 2, 10, "");
	expect_data(f, "1 3\r\n2 7\r\n");

	req(&m, MSG_STORE_LIST, 1, 2, 0);
	store_h_list(&f->st, &m);
	expect_ok(f, 2, 7, "");
	req(&m, MSG_STORE_LIST, 1, 3, 0);
	store_h_list(&f->st, &m);
	expect_err(f, IPC_ERR_NOSUCH);

	req(&m, MSG_STORE_UIDL, 1, 1, 0);
	store_h_uidl(&f->st, &m);
	expect_ok(f, 1, 3, MSG1);
	req(&m, MSG_STORE_UIDL, 1, 0, 0);
	store_h_uidl(&f->st, &m);
	expect_ok(f, 2, 10, "");
	expect_data(f, "1 " MSG1 "\r\n2 " MSG2 "\r\n");

	req(&m, MSG_STORE_DELE, 1, 1, 0);
	store_h_dele(&f->st, &m);
	expect_ok(f, 1, 3, "");
	handle(f, MSG_STORE_LIST, 1, 1, 0);
	expect_err(f, IPC_ERR_DELETED);
	handle(f, MSG_STORE_LIST, 1, 0, 0);
	expect_ok(f, 1, 7, "");
	expect_data(f, "2 7\r\n");

	handle(f, MSG_STORE_RSET, 0, 0, 0);
	expect_ok(f, 2, 10, "");

	/* QUIT expunges, closes and ends: DONE, and once only */
	handle(f, MSG_STORE_DELE, 1, 2, 0);
	expect_ok(f, 2, 7, "");
	handle(f, MSG_STORE_QUIT, 0, 0, 0);
	expect_ok(f, 1, 0, "");
	assert_int_equal(f->st.phase, ST_DONE);
	assert_false(f->st.open);
	snprintf(path, sizeof(path), "%s/cur/%s:2,S", f->box, MSG2);
	assert_int_equal(access(path, F_OK), -1);
	assert_used_once(f, MSG_STORE_QUIT, ST_READY);
}

/* A RETR_AHEAD of n answered in one region, which is then the only
 * one outstanding, and held. */
static void
retr_ahead(struct fix *f, uint32_t n, uint64_t octets, const char *body)
{
	handle(f, MSG_STORE_RETR_AHEAD, 1, n, 0);
	expect_ok(f, n, octets, "");
	expect_region(f, body);
	assert_int_equal(f->st.shm.held, 1);
	assert_int_equal(f->st.shm.outstanding, 1);
}

/* The region column: SHM_DONE is refused until there is a memfd; a
 * RETR_AHEAD answer stays held across a LIST, and SHM_DONE (or the
 * next RETR_AHEAD) releases it. */
static void
test_regions(void **state)
{
	struct fix *f = *state;

	open_box(f);
	assert_null(store_permit(&f->st, MSG_STORE_SHM_DONE));

	handle(f, MSG_STORE_RETR, 1, 1, 0);
	expect_ok(f, 1, 3, "");
	expect_region(f, "a\r\n");
	assert_non_null(f->st.shm.base);
	assert_non_null(store_permit(&f->st, MSG_STORE_SHM_DONE));
	assert_int_equal(f->st.shm.outstanding, 1);

	/* the next request releases the last region of the answer */
	retr_ahead(f, 2, 7, "bc\r\nd\r\n");

	handle(f, MSG_STORE_LIST, 1, 1, 0);
	expect_ok(f, 1, 3, "");
	assert_int_equal(f->st.shm.held, 1);

	/* asking for the next one ahead lets go of the held answer */
	retr_ahead(f, 1, 3, "a\r\n");

	handle(f, MSG_STORE_SHM_DONE, 0, 0, 0);
	assert_int_equal(f->st.shm.held, 0);
	assert_int_equal(f->st.shm.outstanding, 0);
	assert_int_equal(f->st.phase, ST_READY);
}

/* RFC 2449 LOGIN-DELAY: a second INIT within the delay is answered
 * LOGIN_DELAY with the seconds left, and the box is not left open. */
static void
test_login_delay(void **state)
{
	struct fix *f = *state;
	char loc[160];
	struct msg m;
	uint32_t wait;

	snprintf(loc, sizeof(loc), "maildir:%s", f->box);
	init_req_policy(&m, loc, 600, EXPIRE_NEVER);
	store_handle(&f->st, &m);
	recv_type(f, &m, MSG_SESSION_STORE_READY);
	store_close(&f->st);
	store_state_init(&f->st, f->sv[0]);
	init_req_policy(&m, loc, 600, EXPIRE_NEVER);
	store_handle(&f->st, &m);
	recv_type(f, &m, MSG_SESSION_LOGIN_DELAY);
	assert_int_equal(ipc_get_session_login_delay(&m, &wait), 0);
	assert_true(wait >= 590 && wait <= 600);
	assert_int_equal(f->st.phase, ST_DONE);
	assert_false(f->st.open);
}

/* RFC 2449 EXPIRE 0: what the client got is deleted at QUIT, a message
 * read ahead only once the next is asked ahead (count + 1 after the
 * last: declined, not an error). */
static void
test_expire_zero(void **state)
{
	struct fix *f = *state;
	char loc[160];
	struct msg m;
	uint32_t count;
	uint64_t octets;

	snprintf(loc, sizeof(loc), "maildir:%s", f->box);
	init_req_policy(&m, loc, 0, 0);
	store_handle(&f->st, &m);
	recv_type(f, &m, MSG_SESSION_STORE_READY);
	assert_int_equal(ipc_get_session_store_ready(&m, &count, &octets), 0);
	handle(f, MSG_STORE_RETR, 1, 1, 0);
	expect_ok(f, 1, 3, "");
	expect_region(f, "a\r\n");
	retr_ahead(f, 2, 7, "bc\r\nd\r\n");
	assert_int_equal(f->st.seen[0], 1);
	assert_int_equal(f->st.seen[1], 0);	/* not yet the client's */
	handle(f, MSG_STORE_RETR_AHEAD, 1, 3, 0);
	expect_err(f, IPC_ERR_NOT_AHEAD);
	assert_int_equal(f->st.seen[1], 1);
	handle(f, MSG_STORE_QUIT, 0, 0, 0);
	expect_ok(f, 2, 0, "");
	assert_int_equal(f->st.phase, ST_DONE);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_permit_matrix),
		cmocka_unit_test(test_permit_columns),
		cmocka_unit_test_setup_teardown(test_init_once, setup_box,
		    teardown_box),
		cmocka_unit_test_setup_teardown(test_init_fails, setup_box,
		    teardown_box),
		cmocka_unit_test_setup_teardown(test_listing, setup_box,
		    teardown_box),
		cmocka_unit_test_setup_teardown(test_regions, setup_box,
		    teardown_box),
		cmocka_unit_test_setup_teardown(test_login_delay, setup_box,
		    teardown_box),
		cmocka_unit_test_setup_teardown(test_expire_zero, setup_box,
		    teardown_box),
	};

	log_open("test_store_serve", 1, 0);
	umask(022);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
