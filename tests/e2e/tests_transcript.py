"""The protocol transcript (issue 18): a session with every kind of
command over STLS gives one line per command and per answer line, in
order, in the documented form, with no credential in any line (the
passwords, their base64, the APOP digest, the SCRAM proof) and no byte
of a message body; privpop-log prints it in the classic form with the
summary; transcript_users holds the lines before the login and writes
them only for a listed user; off by default."""
import hashlib
import os
import re
import signal
import subprocess

import e2e_util as U
from e2e_util import check, check_eq
from registry import test

import auth_util as A
import tests_tls as T

HERE = os.path.dirname(os.path.abspath(__file__))
PRIVPOP_LOG = os.path.abspath(os.path.join(HERE, "..", "..", "tools",
                                           "privpop-log"))
PW_BOB = "Bob-transcript-pw-7731"          # {PLAIN}: APOP, SCRAM work
PW_WRONG = "Wrong-transcript-pw-2290"
TRL = re.compile(r"privpopd\[\d+\]: transcript: sess=(\S+) addr=(\S+) "
                 r"(\u00ab|\u00bb) (.*)$")
SUMMARY = re.compile(r"privpopd\[\d+\]: sess=(\S+) addr=\S+ user=(\S+) "
                     r"auth=\S+ .* end=(\S+) dur=")


def need_syslog(ctx):
    if ctx.syslog is None:
        raise U.TestSkip("no syslog receiver in this run (not root, or "
                         "--no-syslog)")


def tr_daemon(ctx, name, conf):
    base = {"auth_mechanisms": U.ALL_MECHS, "md5_auth": "always",
            "max_auth_fails": "10", "auth_penalty_base_ms": "0",
            "auth_fail_delay_ms": "20"}
    base.update(conf)
    d, alice = T.tls_daemon(ctx, name, extra_conf=base, start=False)
    bob = d.add_user("bob", PW_BOB, sysuser="pptest2", plain=True)
    bob.deliver("1700000201.M1P1.tr", b"From: x@example.org\nSubject: "
                b"BODYMARK-1\n\nsecret body line\n", "new", None)
    bob.deliver("1700000202.M2P1.tr", b"From: x@example.org\nSubject: "
                b"BODYMARK-2\n\nanother\n", "new", None)
    d.start()
    return d, alice


def session_lines(ctx, mark, user, timeout=10):
    """(sess, [(dir, text)], summary line) of the one session of user
    since mark, once its summary is in."""
    got = {}

    def done():
        for l in ctx.syslog.lines_since(mark):
            m = SUMMARY.search(l)
            if m and m.group(2) == user:
                got["sess"], got["summary"] = m.group(1), l
                return True
        return False
    check(U.wait_until(done, timeout), "no summary line of %s's session"
          % user)
    tr = []
    for l in ctx.syslog.lines_since(mark):
        m = TRL.search(l)
        if m and m.group(1) == got["sess"]:
            check_eq(m.group(2), "127.0.0.1", "transcript addr=")
            tr.append((">" if m.group(3) == "\u00bb" else "<", m.group(4)))
    return got["sess"], tr, got["summary"]


def in_order(tr, want):
    """Each of want, (dir, text or compiled regex), in tr in this order."""
    i = 0
    for w in want:
        while i < len(tr):
            d, t = tr[i]
            i += 1
            if d == w[0] and (t == w[1] if isinstance(w[1], str)
                              else w[1].match(t)):
                break
        else:
            raise U.TestFailure("transcript lacks %r (in order); it is:\n%s"
                                % (w, "\n".join("%s %s" % x for x in tr)))


