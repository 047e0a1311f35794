"""System tests: real clients, privilege separation, robustness, timeout,
daemon modes (-t, daemonized, SIGHUP, inetd)."""
import fcntl
import os
import re
import shutil
import signal
import socket
import subprocess
import time

import e2e_util as U
from e2e_util import check, check_eq
from registry import test
from tests_pop3 import MESSAGES, PW_ALICE, PW_BOB, std_daemon, small_msgs


def run(argv, timeout=60, env=None, cwd=None, input=None):
    """subprocess.run with a bound; the child is killed on timeout."""
    try:
        return subprocess.run(argv, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=timeout,
                              env=env, cwd=cwd, input=input)
    except subprocess.TimeoutExpired as e:
        raise U.TestFailure("%s timed out after %ss" % (argv[0], timeout))


# ---------------------------------------------------------------------
# 7. real clients

@test("client_curl_retr_and_list")
def t_curl(ctx):
    if not shutil.which("curl"):
        raise U.TestFailure("curl is not installed")
    d, u = std_daemon(ctx, messages=MESSAGES[:6])
    base = "pop3://%s:%d/" % (U.HOST, d.port)
    for i in (1, 2, 3, 4, 6):
        r = run(["curl", "-s", "-S", "--max-time", "20", base + str(i),
                 "-u", "alice:" + PW_ALICE])
        check(r.returncode == 0, "curl RETR %d exit %d: %r"
              % (i, r.returncode, r.stderr[-300:]))
        check_eq(r.stdout, U.to_wire(MESSAGES[i - 1][1]),
                 "curl RETR %d output" % i)
    r = run(["curl", "-s", "-S", "--max-time", "20", base,
             "-u", "alice:" + PW_ALICE])
    check(r.returncode == 0, "curl LIST exit %d: %r" % (r.returncode,
                                                        r.stderr[-300:]))
    want = b"".join(b"%d %d\r\n" % (i, len(U.to_wire(m[1])))
                    for i, m in enumerate(MESSAGES[:6], 1))
    check_eq(r.stdout, want, "curl LIST output")
    r = run(["curl", "-s", "--max-time", "20", base + "1",
             "-u", "alice:wrong-" + PW_ALICE])
    check(r.returncode != 0 and r.stdout == b"", "curl with a wrong "
          "password: exit %d out %r" % (r.returncode, r.stdout[:100]))
    check_eq(len(u.files()), 6, "files on disk")


@test("client_curl_apop_plain_user")
def t_curl_apop(ctx):
    """With a {PLAIN} user the greeting carries a timestamp and curl
    logs in with APOP."""
    d, u = std_daemon(ctx, messages=[], plain_user=True)
    bob = d.users["bob"]
    bob.deliver("1722222222.M1P1.e2e", MESSAGES[2][1], "new")
    # curl prefers SASL when CAPA lists it; ask for APOP explicitly
    r = run(["curl", "-s", "-S", "-v", "--max-time", "20",
             "--login-options", "AUTH=+APOP",
             "pop3://%s:%d/1" % (U.HOST, d.port), "-u", "bob:" + PW_BOB])
    check(r.returncode == 0, "curl exit %d: %r" % (r.returncode,
                                                   r.stderr[-400:]))
    check(b"APOP bob" in r.stderr, "curl did not use APOP")
    check_eq(r.stdout, U.to_wire(MESSAGES[2][1]), "curl RETR via APOP")


def fetchmail(ctx, d, user, password, keep, outfile):
    home = ctx.new_tmpdir("fmhome")
    rc = os.path.join(home, "fetchmailrc")
    with open(rc, "w") as f:
        f.write("set no bouncemail\n"
                "defaults no mimedecode\n"
                "poll %s service %d protocol pop3 timeout 20\n"
                "  user \"%s\" password \"%s\" is \"%s\" here\n"
                "  %s\n" % (U.HOST, d.port, user, password,
                            os.environ.get("USER", "root"),
                            "keep" if keep else "nokeep"))
    os.chmod(rc, 0o600)
    env = dict(os.environ)
    env["HOME"] = home
    env["FETCHMAILHOME"] = home
    argv = ["fetchmail", "-f", rc, "--nosyslog", "-v", "--pidfile",
            os.path.join(home, "fm.pid"), "--mda", "cat >> " + outfile,
            "--sslproto", ""]
    argv.append("--keep" if keep else "--nokeep")
    return run(argv, timeout=60, env=env, cwd=home)


@test("client_fetchmail_keep_then_nokeep")
def t_fetchmail(ctx):
    if not shutil.which("fetchmail"):
        raise U.TestFailure("fetchmail is not installed")
    msgs = small_msgs(3, "fetch") + [MESSAGES[2]]
    d, u = std_daemon(ctx, messages=msgs)
    out = os.path.join(ctx.new_tmpdir("fmout"), "mbox")
    r = fetchmail(ctx, d, "alice", PW_ALICE, True, out)
    check(r.returncode == 0, "fetchmail --keep exit %d: %r"
          % (r.returncode, (r.stdout + r.stderr)[-600:]))
    with open(out, "rb") as f:
        got = f.read()
    for i in range(1, 4):
        check(b"Subject: fetch %d\n" % i in got.replace(b"\r\n", b"\n"),
              "message %d not retrieved" % i)
        check(b"body of fetch %d" % i in got, "body %d missing" % i)
    # the dot-line message arrives unstuffed
    check(b"\n.\n..\n.hidden\nx.\n...\n.\n" in got.replace(b"\r\n", b"\n"),
          "dot lines not delivered intact")
    check_eq(len(u.files()), 4, "files on disk after --keep")
    os.unlink(out)
    r = fetchmail(ctx, d, "alice", PW_ALICE, False, out)
    check(r.returncode == 0, "fetchmail --nokeep exit %d: %r"
          % (r.returncode, (r.stdout + r.stderr)[-600:]))
    with open(out, "rb") as f:
        got = f.read()
    for i in range(1, 4):
        check(b"body of fetch %d" % i in got,
              "message %d not retrieved with --nokeep" % i)
    check_eq(u.files(), {}, "files on disk after --nokeep")


# ---------------------------------------------------------------------
# 8. privilege separation

def find_roles(d, conn):
    """(session, auth, store) PIDs of the session serving conn."""
    inode = U.server_side_inode(conn.sock)
    check(inode, "server side of the connection not in /proc/net/tcp")
    holders = U.holders_of_inode(inode)
    check(len(holders) == 1, "client socket held by %r (want exactly the "
          "session child)" % holders)
    sess = holders[0]
    master = d.pid()
    # one privpop-auth -Z per configuration generation forks a helper
    # per slot; after a passwd-file login (no PAM session to close) the
    # helper asks the generation's privpop-store -Z for the worker, a
    # child of that fork server dropped to the owner
    zyg = U.auth_fork_server(master)
    check(zyg is not None, "no privpop-auth -Z below the master %d: %r"
          % (master, [(k, U.cmdline_of(k)) for k in U.children_of(master)]))
    check(not [p for p in U.children_of(sess)
               if U.role_of(p) in ("privpop-auth", "privpop-store")],
          "helpers below the session child: %r" % U.children_of(sess))
    store = U.store_workers(master)
    check(len(store) == 1, "privpop-store below the master: %r" % store)
    szyg = U.store_fork_server(master)
    check(szyg is not None, "no privpop-store -Z below the master")
    check_eq(U.proc_stat(store[0])[0], szyg,
             "parent of the privpop-store worker")
    # privpop-auth as it runs before a login: an idle slot's
    idle = [p for p in U.slots_of(master, d.binary()) if p != sess]
    auth = U.auth_helpers(master)
    check(len(auth) >= 1, "no privpop-auth of an idle slot: %r" % idle)
    check_eq(len(auth), len(idle), "one privpop-auth per idle slot "
             "(helpers %r, slots %r)" % (auth, idle))
    return sess, auth[0], store[0], inode, (zyg, szyg)


