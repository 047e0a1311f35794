"""privpopctl against a real daemon: who (text and JSON), kick (the
client sees its connection close, a DELEted message stays on disk, the
others carry on), stats (text, JSON, Prometheus text parsed strictly),
reload, the control socket's mode and owner, a non-root peer refused."""
import json
import os
import poplib
import re
import shutil
import socket
import stat
import subprocess
import time

import e2e_util as U
from e2e_util import check, check_eq
from registry import test
from tests_pop3 import small_msgs

PW = {"alice": "Alice-ctl-pw-5521", "bob": "Bob-ctl-pw-8830",
      "carol": "Carol-ctl-pw-1207"}
WRONG = "Wrong-ctl-pw-0042"
WHO_FIELDS = ("pid", "session", "user", "address", "state", "tls", "age",
              "bytes_in", "bytes_out")


class SourcePOP3(poplib.POP3):
    """poplib from a chosen source address (127.0.0.x: each client its
    own address, as the master sees it from accept)."""

    def __init__(self, host, port, source, timeout):
        self._source = source
        super().__init__(host, port, timeout=timeout)

    def _create_socket(self, timeout):
        return socket.create_connection((self.host, self.port), timeout,
                                        source_address=(self._source, 0))


def ctl(d, *args, user=None, check_rc=0, sock=None):
    argv = [os.path.join(d.ctx.build_dir, "privpopctl")]
    argv += ["-s", sock] if sock else ["-c", d.conf]
    argv += list(args)
    if user is not None:
        pw = U.ensure_system_user(user)
        argv = ["setpriv", "--reuid=%d" % pw.pw_uid,
                "--regid=%d" % pw.pw_gid, "--clear-groups"] + argv
    p = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    if check_rc is not None and p.returncode != check_rc:
        raise U.TestFailure("privpopctl %s: exit %d, stderr %r, stdout %r"
                            % (" ".join(args), p.returncode, p.stderr,
                               p.stdout))
    return p


def ctl_daemon(ctx, name):
    d = U.Daemon(ctx, name, prefork=2)
    users = {}
    for i, u in enumerate(("alice", "bob", "carol")):
        users[u] = d.add_user(u, PW[u], sysuser=("pptest1", "pptest2")[i % 2])
        for uniq, content, sub, flags in small_msgs(3, tag=u):
            users[u].deliver(uniq, content, sub, flags)
    d.start()
    return d, users


def who_text(d):
    """privpopctl who, as rows of dicts (checks the header)."""
    out = ctl(d, "who").stdout.splitlines()
    check(out and out[0].split() == ["PID", "SESSION", "USER", "ADDRESS",
                                     "STATE", "TLS", "AGE", "IN", "OUT"],
          "who: header %r" % (out[:1],))
    rows = []
    for line in out[1:]:
        f = line.split()
        check_eq(len(f), 9, "who: fields of %r" % line)
        rows.append(dict(zip(WHO_FIELDS, f)))
    return rows


def by_addr(rows):
    return {r["address"]: r for r in rows}


PROM_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
PROM_VALUE = r"(?:[+-]?(?:[0-9]+(?:\.[0-9]*)?(?:[eE][+-]?[0-9]+)?|Inf|NaN))"


