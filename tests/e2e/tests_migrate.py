"""Migration UIDLs (issue 19): a Maildir carrying Dovecot's
dovecot-uidlist or Courier's courierpop3dsizelist is served the UIDLs
those servers served; a malformed file changes nothing but leaves
privpop's own; and the real Dovecot (Debian dovecot-pop3d) and privpop
list the same UIDLs for one Maildir.  privpop-uidl, the migration
tool, reports the old server's UIDLs beside privpop's (same for a
Dovecot Maildir, a Courier fixture and a popa3d mbox), reads the mailbox
as its owner when run as root, records privpop's view in its caches,
and fetchmail with "keep" fetches nothing new after the switch."""
import grp
import os
import poplib
import pwd
import shutil
import socket
import subprocess

import e2e_util as U
from e2e_util import check, check_eq
from registry import test

PW = "Migrate-e2e-pw-5521"
MSGS = [
    ("1700000001.M1P1.e2e", b"Subject: a\n\nbody a\n", "cur", "2,S"),
    ("1700000002.M2P1.e2e", b"Subject: b\n\nbody b\n", "new", None),
    ("1700000003.M3P1.e2e", b"Subject: c\n\nbody c\n", "cur", "2,"),
    ("1700000004.M4P1.e2e", b"Subject: d\n\nnew mail\n", "new", None),
]
DOVECOT_BIN = "/usr/lib/dovecot/pop3"


def daemon(ctx, name, files, plain=False):
    d = U.Daemon(ctx, name, prefork=1)
    u = d.add_user("alice", PW, plain=plain)
    for uniq, content, sub, flags in MSGS:
        u.deliver(uniq, content, sub, flags)
    for fname, text in files.items():
        p = os.path.join(u.maildir, fname)
        with open(p, "w") as f:
            f.write(text)
        os.chmod(p, 0o600)
        u._own(p)
    d.start()
    return d, u


def uidls(d):
    p = poplib.POP3(U.HOST, d.port, timeout=10)
    try:
        p.user("alice")
        r = p.pass_(PW)
        check(r.startswith(b"+OK"), "PASS %r" % r)
        _, lines, _ = p.uidl()
        return [l.decode().split()[1] for l in lines]
    finally:
        p.quit()


@test("migrate_dovecot_uidlist_fixture")
def t_dovecot(ctx):
    d, u = daemon(ctx, "migdv", {"dovecot-uidlist":
                                 "3 V1700000000 N4 G3085f01b7f11094c50110000"
                                 "8c4a11c1\n"
                                 "1 W20 :1700000001.M1P1.e2e\n"
                                 "2 P :1700000002.M2P1.e2e\n"
                                 "3 Pold-uidl-3 :1700000003.M3P1.e2e\n"})
    check_eq(uidls(d), ["000000016553f100", "1700000002.M2P1.e2e",
                        "old-uidl-3", "1700000004.M4P1.e2e"],
             "UIDLs: the format, P (empty: the name), P, new mail")


@test("migrate_courier_sizelist_fixture")
def t_courier(ctx):
    d, u = daemon(ctx, "migcr", {"courierpop3dsizelist":
                                 "/3 4 1600000000\n"
                                 "1700000001.M1P1.e2e:2,S 20 1:1600000000:0\n"
                                 "1700000002.M2P1.e2e 20 2:1600000000:0\n"
                                 "1700000003.M3P1.e2e:2, 20 3:0:0\n"})
    check_eq(uidls(d), ["UID1-1600000000", "UID2-1600000000", "UID3",
                        "1700000004.M4P1.e2e"], "Courier's UIDLs")


@test("migrate_malformed_files_own_uidls")
def t_malformed(ctx):
    d, u = daemon(ctx, "migbad", {
        "dovecot-uidlist": "9 garbage\n1 :1700000001.M1P1.e2e\n",
        "courierpop3dsizelist": "/3 4 1\nno fields here\n"
                                "1700000002.M2P1.e2e 20 2:x:0\n"})
    check_eq(uidls(d), [m[0] for m in MSGS], "privpop's own UIDLs")


