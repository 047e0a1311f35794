"""Several privpop nodes on one Maildir (issue 20): two privpopd
instances with their own masters, ports, run directories and
mail_lock_node names, both serving the same user's Maildir, as two
hosts on one NFS tree would.

No NFS server can run in this sandbox (no kernel nfsd, no mount
privilege for one), so the shared tree is a local directory: the code
paths are those of NFS (the lock file's link() recipe, its refresh, the
stale takeover by rename), and what differs over NFS (attribute caches,
lost replies) is what docs/scale-out.md lists and the code revalidates
by open().  Both nodes share one kernel here, so their flock()s also
exclude each other; with a test build, a file .privpop-test-no-flock in
the Maildir skips the flock, and the lock file alone keeps them apart,
as it must across hosts.

- concurrent logins of one user through both nodes: exactly one +OK and
  one -ERR [IN-USE] per round;
- a node killed with SIGKILL (its master and its whole process tree, by
  PID) mid-session leaves its lock file; the other node answers
  [IN-USE] until the lock is mail_lock_stale seconds old, then takes it
  over (and says so in its log);
- UIDL and LIST through both nodes are identical after deliveries and
  after expunges through either."""
import os
import signal
import threading
import time

import e2e_util as U
from e2e_util import check, check_eq
from registry import test

from tests_pop3 import PW_ALICE, small_msgs
from tests_seccomp import built_with_hooks

STALE = 10          # mail_lock_stale: its minimum
LOCK = ".privpop-lock"
NOFLOCK = ".privpop-test-no-flock"


def two_nodes(ctx, name, messages):
    """Nodes A and B, each its own privpopd; alice's Maildir is A's
    directory, and B's passwd-file points at the same home."""
    conf = {"mail_lock_stale": str(STALE), "prefork": "3"}
    a = U.Daemon(ctx, name + "-a",
                 extra_conf=dict(conf, mail_lock_node="node-a"))
    b = U.Daemon(ctx, name + "-b",
                 extra_conf=dict(conf, mail_lock_node="node-b"))
    u = a.add_user("alice", PW_ALICE)
    b.passwd_lines.append(U.passwd_line(ctx.build_dir, u))
    b.users["alice"] = u
    for uniq, content, sub, flags in messages:
        u.deliver(uniq, content, sub, flags)
    a.start()
    b.start()
    return a, b, u


def try_login(d, user):
    """(connection, PASS answer); the connection is closed unless the
    answer is +OK."""
    c = d.connect()
    try:
        c.resp()
        r = c.cmd("USER " + user.name)
        check(r.startswith(b"+OK"), "USER: %r" % r)
        r = c.cmd("PASS " + user.password)
    except Exception:
        c.close()
        raise
    if not r.startswith(b"+OK"):
        c.close()
        return None, r
    return c, r


def concurrent_round(a, b, u):
    """Both nodes log alice in at the same moment: one +OK, one
    [IN-USE]; the winner quits."""
    conns = {}
    for name, d in (("a", a), ("b", b)):
        c = d.connect()
        c.resp()
        check(c.cmd("USER alice").startswith(b"+OK"), "USER via " + name)
        conns[name] = c
    answers = {}
    go = threading.Barrier(2)

    def one(name):
        try:
            go.wait(10)
            conns[name].send("PASS %s\r\n" % u.password)
            answers[name] = conns[name].resp(20)
        except Exception as e:  # reported below
            answers[name] = repr(e).encode()
    th = [threading.Thread(target=one, args=(n,)) for n in ("a", "b")]
    for t in th:
        t.start()
    for t in th:
        t.join(30)
    try:
        ok = [n for n, r in answers.items() if r.startswith(b"+OK")]
        inuse = [n for n, r in answers.items()
                 if r.startswith(b"-ERR [IN-USE]")]
        check(len(ok) == 1 and len(inuse) == 1,
              "one +OK and one [IN-USE]: %r" % answers)
        w = conns[ok[0]]
        check(w.cmd("STAT").startswith(b"+OK"), "STAT of the winner")
        check(w.cmd("QUIT").startswith(b"+OK"), "QUIT of the winner")
        return ok[0]
    finally:
        for c in conns.values():
            c.close()


def plant_hook(u, name):
    p = os.path.join(u.maildir, name)
    with open(p, "w"):
        pass
    u._own(p)


