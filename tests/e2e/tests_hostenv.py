"""privpopd started the way hosts start it, with TLS configured: with
descriptors already open (0-9 in various states), under systemd socket
activation with one and two sockets, and from inetd with STLS and
implicit TLS (-I), stdin, stdout and stderr all the client's socket.
The run's syslog receiver on /dev/log (syslog_ns.py) is checked too:
that the daemon's lines reach it, and that an inetd start-up error goes
there and never to the client.

Every daemon is started through bash, which puts descriptors the test
made on exact numbers (`exec 3>&50`) before it execs privpopd, as a
service manager or a careless shell would.
"""
import os
import re
import socket
import ssl
import subprocess

import e2e_util as U
from e2e_util import check, check_eq
from registry import test
import tests_tls as T

HANDOFF = 50        # where the test's descriptors wait for bash


def fd_targets(ctx):
    """Descriptors of many kinds (pipe ends, a socket, files, a
    directory, /dev/null); the caller dup2s them and closes the list."""
    d = ctx.new_tmpdir("fds")
    r, w = os.pipe()
    a, b = socket.socketpair()
    out = {
        "pipe-r": r, "pipe-w": w,
        "socket": a.detach(), "socket-peer": b.detach(),
        "file": os.open(os.path.join(d, "f"), os.O_RDWR | os.O_CREAT, 0o600),
        "dir": os.open(d, os.O_RDONLY | os.O_DIRECTORY),
        "null": os.open("/dev/null", os.O_RDONLY),
    }
    return out


def start_wrapped(d, layout, argv_extra=(), env_extra=None, stdio=None,
                  listen_fds=None):
    """Start d's privpopd -f through bash with descriptors placed as
    layout says: {fd: source} where source is an int (an open fd of
    ours) or None (closed).  0..2 may appear too.  listen_fds: (count,
    names) to set LISTEN_PID/LISTEN_FDS/LISTEN_FDNAMES for privpopd."""
    d.write_passwd()
    if d.port is None:
        d.port = U.free_port()
    d.write_conf()
    logf = open(d.log, "ab")
    pass_fds = []
    script = []
    for i, (fd, src) in enumerate(sorted(layout.items())):
        if src is None:
            script.append("exec %d>&-" % fd)
            continue
        h = HANDOFF + i
        os.dup2(src, h, inheritable=True)
        pass_fds.append(h)
        script.append("exec %d>&%d %d>&-" % (fd, h, h))
    env = dict(os.environ)
    env.update(env_extra or {})
    if listen_fds:
        n, names = listen_fds
        script.append("export LISTEN_PID=$$ LISTEN_FDS=%d "
                      "LISTEN_FDNAMES=%s" % (n, names))
    script.append('exec "$@"')
    argv = ["/bin/bash", "-c", "; ".join(script), "privpopd-wrapper",
            d.binary(), "-f", "-c", d.conf] + list(argv_extra)
    try:
        d.proc = subprocess.Popen(argv, stdin=stdio or subprocess.DEVNULL,
                                  stdout=logf, stderr=logf, cwd=d.dir,
                                  pass_fds=pass_fds, env=env)
    finally:
        logf.close()
        for h in pass_fds:
            os.close(h)
    return d


def wait_serving(d, port, what):
    """The daemon accepts and greets on port (its stderr may be closed,
    so the log is not the signal)."""
    def greets():
        try:
            with U.Conn(port, timeout=3) as c:
                return c.resp().startswith(b"+OK")
        except (OSError, U.Pop3Error):
            return False
    ok = U.wait_until(lambda: d.proc.poll() is not None or greets(), 10,
                      0.2)
    check(d.proc.poll() is None, "%s: privpopd exited with %r:\n%s"
          % (what, d.proc.returncode, d.log_text()[-1500:]))
    check(ok, "%s: no greeting on port %d within 10 s" % (what, port))