@test("migrate_real_dovecot_same_uidls")
def t_real_dovecot(ctx):
    if not os.path.exists(DOVECOT_BIN):
        raise U.Skip("%s absent (Debian dovecot-pop3d)" % DOVECOT_BIN)
    d = U.Daemon(ctx, "migreal", prefork=1)
    u = d.add_user("alice", PW)
    for uniq, content, sub, flags in MSGS[:3]:
        u.deliver(uniq, content, sub, flags)
    run = os.path.join(d.dir, "dovecot-run")
    os.makedirs(run, exist_ok=True)
    conf = os.path.join(d.dir, "dovecot.conf")
    with open(conf, "w") as f:
        f.write("mail_location = maildir:%s\nssl = no\n"
                "log_path = /dev/stderr\nbase_dir = %s\nprotocols = pop3\n"
                "first_valid_uid = 1\npop3_uidl_format = %%08Xu%%08Xv\n"
                % (u.maildir, run))
    for p in (run, conf, d.dir):
        u._own(p)
    os.chmod(conf, 0o644)
    cmd = ["env", "-i", "HOME=" + u.home, "USER=alice", DOVECOT_BIN,
           "-c", conf]
    if os.geteuid() == 0:
        cmd = ["setpriv", "--reuid=%d" % u.uid, "--regid=%d" % u.gid,
               "--clear-groups"] + cmd
    # Dovecot's pop3 process, pre-authenticated on stdin/stdout: it
    # makes dovecot-uidlist as the mailbox owner at this first UIDL
    r = subprocess.run(cmd, input=b"UIDL\r\nQUIT\r\n", capture_output=True,
                       timeout=30)
    out = r.stdout.decode(errors="replace").split("\r\n")
    check(r.returncode == 0 and "+OK Logging out." in out,
          "dovecot pop3: rc %d %r %r" % (r.returncode, out, r.stderr))
    i = out.index("+OK")
    dv = [l.split()[1] for l in out[i + 1:out.index(".", i)]]
    check_eq(len(dv), 3, "Dovecot's UIDL count")
    check(os.path.exists(os.path.join(u.maildir, "dovecot-uidlist")),
          "dovecot-uidlist written")
    # then new mail, which Dovecot never saw: privpop's own
    u.deliver(*MSGS[3][:2], MSGS[3][2], MSGS[3][3])
    d.start()
    check_eq(uidls(d), dv + [MSGS[3][0]], "privpop serves Dovecot's UIDLs")


# ---------------------------------------------------------------------
# privpop-uidl, and real clients across the switch

DOVECOT_UIDLIST = ("3 V1700000000 N4 G3085f01b7f11094c501100008c4a11c1\n"
                   "1 W20 :1700000001.M1P1.e2e\n"
                   "2 P :1700000002.M2P1.e2e\n"
                   "3 Pold-uidl-3 :1700000003.M3P1.e2e\n")
COURIER_SIZELIST = ("/3 4 1600000000\n"
                    "1700000001.M1P1.e2e:2,S 20 1:1600000000:0\n"
                    "1700000002.M2P1.e2e 20 2:1600000000:0\n"
                    "1700000003.M3P1.e2e:2, 20 3:0:0\n")


def uidl_tool(d, *args, user=None):
    """privpop-uidl with the daemon's configuration; as root unless
    user (a MailUser) is given.  Returns (rc, stdout lines, stderr)."""
    argv = [d.binary("privpop-uidl"), "-c", d.conf] + list(args)
    if user is not None and os.geteuid() == 0:
        argv = ["setpriv", "--reuid=%d" % user.uid, "--regid=%d" % user.gid,
                "--clear-groups"] + argv
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=60)
    return (r.returncode, r.stdout.decode().splitlines(),
            r.stderr.decode(errors="replace"))


def as_root():
    if os.geteuid() != 0:
        raise U.Skip("needs root (the tool's drop to the owner)")


