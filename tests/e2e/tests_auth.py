"""Authentication tests: SASL (PLAIN, LOGIN, CRAM-MD5, SCRAM-SHA-256)
with curl and with exchanges computed here, the CAPA/AUTH mechanism
lists, PAM through pam_wrapper/pam_matrix and with the shipped PAM file
for real system users, penalties, the transparent hash upgrade, and
identical answers for unknown users and wrong passwords."""
import os
import pwd
import re
import secrets
import shutil
import time

import e2e_util as U
from e2e_util import check, check_eq
from registry import test

import auth_util as A

PW_A = "Alice-auth-pw-5521"        # yescrypt (crypt) user
PW_B = "Bob-plain-auth-7734"       # {PLAIN} user
PW_C = "Carol-scram-auth-3189"     # {SCRAM-SHA-256} user
PW_BAD = "Wrong-auth-pw-0042"

MSG1 = (b"From: a@example.org\nSubject: auth one\n\nfirst body line\n"
        b".dot line\nlast\n")
MSG2 = b"From: b@example.org\r\nSubject: auth two\r\n\r\nsecond\r\n"

FAILED = b"-ERR [AUTH] Authentication failed.\r\n"


def auth_daemon(ctx, name="auth", plain=True, scram=True, crypt=True,
                extra_conf=None, start=True, mechs=U.ALL_MECHS):
    """alice (yescrypt), bob ({PLAIN}), carol ({SCRAM-SHA-256}), each
    with MSG1 and MSG2 in the Maildir; which of them exist is chosen.
    Every mechanism is offered unless mechs says otherwise (None:
    auth_mechanisms = auto)."""
    conf = {"auth_mechanisms": mechs}
    conf.update(extra_conf or {})
    d = U.Daemon(ctx, name, extra_conf=conf)
    if crypt:
        u = d.add_user("alice", PW_A)
        u.deliver("1733000001.M1P1.auth", MSG1)
        u.deliver("1733000002.M2P1.auth", MSG2)
    if plain:
        u = d.add_user("bob", PW_B, sysuser="pptest2", plain=True)
        u.deliver("1733000001.M1P2.auth", MSG1)
        u.deliver("1733000002.M2P2.auth", MSG2)
    if scram:
        u = A.add_user_line(d, "carol", PW_C, sysuser="pptest2",
                            scheme="scram-sha-256")
        check("{SCRAM-SHA-256}4096," in d.passwd_lines[-1],
              "privpop-passwd -s scram-sha-256 line %r"
              % d.passwd_lines[-1])
        u.deliver("1733000001.M1P3.auth", MSG1)
        u.deliver("1733000002.M2P3.auth", MSG2)
    if start:
        d.start()
    return d


def logged_in(c, r, what, count=2):
    check(r.startswith(b"+OK"), "%s: %r" % (what, r))
    want = b"+OK %d %d\r\n" % (count, len(U.to_wire(MSG1)) +
                               len(U.to_wire(MSG2))) if count == 2 else None
    s = c.cmd("STAT")
    if want is not None:
        check_eq(s, want, "%s: STAT" % what)
    r = c.cmd("RETR 1")
    check(r.startswith(b"+OK"), "%s: RETR 1 %r" % (what, r))
    check_eq(U.unstuff(c.multi()), U.to_wire(MSG1), "%s: RETR 1" % what)
    check(c.cmd("QUIT").startswith(b"+OK"), "%s: QUIT" % what)


def curl(d, user, password, opts=(), path="1"):
    if not shutil.which("curl"):
        raise U.TestFailure("curl is not installed")
    return A.run(["curl", "-s", "-S", "-v", "--max-time", "20"] +
                 list(opts) + ["pop3://%s:%d/%s" % (U.HOST, d.port, path),
                               "-u", "%s:%s" % (user, password)])


def curl_auth_line(stderr):
    """The AUTH command curl sent ("AUTH PLAIN", ...), or ''."""
    m = re.search(rb"^> (AUTH [A-Z0-9-]+)", stderr, re.M)
    return m.group(1).decode() if m else ""


# ---------------------------------------------------------------------
# SASL with curl

@test("auth_sasl_curl_mechanisms")
def t_curl_sasl(ctx):
    d = auth_daemon(ctx, "curlsasl", scram=False)
    cases = [("alice", PW_A, "AUTH=PLAIN", "AUTH PLAIN"),
             ("alice", PW_A, "AUTH=LOGIN", "AUTH LOGIN"),
             ("bob", PW_B, "AUTH=PLAIN", "AUTH PLAIN"),
             ("bob", PW_B, "AUTH=CRAM-MD5", "AUTH CRAM-MD5"),
             # default: curl picks the strongest mechanism it knows
             ("bob", PW_B, None, "AUTH CRAM-MD5")]
    for user, pw, opt, sent in cases:
        r = curl(d, user, pw, ["--login-options", opt] if opt else [])
        what = "curl %s %s" % (opt or "(default)", user)
        check(r.returncode == 0, "%s: exit %d: %r" % (what, r.returncode,
                                                      r.stderr[-400:]))
        check_eq(curl_auth_line(r.stderr), sent, "%s: AUTH sent" % what)
        check(b"> USER " not in r.stderr and b"> APOP " not in r.stderr,
              "%s fell back to USER/APOP" % what)
        check_eq(r.stdout, U.to_wire(MSG1), "%s: RETR 1" % what)
    # wrong passwords fail with each mechanism
    for user, opt in (("alice", "AUTH=PLAIN"), ("alice", "AUTH=LOGIN"),
                      ("bob", "AUTH=CRAM-MD5")):
        r = curl(d, user, PW_BAD, ["--login-options", opt])
        check(r.returncode != 0 and r.stdout == b"",
              "curl %s %s with a wrong password: exit %d out %r"
              % (opt, user, r.returncode, r.stdout[:80]))
        check(b"-ERR [AUTH]" in r.stderr, "curl %s: no -ERR [AUTH] in %r"
              % (opt, r.stderr[-300:]))
    # no {PLAIN} entry: no CRAM-MD5, and curl's default is PLAIN
    d2 = auth_daemon(ctx, "curlsasl2", plain=False, scram=False, mechs=None)
    r = curl(d2, "alice", PW_A)
    check(r.returncode == 0, "curl default (crypt only): exit %d: %r"
          % (r.returncode, r.stderr[-400:]))
    check_eq(curl_auth_line(r.stderr), "AUTH PLAIN",
             "curl default without CRAM-MD5")
    check_eq(r.stdout, U.to_wire(MSG1), "curl default: RETR 1")


