"""RFC 2449 LOGIN-DELAY and EXPIRE (issue 19): CAPA before and after
login, with and without per-domain overrides; a second login within the
delay refused with -ERR [LOGIN-DELAY], allowed once the clock has moved
on; EXPIRE n deleting, at the next login, what was RETRieved more than
n days ago (Maildir and mbox), and nothing younger; EXPIRE 0 deleting
what was RETRieved at QUIT but not when the connection drops; an
override for one domain applying to it alone.  Days pass through the
worker's fake clock (a build with --enable-test-hooks: a file
.privpop-test-clock of seconds in the mailbox's directory), never a
sleep."""
import os

import e2e_util as U
from e2e_util import check, check_eq
from registry import test
from tests_seccomp import built_with_hooks

PW = "Expire-e2e-pw-7734"
CLOCK = ".privpop-test-clock"
DAY = 86400


def need_hooks(ctx):
    if not built_with_hooks(ctx):
        raise U.TestSkip("needs a build with --enable-test-hooks (fake clock)")


def set_clock(u, directory, seconds):
    p = os.path.join(directory, CLOCK)
    with open(p, "w") as f:
        f.write("%d\n" % seconds)
    os.chmod(p, 0o600)
    u._own(p)


def connect(d, user, pw=PW):
    """A logged-in Conn; retried while the last session's worker still
    holds the mailbox ([IN-USE]: it ends right after its client)."""
    last = [None]

    def attempt():
        c = U.Conn(d.port)
        c.resp()
        c.cmd("USER " + user)
        r = c.cmd("PASS " + pw)
        if r.startswith(b"-ERR [IN-USE]"):
            c.close()
            return False
        last[0] = (c, r)
        return True
    check(U.wait_until(attempt, 10), "login of %s: mailbox in use" % user)
    return last[0]


def login(d, user):
    c, r = connect(d, user)
    check(r.startswith(b"+OK"), "login of %s: %r" % (user, r))
    return c


def capa(c):
    r = c.cmd("CAPA")
    check(r.startswith(b"+OK"), "CAPA: %r" % r)
    return [l.decode() for l in c.multi().split(b"\r\n") if l]


def policy_lines(lines):
    return [l for l in lines if l.split()[0] in ("LOGIN-DELAY", "EXPIRE")]


def anon_capa(d):
    with U.Conn(d.port) as c:
        c.resp()
        return policy_lines(capa(c))


def retr(c, n):
    r = c.cmd("RETR %d" % n)
    check(r.startswith(b"+OK"), "RETR %d: %r" % (n, r))
    return c.multi()


def quit_(c):
    r = c.cmd("QUIT")
    c.close()
    check(r.startswith(b"+OK"), "QUIT: %r" % r)
    return r


def count(c):
    r = c.cmd("STAT")
    check(r.startswith(b"+OK"), "STAT: %r" % r)
    return int(r.split()[1])


def maildir_user(d, name, msgs):
    u = d.add_user(name, PW, plain=True)
    for i, m in enumerate(msgs):
        u.deliver("17000000%02d.M%dP1.e2e" % (i, i),
                  b"Subject: %s\n\n%s body\n" % (m, m))
    return u


def logged(ctx, d, text):
    return text in d.log_text() or (ctx.syslog is not None and any(
        text in l for l in ctx.syslog.lines_since(0)))


def names(u):
    return sorted(os.path.basename(p).split(":")[0]
                  for p in u.files().values())


@test("expire_capa_global_domain_and_user")
def t_capa(ctx):
    d = U.Daemon(ctx, "excapa0", prefork=1)
    maildir_user(d, "plain@site.test", [b"a"])
    d.start()
    check_eq(anon_capa(d), ["EXPIRE NEVER"], "CAPA by default")
    c = login(d, "plain@site.test")
    check_eq(policy_lines(capa(c)), ["EXPIRE NEVER"], "CAPA after login")
    quit_(c)

    d = U.Daemon(ctx, "excapa1", prefork=1, extra_conf={
        "login_delay": "60", "expire": "3",
        "login_delay_domain": "slow.test 900",
        "expire_domain": "keep.test never"})
    for n in ("a@slow.test", "b@keep.test", "c@other.test"):
        maildir_user(d, n, [b"a"])
    d.start()
    check_eq(anon_capa(d), ["LOGIN-DELAY 60 USER", "EXPIRE 3 USER"],
             "CAPA before login, with overrides")
    for user, want in (("a@slow.test", ["LOGIN-DELAY 900", "EXPIRE 3"]),
                       ("b@keep.test", ["LOGIN-DELAY 60", "EXPIRE NEVER"]),
                       ("c@other.test", ["LOGIN-DELAY 60", "EXPIRE 3"])):
        c = login(d, user)
        check_eq(policy_lines(capa(c)), want, "CAPA of %s" % user)
        quit_(c)

    d = U.Daemon(ctx, "excapa2", prefork=1, extra_conf={
        "expire_domain": "short.test 7"})
    d.start()
    check_eq(anon_capa(d), ["EXPIRE 7 USER"],
             "expire never for the site, one domain expiring")


