"""PAM-only and mixed sites (issue 14): a pam backend needs no
passwd-file; auth_mechanisms (auto offers a challenge mechanism only
when every backend serves it for every user; an explicit list is
honoured); a mechanism that is not offered, or that the user's backend
cannot serve, feeds no penalty; pam_session; first_valid_uid and uid 0
for passwd-file users."""
import os
import re
import shutil
import time

import e2e_util as U
from e2e_util import check, check_eq
from registry import test

import auth_util as A
import tests_auth as T

PAM_USER, PAM_PW, PAM_UID = "ppmech", "Mech-pam-pw-4471", 61011
PW_BOB = "Bob-mech-plain-8820"     # {PLAIN} passwd-file user
PW_BAD = "Wrong-mech-pw-0042"
PAM_EXEC = "/usr/lib/x86_64-linux-gnu/security/pam_exec.so"
UNSUPPORTED = b"-ERR Unsupported mechanism.\r\n"


def need_pam_wrapper(ctx):
    check(ctx.is_root, "the PAM tests need root")
    if os.environ.get("PRIVPOP_E2E_SANITIZERS") == "1":
        # as tests_auth.auth_pam_wrapper_matrix
        raise U.TestSkip("pam_wrapper cannot load under AddressSanitizer")


def site(ctx, name, backends="passwd-file pam", bob=True, extra=None,
         session_marker=None, start=True):
    """A daemon whose PAM (pam_wrapper + pam_matrix, user from
    nss_wrapper) knows PAM_USER, and whose passwd-file holds the {PLAIN}
    user bob.  With session_marker, PAM's session stack also runs
    pam_exec, which appends "$PAM_TYPE $PAM_USER" to that file."""
    conf = {"auth_backends": backends,
            "system_mail_location": "maildir:~/Maildir"}
    conf.update(extra or {})
    d = U.Daemon(ctx, name, extra_conf=conf)
    if bob:
        u = d.add_user("bob", PW_BOB, sysuser="pptest2", plain=True)
        u.deliver("1733000001.M1P2.mech", T.MSG1)
    home = os.path.join(d.dir, "home", PAM_USER)
    mu = U.MailUser(PAM_USER, PAM_PW, PAM_UID, PAM_UID, home)
    os.makedirs(os.path.join(d.dir, "home"), exist_ok=True)
    os.chmod(os.path.join(d.dir, "home"), 0o755)
    mu.make_maildir()
    mu.deliver("1733000001.M1P9.mech", T.MSG1)
    env = T.wrapper_env(ctx, d, PAM_USER, PAM_PW, PAM_UID, home)
    if session_marker is not None:
        check(os.path.exists(PAM_EXEC), "%s is missing (libpam-modules)"
              % PAM_EXEC)
        script = os.path.join(d.dir, "pam-session.sh")
        with open(script, "w") as f:
            f.write("#!/bin/sh\necho \"$PAM_TYPE $PAM_USER\" >> %s\n"
                    % session_marker)
        os.chmod(script, 0o755)
        with open(os.path.join(env["PAM_WRAPPER_SERVICE_DIR"], "privpop"),
                  "a") as f:
            f.write("session  optional %s %s\n" % (PAM_EXEC, script))
    d.env = env
    if start:
        A.start_with_env(d, env)
    return d


def capa(c):
    r = c.cmd("CAPA")
    check(r.startswith(b"+OK"), "CAPA: %r" % r)
    return [l.decode() for l in c.multi().split(b"\r\n")[:-1]]


def sasl_of(lines):
    s = [l for l in lines if l.startswith("SASL")]
    return s[0].split()[1:] if s else []


def privpopd_t(d):
    return A.run([d.binary(), "-t", "-c", d.conf], timeout=30)


def login_ok(c, r, what):
    check(r.startswith(b"+OK"), "%s: %r" % (what, r))
    check(c.cmd("STAT").startswith(b"+OK 1 "), "%s: STAT" % what)
    c.cmd("QUIT")


# ---------------------------------------------------------------------