@test("nodes_concurrent_logins_one_session")
def t_concurrent(ctx):
    a, b, u = two_nodes(ctx, "nodes-conc", small_msgs(3, "conc"))
    winners = [concurrent_round(a, b, u) for _ in range(4)]
    check(not os.path.exists(os.path.join(u.maildir, LOCK)),
          "the lock file is removed at QUIT")
    if not built_with_hooks(ctx):
        print("  (no test hooks: the lock file alone not exercised)")
        return
    # the lock file alone (no flock: as between two hosts)
    plant_hook(u, NOFLOCK)
    winners += [concurrent_round(a, b, u) for _ in range(12)]
    print("  winners: %s" % "".join(winners))
    # and a session held on A: B is refused by the lock file alone
    c = a.session("alice")
    try:
        c2, r = try_login(b, u)
        check(c2 is None and r.startswith(b"-ERR [IN-USE]"),
              "B while A holds it (no flock): %r" % r)
        check(b.wait_log(r"in use by node node-a pid \d+", 5),
              "B's log names the holder")
        check(c.cmd("QUIT").startswith(b"+OK"), "A QUIT")
    finally:
        c.close()
    os.unlink(os.path.join(u.maildir, NOFLOCK))


def read_lock(u):
    with open(os.path.join(u.maildir, LOCK), "rb") as f:
        return f.read()


@test("nodes_sigkill_lock_taken_over_when_stale")
def t_sigkill(ctx):
    a, b, u = two_nodes(ctx, "nodes-kill", small_msgs(3, "kill"))
    c = a.session("alice")
    check(c.cmd("STAT").startswith(b"+OK 3 "), "STAT via A")
    line = read_lock(u)
    check(line.startswith(b"privpop-lock 1 node-a "),
          "the lock file names node A: %r" % line)
    # the refresh (every stale / 4 s) moves its mtime while A idles
    m0 = os.stat(os.path.join(u.maildir, LOCK)).st_mtime
    check(U.wait_until(lambda: os.stat(os.path.join(
          u.maildir, LOCK)).st_mtime > m0, STALE),
          "the lock was not refreshed within %d s" % STALE)
    # node A dies: its master and every process under it, SIGKILL
    tree = U.descendants_of(a.pid())
    tree[a.pid()] = U.proc_stat(a.pid())[1]
    killed_at = time.monotonic()
    # all stopped first, then all killed: killed one by one, the worker
    # could see its session's socket close and end cleanly (removing
    # its lock) before its own SIGKILL; a stopped process runs nothing.
    # The master first, so that it starts no process meanwhile.
    order = [a.pid()] + [p for p in tree if p != a.pid()]
    for sig in (signal.SIGSTOP, signal.SIGKILL):
        for p in order:
            try:
                os.kill(p, sig)
            except OSError:
                pass
    check(U.wait_until(lambda: not any(U.pid_alive(p, s)
                                       for p, s in tree.items()), 10),
          "node A's processes did not die")
    a.proc.wait(5)
    a.proc = None
    c.close()
    check(os.path.exists(os.path.join(u.maildir, LOCK)),
          "node A's lock file is left behind")
    # B: [IN-USE] while the lock is fresh, then taken over
    c2, r = try_login(b, u)
    check(c2 is None and r.startswith(b"-ERR [IN-USE]"),
          "B right after the kill: %r" % r)
    got = {}

    def attempt():
        conn, ans = try_login(b, u)
        if conn is not None:
            got["c"] = conn
            return True
        check(ans.startswith(b"-ERR [IN-USE]"), "B: %r" % ans)
        return False
    check(U.wait_until(attempt, STALE + 10, step=0.5),
          "B did not take the lock over within %d s" % (STALE + 10))
    took = time.monotonic() - killed_at
    print("  taken over %.1f s after the kill (stale %d s)" % (took, STALE))
    # not before it was stale: the last refresh was at most stale / 4
    # before the kill
    check(took >= STALE - STALE / 4.0 - 1,
          "taken over too early: %.1f s" % took)
    c2 = got["c"]
    try:
        check(b.wait_log(r"took over the lock of node node-a pid \d+ "
                         r"\(stale\)", 5), "B's log: the takeover")
        check(read_lock(u).startswith(b"privpop-lock 1 node-b "),
              "the lock file names node B now")
        check(c2.cmd("STAT").startswith(b"+OK 3 "), "STAT via B")
        check(c2.cmd("QUIT").startswith(b"+OK"), "QUIT via B")
    finally:
        c2.close()
    check(not os.path.exists(os.path.join(u.maildir, LOCK)),
          "B removed its lock at QUIT")
    left = [n for n in os.listdir(u.maildir) if n.startswith(LOCK)]
    check_eq(left, [], "lock files left")


