"""privpop-store against a hostile mailbox owner (issue 15 items 7-9):
symlinks and hard links at the mbox, its cache, journal and lock and at a
directory on the way; FIFOs, devices and directories in place of Maildir
messages; a stopped worker; a file name that would forge a log line."""
import hashlib
import os
import signal
import stat
import time

import e2e_util as U
from e2e_util import check
from registry import test
from tests_mbox import PW, entry, mbox_daemon, store_of, write_file

MSG = b"From: a@example.org\nSubject: one\n\nbody one\n"
MSG2 = b"From: b@example.org\nSubject: two\n\nbody two\n"
VICTIM = b"From other@example.org Sat Nov 29 11:00:00 2025\n" \
    b"Subject: someone else's mail\n\nprecious\n"


def victim_file(ctx, d):
    """A file of another user (pptest2 when root) beside the mailbox,
    writable by the worker, as a spool is to a worker holding group
    mail."""
    p = os.path.join(d.dir, "victim")
    with open(p, "wb") as f:
        f.write(VICTIM)
    os.chmod(p, 0o666)
    if os.geteuid() == 0:
        pw = ctx.sysusers["pptest2"]
        os.chown(p, pw.pw_uid, pw.pw_gid)
    return p


def check_victim(p, links=1):
    with open(p, "rb") as f:
        check(f.read() == VICTIM, "the victim file was changed")
    check(os.stat(p).st_nlink == links,
          "victim has %d links" % os.stat(p).st_nlink)


def index_name(u, mbox, suffix):
    h = hashlib.md5(mbox.encode()).hexdigest()[:16]
    return os.path.join(u.home, ".privpop", "mbox-" + h + suffix)


def chown_u(u, p):
    if os.geteuid() == 0:
        os.lchown(p, u.uid, u.gid)


def timed(c, line, limit=5.0):
    t = time.monotonic()
    r = c.cmd(line, timeout=limit + 5)
    check(time.monotonic() - t < limit, "%s took %.1fs" %
          (line, time.monotonic() - t))
    return r


# ---------------------------------------------------------------------
# item 7: links at the mbox and its index files

@test("store_mbox_hardlinked_spool_refused")
def t_spool_link(ctx):
    d, u, mbox = mbox_daemon(ctx, "spoollink", content=None)
    victim = victim_file(ctx, d)
    os.link(victim, mbox)
    c = d.connect()
    c.resp()
    c.cmd("USER alice")
    r = c.cmd("PASS " + PW)
    check(r.startswith(b"-ERR [SYS/PERM]"), "PASS: %r" % r)
    c.close()
    check(d.wait_log(r"(hard links|mailbox owner \(uid \d+\)); refused"),
          "no clear log line")
    check_victim(victim, 2)


@test("store_mbox_links_at_index_files")
def t_index_links(ctx):
    d, u, mbox = mbox_daemon(ctx, "idxlink", content=entry(MSG) +
                             entry(MSG2))
    victim = victim_file(ctx, d)
    idx = os.path.join(u.home, ".privpop")
    os.makedirs(idx, 0o700, exist_ok=True)
    chown_u(u, idx)
    # a hard link at the cache, at its old temporary name and, during
    # the session, at the journal: none may be written through
    for suffix in (".cache", ".cache.tmp"):
        os.link(victim, index_name(u, mbox, suffix))
    c = d.session("alice")
    r = c.cmd("STAT")
    check(r.startswith(b"+OK 2 "), "STAT: %r" % r)
    os.link(victim, index_name(u, mbox, ".journal"))
    check(c.cmd("DELE 1").startswith(b"+OK"), "DELE")
    r = c.cmd("QUIT")
    check(r.startswith(b"+OK"), "QUIT: %r" % r)
    c.close()
    with open(mbox, "rb") as f:
        check(f.read() == entry(MSG2), "expunge did not happen")
    check_victim(victim, 2)     # the .cache.tmp link stays, untouched
    st = os.lstat(index_name(u, mbox, ".cache"))
    check(stat.S_ISREG(st.st_mode) and st.st_nlink == 1,
          "the cache was not replaced by a file of its own")
    # a journal or a session lock planted as a hard link: refused
    for suffix in (".journal", ".lock"):
        p = index_name(u, mbox, suffix)
        if os.path.exists(p):
            os.unlink(p)
        os.link(victim, p)
        c = d.connect()
        c.resp()
        c.cmd("USER alice")
        r = c.cmd("PASS " + PW)
        check(r.startswith(b"-ERR [SYS/"), "%s link: PASS %r" % (suffix, r))
        c.close()
        os.unlink(p)
        check_victim(victim, 2)
    check(d.wait_log(r"(hard links|mailbox owner \(uid \d+\)); refused"),
          "no clear log line")


