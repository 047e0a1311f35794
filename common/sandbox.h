/*
 * seccomp-BPF filters (style guide section 6, step 8): each role lists
 * its system calls in a file of its own (daemon/session/sandbox_session.c,
 * mailstore/sandbox_store.c, auth/sandbox_auth.c) and installs the list
 * after its last privileged step.  A call the list does not allow kills
 * the process with SIGSYS; it first logs its role and the call.
 */
#ifndef PRIVPOP_SANDBOX_H
#define PRIVPOP_SANDBOX_H

#include <stddef.h>
#include <stdint.h>

#ifdef HAVE_SECCOMP
#include <seccomp.h>
#else
#define SCMP_SYS(name)	0	/* the lists still compile, unused */
#endif

/* What a rule does with its call. */
#define SBX_RUN		0	/* allowed */
#define SBX_RUN_IF	1	/* allowed when argument arg equals val */
#define SBX_EACCES	2	/* fails with EACCES, the process lives on */
#define SBX_KILL	3	/* kills (in a deny-list) */
#define SBX_RUN_IF2	4	/* allowed when arg equals val and arg2 val2 */

struct sbx_rule {
	int		 nr;
	int		 what;
	unsigned int	 arg;
	uint64_t	 val;
	unsigned int	 arg2;
	uint64_t	 val2;
};

#define SBX_CALL(name)		{ SCMP_SYS(name), SBX_RUN, 0, 0, 0, 0 }
#define SBX_CALL_IF(name, a, v)	{ SCMP_SYS(name), SBX_RUN_IF, (a), (v), 0, 0 }
#define SBX_CALL_IF2(name, a, v, a2, v2) \
	{ SCMP_SYS(name), SBX_RUN_IF2, (a), (v), (a2), (v2) }
#define SBX_REFUSE(name)	{ SCMP_SYS(name), SBX_EACCES, 0, 0, 0, 0 }
#define SBX_DENY(name)		{ SCMP_SYS(name), SBX_KILL, 0, 0, 0, 0 }

/* A list is up to SBX_PARTS arrays of rules (a fork server's is its
 * children's and its own).  Every allow-list also gets the calls any
 * process makes (memory, signals, time, exit: sbx_base in sandbox.c). */
#define SBX_PARTS	4
struct sbx_part {
	const struct sbx_rule	*rules;
	size_t			 n;
};
#define SBX_PART(a)	{ (a), sizeof(a) / sizeof((a)[0]) }

struct sbx_list {
	const char		*role;	/* for the log: "session child" */
	const char		*key;	/* for the test hook: "session" */
	int			 deny;	/* rules name what kills, not what runs */
	struct sbx_part		 parts[SBX_PARTS];
};

/*
 * Install list on top of whatever filter this process inherited (a
 * filter can only be tightened), unless on is 0 (seccomp = no).  Dies
 * if the kernel refuses it.  Logging must be open (the SIGSYS handler
 * writes to the syslog socket and stderr it finds in place).
 */
void	sbx_install(const struct sbx_list *list, int on);

/*
 * In a child that inherited its parent's filter: the role the SIGSYS
 * handler names from now on (when a filter is in).  Test builds only
 * (--enable-test-hooks): with PRIVPOP_TEST_FORBIDDEN_SYSCALL=key in the
 * environment, make a call no filter of ours allows, as sbx_install()
 * does for its own key.
 */
void	sbx_inherited(const char *role, const char *key);

/* The roles' lists, each in its role's directory. */
void	sbx_session(int on);		/* daemon/session/sandbox_session.c */
void	sbx_session_zygote(int on);	/* the slot zygote */
void	sbx_session_forked(void);	/* a slot of the zygote's */
void	sbx_store(int on);		/* mailstore/sandbox_store.c */
void	sbx_store_spawner(int on);
void	sbx_store_forked(void);
void	sbx_auth(int on, int zygote);	/* auth/sandbox_auth.c */
void	sbx_auth_helper(void);
void	sbx_metrics(int on);		/* daemon/metrics/sandbox_metrics.c */

#endif
