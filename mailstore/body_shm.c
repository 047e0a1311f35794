/*
 * Runs inside privpop-store as the mailbox owner; see body_shm.h.
 *
 * Runs as: mailbox owner (privpop-store).
 */
#include "config.h"

#include <sys/mman.h>

#include <fcntl.h>
#include <unistd.h>

#include "body_shm.h"
#include "ipc.h"
#include "ipc_store.h"
#include "log.h"

int
body_shm_ready(struct body_shm *s)
{
	void *p;
	int fd;

	if (s->base != NULL)
		return 0;
	if (s->failed)
		return -1;
	s->failed = 1;		/* until it works */
	s->cur = s->outstanding = 0;
	if ((fd = memfd_create("privpop-body", MFD_CLOEXEC |
	    MFD_ALLOW_SEALING)) == -1)
		goto fail;
	if (ftruncate(fd, BODY_SHM_SIZE) == -1 ||
	    (p = mmap(NULL, BODY_SHM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
	    fd, 0)) == MAP_FAILED) {
		close(fd);
		goto fail;
	}
	/* our mapping stays writable; the session's cannot be, and the
	 * size is fixed, so its reads never fault past the end */
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW |
	    F_SEAL_FUTURE_WRITE | F_SEAL_SEAL) == -1) {
		munmap(p, BODY_SHM_SIZE);
		close(fd);
		goto fail;
	}
	s->base = p;
	s->pass_fd = fd;
	s->failed = 0;
	return 0;
fail:
	log_warn("memfd for message bodies; sending them as datagrams");
	return -1;
}

void
body_shm_done(struct body_shm *s)
{
	if (s->outstanding == 0)
		fatalx("SHM_DONE for no region");
	if (--s->outstanding == 0)
		s->held = 0;
}

void
body_shm_hold(struct body_shm *s)
{
	if (s->outstanding != 1)
		fatalx("held region: %d outstanding", s->outstanding);
	s->held = 1;
}

/* Regions are released in order and the halves alternate: with one
 * region outstanding it is the other half, with two both are busy. */
static void
wait_free(struct body_shm *s, int sock)
{
	struct msg m;

	while (s->outstanding >= 2) {
		if (ipc_recv(sock, &m) != 1)
			fatal("session gone during a message");
		if (ipc_get_store_shm_done(&m) == -1)
			fatalx("unexpected %s during a message",
			    msg_name(m.type));
		body_shm_done(s);
	}
}

struct buf *
body_shm_begin(struct body_shm *s, int sock)
{
	wait_free(s, sock);
	buf_init_fixed(&s->b, s->base + (size_t)s->cur * BODY_SHM_HALF,
	    BODY_SHM_HALF);
	return &s->b;
}

void
body_shm_flush(struct body_shm *s, int sock, int more)
{
	/* the last region goes even when empty: it ends the answer */
	if (buf_used(&s->b) > 0 || !more) {
		if (ipc_send_session_data_shm(sock,
		    (uint32_t)s->cur * BODY_SHM_HALF,
		    (uint32_t)buf_used(&s->b), more ? 0 : IPC_SHM_LAST,
		    s->pass_fd) == -1)
			fatal("send data");
		if (s->pass_fd != -1)
			close(s->pass_fd);
		s->pass_fd = -1;
		s->outstanding++;
		s->cur ^= 1;
	}
	if (more)
		(void)body_shm_begin(s, sock);
}

void
body_shm_release_all(struct body_shm *s)
{
	s->outstanding = s->held;
}
