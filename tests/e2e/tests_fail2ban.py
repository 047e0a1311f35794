"""The fail2ban filter (etc/fail2ban/filter.d/privpop.conf, issue 18)
against the lines a real daemon writes: a failed login of every
mechanism, over IPv4 and IPv6, is matched with its client's address,
and no other line is (a successful login, a penalty, a refusal's
reason, the session summaries).  fail2ban-regex (Debian package
fail2ban) judges; a run without it fails."""
import os
import re
import shutil
import socket
import time

import e2e_util as U
from e2e_util import check, check_eq
from registry import test

import auth_util as A

HERE = os.path.dirname(os.path.abspath(__file__))
SRCDIR = os.path.abspath(os.path.join(HERE, "..", ".."))
FILTER = os.path.join(SRCDIR, "etc", "fail2ban", "filter.d", "privpop.conf")
# the filter includes common.conf, as every filter fail2ban ships
F2B_COMMON = "/etc/fail2ban/filter.d/common.conf"

PW_A = "Alice-f2b-pw-3307"         # yescrypt
PW_B = "Bob-f2b-plain-6121"        # {PLAIN}
PW_C = "Carol-f2b-scram-9054"      # {SCRAM-SHA-256}
PW_L = "Low-f2b-pw-1185"           # {PLAIN}, uid below first_valid_uid
PW_BAD = "Wrong-f2b-pw-0042"
LOW_UID = 50
FAILED = b"-ERR [AUTH] Authentication failed.\r\n"

# privpop-auth's failure line, read here independently of the filter
FAIL_RX = re.compile(r"privpop-auth\[\d+\]: login failed: sess=\S+ "
                     r"addr=(\S+) user=(\S+) method=(\S+)")


class DualDaemon(U.Daemon):
    """The suite's daemon on 127.0.0.1, and on [::1] as well when
    port6 is set."""
    port6 = None

    def conf_text(self, port, overrides=None):
        text = super().conf_text(port, overrides)
        if self.port6 is not None:
            text += "listen = [::1]:%d\n" % self.port6
        return text


def free_port6():
    """A free port on ::1, or None when ::1 cannot be bound."""
    try:
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    except OSError:
        return None
    try:
        s.bind(("::1", 0))
        return s.getsockname()[1]
    except OSError:
        return None
    finally:
        s.close()


def greet(d, family):
    if family == "v6":
        c = U.Conn(d.port6, host="::1")
    else:
        c = U.Conn(d.port)
    g = c.resp()
    check(g.startswith(b"+OK"), "greeting %r" % g)
    return c, g


def apop_wrong(c, g, user):
    check(A.apop_stamp(g) is not None, "no APOP stamp in %r" % g)
    return c.cmd("APOP %s %s" % (user, "0123456789abcdef" * 2))


def pass_fail(c, _g, user, password):
    check_eq(c.cmd("USER " + user), b"+OK\r\n", "USER " + user)
    return c.cmd("PASS " + password)


def scram_cancel(c, _g, user):
    first = "n,,n=%s,r=%s" % (user, A.b64(os.urandom(18)))
    r = c.cmd("AUTH SCRAM-SHA-256 " + A.b64(first))
    check(r.startswith(b"+ "), "SCRAM server-first: %r" % r)
    return c.cmd("*")


# (what, client, the user and method privpop-auth logs)
FAILURES = [
    ("USER/PASS wrong password",
     lambda c, g: pass_fail(c, g, "alice", PW_BAD), "alice", "pass"),
    ("USER/PASS unknown user",
     lambda c, g: pass_fail(c, g, "nosuch", PW_BAD), "-", "pass"),
    ("APOP wrong digest",
     lambda c, g: apop_wrong(c, g, "bob"), "bob", "apop"),
    ("APOP unknown user",
     lambda c, g: apop_wrong(c, g, "nosuch"), "-", "apop"),
    ("AUTH PLAIN wrong password",
     lambda c, g: A.sasl_plain(c, "alice", PW_BAD), "alice", "pass"),
    ("AUTH PLAIN unknown user",
     lambda c, g: A.sasl_plain(c, "nosuch", PW_BAD), "-", "pass"),
    ("AUTH LOGIN wrong password",
     lambda c, g: A.sasl_login(c, "alice", PW_BAD), "alice", "pass"),
    ("AUTH CRAM-MD5 wrong secret",
     lambda c, g: A.sasl_cram(c, "bob", PW_BAD)[1], "bob", "cram-md5"),
    # a crypt(3) user has no secret for CRAM-MD5: failed, not counted
    ("AUTH CRAM-MD5 no secret for the method",
     lambda c, g: A.sasl_cram(c, "alice", PW_A)[1], "alice", "cram-md5"),
    ("AUTH SCRAM-SHA-256 wrong password",
     lambda c, g: A.sasl_scram(c, "carol", PW_BAD).answer, "carol",
     "scram-sha-256"),
    ("AUTH SCRAM-SHA-256 unknown user",
     lambda c, g: A.sasl_scram(c, "nosuch", PW_BAD).answer, "-",
     "scram-sha-256"),
    ("AUTH SCRAM-SHA-256 cancelled",
     lambda c, g: scram_cancel(c, g, "carol"), "carol", "scram-sha-256"),
]
# root only: a user below first_valid_uid, with the right password
LOW_FAILURE = ("uid below first_valid_uid",
               lambda c, g: pass_fail(c, g, "lowuid", PW_L), "lowuid",
               "pass")


