"""metrics_listen: the master's counters over HTTP from an unprivileged
metrics process.  GET /metrics in the Prometheus text format (parsed
strictly) equal to privpopctl stats --prometheus; 404, 405 and 400;
a slow client closed after the timeout without blocking another; the
process runs as the session user, in the chroot, filtered, with no
descriptor of the master's POP3 listeners; a reload moves it, a killed
one is restarted."""
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request

import e2e_util as U
from e2e_util import check, check_eq
from registry import test
from tests_ctl import ctl, parse_prometheus, PW, WRONG, SourcePOP3
from tests_proctitle import title
from tests_seccomp import built_with_seccomp

PUSH_INTERVAL = 2        # METRICS_PUSH_INTERVAL
REQUEST_TIMEOUT = 5      # METRICS_REQUEST_TIMEOUT


def metrics_daemon(ctx, name):
    port = U.free_port()
    # ctl_daemon's users and mail; metrics on a port of its own
    d = U.Daemon(ctx, name, prefork=2,
                 extra_conf={"metrics_listen": "%s:%d" % (U.HOST, port)})
    users = {}
    for i, u in enumerate(("alice", "bob")):
        users[u] = d.add_user(u, PW[u], sysuser=("pptest1", "pptest2")[i])
    d.start()
    return d, port


def metrics_pid(d):
    """The metrics process: the master's child titled privpop: [metrics]."""
    def find():
        for p in U.children_of(d.pid()):
            if title(p) == "privpop: [metrics]":
                check_eq(U.comm_of(p), "privpop-metrics", "its comm")
                return p
        return None
    return U.wait_until(find, 5)


def http(port, raw, timeout=10):
    """Send raw bytes, read the whole answer: (status, headers, body)."""
    s = socket.create_connection((U.HOST, port), timeout=timeout)
    try:
        s.sendall(raw)
        data = b""
        while True:
            b = s.recv(65536)
            if not b:
                break
            data += b
    finally:
        s.close()
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1]) if lines and lines[0] else 0
    hdrs = {}
    for l in lines[1:]:
        k, _, v = l.partition(b":")
        hdrs[k.strip().lower().decode()] = v.strip().decode()
    return status, hdrs, body


def scrape(port):
    with urllib.request.urlopen("http://%s:%d/metrics" % (U.HOST, port),
                                timeout=10) as r:
        return r.status, r.headers, r.read().decode()