@test("store_mbox_symlinked_index_dir")
def t_index_dir_symlink(ctx):
    d, u, mbox = mbox_daemon(ctx, "idxsym", content=entry(MSG))
    elsewhere = os.path.join(d.dir, "elsewhere")
    os.makedirs(elsewhere, 0o777)
    os.chmod(elsewhere, 0o777)
    idx = os.path.join(u.home, ".privpop")
    os.symlink(elsewhere, idx)
    chown_u(u, idx)
    c = d.session("alice")
    r = c.cmd("STAT")
    check(r.startswith(b"+OK 1 "), "STAT: %r" % r)
    c.cmd("QUIT")
    c.close()
    check(os.listdir(elsewhere) == [],
          "files made through the symlink: %r" % os.listdir(elsewhere))
    check(d.wait_log(r"symbolic link of uid"), "no clear log line")


@test("store_maildir_symlinked_cur")
def t_maildir_cur_symlink(ctx):
    d = U.Daemon(ctx, "cursym")
    u = d.add_user("alice", PW, plain=True)
    elsewhere = os.path.join(d.dir, "elsewhere")
    os.makedirs(elsewhere)
    with open(os.path.join(elsewhere, "1700000000.x"), "wb") as f:
        f.write(VICTIM)
    cur = os.path.join(u.maildir, "cur")
    os.rmdir(cur)
    os.symlink(elsewhere, cur)
    chown_u(u, cur)
    d.start()
    c = d.connect()
    c.resp()
    c.cmd("USER alice")
    r = c.cmd("PASS " + PW)
    check(r.startswith(b"-ERR [SYS/"), "PASS: %r" % r)
    c.close()
    check(os.listdir(elsewhere) == ["1700000000.x"], "elsewhere changed")


# ---------------------------------------------------------------------
# item 8: FIFOs, devices and directories as messages; a stuck worker

@test("store_maildir_fifo_device_dir_messages")
def t_fifo(ctx):
    d = U.Daemon(ctx, "fifo")
    u = d.add_user("alice", PW, plain=True)
    u.deliver("1700000000.good", MSG)
    new, cur = (os.path.join(u.maildir, s) for s in ("new", "cur"))
    os.mkfifo(os.path.join(new, "1700000001.fifo,W=40"))
    os.mkfifo(os.path.join(cur, "1700000002.fifo:2,S"))
    os.mkdir(os.path.join(cur, "1700000003.dir,W=40:2,"))
    if os.geteuid() == 0:
        os.mknod(os.path.join(new, "1700000004.dev,W=40"),
                 0o600 | stat.S_IFCHR, os.makedev(1, 3))
    # regular at login, swapped for a FIFO or a directory afterwards
    u.deliver("1700000005.swap,W=47", MSG)
    u.deliver("1700000006.swapdir,W=47", MSG, sub="cur", flags="2,")
    for p in u.files().values():
        chown_u(u, p)
    d.start()
    c = d.session("alice", timeout=15)
    r = timed(c, "STAT")
    check(r.startswith(b"+OK 3 "), "STAT: %r" % r)
    for cmd in ("LIST", "UIDL"):
        r = timed(c, cmd)
        check(r.startswith(b"+OK"), "%s: %r" % (cmd, r))
        c.multi(timeout=5)
    p = os.path.join(new, "1700000005.swap,W=47")
    os.unlink(p)
    os.mkfifo(p)
    p = os.path.join(cur, "1700000006.swapdir,W=47:2,")
    os.unlink(p)
    os.mkdir(p)
    for n in (2, 3):
        for cmd in ("RETR %d" % n, "TOP %d 0" % n):
            r = timed(c, cmd)
            check(r.startswith(b"-ERR [SYS/TEMP]"), "%s: %r" % (cmd, r))
    r = timed(c, "RETR 1")
    check(r.startswith(b"+OK"), "RETR 1: %r" % r)
    c.multi(timeout=5)
    check(timed(c, "QUIT").startswith(b"+OK"), "QUIT")
    c.close()
    check(d.wait_log(r"not a regular file"), "no clear log line")


@test("store_answer_deadline")
def t_deadline(ctx):
    d = U.Daemon(ctx, "deadline", extra_conf={"timeout": "10"})
    u = d.add_user("alice", PW, plain=True)
    u.deliver("1700000000.a", MSG)
    d.start()
    c = d.session("alice", timeout=30)
    check(c.cmd("STAT").startswith(b"+OK"), "STAT")
    pid, start = store_of(d, c)
    os.kill(pid, signal.SIGSTOP)
    try:
        t = time.monotonic()
        r = c.cmd("LIST", timeout=25)
        took = time.monotonic() - t
        check(r.startswith(b"-ERR [SYS/TEMP]"), "LIST: %r" % r)
        check(8 < took < 15, "answered after %.1fs" % took)
        check(c.is_closed(5), "session still open")
        check(d.wait_log(r"no answer from the mailstore worker"),
              "no log line")
    finally:
        try:
            os.kill(pid, signal.SIGCONT)
        except ProcessLookupError:
            pass
    c.close()


# ---------------------------------------------------------------------
# item 9: a file name must not forge a log line

FORGED = "privpop-store[1]: FORGED-LINE sess=x user=root auth=ok"