def f2b_daemon(ctx, v6):
    d = DualDaemon(ctx, "f2b", extra_conf={
        "auth_mechanisms": U.ALL_MECHS,
        # APOP and CRAM-MD5 in the clear (loopback is trusted anyway)
        "md5_auth": "always",
        # penalties on, small: their lines must not be matched
        "auth_penalty_base_ms": "20",
        "auth_penalty_max_ms": "200",
        "auth_fail_delay_ms": "100"})
    if v6:
        d.port6 = free_port6()
    d.add_user("alice", PW_A)
    d.add_user("bob", PW_B, sysuser="pptest2", plain=True)
    A.add_user_line(d, "carol", PW_C, sysuser="pptest2",
                    scheme="scram-sha-256")
    if ctx.is_root:
        home = os.path.join(d.dir, "home", "lowuid")
        os.makedirs(home)
        os.chown(home, LOW_UID, LOW_UID)
        d.passwd_lines.append("lowuid:{PLAIN}%s:%d:%d::%s:" % (
            PW_L, LOW_UID, LOW_UID, home))
    d.start()
    return d


def syslog_file(lines, path, rfc3339):
    """The captured datagrams ("<22>Mmm dd hh:mm:ss ident[pid]: msg") as
    a syslog daemon writes them: without the priority, with a host name,
    and the time in the traditional form or in RFC 3339 (rsyslog's
    default on Debian 12)."""
    year = time.localtime().tm_year
    out = []
    for line in lines:
        m = re.match(r"<\d+>(\w{3} [ \d]\d \d\d:\d\d:\d\d) (.*)$", line)
        check(m, "a syslog datagram of an unexpected form: %r" % line)
        stamp, rest = m.group(1), m.group(2)
        if rfc3339:
            t = time.strptime("%d %s" % (year, stamp), "%Y %b %d %H:%M:%S")
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S.000000+00:00", t)
        out.append("%s e2e-host %s" % (stamp, rest))
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")
    return out


def fail2ban_regex(tmp, logfile, filter_path):
    """[(ip, line)] of the lines the filter matched."""
    exe = shutil.which("fail2ban-regex")
    check(exe, "fail2ban-regex is not installed (Debian package fail2ban;"
          " scripts/install-deps.sh installs it)")
    check(os.path.exists(F2B_COMMON), "%s is missing (package fail2ban)"
          % F2B_COMMON)
    # the filter beside the common.conf it includes, as once installed
    fdir = os.path.join(tmp, "fail2ban", "filter.d")
    os.makedirs(fdir, exist_ok=True)
    shutil.copy(F2B_COMMON, fdir)
    shutil.copy(filter_path, os.path.join(fdir, "privpop.conf"))
    # one line per match: the address fail2ban would ban, then the line
    r = A.run([exe, "-o", "<ip> <matches>", logfile,
               os.path.join(fdir, "privpop.conf")], timeout=120)
    check(r.returncode == 0, "fail2ban-regex exited %d: %r" % (
        r.returncode, (r.stdout + r.stderr)[-600:]))
    out = []
    for l in r.stdout.decode("utf-8", "replace").splitlines():
        if not l.strip():
            continue
        ip, _, line = l.partition(" ")
        out.append((ip, line))
    # the summary of --print-all-matched agrees on the count
    r = A.run([exe, "--print-all-matched", logfile,
               os.path.join(fdir, "privpop.conf")], timeout=120)
    text = r.stdout.decode("utf-8", "replace")
    m = re.search(r"^Lines: (\d+) lines, (\d+) ignored, (\d+) matched",
                  text, re.M)
    check(r.returncode == 0 and m, "fail2ban-regex --print-all-matched: "
          "%r" % (text + r.stderr.decode("utf-8", "replace"))[-600:])
    check_eq(int(m.group(3)), len(out), "fail2ban-regex: lines matched "
             "(summary against -o)")
    return out