@test("mech_pam_only_needs_no_passwd_file")
def t_pam_only(ctx):
    need_pam_wrapper(ctx)
    d = site(ctx, "pamonly", backends="pam", bob=False, start=False,
             extra={"passwd_file": "/nonexistent/privpop/passwd"})
    d.port = U.free_port()
    d.write_conf()
    r = privpopd_t(d)
    check(r.returncode == 0, "privpopd -t with auth_backends = pam and "
          "no passwd-file: %r %r" % (r.stdout, r.stderr))
    check(b"passwd_file" not in r.stderr, "-t mentions the passwd-file: %r"
          % r.stderr)
    A.start_with_env(d, d.env)
    r, _, c = A.pass_login(d, PAM_USER, PAM_PW)
    login_ok(c, r, "PAM login without a passwd-file")
    c.close()
    with A.greet(d)[0] as c:
        check_eq(sasl_of(capa(c)), ["PLAIN", "LOGIN"], "CAPA SASL, PAM only")
    # the same, with the passwd-file backend: -t wants the file
    d.write_conf(overrides={"auth_backends": "passwd-file pam"})
    r = privpopd_t(d)
    check(r.returncode != 0 and b"passwd_file" in r.stderr,
          "-t with a missing passwd-file backend: %r" % r.stderr)


@test("mech_mixed_site_capa_and_curl")
def t_mixed(ctx):
    """One {PLAIN} virtual user must not make CAPA offer CRAM-MD5 (or
    the greeting APOP) to PAM users: curl picks the best mechanism
    offered, and a PAM user then logs in."""
    need_pam_wrapper(ctx)
    if not shutil.which("curl"):
        raise U.TestFailure("curl is not installed")
    for order in ("passwd-file pam", "pam passwd-file"):
        d = site(ctx, "mixed", backends=order)
        c, g = A.greet(d)
        check(A.apop_stamp(g) is None, "%s: APOP stamp in %r" % (order, g))
        lines = capa(c)
        check_eq(sasl_of(lines), ["PLAIN", "LOGIN"], "%s: CAPA SASL" % order)
        check("USER" in lines, "%s: no USER in CAPA" % order)
        check_eq(c.cmd("AUTH CRAM-MD5"), UNSUPPORTED, "%s: CRAM-MD5" % order)
        check_eq(c.cmd("APOP bob " + "0" * 32),
                 b"-ERR APOP not available.\r\n", "%s: APOP" % order)
        c.close()
        for user, pw in ((PAM_USER, PAM_PW), ("bob", PW_BOB)):
            r = T.curl(d, user, pw)
            what = "%s: curl pop3:// as %s" % (order, user)
            check(r.returncode == 0, "%s: exit %d: %r" % (
                what, r.returncode, r.stderr[-400:]))
            check_eq(T.curl_auth_line(r.stderr), "AUTH PLAIN",
                     "%s: AUTH sent" % what)
            check_eq(r.stdout, U.to_wire(T.MSG1), "%s: RETR 1" % what)
        check(d.wait_log(r"user=%s via=pam" % PAM_USER, 5),
              "no via=pam login")
        d.stop()
    # the passwd-file alone, all {PLAIN}: CRAM-MD5, SCRAM and APOP
    d = T.auth_daemon(ctx, "plainonly", crypt=False, scram=False, mechs=None,
                      extra_conf={"auth_backends": "passwd-file"})
    c, g = A.greet(d)
    check(A.apop_stamp(g) is not None, "no APOP stamp, all {PLAIN}: %r" % g)
    check_eq(sasl_of(capa(c)), ["PLAIN", "LOGIN", "CRAM-MD5",
                                "SCRAM-SHA-256"], "CAPA SASL, all {PLAIN}")
    c.close()