@test("store_log_injection_file_name")
def t_log_injection(ctx):
    d = U.Daemon(ctx, "loginj")
    u = d.add_user("alice", PW, plain=True)
    name = "1700000000.inj,W=47\n" + FORGED
    p = u.deliver(name, MSG)
    d.start()
    mark = ctx.syslog.mark() if ctx.syslog else 0
    c = d.session("alice")
    check(c.cmd("STAT").startswith(b"+OK 1 "), "STAT")
    os.unlink(p)
    r = c.cmd("RETR 1")
    check(r.startswith(b"-ERR"), "RETR: %r" % r)
    c.cmd("QUIT")
    c.close()
    check(d.wait_log(r"\\x0a" + FORGED.replace("[", r"\[")),
          "the name was not logged escaped:\n" + d.log_text()[-2000:])
    texts = [d.log_text()]
    if ctx.syslog:
        ctx.syslog.wait_for("FORGED-LINE", mark)
        texts += ctx.syslog.lines_since(mark)
    for t in texts:
        for line in t.replace("\r", "\n").split("\n"):
            check(not line.startswith(FORGED) and
                  not line.startswith("FORGED"),
                  "forged log line: %r" % line)
            check("\n" not in line, "raw newline")
    if ctx.syslog:
        check(any("\\x0a" + FORGED in l for l in
                  ctx.syslog.lines_since(mark)), "not in syslog")


# ---------------------------------------------------------------------
# mail_location = auto: the owner's process looks into the owner's home,
# no process of root's does (issue 17, item 6)

def _traced(pids, timeout=10.0):
    """True once every pid in pids has a tracer (strace attached)."""
    def all_traced():
        for p in pids:
            try:
                with open("/proc/%d/status" % p) as f:
                    t = [l for l in f if l.startswith("TracerPid:")]
            except OSError:
                return False
            if not t or t[0].split()[1] == "0":
                return False
        return True
    return U.wait_until(all_traced, timeout)


@test("auto_location_decided_by_the_owner")
def t_auto_location_owner(ctx):
    import shutil
    import subprocess
    if not shutil.which("strace"):
        raise U.TestFailure("strace is not installed "
                            "(scripts/install-deps.sh)")
    # /var/mail as Debian has it (root:mail 2775): the spool an auto
    # user may fall back to needs mail_privileged_group (default mail),
    # so the worker starts with a dotlock child that holds it
    from tests_ptrace import spool_dir_ready
    spool_dir_ready(ctx)
    d = U.Daemon(ctx, "autoloc")
    u = d.add_user("carol", "auto-pw-1", mail="auto")
    u.deliver("1700000001.M1P1.e2e", MSG)
    u.deliver("1700000002.M2P2.e2e", MSG2)
    d.start()
    master = d.pid()
    auth = []

    def auth_up():
        # the fork server, and a helper for every idle slot (the
        # prefork); a slower (sanitizer) build takes longer to get there
        auth[:] = [U.auth_fork_server(master)] + U.auth_helpers(master)
        return None not in auth and len(auth) >= 1 + d.prefork
    check(U.wait_until(auth_up, 15),
          "privpop-auth fork server and helpers: %r" % auth)
    out = os.path.join(d.dir, "strace.out")
    argv = ["strace", "-f", "-qq", "-e", "trace=%file", "-o", out]
    for p in auth:
        argv += ["-p", str(p)]
    tr = subprocess.Popen(argv, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE)
    try:
        check(_traced(auth), "strace did not attach to privpop-auth "
              "(ptrace_scope?): %r" % auth)
        c = d.session("carol")
        try:
            # the Maildir, found by the worker as carol
            want = b"+OK 2 %d\r\n" % (len(U.to_wire(MSG)) +
                                      len(U.to_wire(MSG2)))
            check(c.cmd("STAT") == want, "STAT of the auto Maildir")
            # having found the Maildir, the worker lets that dotlock
            # child go: nothing of carol's holds the spool's group
            w = U.store_workers(master)
            check(len(w) == 1, "privpop-store workers: %r" % w)
            check(U.wait_until(lambda: U.lockd_children(w[0]) == [], 5),
                  "a dotlock child (group mail) beside a Maildir worker: "
                  "%r" % U.lockd_children(w[0]))
            c.cmd("QUIT")
        finally:
            c.close()
    finally:
        tr.terminate()
        try:
            tr.wait(timeout=10)
        except subprocess.TimeoutExpired:
            tr.kill()
            tr.wait(timeout=5)
    with open(out, errors="replace") as f:
        trace = f.read()
    # the trace saw the login: the helper read the passwd-file
    check(d.passwd in trace, "strace saw no passwd-file read by "
          "privpop-auth: %r" % trace[-2000:])
    # fs_open_dir walks a path one component at a time (openat on the
    # previous one's descriptor): the home's last component or Maildir
    # in any path argument is a look into the home
    names = ('"%s"' % os.path.basename(u.home), '"Maildir"', u.home,
             u.maildir)
    home = [l for l in trace.splitlines() if any(n in l for n in names)]
    check(not home, "privpop-auth (root) looked into the owner's home: "
          "%r" % home[:5])
