#!/usr/bin/env python3
"""privpop benchmark driver: privpop against Dovecot (see tests/bench/README.md).

Run as root from the build directory (make bench does that):

    python3 tests/bench/run-bench.py --build-dir . --popload ./bench-popload

Environment: BENCH_QUICK=1 (one round, smaller sizes), BENCH_ROUNDS=N,
BENCH_DIR=/path (work directory, default /var/tmp/privpop-bench),
BENCH_ONLY=login-plain,tls,... (run only these scenarios),
BENCH_USERS=N (N more virtual users in both passwd-files),
BENCH_KEEP=1 (keep the work directory).

Every wait has a deadline and every process started here is stopped by its
PID (privpopd by its PID and its descendants, Dovecot by `doveadm stop`
and then the PIDs of its tree).
"""
import argparse
import fcntl
import json
import os
import grp
import pwd
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time

HOST = "127.0.0.1"
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import plot  # noqa: E402  (tests/bench/plot.py)
PASSWORD = "bench-Pw1"
MAILOWNER = "ppbench"
CHROOT = "/var/lib/privpop/empty"

QUICK = os.environ.get("BENCH_QUICK", "") not in ("", "0")
P = {
    "rounds": 1 if QUICK else 3,
    "login_clients": 50,
    "login_secs": 4.0 if QUICK else 10.0,
    "dl_clients": 20,
    "dl_msgs": 20,
    "dl_size": 50 * 1024,
    "dl_secs": 3.0 if QUICK else 8.0,
    "big_msgs": 20000 if QUICK else 100000,
    "big_size": 1536,
    "idle_sessions": 1000,
    "login_msgs": 5,
    # large: 4 messages of 2 MB per session (the byte path)
    "large_clients": 8,
    "large_msgs": 4,
    "large_size": 2 * 1024 * 1024,
    "loop_secs": 2.0 if QUICK else 4.0,
}
# a resume scenario in which fewer of the handshakes that offered a
# session resumed than this fails loudly (errors): it does not resume.
# (OpenSSL servers that issue no ticket after a resumption, as Dovecot
# 2.3, resume every other handshake: 0.5.)
RESUME_MIN = 0.4
# BENCH_USERS=N: N more virtual users in both servers' passwd-files (a
# shared host's user database), none of which log in.
P["fill_users"] = max(0, min(1000000, int(os.environ.get("BENCH_USERS")
                                          or 0)))
if os.environ.get("BENCH_ROUNDS"):
    P["rounds"] = max(1, min(20, int(os.environ["BENCH_ROUNDS"])))

SCENARIOS = ["login-plain", "login-sha512", "tls", "tls-resume",
             "proxy-login", "download-maildir", "download-mbox",
             "download-tls-maildir", "download-tls-mbox",
             "download-tls-resume", "large", "large-tls",
             "bigbox-maildir", "bigbox-mbox", "idle"]


def write_fill_users(f, tail):
    """BENCH_USERS entries ahead of the bench's own, in the format both
    servers share (Dovecot's has one more, empty, field: tail)."""
    for i in range(P["fill_users"]):
        f.write("vu%d@fill.example:{PLAIN}fill-%d:65534:65534::"
                "/nonexistent/vu%d:%s\n" % (i, i, i, tail))


def log(msg):
    sys.stderr.write("[bench %s] %s\n" % (time.strftime("%H:%M:%S"), msg))
    sys.stderr.flush()


def run(argv, timeout=120, **kw):
    return subprocess.run(argv, timeout=timeout, check=True,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)


def free_port():
    s = socket.socket()
    try:
        s.bind((HOST, 0))
        return s.getsockname()[1]
    finally:
        s.close()


def wait_port(port, timeout=15.0, src=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(
                    (HOST, port), timeout=2,
                    source_address=(src, 0) if src else None) as s:
                s.settimeout(3)
                if s.recv(100).startswith(b"+OK"):
                    return True
        except OSError:
            pass
        time.sleep(0.1)
    return False


# ---------------------------------------------------------------- /proc

def proc_table():
    out = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                data = f.read()
        except OSError:
            continue
        rest = data[data.rfind(")") + 2:].split()
        out[int(d)] = int(rest[1])
    return out


def tree_of(pid):
    """pid and all its descendants (one /proc scan, bounded)."""
    parent = proc_table()
    out, frontier = {pid}, [pid]
    for _ in range(100000):
        if not frontier:
            break
        cur = frontier.pop()
        for p, pp in parent.items():
            if pp == cur and p not in out:
                out.add(p)
                frontier.append(p)
    return sorted(p for p in out if p in parent)


def tree_cpu(pids):
    """CPU seconds of a server: every process of its tree, each with the
    CPU of the children it has reaped (cutime, cstime), so that a
    session's processes count once whether they are alive or gone."""
    hz = os.sysconf("SC_CLK_TCK")
    total = 0
    for p in pids:
        try:
            with open("/proc/%d/stat" % p) as f:
                data = f.read()
        except OSError:
            continue
        rest = data[data.rfind(")") + 2:].split()
        total += sum(int(x) for x in rest[11:15])
    return total / float(hz)


def load_cpu():
    """CPU seconds of this script's reaped children: popload's."""
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def pss_kb(pid):
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def kill_tree(pids, grace=5.0):
    pids = [p for p in pids if p != os.getpid()]
    for p in pids:
        try:
            os.kill(p, signal.SIGTERM)
        except OSError:
            pass
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        alive = [p for p in pids if os.path.exists("/proc/%d" % p)
                 and not _zombie(p)]
        if not alive:
            return
        time.sleep(0.1)
    for p in pids:
        try:
            os.kill(p, signal.SIGKILL)
        except OSError:
            pass


def _zombie(p):
    try:
        with open("/proc/%d/stat" % p) as f:
            d = f.read()
        return d[d.rfind(")") + 2] == "Z"
    except OSError:
        return True


# ---------------------------------------------------------------- data

def ensure_user(name):
    try:
        return pwd.getpwnam(name)
    except KeyError:
        run(["useradd", "--system", "--no-create-home", "--home-dir",
             "/nonexistent", "--shell", "/usr/sbin/nologin", name])
        return pwd.getpwnam(name)


def message(i, size, tag):
    """An RFC 5322 message of about size bytes, LF line ends, no body line
    starting with 'From ' (mbox) but some starting with '.' (dot-stuffing)."""
    hdr = ("Return-Path: <sender@example.org>\n"
           "From: Sender <sender@example.org>\n"
           "To: <rcpt@example.org>\n"
           "Subject: bench %s message %d\n"
           "Date: Mon, 01 Jan 2024 00:00:00 +0000\n"
           "Message-ID: <%s.%d@bench.example.org>\n\n" % (tag, i, tag, i))
    line = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-%08d\n"
    body = []
    n = len(hdr)
    k = 0
    while n < size - 1:
        l = line % (i * 1000 + k)
        if k % 16 == 5:
            l = "." + l[1:]
        body.append(l)
        n += len(l)
        k += 1
    return (hdr + "".join(body)).encode()[:max(size, len(hdr))].rstrip(b"\n") + b"\n"


class Layout:
    def __init__(self, work, owner):
        self.work = work
        self.uid, self.gid = owner.pw_uid, owner.pw_gid

    def home(self, server, user):
        return os.path.join(self.work, "homes", server, user)

    def chown_tree(self, path):
        for root, dirs, files in os.walk(path):
            os.chown(root, self.uid, self.gid)
            for f in files:
                os.chown(os.path.join(root, f), self.uid, self.gid)

    def make_home(self, server, user):
        h = self.home(server, user)
        os.makedirs(h, exist_ok=True)
        os.chmod(h, 0o700)
        return h

    def make_maildir(self, server, user, msgs):
        """msgs: list of bytes.  Messages go to cur/ with ':2,S' (seen),
        named like a delivery agent without S=/W= size fields."""
        h = self.make_home(server, user)
        md = os.path.join(h, "Maildir")
        for s in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(md, s), exist_ok=True)
        for i, m in enumerate(msgs):
            name = "1700000000.M%dP%d.bench:2,S" % (i, 4242)
            with open(os.path.join(md, "cur", name), "wb") as f:
                f.write(m)
        self.chown_tree(h)

    def make_mbox(self, server, user, msgs, path=None):
        h = self.make_home(server, user)
        mb = path or os.path.join(h, "mbox")
        with open(mb, "wb") as f:
            for m in msgs:
                f.write(b"From sender@example.org Mon Jan  1 00:00:00 2024\n")
                f.write(m)
                f.write(b"\n")
        self.chown_tree(h)
        return mb