def parse_prometheus(text):
    """The Prometheus text exposition format (version 0.0.4), strictly:
    every line a HELP, a TYPE or a sample; a metric's HELP and TYPE at
    most once and before its samples; samples of one metric together;
    counters end in _total.  {name: value}.  promtool as well when it is
    installed."""
    check(text.endswith("\n"), "prometheus: no final newline")
    help_, type_, values, done = {}, {}, {}, set()
    current = None
    for n, line in enumerate(text.split("\n")[:-1], 1):
        where = "prometheus line %d %r" % (n, line)
        m = re.fullmatch(r"# (HELP|TYPE) (%s) (.*)" % PROM_NAME, line)
        if m:
            kind, name, rest = m.groups()
            check(name not in values and name not in done,
                  where + ": HELP/TYPE after its samples")
            seen = help_ if kind == "HELP" else type_
            check(name not in seen, where + ": a second " + kind)
            if kind == "TYPE":
                check(rest in ("counter", "gauge", "untyped", "summary",
                               "histogram"), where + ": bad type")
            else:
                check(rest.strip() != "", where + ": empty HELP")
            seen[name] = rest
            continue
        check(not line.startswith("#"), where + ": a comment that is "
              "neither HELP nor TYPE")
        m = re.fullmatch(r"(%s)(?:\{[^}]*\})? (%s)(?: -?[0-9]+)?"
                         % (PROM_NAME, PROM_VALUE), line)
        check(m is not None, where + ": not a sample")
        name, value = m.groups()
        if current != name:
            if current is not None:
                done.add(current)
            check(name not in done, where + ": samples of a metric apart")
            current = name
        check(name in type_, where + ": no TYPE before the sample")
        check(name not in values, where + ": a second sample")
        values[name] = float(value)
    for name, t in type_.items():
        check(name in values, "prometheus: %s has a TYPE and no sample"
              % name)
        if t == "counter":
            check(name.endswith("_total"), "prometheus: counter %s does "
                  "not end in _total" % name)
    promtool = shutil.which("promtool")
    if promtool:
        p = subprocess.run([promtool, "check", "metrics"], input=text,
                           capture_output=True, text=True, timeout=30)
        check(p.returncode == 0, "promtool check metrics: %s"
              % (p.stdout + p.stderr))
    return values


