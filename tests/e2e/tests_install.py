"""Deployment tests: the systemd notification protocol (Type=notify) and
the installed layout (make install with Debian's paths, run from the real
paths in a private mount namespace, make uninstall)."""
import os
import poplib
import re
import select
import shutil
import signal
import socket
import subprocess
import time

import clients
import e2e_util as U
import tests_tls as T
from e2e_util import check, check_eq
from registry import test
from tests_pop3 import PW_ALICE, std_daemon, small_msgs
from tests_system import run


# ---------------------------------------------------------------------
# sd_notify

def notify_socket(ctx, abstract):
    """A bound AF_UNIX datagram socket and the NOTIFY_SOCKET value
    naming it."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    if abstract:
        name = "privpop-e2e-notify-%d-%d" % (os.getpid(), time.time_ns())
        s.bind("\0" + name)
        return s, "@" + name
    path = os.path.join(ctx.new_tmpdir("notify"), "notify")
    s.bind(path)
    return s, path


def next_notification(s, timeout=10.0):
    r, _, _ = select.select([s], [], [], timeout)
    check(r, "no notification within %ss" % timeout)
    return s.recv(4096).decode("utf-8", "replace")


def start_notified(ctx, abstract):
    d, u = std_daemon(ctx, "notify", messages=small_msgs(2),
                      start=False)
    s, name = notify_socket(ctx, abstract)
    os.environ["NOTIFY_SOCKET"] = name
    try:
        d.start()
    finally:
        del os.environ["NOTIFY_SOCKET"]
    return d, s


@test("systemd_notify_ready_reload_stop")
def t_notify(ctx):
    """privpopd -f with $NOTIFY_SOCKET (Type=notify): READY=1 when it
    serves, RELOADING=1 then READY=1 around SIGHUP, STOPPING=1 at
    SIGTERM.  (That no child inherits the variable is unit
    test_sdnotify's: the helpers get a built environment anyway, and a
    forked slot's /proc/PID/environ shows the master's at exec.)"""
    d, s = start_notified(ctx, abstract=False)
    try:
        check_eq(next_notification(s), "READY=1", "first notification")
        with d.session("alice") as c:
            r = c.cmd("STAT")
            check(r.startswith(b"+OK 2 "), "STAT: %r" % r)
            c.cmd("QUIT")
        os.kill(d.pid(), signal.SIGHUP)
        m = next_notification(s)
        check(re.fullmatch(r"RELOADING=1\nMONOTONIC_USEC=\d+", m),
              "after SIGHUP: %r" % m)
        check_eq(next_notification(s), "READY=1", "after the reload")
        check(d.wait_log("configuration reloaded"), "no reload logged")
        with d.session("alice") as c:
            c.cmd("QUIT")
        os.kill(d.pid(), signal.SIGTERM)
        check_eq(next_notification(s), "STOPPING=1", "at SIGTERM")
        check(U.wait_until(lambda: d.proc.poll() is not None, 15),
              "privpopd did not stop")
        check_eq(d.proc.returncode, 0, "exit status")
    finally:
        s.close()


@test("systemd_notify_abstract_socket")
def t_notify_abstract(ctx):
    """An abstract NOTIFY_SOCKET ("@name"), as systemd may pass it."""
    d, s = start_notified(ctx, abstract=True)
    try:
        check_eq(next_notification(s), "READY=1", "first notification")
        os.kill(d.pid(), signal.SIGTERM)
        check_eq(next_notification(s), "STOPPING=1", "at SIGTERM")
    finally:
        s.close()


# ---------------------------------------------------------------------
# the installed layout

DEBIAN_FLAGS = ["--prefix=/usr", "--sysconfdir=/etc", "--localstatedir=/var"]


def makefile_var(build_dir, name):
    try:
        with open(os.path.join(build_dir, "Makefile")) as f:
            for line in f:
                m = re.match(r"%s = (.*)$" % re.escape(name), line)
                if m:
                    return m.group(1).strip()
    except OSError:
        pass
    return None


def debian_build(ctx):
    """A build directory configured with Debian's layout: the one under
    test when it is, else a new one from the same source."""
    b = ctx.build_dir
    if (makefile_var(b, "prefix"), makefile_var(b, "sysconfdir"),
            makefile_var(b, "localstatedir")) == ("/usr", "/etc", "/var"):
        return b
    src = makefile_var(b, "abs_top_srcdir")
    check(src and os.path.isfile(os.path.join(src, "configure")),
          "no configured source tree behind %s" % b)
    check(not os.path.exists(os.path.join(src, "config.status")),
          "%s is configured in place: cannot build it elsewhere" % src)
    out = os.path.join(ctx.new_tmpdir("debian-build"), "b")
    os.makedirs(out)
    r = run([os.path.join(src, "configure")] + DEBIAN_FLAGS, timeout=300,
            cwd=out)
    check(r.returncode == 0, "configure: %r" % r.stderr[-600:])
    r = run(["make", "-j2"], timeout=900, cwd=out)
    check(r.returncode == 0, "make: %r" % (r.stdout + r.stderr)[-800:])
    return out


def files_under(top):
    out = []
    for dirpath, _dirs, files in os.walk(top):
        for n in files:
            out.append(os.path.relpath(os.path.join(dirpath, n), top))
    return sorted(out)


# Runs as root in its own mount namespace: DESTDIR over /usr, /etc (with
# a throwaway upper layer for the test's edits) and /var and /run (with
# throwaway upper layers), then the installed daemon from its real paths.
NAMESPACE_SCRIPT = r'''
set -eu
dest=$1 ovl=$2 port=$3 passwd_line=$4 tls_port=$5 cert=$6 key=$7
mount -t tmpfs -o mode=0755 tmpfs "$ovl"
for d in etc var run; do mkdir -p "$ovl/$d/upper" "$ovl/$d/work"; done
mount -t overlay overlay -o "lowerdir=$dest/usr:/usr" /usr
mount -t overlay overlay -o \
    "lowerdir=$dest/etc:/etc,upperdir=$ovl/etc/upper,workdir=$ovl/etc/work" /etc
varlow=/var
[ -d "$dest/var" ] && varlow=$dest/var:/var
mount -t overlay overlay -o \
    "lowerdir=$varlow,upperdir=$ovl/var/upper,workdir=$ovl/var/work" /var
mount -t overlay overlay -o \
    "lowerdir=/run,upperdir=$ovl/run/upper,workdir=$ovl/run/work" /run
rm -f /run/privpopd.pid
# the test's settings; everything else stays the installed default
umask 077
printf '%s\n' "$passwd_line" > /etc/privpop/passwd
cat >> /etc/privpop/privpopd.conf <<EOF
listen = 127.0.0.1:$port
auth_fail_delay_ms = 100
auth_penalty_base_ms = 0
# the test user is a system user (uid from 100)
first_valid_uid = 100
prefork = 2
listen_tls = 127.0.0.1:$tls_port
tls_cert = $cert
tls_key = $key
EOF
/usr/sbin/privpopd -t
echo "TESTED"
/usr/sbin/privpopd
i=0
while [ ! -s /run/privpopd.pid ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
[ -s /run/privpopd.pid ] || { echo "no /run/privpopd.pid"; exit 1; }
pid=$(cat /run/privpopd.pid)
echo "PID $pid"
echo "EXE $(readlink /proc/$pid/exe)"
read -r line || true
kill "$pid"
i=0
while kill -0 "$pid" 2>/dev/null && [ $i -lt 200 ]; do sleep 0.1; i=$((i + 1)); done
[ -e /run/privpopd.pid ] && echo "PIDFILE LEFT" || echo "PIDFILE REMOVED"
echo "DONE"
'''


def read_until(proc, want, timeout):
    """Lines of proc's stdout up to one starting with want."""
    deadline = time.monotonic() + timeout
    lines = []
    while time.monotonic() < deadline:
        r, _, _ = select.select([proc.stdout], [], [],
                                max(0.0, deadline - time.monotonic()))
        if not r:
            break
        line = proc.stdout.readline().decode("utf-8", "replace")
        if not line:
            break
        lines.append(line.rstrip("\n"))
        if line.startswith(want):
            return lines
    raise U.TestFailure("waiting for %r from the namespace script, got %r"
                        % (want, lines[-20:]))