def ids(status, key):
    return [int(x) for x in status.get(key, "").split()]


@test("privsep_roles")
def t_privsep(ctx):
    d, u = std_daemon(ctx, messages=MESSAGES[:1])
    if not ctx.is_root:
        check(d.wait_log(r"privilege separation is reduced", 3),
              "non-root run without the \"privilege separation is "
              "reduced\" log line")
        return
    pp = ctx.sysusers["privpop"]
    owner = ctx.sysusers["pptest1"]
    with d.session("alice") as c:
        sess, auth, store, inode, (zyg, szyg) = find_roles(d, c)
        master = d.pid()
        check(U.proc_stat(sess)[0] == master, "session %d is not a child of "
              "the master %d" % (sess, master))
        # session child
        st = U.status_of(sess)
        check_eq(ids(st, "Uid"), [pp.pw_uid] * 4, "session Uid")
        check_eq(ids(st, "Gid"), [pp.pw_gid] * 4, "session Gid")
        check_eq(ids(st, "Groups"), [pp.pw_gid], "session Groups")
        check_eq(st.get("NoNewPrivs"), "1", "session NoNewPrivs")
        check_eq(os.readlink("/proc/%d/root" % sess), U.CHROOT_DIR,
                 "session root")
        check_eq(os.readlink("/proc/%d/cwd" % sess), U.CHROOT_DIR,
                 "session cwd")
        check_eq(st.get("CapEff"), "0000000000000000", "session CapEff")
        # mailstore worker
        st = U.status_of(store)
        check_eq(ids(st, "Uid"), [owner.pw_uid] * 4, "store Uid")
        check_eq(ids(st, "Gid"), [owner.pw_gid] * 4, "store Gid")
        check_eq(ids(st, "Groups"), [owner.pw_gid], "store Groups")
        check_eq(st.get("CapEff"), "0000000000000000", "store CapEff")
        tcp = U.tcp_inodes()
        check_eq(U.socket_inodes_of(sess) & tcp, {inode},
                 "TCP sockets of the session child (listener closed?)")
        check(not (U.socket_inodes_of(store) & tcp),
              "privpop-store holds TCP sockets %r"
              % sorted(U.socket_inodes_of(store) & tcp))
        # auth helper and its fork server: root, no TCP socket at all
        tcp = U.tcp_inodes()
        for role, pid in (("auth", auth), ("auth fork server", zyg),
                          ("store fork server", szyg)):
            st = U.status_of(pid)
            check_eq(ids(st, "Uid"), [0, 0, 0, 0], role + " Uid")
            a_socks = U.socket_inodes_of(pid)
            check(not (a_socks & tcp), "%s holds TCP sockets %r"
                  % (role, sorted(a_socks & tcp)))
            check(inode not in a_socks, role + " holds the client socket")
        # only the master may ask the fork server for a helper: no slot
        # shares a socket with the master but the listeners
        listeners = U.socket_inodes_of(master) & tcp
        for p in [sess] + U.slots_of(master, d.binary()):
            shared = (U.socket_inodes_of(p) & U.socket_inodes_of(master)
                      ) - listeners
            check(not shared, "slot %d shares sockets %r with the master"
                  % (p, sorted(shared)))
        # the store fork server takes requests only from the auth side:
        # its peer socket (fd 8 of privpop-auth -Z) is in the auth
        # helpers and nowhere else
        m = re.match(r"socket:\[(\d+)\]", os.readlink("/proc/%d/fd/8" % zyg))
        check(m is not None, "fd 8 of privpop-auth -Z is not a socket")
        peer = int(m.group(1))
        check(peer in U.socket_inodes_of(auth),
              "an idle auth helper lacks the store fork server's socket")
        for role, p in ([("session", sess), ("master", master),
                         ("store worker", store)] +
                        [("slot", q) for q in U.slots_of(master,
                                                         d.binary())]):
            check(peer not in U.socket_inodes_of(p),
                  "%s %d holds the store fork server's socket" % (role, p))
        # an unprivileged process shares no socket with a root one (a
        # shared syslog socket can be shut down, or written as root's)
        for role, p in (("session", sess), ("store worker", store)):
            for root_role, r in (("master", master), ("auth fork server",
                                                      zyg),
                                 ("store fork server", szyg),
                                 ("idle auth helper", auth)):
                shared = (U.socket_inodes_of(p) & U.socket_inodes_of(r)
                          ) - listeners
                check(not shared, "%s %d shares sockets %r with the %s %d"
                      % (role, p, sorted(shared), root_role, r))
        # the master never holds the client's connection
        check(inode not in U.socket_inodes_of(master),
              "the master holds the client socket")
        # the master runs as root; idle slots are dropped too
        check_eq(ids(U.status_of(master), "Uid"), [0, 0, 0, 0], "master Uid")
        for p in U.slots_of(master, d.binary()) + [U.slot_zygote(master)]:
            if p == sess:
                continue
            check(p is not None, "no slot zygote below the master")
            st = U.status_of(p)
            check_eq(ids(st, "Uid"), [pp.pw_uid] * 4, "idle slot %d Uid" % p)
            check_eq(os.readlink("/proc/%d/root" % p), U.CHROOT_DIR,
                     "idle slot %d root" % p)
            check(not (U.socket_inodes_of(p) & tcp),
                  "idle slot or zygote %d holds TCP sockets" % p)
        # each slot has a syslog socket of its own, not the zygote's
        # (one that shares it could shut it down for every other)
        procs = U.slots_of(master, d.binary()) + [U.slot_zygote(master)]
        for i, p in enumerate(procs):
            for q in procs[i + 1:]:
                shared = U.socket_inodes_of(p) & U.socket_inodes_of(q)
                check(not shared, "processes %d and %d (slots or the "
                      "zygote) share sockets %r" % (p, q, sorted(shared)))
        check(c.cmd("STAT").startswith(b"+OK 1 "), "STAT")
        # message bodies come through the store's memfd: mapped shared,
        # read-only in the session, sealed so it cannot be made writable
        # or resized; no descriptor of it left open in the session
        # made at the first message body, not for a session that lists
        with open("/proc/%d/maps" % store) as f:
            check("privpop-body" not in f.read(),
                  "body memfd made before any RETR")
        check(c.cmd("RETR 1").startswith(b"+OK"), "RETR 1")
        c.multi()
        body_maps = {}
        for role, pid in (("session", sess), ("store", store)):
            with open("/proc/%d/maps" % pid) as f:
                body_maps[role] = [l.split() for l in f
                                   if "privpop-body" in l]
            check_eq(len(body_maps[role]), 1, "%s mappings of the body "
                     "memfd" % role)
        check_eq(body_maps["session"][0][1], "r--s", "session's mapping")
        check_eq(body_maps["store"][0][1], "rw-s", "store's mapping")
        fd = os.open("/proc/%d/map_files/%s" % (sess, body_maps["session"]
                                                [0][0]), os.O_RDONLY)
        try:
            F_GET_SEALS = 1034
            seals = fcntl.fcntl(fd, F_GET_SEALS)
        finally:
            os.close(fd)
        # F_SEAL_SEAL | SHRINK | GROW | FUTURE_WRITE
        check_eq(seals, 1 | 2 | 4 | 16, "seals of the body memfd")
        for fdn in os.listdir("/proc/%d/fd" % sess):
            try:
                target = os.readlink("/proc/%d/fd/%s" % (sess, fdn))
            except OSError:
                continue
            check("privpop-body" not in target,
                  "session keeps the body memfd open as fd %s" % fdn)
        c.cmd("QUIT")


