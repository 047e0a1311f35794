"""Migration UIDLs (issue 19): a Maildir carrying Dovecot's
dovecot-uidlist or Courier's courierpop3dsizelist is served the UIDLs
those servers served; a malformed file changes nothing but leaves
privpop's own; and the real Dovecot (Debian dovecot-pop3d) and privpop
list the same UIDLs for one Maildir."""
import os
import poplib
import shutil
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


def daemon(ctx, name, files):
    d = U.Daemon(ctx, name, prefork=1)
    u = d.add_user("alice", PW)
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