@test("installed_layout_debian")
def t_installed(ctx):
    """make install DESTDIR of a --prefix=/usr --sysconfdir=/etc
    --localstatedir=/var build; the installed privpopd runs from /usr,
    /etc and /var (overlays in a private mount namespace: the host is
    not touched), writes /run/privpopd.pid, serves a login; make
    uninstall leaves no file behind."""
    if not ctx.is_root:
        raise U.TestSkip("needs root for mount namespaces and overlayfs")
    with open("/proc/filesystems") as f:
        if "overlay" not in f.read():
            raise U.TestSkip("overlayfs is not available in this kernel")
    if not shutil.which("unshare"):
        raise U.TestSkip("unshare(1) is not installed (util-linux)")
    r = run(["unshare", "--mount", "--propagation", "private", "true"])
    if r.returncode != 0:
        raise U.TestSkip("cannot make a mount namespace here: %r"
                         % r.stderr[-200:])
    host_pid_file = os.path.exists("/run/privpopd.pid")

    build = debian_build(ctx)
    tmp = ctx.new_tmpdir("installed")
    dest = os.path.join(tmp, "dest")
    r = run(["make", "install", "DESTDIR=" + dest], timeout=300, cwd=build)
    check(r.returncode == 0, "make install: %r"
          % (r.stdout + r.stderr)[-800:])
    installed = files_under(dest)
    unitdir = makefile_var(build, "systemdsystemunitdir").lstrip("/")
    for want in ("usr/sbin/privpopd", "usr/bin/privpop-passwd",
                 "usr/sbin/privpop-log", "usr/share/man/man8/privpop-log.8",
                 "usr/libexec/privpop/privpop-auth",
                 "usr/libexec/privpop/privpop-store",
                 "etc/privpop/privpopd.conf", "etc/privpop/passwd.example",
                 "etc/pam.d/privpop",
                 "usr/share/man/man8/privpopd.8",
                 "usr/share/man/man5/privpopd.conf.5",
                 "usr/share/man/man8/privpop-passwd.8",
                 "usr/share/man/man8/privpop-auth.8",
                 "usr/share/man/man8/privpop-store.8",
                 "usr/sbin/privpop-uidl",
                 "usr/share/man/man8/privpop-uidl.8",
                 "usr/share/doc/privpop/examples/inetd.conf.example",
                 "usr/share/doc/privpop/examples/xinetd.d/privpop",
                 "usr/share/doc/privpop/examples/fail2ban/filter.d/"
                 "privpop.conf",
                 "usr/share/doc/privpop/examples/fail2ban/jail.d/"
                 "privpop.conf.example",
                 unitdir + "/privpopd.service",
                 unitdir + "/privpopd.socket",
                 unitdir + "/privpopd-tls.socket",
                 unitdir + "/privpopd-activated.service",
                 unitdir + "/privpopd-inetd.socket",
                 unitdir + "/privpopd-inetd@.service",
                 unitdir + "/privpopd-inetd-tls.socket",
                 unitdir + "/privpopd-inetd-tls@.service"):
        check(want in installed, "make install did not install %s "
              "(installed: %r)" % (want, installed))
    empty = os.path.join(dest, "var/lib/privpop/empty")
    check(os.path.isdir(empty) and not os.listdir(empty) and
          os.stat(empty).st_mode & 0o777 == 0o755,
          "make install did not make the chroot var/lib/privpop/empty "
          "(an empty 0755 directory)")
    # what the files name is where things are
    with open(os.path.join(dest, "etc/privpop/privpopd.conf")) as f:
        conf = f.read()
    for want in ("#pid_file = /run/privpopd.pid",
                 "#chroot = /var/lib/privpop/empty",
                 "#passwd_file = /etc/privpop/passwd",
                 "#auth_helper = /usr/libexec/privpop/privpop-auth",
                 "#store_helper = /usr/libexec/privpop/privpop-store"):
        check(want in conf, "installed privpopd.conf lacks %r" % want)
    check("@" not in re.sub(r"\S+@\S+", "", conf),
          "an unsubstituted @name@ in privpopd.conf")
    with open(os.path.join(dest, unitdir, "privpopd.service")) as f:
        unit = f.read()
    check("ExecStart=/usr/sbin/privpopd -f\n" in unit and
          "Type=notify\n" in unit, "privpopd.service: %r" % unit)
    with open(os.path.join(dest, "etc/pam.d/privpop")) as f:
        check("@include common-session-noninteractive" in f.read(),
              "PAM file without common-session-noninteractive")
    r = run([os.path.join(dest, "usr/sbin/privpopd"), "-h"])
    check(b"/etc/privpop/privpopd.conf" in r.stderr,
          "compiled-in config path: %r" % r.stderr)

    # a virtual user whose mail the installed daemon serves
    home = ctx.new_tmpdir("home")
    pw = ctx.sysusers["pptest1"]
    u = U.MailUser("alice", PW_ALICE, pw.pw_uid, pw.pw_gid,
                   os.path.join(home, "alice"))
    u.make_maildir()
    for uniq, content, sub, flags in small_msgs(3, "installed"):
        u.deliver(uniq, content, sub, flags)
    line = U.passwd_line(build, u)
    port = U.free_port()
    tls_port = U.free_port()
    cert = T.cert_store(ctx, "rsa")
    certdir = ctx.new_tmpdir("installed-cert")
    for f in (cert.cert, cert.key):
        shutil.copy(f, certdir)
    crt = os.path.join(certdir, os.path.basename(cert.cert))
    key = os.path.join(certdir, os.path.basename(cert.key))
    os.chmod(key, 0o600)
    ovl = os.path.join(tmp, "ovl")
    os.makedirs(ovl)
    script = os.path.join(tmp, "ns.sh")
    with open(script, "w") as f:
        f.write(NAMESPACE_SCRIPT)
    proc = subprocess.Popen(
        ["unshare", "--mount", "--propagation", "private", "sh", script,
         dest, ovl, str(port), line, str(tls_port), crt, key],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT)
    try:
        out = read_until(proc, "TESTED", 30)
        out += read_until(proc, "EXE ", 30)
        pid = int([l for l in out if l.startswith("PID ")][0].split()[1])
        exe = [l for l in out if l.startswith("EXE ")][0][4:]
        check_eq(exe, "/usr/sbin/privpopd", "the daemon's executable")
        check(U.wait_until(lambda: len(U.children_of(pid)) >= 2, 10),
              "the installed master started no slots")
        p = poplib.POP3(U.HOST, port, timeout=10)
        try:
            p.user("alice")
            p.pass_(PW_ALICE)
            check_eq(p.stat()[0], 3, "messages served")
            body = b"\n".join(p.retr(1)[1])
            check(b"body of installed 1" in body, "RETR 1: %r" % body)
        finally:
            p.quit()
        # real clients, each way in (the certificate checked)
        for mode in clients.MODES:
            at = tls_port if mode == "tls" else port
            got = clients.curl_retr(mode, U.HOST, at, "alice", PW_ALICE,
                                    crt)
            check(b"body of installed 1" in got, "curl %s: %r"
                  % (mode, got[:200]))
            for name, fn in (("fetchmail", clients.fetchmail_all),
                             ("mpop", clients.mpop_all)):
                got = fn(mode, U.HOST, at, "alice", PW_ALICE, crt,
                         ctx.new_tmpdir(name))
                for i in (1, 2, 3):
                    check(b"body of installed %d" % i in got,
                          "%s %s: message %d not delivered"
                          % (name, mode, i))
        proc.stdin.write(b"stop\n")
        proc.stdin.flush()
        out += read_until(proc, "DONE", 30)
        check("PIDFILE REMOVED" in out, "the pid file: %r" % out[-5:])
        check(proc.wait(timeout=10) == 0, "namespace script: %r" % out)
    finally:
        if proc.poll() is None:
            U.kill_pids(U.descendants_of(proc.pid), 3)
            U.stop_process(proc, 3)
    check_eq(os.path.exists("/run/privpopd.pid"), host_pid_file,
             "the host's /run/privpopd.pid exists")
    check(not os.path.exists(os.path.join(dest, "etc/privpop/passwd")),
          "the test's edits reached DESTDIR")

    r = run(["make", "uninstall", "DESTDIR=" + dest], timeout=300,
            cwd=build)
    check(r.returncode == 0, "make uninstall: %r"
          % (r.stdout + r.stderr)[-800:])
    check_eq(files_under(dest), [], "files left after make uninstall")