@test("mech_explicit_list_honoured")
def t_explicit(ctx):
    need_pam_wrapper(ctx)
    d = site(ctx, "explicit", extra={"auth_mechanisms": "USER CRAM-MD5"},
             start=False)
    d.port = U.free_port()
    d.write_passwd()
    d.write_conf()
    r = privpopd_t(d)
    check(r.returncode == 0, "-t: %r" % r.stderr)
    check(re.search(rb"warning: auth_mechanisms: the pam backend cannot "
                    rb"serve CRAM-MD5", r.stderr), "-t does not warn that "
          "PAM cannot serve CRAM-MD5: %r" % r.stderr)
    A.start_with_env(d, d.env)
    c, g = A.greet(d)
    check(A.apop_stamp(g) is None, "APOP stamp not asked for: %r" % g)
    lines = capa(c)
    check("USER" in lines, "USER missing from CAPA %r" % lines)
    check_eq(sasl_of(lines), ["CRAM-MD5"], "CAPA SASL")
    check_eq(A.auth_listing(c), ["CRAM-MD5"], "AUTH listing")
    check_eq(c.cmd("AUTH PLAIN " + A.b64("\0bob\0" + PW_BOB)), UNSUPPORTED,
             "AUTH PLAIN not listed")
    check_eq(c.cmd("AUTH LOGIN"), UNSUPPORTED, "AUTH LOGIN not listed")
    check_eq(c.cmd("APOP bob " + "0" * 32), b"-ERR APOP not available.\r\n",
             "APOP not listed")
    _, r = A.sasl_cram(c, "bob", PW_BOB)
    login_ok(c, r, "CRAM-MD5 for a {PLAIN} user")
    c.close()
    # USER/PASS as listed, for PAM and passwd-file users alike
    for user, pw in ((PAM_USER, PAM_PW), ("bob", PW_BOB)):
        r, _, c = A.pass_login(d, user, pw)
        login_ok(c, r, "USER/PASS " + user)
        c.close()
    # CRAM-MD5 as a PAM user: the same failure, not counted
    with A.greet(d)[0] as c:
        _, r = A.sasl_cram(c, PAM_USER, PAM_PW)
        check_eq(r, T.FAILED, "CRAM-MD5 for a PAM user")
    check(d.wait_log(r"login failed: sess=\S+ addr=\S+ user=%s method=cram-md5 "
                     r"\(no secret for this method; not counted\)"
                     % PAM_USER, 5), "uncounted failure not logged")
    d.stop()
    # PLAIN alone: no USER in CAPA, and USER is refused
    d = site(ctx, "explicit2", extra={"auth_mechanisms": "PLAIN"})
    with A.greet(d)[0] as c:
        lines = capa(c)
        check("USER" not in lines, "USER offered: %r" % lines)
        check_eq(sasl_of(lines), ["PLAIN"], "CAPA SASL, PLAIN only")
        check_eq(c.cmd("USER bob"), b"-ERR USER not available.\r\n", "USER")
        login_ok(c, A.sasl_plain(c, PAM_USER, PAM_PW), "PLAIN via PAM")


def timed_pass_failure(d, user=PAM_USER):
    r, dt, c = A.pass_login(d, user, PW_BAD, 20)
    c.close()
    check_eq(r, T.FAILED, "wrong password")
    return dt


@test("mech_unoffered_or_unserved_feeds_no_penalty")
def t_no_penalty(ctx):
    """AUTH of a mechanism not offered is refused by the session with no
    penalty; a listed challenge mechanism that the user's backend cannot
    serve fails as usual, but adds nothing to the address's count."""
    need_pam_wrapper(ctx)
    pen = {"auth_penalty_base_ms": "600", "auth_penalty_max_ms": "9600",
           "auth_fail_delay_ms": "100"}
    d = site(ctx, "nopen", extra=pen)
    for _ in range(4):
        with A.greet(d)[0] as c:
            t0 = time.monotonic()
            check_eq(c.cmd("AUTH CRAM-MD5"), UNSUPPORTED, "CRAM-MD5")
            check_eq(c.cmd("AUTH SCRAM-SHA-256 " + A.b64("n,,n=bob,r=x")),
                     UNSUPPORTED, "SCRAM-SHA-256")
            check_eq(c.cmd("AUTH DIGEST-MD5"), UNSUPPORTED, "DIGEST-MD5")
            check_eq(c.cmd("APOP bob " + "0" * 32),
                     b"-ERR APOP not available.\r\n", "APOP")
            check(time.monotonic() - t0 < 0.5, "refusals were delayed")
            check(not c.is_closed(0.2), "closed after refused mechanisms")
    # the first counted failure waits the base (600 ms), not more
    dt = timed_pass_failure(d)
    check(0.55 <= dt < 1.15, "first wrong password after unoffered "
          "mechanisms took %.3fs (want ~0.6: nothing counted before)" % dt)
    check(not d.wait_log(r"login failed: sess=\S+ addr=\S+ user=\S+ "
                         r"method=(cram|apop|scram)", 0.2),
          "privpop-auth heard of an unoffered mechanism")
    d.stop()

    # listed, but PAM cannot serve it: same answer, not counted
    conf = dict(pen, auth_mechanisms="USER PLAIN CRAM-MD5 SCRAM-SHA-256")
    d = site(ctx, "nopen2", extra=conf)
    for _ in range(3):
        with A.greet(d)[0] as c:
            _, r = A.sasl_cram(c, PAM_USER, PAM_PW)
            check_eq(r, T.FAILED, "CRAM-MD5 as a PAM user")
    with A.greet(d)[0] as c:
        res = A.sasl_scram(c, PAM_USER, PAM_PW)
        check_eq(res.answer, T.FAILED, "SCRAM as a PAM user")
    dt = timed_pass_failure(d)
    check(0.55 <= dt < 1.15, "first wrong password after 4 unserved "
          "challenge failures took %.3fs (want ~0.6, not 4.8+)" % dt)
    # a wrong CRAM-MD5 digest of a {PLAIN} user is a wrong password
    with A.greet(d)[0] as c:
        t0 = time.monotonic()
        _, r = A.sasl_cram(c, "bob", PW_BAD)
        dt = time.monotonic() - t0
        check_eq(r, T.FAILED, "CRAM-MD5 wrong secret")
    check(1.1 <= dt < 1.9, "second counted failure took %.3fs (want ~1.2)"
          % dt)


