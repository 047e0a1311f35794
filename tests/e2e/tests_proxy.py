"""The PROXY protocol (issue 20) with Debian's real haproxy on loopback:
clients from 127.0.0.2 and 127.0.0.3 reach privpop through HAProxy
(send-proxy, send-proxy-v2 to the plain port, TLS passed through to
listen_tls, TLS ended at HAProxy with send-proxy-v2-ssl) and privpop
sees them, not the balancer, in its logs, trusted_networks, privpopctl
who, the per-address limits and the login failures fail2ban reads.  A
PROXY header from an address that is not a trusted balancer is refused,
and so is a trusted balancer's connection without one."""
import os
import re
import shutil
import socket
import ssl
import subprocess
import time

import e2e_util as U
import tests_ctl
import tests_tls as T
from e2e_util import check, check_eq
from registry import test

PW = "Proxy-e2e-pw-4411"
BALANCER = "127.0.0.1"
CLIENT_A = "127.0.0.2"      # not in trusted_networks
CLIENT_B = "127.0.0.3"      # in trusted_networks
V2_SIG = b"\r\n\r\n\x00\r\nQUIT\n"


def haproxy_binary():
    return shutil.which("haproxy") or (
        "/usr/sbin/haproxy" if os.access("/usr/sbin/haproxy", os.X_OK)
        else None)