# ---------------------------------------------------------------------
# SASL exchanges computed here

@test("auth_sasl_plain_framing")
def t_plain(ctx):
    d = auth_daemon(ctx, "plain", scram=False)
    # initial response
    c, _ = A.greet(d)
    logged_in(c, A.sasl_plain(c, "alice", PW_A), "PLAIN initial response")
    # no initial response: "+ " then the continuation
    c, _ = A.greet(d)
    logged_in(c, A.sasl_plain(c, "bob", PW_B, initial=False),
              "PLAIN continuation")
    # authzid equal to authcid is fine
    c, _ = A.greet(d)
    logged_in(c, A.sasl_plain(c, "alice", PW_A, authzid="alice"),
              "PLAIN authzid == authcid")
    # mechanism names are case-insensitive
    c, _ = A.greet(d)
    logged_in(c, c.cmd("AUTH plain " + A.b64("\0alice\0" + PW_A)),
              "AUTH plain (lower case)")

    with A.greet(d)[0] as c:
        # "=": an empty initial response, not a valid PLAIN message
        check_eq(c.cmd("AUTH PLAIN ="), FAILED, "AUTH PLAIN =")
        # authzid != authcid
        check_eq(A.sasl_plain(c, "alice", PW_A, authzid="bob"),
                 b"-ERR [AUTH] Authorization identity not permitted.\r\n",
                 "PLAIN with another authzid")
        # bad base64 in the initial response
        for bad in ("AGFsaWNl*", "AGFsaWNlAA", "YR==", "AGFs aWNl"):
            r = c.cmd("AUTH PLAIN " + bad)
            check(r.startswith(b"-ERR"), "AUTH PLAIN %s: %r" % (bad, r))
            if " " not in bad:
                check_eq(r, b"-ERR Invalid base64 in initial response.\r\n",
                         "AUTH PLAIN %s" % bad)
        # "*" cancels at the continuation
        check_eq(c.cmd("AUTH PLAIN"), b"+ \r\n", "AUTH PLAIN")
        check_eq(c.cmd("*"), b"-ERR Authentication cancelled.\r\n",
                 "cancel")
        # bad base64 at the continuation
        check_eq(c.cmd("AUTH PLAIN"), b"+ \r\n", "AUTH PLAIN")
        check_eq(c.cmd("%%%%"), b"-ERR Invalid base64 in SASL response.\r\n",
                 "bad base64 continuation")
        # messages without two NULs, empty parts
        for msg in (b"alice" + PW_A.encode(), b"\0alice",
                    b"\0\0" + PW_A.encode(), b"\0alice\0"):
            check_eq(c.cmd("AUTH PLAIN " + A.b64(msg)), FAILED,
                     "PLAIN message %r" % msg)
        # the session still works after all that
        check_eq(c.cmd("NOOP")[:4], b"-ERR", "NOOP before login")
        logged_in(c, A.sasl_plain(c, "alice", PW_A),
                  "PLAIN after the errors")
    # wrong password, unknown user: counted failures, [AUTH]
    with A.greet(d)[0] as c:
        check_eq(A.sasl_plain(c, "alice", PW_BAD), FAILED, "wrong PLAIN")
        check_eq(A.sasl_plain(c, "nosuch", PW_BAD), FAILED, "unknown PLAIN")
    # unknown mechanism
    with A.greet(d)[0] as c:
        check_eq(c.cmd("AUTH GSSAPI"), b"-ERR Unsupported mechanism.\r\n",
                 "AUTH GSSAPI")
        check_eq(c.cmd("AUTH PLAINX"), b"-ERR Unsupported mechanism.\r\n",
                 "AUTH PLAINX")


@test("auth_sasl_login_steps")
def t_login(ctx):
    d = auth_daemon(ctx, "login", plain=False, scram=False)
    c, _ = A.greet(d)
    logged_in(c, A.sasl_login(c, "alice", PW_A), "LOGIN step by step")
    c, _ = A.greet(d)
    logged_in(c, A.sasl_login(c, "alice", PW_A, initial=True),
              "LOGIN with the user as initial response")
    with A.greet(d)[0] as c:
        check_eq(A.sasl_login(c, "alice", PW_BAD), FAILED, "LOGIN wrong pw")
        # cancel at the password prompt
        r = c.cmd("AUTH LOGIN " + A.b64("alice"))
        check_eq(A.challenge(r), b"Password:", "LOGIN password prompt")
        check_eq(c.cmd("*"), b"-ERR Authentication cancelled.\r\n",
                 "LOGIN cancel")
        # an empty user name
        check_eq(c.cmd("AUTH LOGIN ="), FAILED, "AUTH LOGIN =")
        logged_in(c, A.sasl_login(c, "alice", PW_A), "LOGIN after errors")


@test("auth_sasl_cram_md5")
def t_cram(ctx):
    d = auth_daemon(ctx, "cram", scram=False)
    c, g = A.greet(d)
    stamp = A.apop_stamp(g)
    chal, r = A.sasl_cram(c, "bob", PW_B)
    check(re.match(rb"^<\d+\.[0-9a-f]+@e2e\.test>$", chal),
          "CRAM-MD5 challenge %r" % chal)
    check_eq(chal, stamp, "CRAM-MD5 challenge vs the APOP stamp")
    logged_in(c, r, "CRAM-MD5")
    with A.greet(d)[0] as c:
        _, r = A.sasl_cram(c, "bob", PW_BAD)
        check_eq(r, FAILED, "CRAM-MD5 wrong secret")
        # a crypt(3) user has no secret for CRAM-MD5
        _, r = A.sasl_cram(c, "alice", PW_A)
        check_eq(r, FAILED, "CRAM-MD5 for a crypt user")
    with A.greet(d)[0] as c:
        check_eq(c.cmd("AUTH CRAM-MD5 " + A.b64("bob 00")),
                 b"-ERR CRAM-MD5 takes no initial response.\r\n",
                 "CRAM-MD5 initial response")
        r = c.cmd("AUTH CRAM-MD5")
        A.challenge(r)
        check_eq(c.cmd("*"), b"-ERR Authentication cancelled.\r\n",
                 "CRAM-MD5 cancel")
        # upper-case hex digest is accepted too
        chal = A.challenge(c.cmd("AUTH CRAM-MD5"))
        import hashlib
        import hmac
        dg = hmac.new(PW_B.encode(), chal, hashlib.md5).hexdigest().upper()
        logged_in(c, c.cmd(A.b64("bob " + dg)), "CRAM-MD5 upper-case hex")


