/*
 * privpop-auth's system calls (root: its fork server, and each helper,
 * forked from it or exec'd).  PAM and NSS modules may need almost any
 * call, and a helper execs privpop-store, so this is a deny-list: what
 * no PAM conversation, password check or TLS signature needs, and what
 * would turn a root process taken over into more than root's files
 * (the kernel, other processes' memory, the mounts).
 *
 * Runs as: root (privpop-auth and its fork server).
 */
#include "config.h"

#include "sandbox.h"

static const struct sbx_rule auth_denied[] = {
	/* other processes' memory */
	SBX_DENY(ptrace), SBX_DENY(process_vm_readv),
	SBX_DENY(process_vm_writev), SBX_DENY(kcmp),
	/* code into the kernel, and the kernel's attack surface */
	SBX_DENY(bpf), SBX_DENY(perf_event_open), SBX_DENY(userfaultfd),
	SBX_DENY(init_module), SBX_DENY(finit_module),
	SBX_DENY(delete_module), SBX_DENY(kexec_load),
	SBX_DENY(kexec_file_load), SBX_DENY(iopl), SBX_DENY(ioperm),
	SBX_DENY(io_uring_setup), SBX_DENY(io_uring_enter),
	SBX_DENY(io_uring_register),
	/* the mounts, and a way out of them */
	SBX_DENY(mount), SBX_DENY(umount2), SBX_DENY(pivot_root),
	SBX_DENY(move_mount), SBX_DENY(open_tree), SBX_DENY(fsopen),
	SBX_DENY(fsconfig), SBX_DENY(fsmount), SBX_DENY(fspick),
	SBX_DENY(mount_setattr), SBX_DENY(open_by_handle_at),
	SBX_DENY(setns),
	/* the machine's state */
	SBX_DENY(reboot), SBX_DENY(swapon), SBX_DENY(swapoff),
	SBX_DENY(settimeofday), SBX_DENY(clock_settime),
	SBX_DENY(clock_adjtime), SBX_DENY(adjtimex), SBX_DENY(sethostname),
	SBX_DENY(setdomainname), SBX_DENY(acct), SBX_DENY(syslog),
	SBX_DENY(quotactl), SBX_DENY(lookup_dcookie), SBX_DENY(vhangup),
};

void
sbx_auth(int on, int zygote)
{
	static const struct sbx_list server = {
		"auth fork server", "auth-spawner", 1,
		{ SBX_PART(auth_denied) },
	};
	static const struct sbx_list helper = {
		"auth helper", "auth", 1,
		{ SBX_PART(auth_denied) },
	};

	sbx_install(zygote ? &server : &helper, on);
}

void
sbx_auth_helper(void)
{
	sbx_inherited("auth helper", "auth");
}