@test("ctl_who_kick_stats")
def t_who_kick_stats(ctx):
    d, users = ctl_daemon(ctx, "ctl")
    # one failed login (counted: a wrong password), from its own address
    bad = SourcePOP3(U.HOST, d.port, "127.0.0.5", U.SOCK_TIMEOUT)
    bad.user("alice")
    try:
        bad.pass_(WRONG)
        raise U.TestFailure("a wrong password was taken")
    except poplib.error_proto:
        pass
    bad.quit()
    clients = {}
    for i, u in enumerate(("alice", "bob", "carol")):
        c = SourcePOP3(U.HOST, d.port, "127.0.0.%d" % (i + 1),
                       U.SOCK_TIMEOUT)
        c.user(u)
        c.pass_(PW[u])
        clients[u] = c
    # and one that has not logged in
    pre = socket.create_connection((U.HOST, d.port), U.SOCK_TIMEOUT,
                                   source_address=("127.0.0.4", 0))
    check(pre.recv(512).startswith(b"+OK"), "no greeting")

    want = {"127.0.0.1": "alice", "127.0.0.2": "bob", "127.0.0.3": "carol"}
    check(U.wait_until(lambda: len(who_text(d)) == 4, 5),
          "who: not 4 sessions: %r" % who_text(d))
    rows = by_addr(who_text(d))
    log = d.log_text()
    for addr, user in want.items():
        r = rows.get(addr)
        check(r is not None, "who: no session from %s: %r" % (addr, rows))
        check_eq(r["user"], user, "who: user from " + addr)
        check_eq(r["state"], "logged-in", "who: state of " + user)
        check_eq(r["tls"], "none", "who: tls of " + user)
        check(re.fullmatch(r"[0-9a-f]{16}", r["session"]),
              "who: session id %r" % r["session"])
        check(re.search(r"login: sess=%s addr=%s user=%s "
                        % (r["session"], re.escape(addr), user), log),
              "who: session %s of %s is not the sess= of its login line"
              % (r["session"], user))
        check(U.pid_alive(int(r["pid"])), "who: pid %s" % r["pid"])
        check(0 <= int(r["age"]) < 60, "who: age %s" % r["age"])
    r = rows.get("127.0.0.4")
    check(r is not None, "who: no pre-login session: %r" % rows)
    check_eq((r["state"], r["user"], r["session"], r["tls"]),
             ("pre-login", "-", "-", "-"), "who: the pre-login session")

    js = json.loads(ctl(d, "who", "--json").stdout)
    check(isinstance(js, list) and len(js) == 4, "who --json: %r" % js)
    jb = {o["address"]: o for o in js}
    for addr, user in want.items():
        o = jb[addr]
        check_eq(sorted(o), sorted(WHO_FIELDS), "who --json: keys")
        check_eq((o["user"], o["state"], o["session"], o["pid"]),
                 (user, "logged-in", rows[addr]["session"],
                  int(rows[addr]["pid"])), "who --json: " + user)
        check(isinstance(o["age"], int), "who --json: age")
    check_eq((jb["127.0.0.4"]["user"], jb["127.0.0.4"]["session"],
              jb["127.0.0.4"]["state"]), (None, None, "pre-login"),
             "who --json: the pre-login session")

    # alice deletes message 1, then is kicked: nothing is deleted
    alice = clients["alice"]
    alice.dele(1)
    before = sorted(os.path.basename(p).split(":")[0]
                    for p in users["alice"].files().values())
    check_eq(len(before), 3, "alice's messages")
    apid = int(rows["127.0.0.1"]["pid"])
    p = ctl(d, "kick", "alice")
    check(p.stdout.startswith("ended 1 session\n"), "kick: %r" % p.stdout)
    check(str(apid) in p.stdout and "alice" in p.stdout,
          "kick: does not list alice's session: %r" % p.stdout)
    alice.sock.settimeout(5)
    try:
        got = alice.sock.recv(1)
    except (ConnectionResetError, socket.timeout) as e:
        got = e
    check(got == b"" or isinstance(got, ConnectionResetError),
          "alice's connection did not close: %r" % (got,))
    check(U.wait_until(lambda: not U.pid_alive(apid), 5),
          "alice's session process %d still there" % apid)
    after = sorted(os.path.basename(p).split(":")[0]
                   for p in users["alice"].files().values())
    check_eq(after, before, "alice's messages after the kick (DELE "
             "without QUIT must delete nothing)")
    check(U.wait_until(lambda: len(who_text(d)) == 3, 5),
          "who after the kick: %r" % who_text(d))
    rows = by_addr(who_text(d))
    check("127.0.0.1" not in rows, "alice still listed: %r" % rows)
    # the others carry on
    for u in ("bob", "carol"):
        check_eq(clients[u].stat()[0], 3, u + "'s STAT after the kick")
    # a kick that matches nothing
    p = ctl(d, "kick", "nobody-at-all", check_rc=1)
    check("no session matches" in p.stderr, "kick none: %r" % p.stderr)
    # by address: the pre-login one
    p = ctl(d, "kick", "127.0.0.4")
    check(p.stdout.startswith("ended 1 session\n"), "kick addr: %r"
          % p.stdout)
    pre.settimeout(5)
    check(pre.recv(512) == b"", "the pre-login connection did not close")

    def stats():
        out = {}
        for line in ctl(d, "stats").stdout.splitlines():
            k, v = line.split()
            out[k] = int(v)
        return out

    # the kicked sessions reaped
    check(U.wait_until(lambda: stats()["slots_busy"] == 2, 5),
          "stats: slots_busy %r" % stats().get("slots_busy"))
    s = stats()
    # 1 failed + 3 logged in + 1 pre-login
    expect = {"connections_accepted_total": 5, "logins_total": 3,
              "login_failures_total": 1, "kicks_total": 2,
              "connections_refused_total": 0, "evictions_total": 0,
              "reloads_total": 0, "slots_busy": 2,
              # by mechanism: USER/PASS is "pass"
              "logins_pass_total": 3, "login_failures_pass_total": 1,
              "logins_apop_total": 0, "logins_cram_md5_total": 0,
              "logins_scram_sha_256_total": 0,
              "login_failures_apop_total": 0,
              "login_failures_cram_md5_total": 0,
              "login_failures_scram_sha_256_total": 0}
    for k, v in expect.items():
        check_eq(s.get(k), v, "stats " + k)
    check(s["slots_idle"] >= 1, "stats slots_idle %r" % s.get("slots_idle"))
    # bob's and carol's STAT above may be reported between two calls
    # (SESSION_REPORT_INTERVAL_MS): their bytes are not compared
    def steady(d_):
        return {k: v for k, v in d_.items() if not k.startswith("bytes_")}

    js = json.loads(ctl(d, "stats", "--json").stdout)
    check_eq(steady(js), steady(s), "stats --json and stats")
    prom = parse_prometheus(ctl(d, "stats", "--prometheus").stdout)
    check_eq(steady({k[len("privpop_"):]: int(v) for k, v in prom.items()}),
             steady(s), "stats --prometheus and stats")
    check(all(k.startswith("privpop_") for k in prom),
          "prometheus names: %r" % sorted(prom))
    for u in ("bob", "carol"):
        clients[u].quit()


