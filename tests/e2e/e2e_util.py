"""Helpers for the privpop end-to-end tests (Python standard library only).

Everything here is bounded: every socket has a timeout, every wait loop
has a deadline, and every process started is stopped by its PID.
"""
import ctypes
import grp
import os
import pwd
import re
import signal
import socket
import subprocess
import time

HOST = "127.0.0.1"
CHROOT_DIR = "/var/lib/privpop/empty"
SOCK_TIMEOUT = 10.0


class TestFailure(Exception):
    """A check failed; the message is the reason printed after FAIL."""


class TestSkip(Exception):
    """The test cannot run in this environment; the message says why."""


class Skip(Exception):
    """Not applicable here (only raised where the brief allows it)."""


def check(cond, msg):
    if not cond:
        raise TestFailure(msg)


def check_eq(actual, expected, what):
    if actual != expected:
        a, e = repr(actual), repr(expected)
        if len(a) > 300:
            a = a[:300] + "...(%d chars)" % len(a)
        if len(e) > 300:
            e = e[:300] + "...(%d chars)" % len(e)
        raise TestFailure("%s: expected %s, got %s" % (what, e, a))


# ---------------------------------------------------------------------
# processes

def set_subreaper():
    """Orphans of the daemons (daemonized master, helpers of killed
    slots) are re-parented to us, so we can find and stop them."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(36, 1, 0, 0, 0) == 0  # PR_SET_CHILD_SUBREAPER
    except Exception:
        return False


def proc_stat(pid):
    """(ppid, starttime, state) of pid, or None."""
    try:
        with open("/proc/%d/stat" % pid, "rb") as f:
            data = f.read().decode("ascii", "replace")
    except OSError:
        return None
    rest = data[data.rfind(")") + 2:].split()
    # rest[0] = state, rest[1] = ppid, starttime is field 22 -> rest[19]
    try:
        return int(rest[1]), int(rest[19]), rest[0]
    except (IndexError, ValueError):
        return None


def all_pids():
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            out.append(int(d))
    return out


def children_of(pid):
    kids = []
    for p in all_pids():
        st = proc_stat(p)
        if st and st[0] == pid:
            kids.append(p)
    return kids


def descendants_of(pid):
    """All descendants of pid as {pid: starttime} (one /proc scan)."""
    parent = {}
    start = {}
    for p in all_pids():
        st = proc_stat(p)
        if st:
            parent[p] = st[0]
            start[p] = st[1]
    out = {}
    frontier = [pid]
    seen = set()
    while frontier and len(seen) < 100000:
        cur = frontier.pop()
        for p, pp in parent.items():
            if pp == cur and p not in seen:
                seen.add(p)
                out[p] = start[p]
                frontier.append(p)
    return out


def pid_alive(pid, starttime=None):
    st = proc_stat(pid)
    if st is None or st[2] == "Z":
        return False
    return starttime is None or st[1] == starttime


def reap(pid):
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass
    except OSError:
        pass


def kill_pids(pids, grace=3.0):
    """pids: {pid: starttime}.  SIGTERM, wait, SIGKILL; never by name."""
    pids = {p: s for p, s in pids.items() if p != os.getpid()}
    for p, s in pids.items():
        if pid_alive(p, s):
            try:
                os.kill(p, signal.SIGTERM)
            except OSError:
                pass
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        for p in pids:
            reap(p)
        if not any(pid_alive(p, s) for p, s in pids.items()):
            break
        time.sleep(0.05)
    for p, s in pids.items():
        if pid_alive(p, s):
            try:
                os.kill(p, signal.SIGKILL)
            except OSError:
                pass
    deadline = time.monotonic() + 2.0
    while time.monotonic() < deadline:
        for p in pids:
            reap(p)
        if not any(pid_alive(p, s) for p, s in pids.items()):
            break
        time.sleep(0.05)


def stop_process(popen, grace=12.0):
    """Stop a Popen child by PID: SIGTERM, then SIGKILL."""
    if popen.poll() is not None:
        return popen.returncode
    try:
        popen.send_signal(signal.SIGTERM)
    except OSError:
        pass
    try:
        return popen.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        pass
    try:
        popen.kill()
    except OSError:
        pass
    try:
        return popen.wait(timeout=5)
    except subprocess.TimeoutExpired:
        return None


def exe_of(pid):
    try:
        return os.readlink("/proc/%d/exe" % pid)
    except OSError:
        return ""


def role_of(pid):
    """Basename of the executable (or of argv[0] when /proc/PID/exe is
    not readable, as for a non-dumpable process when not root)."""
    e = exe_of(pid)
    if not e:
        argv = cmdline_of(pid)
        e = argv[0].decode("utf-8", "replace") if argv else ""
    return os.path.basename(e)


def busy_session_of(master):
    """The children of master serving a logged-in session (they have a
    privpop-store below them)."""
    out = []
    for p in children_of(master):
        if any(role_of(q) == "privpop-store" and not is_fork_server(q)
               for q in descendants_of(p)):
            out.append(p)
    return out


def is_fork_server(pid):
    """A privpop-auth -Z or privpop-store -Z itself, not one of the
    processes it forked: those show the same command line (and after
    their fork server dies they are the master's children too), but they
    closed its epoll descriptor.  Where /proc/PID/fd cannot be read (not
    root), a store worker is told apart by its parent instead."""
    if b"-Z" not in cmdline_of(pid):
        return False
    try:
        fds = os.listdir("/proc/%d/fd" % pid)
    except OSError:
        fds = None
    if fds is not None:
        for fd in fds:
            try:
                if os.readlink("/proc/%d/fd/%s" % (pid, fd)) == \
                        "anon_inode:[eventpoll]":
                    return True
            except OSError:
                continue
        return False
    st = proc_stat(pid)
    return st is not None and role_of(st[0]) not in ("privpop-store",
                                                     "privpop-auth")


def store_workers(master):
    """privpop-store processes below master that serve a mailbox (not
    the privpop-store -Z that forks them, nor a worker's dotlock child,
    named privpop-lockd)."""
    return [p for p in descendants_of(master)
            if role_of(p) == "privpop-store" and not is_fork_server(p)
            and comm_of(p) != LOCKD_COMM]


# the comm name (prctl PR_SET_NAME) of a worker's dotlock child
LOCKD_COMM = "privpop-lockd"


def comm_of(pid):
    try:
        with open("/proc/%d/comm" % pid) as f:
            return f.read().strip()
    except OSError:
        return ""


def lockd_children(pid):
    """The dotlock children of the store worker pid."""
    return [p for p in children_of(pid) if comm_of(p) == LOCKD_COMM]


SLOT_ZYGOTE_COMM = "privpop-zygote"


def slot_zygote(master):
    """The master's slot zygote (it forks the slots), or None."""
    z = [p for p in children_of(master) if comm_of(p) == SLOT_ZYGOTE_COMM]
    return z[0] if len(z) == 1 else None


def slots_of(master, binary):
    """The master's session slots (idle or busy): its children running
    privpopd, but the slot zygote."""
    return [p for p in children_of(master)
            if exe_of(p) == binary and comm_of(p) != SLOT_ZYGOTE_COMM]


def store_fork_server(master):
    z = [p for p in children_of(master)
         if role_of(p) == "privpop-store" and is_fork_server(p)]
    return z[0] if len(z) == 1 else None


def auth_fork_server(master):
    """The master's privpop-auth -Z (the fork server of this
    configuration generation), or None."""
    z = [p for p in children_of(master)
         if role_of(p) == "privpop-auth" and is_fork_server(p)]
    return z[0] if len(z) == 1 else None


def auth_helpers(master):
    """The per-slot privpop-auth processes the fork server has forked
    that have not (yet) become a privpop-store."""
    z = auth_fork_server(master)
    if z is None:
        return []
    return [p for p in children_of(z) if role_of(p) == "privpop-auth"]


def cmdline_of(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read().split(b"\0")
    except OSError:
        return []


def status_of(pid):
    out = {}
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                k, _, v = line.partition(":")
                out[k] = v.strip()
    except OSError:
        pass
    return out


def socket_inodes_of(pid):
    inodes = set()
    try:
        fds = os.listdir("/proc/%d/fd" % pid)
    except OSError:
        return inodes
    for fd in fds:
        try:
            link = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            continue
        m = re.match(r"socket:\[(\d+)\]$", link)
        if m:
            inodes.add(int(m.group(1)))
    return inodes


def _hexaddr_v4(ip, port):
    a = socket.inet_aton(ip)
    return "%08X:%04X" % (int.from_bytes(a, "little"), port)


def tcp_table():
    """[(local, remote, state, inode)] from /proc/net/tcp and tcp6."""
    rows = []
    for path in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(path) as f:
                lines = f.read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            f = line.split()
            if len(f) < 10:
                continue
            rows.append((f[1], f[2], f[3], int(f[9])))
    return rows


def tcp_inodes():
    return {r[3] for r in tcp_table() if r[3] != 0}


def server_side_inode(client_sock):
    """Inode of the server's end of client_sock's TCP connection."""
    cip, cport = client_sock.getsockname()[:2]
    sip, sport = client_sock.getpeername()[:2]
    local = _hexaddr_v4(sip, sport)
    remote = _hexaddr_v4(cip, cport)
    for loc, rem, _st, inode in tcp_table():
        if loc == local and rem == remote:
            return inode
    return None


def holders_of_inode(inode):
    pids = []
    for p in all_pids():
        if inode in socket_inodes_of(p):
            pids.append(p)
    return pids


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind((HOST, 0))
        return s.getsockname()[1]
    finally:
        s.close()


def wait_until(pred, timeout, step=0.05):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() >= deadline:
            return v
        time.sleep(step)


# ---------------------------------------------------------------------
# users and mailboxes

def ensure_system_user(name):
    try:
        return pwd.getpwnam(name)
    except KeyError:
        pass
    subprocess.run(["useradd", "--system", "--no-create-home",
                    "--home-dir", "/nonexistent", "--shell",
                    "/usr/sbin/nologin", name],
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                   timeout=30, check=True)
    return pwd.getpwnam(name)


class MailUser:
    def __init__(self, name, password, uid, gid, home, plain=False):
        self.name = name
        self.password = password
        self.uid = uid
        self.gid = gid
        self.home = home
        self.plain = plain
        self.maildir = os.path.join(home, "Maildir")

    def _own(self, path):
        if os.geteuid() == 0:
            os.chown(path, self.uid, self.gid)

    def make_maildir(self):
        for d in (self.home, self.maildir):
            os.makedirs(d, exist_ok=True)
            os.chmod(d, 0o700)
            self._own(d)
        for sub in ("new", "cur", "tmp"):
            p = os.path.join(self.maildir, sub)
            os.makedirs(p, exist_ok=True)
            os.chmod(p, 0o700)
            self._own(p)

    def deliver(self, unique, content, sub="new", flags=None):
        """Write a message; returns its path.  unique is the UIDL."""
        name = unique if flags is None else unique + ":" + flags
        tmp = os.path.join(self.maildir, "tmp", name)
        with open(tmp, "wb") as f:
            f.write(content)
        os.chmod(tmp, 0o600)
        self._own(tmp)
        dst = os.path.join(self.maildir, sub, name)
        os.rename(tmp, dst)
        return dst

    def files(self):
        out = {}
        for sub in ("new", "cur"):
            d = os.path.join(self.maildir, sub)
            try:
                for n in os.listdir(d):
                    out[sub + "/" + n] = os.path.join(d, n)
            except OSError:
                pass
        return out


def passwd_line(build_dir, user, scheme=None, mail=None):
    """mail: the entry's mail field (e.g. "mbox:~/mbox"); None for none."""
    argv = [os.path.join(build_dir, "privpop-passwd")]
    if scheme:
        argv += ["-s", scheme]
    argv += [user.name, str(user.uid), str(user.gid), user.home]
    if mail is not None:
        argv.append(mail)
    r = subprocess.run(argv, input=(user.password + "\n").encode(),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=30)
    if r.returncode != 0:
        raise TestFailure("privpop-passwd failed: %r" % r.stderr)
    line = r.stdout.decode().strip()
    if not line.startswith(user.name + ":"):
        raise TestFailure("privpop-passwd printed %r" % line)
    return line


def to_wire(content):
    """The message as POP3 sends it, before dot-stuffing: CRLF line ends
    (bare LF -> CRLF) and a final CRLF added when the file lacks one."""
    out = re.sub(rb"(?<!\r)\n", b"\r\n", content)
    if out and not out.endswith(b"\r\n"):
        out += b"\r\n"
    return out


def dot_stuff(wire):
    lines = wire.split(b"\r\n")
    return b"\r\n".join((b"." + l) if l.startswith(b".") else l
                        for l in lines)


# ---------------------------------------------------------------------
# a raw POP3 client

class Pop3Error(Exception):
    pass


class Conn:
    """Raw POP3 connection; every read has a deadline."""

    MAX_LINE = 1 << 16
    MAX_MULTI = 64 << 20

    def __init__(self, port, host=HOST, timeout=SOCK_TIMEOUT, sock=None):
        self.timeout = timeout
        if sock is None:
            sock = socket.create_connection((host, port), timeout=timeout)
        sock.settimeout(timeout)
        self.sock = sock
        self.buf = b""
        self.eof = False

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def _fill(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            raise Pop3Error("timed out waiting for the server; have %r"
                            % self.buf[:200])
        self.sock.settimeout(min(left, self.timeout))
        try:
            d = self.sock.recv(65536)
        except socket.timeout:
            raise Pop3Error("timed out waiting for the server; have %r"
                            % self.buf[:200])
        except ConnectionResetError:
            d = b""
        if not d:
            self.eof = True
            return False
        self.buf += d
        return True

    def readline(self, timeout=None):
        """One line including CRLF; b'' at EOF."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            i = self.buf.find(b"\n")
            if i >= 0:
                line, self.buf = self.buf[:i + 1], self.buf[i + 1:]
                return line
            if len(self.buf) > self.MAX_LINE:
                raise Pop3Error("line too long from server")
            if self.eof or not self._fill(deadline):
                line, self.buf = self.buf, b""
                return line

    def resp(self, timeout=None):
        line = self.readline(timeout)
        if not line:
            raise Pop3Error("connection closed by server")
        return line

    def cmd(self, line, timeout=None):
        self.send(line + "\r\n" if isinstance(line, str)
                  else line + b"\r\n")
        return self.resp(timeout)

    def multi(self, timeout=None):
        """Raw bytes of a multi-line body (dot-stuffed as sent, without
        the terminating '.CRLF')."""
        deadline = time.monotonic() + (timeout or 30)
        parts = []
        total = 0
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise Pop3Error("timed out in a multi-line answer")
            line = self.readline(left)
            if not line:
                raise Pop3Error("EOF inside a multi-line answer")
            if line == b".\r\n":
                return b"".join(parts)
            parts.append(line)
            total += len(line)
            if total > self.MAX_MULTI:
                raise Pop3Error("multi-line answer too long")

    def read_until_eof(self, timeout=None):
        deadline = time.monotonic() + (timeout or self.timeout)
        while not self.eof:
            self._fill(deadline)
        d, self.buf = self.buf, b""
        return d

    def is_closed(self, timeout=3.0):
        """True if the server closes the connection (after any
        pending data) within timeout."""
        try:
            self.read_until_eof(timeout)
            return True
        except Pop3Error:
            return False

    def login(self, user, password):
        g = self.resp()
        if not g.startswith(b"+OK"):
            raise Pop3Error("greeting %r" % g)
        r = self.cmd("USER " + user)
        if not r.startswith(b"+OK"):
            raise Pop3Error("USER: %r" % r)
        r = self.cmd("PASS " + password)
        if not r.startswith(b"+OK"):
            raise Pop3Error("PASS: %r" % r)
        return g, r


def unstuff(raw):
    lines = raw.split(b"\r\n")
    return b"\r\n".join(l[1:] if l.startswith(b".") else l for l in lines)


# ---------------------------------------------------------------------
# a daemon under test

# auth_mechanisms listing every mechanism: the default (auto) offers a
# challenge mechanism only when every backend serves it for every user,
# which a test database of crypt(3) and {PLAIN} users never does.
ALL_MECHS = "USER PLAIN LOGIN CRAM-MD5 SCRAM-SHA-256 APOP"


class Daemon:
    """privpopd in its own temp dir on a free port.  Users are added
    before start(); the passwd-file is written at start()."""

    def __init__(self, ctx, name="d", extra_conf=None, prefork=2):
        self.ctx = ctx
        self.dir = ctx.new_tmpdir(name)
        self.port = None
        self.proc = None
        self.users = {}
        self.passwd_lines = []
        self.extra_conf = dict(extra_conf or {})
        self.prefork = prefork
        self.conf = os.path.join(self.dir, "privpopd.conf")
        self.passwd = os.path.join(self.dir, "passwd")
        self.log = os.path.join(self.dir, "privpopd.log")
        self.mode = "foreground"
        ctx.register_daemon(self)

    def add_user(self, name, password, sysuser="pptest1", plain=False,
                 mail=None):
        if os.geteuid() == 0:
            pw = self.ctx.sysusers[sysuser]
            uid, gid = pw.pw_uid, pw.pw_gid
        else:
            uid, gid = os.getuid(), os.getgid()
        home = os.path.join(self.dir, "home", name)
        u = MailUser(name, password, uid, gid, home, plain)
        os.makedirs(os.path.join(self.dir, "home"), exist_ok=True)
        os.chmod(os.path.join(self.dir, "home"), 0o755)
        u.make_maildir()
        self.passwd_lines.append(
            passwd_line(self.ctx.build_dir, u, "plain" if plain else None,
                        mail))
        self.users[name] = u
        return u

    def write_passwd(self):
        with open(self.passwd, "w") as f:
            f.write("# privpop e2e\n")
            for l in self.passwd_lines:
                f.write(l + "\n")
        os.chmod(self.passwd, 0o600)

    def conf_text(self, port, overrides=None):
        kv = [
            ("listen", "%s:%d" % (HOST, port)),
            ("passwd_file", self.passwd),
            # privpop-auth makes it at the first start: the test's own
            ("auth_secret_file", os.path.join(self.dir, "auth-secret")),
            ("chroot", CHROOT_DIR),
            ("auth_helper", os.path.join(self.ctx.build_dir,
                                         "privpop-auth")),
            ("store_helper", os.path.join(self.ctx.build_dir,
                                          "privpop-store")),
            ("auth_fail_delay_ms", "100"),
            # penalties have their own test; here they would add seconds
            ("auth_penalty_base_ms", "0"),
            ("prefork", str(self.prefork)),
            ("pid_file", os.path.join(self.dir, "privpopd.pid")),
            # each daemon its own (the default in /run is the host's)
            ("control_socket", os.path.join(self.dir, "privpopd.ctl")),
            ("hostname", "e2e.test"),
            # the test users are system users (useradd --system: Debian
            # gives them uids from 100); root is refused whatever this
            ("first_valid_uid", "100"),
        ]
        extra = dict(self.extra_conf)
        if overrides:
            extra.update(overrides)
        out = []
        for k, v in kv:
            if k in extra:
                v = extra.pop(k)
            if v is not None:
                out.append("%s = %s" % (k, v))
        for k, v in extra.items():
            if v is not None:
                out.append("%s = %s" % (k, v))
        return "# privpop e2e\n" + "\n".join(out) + "\n"

    def write_conf(self, overrides=None, text=None):
        with open(self.conf, "w") as f:
            f.write(text if text is not None
                    else self.conf_text(self.port, overrides))

    def binary(self, name="privpopd"):
        return os.path.join(self.ctx.build_dir, name)

    def start(self, foreground=True, tries=5):
        self.write_passwd()
        os.chmod(self.dir, 0o755)
        last = ""
        for _ in range(tries):
            self.port = free_port()
            self.write_conf()
            logf = open(self.log, "ab")
            argv = [self.binary()]
            if foreground:
                argv.append("-f")
            argv += ["-c", self.conf]
            self.mode = "foreground" if foreground else "daemon"
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                         stdout=logf, stderr=logf,
                                         cwd=self.dir)
            logf.close()
            if not foreground:
                return self
            ok = wait_until(lambda: "started:" in self.log_text()
                            or self.proc.poll() is not None, 10)
            if self.proc.poll() is None and "started:" in self.log_text():
                return self
            last = self.log_text()
            stop_process(self.proc, 3)
            if "Address already in use" not in last:
                break
        raise TestFailure("privpopd did not start:\n" + last)

    def log_text(self):
        try:
            with open(self.log, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def connect(self, timeout=SOCK_TIMEOUT):
        return Conn(self.port, timeout=timeout)

    def session(self, user, timeout=SOCK_TIMEOUT):
        u = self.users[user]
        c = self.connect(timeout)
        c.login(u.name, u.password)
        return c

    def pid(self):
        return self.proc.pid if self.proc else None

    def wait_log(self, pattern, timeout=5.0):
        rx = re.compile(pattern)
        return wait_until(lambda: rx.search(self.log_text()), timeout)

    def stop(self):
        if self.proc is None:
            return
        tree = descendants_of(self.proc.pid)
        if self.proc.poll() is None:
            tree.update(descendants_of(self.proc.pid))
        stop_process(self.proc, 15)
        kill_pids(tree, 3)
        self.proc = None