@test("auth_sasl_scram_sha256")
def t_scram(ctx):
    d = auth_daemon(ctx, "scram")
    for user, pw, initial in (("carol", PW_C, True), ("carol", PW_C, False),
                              ("bob", PW_B, True), ("bob", PW_B, False)):
        what = "SCRAM %s (%s)" % (user, "initial response" if initial
                                  else "empty challenge first")
        c, _ = A.greet(d)
        res = A.sasl_scram(c, user, pw, initial=initial)
        check(res.server_final is not None, "%s: %r" % (what,
                                                        res.final_answer))
        check(res.server_sig_ok, "%s: wrong server signature %r"
              % (what, res.server_final))
        check_eq(int(res.attrs["i"]), 4096, "%s: iterations" % what)
        check_eq(len(A.unb64(res.attrs["s"])), 16, "%s: salt length" % what)
        logged_in(c, res.answer, what)
    # wrong proof, wrong password, unknown user, crypt(3) user
    for user, pw, tamper, what in (
            ("carol", PW_C, True, "tampered proof"),
            ("carol", PW_BAD, False, "wrong password ({SCRAM})"),
            ("bob", PW_BAD, False, "wrong password ({PLAIN})"),
            ("nosuchuser", PW_BAD, False, "unknown user"),
            ("alice", PW_A, False, "crypt(3) user")):
        with A.greet(d)[0] as c:
            res = A.sasl_scram(c, user, pw, tamper=tamper)
            check(res.server_first is not None,
                  "SCRAM %s: no server-first, %r" % (what, res.answer))
            check_eq(res.answer, FAILED, "SCRAM %s" % what)
            check_eq(c.cmd("NOOP")[:4], b"-ERR", "not logged in")
    # cancel at the second step, bad client-first
    with A.greet(d)[0] as c:
        r = c.cmd("AUTH SCRAM-SHA-256 " + A.b64("n,,n=carol,r=abcdef"))
        A.challenge(r)
        check_eq(c.cmd("*"), b"-ERR Authentication cancelled.\r\n",
                 "SCRAM cancel")
        check_eq(c.cmd("AUTH SCRAM-SHA-256 " +
                       A.b64("p=tls-unique,,n=carol,r=abc")), FAILED,
                 "SCRAM with channel binding")
        res = A.sasl_scram(c, "carol", PW_C)
        logged_in(c, res.answer, "SCRAM after a cancel and a failure")
        check(res.server_sig_ok, "server signature after a cancel")
    # the unknown user's salt is stable (not a fresh random one)
    salts = []
    for _ in range(2):
        with A.greet(d)[0] as c:
            r = c.cmd("AUTH SCRAM-SHA-256 " +
                      A.b64("n,,n=ghost,r=" + A.b64(os.urandom(9))))
            salts.append(A.parse_attrs(A.challenge(r).decode())["s"])
            c.cmd("*")
    check_eq(salts[0], salts[1], "salt of an unknown user")


# ---------------------------------------------------------------------
# what CAPA and AUTH list

@test("auth_capa_sasl_matches_user_db")
def t_capa(ctx):
    """auth_mechanisms = auto with the passwd-file alone: a challenge
    mechanism is offered only when every entry stores its secret."""
    cases = (
        ("crypt only", dict(plain=False, scram=False), "alice", PW_A,
         ["PLAIN", "LOGIN"]),
        ("crypt + {SCRAM-SHA-256}", dict(plain=False, scram=True), "alice",
         PW_A, ["PLAIN", "LOGIN"]),
        ("crypt + {PLAIN}", dict(plain=True, scram=False), "alice", PW_A,
         ["PLAIN", "LOGIN"]),
        ("{PLAIN} only", dict(plain=True, scram=False, crypt=False), "bob",
         PW_B, ["PLAIN", "LOGIN", "CRAM-MD5", "SCRAM-SHA-256"]),
        ("{PLAIN} + {SCRAM-SHA-256}", dict(plain=True, scram=True,
                                           crypt=False), "carol", PW_C,
         ["PLAIN", "LOGIN", "SCRAM-SHA-256"]),
    )
    for name, kw, user, pw, mechs in cases:
        d = auth_daemon(ctx, "capa", mechs=None, extra_conf={
            "auth_backends": "passwd-file"}, **kw)
        with A.greet(d)[0] as c:
            check_eq(A.capa_sasl(c), "SASL " + " ".join(mechs),
                     "%s: CAPA SASL" % name)
            check_eq(A.auth_listing(c), mechs, "%s: AUTH listing" % name)
            if "CRAM-MD5" not in mechs:
                check_eq(c.cmd("AUTH CRAM-MD5"),
                         b"-ERR Unsupported mechanism.\r\n",
                         "%s: AUTH CRAM-MD5" % name)
            if "SCRAM-SHA-256" not in mechs:
                check_eq(c.cmd("AUTH SCRAM-SHA-256 " +
                               A.b64("n,,n=alice,r=abc")),
                         b"-ERR Unsupported mechanism.\r\n",
                         "%s: AUTH SCRAM-SHA-256" % name)
            # after login: no SASL line
            logged_in(c, A.sasl_plain(c, user, pw), name)
        d.stop()


# ---------------------------------------------------------------------
# PAM through pam_wrapper + pam_matrix, users from nss_wrapper

PAM_MATRIX = "/usr/lib/x86_64-linux-gnu/pam_wrapper/pam_matrix.so"
PAM_WRAPPER_LIB = "/usr/lib/x86_64-linux-gnu/libpam_wrapper.so"
NSS_WRAPPER_LIB = "/usr/lib/x86_64-linux-gnu/libnss_wrapper.so"