def serve_all_three(d, plain_port, tls_port, cafile, what):
    """A plain login, an STLS login and an implicit TLS login, each with
    a byte-exact RETR."""
    with U.Conn(plain_port) as c:
        T.login(c)
        T.check_retr(c, 1, T.MSGS[0][1], what + " plain")
        check(c.cmd("QUIT").startswith(b"+OK"), what + ": QUIT")
    sc = T.client_ctx(cafile)
    c, _g = T.stls_conn(plain_port, sc)
    with c:
        r = c.cmd("USER alice")
        check(r.startswith(b"+OK"), "%s: USER after STLS %r" % (what, r))
        r = c.cmd("PASS " + T.PW_ALICE)
        check(r.startswith(b"+OK Logged in"), "%s: PASS after STLS %r"
              % (what, r))
        T.check_retr(c, 2, T.MSGS[1][1], what + " STLS")
        c.cmd("QUIT")
    with T.tls_conn(tls_port, sc) as c:
        T.login(c)
        T.check_retr(c, 3, T.MSGS[2][1], what + " implicit TLS")
        c.cmd("QUIT")


def check_no_strays(ctx, d, strays, what):
    """No process below the master (slots, helpers, workers), nor the
    master, holds one of the files the test left open at start (by
    inode).  (That each helper found its own descriptors is shown by
    the logins themselves: the TLS key and the config reach privpop-auth
    only through them; fd_layout() checks each one before exec.)"""
    if not ctx.is_root:
        return
    inodes = set()
    for fd in strays:
        try:
            st = os.fstat(fd)
            inodes.add((st.st_dev, st.st_ino))
        except OSError:
            pass
    master = d.pid()
    for p in list(U.descendants_of(master)) + [master]:
        try:
            fds = os.listdir("/proc/%d/fd" % p)
        except OSError:
            continue
        for f in fds:
            try:
                st = os.stat("/proc/%d/fd/%s" % (p, f))
            except OSError:
                continue
            check((st.st_dev, st.st_ino) not in inodes,
                  "%s: %s %d holds a descriptor privpopd inherited at "
                  "start (fd %s)" % (what, U.role_of(p), p, f))


# Each: (name, {fd: kind or None}) -- what is open when privpopd starts.
STATES = [
    ("0-closed-3-to-9-mixed", {0: None, 3: "pipe-r", 4: "null", 5: None,
                               6: "socket", 7: "file", 8: None, 9: "dir"}),
    ("stdio-closed-3-to-9-open", {0: None, 1: None, 2: None,
                                  3: "pipe-w", 4: "file", 5: "socket-peer",
                                  6: "null", 7: "dir", 8: "pipe-r",
                                  9: "socket"}),
    ("only-4-and-5-open", {3: None, 4: "socket", 5: "file", 6: None}),
]


@test("hostenv_extra_descriptors_at_start_tls_stls")
def t_extra_fds(ctx):
    for name, state in STATES:
        d, _u = T.tls_daemon(ctx, "fds", start=False)
        d.port = U.free_port()
        srcs = fd_targets(ctx)
        try:
            layout = {fd: (None if k is None else srcs[k])
                      for fd, k in state.items()}
            start_wrapped(d, layout)
            wait_serving(d, d.port, name)
            serve_all_three(d, d.port, d.tls_port, d.cert.cert, name)
            # /dev/null is every process's: not told apart by inode
            check_no_strays(ctx, d, [srcs[k] for k in srcs
                                     if k != "null"], name)
        finally:
            for fd in srcs.values():
                os.close(fd)
        d.stop()


def listening_socket():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((U.HOST, 0))
    s.listen(64)
    return s