def unix_sockets():
    """{inode: (type, bound name or None, peer inode or None)} of every
    UNIX socket of the host, from the kernel's sock_diag (what ss -x
    reads)."""
    import struct
    NETLINK_SOCK_DIAG, SOCK_DIAG_BY_FAMILY = 4, 20
    NLMSG_ERROR, NLMSG_DONE = 2, 3
    UDIAG_SHOW_NAME, UDIAG_SHOW_PEER = 1, 4
    UNIX_DIAG_NAME, UNIX_DIAG_PEER = 0, 2
    req = struct.pack("=BBHIIIII", socket.AF_UNIX, 0, 0, 0xffffffff, 0,
                      UDIAG_SHOW_NAME | UDIAG_SHOW_PEER, 0xffffffff,
                      0xffffffff)
    # NLM_F_REQUEST | NLM_F_DUMP
    msg = struct.pack("=IHHII", 16 + len(req), SOCK_DIAG_BY_FAMILY, 0x301,
                      1, 0) + req
    out = {}
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM,
                      NETLINK_SOCK_DIAG)
    try:
        s.sendto(msg, (0, 0))
        while True:
            data = s.recv(1 << 16)
            off = 0
            while off + 16 <= len(data):
                ln, typ = struct.unpack_from("=IH", data, off)
                if typ == NLMSG_DONE:
                    return out
                check(typ != NLMSG_ERROR and ln >= 32, "sock_diag error")
                body = data[off + 16:off + ln]
                styp, ino = body[1], struct.unpack_from("=I", body, 4)[0]
                name = peer = None
                a = 16                  # after struct unix_diag_msg
                while a + 4 <= len(body):
                    alen, atype = struct.unpack_from("=HH", body, a)
                    if alen < 4:
                        break
                    val = body[a + 4:a + alen]
                    if atype == UNIX_DIAG_NAME:
                        # a path comes with its NUL, an abstract name
                        # starts with one
                        name = val if val[:1] == b"\0" else \
                            val.rstrip(b"\0")
                    elif atype == UNIX_DIAG_PEER:
                        peer = struct.unpack_from("=I", val)[0]
                    a += (alen + 3) & ~3
                out[ino] = (styp, name, peer)
                off += (ln + 3) & ~3
    finally:
        s.close()


def fd_targets(pid):
    out = {}
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            out[int(fd)] = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            continue
    return out


SYSLOG_NAMES = (b"/dev/log", b"/run/systemd/journal/dev-log")


def fd_kinds(pid, master, listeners, client):
    """What each descriptor of a slot or session child is: a sorted list
    of kinds, and the descriptors of unknown kind with their targets."""
    unix = unix_sockets()
    mfd = fd_targets(master)
    helpers = {}
    for p in U.descendants_of(master):
        for i in U.socket_inodes_of(p):
            helpers[i] = U.role_of(p)
    for i in U.socket_inodes_of(master):
        helpers[i] = "master"
    kinds, unknown = [], {}
    for fd, t in sorted(fd_targets(pid).items()):
        m = re.match(r"(socket|pipe):\[(\d+)\]$", t)
        ino = int(m.group(2)) if m else None
        k = None
        if fd in (0, 1) and t == "/dev/null":
            k = "null%d" % fd
        elif fd == 2 and t == mfd.get(2):
            k = "stderr"
        elif ino in listeners:
            k = "listener"
        elif ino is not None and ino == client:
            k = "client"
        elif ino in unix:
            styp, _, peer = unix[ino]
            pname = unix.get(peer, (None, None))[1]
            if styp == socket.SOCK_DGRAM and pname in SYSLOG_NAMES:
                k = "syslog"
            elif helpers.get(peer) == "privpop-auth":
                k = "auth"
            elif helpers.get(peer) == "privpop-store":
                k = "store"
            elif (helpers.get(peer) == "master" and
                  styp == socket.SOCK_SEQPACKET):
                # its own socket to the master (issue 16)
                k = "master"
        if k is None:
            unknown[fd] = t
        else:
            kinds.append(k)
    return sorted(kinds), unknown


def check_fds(what, pid, master, listeners, client, want):
    # a new slot's helper socket may still be on its way to the fork
    # server (in flight, held by no process) for a moment
    got = []
    U.wait_until(lambda: got.append(fd_kinds(pid, master, listeners,
                                             client)) or not got[-1][1], 3)
    kinds, unknown = got[-1]
    check(not unknown, "%s %d holds descriptors it should not: %r"
          % (what, pid, unknown))
    # a syslog socket only where something listens on /dev/log
    if os.environ.get("PRIVPOP_E2E_SYSLOG") == "1":
        want = want + ["syslog"]
    elif "syslog" in kinds:
        kinds.remove("syslog")
    check_eq(kinds, sorted(want), "descriptors of the %s %d" % (what, pid))


def shared_maps(pid):
    """[(perms, owner uid, name)] of the shared mappings of pid."""
    out = []
    with open("/proc/%d/maps" % pid) as f:
        for line in f:
            p = line.split(None, 5)
            if p[1][3] != "s":
                continue
            name = p[5].strip() if len(p) > 5 else ""
            try:
                uid = os.stat("/proc/%d/map_files/%s" % (pid, p[0])).st_uid
            except OSError:
                uid = None
            out.append((p[1], uid, name))
    return out


def check_no_root_shared(what, pid, own_uid):
    """An unprivileged role maps no root process's memfd or file shared,
    and nothing shared writable but what it made itself (privpop-store's
    body memfd)."""
    for perms, uid, name in shared_maps(pid):
        check(uid != 0, "%s %d maps %s of root (%s)" % (what, pid, name,
                                                         perms))
        check("w" not in perms or uid == own_uid, "%s %d maps %s of uid "
              "%r writable" % (what, pid, name, uid))


