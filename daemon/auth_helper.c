/*
 * The one place that knows privpop-auth's command line and descriptor
 * layout (fds 3..7, see ipc.h, conf.h, penalty.h and tls_keys_fd.h).
 */
#include "config.h"

#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <unistd.h>

#include "auth_helper.h"
#include "ipc.h"
#include "log.h"
#include "penalty.h"
#include "privdrop.h"
#include "tls_keys_fd.h"

/* Where descriptors wait before dup2 puts them on 3..8. */
#define HELPER_FD_TOP	(STORE_SPAWNER_FD + 1)

void
null_stdio(int keep_stderr)
{
	int fd = open("/dev/null", O_RDWR);

	if (fd == -1)
		_exit(127);
	dup2(fd, 0);
	dup2(fd, 1);
	if (!keep_stderr)
		dup2(fd, 2);
	if (fd > 2)
		close(fd);
}

/* The common end of both: default signals (the master's handlers do not
 * survive exec, but SIG_IGN would), then exec; never returns. */
__attribute__((noreturn)) static void
exec_helper(const char *path, char **argv, char **envp)
{
	signal(SIGTERM, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	signal(SIGCHLD, SIG_DFL);
	execve(path, argv, envp);
	log_warn("exec %s", path);
	_exit(127);
}

/* The program's common arguments: -e in the foreground, -d with
 * log_debug; returns the new argc. */
static int
common_args(const struct slot_env *env, char **argv, int argc)
{
	if (env->foreground)
		argv[argc++] = "-e";
	if (env->conf->log_debug)
		argv[argc++] = "-d";
	return argc;
}

/* privpop-auth -c file -F -P -K -e -d -Z -S, and the NULL */
#define AUTH_ARGV_MAX	11
/* privpop-store -Z -e -d, and the NULL */
#define STORE_ARGV_MAX	5

pid_t
auth_helper_start(const struct slot_env *env, int child_end, int zygote,
    int store_spawner)
{
	char *argv[AUTH_ARGV_MAX];
	char *envp[PRIV_ENV_MAX];
	int argc = 0, sock, cfd, rfd, tfd, kfd, sfd;
	pid_t pid;

	argv[argc++] = "privpop-auth";
	argv[argc++] = "-c";
	argv[argc++] = (char *)(uintptr_t)env->conffile;
	argv[argc++] = "-F";
	if (env->penalty_table_fd != -1)
		argv[argc++] = "-P";
	if (env->tls_keys_fd != -1)
		argv[argc++] = "-K";
	argc = common_args(env, argv, argc);
	if (zygote)
		argv[argc++] = "-Z";
	if (store_spawner != -1)
		argv[argc++] = "-S";
	argv[argc] = NULL;
	priv_child_env(envp, "/usr/sbin:/usr/bin:/sbin:/bin");

	switch (pid = fork()) {
	case -1:
		log_warn("fork");
		break;
	case 0:
		null_stdio(env->foreground);
		/* move them out of the way before placing them on 3..7 */
		if ((sock = fcntl(child_end, F_DUPFD, HELPER_FD_TOP)) == -1 ||
		    (cfd = fcntl(env->conf_fd, F_DUPFD, HELPER_FD_TOP)) == -1)
			_exit(127);
		if (env->penalty_table_fd != -1 &&
		    ((rfd = fcntl(env->penalty_report_fd, F_DUPFD,
		    HELPER_FD_TOP)) == -1 ||
		    (tfd = fcntl(env->penalty_table_fd, F_DUPFD,
		    HELPER_FD_TOP)) == -1 ||
		    dup2(rfd, PENALTY_REPORT_FD) == -1 ||
		    dup2(tfd, PENALTY_TABLE_FD) == -1))
			_exit(127);
		if (env->tls_keys_fd != -1 &&
		    ((kfd = fcntl(env->tls_keys_fd, F_DUPFD, HELPER_FD_TOP)) ==
		    -1 || dup2(kfd, TLS_KEYS_FD) == -1))
			_exit(127);
		if (store_spawner != -1 &&
		    ((sfd = fcntl(store_spawner, F_DUPFD, HELPER_FD_TOP)) == -1 ||
		    dup2(sfd, STORE_SPAWNER_FD) == -1))
			_exit(127);
		if (dup2(sock, IPC_CHILD_FD) == -1 ||
		    dup2(cfd, CONF_SNAPSHOT_FD) == -1)
			_exit(127);
		closefrom(STORE_SPAWNER_FD + 1);
		if (store_spawner == -1)
			close(STORE_SPAWNER_FD);
		exec_helper(env->conf->auth_helper, argv, envp);
	}
	close(child_end);
	return pid;
}

pid_t
store_spawner_start(const struct slot_env *env, int child_end)
{
	char *argv[STORE_ARGV_MAX];
	char *envp[PRIV_ENV_MAX];
	int argc = 0;
	pid_t pid;

	argv[argc++] = "privpop-store";
	argv[argc++] = "-Z";
	argc = common_args(env, argv, argc);
	argv[argc] = NULL;
	priv_child_env(envp, "/usr/bin:/bin");

	switch (pid = fork()) {
	case -1:
		log_warn("fork");
		break;
	case 0:
		null_stdio(env->foreground);
		if (dup2(child_end, IPC_CHILD_FD) == -1)
			_exit(127);
		closefrom(IPC_CHILD_FD + 1);
		if (chdir("/") == -1)
			_exit(127);
		exec_helper(env->conf->store_helper, argv, envp);
	}
	close(child_end);
	return pid;
}