@test("systemd_journal_stream_logs_once")
def t_journal_stream(ctx):
    """With stderr the journal ($JOURNAL_STREAM names its device and
    inode) and a syslog daemon listening, privpopd -f logs each line
    once, to syslog, not to stderr too."""
    if ctx.syslog is None:
        raise U.TestSkip("no syslog receiver in this run (not root, or "
                         "--no-syslog)")
    d, u = std_daemon(ctx, "journal", messages=small_msgs(1), start=False)
    d.port = U.free_port()
    d.write_passwd()
    d.write_conf()
    since = len(ctx.syslog.lines_since(0))
    with open(d.log, "ab") as logf:
        st = os.fstat(logf.fileno())
        env = dict(os.environ)
        env["JOURNAL_STREAM"] = "%d:%d" % (st.st_dev, st.st_ino)
        d.proc = subprocess.Popen([d.binary(), "-f", "-c", d.conf],
                                  stdin=subprocess.DEVNULL, stdout=logf,
                                  stderr=logf, cwd=d.dir, env=env)
    check(ctx.syslog.wait_for("started:", since, 10),
          "no 'started:' line in syslog")
    with d.session("alice") as c:
        c.cmd("QUIT")
    check(ctx.syslog.wait_for("sess=", since, 10),
          "no session summary in syslog")
    check("started:" not in d.log_text() and "sess=" not in d.log_text(),
          "lines went to the journal's stderr too: %r" % d.log_text()[-300:])