def wrapper_env(ctx, d, user, password, uid, home):
    """Service dir, passdb and nss files; returns the environment."""
    for p in (PAM_MATRIX, PAM_WRAPPER_LIB, NSS_WRAPPER_LIB):
        check(os.path.exists(p), "%s is missing (libpam-wrapper, "
              "libnss-wrapper)" % p)
    svc = os.path.join(d.dir, "pam.d")
    os.makedirs(svc)
    passdb = os.path.join(d.dir, "passdb")
    with open(passdb, "w") as f:
        f.write("%s:%s:privpop\n" % (user, password))
        # a user pam_matrix knows but the passwd database does not
        f.write("ghostpam:%s:privpop\n" % password)
    with open(os.path.join(svc, "privpop"), "w") as f:
        for kind in ("auth", "account", "password", "session"):
            f.write("%-8s required %s passdb=%s\n" % (kind, PAM_MATRIX,
                                                     passdb))
    npw = os.path.join(d.dir, "nss_passwd")
    ngr = os.path.join(d.dir, "nss_group")
    with open("/etc/passwd") as f:
        real = f.read()
    with open(npw, "w") as f:
        f.write(real.rstrip("\n") + "\n")
        f.write("%s:x:%d:%d:PAM matrix user:%s:/bin/false\n"
                % (user, uid, uid, home))
    with open("/etc/group") as f:
        realg = f.read()
    with open(ngr, "w") as f:
        f.write(realg.rstrip("\n") + "\n")
        f.write("%s:x:%d:\n" % (user, uid))
    for p in (passdb, npw, ngr):
        os.chmod(p, 0o644)
    return {
        "LD_PRELOAD": PAM_WRAPPER_LIB + ":" + NSS_WRAPPER_LIB,
        "PAM_WRAPPER": "1",
        "PAM_WRAPPER_SERVICE_DIR": svc,
        "NSS_WRAPPER_PASSWD": npw,
        "NSS_WRAPPER_GROUP": ngr,
    }


def pam_wrapper_daemon(ctx, name, user, pw, uid, first_valid_uid):
    d = U.Daemon(ctx, name, extra_conf={
        "auth_backends": "pam",
        "system_mail_location": "maildir:~/Maildir",
        "first_valid_uid": str(first_valid_uid),
    })
    home = os.path.join(d.dir, "home", user)
    mu = U.MailUser(user, pw, uid, uid, home)
    os.makedirs(os.path.join(d.dir, "home"), exist_ok=True)
    os.chmod(os.path.join(d.dir, "home"), 0o755)
    mu.make_maildir()
    mu.deliver("1733000001.M1P9.pam", MSG1)
    A.start_with_env(d, wrapper_env(ctx, d, user, pw, uid, home))
    return d


@test("auth_pam_wrapper_matrix")
def t_pam_wrapper(ctx):
    check(ctx.is_root, "the PAM tests need root")
    if os.environ.get("PRIVPOP_E2E_SANITIZERS") == "1":
        # pam_wrapper dlopens libc with RTLD_DEEPBIND, which the ASan
        # runtime refuses; the plain build of the suite runs this test
        raise U.TestSkip("pam_wrapper cannot load under AddressSanitizer")
    user, pw, uid = "ppmatrix", "Matrix-pw-8812", 61001
    d = pam_wrapper_daemon(ctx, "pamwrap", user, pw, uid, 1000)
    c, _ = A.greet(d)
    check_eq(c.cmd("USER " + user), b"+OK\r\n", "USER")
    r = c.cmd("PASS " + pw)
    if not r.startswith(b"+OK"):
        log = d.log_text()
        raise U.TestFailure(
            "PAM (pam_wrapper/pam_matrix) login failed: %r; log tail: %s"
            % (r, " | ".join(log.splitlines()[-8:])))
    check_eq(c.cmd("STAT"), b"+OK 1 %d\r\n" % len(U.to_wire(MSG1)), "STAT")
    check(c.cmd("RETR 1").startswith(b"+OK"), "RETR 1")
    check_eq(U.unstuff(c.multi()), U.to_wire(MSG1), "RETR 1 body")
    c.cmd("QUIT")
    c.close()
    check(d.wait_log(r"login: sess=[0-9a-f]{16} addr=127\.0\.0\.1 "
                     r"user=%s via=pam" % user, 5),
          "no 'via=pam' login line")
    # SASL PLAIN goes through PAM as well
    c, _ = A.greet(d)
    r = A.sasl_plain(c, user, pw)
    check(r.startswith(b"+OK"), "PLAIN via PAM: %r" % r)
    c.cmd("QUIT")
    c.close()
    # wrong password; a name PAM knows but NSS does not; unknown user
    for name, p in ((user, "wrong-" + pw), ("ghostpam", pw),
                    ("nosuchuser", pw)):
        r, _, c = A.pass_login(d, name, p)
        c.close()
        check_eq(r, FAILED, "PAM login %s/%s" % (name, p[:6]))
    # CRAM-MD5 and SCRAM need stored secrets: not offered with PAM only
    with A.greet(d)[0] as c:
        check_eq(A.capa_sasl(c), "SASL PLAIN LOGIN", "CAPA SASL, PAM only")
    d.stop()
    # first_valid_uid above the user's uid: refused after PAM said yes
    d = pam_wrapper_daemon(ctx, "pamwrap2", user, pw, uid, uid + 1)
    r, _, c = A.pass_login(d, user, pw)
    c.close()
    check_eq(r, FAILED, "PAM user below first_valid_uid")
    check(d.wait_log(r"uid %d is below first_valid_uid %d" % (uid, uid + 1),
                     5), "refusal below first_valid_uid not logged")


# ---------------------------------------------------------------------
# real system users with the shipped PAM file

SYS_USER = "ppauthsys"
SYS_ROOT_ALIAS = "ppauthtoor"


def userdel(name, uid0_alias=False):
    """Remove a test account.  A uid-0 alias needs -f (root's processes
    "use" it) and must not take a home or group with it."""
    try:
        pwd.getpwnam(name)
    except KeyError:
        return
    argv = ["userdel", "-f", name] if uid0_alias else ["userdel", "-r",
                                                         name]
    A.run(argv, timeout=30)
    try:
        pwd.getpwnam(name)
    except KeyError:
        return
    raise U.TestFailure("could not remove the test account %s" % name)


def set_password(name, password):
    r = A.run(["chpasswd"], input=("%s:%s\n" % (name, password)).encode(),
              timeout=30)
    check(r.returncode == 0, "chpasswd: %r" % r.stderr)