@test("uidl_tool_dry_run_dovecot_courier_fixtures")
def t_tool_fixtures(ctx):
    as_root()
    d, u = daemon(ctx, "uidldv", {"dovecot-uidlist": DOVECOT_UIDLIST})
    rc, out, err = uidl_tool(d, "--dry-run", "alice")
    check_eq(rc, 0, "exit status: %s" % err)
    check_eq(out, ["1 000000016553f100 000000016553f100 same",
                   "2 1700000002.M2P1.e2e 1700000002.M2P1.e2e same",
                   "3 old-uidl-3 old-uidl-3 same",
                   "4 - 1700000004.M4P1.e2e new",
                   "same=3 differ=0 new=1"], "Dovecot fixture")
    check(not os.path.exists(os.path.join(u.maildir, ".privpop-sizes")),
          "a dry run writes no cache")
    check_eq(uidls(d), ["000000016553f100", "1700000002.M2P1.e2e",
                        "old-uidl-3", "1700000004.M4P1.e2e"],
             "what privpop then serves")
    # --from courier on a Maildir with Dovecot's file only: none covered
    rc, out, err = uidl_tool(d, "--dry-run", "--from", "courier", "alice")
    check_eq((rc, out[-1]), (0, "same=0 differ=0 new=4"), "courier: none")
    d2, u2 = daemon(ctx, "uidlcr", {"courierpop3dsizelist": COURIER_SIZELIST})
    rc, out, err = uidl_tool(d2, "-n", "-f", "courier", "alice")
    check_eq(rc, 0, "exit status: %s" % err)
    check_eq(out, ["1 UID1-1600000000 UID1-1600000000 same",
                   "2 UID2-1600000000 UID2-1600000000 same",
                   "3 UID3 UID3 same",
                   "4 - 1700000004.M4P1.e2e new",
                   "same=3 differ=0 new=1"], "Courier fixture")
    # the owner names the path: the same answer, no root involved
    rc, out2, err = uidl_tool(d2, "--dry-run", u2.maildir, user=u2)
    check_eq((rc, out2), (0, out), "as the owner with a PATH: %s" % err)
    rc, out, err = uidl_tool(d2, "--dry-run", "/etc", user=u2)
    check(rc != 0, "a PATH that is no mailbox of the owner's: %r" % out)
    rc, out, err = uidl_tool(d2, "--dry-run", u2.maildir)
    check(rc == 2 and "name a USER" in err, "root with a PATH: %r" % err)
    rc, out, err = uidl_tool(d2, "--dry-run", "nosuchuser")
    check(rc == 2 and "no such user" in err, "unknown user: %r" % err)


@test("uidl_tool_drops_to_owner_and_in_use")
def t_tool_drop(ctx):
    as_root()
    d, u = daemon(ctx, "uidldrop", {"dovecot-uidlist": DOVECOT_UIDLIST})
    # the owner's own file, which the owner cannot read and root can:
    # read as root it would cover three messages
    p = os.path.join(u.maildir, "dovecot-uidlist")
    os.chmod(p, 0)
    rc, out, err = uidl_tool(d, "--dry-run", "alice")
    check_eq(out[-1:], ["same=0 differ=0 new=4"],
             "the uidlist read as the owner (unreadable): %s" % err)
    os.chmod(p, 0o600)
    # recorded: the caches exist afterwards, the owner's (the listing
    # is saved only for directories that have settled: an hour old)
    for sub in ("cur", "new"):
        t = os.stat(os.path.join(u.maildir, sub)).st_mtime - 3600
        os.utime(os.path.join(u.maildir, sub), (t, t))
    rc, out, err = uidl_tool(d, "alice")
    check_eq((rc, out[-1]), (0, "same=3 differ=0 new=1"), "recorded: " + err)
    for name in (".privpop-sizes", ".privpop-listing"):
        p = os.path.join(u.maildir, name)
        check(os.path.exists(p), "%s written" % name)
        st = os.stat(p)
        check_eq((st.st_uid, st.st_gid), (u.uid, u.gid),
                 "the owner of " + name)
    # a live session holds the mailbox: the tool says so, exits 3
    p3 = poplib.POP3(U.HOST, d.port, timeout=10)
    try:
        p3.user("alice")
        p3.pass_(PW)
        rc, out, err = uidl_tool(d, "alice")
        check(rc == 3 and "in use" in err, "in use: %d %r" % (rc, err))
    finally:
        p3.quit()


