"""Issue 15 item 1: a local user must not be able to ptrace any privpop
process that holds what the user lacks (the spool group `mail`), and
only a worker's dotlock child holds `mail` at all.

A system user with a /var/mail spool logs in through PAM (pam_wrapper
and pam_matrix) again and again, with pam_session = yes and no, while a
process running as that user scans /proc and tries PTRACE_ATTACH and
PTRACE_SEIZE on every privpop-store (and, to hit the instants just
after an exec, on the next few pids).  Any success fails the test."""
import ctypes
import grp
import os
import pwd
import secrets
import shutil
import subprocess
import time

import auth_util as A
import e2e_util as U
from e2e_util import check, check_eq
from registry import test

USER = "ppptrace1"
SPOOL_DIR = "/var/mail"
PAM_MATRIX = "/usr/lib/x86_64-linux-gnu/pam_wrapper/pam_matrix.so"
PAM_WRAPPER_LIB = "/usr/lib/x86_64-linux-gnu/libpam_wrapper.so"
YAMA = "/proc/sys/kernel/yama/ptrace_scope"
LOGINS = 30
BOUND_S = 20.0

PTRACE_ATTACH = 16
PTRACE_DETACH = 17
PTRACE_SEIZE = 0x4206
PTRACE_INTERRUPT = 0x4207

MSG = (b"From sender@example.org Mon Jan  1 00:00:00 2024\n"
       b"From: sender@example.org\nSubject: ptrace\n\nbody\n\n")


def ids(status, key):
    return [int(x) for x in status.get(key, "").split()]


def pam_env(d, user, password):
    """pam_wrapper with a pam_matrix service for the real system user
    (the passwd database is the host's: no nss_wrapper)."""
    for p in (PAM_MATRIX, PAM_WRAPPER_LIB):
        check(os.path.exists(p), "%s is missing (libpam-wrapper)" % p)
    svc = os.path.join(d.dir, "pam.d")
    os.makedirs(svc, exist_ok=True)
    passdb = os.path.join(d.dir, "passdb")
    with open(passdb, "w") as f:
        f.write("%s:%s:privpop\n" % (user, password))
    with open(os.path.join(svc, "privpop"), "w") as f:
        for kind in ("auth", "account", "password", "session"):
            f.write("%-8s required %s passdb=%s\n" % (kind, PAM_MATRIX,
                                                     passdb))
    os.chmod(passdb, 0o644)
    return {
        "LD_PRELOAD": PAM_WRAPPER_LIB,
        "PAM_WRAPPER": "1",
        "PAM_WRAPPER_SERVICE_DIR": svc,
    }


def attacker(pw, stop_at, out_fd):
    """In a forked child: become the user (its groups only), then try to
    attach to every privpop-store and to the pids just above the last
    one seen, until stop_at.  Writes one line per success to out_fd."""
    os.setgroups([pw.pw_gid])
    os.setgid(pw.pw_gid)
    os.setuid(pw.pw_uid)
    libc = ctypes.CDLL(None, use_errno=True)
    libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p,
                            ctypes.c_void_p]
    libc.ptrace.restype = ctypes.c_long
    me = os.getpid()
    last = me
    sweeps = 0

    def attempt(pid):
        for req in (PTRACE_ATTACH, PTRACE_SEIZE):
            if libc.ptrace(req, pid, None, None) != 0:
                continue
            try:
                with open("/proc/%d/status" % pid) as f:
                    groups = [l.strip() for l in f
                              if l.startswith(("Groups", "Name"))]
            except OSError:
                groups = []
            try:
                with open("/proc/%d/cmdline" % pid, "rb") as f:
                    argv = f.read().split(b"\0")[0].decode("utf-8",
                                                          "replace")
            except OSError:
                argv = "?"
            os.write(out_fd, ("%s pid=%d %s %s\n" % (
                "ATTACH" if req == PTRACE_ATTACH else "SEIZE", pid, argv,
                " ".join(groups))).encode())
            # stop it (a seized tracee runs on) so that it can be let go
            if req == PTRACE_SEIZE:
                libc.ptrace(PTRACE_INTERRUPT, pid, None, None)
            try:
                os.waitpid(pid, os.WALL)
            except OSError:
                pass
            libc.ptrace(PTRACE_DETACH, pid, None, None)

    while time.monotonic() < stop_at:
        sweeps += 1
        if sweeps % 50 == 1:
            for name in os.listdir("/proc"):
                if not name.isdigit() or int(name) == me:
                    continue
                pid = int(name)
                last = max(last, pid)
                try:
                    with open("/proc/%d/cmdline" % pid, "rb") as f:
                        argv0 = f.read().split(b"\0")[0]
                except OSError:
                    continue
                if b"privpop-store" in argv0:
                    attempt(pid)
        # a worker exec'd after its drop is attachable only for
        # instants: the next pids, as fast as ctypes goes
        for pid in range(last + 1, last + 24):
            attempt(pid)
    os._exit(0)


