"""Error messages that tell the admin what to do (issue 14): each
mistake a new admin makes gives one line naming the file, the line
where there is one, the cause and the fix, at privpopd -t where
possible, else in the log, and the client the right RFC 3206 code."""
import fcntl
import os
import pty
import re
import shutil
import socket
import subprocess
import termios

import e2e_util as U
from e2e_util import check
from registry import test
from tests_pop3 import PW_ALICE, small_msgs, std_daemon


def run_on_tty(ctx, argv, timeout=20):
    """argv with a pty as its controlling terminal (where OpenSSL would
    prompt), else (no pty free) in a session of its own without one;
    it must end within timeout."""
    try:
        master, slave = pty.openpty()
    except OSError as e:
        ctx.note("no pty (%s): run without a terminal" % e)
        master = slave = None

    def ctty():
        os.setsid()
        if slave is not None:
            fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
    try:
        return subprocess.run(argv, stdin=slave if slave is not None
                              else subprocess.DEVNULL,
                              stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, preexec_fn=ctty,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        raise U.TestFailure("%s still running after %ds (a prompt?)"
                            % (" ".join(argv), timeout))
    finally:
        if slave is not None:
            os.close(master)
            os.close(slave)


def run_t(d, timeout=20, tty=False):
    """privpopd -t -c d.conf: (exit code, stdout + stderr)."""
    argv = [d.binary(), "-t", "-c", d.conf]
    if tty:
        r = run_on_tty(d.ctx, argv, timeout)
    else:
        try:
            r = subprocess.run(argv, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise U.TestFailure("privpopd -t still running after %ds"
                                % timeout)
    return r.returncode, (r.stdout + r.stderr).decode("utf-8", "replace")


def conf_daemon(ctx, name, extra=None):
    """A daemon whose config and passwd-file are written, not started."""
    d = U.Daemon(ctx, name, extra_conf=extra)
    d.add_user("alice", PW_ALICE)
    d.write_passwd()
    d.port = U.free_port()
    d.write_conf()
    return d


def expect_t(d, rc, *parts, tty=False):
    """-t exits rc and prints a line holding every part, in order."""
    got, out = run_t(d, tty=tty)
    check(got == rc, "-t exit %d, want %d: %r" % (got, rc, out))
    rx = ".*".join(re.escape(p) for p in parts)
    check(re.search(rx, out), "no line with %r in %r" % (parts, out))
    return out


# ---------------------------------------------------------------------
# a, b: the passwd-file

@test("errors_passwd_file_bad_lines_at_t")
def t_passwd_lines(ctx):
    d = conf_daemon(ctx, "pwlines")
    with open(d.passwd, "a") as f:
        f.write("carol:{PLAIN}secret:50OO:1000::/home/carol\n")
        f.write("dave:{PLAIN}secret:1000\n")
    out = expect_t(d, 1, "passwd_file %s:3: bad uid \"50OO\"" % d.passwd,
                   "(a number from 0 to 4294967294)", "correct it")
    expect_t(d, 1, "passwd_file %s:4: 3 fields, expected at least 6"
             % d.passwd, "user:password:uid:gid:gecos:home[:mail]")
    check("secret" not in out, "the password field was printed: %r" % out)


@test("errors_passwd_file_bad_line_at_login")
def t_passwd_login(ctx):
    d = U.Daemon(ctx, "pwlogin")
    d.add_user("alice", PW_ALICE)
    d.passwd_lines.append("carol:{PLAIN}pw:x5000:1000::/home/carol")
    d.start()
    with d.connect() as c:
        c.resp()
        c.cmd("USER carol")
        r = c.cmd("PASS pw")
        check(r.startswith(b"-ERR [AUTH]"), "PASS: %r" % r)
    check(d.wait_log(r"passwd_file %s:3: bad uid \"x5000\".*the line is "
                     r"skipped \(its user cannot log in\): correct it"
                     % re.escape(d.passwd), 5),
          "no warning naming line 3 and the bad uid")


@test("errors_passwd_file_is_directory")
def t_passwd_dir(ctx):
    d = conf_daemon(ctx, "pwdir")
    os.mkdir(os.path.join(d.dir, "users"))
    d.write_conf({"passwd_file": os.path.join(d.dir, "users")})
    expect_t(d, 1, "passwd_file %s/users is a directory" % d.dir,
             "set passwd_file to the file of users")


# ---------------------------------------------------------------------
# c, d: the mailbox, at login

def need_root():
    if os.geteuid() != 0:
        raise U.TestSkip("needs root (the mailbox owner is another uid)")


@test("errors_missing_home_is_sys_perm")
def t_missing_home(ctx):
    need_root()
    d, u = std_daemon(ctx, "nohome", messages=small_msgs(1), start=False)
    shutil.rmtree(u.home)    # its parent is root's, mode 755
    d.start()
    with d.connect() as c:
        c.resp()
        c.cmd("USER alice")
        r = c.cmd("PASS " + PW_ALICE)
    check(r.startswith(b"-ERR [SYS/PERM]"), "PASS: %r" % r)
    check(d.wait_log(r"maildir %s/Maildir: %s does not exist, and uid %d "
                     r"cannot create it in %s .*install -d -o %d -g %d "
                     r"-m 700 %s"
                     % (re.escape(u.home), re.escape(u.home), u.uid,
                        re.escape(os.path.dirname(u.home)), u.uid, u.gid,
                        re.escape(u.home)), 5),
          "no log line naming the missing home and install -d")


@test("errors_maildir_owned_by_root_is_sys_perm")
def t_root_maildir(ctx):
    need_root()
    d, u = std_daemon(ctx, "rootmd", messages=small_msgs(1), start=False)
    for top, dirs, files in os.walk(u.maildir):
        for n in dirs + files:
            os.chown(os.path.join(top, n), 0, 0)
    os.chown(u.maildir, 0, 0)
    d.start()
    with d.connect() as c:
        c.resp()
        c.cmd("USER alice")
        r = c.cmd("PASS " + PW_ALICE)
    check(r.startswith(b"-ERR [SYS/PERM]"),
          "PASS: %r (a client told SYS/TEMP retries for ever)" % r)
    check(d.wait_log(r"maildir %s is owned by uid 0, not by the mailbox "
                     r"owner \(uid %d\): chown -R %d:%d %s"
                     % (re.escape(u.maildir), u.uid, u.uid, u.gid,
                        re.escape(u.maildir)), 5),
          "no log line naming the owner and the chown")


# ---------------------------------------------------------------------
# e, f: the TLS key

def openssl(*args):
    r = subprocess.run(["openssl"] + list(args), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=60)
    check(r.returncode == 0, "openssl %s: %r" % (args[0], r.stderr))


def tls_daemon(ctx, name, encrypted=False, der=False):
    d = conf_daemon(ctx, name)
    key = os.path.join(d.dir, "key.pem")
    cert = os.path.join(d.dir, "cert.pem")
    enc = ["-aes256", "-pass", "pass:x"] if encrypted else []
    openssl("genpkey", "-algorithm", "RSA", "-pkeyopt",
            "rsa_keygen_bits:2048", "-out", key, *enc)
    openssl("req", "-x509", "-new", "-key", key, "-passin", "pass:x",
            "-subj", "/CN=e2e.test", "-days", "2", "-out", cert)
    if der:
        openssl("pkey", "-in", key, "-outform", "DER", "-out",
                key + ".der")
        key += ".der"
    d.write_conf({"tls_cert": cert, "tls_key": key})
    return d, key


@test("errors_encrypted_key_no_prompt")
def t_encrypted_key(ctx):
    d, key = tls_daemon(ctx, "enckey", encrypted=True)
    want = ("key %s is encrypted; privpop cannot prompt for a pass "
            "phrase: decrypt it with openssl pkey -in %s -out %s.new"
            % (key, key, key))
    expect_t(d, 1, want, tty=True)
    expect_t(d, 1, want)
    # the daemon itself: the same line, and it exits, from a terminal
    r = run_on_tty(ctx, [d.binary(), "-f", "-c", d.conf])
    out = (r.stdout + r.stderr).decode("utf-8", "replace")
    check(r.returncode != 0 and want in out,
          "start: exit %d %r" % (r.returncode, out))


@test("errors_key_not_pem")
def t_key_der(ctx):
    d, key = tls_daemon(ctx, "derkey", der=True)
    expect_t(d, 1, "key %s is not PEM" % key,
             "PKCS#8 (BEGIN PRIVATE KEY), RSA (BEGIN RSA PRIVATE KEY) or "
             "EC (BEGIN EC PRIVATE KEY)",
             "openssl pkey -inform DER -in %s" % key)


# ---------------------------------------------------------------------
# g, h: the configuration

@test("errors_conf_values_name_their_forms")
def t_conf_values(ctx):
    d = conf_daemon(ctx, "confval")
    good = d.conf_text(d.port)
    n = len(good.splitlines()) + 1
    d.write_conf(text=good + "mail_location = maildir:Maildir\n")
    expect_t(d, 1, "%s:%d: bad value for \"mail_location\": "
             "\"maildir:Maildir\": expected maildir:PATH, mbox:PATH or "
             "auto, PATH absolute or ~/" % (d.conf, n))
    d.write_conf(text=good + "timeout = 5\n")
    expect_t(d, 1, "%s:%d: bad value for \"timeout\": \"5\": expected a "
             "whole number from 10 to 86400" % (d.conf, n))


@test("errors_user_root_at_t")
def t_user_root(ctx):
    need_root()
    d = conf_daemon(ctx, "uroot", {"user": "root"})
    expect_t(d, 1, "user = root: uid 0", "must not run as root",
             "set user to an unprivileged account")


# ---------------------------------------------------------------------
# i: a port in use

def listening(port):
    try:
        socket.create_connection((U.HOST, port), timeout=1).close()
        return True
    except OSError:
        return False


@test("errors_port_in_use_at_t")
def t_port_in_use(ctx):
    d = conf_daemon(ctx, "port")
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((U.HOST, d.port))
    s.listen(1)
    try:
        expect_t(d, 1, "port %d on %s is in use (another POP3 server or "
                 "privpopd already running?)" % (d.port, U.HOST))
    finally:
        s.close()
    # held by the running privpopd of pid_file (a daemon writes one): a
    # reload check passes
    d2, u = std_daemon(ctx, "portd", messages=small_msgs(1), start=False)
    pidfile = os.path.join(d2.dir, "privpopd.pid")
    d2.start(foreground=False)
    check(U.wait_until(lambda: os.path.exists(pidfile) and
                       open(pidfile).read().strip().isdigit(), 10),
          "no pid file")
    pid = int(open(pidfile).read().strip())
    tree = {pid: U.proc_stat(pid)[1]}
    try:
        check(U.wait_until(lambda: listening(d2.port), 10),
              "did not start")
        out = expect_t(d2, 0, "warning: port %d on %s is in use by the "
                       "running privpopd (pid %d" % (d2.port, U.HOST, pid))
        check("is valid" in out, "no 'is valid' line: %r" % out)
    finally:
        tree.update(U.descendants_of(pid))
        U.kill_pids(tree, 5)
    # in the foreground (the systemd unit's privpopd -f): no pid file,
    # found through /proc
    d3, u = std_daemon(ctx, "portf", messages=small_msgs(1))
    check(not os.path.exists(os.path.join(d3.dir, "privpopd.pid")),
          "a foreground privpopd wrote a pid file")
    expect_t(d3, 0, "warning: port %d on %s is in use by the running "
             "privpopd (pid %d)" % (d3.port, U.HOST, d3.pid()))


# ---------------------------------------------------------------------
# j: the login line joins the session's summary

@test("errors_login_line_has_session_id")
def t_login_sess(ctx):
    d, u = std_daemon(ctx, "sess", messages=small_msgs(1))
    with d.session("alice") as c:
        c.cmd("QUIT")
    check(d.wait_log(r"sess=[0-9a-f]{16} addr=\S+ user=alice auth=ok", 5),
          "no summary line")
    log = d.log_text()
    m = re.search(r"login: sess=([0-9a-f]{16}) addr=\S+ user=alice", log)
    check(m, "login: line without sess=: %r" % log[-2000:])
    check(re.search(r"sess=%s addr=\S+ user=alice auth=ok" % m.group(1),
                    log), "the summary line has another sess= than %s"
          % m.group(1))