def fetchmail_keep(home, poll, user, password, auth):
    """fetchmail --keep with UIDLs remembered in home/.fetchids; the
    MDA appends to home/delivered.  Returns (rc, output, delivered)."""
    if not shutil.which("fetchmail"):
        raise U.Skip("fetchmail is not installed")
    os.makedirs(home, exist_ok=True)
    out = os.path.join(home, "delivered")
    rc = os.path.join(home, "fetchmailrc")
    with open(rc, "w") as f:
        f.write("set no bouncemail\ndefaults no mimedecode\n"
                "poll localhost %s protocol pop3 uidl auth %s timeout 20\n"
                "  user \"%s\" password \"%s\" is \"%s\" here keep\n"
                % (poll, auth, user, password,
                   os.environ.get("USER", "root")))
    os.chmod(rc, 0o600)
    env = dict(os.environ, HOME=home, FETCHMAILHOME=home)
    r = subprocess.run(["fetchmail", "-f", rc, "--nosyslog", "-v",
                        "--sslproto", "", "--pidfile",
                        os.path.join(home, "fm.pid"), "--mda",
                        "cat >> " + out], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=60, env=env,
                       cwd=home)
    try:
        with open(out, "rb") as f:
            got = f.read()
    except FileNotFoundError:
        got = b""
    return r.returncode, r.stdout.decode(errors="replace"), got


def fetched(data):
    """How many messages the MDA got (one Subject: line each)."""
    return data.count(b"\nSubject: ") + data.startswith(b"Subject: ")


@test("uidl_tool_real_dovecot_fetchmail_keep")
def t_tool_dovecot_fetchmail(ctx):
    as_root()
    if not os.path.exists(DOVECOT_BIN):
        raise U.Skip("%s absent (Debian dovecot-pop3d)" % DOVECOT_BIN)
    d = U.Daemon(ctx, "uidlfm", prefork=1)
    u = d.add_user("alice", PW)
    for uniq, content, sub, flags in MSGS[:3]:
        u.deliver(uniq, content, sub, flags)
    run = os.path.join(d.dir, "dovecot-run")
    os.makedirs(run, exist_ok=True)
    conf = os.path.join(d.dir, "dovecot.conf")
    with open(conf, "w") as f:
        f.write("mail_location = maildir:%s\nssl = no\n"
                "log_path = /dev/stderr\nbase_dir = %s\nprotocols = pop3\n"
                "first_valid_uid = 1\n" % (u.maildir, run))
    for p in (run, conf, d.dir):
        u._own(p)
    os.chmod(conf, 0o644)
    # Dovecot's pop3, pre-authenticated on stdin/stdout, as fetchmail's
    # plugin (auth ssh: the "server" is already logged in); it sends no
    # greeting in that mode, so the wrapper does
    plugin = os.path.join(d.dir, "dovecot-pop3.sh")
    with open(plugin, "w") as f:
        f.write("#!/bin/sh\nprintf '+OK Dovecot pre-authenticated\\r\\n'\n"
                "exec setpriv --reuid=%d --regid=%d --clear-groups env -i "
                "HOME=%s USER=alice %s -c %s\n" % (u.uid, u.gid, u.home,
                                                   DOVECOT_BIN, conf))
    os.chmod(plugin, 0o755)
    home = os.path.join(d.dir, "fetchmail")
    rc, log, got = fetchmail_keep(home, "plugin \"%s\"" % plugin, "alice",
                                  PW, "ssh")
    check(rc == 0 and fetched(got) == 3,
          "fetchmail from Dovecot: rc %d, %d messages: %s"
          % (rc, fetched(got), log[-600:]))
    check(os.path.exists(os.path.join(u.maildir, "dovecot-uidlist")),
          "Dovecot wrote dovecot-uidlist")
    d.start()
    # the switch: dry run, then record
    rc, out, err = uidl_tool(d, "--dry-run", "--from", "dovecot", "alice")
    check_eq((rc, out[-1]), (0, "same=3 differ=0 new=0"),
             "dry run on Dovecot's Maildir: %r %s" % (out, err))
    rc, out, err = uidl_tool(d, "alice")
    check_eq(rc, 0, "recorded: " + err)
    # privpop now: fetchmail with keep finds nothing new
    before = len(got)
    rc, log, got = fetchmail_keep(home, "service %d" % d.port, "alice", PW,
                                  "password")
    check(rc == 1 and len(got) == before,
          "fetchmail after the switch: rc %d (1: no mail), %d bytes more:"
          " %s" % (rc, len(got) - before, log[-800:]))
    check("not flushed" in log or "seen" in log or "No mail" in log,
          "fetchmail's words: %s" % log[-400:])
    # new mail after the switch: exactly that one
    u.deliver(*MSGS[3][:2], MSGS[3][2], MSGS[3][3])
    rc, log, got2 = fetchmail_keep(home, "service %d" % d.port, "alice",
                                   PW, "password")
    check(rc == 0 and fetched(got2[before:]) == 1,
          "fetchmail: only the new message: rc %d %s" % (rc, log[-600:]))