def spool_dir_ready(ctx):
    """/var/mail as Debian has it (root:mail 2775); made only if missing.
    Returns (mail gid, made)."""
    mail_gid = grp.getgrnam("mail").gr_gid
    if not os.path.isdir(SPOOL_DIR):
        os.makedirs(SPOOL_DIR)
        os.chown(SPOOL_DIR, 0, mail_gid)
        os.chmod(SPOOL_DIR, 0o2775)
        return mail_gid, True
    st = os.stat(SPOOL_DIR)
    if st.st_gid != mail_gid or not st.st_mode & 0o020:
        raise U.TestSkip("%s is not group mail and group-writable here"
                         % SPOOL_DIR)
    return mail_gid, False


def userdel(name):
    try:
        pwd.getpwnam(name)
    except KeyError:
        return
    A.run(["userdel", "-r", name], timeout=30)


def daemon(ctx, name, password, location, session):
    d = U.Daemon(ctx, name, extra_conf={
        "auth_backends": "pam",
        "system_mail_location": location,
        "pam_session": session,
        "first_valid_uid": "1000",
    })
    A.start_with_env(d, pam_env(d, USER, password))
    return d


def live_worker(d, password):
    """Log in and return (conn, worker pid)."""
    r, _, c = A.pass_login(d, USER, password, 30)
    check(r.startswith(b"+OK"), "PAM login: %r; log: %s" % (
        r, " | ".join(d.log_text().splitlines()[-6:])))
    check(c.cmd("STAT").startswith(b"+OK"), "STAT")
    w = U.wait_until(lambda: U.store_workers(d.pid()), 5)
    check(w, "no privpop-store worker")
    return c, w[0]


@test("privsep_owner_cannot_ptrace_worker")
def t_ptrace(ctx):
    if not ctx.is_root:
        raise U.TestSkip("needs root (system user, /var/mail, setuid)")
    if os.environ.get("PRIVPOP_E2E_SANITIZERS") == "1":
        raise U.TestSkip("pam_wrapper cannot load under AddressSanitizer")
    check(shutil.which("useradd"), "useradd is not installed")
    mail_gid, made_dir = spool_dir_ready(ctx)
    spool = os.path.join(SPOOL_DIR, USER)
    password = "Ptrace-" + secrets.token_hex(6)
    yama = None
    if os.path.exists(YAMA):
        with open(YAMA) as f:
            yama = f.read().strip()
    userdel(USER)
    try:
        if yama is not None and yama != "0":
            # a hardened host would hide the hole this test looks for
            with open(YAMA, "w") as f:
                f.write("0\n")
        r = A.run(["useradd", "-m", "-K", "UID_MIN=1000", "-s", "/bin/sh",
                   USER], timeout=30)
        check(r.returncode == 0, "useradd: %r" % r.stderr)
        pw = pwd.getpwnam(USER)
        with open(spool, "wb") as f:
            f.write(MSG)
        os.chown(spool, pw.pw_uid, mail_gid)
        os.chmod(spool, 0o660)
        mbox_home = os.path.join(pw.pw_dir, "mbox")
        with open(mbox_home, "wb") as f:
            f.write(MSG)
        os.chown(mbox_home, pw.pw_uid, pw.pw_gid)
        U_md = U.MailUser(USER, password, pw.pw_uid, pw.pw_gid, pw.pw_dir)
        U_md.make_maildir()

        for session in ("yes", "no"):
            d = daemon(ctx, "ptr-" + session, password,
                       "mbox:/var/mail/%u", session)
            # the attack: the owner tries to attach while logins run
            rfd, wfd = os.pipe()
            stop_at = time.monotonic() + BOUND_S + 5
            pid = os.fork()
            if pid == 0:
                os.close(rfd)
                try:
                    attacker(pw, stop_at, wfd)
                finally:
                    os._exit(1)
            os.close(wfd)
            failed = None
            t0 = time.monotonic()
            n = 0
            try:
                while n < LOGINS and time.monotonic() - t0 < BOUND_S:
                    r, _, c = A.pass_login(d, USER, password, 10)
                    check(r.startswith(b"+OK"), "login %d: %r" % (n, r))
                    c.cmd("STAT")
                    c.cmd("QUIT")
                    c.close()
                    n += 1
            except Exception as e:  # noqa: B902
                # a worker the attacker holds may hang the session
                failed = e
            finally:
                os.kill(pid, 9)
                os.waitpid(pid, 0)
                hits = b""
                while True:
                    b = os.read(rfd, 65536)
                    if not b:
                        break
                    hits += b
                os.close(rfd)
            ctx.note("pam_session = %s: %d logins under attack" % (session,
                                                                   n))
            check(not hits, "the owner attached to privpop processes "
                  "(pam_session = %s): %s" % (session, hits.decode()))
            if failed is not None:
                raise failed
            # which process holds `mail`: only the dotlock child of a
            # /var/mail worker, never the worker that parses mail
            c, w = live_worker(d, password)
            st = U.status_of(w)
            check_eq(ids(st, "Uid"), [pw.pw_uid] * 4, "worker Uid")
            check_eq(ids(st, "Groups"), [pw.pw_gid],
                     "/var/mail worker Groups (pam_session = %s)" % session)
            lockd = U.lockd_children(w)
            check_eq(len(lockd), 1, "dotlock child of the /var/mail worker")
            check_eq(sorted(set(ids(U.status_of(lockd[0]), "Groups"))),
                     sorted({pw.pw_gid, mail_gid}), "dotlock child Groups")
            for p in [w] + lockd:
                check_eq(U.status_of(p).get("NoNewPrivs"), "1",
                         "NoNewPrivs of %d" % p)
            c.cmd("QUIT")
            c.close()

            d.stop()

        # a Maildir and ~/mbox: no worker of theirs holds `mail`
        for loc in ("maildir:~/Maildir", "mbox:~/mbox"):
            d = daemon(ctx, "ptr-home", password, loc, "no")
            c, w = live_worker(d, password)
            check_eq(ids(U.status_of(w), "Groups"), [pw.pw_gid],
                     "worker Groups for %s" % loc)
            check_eq(U.lockd_children(w), [], "dotlock child for %s" % loc)
            c.cmd("QUIT")
            c.close()
            d.stop()
    finally:
        if yama is not None and yama != "0":
            with open(YAMA, "w") as f:
                f.write(yama + "\n")
        for p in (spool, spool + ".lock"):
            try:
                os.unlink(p)
            except OSError:
                pass
        userdel(USER)
        if made_dir:
            try:
                os.rmdir(SPOOL_DIR)
            except OSError:
                pass