@test("mech_pam_session_setting")
def t_pam_session(ctx):
    need_pam_wrapper(ctx)
    for setting in ("no", "yes"):
        marker = os.path.join(ctx.new_tmpdir("pamsess"), "session.log")
        extra = {} if setting == "no" else {"pam_session": "yes"}
        d = site(ctx, "pamsess-" + setting, bob=False, extra=extra,
                 session_marker=marker)
        r, _, c = A.pass_login(d, PAM_USER, PAM_PW)
        check(r.startswith(b"+OK"), "pam_session = %s: login %r"
              % (setting, r))
        check(c.cmd("STAT").startswith(b"+OK 1 "), "STAT")
        # who started the worker: the store fork server either way (no
        # exec after a drop, issue 15 item 1); with a session, a root
        # privpop-auth stays to close it (it waits on a pidfd)
        workers = []
        U.wait_until(lambda: workers.extend(U.store_workers(d.pid())) or
                     workers, 5)
        check(len(workers) == 1, "store workers %r" % workers)
        parent = U.role_of(U.proc_stat(workers[0])[0])
        check_eq(parent, "privpop-store", "pam_session = %s: the worker's "
                 "parent" % setting)
        waiting = [p for p in U.descendants_of(d.pid())
                   if U.role_of(p) == "privpop-auth" and
                   any(os.readlink("/proc/%d/fd/%s" % (p, f)) ==
                       "anon_inode:[pidfd]"
                       for f in os.listdir("/proc/%d/fd" % p))]
        check_eq(len(waiting), 0 if setting == "no" else 1,
                 "pam_session = %s: privpop-auth waiting on a pidfd"
                 % setting)
        c.cmd("QUIT")
        c.close()
        if setting == "no":
            time.sleep(0.5)
            if os.path.exists(marker):
                with open(marker) as f:
                    raise U.TestFailure("pam_session = no ran the session "
                                        "stack: %r" % f.read())
        else:
            want_lines = ["open_session " + PAM_USER,
                          "close_session " + PAM_USER]
            ok = U.wait_until(lambda: os.path.exists(marker) and
                              open(marker).read().split("\n")[:2] ==
                              want_lines, 5)
            check(ok, "pam_session = yes: session stack log %r, want %r"
                  % (open(marker).read() if os.path.exists(marker)
                     else None, want_lines))
        d.stop()