@test("transcript_every_command_masked_in_order")
def t_transcript(ctx):
    need_syslog(ctx)
    d, _alice = tr_daemon(ctx, "tr-all", {"transcript": "yes"})
    cafile = d.cert.cert
    secrets = [PW_BOB, PW_WRONG, T.PW_ALICE]
    mark = ctx.syslog.mark()
    c, g = T.stls_conn(d.port, T.client_ctx(cafile))
    with c:
        check(T.capa_lines(c), "CAPA")
        check_eq(c.cmd("USER alice"), b"+OK\r\n", "USER")
        check(c.cmd("PASS " + PW_WRONG).startswith(b"-ERR"), "wrong PASS")
        plain = A.b64("\0bob\0" + PW_WRONG)
        secrets.append(plain)
        check(c.cmd("AUTH PLAIN " + plain).startswith(b"-ERR"), "PLAIN")
        for s in (A.b64("bob"), A.b64(PW_WRONG)):
            secrets.append(s)
        check(A.sasl_login(c, "bob", PW_WRONG).startswith(b"-ERR"), "LOGIN")
        stamp = A.apop_stamp(g)
        check(stamp is not None, "APOP stamp in %r" % g)
        digest = hashlib.md5(stamp + PW_WRONG.encode()).hexdigest()
        secrets.append(digest)
        check(c.cmd("APOP bob " + digest).startswith(b"-ERR"), "APOP")
        res = A.sasl_scram(c, "bob", PW_WRONG)
        check(res.answer.startswith(b"-ERR"), "SCRAM wrong: %r" % res.answer)
        good = A.b64("\0bob\0" + PW_BOB)
        secrets.append(good)
        check(c.cmd("AUTH PLAIN " + good).startswith(b"+OK Logged in"),
              "PLAIN login")
        check(c.cmd("STAT").startswith(b"+OK 2 "), "STAT")
        check(c.cmd("LIST").startswith(b"+OK"), "LIST")
        c.multi()
        check(c.cmd("UIDL").startswith(b"+OK"), "UIDL")
        c.multi()
        r = c.cmd("RETR 1")
        check(r.startswith(b"+OK"), "RETR")
        check(b"BODYMARK-1" in c.multi(), "RETR body")
        check(c.cmd("TOP 2 0").startswith(b"+OK"), "TOP")
        c.multi()
        check(c.cmd("DELE 1").startswith(b"+OK"), "DELE")
        check(c.cmd("RSET").startswith(b"+OK"), "RSET")
        check(c.cmd("NOOP").startswith(b"+OK"), "NOOP")
        check(c.cmd("QUIT").startswith(b"+OK"), "QUIT")
    sess, tr, summary = session_lines(ctx, mark, "bob")
    octets = int(r.split()[1])
    in_order(tr, [
        (">", re.compile(r"\+OK privpop ready\. <")),
        ("<", "STLS"), (">", "+OK Begin TLS negotiation."),
        ("<", "CAPA"), (">", "+OK Capability list follows"),
        (">", re.compile(r"\(\d+ lines\)$")), (">", "."),
        ("<", "USER alice"), (">", "+OK"),
        ("<", "PASS *****"), (">", "-ERR [AUTH] Authentication failed."),
        ("<", "AUTH PLAIN *****"), (">", "-ERR [AUTH] Authentication failed."),
        ("<", "AUTH LOGIN"), (">", "+ VXNlcm5hbWU6"), ("<", "*****"),
        (">", "+ UGFzc3dvcmQ6"), ("<", "*****"),
        (">", "-ERR [AUTH] Authentication failed."),
        ("<", "APOP bob *****"), (">", "-ERR [AUTH] Authentication failed."),
        ("<", "AUTH SCRAM-SHA-256 *****"), (">", re.compile(r"\+ \S+$")),
        ("<", "*****"), (">", "-ERR [AUTH] Authentication failed."),
        ("<", "AUTH PLAIN *****"),
        (">", re.compile(r"\+OK Logged in, 2 messages")),
        ("<", "STAT"), (">", re.compile(r"\+OK 2 \d+$")),
        ("<", "LIST"), (">", re.compile(r"\+OK 2 messages")),
        (">", "(2 lines)"), (">", "."),
        ("<", "UIDL"), (">", "+OK Unique-ID listing follows"),
        (">", "(2 lines)"), (">", "."),
        ("<", "RETR 1"), (">", "+OK %d octets" % octets),
        ("<", "TOP 2 0"), (">", "+OK Top of message follows"),
        ("<", "DELE 1"), (">", re.compile(r"\+OK")), ("<", "RSET"),
        ("<", "NOOP"), (">", "+OK"),
        ("<", "QUIT"), (">", re.compile(r"\+OK Logging out")),
    ])
    text = "\n".join(t for _d, t in tr)
    for s in secrets:
        check(s not in text, "a secret is in the transcript: %r" % s)
    for s in ("BODYMARK", "secret body line", "another"):
        check(s not in text, "a message body is in the transcript: %r" % s)
    # every mask has one length
    check(all("*" not in t or t.endswith("*****") and "******" not in t
              for _d, t in tr), "a mask of another length")

    # privpop-log: the classic form, from the lines as a log file has them
    tmp = ctx.new_tmpdir("tr")
    log = os.path.join(tmp, "mail.log")
    with open(log, "w", encoding="utf-8") as f:
        for l in ctx.syslog.lines_since(mark):
            f.write(re.sub(r"^<\d+>", "", l) + "\n")
    r = subprocess.run(["sh", PRIVPOP_LOG, sess, log], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=30)
    check_eq(r.returncode, 0, "privpop-log exit (%r)" % r.stderr)
    out = r.stdout.decode("utf-8").splitlines()
    check(out and out[0].startswith("127.0.0.1 \u00bb +OK privpop ready. <"),
          "privpop-log's first line: %r" % out[:1])
    check("127.0.0.1 \u00ab PASS *****" in out, "privpop-log: PASS line")
    check("127.0.0.1 \u00ab RETR 1" in out, "privpop-log: RETR line")
    check_eq(len(out), len(tr) + 2, "privpop-log lines (transcript and "
             "the two closing lines)")
    check(re.match(r"127\.0\.0\.1 \*\*\* bob 1 %d 00:00:\d\d quit$" % octets,
                   out[-2]), "privpop-log summary: %r (from %r)" % (
                       out[-2], summary))
    check_eq(out[-1], "127.0.0.1 Disconnected", "privpop-log last line")
    r = subprocess.run(["sh", PRIVPOP_LOG, "0000nosuch0000", log],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=30)
    check(r.returncode == 1 and b"transcript" in r.stderr,
          "privpop-log of an unknown session: %r" % (r.stderr,))
    d.stop()