@test("auth_pam_system_user_shipped_file")
def t_pam_system(ctx):
    check(ctx.is_root, "the system-user PAM test needs root")
    repo_pam = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                            "..", "..", "etc", "pam.d", "privpop")
    installed_pam = False
    if not os.path.exists("/etc/pam.d/privpop"):
        shutil.copyfile(repo_pam, "/etc/pam.d/privpop")
        os.chmod("/etc/pam.d/privpop", 0o644)
        installed_pam = True
    pw = "Sys-" + secrets.token_hex(8)
    spool = "/var/mail/" + SYS_USER
    userdel(SYS_USER)
    userdel(SYS_ROOT_ALIAS, uid0_alias=True)
    try:
        r = A.run(["useradd", "-m", "-K", "UID_MIN=1000", "-s", "/bin/sh",
                   SYS_USER], timeout=30)
        check(r.returncode == 0, "useradd: %r" % r.stderr)
        set_password(SYS_USER, pw)
        pwent = pwd.getpwnam(SYS_USER)
        check(pwent.pw_uid >= 1000, "uid %d" % pwent.pw_uid)
        mail_gid = __import__("grp").getgrnam("mail").gr_gid
        mbox = (b"From sender@example.org Mon Jan  1 00:00:00 2024\n" +
                MSG1 + b"\n")
        with open(spool, "wb") as f:
            f.write(mbox)
        os.chown(spool, pwent.pw_uid, mail_gid)
        os.chmod(spool, 0o660)

        # pamtester with the shipped file
        if shutil.which("pamtester"):
            r = A.run(["pamtester", "privpop", SYS_USER, "authenticate"],
                      input=(pw + "\n").encode(), timeout=30)
            check(r.returncode == 0, "pamtester privpop %s authenticate: "
                  "%r %r" % (SYS_USER, r.stdout, r.stderr))
            r = A.run(["pamtester", "privpop", SYS_USER, "authenticate"],
                      input=b"wrong\n", timeout=30)
            check(r.returncode != 0, "pamtester accepted a wrong password")

        d = U.Daemon(ctx, "pamsys", extra_conf={
            "auth_backends": "passwd-file pam"})
        d.start()     # the passwd-file has no users
        c, _ = A.greet(d)
        check_eq(c.cmd("USER " + SYS_USER), b"+OK\r\n", "USER")
        r = c.cmd("PASS " + pw, 30)
        check(r.startswith(b"+OK"), "system user login: %r" % r)
        check_eq(c.cmd("STAT"), b"+OK 1 %d\r\n" % len(U.to_wire(MSG1)),
                 "STAT")
        check(c.cmd("RETR 1").startswith(b"+OK"), "RETR 1")
        check_eq(U.unstuff(c.multi()), U.to_wire(MSG1), "RETR 1 body")
        c.cmd("QUIT")
        c.close()
        check(d.wait_log(r"user=%s via=pam" % SYS_USER, 5),
              "no via=pam line")
        with open(spool, "rb") as f:
            check_eq(f.read(), mbox, "spool after RETR + QUIT")

        def one(p, what, want=FAILED):
            r, _, c = A.pass_login(d, SYS_USER, p, 30)
            c.close()
            if callable(want):
                check(want(r), "%s: %r" % (what, r))
            else:
                check_eq(r, want, what)

        one(pw + "x", "wrong password")
        # locked
        A.run(["usermod", "-L", SYS_USER])
        one(pw, "locked account (usermod -L)")
        A.run(["usermod", "-U", SYS_USER])
        # expired
        # expired: the answer of a wrong password (a distinct one would
        # confirm the password); only the log says why (issue 15, 10)
        A.run(["chage", "-E", "0", SYS_USER])
        one(pw, "expired account (chage -E 0)")
        check(d.wait_log(r"pam: user %s: account .*expired" % SYS_USER, 5),
              "account expiry not logged")
        A.run(["chage", "-E", "-1", SYS_USER])
        # a password change is required
        A.run(["chage", "-d", "0", SYS_USER])
        one(pw, "password change required (chage -d 0)")
        check(d.wait_log(r"pam: user %s: password expired" % SYS_USER, 5),
              "password expiry not logged")
        A.run(["chage", "-d", str(int(time.time() // 86400)), SYS_USER])
        # and after all that, the account works again
        r, _, c = A.pass_login(d, SYS_USER, pw, 30)
        check(r.startswith(b"+OK"), "login after restoring: %r" % r)
        c.cmd("QUIT")
        c.close()

        # root is refused: "root" itself, and a uid-0 alias whose
        # password we know (so PAM says yes and the uid check decides)
        r, _, c = A.pass_login(d, "root", "x", 30)
        c.close()
        check_eq(r, FAILED, "root")
        alias_pw = "Toor-" + secrets.token_hex(12)
        r = A.run(["useradd", "-o", "-u", "0", "-g", "0", "-N", "-M",
                   "-d", "/nonexistent", "-s", "/usr/sbin/nologin",
                   SYS_ROOT_ALIAS], timeout=30)
        check(r.returncode == 0, "useradd uid-0 alias: %r" % r.stderr)
        set_password(SYS_ROOT_ALIAS, alias_pw)
        r, _, c = A.pass_login(d, SYS_ROOT_ALIAS, alias_pw, 30)
        c.close()
        userdel(SYS_ROOT_ALIAS, uid0_alias=True)
        check_eq(r, FAILED, "uid-0 account with the right password")
        check(d.wait_log(r"login refused: addr=\S+ user=%s" % SYS_ROOT_ALIAS,
                         5), "uid-0 refusal not logged")
        d.stop()

        # below first_valid_uid
        d2 = U.Daemon(ctx, "pamsys2", extra_conf={
            "auth_backends": "passwd-file pam",
            "first_valid_uid": str(pwent.pw_uid + 1)})
        d2.start()
        r, _, c = A.pass_login(d2, SYS_USER, pw, 30)
        c.close()
        check_eq(r, FAILED, "user below first_valid_uid")
        check(d2.wait_log(r"uid %d is below first_valid_uid" % pwent.pw_uid,
                          5), "refusal not logged")
    finally:
        userdel(SYS_ROOT_ALIAS, uid0_alias=True)
        userdel(SYS_USER)
        for p in (spool, spool + ".lock"):
            try:
                os.unlink(p)
            except OSError:
                pass
        if installed_pam:
            try:
                os.unlink("/etc/pam.d/privpop")
            except OSError:
                pass


# ---------------------------------------------------------------------
# penalties

def timed_failures(d, n, user="alice", password=PW_BAD):
    out = []
    for _ in range(n):
        r, dt, c = A.pass_login(d, user, password, 20)
        c.close()
        check_eq(r, FAILED, "failure answer")
        out.append(dt)
    return out


@test("auth_penalty_growth_and_reset")
def t_penalty(ctx):
    d = auth_daemon(ctx, "penalty", plain=False, scram=False, extra_conf={
        "auth_penalty_base_ms": "400", "auth_penalty_max_ms": "2400",
        "auth_fail_delay_ms": "100"})
    t = timed_failures(d, 4)
    # ~0.4, 0.8, 1.6, 2.4 s (the cap).  The lower bounds hold on any
    # machine (the delay is a sleep); the upper ones leave room for load.
    for i, want in enumerate((0.4, 0.8, 1.6, 2.4)):
        check(want - 0.05 <= t[i] < want + 1.0, "failure %d took %.3fs "
              "(want ~%.1f)" % (i + 1, t[i], want))
    check(t[0] < t[1] < t[2] < t[3], "no growth: %r" % t)
    # a correct login is answered without the penalty...
    r, dt, c = A.pass_login(d, "alice", PW_A, 20)
    check(r.startswith(b"+OK"), "correct login: %r" % r)
    check(dt < 1.5, "correct login took %.3fs under a 2.4 s penalty" % dt)
    c.cmd("QUIT")
    c.close()
    # ...and clears the count: the next failure is back at the base
    t2 = timed_failures(d, 1)
    check(0.35 <= t2[0] < 1.4, "failure after a success took %.3fs "
          "(want ~0.4)" % t2[0])
    # SASL failures count the same way
    with A.greet(d)[0] as c:
        t0 = time.monotonic()
        check_eq(A.sasl_plain(c, "alice", PW_BAD), FAILED, "PLAIN failure")
        dt = time.monotonic() - t0
    check(0.75 <= dt < 1.8, "PLAIN failure after one failure took %.3fs "
          "(want ~0.8)" % dt)


@test("auth_penalty_exempt_network")
def t_penalty_exempt(ctx):
    # penalties of 2.5 s and more against a 0.1 s base delay: a loaded
    # machine (sanitizers, parallel jobs) cannot blur the difference
    d = auth_daemon(ctx, "penex", plain=False, scram=False, extra_conf={
        "auth_penalty_base_ms": "2500", "auth_penalty_max_ms": "5000",
        "auth_fail_delay_ms": "100",
        "auth_penalty_exempt": "10.0.0.0/8, 127.0.0.0/8"})
    t = timed_failures(d, 3)
    for i, dt in enumerate(t):
        check(0.08 <= dt < 1.5, "failure %d from an exempt address took "
              "%.3fs (want the 0.1 s base delay, not a >= 2.5 s penalty)"
              % (i + 1, dt))


# ---------------------------------------------------------------------
# transparent hash upgrade

def passwd_text(d):
    with open(d.passwd) as f:
        return f.read()


def upgrade_daemon(ctx, name, extra):
    d = U.Daemon(ctx, name, extra_conf=extra)
    d.add_user("alice", PW_A)
    md5 = A.md5_crypt(PW_B)
    A.add_user_line(d, "mdfive", PW_B, secret=md5)
    d.add_user("bob", PW_B, sysuser="pptest2", plain=True)
    d.start()
    return d, md5


@test("auth_hash_upgrade_md5_to_yescrypt")
def t_upgrade(ctx):
    d, md5 = upgrade_daemon(ctx, "upgrade", {"passwd_upgrade": "yescrypt"})
    before = passwd_text(d)
    st0 = os.stat(d.passwd)
    check(("mdfive:%s:" % md5) in before, "the $1$ entry is in the file")
    r, _, c = A.pass_login(d, "mdfive", PW_B)
    check(r.startswith(b"+OK"), "login with the MD5-crypt hash: %r" % r)
    c.cmd("QUIT")
    c.close()
    after = passwd_text(d)
    bl, al = before.splitlines(True), after.splitlines(True)
    check_eq(len(al), len(bl), "line count")
    for b, a in zip(bl, al):
        if b.startswith("mdfive:"):
            fb, fa = b.split(":"), a.split(":")
            check(fa[1].startswith("$y$"), "new hash %r" % fa[1])
            check_eq(fa[:1] + fa[2:], fb[:1] + fb[2:], "other fields")
        else:
            check_eq(a, b, "an unrelated line")
    st1 = os.stat(d.passwd)
    check_eq((st1.st_mode & 0o7777, st1.st_uid, st1.st_gid),
             (st0.st_mode & 0o7777, st0.st_uid, st0.st_gid),
             "passwd-file mode and owner")
    left = [n for n in os.listdir(os.path.dirname(d.passwd))
            if n.startswith(os.path.basename(d.passwd) + ".")]
    check(not left, "temporary file left behind: %r" % left)
    # the same password still works, now against yescrypt; wrong fails
    r, _, c = A.pass_login(d, "mdfive", PW_B)
    check(r.startswith(b"+OK"), "second login after the upgrade: %r" % r)
    c.cmd("QUIT")
    c.close()
    r, _, c = A.pass_login(d, "mdfive", PW_BAD)
    c.close()
    check_eq(r, FAILED, "wrong password after the upgrade")
    # a strong hash and a {PLAIN} secret are left alone; so is a
    # failed login
    for user, pw in (("alice", PW_A), ("bob", PW_B)):
        r, _, c = A.pass_login(d, user, pw)
        check(r.startswith(b"+OK"), "%s: %r" % (user, r))
        c.cmd("QUIT")
        c.close()
    check_eq(passwd_text(d), after, "file after logins of strong users")


@test("auth_hash_upgrade_off_leaves_file")
def t_upgrade_off(ctx):
    d, md5 = upgrade_daemon(ctx, "noupgrade", {})
    before = passwd_text(d)
    r, _, c = A.pass_login(d, "mdfive", PW_B)
    check(r.startswith(b"+OK"), "login with the MD5-crypt hash: %r" % r)
    c.cmd("QUIT")
    c.close()
    check_eq(passwd_text(d), before, "passwd-file without passwd_upgrade")
    # with upgrades on, a wrong password changes nothing either
    d2, _ = upgrade_daemon(ctx, "upgradewrong",
                           {"passwd_upgrade": "yescrypt"})
    before = passwd_text(d2)
    r, _, c = A.pass_login(d2, "mdfive", PW_BAD)
    c.close()
    check_eq(r, FAILED, "wrong password")
    check_eq(passwd_text(d2), before, "passwd-file after a failed login")


# ---------------------------------------------------------------------
# unknown user vs wrong password

@test("auth_unknown_user_same_answer_as_wrong_password")
def t_same_answer(ctx):
    d = auth_daemon(ctx, "same")

    def pass_answer(user, pw):
        r, _, c = A.pass_login(d, user, pw)
        c.close()
        return r

    def plain_answer(user, pw):
        with A.greet(d)[0] as c:
            return A.sasl_plain(c, user, pw)

    def login_answer(user, pw):
        with A.greet(d)[0] as c:
            return A.sasl_login(c, user, pw)

    def scram_answer(user, pw):
        with A.greet(d)[0] as c:
            res = A.sasl_scram(c, user, pw)
            check(res.server_first is not None, "no server-first for %s"
                  % user)
            a = res.attrs
            # the same shape of server-first, then the same failure
            return (res.answer, a["i"], len(A.unb64(a["s"])), len(a["r"]))

    def cram_answer(user, pw):
        with A.greet(d)[0] as c:
            return A.sasl_cram(c, user, pw)[1]

    for name, fn in (("PASS", pass_answer), ("PLAIN", plain_answer),
                     ("LOGIN", login_answer), ("SCRAM", scram_answer),
                     ("CRAM-MD5", cram_answer)):
        wrong = [fn(u, PW_BAD) for u in ("alice", "bob", "carol")]
        unknown = [fn(u, PW_BAD) for u in ("nosuchuser", "x" * 64)]
        unknown.append(fn("nosuchuser", PW_A))
        everything = wrong + unknown
        check(len(set(everything)) == 1, "%s answers differ: wrong %r, "
              "unknown %r" % (name, wrong, unknown))
        first = everything[0]
        check_eq(first[0] if isinstance(first, tuple) else first, FAILED,
                 "%s answer" % name)


@test("auth_hash_upgrade_crypt_prefixed_entry")
def t_upgrade_prefixed(ctx):
    """passwd_file.h: a crypt(3) hash may be "optionally prefixed
    {CRYPT}".  Such an MD5-crypt entry must be upgraded as well."""
    d = U.Daemon(ctx, "upgradepfx",
                 extra_conf={"passwd_upgrade": "yescrypt"})
    d.add_user("alice", PW_A)
    md5 = A.md5_crypt(PW_B)
    A.add_user_line(d, "mdfive", PW_B, secret="{CRYPT}" + md5)
    d.start()
    before = passwd_text(d)
    r, _, c = A.pass_login(d, "mdfive", PW_B)
    check(r.startswith(b"+OK"), "login with {CRYPT}$1$: %r" % r)
    c.cmd("QUIT")
    c.close()
    after = passwd_text(d)
    line = [l for l in after.splitlines() if l.startswith("mdfive:")][0]
    h = line.split(":")[1]
    if h.startswith("{CRYPT}"):
        h = h[7:]
    check(h.startswith("$y$"), "the {CRYPT}$1$ entry was not upgraded: "
          "still %r" % line.split(":")[1])
    check_eq([l for l in after.splitlines() if not l.startswith("mdfive:")],
             [l for l in before.splitlines() if not l.startswith("mdfive:")],
             "other lines")
    r, _, c = A.pass_login(d, "mdfive", PW_B)
    check(r.startswith(b"+OK"), "second login: %r" % r)
    c.cmd("QUIT")
    c.close()


def _fail_from(d, src, user, password):
    """A PASS attempt from source address src; (answer, seconds)."""
    import socket
    s = socket.create_connection((U.HOST, d.port), timeout=20,
                                 source_address=(src, 0))
    f = s.makefile("rwb")
    try:
        check(f.readline().startswith(b"+OK"), "greeting from %s" % src)
        f.write(("USER %s\r\n" % user).encode())
        f.flush()
        f.readline()
        t0 = time.monotonic()
        f.write(("PASS %s\r\n" % password).encode())
        f.flush()
        r = f.readline()
        dt = time.monotonic() - t0
        if r.startswith(b"+OK"):
            f.write(b"QUIT\r\n")
            f.flush()
            f.readline()
        return r, dt
    finally:
        f.close()
        s.close()


@test("auth_penalty_is_per_address")
def t_penalty_per_address(ctx):
    """Failures from 127.0.0.2 slow down 127.0.0.2 only: a client at
    127.0.0.3 (another loopback address) is not slowed."""
    d = auth_daemon(ctx, "penaddr", plain=False, scram=False, extra_conf={
        "auth_penalty_base_ms": "300", "auth_penalty_max_ms": "3000",
        "auth_fail_delay_ms": "100", "max_auth_fails": "5"})
    times = [_fail_from(d, "127.0.0.2", "alice", PW_BAD)[1] for _ in range(3)]
    check(times[2] >= 1.15, "127.0.0.2 not penalised: %r" % times)
    # 127.0.0.2's next failure would wait 2.4 s; 127.0.0.3's first 0.3 s
    r, dt = _fail_from(d, "127.0.0.3", "alice", PW_BAD)
    check(r.startswith(b"-ERR [AUTH]"), "127.0.0.3 failure: %r" % r)
    check(dt < 1.5, "127.0.0.3's first failure took %.3fs after "
          "127.0.0.2's penalties" % dt)
    r, dt = _fail_from(d, "127.0.0.3", "alice", PW_A)
    check(r.startswith(b"+OK"), "correct login from 127.0.0.3: %r" % r)
    check(dt < 1.5, "correct login from 127.0.0.3 took %.3fs" % dt)
    r, dt = _fail_from(d, "127.0.0.2", "alice", PW_BAD)
    check(dt >= 2.3, "127.0.0.2 forgiven too early: %.3fs" % dt)
    check(d.wait_log(r"penalty: addr=127\.0\.0\.2 failures=", 5),
          "penalty not logged")


@test("auth_pam_module_that_hangs_is_cut_off")
def t_pam_hang(ctx):
    """A PAM module that never returns: pam_timeout ends the attempt with
    [SYS/TEMP], and the daemon keeps serving."""
    check(ctx.is_root, "the PAM tests need root")
    if os.environ.get("PRIVPOP_E2E_SANITIZERS") == "1":
        raise U.TestSkip("pam_wrapper cannot load under AddressSanitizer")
    pam_exec = "/lib/x86_64-linux-gnu/security/pam_exec.so"
    check(os.path.exists(pam_exec), "pam_exec.so missing (libpam-modules)")
    user, pw, uid = "pphang", "Hang-pw-3319", 61002
    d = pam_wrapper_daemon(ctx, "pamhang", user, pw, uid, 1000)
    d.stop()
    d.extra_conf["pam_timeout"] = "2"
    svc = os.path.join(d.dir, "pam.d", "privpop")
    with open(svc) as f:
        rest = f.read()
    with open(svc, "w") as f:
        f.write("auth required %s /bin/sleep 30\n" % pam_exec)
        f.write(rest)
    A.start_with_env(d, wrapper_env_existing(d, user, uid))
    # the log already says "started:" from the first run: wait for the
    # new listener itself
    def up():
        import socket
        try:
            socket.create_connection((U.HOST, d.port), timeout=1).close()
            return True
        except OSError:
            return False
    check(U.wait_until(up, 10), "daemon did not come back")
    c, _ = A.greet(d)
    c.cmd("USER " + user)
    t0 = time.monotonic()
    r = c.cmd("PASS " + pw)
    dt = time.monotonic() - t0
    check(r.startswith(b"-ERR [SYS/TEMP]"), "hanging PAM: %r" % r)
    check(1.5 <= dt < 10, "cut off after %.2fs, pam_timeout is 2 s" % dt)
    c.close()
    # the next session is served (by a fresh privpop-auth)
    c, _ = A.greet(d)
    check_eq(c.cmd("QUIT"), b"+OK privpop signing off.\r\n", "QUIT")
    c.close()


def wrapper_env_existing(d, user, uid):
    """The environment wrapper_env made for d, for a restart."""
    return {
        "LD_PRELOAD": PAM_WRAPPER_LIB + ":" + NSS_WRAPPER_LIB,
        "PAM_WRAPPER": "1",
        "PAM_WRAPPER_SERVICE_DIR": os.path.join(d.dir, "pam.d"),
        "NSS_WRAPPER_PASSWD": os.path.join(d.dir, "nss_passwd"),
        "NSS_WRAPPER_GROUP": os.path.join(d.dir, "nss_group"),
    }


# ---------------------------------------------------------------------
# the passwd-file index (auth/passwd_index.c)

def index_mappings(pid):
    """Sizes of pid's read-only shared mappings of the passwd-file
    index's sealed memfds (its text and its hash table)."""
    out = []
    try:
        with open("/proc/%d/maps" % pid) as f:
            for line in f:
                p = line.split()
                if (len(p) >= 6 and p[1] == "r--s" and
                        p[5] == "/memfd:privpop-passwd-index"):
                    a, b = (int(x, 16) for x in p[0].split("-"))
                    out.append(b - a)
    except OSError:
        pass
    return out


def replace_file(path, text):
    tmp = path + ".new"
    with open(tmp, "w") as f:
        f.write(text)
    os.chmod(tmp, 0o600)
    os.rename(tmp, path)


def settle_then_login(d, user, password):
    """Wait until the passwd-file is PWF_INDEX_SETTLE_SECS (2 s) old,
    then log in and out: the slot that served it is replaced, so the
    auth fork server forks a helper, and refreshes the index first."""
    wait = os.path.getmtime(d.passwd) + 2.3 - time.time()
    if wait > 0:
        time.sleep(min(wait, 5))
    c = d.connect()
    c.login(user, password)
    c.cmd("QUIT")
    c.close()


def indexed(pid, size):
    return any(size <= s < size + 4096 for s in index_mappings(pid))


@test("auth_passwd_file_index_follows_changes")
def t_passwd_index(ctx):
    # 20,000 virtual users before alice: a login must not read them all
    d = auth_daemon(ctx, "pwindex", plain=False, scram=False, start=False)
    alice = d.passwd_lines.pop()
    d.passwd_lines += ["fill%d:{PLAIN}unused-%d:%d:%d::/nonexistent/fill%d:"
                       % (i, i, d.users["alice"].uid, d.users["alice"].gid,
                          i) for i in range(20000)]
    d.passwd_lines.append(alice)
    # one idle slot: after settle_then_login its helper is the one forked
    # with the index, so the next login surely goes through it
    d.prefork = 1
    d.start()
    c = d.connect()
    logged_in(c, c.login("alice", PW_A)[1], "alice behind 20,000")
    c.close()
    # the fork server indexes the file once it has settled, and the
    # helpers it forks after that share the index
    settle_then_login(d, "alice", PW_A)
    size = os.path.getsize(d.passwd)
    master = d.pid()
    zyg = U.auth_fork_server(master)
    check(zyg is not None, "no auth fork server")
    check(U.wait_until(lambda: indexed(zyg, size), 5),
          "fork server: no sealed read-only mapping of the file's %d "
          "bytes: %r" % (size, index_mappings(zyg)))
    check(U.wait_until(lambda: any(indexed(h, size)
                                   for h in U.auth_helpers(master)), 5),
          "no helper shares the index: %r" % U.auth_helpers(master))
    # appended in place, no SIGHUP: the next login sees it
    dave = d.add_user("dave", "Dave-index-pw-6610")
    dave.deliver("1733000001.M1P9.idx", MSG1)
    with open(d.passwd, "a") as f:
        f.write(d.passwd_lines[-1] + "\n")
    c = d.connect()
    c.login("dave", "Dave-index-pw-6610")
    check_eq(c.cmd("STAT"), b"+OK 1 %d\r\n" % len(U.to_wire(MSG1)),
             "dave: STAT")
    c.cmd("QUIT")
    c.close()
    # alice's password changed by an atomic rename: the old one fails
    new_pw = "Alice-new-index-pw-7782"
    d.users["alice"].password = new_pw
    i = next(k for k, l in enumerate(d.passwd_lines)
             if l.startswith("alice:"))
    d.passwd_lines[i] = U.passwd_line(d.ctx.build_dir, d.users["alice"])
    replace_file(d.passwd, "# privpop e2e\n" +
                 "".join(l + "\n" for l in d.passwd_lines))
    for when in ("just after the change", "once indexed"):
        c, _ = A.greet(d)
        c.cmd("USER alice")
        check_eq(c.cmd("PASS " + PW_A), FAILED, "old password, " + when)
        c.close()
        c = d.connect()
        c.login("alice", new_pw)
        c.cmd("QUIT")
        c.close()
        if when == "just after the change":
            settle_then_login(d, "dave", "Dave-index-pw-6610")
            size = os.path.getsize(d.passwd)
            check(U.wait_until(lambda: indexed(
                U.auth_fork_server(master) or 0, size), 5),
                "fork server did not index the new file (%d bytes): %r"
                % (size, index_mappings(U.auth_fork_server(master) or 0)))