# ---------------------------------------------------------------- servers

class Privpop:
    name = "privpop"

    def __init__(self, args, work, cert, key, sub="pp", extra=()):
        self.build = os.path.abspath(args.build_dir)
        self.extra = list(extra)
        self.dir = os.path.join(work, sub)
        os.makedirs(self.dir, exist_ok=True)
        self.port = free_port()
        self.tls_port = free_port()
        self.cert, self.key = cert, key
        self.passwd = os.path.join(self.dir, "passwd")
        self.conf = os.path.join(self.dir, "privpopd.conf")
        self.log = os.path.join(self.dir, "privpopd.log")
        self.lines = []
        self.proc = None

    def add_user(self, name, hashed, uid, gid, home, mail):
        self.lines.append("%s:%s:%d:%d::%s:%s" % (name, hashed, uid, gid,
                                                 home, mail))

    def start(self):
        with open(self.passwd, "w") as f:
            write_fill_users(f, "")
            f.write("\n".join(self.lines) + "\n")
        os.chmod(self.passwd, 0o600)
        conf = [
            ("listen", "%s:%d" % (HOST, self.port)),
            ("listen_tls", "%s:%d" % (HOST, self.tls_port)),
            ("tls_cert", self.cert), ("tls_key", self.key),
            ("user", "privpop"), ("chroot", CHROOT),
            ("prefork", "12"), ("max_sessions", "1200"),
            # one address stands for every client here: the per-address
            # limits before login (10 by default) would refuse the load
            ("limits_exempt", "127.0.0.0/8 ::1"),
            ("plaintext_auth", "always"),
            ("auth_backends", "passwd-file"),
            ("passwd_file", self.passwd),
            # the mailbox owner is a system user (as for Dovecot)
            ("first_valid_uid",
             str(min(100, pwd.getpwnam(MAILOWNER).pw_uid))),
            ("mail_location", "maildir:~/Maildir"),
            ("auth_fail_delay_ms", "10"),
            ("auth_penalty_base_ms", "0"),
            ("auth_helper", os.path.join(self.build, "privpop-auth")),
            ("store_helper", os.path.join(self.build, "privpop-store")),
            ("pid_file", os.path.join(self.dir, "privpopd.pid")),
            ("hostname", "bench.example.org"),
            # tickets on (off by default): tls-resume and
            # download-tls-resume resume with them; Dovecot sends
            # tickets by default too
            ("tls_ticket_rotate", "3600"),
        ] + self.extra
        with open(self.conf, "w") as f:
            f.write("# privpop bench (generated by run-bench.py)\n")
            for k, v in conf:
                f.write("%s = %s\n" % (k, v))
        r = subprocess.run([os.path.join(self.build, "privpopd"), "-t", "-c",
                            self.conf], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=30)
        if r.returncode != 0:
            raise SystemExit("privpopd -t failed: %s" % r.stdout.decode())
        logf = open(self.log, "ab")
        self.proc = subprocess.Popen(
            [os.path.join(self.build, "privpopd"), "-f", "-c", self.conf],
            stdin=subprocess.DEVNULL, stdout=logf, stderr=logf,
            cwd=self.dir)
        logf.close()
        # a server that wants PROXY headers from 127.0.0.1: greet a
        # direct client from 127.0.0.2
        src = "127.0.0.2" if any(k == "haproxy_trusted_networks"
                                 for k, _ in self.extra) else None
        if not wait_port(self.port, src=src) or self.proc.poll() is not None:
            self.stop()
            raise SystemExit("privpopd did not start; log %s" % self.log)

    def pids(self):
        return tree_of(self.proc.pid) if self.proc else []

    def stop(self):
        if not self.proc:
            return
        tree = self.pids()
        try:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)
        except OSError:
            pass
        kill_tree([p for p in tree if p != self.proc.pid], 3)
        self.proc = None

    def reset_bigbox(self, layout, user, fmt, pristine):
        h = layout.home("pp", user)
        shutil.rmtree(os.path.join(h, ".privpop"), ignore_errors=True)
        for cache in (".privpop-sizes", ".privpop-listing"):
            try:    # the Maildir size cache and listing snapshot
                os.unlink(os.path.join(h, "Maildir", cache))
            except FileNotFoundError:
                pass
        for n in os.listdir(h):
            if n.startswith(".mbox.privpop") or n.endswith(".lock"):
                os.unlink(os.path.join(h, n))
        if fmt == "mbox":
            _restore(pristine, os.path.join(h, "mbox"), layout)