@test("hostenv_socket_activation_one_and_two_sockets")
def t_socket_activation(ctx):
    # two sockets: pop3 on 3, pop3s on 4 (FileDescriptorName=pop3s);
    # privpopd's own descriptors then start where the helpers' layout
    # puts its targets
    for n in (1, 2):
        what = "LISTEN_FDS=%d" % n
        d, _u = T.tls_daemon(ctx, "sd%d" % n, start=False)
        socks = [listening_socket() for _ in range(n)]
        stray = os.open(os.path.join(d.dir, "stray"),
                        os.O_RDWR | os.O_CREAT, 0o600)
        try:
            layout = {3 + i: s.fileno() for i, s in enumerate(socks)}
            layout[3 + n] = stray           # one more, not a listener
            names = "pop3:pop3s" if n == 2 else "pop3"
            d.port = U.free_port()          # in the config, not used
            start_wrapped(d, layout, listen_fds=(n, names))
            plain = socks[0].getsockname()[1]
            wait_serving(d, plain, what)
            check(d.wait_log(r"started: %d listener" % n, 5),
                  "%s: no 'started: %d listener(s)' line" % (what, n))
            # the configured port is not bound: the sockets are systemd's
            with socket.socket() as probe:
                probe.settimeout(2)
                check(probe.connect_ex((U.HOST, d.port)) != 0,
                      "%s: privpopd bound its configured port too" % what)
            if n == 2:
                serve_all_three(d, plain, socks[1].getsockname()[1],
                                d.cert.cert, what)
            else:
                with U.Conn(plain) as c:
                    T.login(c)
                    T.check_retr(c, 1, T.MSGS[0][1], what)
                    c.cmd("QUIT")
                c, _g = T.stls_conn(plain, T.client_ctx(d.cert.cert))
                with c:
                    c.cmd("USER alice")
                    r = c.cmd("PASS " + T.PW_ALICE)
                    check(r.startswith(b"+OK Logged in"),
                          "%s: STLS login %r" % (what, r))
                    c.cmd("QUIT")
            check_no_strays(ctx, d, [stray], what)
        finally:
            os.close(stray)
            for s in socks:
                s.close()
        d.stop()


def inetd_connection(ctx, d, flag, extra_fds=True):
    """Accept one TCP connection as inetd does and start privpopd -i/-I
    on it (0, 1 and 2 the socket, as inetd and xinetd pass it); returns
    (client socket, Popen)."""
    srv = listening_socket()
    try:
        cli = socket.create_connection(srv.getsockname()[:2], timeout=10)
        conn, _ = srv.accept()
    finally:
        srv.close()
    d.write_passwd()
    if d.port is None:
        d.port = U.free_port()
    d.write_conf()
    stray = os.open("/dev/null", os.O_RDONLY)
    script = "exec 3>&-"
    pass_fds = []
    if extra_fds:
        # a descriptor on 5, where the TLS key snapshot once landed
        os.dup2(stray, HANDOFF, inheritable=True)
        pass_fds = [HANDOFF]
        script = "exec 5>&%d %d>&-" % (HANDOFF, HANDOFF)
    argv = ["/bin/bash", "-c", script + '; exec "$@"', "inetd-wrapper",
            d.binary(), flag, "-c", d.conf]
    try:
        p = subprocess.Popen(argv, stdin=conn, stdout=conn, stderr=conn,
                             pass_fds=pass_fds, cwd=d.dir)
    finally:
        conn.close()
        os.close(stray)
        for h in pass_fds:
            os.close(h)
    return cli, p


def end_inetd(p, tree):
    try:
        rc = p.wait(timeout=10)
    except subprocess.TimeoutExpired:
        rc = None
    U.stop_process(p, 3)
    U.kill_pids(tree, 3)
    return rc


