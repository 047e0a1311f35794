/*
 * Unit tests for mailstore/body_shm.c: the sealed memfd of message
 * bodies, its two halves, and which regions the session holds (the
 * store may only write a half the session has released: a mistake here
 * sends one message's bytes inside another's).
 */
#include "config.h"

#include <sys/mman.h>
#include <sys/socket.h>

#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "body_shm.h"
#include "ipc.h"
#include "ipc_store.h"

static struct msg r;	/* large: off the stack */

struct fixture {
	int		 sv[2];	/* [0] the store's end, [1] the session's */
	struct body_shm	 shm;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (f == NULL || ipc_socketpair(f->sv) == -1)
		return -1;
	f->shm.pass_fd = -1;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	if (f->shm.base != NULL)
		munmap(f->shm.base, BODY_SHM_SIZE);
	if (f->shm.pass_fd != -1)
		close(f->shm.pass_fd);
	close(f->sv[0]);
	close(f->sv[1]);
	free(f);
	return 0;
}

/* The session's side: the next DATA_SHM; returns its descriptor (or -1)
 * and fills offset, length and flags. */
static int
recv_region(struct fixture *f, uint32_t *off, uint32_t *len, uint32_t *flags)
{
	assert_int_equal(ipc_recv(f->sv[1], &r), 1);
	assert_int_equal(ipc_get_session_data_shm(&r, off, len, flags), 0);
	return r.fd;
}

static void
fill(struct fixture *f, const char *text)
{
	struct buf *b = body_shm_begin(&f->shm, f->sv[0]);

	assert_int_equal(buf_append(b, text, strlen(text)), 0);
}

static void
send_done(struct fixture *f)
{
	assert_int_equal(ipc_send_store_shm_done(f->sv[1]), 0);
}

/* Nothing more queued for the session. */
static void
assert_quiet(struct fixture *f)
{
	char c;

	assert_int_equal(recv(f->sv[1], &c, 1, MSG_DONTWAIT), -1);
}

static void
test_sealed_and_passed_once(void **state)
{
	struct fixture *f = *state;
	uint32_t off, len, flags;
	int fd, seals;
	void *p;

	assert_int_equal(body_shm_ready(&f->shm), 0);
	fill(f, "first");
	body_shm_flush(&f->shm, f->sv[0], 0);
	fd = recv_region(f, &off, &len, &flags);
	assert_true(fd >= 0);
	assert_int_equal(off, 0);
	assert_int_equal(len, 5);
	assert_int_equal(flags, IPC_SHM_LAST);
	seals = fcntl(fd, F_GET_SEALS);
	assert_int_equal(seals & (F_SEAL_SHRINK | F_SEAL_GROW |
	    F_SEAL_FUTURE_WRITE | F_SEAL_SEAL), F_SEAL_SHRINK | F_SEAL_GROW |
	    F_SEAL_FUTURE_WRITE | F_SEAL_SEAL);
	/* the session can read it, and cannot map it writable */
	p = mmap(NULL, BODY_SHM_SIZE, PROT_READ, MAP_SHARED, fd, 0);
	assert_true(p != MAP_FAILED);
	assert_memory_equal(p, "first", 5);
	assert_true(mmap(NULL, BODY_SHM_SIZE, PROT_READ | PROT_WRITE,
	    MAP_SHARED, fd, 0) == MAP_FAILED);
	munmap(p, BODY_SHM_SIZE);
	close(fd);
	/* the next answer goes in the other half, without the descriptor */
	body_shm_release_all(&f->shm);
	fill(f, "second");
	body_shm_flush(&f->shm, f->sv[0], 0);
	assert_int_equal(recv_region(f, &off, &len, &flags), -1);
	assert_int_equal(off, BODY_SHM_HALF);
	assert_int_equal(len, 6);
}

/* A three-region answer: the store fills the third only after the
 * session released the first, and never a half still outstanding. */
static void
test_halves_wait_for_release(void **state)
{
	struct fixture *f = *state;
	uint32_t off, len, flags;
	int fd;

	assert_int_equal(body_shm_ready(&f->shm), 0);
	fill(f, "a");
	/* the session released region 1 before the store needs its half */
	send_done(f);
	body_shm_flush(&f->shm, f->sv[0], 1);
	assert_int_equal(f->shm.outstanding, 1);
	assert_int_equal(buf_append(&f->shm.b, "b", 1), 0);
	body_shm_flush(&f->shm, f->sv[0], 1);	/* waited: read the DONE */
	assert_int_equal(f->shm.outstanding, 1);
	assert_int_equal(buf_append(&f->shm.b, "c", 1), 0);
	body_shm_flush(&f->shm, f->sv[0], 0);
	assert_int_equal(f->shm.outstanding, 2);
	fd = recv_region(f, &off, &len, &flags);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(off, 0);
	assert_int_equal(flags, 0);
	assert_int_equal(recv_region(f, &off, &len, &flags), -1);
	assert_int_equal(off, BODY_SHM_HALF);
	assert_int_equal(flags, 0);
	assert_int_equal(recv_region(f, &off, &len, &flags), -1);
	assert_int_equal(off, 0);
	assert_int_equal(flags, IPC_SHM_LAST);
	assert_memory_equal(f->shm.base, "c", 1);
	assert_quiet(f);
	/* the session's next request releases both */
	body_shm_release_all(&f->shm);
	assert_int_equal(f->shm.outstanding, 0);
}

/* A RETR_AHEAD region survives the requests that come before the
 * session uses it (listings, DELE), and only SHM_DONE frees it. */
static void
test_held_region(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(body_shm_ready(&f->shm), 0);
	fill(f, "ahead");
	body_shm_flush(&f->shm, f->sv[0], 0);
	body_shm_hold(&f->shm);
	assert_int_equal(f->shm.held, 1);
	body_shm_release_all(&f->shm);		/* e.g. a DELE */
	assert_int_equal(f->shm.outstanding, 1);
	assert_int_equal(f->shm.held, 1);
	body_shm_release_all(&f->shm);		/* a UIDL */
	assert_int_equal(f->shm.outstanding, 1);
	body_shm_done(&f->shm);			/* used, given back */
	assert_int_equal(f->shm.outstanding, 0);
	assert_int_equal(f->shm.held, 0);
	body_shm_release_all(&f->shm);
	assert_int_equal(f->shm.outstanding, 0);
	/* the next answer goes to the other half: the held one was not
	 * rewritten while held */
	fill(f, "next");
	body_shm_flush(&f->shm, f->sv[0], 0);
	assert_memory_equal(f->shm.base, "ahead", 5);
	assert_memory_equal(f->shm.base + BODY_SHM_HALF, "next", 4);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_sealed_and_passed_once,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_halves_wait_for_release,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_held_region, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
