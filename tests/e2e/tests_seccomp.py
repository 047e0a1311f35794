"""seccomp filters: every role runs filtered during a live session,
seccomp = no turns them off with a warning, and (in a build with
--enable-test-hooks) a forbidden call kills its role with SIGSYS and is
logged with the role and the call."""
import os
import re
import signal

import e2e_util as U
from e2e_util import check, check_eq
from registry import test
from tests_pop3 import MESSAGES, small_msgs, std_daemon
from tests_system import find_roles

HOOK_ENV = "PRIVPOP_TEST_FORBIDDEN_SYSCALL"


def seccomp_mode(pid):
    return U.status_of(pid).get("Seccomp")


def roles_of_live_session(d, c):
    sess, auth, store, _, (zyg, szyg) = find_roles(d, c)
    master = d.pid()
    idle = [p for p in U.slots_of(master, d.binary()) if p != sess]
    slot_zyg = U.slot_zygote(master)
    check(slot_zyg is not None, "no slot zygote below the master")
    return master, [("session child", sess), ("mailstore worker", store),
                    ("idle auth helper", auth), ("auth fork server", zyg),
                    ("store fork server", szyg),
                    ("slot zygote", slot_zyg)] + \
        [("idle slot %d" % p, p) for p in idle]


def max_processes(pid):
    """(soft, hard) RLIMIT_NPROC of pid, from /proc/PID/limits."""
    with open("/proc/%d/limits" % pid) as f:
        for line in f:
            if line.startswith("Max processes"):
                return tuple(line[len("Max processes"):].split()[:2])
    return None


def built_with_seccomp(ctx):
    with open(os.path.join(ctx.build_dir, "config.h")) as f:
        return "#define HAVE_SECCOMP 1" in f.read()


def built_with_hooks(ctx):
    with open(os.path.join(ctx.build_dir, "config.h")) as f:
        return "#define PRIVPOP_TEST_HOOKS 1" in f.read()


@test("seccomp_every_role_filtered")
def t_seccomp_roles(ctx):
    if not built_with_seccomp(ctx):
        raise U.TestSkip("built with --disable-seccomp")
    d, u = std_daemon(ctx, messages=MESSAGES[:2])
    with d.session("alice") as c:
        check(c.cmd("RETR 1").startswith(b"+OK"), "RETR 1")
        c.multi()
        master, roles = roles_of_live_session(d, c)
        for role, pid in roles:
            check_eq(seccomp_mode(pid), "2", "Seccomp of the %s %d"
                     % (role, pid))
        # slots and the worker inherit a filter that allows clone (the
        # zygote's, the fork server's): RLIMIT_NPROC 0 makes it fail
        for role, pid in roles:
            if role in ("session child", "mailstore worker") or \
                    role.startswith("idle slot"):
                check_eq(max_processes(pid), ("0", "0"),
                         "RLIMIT_NPROC of the %s %d" % (role, pid))
        # the master is not filtered (it reaps, reloads, execs)
        check_eq(seccomp_mode(master), "0", "Seccomp of the master")
        c.cmd("QUIT")
    check(not d.wait_log(r"seccomp: .* killed", 0.5),
          "a role was killed by its filter:\n" + d.log_text()[-2000:])


@test("seccomp_no_turns_filters_off")
def t_seccomp_off(ctx):
    d, u = std_daemon(ctx, messages=MESSAGES[:1],
                      extra_conf={"seccomp": "no"})
    check(d.wait_log(r"seccomp = no: the system call filters of every "
                     r"role are off|built without seccomp", 3),
          "no warning that the filters are off")
    with d.session("alice") as c:
        check(c.cmd("STAT").startswith(b"+OK 1 "), "STAT")
        _, roles = roles_of_live_session(d, c)
        for role, pid in roles:
            check_eq(seccomp_mode(pid), "0", "Seccomp of the %s %d with "
                     "seccomp = no" % (role, pid))
        c.cmd("QUIT")


# the hook makes a ptrace call: its number here
PTRACE_NR = {"x86_64": 101, "aarch64": 117, "riscv64": 117,
             "ppc64le": 26, "s390x": 26}.get(os.uname().machine, 101)

# role key: (the role's name in its own line, the reaper's line)
HOOK_ROLES = [
    ("session", "session child",
     r"session process \d+ killed by signal %d"),
    ("store", "mailstore worker",
     r"privpop-store \d+ killed by signal %d"),
    ("zygote", "slot zygote",
     r"slot zygote \d+ killed by signal %d"),
    ("store-spawner", "store fork server",
     r"privpop-store fork server \d+ killed by signal %d"),
    ("auth", "auth helper",
     r"privpop-auth \(or the privpop-store it became\) \d+ killed by "
     r"signal %d"),
    ("auth-spawner", "auth fork server",
     r"privpop-auth fork server \d+ killed by signal %d"),
]


@test("seccomp_forbidden_call_kills_and_is_logged")
def t_seccomp_hook(ctx):
    if not built_with_seccomp(ctx) or not built_with_hooks(ctx):
        raise U.TestSkip("needs a build with --enable-test-hooks "
                         "(tests/run-all.sh: the ASan build)")
    for key, role, reaper in HOOK_ROLES:
        os.environ[HOOK_ENV] = key
        try:
            d, u = std_daemon(ctx, name="hook-" + key,
                              messages=MESSAGES[:1])
        finally:
            del os.environ[HOOK_ENV]
        try:
            if key == "store":
                # the worker starts at login and dies at once: the
                # session answers the login with an error or drops it
                try:
                    with d.session("alice", timeout=5) as c:
                        c.cmd("STAT")
                except Exception:
                    pass
            own = (r"seccomp: %s killed: forbidden system call %d "
                   r"\(ptrace\)" % (re.escape(role), PTRACE_NR))
            check(d.wait_log(own, 10), "%s: no line %r:\n%s"
                  % (key, own, d.log_text()[-2000:]))
            rx = reaper % signal.SIGSYS
            check(d.wait_log(rx, 10), "%s: the reaper did not log %r:\n%s"
                  % (key, rx, d.log_text()[-2000:]))
        finally:
            d.stop()


@test("seccomp_maildir_of_many_messages")
def t_seccomp_many(ctx):
    """A Maildir of 300 messages, scanned and sorted at the first login
    (glibc's qsort calls sysinfo for an array over 1 kB: the worker was
    killed with SIGSYS for any Maildir of about 60 messages or more),
    then listed from its snapshot at the second."""
    if not built_with_seccomp(ctx):
        raise U.TestSkip("built with --disable-seccomp")
    d, u = std_daemon(ctx, "many", messages=small_msgs(300, "many"))
    for _ in range(2):
        with d.session("alice") as c:
            r = c.cmd("STAT")
            check(r.startswith(b"+OK 300 "), "STAT of 300: %r" % r)
            check(c.cmd("RETR 300").startswith(b"+OK"), "RETR 300")
            c.multi()
            c.cmd("QUIT")
    check("seccomp" not in d.log_text(), "a seccomp kill: %s" %
          d.log_text()[-500:])
    d.stop()