# ---------------------------------------------------------------------
# issue 15 item 10: a refused uid never reaches PAM

PAM_EXEC = "/usr/lib/x86_64-linux-gnu/security/pam_exec.so"


@test("auth_pam_uid_refused_before_pam")
def t_uid_before_pam(ctx):
    """A user below first_valid_uid is refused before pam_authenticate:
    a pam_exec module first in the auth stack notes every user PAM is
    asked about, and notes none for the refused login (it does for an
    allowed one, so the probe works)."""
    if not ctx.is_root:
        raise U.TestSkip("needs root")
    if os.environ.get("PRIVPOP_E2E_SANITIZERS") == "1":
        raise U.TestSkip("pam_wrapper cannot load under AddressSanitizer")
    check(os.path.exists(PAM_EXEC), "%s is missing (libpam-modules)"
          % PAM_EXEC)
    import tests_auth as T
    user, pw, uid = "ppuidorder", "Order-pw-4411", 61002
    for fvu, allowed in ((uid + 1, False), (1000, True)):
        d = U.Daemon(ctx, "uidorder", extra_conf={
            "auth_backends": "pam",
            "system_mail_location": "maildir:~/Maildir",
            "first_valid_uid": str(fvu),
        })
        home = os.path.join(d.dir, "home", user)
        U.MailUser(user, pw, uid, uid, home).make_maildir()
        env = T.wrapper_env(ctx, d, user, pw, uid, home)
        marker = os.path.join(d.dir, "pam-asked")
        probe = os.path.join(d.dir, "probe.sh")
        with open(probe, "w") as f:
            f.write("#!/bin/sh\necho \"$PAM_USER\" >> %s\n" % marker)
        os.chmod(probe, 0o755)
        svc = os.path.join(env["PAM_WRAPPER_SERVICE_DIR"], "privpop")
        with open(svc) as f:
            stack = f.read()
        with open(svc, "w") as f:
            f.write("auth     optional %s %s\n" % (PAM_EXEC, probe) + stack)
        A.start_with_env(d, env)
        r, _, c = A.pass_login(d, user, pw, 30)
        c.close()
        asked = open(marker).read() if os.path.exists(marker) else ""
        if allowed:
            check(r.startswith(b"+OK"), "allowed login: %r" % r)
            check_eq(asked.split(), [user], "users PAM was asked about")
        else:
            check_eq(r, T.FAILED, "login below first_valid_uid")
            check(d.wait_log(r"uid %d is below first_valid_uid" % uid, 5),
                  "refusal not logged")
            check_eq(asked, "", "PAM ran for a refused uid")
        d.stop()