@test("privsep_shared_memory_and_descriptors")
def t_privsep_inherited(ctx):
    """Issue 15 items 4 and 11: a slot (forked from the root master)
    inherits no shared writable memory (the penalty table) and no
    descriptor but those it needs (issue 16: no listener, since the
    master accepts, and only its own socket to the master, which the
    session keeps for its reports (MSG_MASTER_SESSION_STATS); no login
    report channel, which is privpop-auth's); privpop-store maps nothing
    of root's."""
    if not ctx.is_root:
        raise U.TestSkip("reads other users' /proc entries")
    d, u = std_daemon(ctx, messages=MESSAGES[:1])
    pp = ctx.sysusers["privpop"]
    owner = ctx.sysusers["pptest1"]
    master = d.pid()
    tcp = U.tcp_inodes()
    listeners = U.socket_inodes_of(master) & tcp
    check_eq(len(listeners), 1, "listeners of the master")
    # what the master maps shared and writable: the penalty table
    mshared = [m for m in shared_maps(master) if "w" in m[0]]
    check(any("privpop-penalty" in m[2] for m in mshared),
          "the master does not map the penalty table: %r" % mshared)

    def idle_slots(busy=()):
        return [p for p in U.slots_of(master, d.binary())
                if p not in busy]

    check(U.wait_until(lambda: len(idle_slots()) == d.prefork, 5),
          "idle slots: %r" % idle_slots())
    for p in idle_slots():
        check_no_root_shared("idle slot", p, pp.pw_uid)
        check_fds("idle slot", p, master, listeners, None,
                  ["null0", "null1", "stderr", "auth", "master"])
    with d.connect() as c:
        check(c.resp().startswith(b"+OK"), "greeting")
        client = U.server_side_inode(c.sock)
        sess = U.holders_of_inode(client)
        check_eq(len(sess), 1, "holders of the client socket")
        sess = sess[0]
        check_no_root_shared("session child", sess, pp.pw_uid)
        check_fds("session child before login", sess, master, listeners,
                  client, ["null0", "null1", "stderr", "client", "auth",
                           "master"])
        check(c.cmd("USER alice").startswith(b"+OK"), "USER")
        check(c.cmd("PASS " + PW_ALICE).startswith(b"+OK"), "PASS")
        check(c.cmd("RETR 1").startswith(b"+OK"), "RETR 1")
        c.multi()
        store = U.store_workers(master)
        check_eq(len(store), 1, "privpop-store workers")
        check_no_root_shared("session child", sess, pp.pw_uid)
        check_no_root_shared("privpop-store", store[0], owner.pw_uid)
        check_fds("session child after RETR", sess, master, listeners,
                  client, ["null0", "null1", "stderr", "client", "store",
                           "master"])
        # the one shared mapping each: the body memfd, the store's
        for pid, perms in ((sess, "r--s"), (store[0], "rw-s")):
            m = shared_maps(pid)
            check_eq([(x[0], x[1]) for x in m], [(perms, owner.pw_uid)],
                     "shared mappings of %d: %r" % (pid, m))
            check("privpop-body" in m[0][2], m)
        c.cmd("QUIT")


# ---------------------------------------------------------------------
# 9. robustness

@test("robust_kill9_session_child")
def t_kill9(ctx):
    d, u = std_daemon(ctx, messages=MESSAGES[:2])
    before = u.files()
    c = d.session("alice")
    try:
        check(c.cmd("DELE 1").startswith(b"+OK"), "DELE 1")
        check(c.cmd("DELE 2").startswith(b"+OK"), "DELE 2")
        inode = U.server_side_inode(c.sock)
        holders = U.holders_of_inode(inode) if inode else []
        if not holders and not ctx.is_root:
            # not root: the session child is not dumpable, its fds are
            # hidden from us; find it through the process tree instead
            holders = U.busy_session_of(d.pid())
        check(len(holders) == 1, "session child not found: %r" % holders)
        sess = holders[0]
        store = U.store_workers(d.pid())
        check(len(store) == 1, "privpop-store not found below the master")
        store_start = {p: U.proc_stat(p)[1] for p in store}
        os.kill(sess, signal.SIGKILL)
        check(c.is_closed(5), "connection not closed after kill -9")
    finally:
        c.close()
    check(d.wait_log(r"session process %d killed by signal 9" % sess, 5),
          "master did not log the killed session %d" % sess)
    check(U.wait_until(lambda: not any(U.pid_alive(p, s) for p, s in
                                       store_start.items()), 5),
          "privpop-store did not exit after the session died")
    check_eq(sorted(u.files()), sorted(before),
             "files after the session was killed")
    check(d.proc.poll() is None, "master died")
    with d.session("alice") as c2:
        check(c2.cmd("STAT").startswith(b"+OK 2 "), "new session STAT")
        check_eq(c2.cmd("QUIT"), b"+OK Logging out, 0 messages deleted.\r\n",
                 "QUIT")


@test("robust_client_vanishes_mid_retr")
def t_vanish(ctx):
    d, u = std_daemon(ctx, messages=MESSAGES[5:6])
    c = d.session("alice")
    c.send("RETR 1\r\n")
    c.resp()
    c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                      b"\x01\x00\x00\x00\x00\x00\x00\x00")
    c.close()  # RST in the middle of a 1 MB answer
    check(d.wait_log(r"user=alice .*end=(error|disconnect)", 10),
          "no summary line after the client vanished")
    with d.session("alice") as c2:
        check(c2.cmd("STAT").startswith(b"+OK 1 "), "next session")
        c2.cmd("QUIT")


# ---------------------------------------------------------------------
# 10. timeout

@test("timeout_idle_autologout")
def t_timeout(ctx):
    d, u = std_daemon(ctx, messages=MESSAGES[:1],
                      extra_conf={"timeout": "10"})
    before = u.files()
    c = d.session("alice", timeout=20)
    try:
        check(c.cmd("DELE 1").startswith(b"+OK"), "DELE 1")
        t0 = time.monotonic()
        r = c.readline(timeout=16)
        el = time.monotonic() - t0
        check(r.startswith(b"-ERR"), "idle answer %r after %.1fs" % (r, el))
        check(9.0 <= el <= 12.5, "autologout after %.1fs (timeout = 10)"
              % el)
        check(c.is_closed(3), "not closed after the autologout")
    finally:
        c.close()
    check(d.wait_log(r"user=alice .*end=timeout", 3), "no end=timeout log")
    # the worker would have applied a deletion before it exits: wait
    # (bounded) for that, not for a fixed time
    check(U.wait_until(lambda: not U.store_workers(d.pid()), 5),
          "privpop-store still runs after the session ended")
    check_eq(sorted(u.files()), sorted(before), "files after the timeout")


@test("timeout_client_that_reads_nothing")
def t_timeout_no_reader(ctx):
    """A client that asks for a message and then reads nothing (a full
    socket): the session gives up after the timeout, logs end=timeout
    (not end=error) and does not wait a second timeout to send its
    farewell; the DELE before it is not applied."""
    big = b"From: a@example.org\nSubject: big\n\n" + \
        b"".join(b"line %07d of a message nobody reads\n" % i
                 for i in range(120000))       # about 4.6 MB
    d, u = std_daemon(ctx, messages=[("1700000001.M1P1.e2e", big, "new",
                                      None),
                                     ("1700000002.M2P1.e2e",
                                      b"Subject: s\n\nsmall\n", "new",
                                      None)],
                      extra_conf={"timeout": "10"})
    before = u.files()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(10)
    try:
        sock.connect((U.HOST, d.port))
        c = U.Conn(d.port, sock=sock, timeout=10)
        c.login("alice", PW_ALICE)
        check(c.cmd("DELE 2").startswith(b"+OK"), "DELE 2")
        c.send(b"RETR 1\r\n")
        t0 = time.monotonic()
        # read nothing; the session must end on its own
        ended = d.wait_log(r"user=alice .*end=\w+", 25)
        el = time.monotonic() - t0
        check(ended, "the session did not end within 25 s")
        log = d.log_text()
        # retr=0/0: the RETR never finished (a host whose socket
        # buffers took the whole message would time out on the next
        # read instead, which proves nothing here)
        check(re.search(r"user=alice .*retr=0/0 .*end=timeout", log),
              "end=timeout with retr=0/0 expected: %r" %
              [l for l in log.splitlines() if "end=" in l])
        check(9.0 <= el <= 16.0, "ended after %.1fs (timeout = 10; "
              "a second wait for the farewell would make it 20)" % el)
    finally:
        sock.close()
    check(U.wait_until(lambda: u.files() == before, 5),
          "the DELE of an ended session was applied")