class HAProxy:
    """haproxy -db (foreground) with one frontend a route: name ->
    (privpop port, server option, PEM to end TLS with or None)."""

    def __init__(self, ctx, routes):
        self.ctx = ctx
        self.dir = ctx.new_tmpdir("haproxy")
        self.routes = routes
        self.ports = {}
        self.proc = None
        self.cfg = os.path.join(self.dir, "haproxy.cfg")
        self.log = os.path.join(self.dir, "haproxy.log")
        self.port = None
        ctx.register_daemon(self)     # stopped (by pid) after the test

    def log_text(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def write(self):
        out = ["global", "    maxconn 256", "defaults", "    mode tcp",
               "    timeout connect 5s", "    timeout client 30s",
               "    timeout server 30s"]
        for name, (port, option, pem) in sorted(self.routes.items()):
            self.ports[name] = U.free_port()
            bind = "    bind %s:%d" % (U.HOST, self.ports[name])
            if pem:
                bind += " ssl crt %s" % pem
            out += ["frontend f_%s" % name, bind,
                    "    default_backend b_%s" % name,
                    "backend b_%s" % name,
                    "    server s1 %s:%d %s" % (U.HOST, port, option)]
        with open(self.cfg, "w") as f:
            f.write("\n".join(out) + "\n")

    def start(self):
        self.write()
        logf = open(self.log, "ab")
        self.proc = subprocess.Popen([haproxy_binary(), "-db", "-f",
                                      self.cfg], stdin=subprocess.DEVNULL,
                                     stdout=logf, stderr=logf)
        logf.close()

        def up():
            # listening, seen in /proc (a test connection would reach
            # privpop as a client of the balancer's own address)
            with open("/proc/net/tcp") as f:
                rows = [l.split() for l in f.readlines()[1:]]
            listening = {int(r[1].split(":")[1], 16) for r in rows
                         if r[3] == "0A"}
            return all(p in listening for p in self.ports.values())
        ok = U.wait_until(lambda: self.proc.poll() is not None or up(), 10)
        check(ok and self.proc.poll() is None, "haproxy did not start: %s"
              % open(self.log, errors="replace").read()[-2000:])
        return self

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.proc = None


def conn_from(src, port, timeout=U.SOCK_TIMEOUT):
    sock = socket.create_connection((U.HOST, port), timeout,
                                    source_address=(src, 0))
    return U.Conn(port, timeout=timeout, sock=sock)


def tls_conn_from(src, port, cafile, timeout=U.SOCK_TIMEOUT):
    raw = socket.create_connection((U.HOST, port), timeout,
                                   source_address=(src, 0))
    ctx = T.client_ctx(cafile, check_hostname=False)
    return U.Conn(port, timeout=timeout,
                  sock=ctx.wrap_socket(raw, server_hostname="localhost"))


def proxy_daemon(ctx, name, extra=None):
    conf = {"haproxy_trusted_networks": BALANCER + "/32",
            "haproxy_timeout": "2",
            "trusted_networks": CLIENT_B + "/32"}
    conf.update(extra or {})
    d, u = T.tls_daemon(ctx, name, extra_conf=conf, start=False)
    d.users.clear()
    d.passwd_lines.clear()
    u = d.add_user("alice", PW)
    for uniq, content, sub, flags in T.MSGS:
        u.deliver(uniq, content, sub, flags)
    d.start()
    return d, u


def need(ctx):
    if haproxy_binary() is None:
        raise U.TestSkip("haproxy is not installed (apt-get install "
                         "haproxy)")
    if not ctx.is_root:
        raise U.TestSkip("needs root (the test's mail users)")


def summary_of(d, addr, timeout=5.0):
    rx = re.compile(r"sess=\S+ addr=%s user=\S+ auth=(\S+) tls=(\S+) "
                    % re.escape(addr))
    U.wait_until(lambda: rx.search(d.log_text()), timeout)
    m = rx.search(d.log_text())
    check(m is not None, "no session summary with addr=%s in the log"
          % addr)
    return m.groups()


@test("proxy_haproxy_clients_seen_through_v1_v2_tls")
def t_proxy_clients(ctx):
    need(ctx)
    d, u = proxy_daemon(ctx, "proxyseen")
    pem = os.path.join(d.dir, "haproxy.pem")
    with open(pem, "w") as f:
        f.write(open(d.cert.cert).read() + open(d.cert.key).read())
    os.chmod(pem, 0o600)
    h = HAProxy(ctx, {
        "v1": (d.port, "send-proxy", None),
        "v2": (d.port, "send-proxy-v2", None),
        "v2tls": (d.tls_port, "send-proxy-v2", None),
        "v2ssl": (d.port, "send-proxy-v2-ssl", pem),
    }).start()

    # v1, from a trusted network: a password in the clear is accepted
    with conn_from(CLIENT_B, h.ports["v1"]) as c:
        c.login("alice", PW)
        check_eq(c.cmd("STAT")[:3], b"+OK", "STAT through v1")
        c.cmd("QUIT")
    check_eq(summary_of(d, CLIENT_B), ("ok", "no"), "v1 summary")
    check(d.wait_log(r"haproxy: %s is client %s port \d+"
                     % (re.escape(BALANCER), re.escape(CLIENT_B))),
          "no haproxy line for %s" % CLIENT_B)

    # v2, from an untrusted network: trusted_networks is the client's,
    # so no USER in CAPA and PASS is refused in the clear
    with conn_from(CLIENT_A, h.ports["v2"]) as c:
        check(c.resp().startswith(b"+OK"), "greeting through v2")
        c.send(b"CAPA\r\n")
        check(c.resp().startswith(b"+OK"), "CAPA")
        capa = U.unstuff(c.multi())
        check(b"USER\r\n" not in capa and b"STLS\r\n" in capa,
              "CAPA for an untrusted client behind the balancer: %r" % capa)
        check(c.cmd("USER alice").startswith(b"-ERR"),
              "USER in the clear from %s" % CLIENT_A)
        # privpopctl who shows the client, not the balancer
        who = tests_ctl.ctl(d, "who", "--json").stdout
        check(CLIENT_A in who and BALANCER not in who,
              "privpopctl who: %s" % who)
        c.cmd("QUIT")

    # TLS passed through to listen_tls, v2
    with tls_conn_from(CLIENT_A, h.ports["v2tls"], d.cert.cert) as c:
        c.login("alice", PW)
        c.cmd("QUIT")
    tls_rx = re.compile(r"addr=%s user=alice auth=ok tls=TLSv1"
                        % re.escape(CLIENT_A))
    U.wait_until(lambda: tls_rx.search(d.log_text()), 5)
    check(tls_rx.search(d.log_text()),
          "no TLS session of %s through the balancer in the log" % CLIENT_A)

    # TLS ended at HAProxy, send-proxy-v2-ssl: the SSL TLV counts as TLS
    # for plaintext_auth
    with tls_conn_from(CLIENT_A, h.ports["v2ssl"], d.cert.cert) as c:
        check(c.resp().startswith(b"+OK"), "greeting through v2-ssl")
        c.send(b"CAPA\r\n")
        c.resp()
        capa = U.unstuff(c.multi())
        check(b"USER\r\n" in capa, "CAPA behind a TLS-ending balancer: %r"
              % capa)
        check(c.cmd("USER alice").startswith(b"+OK"), "USER")
        check(c.cmd("PASS " + PW).startswith(b"+OK"), "PASS")
        c.cmd("QUIT")
    check(d.wait_log(r"is client %s port \d+ \(TLS to the balancer\)"
                     % re.escape(CLIENT_A)), "no TLS-to-the-balancer line")
    # the balancer's address is never a session's
    check(not re.search(r"sess=\S+ addr=%s " % re.escape(BALANCER),
                        d.log_text()), "a session logged as the balancer")
    h.stop()


@test("proxy_haproxy_limits_and_failures_per_client")
def t_proxy_limits(ctx):
    need(ctx)
    d, u = proxy_daemon(ctx, "proxylim", {"max_preauth_per_ip": "1"})
    h = HAProxy(ctx, {"v2": (d.port, "send-proxy-v2", None)}).start()
    # one connection of CLIENT_A waits at the greeting: a second one of
    # its is over max_preauth_per_ip and is ended, while CLIENT_B's is
    # served (before privpop knew the client, all three were the
    # balancer's)
    a1 = conn_from(CLIENT_A, h.ports["v2"])
    check(a1.resp().startswith(b"+OK"), "first connection of %s" % CLIENT_A)
    check(U.wait_until(lambda: CLIENT_A in tests_ctl.ctl(d, "who").stdout,
                       5), "the first connection is not in who")
    a2 = conn_from(CLIENT_A, h.ports["v2"])
    try:
        line = a2.readline(10)
        # the session may greet before the master counts it: either way
        # the connection is closed at once
        if line.startswith(b"+OK"):
            line = a2.readline(10)
        check_eq(line, b"", "the second connection of %s" % CLIENT_A)
    except (OSError, U.Pop3Error):
        pass
    check(d.wait_log(r"too many connections from %s \(through a balancer\)"
                     % re.escape(CLIENT_A)), "no refusal line for %s"
          % CLIENT_A)
    with conn_from(CLIENT_B, h.ports["v2"]) as c:
        c.login("alice", PW)
        c.cmd("QUIT")
    a1.close()
    a2.close()
    # a failed login is logged with the client's address (fail2ban)
    with conn_from(CLIENT_B, h.ports["v2"]) as c:
        c.resp()
        c.cmd("USER alice")
        check(c.cmd("PASS wrong-" + PW).startswith(b"-ERR"), "wrong PASS")
        c.cmd("QUIT")
    check(d.wait_log(r"login failed: sess=\S+ addr=%s user=alice"
                     % re.escape(CLIENT_B)),
          "the failure is not logged with the client's address")
    check(not re.search(r"login failed: sess=\S+ addr=%s "
                        % re.escape(BALANCER), d.log_text()),
          "a failure logged with the balancer's address")
    h.stop()


@test("proxy_header_from_untrusted_source_refused")
def t_proxy_untrusted(ctx):
    need(ctx)
    d, u = proxy_daemon(ctx, "proxyuntr")
    # v1 from a client that is not a balancer
    with conn_from(CLIENT_A, d.port) as c:
        check(c.resp().startswith(b"+OK"), "greeting")
        r = c.cmd("PROXY TCP4 192.0.2.9 127.0.0.1 5555 110")
        check(r.startswith(b"-ERR [SYS/PERM]"), "v1 header: %r" % r)
        check_eq(c.readline(5), b"", "connection after the refusal")
    # v2's signature
    with conn_from(CLIENT_A, d.port) as c:
        c.resp()
        c.send(V2_SIG + b"\x21\x11\x00\x0c" + bytes(12))
        lines = [c.readline(5) for _ in range(4)]
        check(any(l.startswith(b"-ERR [SYS/PERM]") for l in lines),
              "v2 header: %r" % lines)
    check(d.wait_log(r"haproxy: %s sent a PROXY header, but "
                     r"haproxy_trusted_networks does not list it"
                     % re.escape(CLIENT_A)), "no log line for the refusal")


@test("proxy_trusted_source_without_header_refused")
def t_proxy_missing(ctx):
    need(ctx)
    d, u = proxy_daemon(ctx, "proxymiss")
    # a POP3 command where the header belongs: no greeting, closed
    with conn_from(BALANCER, d.port) as c:
        c.send(b"USER alice\r\n")
        check_eq(c.readline(10), b"", "a balancer's connection without a "
                 "header")
    check(d.wait_log(r"haproxy: %s: no PROXY header .*connection closed"
                     % re.escape(BALANCER)), "no log line (no header)")
    # nothing at all: closed after haproxy_timeout (2 s)
    with conn_from(BALANCER, d.port) as c:
        t0 = time.monotonic()
        check_eq(c.readline(15), b"", "a silent balancer connection")
        check(time.monotonic() - t0 < 12, "closed only after %.1f s"
              % (time.monotonic() - t0))
    check(d.wait_log(r"haproxy: %s: no whole PROXY header within "
                     r"haproxy_timeout" % re.escape(BALANCER)),
          "no log line (timeout)")
    # a malformed v1 header
    with conn_from(BALANCER, d.port) as c:
        c.send(b"PROXY TCP4 192.0.2.300 127.0.0.1 1 2\r\n")
        check_eq(c.readline(10), b"", "a malformed header")
    # a v2 LOCAL header (a health check): served as the balancer's own
    with conn_from(BALANCER, d.port) as c:
        c.send(V2_SIG + b"\x20\x00\x00\x00")
        check(c.resp().startswith(b"+OK"), "greeting after LOCAL")
        c.cmd("QUIT")
    check(U.wait_until(lambda: re.search(r"sess=\S+ addr=%s "
                                         % re.escape(BALANCER),
                                         d.log_text()), 5),
          "the LOCAL connection is not the balancer's")


def docs_recipe(name):
    """The ``` block of docs/scale-out.md that follows the heading
    `name`: the configuration an admin copies."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                        "..", "..", "docs", "scale-out.md")
    with open(path) as f:
        text = f.read()
    after = text[text.index(name):]
    start = after.index("```\n") + 4
    return after[start:after.index("```", start)]


@test("proxy_docs_recipe_runs_with_two_nodes")
def t_proxy_docs_recipe(ctx):
    """docs/scale-out.md's HAProxy configuration, as written (its node
    addresses 10.0.0.11/12 moved to 127.0.0.11/12, its ports to free
    ones, syslog left out): both nodes pass its health check (a PROXY
    header of its own, +OK expected), and clients on 127.0.0.2 and
    127.0.0.3 log in through its plain and TLS frontends, seen by the
    nodes as themselves."""
    need(ctx)
    cfg = docs_recipe("### TLS passed through (privpop terminates TLS)")
    check("send-proxy-v2 check" in cfg and "tcp-check expect string +OK"
          in cfg, "the recipe is not the one this test knows: %r" % cfg)
    plain, tls = U.free_port(), U.free_port()
    nodes = []
    for addr in ("127.0.0.11", "127.0.0.12"):
        d = U.Daemon(ctx, "recipe-" + addr.rsplit(".", 1)[1], prefork=2)
        c = T.install_cert(d, "rsa", "server")
        d.extra_conf.update({
            "listen": "%s:%d" % (addr, plain),
            "listen_tls": "%s:%d" % (addr, tls),
            "tls_cert": c.cert, "tls_key": c.key,
            "haproxy_trusted_networks": BALANCER + "/32",
            "trusted_networks": CLIENT_B + "/32"})
        u = d.add_user("alice", PW)
        for uniq, content, sub, flags in T.MSGS:
            u.deliver(uniq, content, sub, flags)
        d.start()
        d.cert = c
        nodes.append(d)
    front_plain, front_tls = U.free_port(), U.free_port()
    cfg = cfg.replace("    log /dev/log local0\n", "")
    cfg = cfg.replace("    log     global\n", "")
    cfg = cfg.replace("    option  tcplog\n", "")
    cfg = cfg.replace("bind :110", "bind %s:%d" % (U.HOST, front_plain))
    cfg = cfg.replace("bind :995", "bind %s:%d" % (U.HOST, front_tls))
    cfg = cfg.replace("connect port 110", "connect port %d" % plain)
    for n in ("11", "12"):
        cfg = cfg.replace("10.0.0.%s:110" % n, "127.0.0.%s:%d" % (n, plain))
        cfg = cfg.replace("10.0.0.%s:995" % n, "127.0.0.%s:%d" % (n, tls))
    check("10.0.0." not in cfg and ":110" not in cfg and ":995" not in cfg,
          "a recipe address left: %r" % cfg)
    h = HAProxy(ctx, {})
    h.ports = {"plain": front_plain, "tls": front_tls}

    def write_recipe():
        with open(h.cfg, "w") as f:
            f.write(cfg)
    h.write = write_recipe
    h.write()
    r = subprocess.run([haproxy_binary(), "-c", "-f", h.cfg],
                       capture_output=True, text=True, timeout=30)
    check(r.returncode == 0, "haproxy -c refuses the recipe: %s%s"
          % (r.stdout[-1500:], r.stderr[-1500:]))
    h.start()
    # both nodes pass the health check: each sees the check's own
    # connection with a PROXY header, and greets it
    for d in nodes:
        check(d.wait_log(r"sess=\S+ addr=\S+ user=- auth=none", 15),
              "no health check reached node %s" % d.dir)
    with conn_from(CLIENT_B, front_plain) as c:
        c.login("alice", PW)
        c.cmd("QUIT")
    with tls_conn_from(CLIENT_A, front_tls, nodes[0].cert.cert) as c:
        c.login("alice", PW)
        c.cmd("QUIT")
    # each summary line is written as its session ends, after the QUIT
    # answer the client has already read
    for who in (CLIENT_B, CLIENT_A):
        pat = r"addr=%s user=alice auth=ok" % re.escape(who)
        check(U.wait_until(lambda: re.search(pat, "".join(
            d.log_text() for d in nodes)), 5),
            "no login of %s through the recipe" % who)
    # a health check ends with a reset once it has the greeting: a
    # disconnect, not an error of either node (no end=error, no helper
    # or session exiting with a status, every few seconds)
    logs = "".join(d.log_text() for d in nodes)
    bad = [l for l in logs.splitlines() if "exited with status" in l or
           "end=error" in l or "not a trusted balancer" in l or
           "cannot be read" in l]
    check(not bad, "health checks logged as errors: %r" % bad[:4])
    check(re.search(r"user=- auth=none .*end=disconnect", logs),
          "no health check ended as a disconnect: %r" % logs[-1500:])
    h.stop()