@test("expire_login_delay_refused_then_allowed")
def t_login_delay(ctx):
    need_hooks(ctx)
    d = U.Daemon(ctx, "exdelay", prefork=1, extra_conf={
        "login_delay": "600"})
    u = maildir_user(d, "alice", [b"a"])
    d.start()
    quit_(login(d, "alice"))
    check(os.path.exists(os.path.join(u.maildir, ".privpop-login")),
          "the last login kept in the Maildir")
    # a wrong password says nothing about the delay
    c, r = connect(d, "alice", "wrong-password")
    c.close()
    check(r.startswith(b"-ERR [AUTH]"), "bad password: %r" % r)
    c, r = connect(d, "alice")
    check(r.startswith(b"-ERR [LOGIN-DELAY]"), "second login: %r" % r)
    check(c.is_closed(), "the refused session ends")
    c.close()
    # 300 s on: still refused (a refused login did not move the time)
    set_clock(u, u.maildir, 300)
    c, r = connect(d, "alice")
    c.close()
    check(r.startswith(b"-ERR [LOGIN-DELAY]"), "after 300 s: %r" % r)
    words = r.split()
    check(b"wait" in words and
          1 <= int(words[words.index(b"wait") + 1]) <= 300,
          "the seconds left: %r" % r)
    set_clock(u, u.maildir, 601)
    c = login(d, "alice")
    quit_(c)
    # and that login counts: the next one is refused again
    c, r = connect(d, "alice")
    c.close()
    check(r.startswith(b"-ERR [LOGIN-DELAY]"), "third login: %r" % r)


def expire_days(ctx, mbox):
    from tests_mbox import entry, write_file, read_file
    need_hooks(ctx)
    d = U.Daemon(ctx, "exdays" + ("mb" if mbox else "md"), prefork=1,
                 extra_conf={"expire": "2"})
    if mbox:
        u = d.add_user("alice", PW, plain=True, mail="mbox:~/mbox")
        path = os.path.join(u.home, "mbox")
        write_file(u, path, b"".join(
            entry(b"Subject: %s\n\n%s body\n" % (m, m))
            for m in (b"m1", b"m2", b"m3")))
        clockdir = u.home

        def present():
            data = read_file(path)
            return [m for m in ("m1", "m2", "m3")
                    if ("%s body" % m).encode() in data]
    else:
        u = maildir_user(d, "alice", [b"m1", b"m2", b"m3"])
        clockdir = u.maildir

        def present():
            return ["m%d" % (int(n[8:10]) + 1) for n in names(u)]
    d.start()
    c = login(d, "alice")
    check(b"m1 body" in retr(c, 1), "message 1")
    c.cmd("TOP 3 0")
    c.multi()
    quit_(c)
    check_eq(present(), ["m1", "m2", "m3"], "nothing deleted at QUIT")
    # a day on, message 2 is read
    set_clock(u, clockdir, DAY)
    c = login(d, "alice")
    check_eq(count(c), 3, "all listed a day on")
    check(b"m2 body" in retr(c, 2), "message 2")
    quit_(c)
    # two days and a second after message 1 was read: it is gone, at
    # the login, before the listing; message 2 (read a day ago) and 3
    # (only TOP) stay
    set_clock(u, clockdir, 2 * DAY + 1)
    c = login(d, "alice")
    check_eq(count(c), 2, "listed after the expiry")
    check(b"m2 body" in retr(c, 1), "message 2 is now 1")
    quit_(c)
    check_eq(present(), ["m2", "m3"], "message 1 deleted from the mailbox")
    check(U.wait_until(lambda: logged(ctx, d, "expire: 1 message first "
                                      "retrieved over 2 days ago deleted"),
                       5), "the log says how many")
    set_clock(u, clockdir, 3 * DAY + 2)
    c = login(d, "alice")
    check_eq(count(c), 1, "message 2 gone two days after its reading")
    quit_(c)
    check_eq(present(), ["m3"], "only the unread one is left")


@test("expire_days_maildir")
def t_days_maildir(ctx):
    expire_days(ctx, False)


@test("expire_days_mbox")
def t_days_mbox(ctx):
    expire_days(ctx, True)


@test("expire_zero_at_quit_not_at_drop")
def t_zero(ctx):
    d = U.Daemon(ctx, "exzero", prefork=1, extra_conf={"expire": "0"})
    u = maildir_user(d, "alice", [b"m1", b"m2", b"m3", b"m4"])
    d.start()
    all4 = names(u)
    c = login(d, "alice")
    check_eq(policy_lines(capa(c)), ["EXPIRE 0"], "CAPA after login")
    retr(c, 1)
    retr(c, 2)
    c.close()		# dropped: no UPDATE state
    c = login(d, "alice")
    check_eq(count(c), 4, "nothing deleted after a dropped connection")
    retr(c, 1)
    c.cmd("TOP 2 0")
    c.multi()
    r = quit_(c)
    check(b"1 message deleted" in r, "QUIT: %r" % r)
    check_eq(names(u), all4[1:], "the RETRieved one deleted at QUIT")
    # the last messages, read ahead by the session: both deleted
    c = login(d, "alice")
    for n in (1, 2, 3):
        retr(c, n)
    r = quit_(c)
    check(b"3 messages deleted" in r, "QUIT: %r" % r)
    check_eq(names(u), [], "all RETRieved, all deleted")


@test("expire_domain_override_only_its_domain")
def t_domain(ctx):
    need_hooks(ctx)
    d = U.Daemon(ctx, "exdom", prefork=1, extra_conf={
        "expire_domain": "short.test 1"})
    a = maildir_user(d, "a@short.test", [b"m1"])
    b = maildir_user(d, "b@other.test", [b"m1"])
    d.start()
    for user in ("a@short.test", "b@other.test"):
        c = login(d, user)
        retr(c, 1)
        quit_(c)
    set_clock(a, a.maildir, DAY + 1)
    set_clock(b, b.maildir, DAY + 1)
    c = login(d, "a@short.test")
    check_eq(count(c), 0, "a@short.test: expired after a day")
    quit_(c)
    c = login(d, "b@other.test")
    check_eq(count(c), 1, "b@other.test: never expires")
    quit_(c)
    check_eq(len(a.files()), 0, "a's message file gone")
    check_eq(len(b.files()), 1, "b's message file kept")