# ---------------------------------------------------------------------
# 11. daemon modes

@test("mode_configtest_bad_and_good")
def t_configtest(ctx):
    d = U.Daemon(ctx, "cfgtest")
    d.add_user("alice", PW_ALICE)
    d.write_passwd()
    d.port = U.free_port()
    good = d.conf_text(d.port)
    d.write_conf(text=good)
    r = run([d.binary(), "-t", "-c", d.conf], timeout=20)
    check(r.returncode == 0, "-t on a good config: exit %d %r"
          % (r.returncode, r.stderr))
    lines = good.splitlines()
    lines.insert(3, "no_such_key = 1")
    bad_line = 4
    d.write_conf(text="\n".join(lines) + "\n")
    r = run([d.binary(), "-t", "-c", d.conf], timeout=20)
    msg = (r.stdout + r.stderr).decode("utf-8", "replace")
    check(r.returncode != 0, "-t on an unknown key exited 0: %r" % msg)
    check(re.search(r"[:\s]%d:" % bad_line, msg) and "no_such_key" in msg,
          "message lacks line %d / the key: %r" % (bad_line, msg))
    # a bad value, named with its line too
    lines = good.splitlines()
    lines.append("timeout = 5")
    d.write_conf(text="\n".join(lines) + "\n")
    r = run([d.binary(), "-t", "-c", d.conf], timeout=20)
    msg = (r.stdout + r.stderr).decode("utf-8", "replace")
    check(r.returncode != 0 and ":%d:" % len(lines) in msg,
          "timeout = 5 (below the minimum): exit %d %r" % (r.returncode, msg))
    r = run([d.binary(), "-t", "-c", os.path.join(d.dir, "missing.conf")],
            timeout=20)
    check(r.returncode != 0, "-t on a missing file exited 0")


@test("mode_daemonized_pidfile_sigterm")
def t_daemonized(ctx):
    d, u = std_daemon(ctx, messages=MESSAGES[:1], start=False)
    pidfile = os.path.join(d.dir, "privpopd.pid")
    d.start(foreground=False)
    rc = None
    try:
        rc = d.proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass
    check(rc == 0, "the launching process did not exit 0 (rc %r)" % rc)
    check(U.wait_until(lambda: os.path.exists(pidfile) and
                       open(pidfile).read().strip().isdigit(), 5),
          "pid file %s not written" % pidfile)
    pid = int(open(pidfile).read().strip())
    start = U.proc_stat(pid)
    check(start is not None and U.pid_alive(pid), "pid %d from the pid "
          "file is not running" % pid)
    check(os.path.basename(U.exe_of(pid)) == "privpopd",
          "pid %d is %r" % (pid, U.exe_of(pid)))
    tree = U.descendants_of(pid)
    tree[pid] = start[1]
    try:
        with d.session("alice") as c:
            check(c.cmd("STAT").startswith(b"+OK 1 "), "STAT")
            c.cmd("QUIT")
        os.kill(pid, signal.SIGTERM)
        gone = U.wait_until(lambda: (U.reap(pid), not U.pid_alive(pid))[1],
                            8)
        check(gone, "daemon %d still running 8s after SIGTERM" % pid)
        check(U.wait_until(lambda: not os.path.exists(pidfile), 2),
              "pid file not removed after SIGTERM")
        check(U.wait_until(lambda: not any(U.pid_alive(p, s) for p, s in
                                           tree.items()), 5),
              "processes left after SIGTERM: %r" % [p for p, s in tree.items()
                                                    if U.pid_alive(p, s)])
    finally:
        U.kill_pids(tree, 3)


@test("mode_sighup_live_session_and_reload")
def t_sighup(ctx):
    d, u = std_daemon(ctx, messages=MESSAGES[:2])
    c = d.session("alice")
    try:
        c.cmd("RETR 1")
        c.multi()
        d.write_conf(overrides={"prefork": "3", "max_auth_fails": "1"})
        os.kill(d.pid(), signal.SIGHUP)
        check(d.wait_log(r"configuration reloaded", 5), "no reload logged")
        time.sleep(0.3)
        r = c.cmd("RETR 2")
        check(r.startswith(b"+OK"), "RETR after SIGHUP: %r" % r)
        check_eq(U.unstuff(c.multi()), U.to_wire(MESSAGES[1][1]),
                 "RETR 2 after SIGHUP")
        check(c.cmd("DELE 2").startswith(b"+OK"), "DELE 2 after SIGHUP")
        for i in range(3):
            with d.connect() as c2:
                g = c2.resp()
                check(g.startswith(b"+OK"), "greeting after reload %r" % g)
                c2.cmd("USER alice")
                r = c2.cmd("PASS " + PW_ALICE)
                check(r.startswith(b"-ERR [IN-USE]"),
                      "second session of alice during the first: %r" % r)
        check_eq(c.cmd("QUIT"), b"+OK Logging out, 1 message deleted.\r\n",
                 "QUIT after SIGHUP")
    finally:
        c.close()
    check(d.proc.poll() is None, "master died")
    with d.session("alice") as c3:
        check(c3.cmd("STAT").startswith(b"+OK 1 "), "new session after "
              "reload")
        c3.cmd("QUIT")
    # new sessions use the new settings: max_auth_fails = 1
    with d.connect() as c4:
        c4.resp()
        c4.cmd("USER alice")
        r = c4.cmd("PASS wrong-" + PW_ALICE)
        check(r.startswith(b"-ERR [AUTH]"), "wrong password %r" % r)
        check(c4.is_closed(3), "session after the reload did not close "
              "after 1 failure (max_auth_fails = 1 in the new config)")


@test("mode_sighup_new_auth_fork_server")
def t_sighup_fork_server(ctx):
    # privpop-auth builds the APOP stamp from "hostname": a greeting
    # shows which configuration the helper that answers was forked with
    d, u = std_daemon(ctx, messages=MESSAGES[:1], plain_user=True)
    master = d.pid()
    # "started:" is logged before the fork server has reached its loop
    # (the epoll descriptor is_fork_server looks for): wait for it
    old = U.wait_until(lambda: U.auth_fork_server(master), 5)
    check(old is not None, "no privpop-auth -Z below the master")
    with d.connect() as c:
        g = c.resp()
        check(re.search(rb"<\d+\.[0-9a-f]+@e2e\.test>", g),
              "greeting before the reload: %r" % g)
    d.write_conf(overrides={"hostname": "reloaded.test"})
    os.kill(master, signal.SIGHUP)
    check(d.wait_log(r"configuration reloaded", 5), "no reload logged")
    check(U.wait_until(lambda: U.auth_fork_server(master) not in
                       (None, old), 5),
          "no new privpop-auth -Z after the reload (still %r)"
          % U.auth_fork_server(master))
    check(U.wait_until(lambda: not U.pid_alive(old), 5),
          "the old privpop-auth -Z %d still runs" % old)
    for i in range(4):
        with d.connect() as c:
            g = c.resp()
            check(re.search(rb"@reloaded\.test>", g),
                  "greeting %d after the reload: %r" % (i, g))
            c.cmd("USER alice")
            r = c.cmd("PASS " + PW_ALICE)
            check(r.startswith(b"+OK"), "login after the reload: %r" % r)
            c.cmd("QUIT")