@test("mech_first_valid_uid_passwd_file")
def t_first_valid_uid(ctx):
    """A passwd-file entry below first_valid_uid, and one with uid 0,
    are refused before the password is checked: the answer of a wrong
    password, no Maildir made, the reason logged as a warning."""
    check(ctx.is_root, "needs root (entries with other uids)")
    d = U.Daemon(ctx, "fvu", extra_conf={"first_valid_uid": "1000",
                                         "auth_backends": "passwd-file"})
    lines = []
    for name, uid in (("lowuid", 50), ("rootuid", 0), ("okuid", 61021)):
        home = os.path.join(d.dir, "home", name)
        os.makedirs(home)
        os.chown(home, uid, uid)
        # by hand: privpop-passwd refuses uid 0
        lines.append("%s:{PLAIN}Pw-%s:%d:%d::%s:" % (name, name, uid, uid,
                                                    home))
    d.passwd_lines = lines
    d.start()
    for name, uid in (("lowuid", 50), ("rootuid", 0)):
        # right password, and a wrong one: the same answer
        right, dt_r, c = A.pass_login(d, name, "Pw-" + name)
        c.close()
        wrong, dt_w, c = A.pass_login(d, name, "Pw-wrong")
        c.close()
        check_eq(right, T.FAILED, "uid %d with the right password" % uid)
        check_eq(wrong, T.FAILED, "uid %d with a wrong password" % uid)
        check(abs(dt_r - dt_w) < 0.3, "uid %d: %.3fs vs %.3fs" % (
            uid, dt_r, dt_w))
        check(d.wait_log(r"login refused: addr=\S+ user=%s: uid %d is "
                         r"below first_valid_uid 1000" % (name, uid), 5),
              "refusal of uid %d not logged" % uid)
        check(not os.path.exists(os.path.join(d.dir, "home", name,
                                              "Maildir")),
              "a Maildir was made for uid %d" % uid)
    # the one above it logs in, and gets its Maildir
    r, _, c = A.pass_login(d, "okuid", "Pw-okuid")
    check(r.startswith(b"+OK"), "uid 61021: %r" % r)
    c.cmd("QUIT")
    c.close()
    check(os.path.isdir(os.path.join(d.dir, "home", "okuid", "Maildir")),
          "no Maildir for uid 61021")


def apop_digest(greeting, password):
    import hashlib
    stamp = A.apop_stamp(greeting)
    check(stamp, "no APOP timestamp in the greeting %r" % greeting)
    return hashlib.md5(stamp + password.encode()).hexdigest()


@test("mech_md5_auth_only_inside_tls_by_default")
def t_md5_auth(ctx):
    # APOP and CRAM-MD5 outside TLS give an eavesdropper an MD5 to crack
    # offline: by default they follow plaintext_auth (TLS, or a trusted
    # network); md5_auth = always allows them anywhere
    import tests_tls as TT
    md5_refused = (b"-ERR [AUTH] APOP and CRAM-MD5 disallowed on "
                   b"non-secure connections; use STLS first.\r\n")
    for setting in ("tls-only", "always"):
        d, _u = TT.tls_daemon(ctx, "md5-" + setting, start=False,
                              extra_conf={"trusted_networks": "none",
                                          "auth_mechanisms": U.ALL_MECHS,
                                          "md5_auth": setting})
        A.add_user_line(d, "bob", PW_BOB, scheme="plain")
        d.start()
        c, g = A.greet(d)
        with c:
            caps = capa(c)
            if setting == "tls-only":
                check("CRAM-MD5" not in sasl_of(caps),
                      "CAPA offers CRAM-MD5 in the clear: %r" % caps)
                check_eq(c.cmd("APOP bob " + apop_digest(g, PW_BOB)),
                         md5_refused, "APOP in the clear")
                check_eq(c.cmd("AUTH CRAM-MD5"), md5_refused,
                         "AUTH CRAM-MD5 in the clear")
            else:
                check("CRAM-MD5" in sasl_of(caps),
                      "md5_auth = always: CAPA %r" % caps)
                r = c.cmd("APOP bob " + apop_digest(g, PW_BOB))
                check(r.startswith(b"+OK"), "APOP in the clear with "
                      "md5_auth = always: %r" % r)
            c.cmd("QUIT")
        # inside TLS both work whatever the setting
        sc = TT.client_ctx(d.cert.cert)
        c, _g = TT.stls_conn(d.port, sc)
        with c:
            check("CRAM-MD5" in sasl_of(capa(c)), "CAPA after STLS")
            _chal, r = A.sasl_cram(c, "bob", PW_BOB)
            check(r.startswith(b"+OK"), "CRAM-MD5 after STLS: %r" % r)
            c.cmd("QUIT")
        with TT.tls_conn(d.tls_port, sc) as c:
            g = c.resp()
            r = c.cmd("APOP bob " + apop_digest(g, PW_BOB))
            check(r.startswith(b"+OK"), "APOP over implicit TLS: %r" % r)
            c.cmd("QUIT")
        # a refusal asked privpop-auth nothing: no failure, no penalty
        check(not re.search(r"login failed", d.log_text()),
              "a refused APOP/CRAM-MD5 was counted as a failed login")
        d.stop()