@test("ctl_socket_root_only")
def t_socket_root_only(ctx):
    if not ctx.is_root:
        raise U.TestSkip("needs root (the socket's owner, another user)")
    d, _ = ctl_daemon(ctx, "ctlroot")
    path = os.path.join(d.dir, "privpopd.ctl")
    st = os.lstat(path)
    check(stat.S_ISSOCK(st.st_mode), "control socket: not a socket")
    check_eq(stat.S_IMODE(st.st_mode), 0o600, "control socket mode")
    check_eq((st.st_uid, st.st_gid), (0, 0), "control socket owner")
    # another user cannot connect at all
    p = ctl(d, "who", user="nobody", check_rc=1, sock=path)
    check("must be run as root" in p.stderr, "as nobody: %r" % p.stderr)
    # and if the socket were opened to it, the master refuses the peer
    os.chmod(path, 0o666)
    try:
        p = ctl(d, "stats", user="nobody", check_rc=1, sock=path)
    finally:
        os.chmod(path, 0o600)
    check("must be run as root" in p.stderr and "answers only root" in
          p.stderr, "a non-root peer: %r" % p.stderr)
    check(d.wait_log(r"control socket: refused a peer of uid %d"
                     % U.ensure_system_user("nobody").pw_uid),
          "no log line for the refused peer")
    # root still is served
    check_eq(ctl(d, "who").stdout.splitlines()[0].split()[0], "PID",
             "who as root")


@test("ctl_reload_moves_socket")
def t_reload(ctx):
    d, _ = ctl_daemon(ctx, "ctlreload")
    old = os.path.join(d.dir, "privpopd.ctl")
    p = ctl(d, "reload")
    check("reload requested" in p.stdout, "reload: %r" % p.stdout)
    check(d.wait_log(r"configuration reloaded"), "no reload in the log")
    check(os.path.exists(old), "a reload with the same path lost it")
    check(U.wait_until(lambda: "reloads_total 1" in
                       " ".join(ctl(d, "stats").stdout.split()), 5),
          "stats: reloads_total is not 1")
    # a new path: the socket moves
    new = os.path.join(d.dir, "ctl2.sock")
    d.write_conf({"control_socket": new})
    os.kill(d.pid(), 1)
    check(U.wait_until(lambda: os.path.exists(new), 5),
          "the socket did not move to %s" % new)
    check(not os.path.exists(old), "the old socket is still there")
    check("reloads_total 2" in " ".join(ctl(d, "stats").stdout.split()),
          "stats after the second reload")
    # at exit it is removed
    d.stop()
    check(not os.path.exists(new), "the socket is left after exit")
    # and without a daemon privpopctl says what to check
    p = ctl(d, "who", check_rc=1)
    check("is privpopd running? control_socket = " + new in p.stderr,
          "no daemon: %r" % p.stderr)


@test("ctl_none_and_stale")
def t_none_and_stale(ctx):
    # a stale socket (nothing answers) is replaced at start
    d = U.Daemon(ctx, "ctlstale", prefork=1)
    path = os.path.join(d.dir, "privpopd.ctl")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.bind(path)
    s.close()
    d.start()
    check_eq(ctl(d, "who").stdout.splitlines()[0].split()[0], "PID",
             "who on a replaced stale socket")
    # a second daemon on the same path leaves the live one alone
    d2 = U.Daemon(ctx, "ctlsecond", prefork=1,
                  extra_conf={"control_socket": path})
    d2.start()
    check(d2.wait_log(r"another privpopd answers there"),
          "the second daemon did not say the path is taken")
    check_eq(ctl(d, "stats").returncode, 0, "the first one's socket")
    d2.stop()
    check(os.path.exists(path), "the second daemon removed the first's "
          "socket")
    # none: no socket, and privpopctl says so
    d3 = U.Daemon(ctx, "ctlnone", prefork=1,
                  extra_conf={"control_socket": "none"})
    d3.start()
    p = ctl(d3, "who", check_rc=1)
    check("control_socket = none" in p.stderr, "none: %r" % p.stderr)