@test("metrics_http_matches_ctl")
def t_metrics_http(ctx):
    d, port = metrics_daemon(ctx, "metrics")
    # a login and a failed login
    with d.session("alice") as c:
        check(c.cmd("STAT").startswith(b"+OK"), "STAT")
        # a figure only the session knows (its report to the master)
        check(c.cmd("XYZZY").startswith(b"-ERR"), "an unknown command")
    bad = SourcePOP3(U.HOST, d.port, "127.0.0.5", U.SOCK_TIMEOUT)
    bad.user("bob")
    try:
        bad.pass_(WRONG)
        raise U.TestFailure("a wrong password was taken")
    except Exception as e:  # poplib.error_proto
        check("ERR" in str(e), "wrong password: %r" % e)
    bad.close()
    check(U.wait_until(lambda: "logins_total 1" in " ".join(
        ctl(d, "stats").stdout.split()), 5), "stats: logins_total not 1")

    def values():
        st, hdrs, text = scrape(port)
        check_eq(st, 200, "GET /metrics status")
        return hdrs, text, parse_prometheus(text)
    # within the push interval, the counters reach the snapshot
    got = U.wait_until(lambda: (lambda v: v if v[2].get(
        "privpop_logins_total") == 1 and v[2].get(
        "privpop_login_failures_total") == 1 and v[2].get(
        "privpop_protocol_errors_total") == 1 else None)(values()),
        3 * PUSH_INTERVAL + 2)
    check(got, "GET /metrics: logins_total, login_failures_total and "
          "protocol_errors_total never 1")
    hdrs, text, prom = got
    check_eq(hdrs.get("Content-Type"), "text/plain; version=0.0.4",
             "Content-Type")
    check_eq(int(hdrs.get("Content-Length")), len(text.encode()),
             "Content-Length")
    check_eq(hdrs.get("Connection"), "close", "Connection")
    ctlprom = parse_prometheus(ctl(d, "stats", "--prometheus").stdout)
    check_eq(sorted(prom), sorted(ctlprom), "the metrics of HTTP and "
             "privpopctl")
    # counters that did not move since are equal; the HELP/TYPE lines
    # are the one table's
    for k in ("privpop_logins_total", "privpop_login_failures_total",
              "privpop_logins_pass_total", "privpop_slots_max",
              "privpop_start_time_seconds", "privpop_reloads_total",
              "privpop_connections_accepted_total",
              "privpop_protocol_errors_total"):
        check_eq(prom[k], ctlprom[k], k)
    ctltext = ctl(d, "stats", "--prometheus").stdout
    check_eq([l for l in text.splitlines() if l.startswith("#")],
             [l for l in ctltext.splitlines() if l.startswith("#")],
             "HELP and TYPE lines of HTTP and privpopctl")
    # curl too, when it is there
    if shutil.which("curl"):
        p = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w",
                            "%{http_code}", "http://%s:%d/metrics"
                            % (U.HOST, port)], capture_output=True,
                           text=True, timeout=20)
        check_eq(p.stdout, "200", "curl /metrics")
        p = subprocess.run(["curl", "-s", "http://%s:%d/metrics"
                            % (U.HOST, port)], capture_output=True,
                           text=True, timeout=20)
        parse_prometheus(p.stdout)
    # 404, 405, 400
    try:
        urllib.request.urlopen("http://%s:%d/other" % (U.HOST, port),
                               timeout=10)
        raise U.TestFailure("/other did not fail")
    except urllib.error.HTTPError as e:
        check_eq(e.code, 404, "GET /other")
    try:
        urllib.request.urlopen(urllib.request.Request(
            "http://%s:%d/metrics" % (U.HOST, port), data=b"x=1",
            method="POST"), timeout=10)
        raise U.TestFailure("POST did not fail")
    except urllib.error.HTTPError as e:
        check_eq(e.code, 405, "POST /metrics")
    for raw in (b"garbage\r\n\r\n", b"GET /metrics\r\n\r\n",
                b"GET metrics HTTP/1.1\r\n\r\n",
                b"GET /metrics HTTP/1.1\r\nno colon\r\n\r\n",
                b"GET /met\0rics HTTP/1.1\r\n\r\n",
                b"GET /" + b"a" * 3000 + b" HTTP/1.1\r\n\r\n"):
        st, _, _ = http(port, raw)
        check_eq(st, 400, "request %r" % raw[:40])
    st, _, body = http(port, b"GET /metrics HTTP/1.0\r\n\r\n")
    check_eq(st, 200, "HTTP/1.0")
    parse_prometheus(body.decode())

    # a slow client that sends nothing does not block another, and is
    # closed after the timeout
    slow = socket.create_connection((U.HOST, port), timeout=20)
    t0 = time.monotonic()
    st, _, _ = http(port, b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
    check_eq(st, 200, "a request beside a slow client")
    check(time.monotonic() - t0 < 2, "the slow client held up another")
    check_eq(slow.recv(100), b"", "the slow client got an answer")
    took = time.monotonic() - t0
    check(REQUEST_TIMEOUT - 1 <= took <= REQUEST_TIMEOUT + 2,
          "the slow client was closed after %.1f s, not %d"
          % (took, REQUEST_TIMEOUT))
    slow.close()

    # the process: privpop user, chroot, NoNewPrivs, seccomp, no POP3
    # listener, cannot fork
    mp = metrics_pid(d)
    check(mp, "no process titled privpop: [metrics] below the master")
    status = U.status_of(mp)
    if ctx.is_root:
        pw = U.ensure_system_user("privpop")
        check_eq(status.get("Uid").split(), [str(pw.pw_uid)] * 4,
                 "metrics process Uid")
        check_eq(status.get("Gid").split(), [str(pw.pw_gid)] * 4,
                 "metrics process Gid")
        # setgroups(1, &gid): its own group only, as the slot zygote
        check_eq(status.get("Groups", "").split(), [str(pw.pw_gid)],
                 "supplementary groups")
        check_eq(os.readlink("/proc/%d/root" % mp), U.CHROOT_DIR,
                 "metrics process root")
    check_eq(status.get("NoNewPrivs"), "1", "NoNewPrivs")
    if built_with_seccomp(ctx):
        check_eq(status.get("Seccomp"), "2", "Seccomp")
    with open("/proc/%d/limits" % mp) as f:
        nproc = [l.split()[2:4] for l in f if l.startswith("Max processes")]
    check_eq(nproc, [["0", "0"]], "RLIMIT_NPROC")
    pop3 = set()
    for inode in U.socket_inodes_of(d.pid()):
        for loc, _rem, st, ino in U.tcp_table():
            if ino == inode and st == "0A" and loc.endswith(
                    ":%04X" % d.port):
                pop3.add(ino)
    check(pop3, "no POP3 listener found in the master")
    check(not (pop3 & U.socket_inodes_of(mp)),
          "the metrics process holds a POP3 listener")
    fds = os.listdir("/proc/%d/fd" % mp)
    check(len(fds) <= 6, "the metrics process holds %d descriptors: %r"
          % (len(fds), [os.readlink("/proc/%d/fd/%s" % (mp, f))
                        for f in fds]))
    # no slot, nor the zygote, holds the metrics listener
    mlisten = {ino for loc, _r, st, ino in U.tcp_table()
               if st == "0A" and loc.endswith(":%04X" % port)}
    check_eq(len(mlisten), 1, "the metrics listener")
    holders = U.holders_of_inode(next(iter(mlisten)))
    check_eq(sorted(holders), sorted([d.pid(), mp]),
             "holders of the metrics listener")
    check(not d.wait_log(r"seccomp: .* killed", 0.1),
          "a forbidden call:\n" + d.log_text()[-2000:])


@test("metrics_restart_reload_stop")
def t_metrics_restart(ctx):
    d, port = metrics_daemon(ctx, "metricsrl")
    mp = metrics_pid(d)
    check(mp, "no metrics process")
    os.kill(mp, signal.SIGKILL)
    check(d.wait_log(r"metrics process %d killed by signal 9; restarting"
                     % mp, 5), "no log line for the killed process")
    mp2 = U.wait_until(lambda: (lambda p: p if p and p != mp else None)(
        metrics_pid(d)), 5)
    check(mp2, "the metrics process was not restarted")
    check(U.wait_until(lambda: scrape(port)[0] == 200, 3 * PUSH_INTERVAL),
          "no answer from the restarted process")
    # a reload with the same address keeps it
    os.kill(d.pid(), signal.SIGHUP)
    check(d.wait_log(r"configuration reloaded"), "no reload")
    check_eq(metrics_pid(d), mp2, "a reload that changes nothing")
    # a new port: the old one closes, the new one answers
    port2 = U.free_port()
    d.write_conf({"metrics_listen": "%s:%d" % (U.HOST, port2)})
    os.kill(d.pid(), signal.SIGHUP)
    check(U.wait_until(lambda: d.log_text().count(
        "configuration reloaded") >= 2, 5), "no second reload")
    check(U.wait_until(lambda: not U.pid_alive(mp2), 5),
          "the old process lives on")
    # the new process has its first snapshot before it accepts
    st, _, text = scrape(port2)
    check_eq(st, 200, "the new port")
    parse_prometheus(text)
    try:
        socket.create_connection((U.HOST, port), timeout=3).close()
        raise U.TestFailure("the old metrics port still accepts")
    except OSError:
        pass
    # none: no process
    d.write_conf({"metrics_listen": "none"})
    os.kill(d.pid(), signal.SIGHUP)
    check(U.wait_until(lambda: d.log_text().count(
        "configuration reloaded") >= 3, 5), "no third reload")
    check(U.wait_until(lambda: not any(
        title(p) == "privpop: [metrics]"
        for p in U.children_of(d.pid())), 5), "metrics_listen = none: the "
        "process lives on")
    # at shutdown, it goes with the master
    d.write_conf({"metrics_listen": "%s:%d" % (U.HOST, port2)})
    os.kill(d.pid(), signal.SIGHUP)
    mp3 = U.wait_until(lambda: metrics_pid(d), 5)
    check(mp3, "no metrics process after a reload back on")
    d.stop()
    check(not U.pid_alive(mp3), "the metrics process outlived the master")


@test("seccomp_metrics_forbidden_call")
def t_seccomp_metrics(ctx):
    from tests_seccomp import built_with_hooks, HOOK_ENV
    if not built_with_seccomp(ctx) or not built_with_hooks(ctx):
        raise U.TestSkip("needs a build with --enable-test-hooks")
    os.environ[HOOK_ENV] = "metrics"
    try:
        d, port = metrics_daemon(ctx, "metricshook")
    finally:
        del os.environ[HOOK_ENV]
    check(d.wait_log(r"seccomp: metrics process killed: forbidden system "
                     r"call \d+ \(ptrace\)", 10),
          "no seccomp line:\n" + d.log_text()[-2000:])
    check(d.wait_log(r"metrics process \d+ killed by signal %d"
                     % signal.SIGSYS, 10), "the reaper did not log it")