def _restore(pristine, dst, layout):
    """Put the pristine mbox back if the server changed it."""
    try:
        st, sp = os.stat(dst), os.stat(pristine)
        same = st.st_size == sp.st_size and st.st_mtime == sp.st_mtime
    except OSError:
        same = False
    if not same:
        shutil.copy2(pristine, dst + ".tmp")
        os.chown(dst + ".tmp", layout.uid, layout.gid)
        os.rename(dst + ".tmp", dst)


class Dovecot:
    name = "dovecot"

    def __init__(self, args, work, cert, key):
        self.dir = os.path.join(work, "dc")
        for d in ("run", "state", "index"):
            os.makedirs(os.path.join(self.dir, d), exist_ok=True)
        os.chmod(self.dir, 0o755)
        self.port = free_port()
        self.tls_port = free_port()
        self.proxy_port = free_port()
        self.cert, self.key = cert, key
        self.passwd = os.path.join(self.dir, "passwd")
        self.conf = os.path.join(self.dir, "dovecot.conf")
        self.log = os.path.join(self.dir, "dovecot.log")
        self.lines = []
        self.master = None

    def add_user(self, name, hashed, uid, gid, home, mail):
        if hashed.startswith("$"):
            hashed = "{CRYPT}" + hashed
        idx = os.path.join(self.dir, "index", name)
        if mail.startswith("mbox:"):
            loc = "mbox:~/mail:INBOX=~/mbox:INDEX=%s:CONTROL=%s" % (idx, idx)
        else:
            loc = "maildir:~/Maildir:INDEX=%s:CONTROL=%s" % (idx, idx)
        self.lines.append("%s:%s:%d:%d::%s::userdb_mail=%s" % (
            name, hashed, uid, gid, home, loc))

    def index_dir(self, user):
        return os.path.join(self.dir, "index", user)

    def start(self):
        with open(self.passwd, "w") as f:
            write_fill_users(f, ":")
            f.write("\n".join(self.lines) + "\n")
        # the auth process runs as the dovecot user
        os.chown(self.passwd, 0, grp.getgrnam("dovecot").gr_gid)
        os.chmod(self.passwd, 0o640)
        with open(os.path.join(HERE, "dovecot.conf.in")) as f:
            tmpl = f.read()
        subst = {
            "@DIR@": self.dir, "@PORT@": str(self.port),
            "@TLS_PORT@": str(self.tls_port), "@CERT@": self.cert,
            "@PROXY_PORT@": str(self.proxy_port),
            "@KEY@": self.key, "@PASSWD@": self.passwd,
            "@FIRST_UID@": str(min(100, pwd.getpwnam(MAILOWNER).pw_uid)),
        }
        for k, v in subst.items():
            tmpl = tmpl.replace(k, v)
        with open(self.conf, "w") as f:
            f.write(tmpl)
        r = subprocess.run(["dovecot", "-c", self.conf, "-n"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=30)
        if r.returncode != 0:
            raise SystemExit("dovecot -n failed: %s" % r.stderr.decode())
        if r.stderr.strip():
            log("dovecot -n: %s" % r.stderr.decode().strip())
        with open(self.log, "ab") as logf:
            r = subprocess.run(["dovecot", "-c", self.conf], timeout=30,
                               stdin=subprocess.DEVNULL, stdout=logf,
                               stderr=logf)
        pidf = os.path.join(self.dir, "run", "master.pid")
        self.started = True
        if r.returncode != 0:
            raise SystemExit("dovecot failed to start; log %s" % self.log)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and self.master is None:
            try:
                with open(pidf) as f:
                    self.master = int(f.read().strip())
            except (OSError, ValueError):
                time.sleep(0.1)
        if self.master is None or not wait_port(self.port):
            self.stop()
            raise SystemExit("dovecot did not start; log %s" % self.log)

    def pids(self):
        return tree_of(self.master) if self.master else []

    def stop(self):
        if self.master is None and getattr(self, "started", False):
            try:
                with open(os.path.join(self.dir, "run", "master.pid")) as f:
                    self.master = int(f.read().strip())
            except (OSError, ValueError):
                pass
        if self.master is None:
            return
        tree = self.pids()
        try:
            subprocess.run(["doveadm", "-c", self.conf, "stop"], timeout=20,
                           stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            pass
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and os.path.exists(
                "/proc/%d" % self.master) and not _zombie(self.master):
            time.sleep(0.1)
        kill_tree(tree, 3)
        self.master = None

    def reset_bigbox(self, layout, user, fmt, pristine):
        shutil.rmtree(self.index_dir(user), ignore_errors=True)
        h = layout.home("dc", user)
        shutil.rmtree(os.path.join(h, "mail"), ignore_errors=True)
        if fmt == "mbox":
            _restore(pristine, os.path.join(h, "mbox"), layout)
        else:
            # Dovecot adds ,S=/,W= to names or moves files: undo that so
            # each first session sees the same directory.
            cur = os.path.join(h, "Maildir", "cur")
            for sub in ("new", "cur"):
                d = os.path.join(h, "Maildir", sub)
                for n in os.listdir(d):
                    base = n.split(":")[0].split(",")[0]
                    want = base + ":2,S"
                    if sub != "cur" or n != want:
                        os.rename(os.path.join(d, n), os.path.join(cur, want))


# ---------------------------------------------------------------- load

def popload(args, argv, timeout):
    cmd = [args.popload] + argv
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=timeout)
    out = r.stdout.decode(errors="replace").strip().splitlines()
    line = [l for l in out if l.startswith("popload ")]
    if r.returncode != 0 or not line:
        raise RuntimeError("popload failed (%d): %s %s" % (
            r.returncode, r.stdout.decode(), r.stderr.decode()))
    return parse_kv(line[-1])


def parse_kv(line):
    d = {}
    for tok in line.split()[1:]:
        k, _, v = tok.partition("=")
        d[k] = v
    return d


def num(d, k):
    try:
        v = float(d[k])
    except (KeyError, ValueError):
        return None
    return None if v < 0 else v


def errsum(d):
    return sum(int(d.get(k, 0)) for k in ("errors", "auth_errors", "timeouts",
                                          "connect_fail", "tls_fail",
                                          "unfinished"))


def tls_args(scen):
    """popload's TLS options for a scenario: -s (implicit TLS), -r (each
    client slot resumes its previous session)."""
    if "resume" in scen:
        return ["-s", "-r"]
    return ["-s"] if "tls" in scen else []


def resumption(d, res, scen):
    """The resumption rate of a -r run; a resume scenario whose
    handshakes do not resume fails loudly (counted as errors)."""
    offered, resumed = int(d.get("offered", 0)), int(d.get("resumed", 0))
    if "resume" not in scen:
        return
    res["resumed"] = resumed
    res["resume_rate"] = resumed / float(offered) if offered else 0.0
    if res["resume_rate"] < RESUME_MIN:
        res["errors"] = res.get("errors", 0) + max(1, offered - resumed)
        res["first_error"] = "NOT_RESUMING:_%d_of_%d_offers_resumed" % (
            resumed, offered)
        log("%s: only %d of %d handshakes that offered a session resumed"
            " (want >= %.0f%%)" % (scen, resumed, offered,
                                   RESUME_MIN * 100))


def login_run(args, port, users, extra, secs):
    argv = ["-m", "login", "-p", str(port), "-c", str(P["login_clients"]),
            "-d", str(secs), "-T", str(secs + 30), "-t", "20", "-u", users,
            "-w", PASSWORD] + extra
    return popload(args, argv, secs + 60)


def sc_login(args, srv, scen):
    tls = scen.startswith("tls")
    users = "ls%d" if scen == "login-sha512" else "lp%d"
    port = srv.tls_port if tls else srv.port
    d = login_run(args, port, users, tls_args(scen), P["login_secs"])
    res = {"sessions_per_s": num(d, "sessions_per_s"),
           "p50_ms": num(d, "p50_ms"), "p99_ms": num(d, "p99_ms"),
           "sessions": int(d["sessions"]), "errors": errsum(d),
           "first_error": d.get("first_error")}
    resumption(d, res, scen)
    return res


def sc_proxy_login(args, srv, proxied):
    """login-plain directly (from 127.0.0.2, which need send no header)
    and through the PROXY path (from 127.0.0.1 with a v2 header), one
    after the other on the same server.  privpop: a second instance with
    haproxy_trusted_networks = 127.0.0.1 (a trusted source must send the
    header); Dovecot: its haproxy = yes listener."""
    secs = P["login_secs"] / 2
    if srv.name == "privpop":
        direct_port, proxy_port = proxied.port, proxied.port
    else:
        direct_port, proxy_port = srv.port, srv.proxy_port
    d1 = login_run(args, direct_port, "lp%d", ["-B", "127.0.0.2"], secs)
    d2 = login_run(args, proxy_port, "lp%d", ["-x"], secs)
    a, b = num(d2, "sessions_per_s"), num(d1, "sessions_per_s")
    return {"sessions_per_s": a, "direct_sessions_per_s": b,
            "proxy_over_direct": a / b if a and b else None,
            "p50_ms": num(d2, "p50_ms"),
            "sessions": int(d1["sessions"]) + int(d2["sessions"]),
            "errors": errsum(d1) + errsum(d2),
            "first_error": d2.get("first_error") if errsum(d2) else
            d1.get("first_error")}


def sc_download(args, srv, scen):
    large = scen.startswith("large")
    users = "lg%d" if large else \
        ("db%d" if scen.endswith("mbox") else "dm%d")
    secs = P["dl_secs"]
    tls = tls_args(scen)
    clients = P["large_clients"] if large else P["dl_clients"]
    argv = ["-m", "download", "-p", str(srv.tls_port if tls else srv.port),
            "-c", str(clients),
            "-d", str(secs), "-T", str(secs + 60), "-t", "60", "-u", users,
            "-w", PASSWORD] + tls
    d = popload(args, argv, secs + 90)
    res = {"mb_per_s": num(d, "mb_per_s"),
           "retr_mb_per_s": num(d, "retr_mb_per_s"),
           "messages": int(d["messages"]),
           "sessions": int(d["sessions"]), "errors": errsum(d),
           "first_error": d.get("first_error")}
    resumption(d, res, scen)
    return res


def sc_loopback(args):
    """What this machine moves through loopback TCP from memory: popload's
    own trivial server (one writer, one reader)."""
    d = popload(args, ["-m", "loopback", "-d", str(P["loop_secs"]),
                       "-T", str(P["loop_secs"] + 10)], P["loop_secs"] + 30)
    return num(d, "mb_per_s")


def sc_bigbox(args, srv, scen, layout, pristine):
    fmt = "mbox" if scen.endswith("mbox") else "maildir"
    user = "bigmbox" if fmt == "mbox" else "bigmaildir"
    srv.reset_bigbox(layout, user, fmt, pristine.get(srv.name))
    # write back what the harness wrote (100,000 new files, a restored
    # mbox) now, not while one of the servers is being timed
    os.sync()
    argv = ["-m", "bigbox", "-p", str(srv.port), "-n", "2", "-T", "600",
            "-t", "300", "-u", user, "-w", PASSWORD]
    d = popload(args, argv, 660)
    ps = [float(x) for x in d.get("pass_to_stat_ms", "").split(",") if x]
    ul = [float(x) for x in d.get("uidl_ms", "").split(",") if x]
    return {"first_stat_ms": ps[0] if ps else None,
            "second_stat_ms": ps[1] if len(ps) > 1 else None,
            "uidl_ms": ul[1] if len(ul) > 1 else (ul[0] if ul else None),
            "first_uidl_ms": ul[0] if ul else None,
            "inuse_retries": int(d.get("inuse_retries", 0)),
            "sessions": int(d["sessions"]), "errors": errsum(d),
            "first_error": d.get("first_error")}


def sc_idle(args, srv, scen):
    n = P["idle_sessions"]
    base_pids = srv.pids()
    base = sum(pss_kb(p) for p in base_pids)
    argv = ["-m", "idle", "-p", str(srv.port), "-c", str(n), "-P", "50",
            "-T", "240", "-t", "60", "-H", "200", "-u", "id%d",
            "-w", PASSWORD]
    pl = subprocess.Popen([args.popload] + argv, stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    res = {"sessions": 0, "errors": 0}
    try:
        ready = pl.stdout.readline().decode()   # bounded by popload's -T
        if ready.startswith("READY"):
            r = parse_kv("x " + ready[len("READY "):])
            res["sessions"] = int(r.get("authed", 0))
            time.sleep(2.0)        # let the servers settle (prefork refill)
            pids = srv.pids()
            total = sum(pss_kb(p) for p in pids)
            res["login_s"] = float(r.get("elapsed", 0))
            res["processes"] = len(pids)
            res["total_pss_mb"] = total / 1024.0
            res["kb_per_session"] = (total / res["sessions"]
                                     if res["sessions"] else None)
            res["kb_per_session_over_base"] = (
                (total - base) / res["sessions"] if res["sessions"] else None)
        out, err = pl.communicate(input=b"", timeout=120)  # EOF: QUIT all
    except subprocess.TimeoutExpired:
        pl.kill()
        out, err = pl.communicate(timeout=10)
    lines = [l for l in out.decode().splitlines() if l.startswith("popload ")]
    if lines:
        d = parse_kv(lines[-1])
        res["errors"] = errsum(d)
        res["first_error"] = d.get("first_error")
    else:
        res["errors"] = -1
        res["first_error"] = err.decode()[:200]
    return res


# where the CPU went (cpu_accounting): no targets, for the profile
CPU_FIGS = [("server_cpu_ms", "lower", None, None),
            ("load_cpu_share", "lower", None, None)]
CPU_FIGS_MB = [("server_cpu_ms_per_mb", "lower", None, None)] + CPU_FIGS
# figure -> (better direction, target ratio description, predicate on ratio)
FIGURES = {
    "login-plain": [("sessions_per_s", "higher", ">=3", lambda r: r >= 3),
                    ("p50_ms", "lower", None, None),
                    ("p99_ms", "lower", "<1", lambda r: r < 1)] + CPU_FIGS,
    "login-sha512": [("sessions_per_s", "higher", ">=1.5",
                      lambda r: r >= 1.5),
                     ("p50_ms", "lower", None, None),
                     ("p99_ms", "lower", "<1", lambda r: r < 1)] + CPU_FIGS,
    "tls": [("sessions_per_s", "higher", ">=2.5", lambda r: r >= 2.5),
            ("p50_ms", "lower", None, None),
            ("p99_ms", "lower", None, None)] + CPU_FIGS,
    "tls-resume": [("sessions_per_s", "higher", ">=3", lambda r: r >= 3),
                   ("p50_ms", "lower", None, None),
                   ("p99_ms", "lower", None, None),
                   ("resume_rate", "higher", None, None)] + CPU_FIGS,
    "proxy-login": [("sessions_per_s", "higher", None, None),
                    ("direct_sessions_per_s", "higher", None, None),
                    ("proxy_over_direct", "higher", None, None)],
    "download-tls-maildir": [("mb_per_s", "higher", ">=3",
                              lambda r: r >= 3),
                             ("retr_mb_per_s", "higher", None, None)] + CPU_FIGS,
    "download-tls-mbox": [("mb_per_s", "higher", ">=3", lambda r: r >= 3),
                          ("retr_mb_per_s", "higher", None, None)] + CPU_FIGS,
    "download-tls-resume": [("mb_per_s", "higher", None, None),
                            ("retr_mb_per_s", "higher", None, None),
                            ("resume_rate", "higher", None, None)] + CPU_FIGS,
    "large": [("mb_per_s", "higher", ">=3", lambda r: r >= 3),
              ("retr_mb_per_s", "higher", None, None),
              ("loopback_share", "higher", None, None)] + CPU_FIGS_MB,
    "large-tls": [("mb_per_s", "higher", ">=3", lambda r: r >= 3),
                  ("retr_mb_per_s", "higher", None, None),
                  ("loopback_share", "higher", None, None)] + CPU_FIGS_MB,
    "download-maildir": [("mb_per_s", "higher", ">=4", lambda r: r >= 4),
                         ("retr_mb_per_s", "higher", None, None)] + CPU_FIGS,
    "download-mbox": [("mb_per_s", "higher", ">=4", lambda r: r >= 4),
                      ("retr_mb_per_s", "higher", None, None)] + CPU_FIGS,
    "bigbox-maildir": [("first_stat_ms", "lower", "<=0.5",
                        lambda r: r <= 0.5),
                       ("second_stat_ms", "lower", "<=0.5",
                        lambda r: r <= 0.5),
                       ("uidl_ms", "lower", None, None)],
    "bigbox-mbox": [("first_stat_ms", "lower", "<=0.025",
                     lambda r: r <= 0.025),
                    ("second_stat_ms", "lower", None, None),
                    ("uidl_ms", "lower", None, None)],
    "idle": [("kb_per_session", "lower", None, None),
             ("kb_per_session_over_base", "lower", None, None)],
}
# absolute targets on privpop's own figures: predicate on (the figure,
# all of privpop's figures of that scenario)
ABS_TARGETS = {
    ("idle", "kb_per_session"): ("<=250kB", lambda v, own: v <= 250),
    # plain large download: at least half of the machine's loopback TCP
    # figure (popload -m loopback, same round)
    ("large", "loopback_share"): (">=0.5", lambda v, own: v >= 0.5),
    # every handshake that offers a session resumes
    ("tls-resume", "resume_rate"): (">=0.99", lambda v, own: v >= 0.99),
    ("download-tls-resume", "resume_rate"): (">=0.99",
                                             lambda v, own: v >= 0.99),
    # "second session faster still": faster than privpop's first
    ("bigbox-mbox", "second_stat_ms"): (
        "<first", lambda v, own: own.get("first_stat_ms") is not None and
        v < own["first_stat_ms"]),
}


def cpu_accounting(r, scen, server_s, load_s):
    """Where the CPU went: the server's (its whole process tree) per
    session, and per MB for the large downloads, and the load
    generator's share of the two.  On a 2-core machine the client's
    TLS work competes with the server's: the throughput ratio of a
    scenario whose load share is high says less about the servers than
    their CPU per session does."""
    if r.get("errors") == -1 or scen.startswith(("bigbox", "idle")) or \
            scen == "proxy-login":
        return
    if r.get("sessions"):
        r["server_cpu_ms"] = server_s * 1000.0 / r["sessions"]
    if scen.startswith("large") and r.get("mb_per_s"):
        r["server_cpu_ms_per_mb"] = server_s * 1000.0 / (
            r["mb_per_s"] * P["dl_secs"])
    if server_s + load_s > 0:
        r["load_cpu_share"] = load_s / (server_s + load_s)


def round_ratios(res, fig):
    """privpop/Dovecot of one figure, round by round (same round paired),
    for the spread a median hides."""
    out = []
    for a, b in zip(res["privpop"], res["dovecot"]):
        x, y = a.get(fig), b.get(fig)
        if isinstance(x, (int, float)) and isinstance(y, (int, float)) \
                and y > 0:
            out.append(x / y)
    return out


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def fmt(v):
    if v is None:
        return "-"
    if abs(v) >= 100:
        return "%.0f" % v
    if abs(v) >= 10:
        return "%.1f" % v
    return "%.3g" % v


# ---------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build-dir", default=".")
    ap.add_argument("--popload", required=True)
    args = ap.parse_args()
    args.popload = os.path.abspath(args.popload)
    if os.geteuid() != 0:
        raise SystemExit("run-bench: must run as root (privpopd privilege "
                         "separation, Dovecot)")
    for exe in ("dovecot", "doveadm"):
        if not shutil.which(exe):
            raise SystemExit("run-bench: %s not found; apt-get install "
                             "dovecot-core dovecot-pop3d" % exe)
    only = [s for s in os.environ.get("BENCH_ONLY", "").split(",") if s]
    scen_list = [s for s in SCENARIOS if not only or s in only]

    # file descriptors for 1000 idle sessions (servers inherit this)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 65536
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE,
                           (max(soft, want), max(hard, want)))
    except (ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    work = os.environ.get("BENCH_DIR", "/var/tmp/privpop-bench")
    # one run at a time: a second one would wipe the first one's data
    # (beside the work directory, which is wiped)
    lockf = open(work.rstrip("/") + ".lock", "w")
    try:
        fcntl.flock(lockf, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        raise SystemExit("run-bench: another run holds %s" % lockf.name)
    if os.path.isdir(work):
        shutil.rmtree(work)
    os.makedirs(os.path.join(work, "homes", "pp"))
    os.makedirs(os.path.join(work, "homes", "dc"))
    for d in (work, os.path.join(work, "homes"),
              os.path.join(work, "homes", "pp"),
              os.path.join(work, "homes", "dc")):
        os.chmod(d, 0o755)
    t_all = time.monotonic()
    log("quick=%s rounds=%d work=%s" % (QUICK, P["rounds"], work))

    ensure_user("privpop")
    owner = ensure_user(MAILOWNER)
    os.makedirs(CHROOT, exist_ok=True)
    layout = Layout(work, owner)

    cert, key = os.path.join(work, "cert.pem"), os.path.join(work, "key.pem")
    # BENCH_CERT=ecdsa: an ECDSA P-256 key for both servers (the fast
    # choice: its signature costs a fraction of RSA-2048's)
    if os.environ.get("BENCH_CERT", "rsa") == "ecdsa":
        newkey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]
    else:
        newkey = ["-newkey", "rsa:2048"]
    run(["openssl", "req", "-x509"] + newkey + ["-nodes",
         "-keyout", key, "-out", cert, "-days", "2", "-subj",
         "/CN=bench.example.org"])
    os.chmod(key, 0o600)

    pp = Privpop(args, work, cert, key)
    dc = Dovecot(args, work, cert, key)
    servers = [pp, dc]

    # -------- users and mailboxes (same content for both servers)
    log("creating users and mailboxes")
    pw_bin = os.path.join(os.path.abspath(args.build_dir), "privpop-passwd")

    def hashed(scheme):
        r = run([pw_bin, "-s", scheme, "x", "1", "1", "/x"],
                input=(PASSWORD + "\n").encode())
        return r.stdout.decode().strip().split(":")[1]

    plain = "{PLAIN}" + PASSWORD
    uid, gid = owner.pw_uid, owner.pw_gid
    small = [message(i, 1024, "login") for i in range(P["login_msgs"])]
    dlmsgs = [message(i, P["dl_size"], "dl") for i in range(P["dl_msgs"])]

    def add(name, pwhash, fmt, msgs, server_list=servers):
        for s, tag in ((pp, "pp"), (dc, "dc")):
            home = layout.home(tag, name)
            if fmt == "mbox":
                layout.make_mbox(tag, name, msgs)
                s.add_user(name, pwhash, uid, gid, home, "mbox:~/mbox")
            else:
                layout.make_maildir(tag, name, msgs)
                s.add_user(name, pwhash, uid, gid, home, "maildir:~/Maildir")

    need = set(scen_list)
    if need & {"login-plain", "tls", "tls-resume", "proxy-login"}:
        for i in range(P["login_clients"]):
            add("lp%d" % i, plain, "maildir", small)
    if "login-sha512" in need:
        for i in range(P["login_clients"]):
            # each user its own salt, SHA512-crypt with the default 5000
            # rounds; Dovecot gets the same string as {CRYPT}
            add("ls%d" % i, hashed("sha512"), "maildir", small)
    if need & {"download-maildir", "download-tls-maildir",
               "download-tls-resume"}:
        for i in range(P["dl_clients"]):
            add("dm%d" % i, plain, "maildir", dlmsgs)
    if need & {"download-mbox", "download-tls-mbox"}:
        for i in range(P["dl_clients"]):
            add("db%d" % i, plain, "mbox", dlmsgs)
    if need & {"large", "large-tls"}:
        lgmsgs = [message(i, P["large_size"], "large")
                  for i in range(P["large_msgs"])]
        for i in range(P["large_clients"]):
            add("lg%d" % i, plain, "maildir", lgmsgs)
        del lgmsgs
    pristine = {}
    if need & {"bigbox-maildir", "bigbox-mbox"}:
        log("bigbox: %d messages of %d bytes" % (P["big_msgs"],
                                                 P["big_size"]))
        big = [message(i, P["big_size"], "big") for i in range(P["big_msgs"])]
        if "bigbox-maildir" in need:
            add("bigmaildir", plain, "maildir", big)
        if "bigbox-mbox" in need:
            add("bigmbox", plain, "mbox", big)
            for tag in ("pp", "dc"):
                src = os.path.join(layout.home(tag, "bigmbox"), "mbox")
                dst = os.path.join(work, "pristine-%s.mbox" % tag)
                shutil.copy2(src, dst)
                pristine["privpop" if tag == "pp" else "dovecot"] = dst
        del big
    if "idle" in need:
        for i in range(P["idle_sessions"]):
            for tag in ("pp", "dc"):
                layout.make_maildir(tag, "id%d" % i, [])
            pp.add_user("id%d" % i, plain, uid, gid,
                        layout.home("pp", "id%d" % i), "maildir:~/Maildir")
            dc.add_user("id%d" % i, plain, uid, gid,
                        layout.home("dc", "id%d" % i), "maildir:~/Maildir")
    os.chown(dc.dir, 0, 0)
    os.makedirs(os.path.join(dc.dir, "index"), exist_ok=True)
    os.chown(os.path.join(dc.dir, "index"), uid, gid)
    os.sync()
    log("data ready (%.0f s)" % (time.monotonic() - t_all))

    results = {s: {"privpop": [], "dovecot": []} for s in scen_list}
    loop_mbs = {}       # round -> popload -m loopback MB/s
    # proxy-login: a second privpop expecting PROXY headers from
    # 127.0.0.1 (the first one's clients there send none)
    proxied = None
    if "proxy-login" in need:
        proxied = Privpop(args, work, cert, key, "pp-proxy",
                          [("haproxy_trusted_networks", "127.0.0.1")])
        proxied.lines = pp.lines
    try:
        for s in servers + ([proxied] if proxied else []):
            s.start()
            log("%s started (pop3 %d, pop3s %d)" % (s.name, s.port,
                                                    s.tls_port))
        # privpop indexes a passwd-file only once it is 2 s old (a file
        # just written is read whole at each login until then); a shared
        # host's file was written long before: measure that steady state
        if P["fill_users"]:
            time.sleep(2.5)

        def warm(argv):
            d = popload(args, argv, 120)
            if errsum(d):
                log("warm-up %s: %d errors, first %s" % (
                    " ".join(argv), errsum(d), d.get("first_error")))

        # warm-up: one pass over every user set (Dovecot makes its index
        # files, privpop its mbox cache) so rounds measure steady state
        for s in servers:
            if need & {"login-plain", "tls", "tls-resume", "proxy-login"}:
                warm(["-m", "login", "-p", str(s.port), "-c", "50",
                      "-n", "1", "-d", "30", "-T", "60", "-u", "lp%d",
                      "-w", PASSWORD])
            if "login-sha512" in need:
                warm(["-m", "login", "-p", str(s.port), "-c", "50",
                      "-n", "1", "-d", "30", "-T", "60", "-u", "ls%d",
                      "-w", PASSWORD])
            for sc, u, c in (
                    (("download-maildir", "download-tls-maildir",
                      "download-tls-resume"), "dm%d", P["dl_clients"]),
                    (("download-mbox", "download-tls-mbox"), "db%d",
                     P["dl_clients"]),
                    (("large", "large-tls"), "lg%d", P["large_clients"])):
                if need & set(sc):
                    warm(["-m", "download", "-p", str(s.port), "-c",
                          str(c), "-n", "1", "-d", "60", "-T", "90",
                          "-u", u, "-w", PASSWORD])
        log("warm-up done")

        for rnd in range(1, P["rounds"] + 1):
            for scen in scen_list:
                if scen in ("large", "large-tls") and rnd not in loop_mbs:
                    loop_mbs[rnd] = sc_loopback(args)
                    log("round %d loopback %s MB/s" % (rnd,
                                                       fmt(loop_mbs[rnd])))
                # A B, then B A: whichever runs first in a round (on
                # a machine the other one just loaded) is not always
                # the same server
                order = servers if rnd % 2 else servers[::-1]
                for s in order:
                    t = time.monotonic()
                    cpu0, lcpu0 = tree_cpu(s.pids()), load_cpu()
                    try:
                        if scen.startswith("login") or \
                                scen.startswith("tls"):
                            r = sc_login(args, s, scen)
                        elif scen == "proxy-login":
                            r = sc_proxy_login(args, s, proxied)
                        elif scen.startswith("download") or \
                                scen.startswith("large"):
                            r = sc_download(args, s, scen)
                        elif scen.startswith("bigbox"):
                            r = sc_bigbox(args, s, scen, layout, pristine)
                        else:
                            r = sc_idle(args, s, scen)
                    except Exception as e:       # keep going; recorded
                        log("%s %s round %d failed: %s" % (scen, s.name, rnd,
                                                           e))
                        r = {"errors": -1}
                    r["round"] = rnd
                    cpu_accounting(r, scen, tree_cpu(s.pids()) - cpu0,
                                   load_cpu() - lcpu0)
                    if scen.startswith("large") and r.get("mb_per_s") \
                            and loop_mbs.get(rnd):
                        r["loopback_share"] = r["mb_per_s"] / loop_mbs[rnd]
                    results[scen][s.name].append(r)
                    log("round %d %-16s %-8s %s (%.1f s)" % (
                        rnd, scen, s.name,
                        " ".join("%s=%s" % (k, fmt(v) if isinstance(
                            v, float) else v) for k, v in r.items()
                                 if k != "round"), time.monotonic() - t))
    finally:
        for s in servers + ([proxied] if proxied else []):
            s.stop()

    # -------- report
    print()
    print("# privpop vs Dovecot %s, %d round(s)%s; medians over rounds; "
          "ratio = privpop/dovecot" % (
              dovecot_version(), P["rounds"], " (QUICK)" if QUICK else ""))
    rows = []
    full = []           # results.json: the BENCH records and per round
    for scen in scen_list:
        rec = {"scenario": scen, "rounds": P["rounds"], "quick": QUICK}
        if P["fill_users"]:
            rec["fill_users"] = P["fill_users"]
        errs = {}
        for sname in ("privpop", "dovecot"):
            rs = results[scen][sname]
            errs[sname] = sum(max(0, r.get("errors", 0)) for r in rs) + \
                sum(1 for r in rs if r.get("errors") == -1)
            rec[sname] = {}
            for fig, better, tdesc, pred in FIGURES[scen]:
                rec[sname][fig] = median([r.get(fig) for r in rs])
            rec[sname]["errors"] = errs[sname]
        rec["ratio"] = {}
        rec["target"] = {}
        for fig, better, tdesc, pred in FIGURES[scen]:
            a, b = rec["privpop"][fig], rec["dovecot"][fig]
            ratio = a / b if a is not None and b else None
            rec["ratio"][fig] = ratio
            met = None
            if pred and ratio is not None:
                met = bool(pred(ratio))
            at = ABS_TARGETS.get((scen, fig))
            if at and a is not None:
                tdesc = at[0]
                met = bool(at[1](a, rec["privpop"]))
            if tdesc:
                rec["target"][fig] = {"want": tdesc, "met": met}
            rows.append((scen, fig, better, a, b, ratio, tdesc, met,
                         errs["privpop"], errs["dovecot"]))
        print("BENCH " + json.dumps(rec, sort_keys=True))
        extra = dict(rec)
        # in the bench's order (json.dump sorts the keys of a dict)
        extra["figures"] = [[fig, better] for fig, better, _, _ in
                            FIGURES[scen]]
        extra["round_ratios"] = {fig: round_ratios(results[scen], fig)
                                 for fig, _, _, _ in FIGURES[scen]}
        extra["per_round"] = results[scen]
        full.append(extra)
    print()
    hdr = ("scenario", "figure", "better", "privpop", "dovecot", "ratio",
           "target", "met", "errors pp/dc")
    table = [hdr]
    for scen, fig, better, a, b, ratio, tdesc, met, ea, eb in rows:
        table.append((scen, fig, better, fmt(a), fmt(b),
                      "-" if ratio is None else "%.3f" % ratio,
                      tdesc or "", "" if met is None else
                      ("yes" if met else "NO"), "%d/%d" % (ea, eb)))
    w = [max(len(r[i]) for r in table) for i in range(len(hdr))]
    for r in table:
        print("  ".join(c.ljust(w[i]) for i, c in enumerate(r)).rstrip())
    print()
    if loop_mbs:
        lm = median(list(loop_mbs.values()))
        print("BENCH " + json.dumps({"scenario": "loopback",
                                     "rounds": len(loop_mbs),
                                     "mb_per_s": lm,
                                     "per_round": list(loop_mbs.values())},
                                    sort_keys=True))
        print("# loopback TCP from memory (popload -m loopback, one "
              "stream): %s MB/s; large's loopback_share is a server's "
              "mb_per_s over it (same round)" % fmt(lm))
        full.append({"scenario": "loopback", "mb_per_s": lm, "figures": [],
                     "per_round": list(loop_mbs.values())})
    # the floor of any process-per-session design on this machine
    fc = popload(args, ["-m", "forkcost", "-n", "2000", "-T", "60"], 90)
    print("BENCH " + json.dumps({"scenario": "machine",
                                 "ktls": ktls_available(),
                                 "cert": os.environ.get("BENCH_CERT", "rsa"),
                                 "cpu_us_per_fork": num(fc, "cpu_us_per_fork"),
                                 "wall_us_per_fork":
                                 num(fc, "wall_us_per_fork")}, sort_keys=True))
    print("# this machine: fork + _exit + waitpid of a small process costs "
          "%s us of CPU (privpop forks 3 processes per login, Dovecot 1 "
          "and an exec)" % fc.get("cpu_us_per_fork"))
    saved = {"dovecot": "Dovecot " + dovecot_version(),
             "rounds": P["rounds"], "quick": QUICK,
             "fill_users": P["fill_users"], "scenarios": full,
             "machine": {"cpu_us_per_fork": num(fc, "cpu_us_per_fork")}}
    rpath = os.path.join(work, "results.json")
    with open(rpath, "w") as f:
        json.dump(saved, f, indent=1, sort_keys=True)
    spath = os.path.join(work, "bench.svg")
    with open(spath, "w") as f:
        f.write(plot.svg(saved))
    print("# results: %s; plot: %s" % (rpath, spath))
    print("# total %.0f s; logs: %s, %s" % (time.monotonic() - t_all,
                                           pp.log, dc.log))
    if not os.environ.get("BENCH_KEEP"):
        shutil.rmtree(os.path.join(work, "homes"), ignore_errors=True)
        for f in os.listdir(work):
            if f.startswith("pristine-"):
                os.unlink(os.path.join(work, f))
    return 0


def ktls_available():
    """Whether this kernel offers kernel TLS (the "tls" upper layer
    protocol; the module may be absent, as in containers)."""
    try:
        with open("/proc/sys/net/ipv4/tcp_available_ulp") as f:
            return "tls" in f.read().split()
    except OSError:
        return False


def dovecot_version():
    try:
        r = subprocess.run(["dovecot", "--version"], stdout=subprocess.PIPE,
                           timeout=10)
        return r.stdout.decode().split()[0]
    except Exception:
        return "?"


if __name__ == "__main__":
    sys.exit(main())