@test("ctl_log_level")
def t_log_level(ctx):
    """privpopctl log-level debug|info: debug lines from the processes
    started after it (a new session's mailstore worker), none after
    info again; alone, the level."""
    d, _users = ctl_daemon(ctx, "ctl-ll")

    mark = ctx.syslog.mark() if ctx.syslog is not None else 0

    def all_lines():
        # (with a syslog receiver, the lines go there, and to the
        # foreground daemon's stderr too: one of the two)
        if ctx.syslog is not None:
            return "\n".join(ctx.syslog.lines_since(mark))
        return d.log_text()

    def logins():
        with d.session("alice") as c:
            check(c.cmd("STAT").startswith(b"+OK"), "STAT")
            c.cmd("QUIT")

    def debug_lines():
        return all_lines().count("user alice mailbox ")

    check_eq(ctl(d, "log-level").stdout.strip(), "log level: info",
             "the level at start")
    logins()
    check_eq(debug_lines(), 0, "debug lines at level info")
    out = ctl(d, "log-level", "debug").stdout
    check("log level: debug" in out, "log-level debug: %r" % out)
    check(U.wait_until(lambda: "log level debug (privpopctl)" in
                       all_lines(), 5), "no log line for the change")
    logins()
    check(U.wait_until(lambda: debug_lines() == 1, 5),
          "no debug line from the next session's worker (%d)"
          % debug_lines())
    ctl(d, "log-level", "info")
    logins()
    time.sleep(0.5)
    check_eq(debug_lines(), 1, "debug lines after info again")
    p = ctl(d, "log-level", "loud", check_rc=2)
    check("usage" in p.stderr, "a bad level: %r" % p.stderr)
    d.stop()