def kill9_fork_server(ctx, prog, find, fallback_rx=None):
    """kill -9 the master's `prog -Z`: the master logs it, the idle
    slots' helpers keep working (falling back where fallback_rx says
    so), later slots get a new fork server, and logins go on."""
    d, u = std_daemon(ctx, messages=MESSAGES[:1])
    master = d.pid()
    # the port opens before the fork server has reached its loop (the
    # epoll descriptor is_fork_server looks for)
    check(U.wait_until(lambda: find(master) is not None, 5),
          "no %s -Z below the master" % prog)
    z = find(master)
    os.kill(z, signal.SIGKILL)
    check(d.wait_log(r"%s fork server %d killed by signal 9" % (prog, z),
                     5), "the master did not log the dead fork server %d"
          % z)
    for i in range(d.prefork + 3):
        with d.session("alice") as c:
            check(c.cmd("STAT").startswith(b"+OK 1 "), "STAT %d" % i)
            check(c.cmd("QUIT").startswith(b"+OK"), "QUIT %d" % i)
    if fallback_rx:
        check(d.wait_log(fallback_rx, 5), "no helper fell back (%s)"
              % fallback_rx)
    now = find(master)
    check(now is not None and now != z,
          "no new %s -Z after %d was killed: %r" % (prog, z, now))
    check(d.proc.poll() is None, "master died")


@test("robust_kill9_auth_fork_server")
def t_kill9_fork_server(ctx):
    kill9_fork_server(ctx, "privpop-auth", U.auth_fork_server)


@test("robust_kill9_store_fork_server")
def t_kill9_store_fork_server(ctx):
    # the idle slots' helpers start their workers themselves
    kill9_fork_server(ctx, "privpop-store", U.store_fork_server,
                      r"privpop-store fork server; starting the worker "
                      r"here")


@test("mode_sighup_broken_config_keeps_running")
def t_sighup_broken(ctx):
    d, u = std_daemon(ctx, messages=MESSAGES[:1])
    good = d.conf_text(d.port)
    c = d.session("alice")
    try:
        d.write_conf(text=good + "this is not a config line\n")
        os.kill(d.pid(), signal.SIGHUP)
        check(d.wait_log(r"reload failed", 5), "no 'reload failed' logged")
        time.sleep(0.5)
        check(d.proc.poll() is None, "master died after a broken reload")
        check(c.cmd("STAT").startswith(b"+OK 1 "), "live session STAT")
        c.cmd("QUIT")
    finally:
        c.close()
    check(d.proc.poll() is None, "master died")
    # the old configuration stays in force: new sessions keep working,
    # more of them than there were idle pre-forked slots
    for i in range(5):
        with d.connect(timeout=5) as c2:
            try:
                g = c2.resp(timeout=5)
            except U.Pop3Error as e:
                raise U.TestFailure("connection %d after the broken reload "
                                    "(prefork = 2) got no greeting: %s"
                                    % (i + 1, e))
            check(g.startswith(b"+OK"), "greeting %d %r" % (i + 1, g))
            c2.cmd("USER alice")
            r = c2.cmd("PASS " + PW_ALICE)
            check(r.startswith(b"+OK"), "login %d after the broken reload: %r"
                  % (i + 1, r))
            c2.cmd("QUIT")
    check(d.proc.poll() is None, "master died")


@test("mode_inetd_session")
def t_inetd(ctx):
    d, u = std_daemon(ctx, messages=MESSAGES[:3], start=False)
    d.write_passwd()
    d.port = U.free_port()
    d.write_conf()
    a, b = socket.socketpair()
    logf = open(d.log, "ab")
    p = subprocess.Popen([d.binary(), "-i", "-c", d.conf], stdin=b,
                         stdout=b, stderr=logf, close_fds=True)
    logf.close()
    b.close()
    tree = {}
    try:
        c = U.Conn(0, sock=a, timeout=10)
        g = c.resp()
        check(g.startswith(b"+OK privpop ready"), "greeting %r" % g)
        tree = U.descendants_of(p.pid)
        tree[p.pid] = U.proc_stat(p.pid)[1]
        if ctx.is_root:
            pp = ctx.sysusers["privpop"]
            st = U.status_of(p.pid)
            check_eq(ids(st, "Uid"), [pp.pw_uid] * 4, "inetd session Uid")
            check_eq(os.readlink("/proc/%d/root" % p.pid), U.CHROOT_DIR,
                     "inetd session root")
        check_eq(c.cmd("USER alice"), b"+OK\r\n", "USER")
        check(c.cmd("PASS " + PW_ALICE).startswith(b"+OK Logged in"), "PASS")
        sizes = [len(U.to_wire(m[1])) for m in MESSAGES[:3]]
        check_eq(c.cmd("STAT"), b"+OK 3 %d\r\n" % sum(sizes), "STAT")
        for i in (1, 3):
            check_eq(c.cmd("RETR %d" % i), b"+OK %d octets\r\n"
                     % sizes[i - 1], "RETR %d" % i)
            check_eq(c.multi(), U.dot_stuff(U.to_wire(MESSAGES[i - 1][1])),
                     "RETR %d body" % i)
        check(c.cmd("DELE 2").startswith(b"+OK"), "DELE 2")
        check_eq(c.cmd("QUIT"), b"+OK Logging out, 1 message deleted.\r\n",
                 "QUIT")
        check(c.is_closed(5), "not closed after QUIT")
        try:
            rc = p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            raise U.TestFailure("privpopd -i still running after QUIT")
        check_eq(rc, 0, "privpopd -i exit status")
    finally:
        a.close()
        U.stop_process(p, 3)
        U.kill_pids(tree, 3)
    check("new/" + MESSAGES[1][0] not in u.files(), "message 2 not deleted")
    check_eq(len(u.files()), 2, "files after the inetd session")


# ---------------------------------------------------------------------
# files and directories root writes in or enters (issue 15 item 12)

