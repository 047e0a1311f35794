/*
 * The one place that knows privpop-auth's and privpop-store -Z's
 * command lines and descriptor layouts (0..2 /dev/null or stderr, then
 * 3 IPC, 4 config snapshot, 5-6 penalties, 7 TLS keys, 8 the workers'
 * fork server: the table in fdlayout.h).
 * Runs as root in the master (and in an inetd-mode slot before it
 * drops), between fork and exec; reads nothing from a client.
 *
 * Runs as: root (the master, an inetd-mode slot before it drops).
 */
#include "config.h"

#include <fcntl.h>
#include <signal.h>
#include <syslog.h>
#include <stdint.h>
#include <unistd.h>

#include "auth_helper.h"
#include "fdlayout.h"
#include "ipc.h"
#include "log.h"
#include "penalty.h"
#include "privdrop.h"

/* Exit status of a helper child whose descriptors could not be
 * placed (the master logs it). */
#define HELPER_LAYOUT_FAILED	126

/* The first entries of every layout: /dev/null on 0 and 1, and on 2
 * unless stderr is kept (foreground), so that no helper holds the
 * client socket in inetd mode.  Returns the entries used (fd_layout
 * closes devnull itself unless it is a target). */
static size_t
stdio_places(struct fd_place *p, int devnull, int keep_stderr)
{
	p[0].from = p[1].from = p[2].from = devnull;
	if (keep_stderr)
		p[2].from = 2;
	p[0].to = 0;
	p[1].to = 1;
	p[2].to = 2;
	return 3;
}

/* In the child: place the layout or end; never returns on failure.
 * The libc syslog socket is closed first: its number may be a target,
 * and a message written to it after the move would go elsewhere. */
static void
place_or_exit(const struct fd_place *p, size_t n)
{
	closelog();
	if (fd_layout(p, n, 0) == -1) {
		log_warn("cannot place the helper's descriptors");
		_exit(HELPER_LAYOUT_FAILED);
	}
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
	/* not when the master itself stopped writing to stderr (it is
	 * the journal, which syslog reaches: one copy of each line) */
	if (env->foreground && log_to_stderr())
		argv[argc++] = "-e";
	if (env->conf->log_debug)
		argv[argc++] = "-d";
	return argc;
}

/* privpop-auth -c file -F -P -K -e -d -Z -S, and the NULL */
#define AUTH_ARGV_MAX	11
/* privpop-store -Z -e -d -N -T, and the NULL */
#define STORE_ARGV_MAX	7

pid_t
auth_helper_start(const struct slot_env *env, int child_end, int zygote,
    int store_spawner)
{
	char *argv[AUTH_ARGV_MAX];
	char *envp[PRIV_ENV_MAX];
	struct fd_place p[FD_LAYOUT_MAX];
	int argc = 0, devnull;
	size_t n;
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
		if ((devnull = open("/dev/null", O_RDWR | O_CLOEXEC)) == -1)
			_exit(HELPER_LAYOUT_FAILED);
		n = stdio_places(p, devnull, env->foreground);
		p[n].from = child_end;
		p[n++].to = IPC_CHILD_FD;
		p[n].from = env->conf_fd;
		p[n++].to = CONF_SNAPSHOT_FD;
		if (env->penalty_table_fd != -1) {
			p[n].from = env->penalty_report_fd;
			p[n++].to = PENALTY_REPORT_FD;
			p[n].from = env->penalty_table_fd;
			p[n++].to = PENALTY_TABLE_FD;
		}
		if (env->tls_keys_fd != -1) {
			p[n].from = env->tls_keys_fd;
			p[n++].to = TLS_KEYS_FD;
		}
		if (store_spawner != -1) {
			p[n].from = store_spawner;
			p[n++].to = STORE_SPAWNER_FD;
		}
		place_or_exit(p, n);
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
	struct fd_place p[FD_LAYOUT_MAX];
	int argc = 0, devnull;
	size_t n;
	pid_t pid;

	/* the path: room for its workers' titles (proctitle.c) */
	argv[argc++] = (char *)(uintptr_t)env->conf->store_helper;
	argv[argc++] = "-Z";
	argc = common_args(env, argv, argc);
	if (!env->conf->seccomp)
		argv[argc++] = "-N";
	if (!env->conf->verbose_proctitle)
		argv[argc++] = "-T";
	argv[argc] = NULL;
	priv_child_env(envp, "/usr/bin:/bin");

	switch (pid = fork()) {
	case -1:
		log_warn("fork");
		break;
	case 0:
		if ((devnull = open("/dev/null", O_RDWR | O_CLOEXEC)) == -1)
			_exit(HELPER_LAYOUT_FAILED);
		n = stdio_places(p, devnull, env->foreground);
		p[n].from = child_end;
		p[n++].to = IPC_CHILD_FD;
		place_or_exit(p, n);
		if (chdir("/") == -1)
			_exit(127);
		exec_helper(env->conf->store_helper, argv, envp);
	}
	close(child_end);
	return pid;
}