def produce(ctx, d, families):
    """Every failure, then a successful login, over each family; returns
    {family: [(user, method)]} of the failures made."""
    made = {}
    cases = list(FAILURES) + ([LOW_FAILURE] if ctx.is_root else [])
    for fam in families:
        made[fam] = []
        for what, fn, user, method in cases:
            c, g = greet(d, fam)
            with c:
                r = fn(c, g)
                check(r.startswith(b"-ERR"), "%s over %s: %r" % (
                    what, fam, r))
                if r != FAILED and "cancelled" not in what:
                    raise U.TestFailure("%s over %s: %r, want %r" % (
                        what, fam, r, FAILED))
            made[fam].append((user, method))
        # and logins that work
        c, _g = greet(d, fam)
        with c:
            check_eq(pass_fail(c, None, "alice", PW_A)[:3], b"+OK",
                     "alice's login over %s" % fam)
            c.cmd("QUIT")
        c, _g = greet(d, fam)
        with c:
            res = A.sasl_scram(c, "carol", PW_C)
            check(res.answer.startswith(b"+OK") and res.server_sig_ok,
                  "carol's SCRAM login over %s: %r" % (fam, res.answer))
            c.cmd("QUIT")
    return made


ADDR = {"v4": "127.0.0.1", "v6": "::1"}


@test("fail2ban_filter_matches_failed_logins_only")
def t_fail2ban(ctx):
    if ctx.syslog is None:
        raise U.TestSkip("no syslog receiver in this run (not root, or "
                         "--no-syslog)")
    check(shutil.which("fail2ban-regex"), "fail2ban-regex is not installed"
          " (Debian package fail2ban; scripts/install-deps.sh installs it)")
    check(os.path.exists(FILTER), "%s is missing" % FILTER)
    mark = ctx.syslog.mark()
    d = f2b_daemon(ctx, v6=True)
    families = ["v4"]
    if d.port6 is not None:
        families.append("v6")
    else:
        ctx.note("::1 cannot be bound here: IPv6 not checked")
    made = produce(ctx, d, families)
    nfail = sum(len(v) for v in made.values())
    nok = 2 * len(families)
    # syslog is asynchronous: wait for every line, and the summaries
    U.wait_until(lambda: sum(1 for l in ctx.syslog.lines_since(mark)
                             if FAIL_RX.search(l)) >= nfail and
                 sum(1 for l in ctx.syslog.lines_since(mark)
                     if " auth=ok " in l) >= nok, 10)
    d.stop()
    lines = [l for l in ctx.syslog.lines_since(mark) if l.strip()]

    # what privpop logged, read here: one line per failure, each with
    # its client's address, user and method
    logged = {}
    for l in lines:
        m = FAIL_RX.search(l)
        if m:
            logged.setdefault(m.group(1), []).append(
                (m.group(2), m.group(3)))
    for fam in families:
        check_eq(sorted(logged.get(ADDR[fam], [])), sorted(made[fam]),
                 "failed-login lines from %s (user, method)" % ADDR[fam])
    check_eq(sorted(logged), sorted(ADDR[f] for f in families),
             "addresses in failed-login lines")
    # the other lines the filter must leave alone are there too
    others = (("a successful login", r"privpop-auth\[\d+\]: login: "
               r"sess=\S+ addr={a} "),
              ("a penalty", r"privpop-auth\[\d+\]: penalty: addr={a} "),
              ("a session summary with auth=fail",
               r"privpopd\[\d+\]: sess=\S+ addr={a} .*auth=fail"),
              ("a session summary with auth=ok",
               r"privpopd\[\d+\]: sess=\S+ addr={a} .*auth=ok"))
    for what, rx in others:
        for fam in families:
            want = rx.replace("{a}", re.escape(ADDR[fam]))
            check(any(re.search(want, l) for l in lines),
                  "no line of %s from %s to check against" % (
                      what, ADDR[fam]))
    if ctx.is_root:
        check(any(re.search(r"login refused: addr=\S+ user=lowuid", l)
                  for l in lines), "no 'login refused' line")

    tmp = ctx.new_tmpdir("f2b")
    for rfc3339 in (False, True):
        path = os.path.join(tmp, "mail-%s.log" % ("rfc3339" if rfc3339
                                                   else "bsd"))
        written = syslog_file(lines, path, rfc3339)
        fails = {l for l in written if FAIL_RX.search(l)}
        matched = fail2ban_regex(tmp, path, FILTER)
        form = "RFC 3339 times" if rfc3339 else "traditional times"
        wrong = [l for _ip, l in matched if l not in fails]
        check(not wrong, "%s: the filter matched %d line(s) that are not "
              "failed logins, e.g. %r" % (form, len(wrong), wrong[:3]))
        seen = [l for _ip, l in matched]
        missed = [l for l in written if l in fails and l not in seen]
        check(not missed, "%s: the filter missed %d failed login(s), e.g. "
              "%r" % (form, len(missed), missed[:3]))
        check_eq(len(seen), len(fails), "%s: matches (one per failed "
                 "login, none twice)" % form)
        for ip, l in matched:
            check_eq(ip, FAIL_RX.search(l).group(1),
                     "%s: the address fail2ban took from %r" % (form, l))
        got = sorted(ip for ip, _l in matched)
        check_eq(got, sorted(a for f in families
                             for a in [ADDR[f]] * len(made[f])),
                 "%s: addresses fail2ban would ban" % form)