@test("hardening_chroot_must_be_empty_root_dir_not_symlink")
def t_chroot_checked(ctx):
    if not ctx.is_root:
        raise U.TestSkip("no chroot without root")
    d, u = std_daemon(ctx, messages=[], start=False)
    d.write_passwd()
    d.port = U.free_port()
    base = ctx.new_tmpdir("chroots")
    real = os.path.join(base, "empty")
    os.mkdir(real, 0o755)
    os.symlink(real, os.path.join(base, "link"))
    os.mkdir(os.path.join(base, "full"), 0o755)
    with open(os.path.join(base, "full", "busybox"), "w") as f:
        f.write("x")
    os.mkdir(os.path.join(base, "groupw"))
    os.chmod(os.path.join(base, "groupw"), 0o775)
    for name, why in (("link", "is a symbolic link"),
                      ("full", 'is not empty (it holds "busybox")'),
                      ("groupw", "is writable by group or others")):
        d.write_conf(overrides={"chroot": os.path.join(base, name)})
        # a refused chroot ends privpopd at start; one it takes keeps
        # it running (and run() fails at its timeout)
        r = run([d.binary(), "-f", "-c", d.conf], timeout=10)
        msg = (r.stdout + r.stderr).decode("utf-8", "replace")
        check(r.returncode != 0, "chroot %s: exit 0" % name)
        check("chroot %s %s" % (os.path.join(base, name), why) in msg,
              "chroot %s: message %r" % (name, msg))
    # the directory the symlink named is fine in itself
    d.extra_conf["chroot"] = real
    d.start()
    with d.session("alice") as c:
        check(c.cmd("STAT").startswith(b"+OK 0 "), "STAT")
        c.cmd("QUIT")
    sess = U.slots_of(d.pid(), d.binary())
    check(sess and all(os.readlink("/proc/%d/root" % p) == real
                       for p in sess), "slots' root: %r"
          % [os.readlink("/proc/%d/root" % p) for p in sess])


def daemonized_pid(d, conf_path):
    """The pid of a daemonized privpopd started with conf_path, found
    in the process table (its pid file is what is under test)."""
    def find():
        for p in U.all_pids():
            st = U.proc_stat(p)
            if st and U.exe_of(p) == d.binary() and \
                    conf_path.encode() in b" ".join(U.cmdline_of(p)) and \
                    U.exe_of(st[0]) != d.binary():
                return p
        return None
    return U.wait_until(find, 5)


@test("hardening_pidfile_planted_links_not_followed")
def t_pidfile_planted(ctx):
    d, u = std_daemon(ctx, messages=[], start=False)
    pidfile = os.path.join(d.dir, "privpopd.pid")
    victim = os.path.join(d.dir, "victim")
    for plant in ("symlink", "hardlink", "unsafe-dir"):
        with open(victim, "w") as f:
            f.write("not a pid file\n")
        for p in (pidfile,):
            if os.path.lexists(p):
                os.unlink(p)
        if plant == "symlink":
            os.symlink(victim, pidfile)
        elif plant == "hardlink":
            os.link(victim, pidfile)
        else:
            # a directory others can write to: no pid file at all
            rundir = os.path.join(d.dir, "run")
            os.makedirs(rundir, exist_ok=True)
            os.chmod(rundir, 0o777)
            pidfile = os.path.join(rundir, "privpopd.pid")
            d.extra_conf["pid_file"] = pidfile
        d.start(foreground=False)
        try:
            check_eq(d.proc.wait(timeout=10), 0, "launcher exit status")
        except subprocess.TimeoutExpired:
            raise U.TestFailure("the launching process did not exit")
        pid = daemonized_pid(d, d.conf)
        check(pid, "no daemonized privpopd found: %r" % [
            (p, U.cmdline_of(p), (U.proc_stat(p) or [None])[0])
            for p in U.all_pids() if U.exe_of(p) == d.binary()])
        try:
            if plant == "unsafe-dir":
                # a daemon logs to syslog only
                check(ctx.syslog is None or ctx.syslog.wait_for(
                      "pid file %s not written: its directory" % pidfile),
                      "no warning about the pid file's directory")
                check(not os.path.lexists(pidfile), "pid file written in "
                      "a directory others can write to")
                # what another user puts there later is not removed by
                # the daemon's exit: it wrote no pid file of its own
                with open(pidfile, "w") as f:
                    f.write("someone else's\n")
            else:
                check(U.wait_until(lambda: not os.path.islink(pidfile) and
                                   os.path.isfile(pidfile) and
                                   open(pidfile).read().strip() ==
                                   str(pid), 5),
                      "%s: pid file not written as a file of its own "
                      "(%r)" % (plant, os.path.realpath(pidfile)))
                check_eq(os.stat(pidfile).st_mode & 0o7777, 0o644,
                         "pid file mode")
            with open(victim) as f:
                check_eq(f.read(), "not a pid file\n",
                         "%s: the file the link named" % plant)
            check_eq([n for n in os.listdir(os.path.dirname(pidfile))
                      if n.startswith("privpopd.pid.")], [],
                     "temporary pid files left")
        finally:
            tree = U.descendants_of(pid)
            tree[pid] = U.proc_stat(pid)[1]
            os.kill(pid, signal.SIGTERM)
            U.wait_until(lambda: (U.reap(pid), not U.pid_alive(pid))[1], 8)
            U.kill_pids(tree, 3)
        if plant == "unsafe-dir":
            check(os.path.exists(pidfile), "the daemon's exit removed a "
                  "pid file it had not written")


# ---------------------------------------------------------------------
# hardening of the executables