@test("hostenv_inetd_stls_and_implicit_tls")
def t_inetd_tls(ctx):
    d, _u = T.tls_daemon(ctx, "inetd", start=False)
    sc = T.client_ctx(d.cert.cert)
    # -i: plain, then STLS on the same connection
    cli, p = inetd_connection(ctx, d, "-i")
    tree = {}
    try:
        g = T.recv_line_raw(cli)
        check(g.startswith(b"+OK privpop ready"), "-i greeting %r" % g)
        tree = U.descendants_of(p.pid)
        cli.sendall(b"STLS\r\n")
        check_eq(T.recv_line_raw(cli), b"+OK Begin TLS negotiation.\r\n",
                 "-i STLS answer")
        s = sc.wrap_socket(cli, server_hostname=U.HOST)
        c = U.Conn(0, sock=s, timeout=10)
        check(c.cmd("USER alice").startswith(b"+OK"), "-i USER over TLS")
        check(c.cmd("PASS " + T.PW_ALICE).startswith(b"+OK Logged in"),
              "-i PASS over TLS")
        T.check_retr(c, 2, T.MSGS[1][1], "-i STLS")
        check(c.cmd("QUIT").startswith(b"+OK"), "-i QUIT")
        c.close()
        check_eq(end_inetd(p, tree), 0, "privpopd -i exit status")
    finally:
        cli.close()
        U.stop_process(p, 3)
        U.kill_pids(tree, 3)
    # -I: TLS from the first byte (a port 995 service)
    cli, p = inetd_connection(ctx, d, "-I")
    tree = {}
    try:
        s = sc.wrap_socket(cli, server_hostname=U.HOST)
        c = U.Conn(0, sock=s, timeout=10)
        T.login(c)
        tree = U.descendants_of(p.pid)
        check(c.cmd("CAPA").startswith(b"+OK"), "-I CAPA")
        capa = c.multi()
        check(b"STLS" not in capa, "-I CAPA offers STLS inside TLS: %r"
              % capa)
        T.check_retr(c, 3, T.MSGS[2][1], "-I")
        check(c.cmd("QUIT").startswith(b"+OK"), "-I QUIT")
        c.close()
        check_eq(end_inetd(p, tree), 0, "privpopd -I exit status")
    finally:
        cli.close()
        U.stop_process(p, 3)
        U.kill_pids(tree, 3)
    check(not re.search(r"callback failed|cannot read the TLS key",
                        d.log_text() + syslog_text(ctx)),
          "a TLS failure was logged:\n" + d.log_text()[-1500:])


def syslog_text(ctx):
    return "\n".join(ctx.syslog.lines_since(0)) if ctx.syslog else ""


@test("hostenv_inetd_startup_error_never_reaches_client")
def t_inetd_error(ctx):
    # -I without a certificate, and a configuration that does not parse:
    # the client sees the connection close without a byte, the reason
    # goes to syslog (mail facility), none of it to stderr (the socket)
    cases = [
        ("-I", {}, r"-I \(implicit TLS\) needs tls_cert"),
        ("-i", {"prefork": "many"}, r"prefork"),
    ]
    for flag, overrides, rx in cases:
        d = U.Daemon(ctx, "inetd-err")
        d.add_user("alice", T.PW_ALICE)
        d.extra_conf.update(overrides)
        mark = ctx.syslog.mark() if ctx.syslog else 0
        cli, p = inetd_connection(ctx, d, flag)
        try:
            cli.settimeout(10)
            got = b""
            while len(got) < 4096:
                try:
                    b = cli.recv(4096)
                except socket.timeout:
                    raise U.TestFailure("%s: the connection stayed open"
                                        % flag)
                if not b:
                    break
                got += b
            check_eq(got, b"", "%s %r: bytes the client received"
                     % (flag, overrides))
            rc = end_inetd(p, {})
            check(rc not in (0, None), "%s: exit status %r" % (flag, rc))
        finally:
            cli.close()
            U.stop_process(p, 3)
        if ctx.syslog:
            line = U.wait_until(lambda: [l for l in
                                         ctx.syslog.lines_since(mark)
                                         if re.search(rx, l)], 5)
            check(line, "%s: no syslog line matching %r; have %r"
                  % (flag, rx, ctx.syslog.lines_since(mark)[-5:]))
            # <19> is mail.err, <20> mail.warning: facility mail
            check(re.match(r"<(1[6-9]|2[0-3])>", line[0]),
                  "%s: not facility mail: %r" % (flag, line[0]))


@test("hostenv_syslog_receives_daemon_lines")
def t_syslog(ctx):
    if ctx.syslog is None:
        raise U.TestSkip("this run has nothing on /dev/log (--no-syslog "
                         "or not root); the other run checks it")
    mark = ctx.syslog.mark()
    d, _u = T.tls_daemon(ctx, "syslog")
    check(ctx.syslog.wait_for("started:", mark, 5),
          "the master's start line did not reach /dev/log")
    with T.tls_conn(d.tls_port, T.client_ctx(d.cert.cert)) as c:
        T.login(c)
        c.cmd("QUIT")
    line = ctx.syslog.wait_for(" auth=ok ", mark, 5)
    check(line and re.search(r"user=alice .*tls=\S+", line),
          "no summary line of the TLS session in syslog: %r" % line)
    check(re.match(r"<22>", ctx.syslog.wait_for("started:", mark, 1)),
          "the start line is not mail.info")