@test("transcript_users_holds_until_login")
def t_transcript_users(ctx):
    need_syslog(ctx)
    d, _alice = tr_daemon(ctx, "tr-users", {"transcript_users": "bob"})
    mark = ctx.syslog.mark()
    with d.connect() as c:
        c.login("alice", T.PW_ALICE)
        c.cmd("STAT")
        c.cmd("QUIT")
    _s, tr_a, _sum = session_lines(ctx, mark, "alice")
    check_eq(tr_a, [], "transcript of alice, who is not listed")
    mark = ctx.syslog.mark()
    with d.connect() as c:
        c.resp()
        c.cmd("NOOP")          # refused before login: held too
        check_eq(c.cmd("USER bob"), b"+OK\r\n", "USER bob")
        check(c.cmd("PASS " + PW_BOB).startswith(b"+OK"), "bob's login")
        c.cmd("QUIT")
    _s, tr_b, _sum = session_lines(ctx, mark, "bob")
    in_order(tr_b, [(">", re.compile(r"\+OK privpop ready")),
                    ("<", "NOOP"), (">", "-ERR Not logged in."),
                    ("<", "USER bob"), (">", "+OK"), ("<", "PASS *****"),
                    (">", re.compile(r"\+OK Logged in")), ("<", "QUIT")])
    check(PW_BOB not in "\n".join(t for _d, t in tr_b), "bob's password")
    d.stop()


@test("transcript_off_by_default")
def t_transcript_off(ctx):
    need_syslog(ctx)
    d, _alice = tr_daemon(ctx, "tr-off", {})
    mark = ctx.syslog.mark()
    with d.connect() as c:
        c.login("bob", PW_BOB)
        c.cmd("QUIT")
    _s, tr, _sum = session_lines(ctx, mark, "bob")
    check_eq(tr, [], "transcript lines with transcript off")
    check(not any("transcript:" in l for l in ctx.syslog.lines_since(mark)),
          "a transcript line with transcript off")
    d.stop()


def ctl(d, *args, check_rc=0):
    p = subprocess.run([os.path.join(d.ctx.build_dir, "privpopctl"), "-c",
                        d.conf] + list(args), capture_output=True,
                       text=True, timeout=30)
    if check_rc is not None and p.returncode != check_rc:
        raise U.TestFailure("privpopctl %s: exit %d, %r %r" % (
            " ".join(args), p.returncode, p.stdout, p.stderr))
    return p