def elf_full_relro(path):
    """(has PT_GNU_RELRO, binds every symbol at start) of an ELF64 file,
    read from its program headers and dynamic section."""
    import struct
    with open(path, "rb") as f:
        data = f.read()
    check(data[:4] == b"\x7fELF" and data[4] == 2 and data[5] == 1,
          "%s: not a little-endian ELF64 file" % path)
    phoff, = struct.unpack_from("<Q", data, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    relro, dyn = False, None
    for i in range(phnum):
        p_type, _, p_off, _, _, p_filesz = struct.unpack_from(
            "<IIQQQQ", data, phoff + i * phentsize)
        if p_type == 0x6474e552:        # PT_GNU_RELRO
            relro = True
        elif p_type == 2:               # PT_DYNAMIC
            dyn = (p_off, p_filesz)
    now = False
    if dyn is not None:
        for off in range(dyn[0], dyn[0] + dyn[1], 16):
            tag, val = struct.unpack_from("<qQ", data, off)
            if tag == 0:
                break
            if (tag == 24 or                          # DT_BIND_NOW
                    (tag == 30 and val & 0x8) or      # DF_BIND_NOW
                    (tag == 0x6ffffffb and val & 0x1)):  # DF_1_NOW
                now = True
    return relro, now


@test("hardening_full_relro")
def t_full_relro(ctx):
    # every role: a GOT made read-only after start, so a memory bug
    # cannot redirect a library call through it (and a forked child
    # has no lazy binding left to do)
    for name in ("privpopd", "privpop-auth", "privpop-store",
                 "privpop-passwd"):
        relro, now = elf_full_relro(os.path.join(ctx.build_dir, name))
        check(relro, "%s has no PT_GNU_RELRO segment" % name)
        check(now, "%s binds lazily (linked without -z now)" % name)


def own_functions(build_dir):
    """{name: global?} of the functions defined in privpop's own object
    files (not the libraries it links, which a static PIE holds too)."""
    objs = []
    for top, dirs, files in os.walk(build_dir):
        if "tests" in os.path.relpath(top, build_dir).split(os.sep):
            continue
        objs += [os.path.join(top, f) for f in files if f.endswith(".o")]
    check(objs, "no object files in %s" % build_dir)
    r = run(["nm", "--defined-only", "-P"] + objs)
    check_eq(r.returncode, 0, "nm: %r" % r.stderr[-300:])
    out = {}
    for line in r.stdout.decode().splitlines():
        f = line.split()
        if len(f) >= 2 and f[1] in ("T", "t"):
            out[f[0]] = f[1] == "T"
    return out


def disassembly(path):
    """{function: [instruction lines]} from objdump -d."""
    r = run(["objdump", "-d", "--no-show-raw-insn", path], timeout=120)
    check_eq(r.returncode, 0, "objdump %s: %r" % (path, r.stderr[-300:]))
    funcs, cur = {}, None
    for line in r.stdout.decode("utf-8", "replace").splitlines():
        m = re.match(r"^[0-9a-f]+ <([^>]+)>:$", line)
        if m:
            cur = funcs.setdefault(m.group(1), [])
        elif cur is not None and "\t" in line:
            cur.append(line.split("\t", 1)[1].strip())
    return funcs


@test("hardening_stack_protector_fortify_cet")
def t_hardening_cflags(ctx):
    """Issue 15 item 13: privpop's own code in every executable (the
    static PIE privpop-store included, whose libc symbols are internal)
    has stack canaries, FORTIFY's checked calls and, on x86-64, IBT
    landing pads; read from the disassembly of its own functions."""
    for tool in ("nm", "objdump", "readelf"):
        if not shutil.which(tool):
            raise U.TestFailure("%s (binutils) is not installed" % tool)
    try:
        with open(os.path.join(ctx.build_dir, "config.log")) as f:
            if "--disable-hardening" in f.read(4096):
                raise U.TestSkip("built with --disable-hardening")
    except OSError:
        pass
    ours = own_functions(ctx.build_dir)
    x86 = os.uname().machine == "x86_64"
    for name in ("privpopd", "privpop-auth", "privpop-store",
                 "privpop-passwd"):
        path = os.path.join(ctx.build_dir, name)
        funcs = disassembly(path)
        mine = [f for f in funcs if f in ours]
        check(len(mine) > 10, "%s: only %d of privpop's functions found"
              % (name, len(mine)))

        def calling(rx):
            return [f for f in mine if any(re.search(rx, i)
                                           for i in funcs[f])]
        canary = calling(r"(call|jmp)\s.*<__stack_chk_fail")
        check(canary, "%s: no function of privpop's checks a stack "
              "canary (-fstack-protector-strong)" % name)
        chk = calling(r"(call|jmp)\s.*<__\w+_chk(@plt)?>")
        check(chk, "%s: no function of privpop's calls a FORTIFY "
              "_chk function (_FORTIFY_SOURCE)" % name)
        if not x86:
            continue
        no_pad = [f for f in mine if ours[f] and funcs[f] and
                  funcs[f][0] != "endbr64"]
        check(not no_pad, "%s: functions without an IBT landing pad "
              "(-fcf-protection): %r" % (name, no_pad[:5]))
        # the ELF note marks the whole program, and ld sets it only
        # when every object linked in has it; Debian 12's C library
        # start files (Scrt1.o, crti.o) have none, so there it cannot
        r = run(["readelf", "-n", path])
        marked = b"x86 feature: IBT, SHSTK" in r.stdout
        cc = re.search(r"^CC = (\S+)", open(os.path.join(
            ctx.build_dir, "Makefile")).read(), re.M)
        crt = run([cc.group(1) if cc else "cc",
                   "-print-file-name=Scrt1.o"]).stdout.decode().strip()
        crt_marked = os.path.isabs(crt) and b"IBT, SHSTK" in run(
            ["readelf", "-n", crt]).stdout
        if crt_marked:
            check(marked, "%s: no x86 IBT/SHSTK property note" % name)
        elif not marked:
            ctx.note("%s: no CET property note; %s has none either"
                     % (name, crt))


@test("bench_plot_and_round_ratios")
def t_bench_plot(ctx):
    # the README's plot is drawn by tests/bench/plot.py from the bench's
    # results.json: a bar per target, coloured by met / not met, at the
    # log-scale position of "times better", with the rounds' spread
    import importlib.util
    import json
    import math
    import xml.etree.ElementTree as ET
    bench = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                         "..", "bench")
    spec = importlib.util.spec_from_file_location(
        "run_bench", os.path.join(bench, "run-bench.py"))
    rb = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(rb)
    # rounds are paired by position; a missing figure drops its round
    res = {"privpop": [{"x": 300.0}, {"x": 200.0}, {"y": 1.0}],
           "dovecot": [{"x": 100.0}, {"x": 100.0}, {"x": 100.0}]}
    check_eq(rb.round_ratios(res, "x"), [3.0, 2.0], "ratios per round")
    results = {
        "dovecot": "Dovecot test", "rounds": 3, "quick": False,
        "scenarios": [
            {"scenario": "download-maildir",
             "figures": [["mb_per_s", "higher"],
                         ["retr_mb_per_s", "higher"]],
             "ratio": {"mb_per_s": 2.6, "retr_mb_per_s": 0.3},
             "round_ratios": {"mb_per_s": [2.4, 2.6, 2.9]},
             "target": {"mb_per_s": {"want": ">=4", "met": False}}},
            {"scenario": "bigbox-mbox",
             "figures": [["first_stat_ms", "lower"]],
             "ratio": {"first_stat_ms": 0.02},
             "round_ratios": {"first_stat_ms": [0.025, 0.02, 0.0125]},
             "target": {"first_stat_ms": {"want": "<=0.025",
                                          "met": True}}}]}
    d = ctx.new_tmpdir("plot")
    src, out = os.path.join(d, "results.json"), os.path.join(d, "b.svg")
    with open(src, "w") as f:
        json.dump(results, f)
    r = subprocess.run(["python3", os.path.join(bench, "plot.py"), src,
                        out], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=60)
    check_eq(r.returncode, 0, "plot.py: " + r.stderr.decode())
    root = ET.parse(out).getroot()
    ns = "{http://www.w3.org/2000/svg}"
    texts = ["".join(t.itertext()) for t in root.iter(ns + "text")]
    check("2.60x (target 4x)" in texts, texts)
    check("50.00x (target 40x)" in texts, texts)
    check("download-maildir: MB/s" in texts, texts)
    # no row for a figure without a target
    check(not any("retr" in t for t in texts), texts)
    bars = [e for e in root.iter(ns + "rect") if e.get("opacity")]
    check_eq([b.get("fill") for b in bars], ["#c62828", "#2e7d32"],
             "bar colours (not met, met)")
    # log scale: 1x at the bars' left edge, each bar's length in
    # proportion to the log of its value; the second row's whisker spans
    # its rounds, 40x to 80x
    x1 = float(bars[0].get("x"))
    check_eq(float(bars[1].get("x")), x1, "bars start at 1x")
    unit = float(bars[0].get("width")) / math.log(2.6)
    check(abs(float(bars[1].get("width")) - unit * math.log(50)) < 0.5,
          (unit, bars[1].get("width")))
    y2 = float(bars[1].get("y"))
    whisk = [e for e in root.iter(ns + "line")
             if e.get("y1") == e.get("y2") and
             y2 < float(e.get("y1")) < y2 + 20]
    check_eq(len(whisk), 1, "whiskers in the second row")
    check(abs(float(whisk[0].get("x1")) - (x1 + unit * math.log(40))) < 0.5
          and abs(float(whisk[0].get("x2")) - (x1 + unit * math.log(80)))
          < 0.5, (x1, unit, whisk[0].attrib))