class MiniInetd:
    """inetd for one test: each connection on a listening socket gets
    its own `privpopd -i` (or -I), with the socket on 0, 1 and 2.
    Bounded: at most MAX connections, every child stopped at close()."""
    MAX = 40

    def __init__(self, d, flag):
        import threading
        self.d = d
        self.flag = flag
        self.srv = listening_socket()
        self.srv.settimeout(0.2)
        self.port = self.srv.getsockname()[1]
        self.procs = []
        self.stop_flag = False
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self):
        while not self.stop_flag and len(self.procs) < self.MAX:
            try:
                conn, _ = self.srv.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            try:
                logf = open(self.d.log, "ab")
                self.procs.append(subprocess.Popen(
                    [self.d.binary(), self.flag, "-c", self.d.conf],
                    stdin=conn, stdout=conn, stderr=logf, cwd=self.d.dir))
                logf.close()
            finally:
                conn.close()

    def close(self):
        self.stop_flag = True
        self.thread.join(3)
        self.srv.close()
        for p in self.procs:
            tree = U.descendants_of(p.pid)
            U.stop_process(p, 5)
            U.kill_pids(tree, 3)
        return [p.returncode for p in self.procs]


def real_clients(ctx, ports, cafile, what):
    """curl, fetchmail and mpop in every mode; ports: {mode: port}."""
    import clients
    for mode, port in ports.items():
        got = clients.curl_retr(mode, U.HOST, port, "alice", T.PW_ALICE,
                                cafile)
        check_eq(got, U.to_wire(T.MSGS[0][1]), "%s: curl %s RETR 1"
                 % (what, mode))
        for name, fn in (("fetchmail", clients.fetchmail_all),
                         ("mpop", clients.mpop_all)):
            got = fn(mode, U.HOST, port, "alice", T.PW_ALICE, cafile,
                     ctx.new_tmpdir(name)).replace(b"\r\n", b"\n")
            for _u, content, _s, _f in T.MSGS:
                body = content.replace(b"\r\n", b"\n").split(b"\n\n", 1)[1]
                check(body[:200] in got, "%s: %s %s did not deliver %r"
                      % (what, name, mode, body[:40]))


@test("hostenv_real_clients_socket_activated_and_inetd")
def t_real_clients(ctx):
    # socket activation: both sockets systemd's (pop3 and pop3s)
    d, _u = T.tls_daemon(ctx, "sd-clients", start=False)
    socks = [listening_socket() for _ in range(2)]
    try:
        d.port = U.free_port()
        start_wrapped(d, {3: socks[0].fileno(), 4: socks[1].fileno()},
                      listen_fds=(2, "pop3:pop3s"))
        plain, tls = (s.getsockname()[1] for s in socks)
        wait_serving(d, plain, "socket-activated")
        real_clients(ctx, {"plain": plain, "stls": plain, "tls": tls},
                     d.cert.cert, "socket-activated")
    finally:
        for s in socks:
            s.close()
    d.stop()
    # inetd: one privpopd -i per connection on one port, -I on another
    d, _u = T.tls_daemon(ctx, "inetd-clients", start=False)
    d.write_passwd()
    d.port = U.free_port()
    d.write_conf()
    plain, tls = MiniInetd(d, "-i"), MiniInetd(d, "-I")
    try:
        real_clients(ctx, {"plain": plain.port, "stls": plain.port,
                           "tls": tls.port}, d.cert.cert, "inetd")
    finally:
        rcs = plain.close() + tls.close()
    check(rcs and all(rc == 0 for rc in rcs),
          "inetd sessions' exit statuses: %r\n%s" % (rcs, d.log_text()[-1500:]))
