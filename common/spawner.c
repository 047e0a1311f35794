/*
 * The fork-server loop behind privpop-auth -Z.  SIGCHLD arrives on a
 * signalfd so that finished children are reaped (and a crash logged)
 * while the spawner waits for the next request, not only after it.
 */
#include "config.h"

#include <sys/signalfd.h>
#include <sys/wait.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include "log.h"
#include "spawner.h"

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

int
spawner_serve(int ctl, uint32_t type, const char *child_name, struct msg *m)
{
	struct signalfd_siginfo si;
	struct pollfd pfd[2];
	sigset_t chld, old;
	int sfd, r;

	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &chld, &old) == -1 ||
	    (sfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK)) == -1)
		fatal("signalfd");
	for (;;) {
		pfd[0].fd = ctl;
		pfd[0].events = POLLIN;
		pfd[1].fd = sfd;
		pfd[1].events = POLLIN;
		if (poll(pfd, 2, -1) == -1) {
			if (errno == EINTR)
				continue;
			fatal("poll");
		}
		if (pfd[1].revents & POLLIN) {
			while (read(sfd, &si, sizeof(si)) == sizeof(si))
				;
			reap_children(child_name);
		}
		if (pfd[0].revents == 0)
			continue;
		if ((r = ipc_recv(ctl, m)) == 0)
			break;		/* the master retired us */
		if (r == -1)
			fatal("spawner receive");
		if (m->type != type || m->fd == -1)
			fatalx("spawner: unexpected message %s",
			    msg_name(m->type));
		switch (fork()) {
		case -1:
			/* the peer sees EOF; the master counts the failed
			 * slot and backs off */
			log_warn("fork");
			close(m->fd);
			continue;
		case 0:
			close(ctl);
			close(sfd);
			sigprocmask(SIG_SETMASK, &old, NULL);
			return 0;
		}
		close(m->fd);
	}
	close(sfd);
	return 1;
}