UIDL_POPA3D_USER = "pp_uidlmig"


def mpop_keep(home, port, user, password):
    """mpop (keep on, only_new on) against 127.0.0.1:port, UIDLs in
    home/uidls, delivering to home/delivered.  (rc, output, bytes)."""
    os.makedirs(home, exist_ok=True)
    out = os.path.join(home, "delivered")
    if not os.path.exists(out):
        open(out, "wb").close()
    rc = os.path.join(home, "mpoprc")
    with open(rc, "w") as f:
        f.write("defaults\ntimeout 20\nuidls_file %s/uidls\n"
                "account test\nhost 127.0.0.1\nport %d\nuser %s\n"
                "password %s\ntls off\nauth user\ndelivery mbox %s\n"
                "keep on\nonly_new on\n" % (home, port, user, password,
                                             out))
    os.chmod(rc, 0o600)
    r = subprocess.run(["mpop", "-C", rc, "test"], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=60,
                       env=dict(os.environ, HOME=home), cwd=home)
    with open(out, "rb") as f:
        return r.returncode, r.stdout.decode(errors="replace"), f.read()


class Socat:
    """popa3d in inetd mode behind socat on a loopback port, stopped
    by its PID."""

    def __init__(self, exe):
        self.port = U.free_port()
        self.proc = subprocess.Popen(
            ["socat", "TCP-LISTEN:%d,bind=%s,reuseaddr,fork" % (
                self.port, U.HOST), "EXEC:%s" % exe],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def __enter__(self):
        def up():
            try:
                socket.create_connection((U.HOST, self.port), 1).close()
                return True
            except OSError:
                return self.proc.poll() is not None
        check(U.wait_until(up, 10) and self.proc.poll() is None,
              "socat on port %d" % self.port)
        return self

    def __exit__(self, *exc):
        self.proc.kill()
        self.proc.wait(10)


@test("uidl_tool_popa3d_mbox_fetchmail_keep")
def t_tool_popa3d(ctx):
    as_root()
    import tests_mbox as M
    exe = M.popa3d_binary()
    if exe is None:
        raise U.Skip("popa3d is not installed (apt-get install popa3d, "
                     "or POPA3D=path of its binary)")
    msgs = M.reader_msgs()[:2] + [
        b"Received: by mx with id %d\n\tfrom far\nDate: d%d\n"
        b"Message-ID: <%d@x>\nSubject: s\n\nbody %d\n" % (i, i, i, i)
        for i in range(4)]
    data = b"".join(M.entry(m) for m in msgs)
    pw = U.ensure_system_user(UIDL_POPA3D_USER)
    r = subprocess.run(["chpasswd"], input=("%s:%s\n" % (
        UIDL_POPA3D_USER, PW)).encode(), stderr=subprocess.PIPE, timeout=30)
    check(r.returncode == 0, "chpasswd: %r" % r.stderr)
    os.makedirs("/var/lib/popa3d", exist_ok=True)   # its chroot
    U.ensure_system_user("popa3d")
    spool = "/var/mail/%s" % UIDL_POPA3D_USER
    with open(spool, "wb") as f:
        f.write(data)
    os.chown(spool, pw.pw_uid, grp.getgrnam("mail").gr_gid)
    os.chmod(spool, 0o660)
    d = U.Daemon(ctx, "uidlp3", prefork=1)
    home = os.path.join(d.dir, "fetchmail")
    mhome = os.path.join(d.dir, "mpop")
    use_mpop = shutil.which("mpop") and shutil.which("socat")
    try:
        rc, log, got = fetchmail_keep(home, "plugin \"%s\"" % exe,
                                      UIDL_POPA3D_USER, PW, "password")
        if use_mpop:
            with Socat(exe) as sc:
                mrc, mlog, mgot = mpop_keep(mhome, sc.port,
                                            UIDL_POPA3D_USER, PW)
            check(mrc == 0 and fetched(mgot) == len(msgs),
                  "mpop from popa3d: rc %d, %d messages: %s"
                  % (mrc, fetched(mgot), mlog[-600:]))
    finally:
        os.unlink(spool)
    check(rc == 0 and fetched(got) == len(msgs),
          "fetchmail from popa3d: rc %d, %d messages: %s"
          % (rc, fetched(got), log[-600:]))
    # the same mbox, now privpop's (~/mbox of the same user name)
    u = d.add_user(UIDL_POPA3D_USER, PW, mail="mbox:~/mbox")
    M.write_file(u, os.path.join(u.home, "mbox"), data)
    d.start()
    rc, out, err = uidl_tool(d, "--dry-run", "--from", "popa3d",
                             UIDL_POPA3D_USER)
    check_eq((rc, out[-1]), (0, "same=%d differ=0 new=0" % len(msgs)),
             "dry run on popa3d's mbox: %r %s" % (out, err))
    idx = M.index_dir(u)
    check_eq([f for f in M.index_files(u) if not f.endswith(".lock")], [],
             "a dry run writes no cache (the [IN-USE] lock file only)")
    rc, out, err = uidl_tool(d, UIDL_POPA3D_USER)
    check_eq(rc, 0, "recorded: " + err)
    files = M.index_files(u)
    check(any(f.endswith(".cache") or "cache" in f for f in files),
          "the index cache written: %r" % files)
    for f in files + [""]:
        st = os.stat(os.path.join(idx, f))
        check_eq((st.st_uid, st.st_gid), (u.uid, u.gid),
                 "owner of %s" % (f or idx))
    before = len(got)
    rc, log, got = fetchmail_keep(home, "service %d" % d.port,
                                  UIDL_POPA3D_USER, PW, "password")
    check(rc == 1 and len(got) == before,
          "fetchmail after the switch: rc %d (1: no mail), %d bytes more:"
          " %s" % (rc, len(got) - before, log[-800:]))
    if not use_mpop:
        ctx.note("mpop or socat absent: only fetchmail checked")
        return
    mbefore = len(mgot)
    mrc, mlog, mgot = mpop_keep(mhome, d.port, UIDL_POPA3D_USER, PW)
    check(mrc == 0 and len(mgot) == mbefore,
          "mpop after the switch: rc %d, %d bytes more: %s"
          % (mrc, len(mgot) - mbefore, mlog[-800:]))


@test("uidl_tool_dovecot_mbox_headers_differ")
def t_tool_mbox_dovecot(ctx):
    """Dovecot's mbox records (X-UIDL:, X-UID: with X-IMAPbase:): the
    repeated X-UIDL Dovecot would serve twice is the one privpop cannot
    keep (differ, exit 1); a message with no valid record is new."""
    as_root()
    import tests_mbox as M
    msgs = [
        b"X-IMAPbase: 1700000000 9 $Label1\nX-UID: 1\nStatus: RO\n"
        b"X-UIDL: qpop-0001\nSubject: a\n\nbody a\n",
        b"X-UID: 2\nSubject: b\n\nbody b\n",
        b"X-UIDL: qpop 0003\nX-UID: 3\nSubject: c\n\nbody c\n",
        b"X-UIDL: qpop-0001\nSubject: d\n\nbody d\n",
        b"X-UIDL: " + b"x" * 71 + b"\nSubject: e\n\nbody e\n",
    ]
    d, u, path = M.mbox_daemon(ctx, "uidlmbdv",
                               b"".join(M.entry(m) for m in msgs))
    rc, out, err = uidl_tool(d, "--dry-run", "--from", "dovecot", "alice")
    check_eq(rc, 1, "exit status with a message that differs: %s" % err)
    check_eq(out[0], "1 qpop-0001 qpop-0001 same", "X-UIDL")
    check_eq(out[1], "2 %08x%08x %08x%08x same" % (2, 1700000000, 2,
                                                   1700000000), "X-UID")
    check(out[3].startswith("4 qpop-0001 ") and out[3].endswith(" differ"),
          "the repeated X-UIDL: %r" % out[3])
    check(out[4].startswith("5 - "), "no valid record: %r" % out[4])
    check_eq(out[-1], "same=3 differ=1 new=1", "summary")
    # what privpop then serves is what the tool printed
    with d.session("alice") as c:
        r = c.cmd("UIDL")
        check(r.startswith(b"+OK"), "UIDL: %r" % r)
        got = [l.split(b" ", 1)[1].decode()
               for l in c.multi().split(b"\r\n")[:-1]]
        c.cmd("QUIT")
    check_eq(got, [l.split()[2] for l in out[:-1]], "served = printed")



def real_dovecot_mbox(ctx, name, fmt=None):
    """Dovecot's pop3 (with pop3_uidl_format fmt, else its default) on an
    mbox, then privpop-uidl and privpop (with the same fmt): returns
    Dovecot's UIDLs after checking that both agree with them."""
    as_root()
    if not os.path.exists(DOVECOT_BIN):
        raise U.Skip("%s absent (Debian dovecot-pop3d)" % DOVECOT_BIN)
    import tests_mbox as M
    msgs = [b"Subject: m%d\n\nbody %d\n" % (i, i) for i in range(3)]
    d, u, path = M.mbox_daemon(
        ctx, name, b"".join(M.entry(m) for m in msgs),
        extra_conf=None if fmt is None else {"pop3_uidl_format": fmt})
    run = os.path.join(d.dir, "dovecot-run")
    mail = os.path.join(u.home, "dovecot-mail")
    for p in (run, mail):
        os.makedirs(p, exist_ok=True)
        u._own(p)
    conf = os.path.join(d.dir, "dovecot.conf")
    with open(conf, "w") as f:
        f.write("mail_location = mbox:%s:INBOX=%s\nssl = no\n"
                "log_path = /dev/stderr\nbase_dir = %s\nprotocols = pop3\n"
                "first_valid_uid = 1\n" % (mail, path, run))
        if fmt is not None:
            f.write("pop3_uidl_format = %s\n" % fmt)
    os.chmod(conf, 0o644)
    r = subprocess.run(["setpriv", "--reuid=%d" % u.uid,
                        "--regid=%d" % u.gid, "--clear-groups", "env", "-i",
                        "HOME=" + u.home, "USER=alice", DOVECOT_BIN, "-c",
                        conf], input=b"UIDL\r\nQUIT\r\n", capture_output=True,
                       timeout=30)
    out = r.stdout.decode(errors="replace").split("\r\n")
    check(r.returncode == 0 and "+OK Logging out." in out,
          "dovecot pop3: rc %d %r %r" % (r.returncode, out, r.stderr))
    dv = [l.split()[1] for l in out[1:out.index(".")]]
    check_eq(len(dv), 3, "Dovecot's UIDL count")
    with open(path, "rb") as f:
        check(b"\nX-IMAPbase: " in f.read(), "Dovecot wrote X-IMAPbase:")
    rc, lines, err = uidl_tool(d, "--dry-run", "--from", "dovecot", "alice")
    check_eq((rc, lines[-1]), (0, "same=3 differ=0 new=0"),
             "dry run: %r %s" % (lines, err))
    check_eq([l.split()[1] for l in lines[:-1]], dv, "the old UIDLs")
    with d.session("alice") as c:
        r = c.cmd("UIDL")
        check(r.startswith(b"+OK"), "UIDL: %r" % r)
        got = [l.split(b" ", 1)[1].decode()
               for l in c.multi().split(b"\r\n")[:-1]]
        c.cmd("QUIT")
    check_eq(got, dv, "privpop serves Dovecot's mbox UIDLs")
    return dv


@test("uidl_tool_real_dovecot_mbox_same_uidls")
def t_tool_real_dovecot_mbox(ctx):
    """Dovecot's pop3 on an mbox writes X-IMAPbase: (its last UID) and
    X-UID: into it at the first session; privpop-uidl reports every
    message the same, and privpop serves Dovecot's list."""
    real_dovecot_mbox(ctx, "uidlmbreal")


@test("uidl_tool_real_dovecot_mbox_own_format")
def t_tool_real_dovecot_mbox_fmt(ctx):
    """The same with a pop3_uidl_format of the site's own (%v.%u, which
    Dovecot's documentation gives for UW-IMAP's and old Dovecot's
    UIDLs), set in both servers' configurations."""
    dv = real_dovecot_mbox(ctx, "uidlmbfmt", "%v.%u")
    check(all(len(x.split(".")) == 2 and all(p.isdigit()
                                             for p in x.split("."))
              for x in dv), "Dovecot rendered %%v.%%u: %r" % dv)


@test("uidl_tool_system_spool_dotlock_child")
def t_tool_spool(ctx):
    """A PAM user's /var/mail spool (root:mail 2775): as root the tool
    drops to the owner and leaves the group mail to a dotlock child, as
    privpop-store does, so the dotlock can be made; the cache is the
    owner's."""
    as_root()
    st = os.stat("/var/mail")
    if st.st_gid != grp.getgrnam("mail").gr_gid or not st.st_mode & 0o020:
        raise U.Skip("/var/mail is not the group mail's to write")
    pw = U.ensure_system_user(UIDL_POPA3D_USER)
    d = U.Daemon(ctx, "uidlspool", prefork=1)
    idx = os.path.join(d.dir, "idx")
    os.makedirs(idx)
    os.chown(idx, pw.pw_uid, pw.pw_gid)
    conf = os.path.join(d.dir, "spool.conf")
    with open(conf, "w") as f:
        f.write("auth_backends = pam\nmail_privileged_group = mail\n"
                "mbox_locks = dotlock fcntl\nmbox_index_dir = %s\n"
                "first_valid_uid = 100\n"
                "system_mail_location = mbox:/var/mail/%%u\n" % idx)
    spool = "/var/mail/%s" % UIDL_POPA3D_USER
    with open(spool, "wb") as f:
        f.write(b"From x Mon Jan  1 00:00:00 2024\nReceived: by mx id 1\n"
                b"Subject: a\n\nbody a\n")
    os.chown(spool, pw.pw_uid, grp.getgrnam("mail").gr_gid)
    os.chmod(spool, 0o660)
    try:
        r = subprocess.run([d.binary("privpop-uidl"), "-c", conf,
                            UIDL_POPA3D_USER], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=60)
    finally:
        os.unlink(spool)
    out = r.stdout.decode().splitlines()
    check_eq((r.returncode, out[-1:]), (0, ["same=1 differ=0 new=0"]),
             "the spool, recorded: %r" % r.stderr)
    files = os.listdir(idx)
    check(any(f.endswith(".cache") for f in files), "cache: %r" % files)
    for f in files:
        s = os.stat(os.path.join(idx, f))
        check_eq((s.st_uid, s.st_gid), (pw.pw_uid, pw.pw_gid), "owner of " + f)