@test("ctl_answer_parsed_unprivileged")
def t_answer_unprivileged(ctx):
    """privpopctl connects as root, then drops to privpopd's user before
    it sends or reads anything: a fake master on the socket reads the
    client's /proc status while it waits for the answer."""
    if not ctx.is_root:
        raise U.TestSkip("needs root (privpopctl drops from root)")
    pw = U.ensure_system_user("pptest1")
    tmp = ctx.new_tmpdir("ctldrop")
    path = os.path.join(tmp, "fake.ctl")
    conf = os.path.join(tmp, "privpopd.conf")
    with open(conf, "w") as f:
        f.write("user = pptest1\ncontrol_socket = %s\n" % path)
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    srv.bind(path)
    srv.listen(1)
    srv.settimeout(10)
    proc = subprocess.Popen([os.path.join(ctx.build_dir, "privpopctl"),
                             "-c", conf, "who"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        conn, _ = srv.accept()
        conn.settimeout(10)
        req = conn.recv(4096)
        check(len(req) > 0, "no request from privpopctl")
        cred = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12)
        pid, uid_at_connect = (int.from_bytes(cred[0:4], "little"),
                               int.from_bytes(cred[4:8], "little"))
        check_eq(uid_at_connect, 0, "the uid connect() recorded")
        with open("/proc/%d/status" % pid) as f:
            status = dict(l.split(":", 1) for l in f if ":" in l)
        check_eq(status["Uid"].split(), [str(pw.pw_uid)] * 4,
                 "privpopctl's uids while it waits for the answer")
        check_eq(status["Gid"].split(), [str(pw.pw_gid)] * 4,
                 "privpopctl's gids while it waits for the answer")
        check_eq(status["Groups"].split(), [str(pw.pw_gid)],
                 "privpopctl's groups")
        conn.close()
        _, err = proc.communicate(timeout=10)
        check_eq(proc.returncode, 1, "exit status without an answer")
        check("closed the connection without an answer" in err,
              "stderr: %r" % err)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        srv.close()


def stats_json(d):
    return json.loads(ctl(d, "stats", "--json").stdout)


@test("ctl_stats_session_counters")
def t_stats_session_counters(ctx):
    """What only the session children know (TLS handshakes, RETR, TOP,
    DELE, expunges, errors, bytes), reported to the master on the slot's
    socket: exact counts after a known sequence, in stats --json and
    --prometheus, and who's bytes for a live session."""
    import tests_tls as T
    d, u = T.tls_daemon(ctx, "ctl-sst")
    cafile = d.cert.cert
    wire = [U.to_wire(m[1]) for m in T.MSGS]
    names = ["tls_handshakes_implicit_total",
             "tls_handshake_failures_implicit_total",
             "tls_handshakes_stls_total",
             "tls_handshake_failures_stls_total",
             "retr_messages_total", "retr_octets_total", "top_total",
             "dele_total", "expunges_total", "expunged_messages_total",
             "errors_sys_temp_total", "errors_sys_perm_total",
             "errors_in_use_total", "timeouts_total",
             "protocol_errors_total", "bytes_received_total",
             "bytes_sent_total"]
    s0 = stats_json(d)
    for n in names:
        check_eq(s0.get(n), 0, "stats at start: " + n)

    # 1. implicit TLS: RETR of the three messages, TOP, who's bytes while
    # it is live, then DELE 1 and 2 and QUIT: an expunge of 2
    octets = 0
    c = T.tls_conn(d.tls_port, T.client_ctx(cafile))
    with c:
        T.login(c)
        for i in (1, 2, 3):
            r = c.cmd("RETR %d" % i)
            m = re.fullmatch(rb"\+OK (\d+) octets\r\n", r)
            check(m is not None, "RETR %d: %r" % (i, r))
            octets += int(m.group(1))
            check_eq(U.unstuff(c.multi()), wire[i - 1], "RETR %d" % i)
        r = c.cmd("TOP 1 0")
        check(r.startswith(b"+OK"), "TOP: %r" % r)
        c.multi()
        check_eq(octets, sum(len(w) for w in wire), "RETR octets")

        def live():
            return [o for o in json.loads(ctl(d, "who", "--json").stdout)
                    if o["tls"] == "implicit"]

        # reported within SESSION_REPORT_INTERVAL_MS while it waits
        check(U.wait_until(lambda: len(live()) == 1 and
                           live()[0]["bytes_out"] > octets and
                           live()[0]["bytes_in"] > 0, 5),
              "who --json: no bytes for the live session: %r" % live())
        o = live()[0]
        check_eq(o["user"], "alice", "who: the live session's user")
        row = [r for r in who_text(d) if r["tls"] == "implicit"]
        check(len(row) == 1 and int(row[0]["bytes_out"]) > octets and
              int(row[0]["bytes_in"]) > 0, "who: bytes %r" % row)
        for i in (1, 2):
            check(c.cmd("DELE %d" % i).startswith(b"+OK"), "DELE %d" % i)
        check_eq(c.cmd("QUIT"), b"+OK Logging out, 2 messages deleted.\r\n",
                 "QUIT")

    # 2. an implicit TLS handshake that fails: not TLS at all
    raw = socket.create_connection((U.HOST, d.tls_port), timeout=10)
    raw.sendall(b"USER alice\r\n" * 8)
    raw.settimeout(10)
    try:
        while raw.recv(4096):
            pass
    except (ConnectionResetError, socket.timeout):
        pass
    raw.close()

    # 3. STLS: DELE then RSET, QUIT: nothing expunged
    c, _g = T.stls_conn(d.port, T.client_ctx(cafile))
    with c:
        check(c.cmd("USER alice").startswith(b"+OK"), "USER")
        check(c.cmd("PASS " + T.PW_ALICE).startswith(b"+OK"), "PASS")
        check(c.cmd("DELE 1").startswith(b"+OK"), "STLS: DELE 1")
        check(c.cmd("RSET").startswith(b"+OK"), "RSET")
        check_eq(c.cmd("QUIT"), b"+OK Logging out, 0 messages deleted.\r\n",
                 "STLS: QUIT")

    # 4. plain: one unknown command, DELE, then the connection dropped:
    # no expunge, the message stays
    with d.connect() as c:
        T.login(c)
        check(c.cmd("XYZZY").startswith(b"-ERR"), "an unknown command")
        check(c.cmd("DELE 1").startswith(b"+OK"), "plain: DELE 1")
    check(U.wait_until(lambda: len(d.summaries()) >= 4, 10),
          "summary lines: %r" % d.summaries())
    check_eq(len(u.files()), 1, "messages left (the dropped session's "
             "DELE deleted nothing)")

    want = {"tls_handshakes_implicit_total": 1,
            "tls_handshake_failures_implicit_total": 1,
            "tls_handshakes_stls_total": 1,
            "tls_handshake_failures_stls_total": 0,
            "retr_messages_total": 3, "retr_octets_total": octets,
            "top_total": 1, "dele_total": 4, "expunges_total": 1,
            "expunged_messages_total": 2, "errors_sys_temp_total": 0,
            "errors_sys_perm_total": 0, "errors_in_use_total": 0,
            "timeouts_total": 0, "protocol_errors_total": 1}

    def got():
        js = stats_json(d)
        return {k: js.get(k) for k in want}

    # the last reports come as the sessions end: a bounded wait
    U.wait_until(lambda: got() == want, 10)
    check_eq(got(), want, "stats --json: the sessions' counters")
    js = stats_json(d)
    check(js["bytes_received_total"] > 0, "bytes_received_total %r"
          % js["bytes_received_total"])
    check(js["bytes_sent_total"] > octets, "bytes_sent_total %r"
          % js["bytes_sent_total"])
    prom = parse_prometheus(ctl(d, "stats", "--prometheus").stdout)
    for k, v in want.items():
        check_eq(prom.get("privpop_" + k), v, "prometheus " + k)
    check_eq(prom.get("privpop_bytes_sent_total"), js["bytes_sent_total"],
             "prometheus bytes_sent_total")


LIE_HOOK = "PRIVPOP_TEST_STATS_LIE"
DELTA_MAX = 1 << 40		# SST_DELTA_MAX


@test("ctl_stats_lying_session")
def t_stats_lying_session(ctx):
    """A session taken over can lie about its own figures, no more: one
    report of UINT64_MAX in every field adds SST_DELTA_MAX to each
    counter (never past INT64_MAX) and the session carries on; a flood
    of reports ends the session, the master serves on."""
    import tests_preauth
    if not tests_preauth.built_with_hooks(ctx):
        raise U.TestSkip("needs a build with --enable-test-hooks")
    for mode in ("1", "flood"):
        os.environ[LIE_HOOK] = mode
        try:
            d, _users = ctl_daemon(ctx, "ctl-lie-" + mode)
        finally:
            del os.environ[LIE_HOOK]
        if mode == "1":
            c = poplib.POP3(U.HOST, d.port, timeout=U.SOCK_TIMEOUT)
            c.user("alice")
            c.pass_(PW["alice"])
            check_eq(c.stat()[0], 3, "the lying session's STAT")
            c.quit()
            check(U.wait_until(lambda: stats_json(d)["dele_total"] ==
                               DELTA_MAX, 5), "dele_total %r, not %d" %
                  (stats_json(d)["dele_total"], DELTA_MAX))
            js = stats_json(d)
            for k in ("retr_octets_total", "expunges_total",
                      "tls_handshakes_stls_total", "timeouts_total"):
                check_eq(js[k], DELTA_MAX, "clamped " + k)
            check(DELTA_MAX < js["bytes_sent_total"] < 2 * DELTA_MAX,
                  "bytes_sent_total %r" % js["bytes_sent_total"])
            parse_prometheus(ctl(d, "stats", "--prometheus").stdout)
            continue
        s = socket.create_connection((U.HOST, d.port), U.SOCK_TIMEOUT)
        s.settimeout(10)
        got = b""
        try:
            while True:
                b = s.recv(4096)
                if not b:
                    break
                got += b
        except (ConnectionResetError, socket.timeout) as e:
            got += repr(e).encode()
        s.close()
        check(d.wait_log(r"session process \d+ sent more than 8 reports in "
                         r"a second: ended", 5),
              "the flooding session was not ended (it got %r)" % got)
        v = stats_json(d)["dele_total"]
        check(8 * DELTA_MAX <= v <= 16 * DELTA_MAX,
              "dele_total after the flood: %r" % v)
        # (every session of this daemon floods: no client is served)
        check(d.proc.poll() is None, "the master is gone")
        check_eq(ctl(d, "who").returncode, 0, "the master answers on")
