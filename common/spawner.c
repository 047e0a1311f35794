/*
 * The fork-server loop behind privpop-auth -Z.  SIGCHLD arrives on a
 * signalfd so that finished children are reaped (and a crash logged)
 * while the spawner waits for the next request, not only after it.
 * Each child may also get a channel back to the spawner (see
 * spawner.h), watched with epoll together with the master's socket.
 *
 * Runs as: root (the fork servers privpop-auth -Z and privpop-store -Z).
 */
#include "config.h"

#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "log.h"
#include "spawner.h"

/* Events taken from epoll per wakeup. */
#define SPAWNER_EVENTS	32

static int *chans;		/* our ends of the children's channels */
static size_t nchans, chans_cap;

static void
reap_children(const char *child_name)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (WIFSIGNALED(status))
			log_warnx("%s %ld killed by signal %d", child_name,
			    (long)pid, WTERMSIG(status));
		else if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
			log_warnx("%s %ld exited with status %d", child_name,
			    (long)pid, WEXITSTATUS(status));
	}
}

static void
chan_close(int epfd, int fd)
{
	size_t i;

	epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL);
	close(fd);
	for (i = 0; i < nchans; i++)
		if (chans[i] == fd) {
			chans[i] = chans[--nchans];
			break;
		}
}

/* Our end of a new channel, registered; the child's end in *child_r.
 * -1 when there is no room (the child then works without one). */
static int
chan_open(int epfd, int *child_r)
{
	struct epoll_event ev;
	int sv[2];

	*child_r = -1;
	if (nchans == chans_cap) {
		size_t ncap = chans_cap ? chans_cap * 2 : 64;
		int *p = reallocarray(chans, ncap, sizeof(*chans));

		if (p == NULL)
			return -1;
		chans = p;
		chans_cap = ncap;
	}
	if (ipc_socketpair(sv) == -1) {
		log_warn("spawner channel");
		return -1;
	}
	ev.events = EPOLLIN;
	ev.data.fd = sv[0];
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, sv[0], &ev) == -1) {
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	chans[nchans++] = sv[0];
	*child_r = sv[1];
	return sv[0];
}

static void
chan_read(int epfd, int fd, int (*chan_fn)(int, struct msg *))
{
	struct msg cm;

	if (ipc_recv(fd, &cm) != 1 || chan_fn(fd, &cm) == -1)
		chan_close(epfd, fd);	/* the child is done with it */
}

/* The second message of a two-part request: its descriptor, or -1 at
 * EOF (the master is gone).  Anything else is fatal, as on ctl. */
static int
recv_second(int ctl, uint32_t type2)
{
	struct msg m2;
	int r, fd;

	if ((r = ipc_recv(ctl, &m2)) == 0)
		return -1;
	if (r == -1)
		fatal("spawner receive");
	if (ipc_get_fd(&m2, type2, 1, &fd) == -1)
		fatalx("spawner: unexpected message %s", msg_name(m2.type));
	return fd;
}

int
spawner_serve(int ctl, uint32_t type, uint32_t type2, const char *child_name,
    struct msg *m, int *fd2_r, int (*chan_fn)(int, struct msg *), int *chan_r,
    void (*before_fork)(void), void (*after_fork)(int, pid_t))
{
	struct epoll_event ev, evs[SPAWNER_EVENTS];
	struct signalfd_siginfo si;
	sigset_t chld, old;
	int sfd, epfd, n, i, r;
	pid_t pid;

	*chan_r = -1;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &chld, &old) == -1 ||
	    (sfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK)) == -1 ||
	    (epfd = epoll_create1(EPOLL_CLOEXEC)) == -1)
		fatal("spawner setup");
	ev.events = EPOLLIN;
	ev.data.fd = ctl;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, ctl, &ev) == -1)
		fatal("epoll");
	ev.data.fd = sfd;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, sfd, &ev) == -1)
		fatal("epoll");
	for (;;) {
		if ((n = epoll_wait(epfd, evs, SPAWNER_EVENTS, -1)) == -1) {
			if (errno == EINTR)
				continue;
			fatal("epoll_wait");
		}
		for (i = 0; i < n; i++) {
			int fd = evs[i].data.fd, ours = -1, theirs = -1;
			int fd2 = -1;
			size_t k;

			if (fd == sfd) {
				while (read(sfd, &si, sizeof(si)) ==
				    sizeof(si))
					;
				reap_children(child_name);
				continue;
			}
			if (fd != ctl) {
				chan_read(epfd, fd, chan_fn);
				continue;
			}
			if ((r = ipc_recv(ctl, m)) == 0)
				goto retired;
			if (r == -1)
				fatal("spawner receive");
			if (m->type != type || m->fd == -1)
				fatalx("spawner: unexpected message %s",
				    msg_name(m->type));
			/* sent together with the first: no wait */
			if (type2 != 0 && (fd2 = recv_second(ctl, type2)) ==
			    -1) {
				close(m->fd);
				goto retired;
			}
			if (before_fork != NULL)
				before_fork();
			if (chan_fn != NULL)
				ours = chan_open(epfd, &theirs);
			switch (pid = fork()) {
			case -1:
				/* the peer sees EOF; the master counts the
				 * failed slot and backs off */
				log_warn("fork");
				close(m->fd);
				if (fd2 != -1)
					close(fd2);
				if (ours != -1) {
					chan_close(epfd, ours);
					close(theirs);
				}
				continue;
			case 0:
				/* nothing of the spawner's: not the master's
				 * socket, not the other children's channels */
				close(ctl);
				close(sfd);
				close(epfd);
				for (k = 0; k < nchans; k++)
					close(chans[k]);
				free(chans);
				chans = NULL;
				nchans = chans_cap = 0;
				sigprocmask(SIG_SETMASK, &old, NULL);
				*chan_r = theirs;
				if (type2 != 0)
					*fd2_r = fd2;
				return 0;
			}
			if (after_fork != NULL)
				after_fork(m->fd, pid);
			close(m->fd);
			if (fd2 != -1)
				close(fd2);
			if (theirs != -1)
				close(theirs);
		}
	}
retired:
	/* helpers still signing finish with their fallback */
	for (i = 0; i < (int)nchans; i++)
		close(chans[i]);
	close(epfd);
	close(sfd);
	return 1;
}