def listing(d):
    """(UIDL lines, LIST lines, STAT) of alice through node d."""
    c = d.session("alice")
    with c:
        st = c.cmd("STAT")
        check(c.cmd("UIDL").startswith(b"+OK"), "UIDL")
        uidl = c.multi()
        check(c.cmd("LIST").startswith(b"+OK"), "LIST")
        lst = c.multi()
        check(c.cmd("QUIT").startswith(b"+OK"), "QUIT")
    return uidl, lst, st


def expunge(d, msgnos):
    c = d.session("alice")
    with c:
        for n in msgnos:
            check(c.cmd("DELE %d" % n).startswith(b"+OK"), "DELE %d" % n)
        check(c.cmd("QUIT").startswith(b"+OK"), "QUIT")


def same_through_both(a, b, what, count):
    la = listing(a)
    lb = listing(b)
    check_eq(lb[0], la[0], "UIDL through B and A " + what)
    check_eq(lb[1], la[1], "LIST through B and A " + what)
    check_eq(lb[2], la[2], "STAT through B and A " + what)
    check(la[2].startswith(b"+OK %d " % count), "STAT %s: %r" % (what, la[2]))
    return la


@test("nodes_same_uidl_list_after_deliveries_and_expunges")
def t_same_listing(ctx):
    msgs = small_msgs(6, "same")
    # one with a body that grows in wire form (CRLF, dot-stuffing), so
    # a size comes from a scan and the size cache, not the name
    msgs.append(("1710000099.M99P7.e2e", b"Subject: dots\n\n.a\n..b\n" * 40,
                 "new", None))
    a, b, u = two_nodes(ctx, "nodes-same", msgs)
    first = same_through_both(a, b, "at first", 7)
    want = b"".join(b"%d %s\r\n" % (i + 1, m[0].encode())
                    for i, m in enumerate(msgs))
    check_eq(first[0], want, "UIDLs are the unique names")
    # an expunge through A, a delivery, then through B
    expunge(a, [2, 7])
    u.deliver("1710000100.M100P7.e2e", b"Subject: late\n\nlate\n", "new")
    same_through_both(a, b, "after A's expunge and a delivery", 6)
    expunge(b, [1])
    u.deliver("1710000101.M101P7.e2e", b"Subject: later\n\n.x\n", "new")
    after = same_through_both(a, b, "after B's expunge and a delivery", 6)
    gone = {msgs[0][0], msgs[1][0], msgs[6][0]}
    for uniq, _c, _s, _f in msgs:
        check((uniq.encode() in after[0]) == (uniq not in gone),
              "%s %s" % (uniq, "listed" if uniq in gone else "missing"))
    # the sizes are the wire sizes
    sizes = {}
    for line in after[1].split(b"\r\n"):
        if line:
            n, s = line.split()
            sizes[int(n)] = int(s)
    uidls = [l.split()[1].decode() for l in after[0].split(b"\r\n") if l]
    for n, uniq in enumerate(uidls, 1):
        path = [p for k, p in u.files().items() if uniq in k][0]
        with open(path, "rb") as f:
            check_eq(sizes[n], len(U.to_wire(f.read())),
                     "size of %s" % uniq)


@test("nodes_worker_killed_same_node_takes_over_at_once")
def t_worker_killed(ctx):
    """The node that wrote a lock takes it over at once when the
    worker it names is gone (same node, same boot): no stale wait."""
    a, b, u = two_nodes(ctx, "nodes-worker", small_msgs(2, "wk"))
    c = a.session("alice")
    check(c.cmd("STAT").startswith(b"+OK 2 "), "STAT via A")
    workers = U.store_workers(a.pid())
    check_eq(len(workers), 1, "store workers of A")
    check(read_lock(u).startswith(b"privpop-lock 1 node-a "),
          "A's lock")
    os.kill(workers[0], signal.SIGKILL)
    check(U.wait_until(lambda: not U.pid_alive(workers[0]), 10),
          "the worker did not die")
    c.close()
    check(os.path.exists(os.path.join(u.maildir, LOCK)),
          "the killed worker's lock file is left behind")
    # node B may not: the pid is not its kernel's to judge (it is, on
    # this one kernel, but B's node name differs)
    c2, r = try_login(b, u)
    check(c2 is None and r.startswith(b"-ERR [IN-USE]"),
          "B right after the kill: %r" % r)
    t0 = time.monotonic()
    c3, r = try_login(a, u)
    check(c3 is not None, "A right after its worker's kill: %r" % r)
    with c3:
        check(time.monotonic() - t0 < STALE / 2.0, "A took it at once")
        check(a.wait_log(r"took over the lock of node node-a pid %d "
                         r"\(its process is gone\)" % workers[0], 5),
              "A's log: the takeover of a gone pid")
        check(c3.cmd("QUIT").startswith(b"+OK"), "QUIT via A")