@test("transcript_switched_by_privpopctl")
def t_transcript_ctl(ctx):
    """privpopctl transcript on|off USER|ADDR: for the next sessions,
    without a reload; off again, none."""
    need_syslog(ctx)
    d, _alice = tr_daemon(ctx, "tr-ctl", {})
    check_eq(ctl(d, "transcript").stdout.strip(),
             "no transcript switched on by privpopctl", "the empty list")
    out = ctl(d, "transcript", "on", "bob").stdout
    check("user     bob" in out, "the list after on: %r" % out)

    def one(user, pw):
        mark = ctx.syslog.mark()
        with d.connect() as c:
            c.login(user, pw)
            c.cmd("STAT")
            c.cmd("QUIT")
        return session_lines(ctx, mark, user)[1]

    tr = one("bob", PW_BOB)
    in_order(tr, [(">", re.compile(r"\+OK privpop ready")),
                  ("<", "USER bob"), ("<", "PASS *****"),
                  (">", re.compile(r"\+OK Logged in")), ("<", "STAT")])
    check_eq(one("alice", T.PW_ALICE), [], "alice's transcript (bob's on)")
    # an address: every session from it, whoever logs in
    ctl(d, "transcript", "on", "127.0.0.0/8")
    check(len(one("alice", T.PW_ALICE)) > 5, "alice's transcript with "
          "127.0.0.0/8 on")
    ctl(d, "transcript", "off", "127.0.0.0/8")
    ctl(d, "transcript", "off", "bob")
    check_eq(one("bob", PW_BOB), [], "bob's transcript after off")
    p = ctl(d, "transcript", "off", "bob", check_rc=1)
    check("not switched on for bob" in p.stderr, "off twice: %r" % p.stderr)
    for i in range(16):
        ctl(d, "transcript", "on", "user%d" % i)
    p = ctl(d, "transcript", "on", "user16", check_rc=1)
    check("at most 16" in p.stderr, "the 17th: %r" % p.stderr)
    d.stop()


@test("transcript_dir_file_per_session")
def t_transcript_dir(ctx):
    """transcript_dir: the master makes a file per session (root's
    directory, 0600 files) and the session writes its lines there, the
    summary last; a transcript_users session of another user leaves no
    file; an unsafe directory is refused with a log line, and the lines
    go to syslog."""
    mark = ctx.syslog.mark() if ctx.syslog is not None else 0
    tdir = os.path.join(ctx.new_tmpdir("trdir"), "transcripts")
    os.mkdir(tdir, 0o700)
    d, _alice = tr_daemon(ctx, "tr-dir", {"transcript_users": "bob",
                                          "transcript_dir": tdir})
    for user, pw in (("alice", T.PW_ALICE), ("bob", PW_BOB)):
        with d.connect() as c:
            c.login(user, pw)
            c.cmd("STAT")
            c.cmd("QUIT")

    def files():
        return sorted(os.listdir(tdir))

    def settled():
        f = files()
        if len(f) != 1:
            return False
        with open(os.path.join(tdir, f[0]), encoding="utf-8") as fp:
            return fp.read().rstrip("\n").split("\n")[-1].find(
                "*** sess=") > 0
    check(U.wait_until(settled, 10), "transcript files: %r (want bob's "
          "alone, ended by its summary)" % files())
    name = files()[0]
    check(re.match(r"\d{8}-\d{6}-\d+\.log$", name), "file name %r" % name)
    st = os.stat(os.path.join(tdir, name))
    check_eq(st.st_mode & 0o777, 0o600, "mode of the transcript file")
    check_eq(st.st_uid, os.geteuid(), "owner of the transcript file")
    with open(os.path.join(tdir, name), encoding="utf-8") as fp:
        lines = fp.read().splitlines()
    rx = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (\u00ab|\u00bb|"
                    r"\*\*\*) (.*)$")
    tr = []
    for l in lines:
        m = rx.match(l)
        check(m, "a transcript file line of another form: %r" % l)
        tr.append((">" if m.group(1) == "\u00bb" else "<" if
                   m.group(1) == "\u00ab" else "*", m.group(2)))
    in_order(tr, [(">", re.compile(r"\+OK privpop ready")),
                  ("<", "USER bob"), ("<", "PASS *****"),
                  (">", re.compile(r"\+OK Logged in")), ("<", "STAT"),
                  ("<", "QUIT"), ("*", re.compile(r"sess=\S+ addr=127\.0\.0"
                                                  r"\.1 user=bob .*end=quit"))])
    check(PW_BOB not in "\n".join(lines), "bob's password in the file")
    if ctx.syslog is not None:
        check(not any("transcript: " in l and "USER bob" in l
                      for l in ctx.syslog.lines_since(mark)),
              "bob's transcript went to syslog too")
    # a directory others can write to: refused at the reload, said so
    os.chmod(tdir, 0o777)
    os.kill(d.pid(), signal.SIGHUP)
    check(U.wait_until(lambda: "transcript_dir %s: not" % tdir in
                       d.log_text() or (ctx.syslog is not None and any(
                           "transcript_dir %s: not" % tdir in l
                           for l in ctx.syslog.lines_since(mark))), 10),
          "no log line refusing an unsafe transcript_dir")
    d.stop()
