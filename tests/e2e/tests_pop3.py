"""Protocol tests: poplib basics, errors, pipelining, deletion, locking,
authentication, the summary log line."""
import hashlib
import os
import poplib
import re
import stat
import time

import e2e_util as U
from e2e_util import check, check_eq
from registry import test

PW_ALICE = "Alice-e2e-pw-4417"
PW_BOB = "Bob-plain-e2e-9923"
PW_WRONG = "Wrong-e2e-pw-0661"


def big_message():
    lines = [b"From: big@example.org", b"Subject: one megabyte", b""]
    i = 0
    size = 0
    while size < (1 << 20):
        if i % 997 == 0:
            line = b"." * (i % 3 + 1) + b" dot line %d" % i
        else:
            line = b"line %07d the quick brown fox jumps over the lazy dog" % i
        lines.append(line)
        size += len(line) + 1
        i += 1
    return b"\n".join(lines) + b"\n"


# (unique, content, subdir, flags); sorted by unique = message order
MESSAGES = [
    ("1700000001.M1P100.e2e",
     b"From: a@example.org\nSubject: lf endings\n\nline one\nline two\n"
     b"line three\n", "cur", "2,S"),
    ("1700000002.M2P100.e2e",
     b"From: a@example.org\r\nSubject: crlf endings\r\n\r\nbody one\r\n"
     b"body two\r\nbody three\r\n", "new", None),
    ("1700000003.M3P100.e2e",
     b"From: a@example.org\nSubject: dot lines\n\n.\n..\n.hidden\nx.\n"
     b"...\n.\n", "cur", "2,"),
    ("1700000004.M4P100.e2e",
     b"From: a@example.org\nSubject: no trailing newline\n\nfirst\n"
     b"no newline at end", "new", None),
    ("1700000005.M5P100.e2e",
     b"From: a@example.org\nSubject: empty body\n\n", "new", None),
    ("1700000006.M6P100.e2e", big_message(), "new", None),
    ("1700000007.M7P100.e2e", b"", "new", None),
]


def std_daemon(ctx, name="basic", messages=MESSAGES, plain_user=False,
               extra_conf=None, prefork=2, start=True):
    if plain_user:
        # bob's {PLAIN} secret is for APOP and CRAM-MD5, which auto
        # does not offer beside alice's crypt(3) hash and PAM
        extra_conf = dict({"auth_mechanisms": U.ALL_MECHS},
                          **(extra_conf or {}))
    d = U.Daemon(ctx, name, extra_conf=extra_conf, prefork=prefork)
    u = d.add_user("alice", PW_ALICE)
    for uniq, content, sub, flags in messages:
        u.deliver(uniq, content, sub, flags)
    if plain_user:
        d.add_user("bob", PW_BOB, sysuser="pptest2", plain=True)
    if start:
        d.start()
    return d, u


def small_msgs(n, tag="m"):
    out = []
    for i in range(1, n + 1):
        out.append(("17100000%02d.M%dP7.e2e" % (i, i),
                    b"From: x@example.org\nSubject: %s %d\n\nbody of %s %d\n"
                    % (tag.encode(), i, tag.encode(), i), "new", None))
    return out


def expected_top(content, n):
    wire = U.to_wire(content)
    if not wire:
        return b""
    lines = wire[:-2].split(b"\r\n")
    try:
        sep = lines.index(b"")
    except ValueError:
        return wire
    keep = lines[:sep + 1 + n]
    return b"\r\n".join(keep) + b"\r\n"


# ---------------------------------------------------------------------
# 1. poplib basics

@test("basic_greeting_no_apop_stamp")
def t_greeting(ctx):
    d, u = std_daemon(ctx)
    p = poplib.POP3(U.HOST, d.port, timeout=10)
    try:
        check_eq(p.getwelcome(), b"+OK privpop ready.", "greeting")
    finally:
        p.quit()


@test("basic_capa_exact")
def t_capa(ctx):
    """CAPA lists exactly what is implemented: SASL with the mechanisms
    this user database can do (no stored secrets here, so no CRAM-MD5),
    no STLS without a certificate; after login no USER and no SASL."""
    want = {"TOP", "USER", "UIDL", "RESP-CODES", "PIPELINING",
            "AUTH-RESP-CODE", "IMPLEMENTATION", "SASL", "EXPIRE",
            "UTF8", "LANG"}
    d, u = std_daemon(ctx)
    with d.connect() as c:
        c.resp()
        r = c.cmd("CAPA")
        check(r.startswith(b"+OK"), "CAPA: %r" % r)
        body = c.multi()
        lines = body.split(b"\r\n")[:-1]
        names = [l.split(b" ")[0].decode() for l in lines]
        check_eq(sorted(names), sorted(want), "CAPA capabilities")
        check("STLS" not in names, "STLS without a certificate")
        check(b"SASL PLAIN LOGIN" in lines, "SASL line %r" % lines)
        # RFC 2449: privpop deletes nothing unless expire is set
        check(b"EXPIRE NEVER" in lines, "EXPIRE line %r" % lines)
        impl = [l for l in lines if l.startswith(b"IMPLEMENTATION ")]
        check(len(impl) == 1 and len(impl[0]) > 15, "IMPLEMENTATION %r"
              % impl)
        c.cmd("QUIT")
    # and through poplib, before and after login
    p = poplib.POP3(U.HOST, d.port, timeout=10)
    try:
        caps = p.capa()
        check(set(caps) == want, "poplib capa %r" % caps)
        check(caps["SASL"] == ["PLAIN", "LOGIN"], "SASL %r" % caps["SASL"])
        p.user("alice")
        p.pass_(PW_ALICE)
        caps = p.capa()
        check(set(caps) == want - {"USER", "SASL"}, "capa after login %r"
              % caps)
    finally:
        p.quit()


@test("basic_poplib_login_stat_list_uidl")
def t_poplib(ctx):
    d, u = std_daemon(ctx)
    p = poplib.POP3(U.HOST, d.port, timeout=10)
    try:
        check(p.user("alice").startswith(b"+OK"), "USER")
        r = p.pass_(PW_ALICE)
        check(r.startswith(b"+OK"), "PASS %r" % r)
        count, total = p.stat()
        check_eq(count, len(MESSAGES), "STAT count")
        exp_sizes = [len(U.to_wire(m[1])) for m in MESSAGES]
        check_eq(total, sum(exp_sizes), "STAT octets (CRLF message sizes)")
        resp, listing, _ = p.list()
        got = [tuple(int(x) for x in l.split()) for l in listing]
        check_eq(got, [(i + 1, s) for i, s in enumerate(exp_sizes)], "LIST")
        resp, uidls, _ = p.uidl()
        got = [l.decode().split() for l in uidls]
        check_eq(got, [[str(i + 1), m[0]] for i, m in enumerate(MESSAGES)],
                 "UIDL")
        # poplib's own octet count (unstuffed, CRLF) matches the size
        for i, m in enumerate(MESSAGES):
            resp, lines, octets = p.retr(i + 1)
            check_eq(octets, exp_sizes[i], "poplib octets of RETR %d"
                     % (i + 1))
            want = U.to_wire(m[1])
            check_eq(b"".join(l + b"\r\n" for l in lines), want,
                     "poplib RETR %d content" % (i + 1))
    finally:
        p.quit()


@test("basic_sizes_equal_retr_message_octets")
def t_sizes_unstuffed(ctx):
    """LIST/STAT size == octets of the message RETR delivers (CRLF line
    ends, after removing the dot-stuffing, without the terminator)."""
    d, u = std_daemon(ctx)
    with d.session("alice") as c:
        total = 0
        for i, m in enumerate(MESSAGES, 1):
            r = c.cmd("LIST %d" % i)
            mm = re.match(rb"\+OK (\d+) (\d+)\r\n$", r)
            check(mm and int(mm.group(1)) == i, "LIST %d: %r" % (i, r))
            size = int(mm.group(2))
            r = c.cmd("RETR %d" % i)
            raw = c.multi()
            check_eq(r, b"+OK %d octets\r\n" % size, "RETR %d status" % i)
            check_eq(size, len(U.unstuff(raw)),
                     "LIST size of msg %d vs RETR octets after unstuffing"
                     % i)
            total += size
        r = c.cmd("STAT")
        check_eq(r, b"+OK %d %d\r\n" % (len(MESSAGES), total), "STAT")
        c.cmd("QUIT")


@test("basic_retr_byte_exact")
def t_retr_exact(ctx):
    d, u = std_daemon(ctx)
    with d.session("alice") as c:
        for i, m in enumerate(MESSAGES, 1):
            r = c.cmd("RETR %d" % i)
            check(r.startswith(b"+OK "), "RETR %d: %r" % (i, r))
            raw = c.multi()
            want = U.to_wire(m[1])
            check_eq(raw, U.dot_stuff(want), "RETR %d raw wire bytes" % i)
            check_eq(U.unstuff(raw), want, "RETR %d unstuffed" % i)
        c.cmd("QUIT")
    # nothing was changed on disk by reading
    for uniq, content, sub, flags in MESSAGES:
        name = uniq if flags is None else uniq + ":" + flags
        with open(os.path.join(u.maildir, sub, name), "rb") as f:
            check(f.read() == content, "file %s changed" % name)


@test("basic_top")
def t_top(ctx):
    d, u = std_daemon(ctx)
    with d.session("alice") as c:
        for i in (1, 2, 3, 4, 5, 6, 7):
            content = MESSAGES[i - 1][1]
            for n in (0, 2):
                r = c.cmd("TOP %d %d" % (i, n))
                check(r.startswith(b"+OK"), "TOP %d %d: %r" % (i, n, r))
                raw = c.multi()
                check_eq(U.unstuff(raw), expected_top(content, n),
                         "TOP %d %d" % (i, n))
        r = c.cmd("TOP 1 99999999999")
        check(r.startswith(b"+OK"), "TOP huge: %r" % r)
        check_eq(U.unstuff(c.multi()), U.to_wire(MESSAGES[0][1]),
                 "TOP 1 huge = whole message")
        check(c.cmd("TOP 1").startswith(b"-ERR"), "TOP without count")
        check(c.cmd("TOP 1 -1").startswith(b"-ERR"), "TOP 1 -1")
        check(c.cmd("NOOP") == b"+OK\r\n", "NOOP after TOP errors")
        c.cmd("QUIT")


@test("basic_uidl_list_single_forms")
def t_uidl(ctx):
    d, u = std_daemon(ctx)
    with d.session("alice") as c:
        r = c.cmd("UIDL")
        check(r.startswith(b"+OK"), "UIDL %r" % r)
        body = c.multi()
        want = b"".join(b"%d %s\r\n" % (i, m[0].encode())
                        for i, m in enumerate(MESSAGES, 1))
        check_eq(body, want, "UIDL listing")
        for i, m in enumerate(MESSAGES, 1):
            check_eq(c.cmd("UIDL %d" % i), b"+OK %d %s\r\n"
                     % (i, m[0].encode()), "UIDL %d" % i)
            check_eq(c.cmd("LIST %d" % i), b"+OK %d %d\r\n"
                     % (i, len(U.to_wire(m[1]))), "LIST %d" % i)
        r = c.cmd("LIST")
        check(r.startswith(b"+OK"), "LIST %r" % r)
        check_eq(c.multi(), b"".join(b"%d %d\r\n" % (i, len(U.to_wire(m[1])))
                                     for i, m in enumerate(MESSAGES, 1)),
                 "LIST listing")
        c.cmd("QUIT")


@test("basic_commands_case_insensitive")
def t_case(ctx):
    d, u = std_daemon(ctx, messages=MESSAGES[:2])
    with d.connect() as c:
        c.resp()
        check(c.cmd("user alice").startswith(b"+OK"), "user")
        check(c.cmd("pAsS " + PW_ALICE).startswith(b"+OK"), "pAsS")
        s1 = len(U.to_wire(MESSAGES[0][1]))
        s2 = len(U.to_wire(MESSAGES[1][1]))
        check_eq(c.cmd("stat"), b"+OK 2 %d\r\n" % (s1 + s2), "stat")
        r = c.cmd("LiSt")
        check(r.startswith(b"+OK"), "LiSt %r" % r)
        check_eq(c.multi(), b"1 %d\r\n2 %d\r\n" % (s1, s2), "LiSt body")
        check_eq(c.cmd("uidl 2"), b"+OK 2 %s\r\n" % MESSAGES[1][0].encode(),
                 "uidl 2")
        check(c.cmd("rEtR 1").startswith(b"+OK"), "rEtR")
        check_eq(U.unstuff(c.multi()), U.to_wire(MESSAGES[0][1]), "rEtR body")
        check_eq(c.cmd("noop"), b"+OK\r\n", "noop")
        check(c.cmd("quit").startswith(b"+OK"), "quit")
        check(c.is_closed(), "closed after quit")


# ---------------------------------------------------------------------
# 2. errors

@test("err_bad_message_numbers")
def t_bad_msgno(ctx):
    d, u = std_daemon(ctx, messages=MESSAGES[:2])
    with d.session("alice") as c:
        for arg in ("0", "99", "-1", "abc", "99999999999999999999999",
                    "4294967296", "1x", ""):
            for verb in ("RETR", "DELE", "LIST", "UIDL", "TOP"):
                if verb in ("LIST", "UIDL") and arg == "":
                    continue
                line = "%s %s" % (verb, arg) if arg else verb
                if verb == "TOP" and arg:
                    line += " 1"
                r = c.cmd(line)
                check(r.startswith(b"-ERR"), "%r -> %r" % (line, r))
            check_eq(c.cmd("NOOP"), b"+OK\r\n", "NOOP after RETR %s" % arg)
        s = sum(len(U.to_wire(m[1])) for m in MESSAGES[:2])
        check_eq(c.cmd("STAT"), b"+OK 2 %d\r\n" % s, "STAT afterwards")
        check(c.cmd("QUIT").startswith(b"+OK"), "QUIT")
    check_eq(len(u.files()), 2, "files on disk (nothing deleted)")


@test("err_dele_twice_and_retr_deleted")
def t_dele_twice(ctx):
    d, u = std_daemon(ctx, messages=MESSAGES[:2])
    with d.session("alice") as c:
        check(c.cmd("DELE 1").startswith(b"+OK"), "first DELE 1")
        r = c.cmd("DELE 1")
        check(r.startswith(b"-ERR"), "second DELE 1: %r" % r)
        r = c.cmd("RETR 1")
        check(r.startswith(b"-ERR"), "RETR of deleted: %r" % r)
        r = c.cmd("TOP 1 0")
        check(r.startswith(b"-ERR"), "TOP of deleted: %r" % r)
        r = c.cmd("LIST 1")
        check(r.startswith(b"-ERR"), "LIST of deleted: %r" % r)
        r = c.cmd("LIST")
        check(r.startswith(b"+OK"), "LIST %r" % r)
        check_eq(c.multi(), b"2 %d\r\n" % len(U.to_wire(MESSAGES[1][1])),
                 "LIST omits the deleted message")
        check_eq(c.cmd("STAT"), b"+OK 1 %d\r\n" % len(U.to_wire(
            MESSAGES[1][1])), "STAT after DELE")
        check(c.cmd("RETR 2").startswith(b"+OK"), "RETR 2")
        c.multi()
        c.cmd("QUIT")


@test("stat_follows_dele_and_rset")
def t_stat_dele_rset(ctx):
    # STAT is answered from the store's own answers (login, DELE, RSET):
    # every step must still agree with the messages left.
    d, u = std_daemon(ctx)
    sizes = [len(U.to_wire(m[1])) for m in MESSAGES]

    def want(alive):
        return b"+OK %d %d\r\n" % (len(alive), sum(sizes[i - 1]
                                                   for i in alive))
    alive = list(range(1, len(MESSAGES) + 1))
    with d.session("alice") as c:
        check_eq(c.cmd("STAT"), want(alive), "STAT after login")
        for n in (6, 1, 7):
            check(c.cmd("DELE %d" % n).startswith(b"+OK"), "DELE %d" % n)
            alive.remove(n)
            check_eq(c.cmd("STAT"), want(alive), "STAT after DELE %d" % n)
        check(c.cmd("DELE 6").startswith(b"-ERR"), "DELE 6 twice")
        check(c.cmd("DELE 99").startswith(b"-ERR"), "DELE 99")
        check_eq(c.cmd("STAT"), want(alive), "STAT after refused DELEs")
        alive = list(range(1, len(MESSAGES) + 1))
        check_eq(c.cmd("RSET"), b"+OK %d messages (%d octets).\r\n" % (
            len(alive), sum(sizes)), "RSET")
        check_eq(c.cmd("STAT"), want(alive), "STAT after RSET")
        check(c.cmd("DELE 2").startswith(b"+OK"), "DELE 2")
        alive.remove(2)
        check_eq(c.cmd("STAT"), want(alive), "STAT after RSET and DELE 2")
        check_eq(c.cmd("QUIT"), b"+OK Logging out, 1 message deleted.\r\n",
                 "QUIT")
    with d.session("alice") as c:
        check_eq(c.cmd("STAT"), want(alive), "STAT in the next session")
        c.cmd("QUIT")


@test("err_authorization_state")
def t_auth_state(ctx):
    d, u = std_daemon(ctx, messages=MESSAGES[:1])
    with d.connect() as c:
        c.resp()
        for line in ("STAT", "LIST", "RETR 1", "DELE 1", "NOOP", "RSET"):
            r = c.cmd(line)
            check(r.startswith(b"-ERR"), "%s before login: %r" % (line, r))
        r = c.cmd("PASS " + PW_ALICE)
        check(r.startswith(b"-ERR"), "PASS without USER: %r" % r)
        for line in ("FOO", "XYZZY 1", "RETRX 1", "AB", "12345"):
            r = c.cmd(line)
            check(r.startswith(b"-ERR"), "unknown command %r: %r" % (line, r))
        # USER then another command then PASS: PASS must follow USER
        check(c.cmd("USER alice").startswith(b"+OK"), "USER")
        check(c.cmd("CAPA").startswith(b"+OK"), "CAPA")
        c.multi()
        r = c.cmd("PASS " + PW_ALICE)
        check(r.startswith(b"-ERR"), "PASS not directly after USER: %r" % r)
        # the session still works
        check(c.cmd("USER alice").startswith(b"+OK"), "USER again")
        check(c.cmd("PASS " + PW_ALICE).startswith(b"+OK"), "login")
        r = c.cmd("FOO")
        check(r.startswith(b"-ERR"), "unknown command in TRANSACTION %r" % r)
        check(c.cmd("USER alice").startswith(b"-ERR"), "USER after login")
        check(c.cmd("STAT").startswith(b"+OK 1 "), "STAT")
        c.cmd("QUIT")


@test("err_nul_byte")
def t_nul(ctx):
    d, u = std_daemon(ctx, messages=MESSAGES[:1])
    with d.connect() as c:
        c.resp()
        r = c.cmd(b"USER al\x00ice")
        check(r.startswith(b"-ERR"), "NUL in USER line: %r" % r)
        check(c.cmd("USER alice").startswith(b"+OK"), "USER")
        check(c.cmd("PASS " + PW_ALICE).startswith(b"+OK"), "PASS")
        r = c.cmd(b"NO\x00OP")
        check(r.startswith(b"-ERR"), "NUL in NOOP: %r" % r)
        r = c.cmd(b"\x00")
        check(r.startswith(b"-ERR"), "lone NUL: %r" % r)
        check_eq(c.cmd("NOOP"), b"+OK\r\n", "NOOP after NUL lines")
        c.cmd("QUIT")


@test("err_line_255_octets_accepted")
def t_line255(ctx):
    d, u = std_daemon(ctx, messages=MESSAGES[:1])
    with d.connect() as c:
        c.resp()
        line = b"USER " + b"u" * 248 + b"\r\n"
        check_eq(len(line), 255, "test line length")
        c.send(line)
        r = c.resp()
        check(r.startswith(b"-ERR") and b"too long" not in r.lower(),
              "255-octet USER line (name over 128) got %r; want a normal "
              "answer" % r)
        check(c.cmd("USER alice").startswith(b"+OK"), "USER")
        line = b"PASS " + PW_ALICE.encode() + b"\r\n"
        c.send(line)
        check(c.resp().startswith(b"+OK"), "PASS")
        line = b"NOOP" + b" " * 249 + b"\r\n"
        check_eq(len(line), 255, "test line length")
        c.send(line)
        check_eq(c.resp(), b"+OK\r\n", "255-octet NOOP line")
        line = b"LIST 1" + b" " * 247 + b"\r\n"
        check_eq(len(line), 255, "test line length")
        c.send(line)
        r = c.resp()
        check(re.match(rb"\+OK 1 \d+\r\n$", r), "255-octet LIST 1: %r" % r)
        c.cmd("QUIT")


@test("err_line_too_long_one_error")
def t_line_long(ctx):
    d, u = std_daemon(ctx, messages=MESSAGES[:2])
    size = sum(len(U.to_wire(m[1])) for m in MESSAGES[:2])
    with d.session("alice") as c:
        for n in (256, 300, 511, 512, 513, 1000, 10000):
            # A line that would hold commands if it were split anywhere.
            body = (b"NOOP " + b"DELE 1\r" * 2000)[:n - 2]
            line = body + b"\r\n"
            check_eq(len(line), n, "test line length")
            # separate writes
            c.send(line)
            r = c.resp()
            check(r.startswith(b"-ERR"), "%d-octet line: %r" % (n, r))
            check_eq(c.cmd("NOOP"), b"+OK\r\n",
                     "NOOP right after a %d-octet line" % n)
            # one write: long line, NOOP, STAT
            c.send(line + b"NOOP\r\nSTAT\r\n")
            got = [c.resp() for _ in range(3)]
            check(got[0].startswith(b"-ERR"), "%d-octet line (pipelined): "
                  "%r" % (n, got))
            check_eq(got[1:], [b"+OK\r\n", b"+OK 2 %d\r\n" % size],
                     "answers after a pipelined %d-octet line" % n)
        # bare LF terminated too
        c.send(b"X" * 5000 + b"\nNOOP\r\n")
        r1, r2 = c.resp(), c.resp()
        check(r1.startswith(b"-ERR") and r2 == b"+OK\r\n",
              "5000-octet LF line then NOOP: %r %r" % (r1, r2))
        check_eq(c.cmd("QUIT"), b"+OK Logging out, 0 messages deleted.\r\n",
                 "QUIT deletes nothing")
    check_eq(len(u.files()), 2, "files on disk")


@test("err_line_too_long_slow_writes")
def t_line_long_slow(ctx):
    d, u = std_daemon(ctx, messages=MESSAGES[:1])
    with d.session("alice") as c:
        # an overlong line dribbled in pieces across reads
        for piece in (b"NOOP " + b"a" * 200, b"b" * 200, b"c" * 300,
                      b"DELE 1", b"\r\n"):
            c.send(piece)
            time.sleep(0.05)
        r = c.resp()
        check(r.startswith(b"-ERR"), "dribbled long line: %r" % r)
        check_eq(c.cmd("NOOP"), b"+OK\r\n", "NOOP after the dribbled line")
        check_eq(c.cmd("QUIT"), b"+OK Logging out, 0 messages deleted.\r\n",
                 "QUIT deletes nothing")
    check_eq(len(u.files()), 1, "files on disk")


# ---------------------------------------------------------------------
# 3. pipelining

@test("pipelining_one_write")
def t_pipelining(ctx):
    d, u = std_daemon(ctx, messages=MESSAGES[:3])
    sizes = [len(U.to_wire(m[1])) for m in MESSAGES[:3]]
    with d.connect() as c:
        g = c.resp()
        check(g.startswith(b"+OK"), "greeting %r" % g)
        c.send(("USER alice\r\nPASS %s\r\nSTAT\r\nLIST\r\nUIDL\r\nRETR 1\r\n"
                "NOOP\r\nQUIT\r\n" % PW_ALICE).encode())
        check_eq(c.resp(), b"+OK\r\n", "USER")
        r = c.resp()
        check(r.startswith(b"+OK Logged in"), "PASS %r" % r)
        check_eq(c.resp(), b"+OK 3 %d\r\n" % sum(sizes), "STAT")
        r = c.resp()
        check(r.startswith(b"+OK"), "LIST %r" % r)
        check_eq(c.multi(), b"".join(b"%d %d\r\n" % (i, s)
                                     for i, s in enumerate(sizes, 1)),
                 "LIST body")
        r = c.resp()
        check(r.startswith(b"+OK"), "UIDL %r" % r)
        check_eq(c.multi(), b"".join(b"%d %s\r\n" % (i, m[0].encode())
                                     for i, m in enumerate(MESSAGES[:3], 1)),
                 "UIDL body")
        check_eq(c.resp(), b"+OK %d octets\r\n" % sizes[0], "RETR 1")
        check_eq(c.multi(), U.dot_stuff(U.to_wire(MESSAGES[0][1])),
                 "RETR 1 body")
        check_eq(c.resp(), b"+OK\r\n", "NOOP")
        r = c.resp()
        check(r.startswith(b"+OK"), "QUIT %r" % r)
        rest = c.read_until_eof(5)
        check_eq(rest, b"", "data after QUIT")


@test("pipelining_bodies_back_to_back")
def t_pipelining_bodies(ctx):
    # Bodies of every size in one batch: the 1 MB one spans several
    # regions of the store's memfd, the empty one is a region of its
    # own, and each answer's last region is released only by the next
    # request.  Every byte must still arrive in order.
    d, u = std_daemon(ctx)
    order = [6, 7, 6, 1, 3, 7, 4, 6, 2, 5]
    with d.session("alice") as c:
        batch = b"".join(b"RETR %d\r\n" % i for i in order)
        batch += b"TOP 6 5\r\nTOP 7 0\r\nRETR 6\r\nNOOP\r\n"
        c.send(batch)
        for i in order:
            content = MESSAGES[i - 1][1]
            want = U.to_wire(content)
            check_eq(c.resp(), b"+OK %d octets\r\n" % len(want),
                     "RETR %d answer" % i)
            check_eq(c.multi(), U.dot_stuff(want), "RETR %d body" % i)
        for i, n in ((6, 5), (7, 0)):
            r = c.resp()
            check(r.startswith(b"+OK"), "TOP %d %d: %r" % (i, n, r))
            check_eq(U.unstuff(c.multi()),
                     expected_top(MESSAGES[i - 1][1], n), "TOP %d %d" % (i, n))
        want = U.to_wire(MESSAGES[5][1])
        check_eq(c.resp(), b"+OK %d octets\r\n" % len(want), "last RETR 6")
        check_eq(c.multi(), U.dot_stuff(want), "last RETR 6 body")
        check_eq(c.resp(), b"+OK\r\n", "NOOP after the bodies")
        check_eq(c.cmd("QUIT"), b"+OK Logging out, 0 messages deleted.\r\n",
                 "QUIT")


@test("pipelining_many_commands")
def t_pipelining_many(ctx):
    d, u = std_daemon(ctx, messages=MESSAGES[:3])
    sizes = [len(U.to_wire(m[1])) for m in MESSAGES[:3]]
    with d.session("alice") as c:
        n = 300
        batch = b"".join(b"NOOP\r\nLIST %d\r\n" % (i % 3 + 1)
                         for i in range(n))
        c.send(batch + b"STAT\r\n")
        for i in range(n):
            check_eq(c.resp(), b"+OK\r\n", "NOOP #%d" % i)
            k = i % 3 + 1
            check_eq(c.resp(), b"+OK %d %d\r\n" % (k, sizes[k - 1]),
                     "LIST %d #%d" % (k, i))
        check_eq(c.resp(), b"+OK 3 %d\r\n" % sum(sizes), "STAT")
        check_eq(c.cmd("QUIT"), b"+OK Logging out, 0 messages deleted.\r\n",
                 "QUIT")


# ---------------------------------------------------------------------
# 4. deletion

@test("dele_quit_removes_file")
def t_dele_quit(ctx):
    d, u = std_daemon(ctx, messages=MESSAGES[:3])
    before = u.files()
    with d.session("alice") as c:
        check(c.cmd("DELE 2").startswith(b"+OK"), "DELE 2")
        check(os.path.exists(before["new/" + MESSAGES[1][0]]),
              "file removed before QUIT")
        r = c.cmd("QUIT")
        check_eq(r, b"+OK Logging out, 1 message deleted.\r\n", "QUIT")
        check(c.is_closed(), "closed after QUIT")
    after = u.files()
    check("new/" + MESSAGES[1][0] not in after, "message 2 still on disk")
    check_eq(sorted(after), sorted(k for k in before
                                   if k != "new/" + MESSAGES[1][0]),
             "remaining files")


@test("dele_then_disconnect_keeps_file")
def t_dele_drop(ctx):
    d, u = std_daemon(ctx, messages=MESSAGES[:2])
    before = u.files()
    c = d.session("alice")
    check(c.cmd("DELE 1").startswith(b"+OK"), "DELE 1")
    check(c.cmd("DELE 2").startswith(b"+OK"), "DELE 2")
    c.close()
    check(d.wait_log(r"user=alice .*end=disconnect", 5),
          "no end=disconnect summary")
    # the worker would have applied a deletion before it exits: wait
    # (bounded) for that, not for a fixed time
    check(U.wait_until(lambda: not U.store_workers(d.pid()), 5),
          "privpop-store still runs after the session ended")
    check_eq(sorted(u.files()), sorted(before), "files after a dropped "
             "connection")
    with d.session("alice") as c2:
        check(c2.cmd("STAT").startswith(b"+OK 2 "), "next session STAT")
        c2.cmd("QUIT")


@test("dele_rset_quit_keeps_file")
def t_dele_rset(ctx):
    d, u = std_daemon(ctx, messages=MESSAGES[:2])
    before = u.files()
    with d.session("alice") as c:
        check(c.cmd("DELE 1").startswith(b"+OK"), "DELE 1")
        r = c.cmd("RSET")
        check(r.startswith(b"+OK"), "RSET %r" % r)
        check(c.cmd("RETR 1").startswith(b"+OK"), "RETR 1 after RSET")
        c.multi()
        check_eq(c.cmd("QUIT"), b"+OK Logging out, 0 messages deleted.\r\n",
                 "QUIT")
    check_eq(sorted(u.files()), sorted(before), "files after RSET+QUIT")


@test("dele_new_mail_during_session_survives")
def t_new_mail(ctx):
    d, u = std_daemon(ctx, messages=MESSAGES[:2])
    with d.session("alice") as c:
        check(c.cmd("STAT").startswith(b"+OK 2 "), "STAT")
        late = b"From: late@example.org\nSubject: late\n\narrived late\n"
        path = u.deliver("1799999999.M9P9.e2e", late, "new")
        check(c.cmd("DELE 1").startswith(b"+OK"), "DELE 1")
        check(c.cmd("DELE 2").startswith(b"+OK"), "DELE 2")
        check(c.cmd("DELE 3").startswith(b"-ERR"), "DELE 3 (not in the "
              "session's listing)")
        check_eq(c.cmd("QUIT"), b"+OK Logging out, 2 messages deleted.\r\n",
                 "QUIT")
    check(os.path.exists(path), "the late message was deleted")
    check_eq(list(u.files()), ["new/1799999999.M9P9.e2e"], "files on disk")
    with d.session("alice") as c:
        check_eq(c.cmd("STAT"), b"+OK 1 %d\r\n" % len(U.to_wire(late)),
                 "next STAT")
        check_eq(c.cmd("UIDL 1"), b"+OK 1 1799999999.M9P9.e2e\r\n", "UIDL")
        c.cmd("RETR 1")
        check_eq(U.unstuff(c.multi()), U.to_wire(late), "RETR late")
        c.cmd("QUIT")


# ---------------------------------------------------------------------
# 5. [IN-USE]

@test("in_use_lock")
def t_in_use(ctx):
    d, u = std_daemon(ctx, messages=MESSAGES[:2], prefork=3)
    a = d.session("alice")
    try:
        check(a.cmd("DELE 1").startswith(b"+OK"), "A DELE 1")
        with d.connect() as b:
            b.resp()
            check(b.cmd("USER alice").startswith(b"+OK"), "B USER")
            r = b.cmd("PASS " + PW_ALICE)
            check(r.startswith(b"-ERR [IN-USE]"), "B PASS: %r" % r)
            b.is_closed(3)
        check_eq(a.cmd("NOOP"), b"+OK\r\n", "A still works")
        check_eq(a.cmd("QUIT"), b"+OK Logging out, 1 message deleted.\r\n",
                 "A QUIT")
        a.is_closed(3)
    finally:
        a.close()
    with d.connect() as b:
        b.resp()
        b.cmd("USER alice")
        r = b.cmd("PASS " + PW_ALICE)
        check(r.startswith(b"+OK"), "B login after A quit: %r" % r)
        check_eq(b.cmd("STAT"), b"+OK 1 %d\r\n" % len(U.to_wire(
            MESSAGES[1][1])), "B STAT")
        b.cmd("QUIT")


@test("in_use_is_per_mailbox_concurrent_users")
def t_two_users(ctx):
    d, u = std_daemon(ctx, messages=MESSAGES[:2], plain_user=True, prefork=3)
    bob = d.users["bob"]
    bob.deliver("1733333333.M1P1.e2e", MESSAGES[2][1], "new")
    a = d.session("alice")
    b = d.session("bob")
    try:
        check_eq(a.cmd("UIDL 1"), b"+OK 1 %s\r\n" % MESSAGES[0][0].encode(),
                 "alice UIDL 1")
        check_eq(b.cmd("UIDL 1"), b"+OK 1 1733333333.M1P1.e2e\r\n",
                 "bob UIDL 1")
        check(b.cmd("LIST 2").startswith(b"-ERR"), "bob has one message")
        b.cmd("RETR 1")
        check_eq(U.unstuff(b.multi()), U.to_wire(MESSAGES[2][1]), "bob RETR")
        check(a.cmd("DELE 2").startswith(b"+OK"), "alice DELE 2")
        check_eq(b.cmd("QUIT"), b"+OK Logging out, 0 messages deleted.\r\n",
                 "bob QUIT")
        check_eq(a.cmd("QUIT"), b"+OK Logging out, 1 message deleted.\r\n",
                 "alice QUIT")
    finally:
        a.close()
        b.close()
    check_eq(len(u.files()), 1, "alice's files")
    check_eq(len(bob.files()), 1, "bob's files")


# ---------------------------------------------------------------------
# 6. authentication

@test("auth_wrong_password_same_as_unknown_user")
def t_auth_same(ctx):
    d, u = std_daemon(ctx, messages=MESSAGES[:1], plain_user=True)
    answers = {}
    for who, user, pw in (("wrong password", "alice", PW_WRONG),
                          ("wrong plain password", "bob", PW_WRONG),
                          ("unknown user", "nosuchuser", PW_WRONG),
                          ("unknown user, real password", "nobody2",
                           PW_ALICE)):
        with d.connect() as c:
            c.resp()
            check_eq(c.cmd("USER " + user), b"+OK\r\n", "USER %s" % user)
            t0 = time.monotonic()
            r = c.cmd("PASS " + pw)
            answers[who] = r
            check(r.startswith(b"-ERR [AUTH]"), "%s: %r" % (who, r))
            check(time.monotonic() - t0 >= 0.09,
                  "%s answered before auth_fail_delay_ms" % who)
            c.cmd("QUIT")
    check(len(set(answers.values())) == 1, "answers differ: %r" % answers)


@test("auth_long_and_spaced_passwords")
def t_long_pw(ctx):
    """RFC 1939: spaces may be part of a password; PASS + 248-octet
    password is a 255-octet line, the longest allowed."""
    d = U.Daemon(ctx, "longpw")
    long_pw = ("L0ng-" * 60)[:248]
    d.add_user("carol", long_pw)
    d.add_user("dave", "pass with  two spaces")
    d.start()
    with d.connect() as c:
        c.resp()
        c.cmd("USER carol")
        line = b"PASS " + long_pw.encode() + b"\r\n"
        check_eq(len(line), 255, "test line length")
        c.send(line)
        r = c.resp()
        check(r.startswith(b"+OK"), "255-octet PASS line: %r" % r)
        check_eq(c.cmd("STAT"), b"+OK 0 0\r\n", "STAT")
        c.cmd("QUIT")
    with d.connect() as c:
        c.resp()
        c.cmd("USER dave")
        r = c.cmd("PASS pass with  two spaces")
        check(r.startswith(b"+OK"), "password with spaces: %r" % r)
        c.cmd("QUIT")
    with d.connect() as c:
        c.resp()
        c.cmd("USER dave")
        r = c.cmd("PASS pass with two spaces")
        check(r.startswith(b"-ERR [AUTH]"), "wrong spacing accepted: %r" % r)


@test("auth_max_fails_default_closes")
def t_max_fails(ctx):
    d, u = std_daemon(ctx, messages=MESSAGES[:1])
    with d.connect() as c:
        c.resp()
        for i in range(1, 3):
            c.cmd("USER alice")
            r = c.cmd("PASS " + PW_WRONG + str(i))
            check(r.startswith(b"-ERR [AUTH]"), "fail %d: %r" % (i, r))
        check_eq(c.cmd("NOOP")[:4], b"-ERR", "still open after 2 failures")
        c.cmd("USER nosuchuser")
        r = c.cmd("PASS " + PW_WRONG)
        check(r.startswith(b"-ERR [AUTH]"), "fail 3: %r" % r)
        check(c.is_closed(3), "not closed after 3 failures (default "
              "max_auth_fails)")
    # a correct password after two failures still works
    with d.connect() as c:
        c.resp()
        for i in range(2):
            c.cmd("USER alice")
            c.cmd("PASS " + PW_WRONG)
        c.cmd("USER alice")
        r = c.cmd("PASS " + PW_ALICE)
        check(r.startswith(b"+OK"), "login after 2 failures: %r" % r)
        c.cmd("QUIT")


@test("auth_max_fails_configured")
def t_max_fails_conf(ctx):
    d, u = std_daemon(ctx, messages=MESSAGES[:1],
                      extra_conf={"max_auth_fails": "1"})
    with d.connect() as c:
        c.resp()
        c.cmd("USER alice")
        r = c.cmd("PASS " + PW_WRONG)
        check(r.startswith(b"-ERR [AUTH]"), "fail 1: %r" % r)
        check(c.is_closed(3), "not closed after 1 failure "
              "(max_auth_fails = 1)")


def apop_stamp(greeting):
    m = re.search(rb"(<[^<>\s]+@[^<>\s]+>)", greeting)
    return m.group(1) if m else None


@test("auth_apop")
def t_apop(ctx):
    d, u = std_daemon(ctx, messages=MESSAGES[:2], plain_user=True)
    bob = d.users["bob"]
    bob.deliver("1711111111.M1P1.e2e", MESSAGES[0][1], "new")
    with d.connect() as c:
        g = c.resp()
        stamp = apop_stamp(g)
        check(stamp is not None, "no APOP timestamp in %r" % g)
        check(g.startswith(b"+OK ") and g.endswith(stamp + b"\r\n"),
              "greeting %r" % g)
        digest = hashlib.md5(stamp + PW_BOB.encode()).hexdigest()
        r = c.cmd("APOP bob " + digest)
        check(r.startswith(b"+OK"), "APOP bob: %r" % r)
        check_eq(c.cmd("STAT"), b"+OK 1 %d\r\n" % len(U.to_wire(
            MESSAGES[0][1])), "STAT after APOP")
        c.cmd("QUIT")
    # every session has its own stamp; an old digest is useless
    with d.connect() as c:
        g2 = c.resp()
        check(apop_stamp(g2) not in (None, stamp), "stamp reused: %r" % g2)
        r = c.cmd("APOP bob " + digest)
        check(r.startswith(b"-ERR [AUTH]"), "replayed APOP digest: %r" % r)
    # poplib's apop
    p = poplib.POP3(U.HOST, d.port, timeout=10)
    try:
        r = p.apop("bob", PW_BOB)
        check(r.startswith(b"+OK"), "poplib apop %r" % r)
        check_eq(p.stat()[0], 1, "poplib STAT")
    finally:
        p.quit()


@test("auth_apop_wrong_digest")
def t_apop_wrong(ctx):
    d, u = std_daemon(ctx, messages=MESSAGES[:1], plain_user=True)
    with d.connect() as c:
        g = c.resp()
        stamp = apop_stamp(g)
        check(stamp is not None, "no APOP timestamp in %r" % g)
        bad = hashlib.md5(stamp + PW_WRONG.encode()).hexdigest()
        r1 = c.cmd("APOP bob " + bad)
        check(r1.startswith(b"-ERR [AUTH]"), "APOP wrong digest: %r" % r1)
        # a crypt user has no secret for APOP, even with its password
        r2 = c.cmd("APOP alice " + hashlib.md5(stamp + PW_ALICE.encode())
                   .hexdigest())
        check_eq(r2, r1, "APOP for a crypt(3) user")
    with d.connect() as c:
        g = c.resp()
        r = c.cmd("APOP nosuchuser " + "0" * 32)
        check(r.startswith(b"-ERR [AUTH]"), "APOP unknown user: %r" % r)
        c.cmd("USER bob")
        check(c.cmd("PASS " + PW_BOB).startswith(b"+OK"),
              "PASS login of a plain user")
        c.cmd("QUIT")


@test("auth_no_password_in_log_and_failure_logged")
def t_auth_log(ctx):
    d, u = std_daemon(ctx, messages=MESSAGES[:1], plain_user=True,
                      extra_conf={"log_debug": "yes"})
    with d.connect() as c:
        c.resp()
        c.cmd("USER alice")
        check(c.cmd("PASS " + PW_WRONG).startswith(b"-ERR"), "wrong pw")
        c.cmd("USER nosuchuser")
        check(c.cmd("PASS " + PW_ALICE).startswith(b"-ERR"), "unknown user")
    with d.session("alice") as c:
        c.cmd("QUIT")
    with d.session("bob") as c:
        c.cmd("QUIT")
    check(d.wait_log(r"sess=\S+ .*user=bob .*end=quit", 5),
          "no summary for bob")
    log = d.log_text()
    for pw in (PW_ALICE, PW_WRONG, PW_BOB):
        check(pw not in log, "password %r appears in the log" % pw)
    check(re.search(r"login failed: sess=[0-9a-f]{16} "
                    r"addr=127\.0\.0\.1 user=alice", log),
          "failed login of alice not logged with the address")
    check_eq(len(re.findall(r"login failed: sess=[0-9a-f]{16} "
                            r"addr=127\.0\.0\.1 ", log)), 2,
             "failed logins logged with addr=127.0.0.1")


# ---------------------------------------------------------------------
# 12. summary log line

@test("summary_log_line")
def t_summary(ctx):
    d, u = std_daemon(ctx, messages=MESSAGES[:3])
    sizes = [len(U.to_wire(m[1])) for m in MESSAGES[:3]]
    with d.session("alice") as c:
        c.cmd("RETR 1")
        c.multi()
        c.cmd("RETR 3")
        c.multi()
        check(c.cmd("DELE 2").startswith(b"+OK"), "DELE 2")
        check(c.cmd("QUIT").startswith(b"+OK"), "QUIT")
    check(d.wait_log(r"user=alice.*end=quit", 5), "no summary line")
    lines = [l for l in d.log_text().splitlines() if "user=alice" in l and
             "end=" in l]
    check_eq(len(lines), 1, "summary lines for alice")
    line = lines[0]
    for want in ("user=alice", "retr=2/%d" % (sizes[0] + sizes[2]),
                 "dele=1/%d" % sizes[1], "end=quit", "addr=127.0.0.1"):
        check(re.search(r"(^|\s)%s(\s|$)" % re.escape(want), line),
              "summary %r lacks %s" % (line, want))


# ---------------------------------------------------------------------
# 12b. RETR read-ahead: after RETR n the session asks the store for n+1
# before the client does; whatever the client does next, it must get
# exactly what it would have got without.

AHEAD_MSGS = [
    ("17200000%02d.M%dP9.e2e" % (i, i),
     b"From: x@example.org\nSubject: ahead %d\n\n" % i +
     (b".dot line\n" if i % 2 else b"") +
     (b"big line of message %d\n" % i) * (16000 if i == 4 else 3),
     "new", None) for i in range(1, 7)]


def ahead_summary(d, sessions, user="alice"):
    """ahead= of the last summary line, and how many lines there are,
    once there are `sessions` of them (a session logs its summary after
    the client has had its QUIT answer)."""
    def lines():
        return [l for l in d.log_text().splitlines()
                if "user=%s " % user in l and "end=" in l]
    U.wait_until(lambda: len(lines()) >= sessions, 5)
    got = lines()
    check(got, "no summary line")
    m = re.search(r" ahead=(\d+) ", got[-1])
    check(m, "summary without ahead=: %r" % got[-1])
    return int(m.group(1)), len(got)


def retr_exact(c, n, want):
    r = c.cmd("RETR %d" % n)
    check_eq(r, b"+OK %d octets\r\n" % len(U.to_wire(want)),
             "RETR %d status" % n)
    check_eq(c.multi(), U.dot_stuff(U.to_wire(want)), "RETR %d bytes" % n)


@test("retr_ahead_sequences")
def t_retr_ahead(ctx):
    d, u = std_daemon(ctx, "ahead", messages=AHEAD_MSGS)
    body = [m[1] for m in AHEAD_MSGS]
    check(len(body[3]) > 300 * 1024, "message 4 is too large to go ahead")
    # other commands between: a listing keeps the read-ahead, TOP drops
    # it (and the session asks no more)
    with d.session("alice") as c:
        retr_exact(c, 1, body[0])
        check(c.cmd("UIDL").startswith(b"+OK"), "UIDL")
        c.multi()
        check(c.cmd("LIST 2").startswith(b"+OK 2 "), "LIST 2")
        retr_exact(c, 2, body[1])
        r = c.cmd("TOP 3 1")
        check(r.startswith(b"+OK"), "TOP: %r" % r)
        check_eq(U.unstuff(c.multi()), expected_top(body[2], 1), "TOP 3 1")
        retr_exact(c, 3, body[2])
        retr_exact(c, 4, body[3])
        check(c.cmd("QUIT").startswith(b"+OK"), "QUIT")
    check_eq(ahead_summary(d, 1), (1, 1), "RETRs from read-ahead, sessions")
    # a DELE of the message read ahead, then its RETR: deleted; RSET
    # brings it back
    with d.session("alice") as c:
        retr_exact(c, 1, body[0])
        check(c.cmd("DELE 2").startswith(b"+OK"), "DELE 2")
        check_eq(c.cmd("RETR 2"), b"-ERR Message is deleted.\r\n",
                 "RETR of a message deleted after it was read ahead")
        check(c.cmd("RSET").startswith(b"+OK"), "RSET")
        retr_exact(c, 2, body[1])
        check(c.cmd("QUIT").startswith(b"+OK"), "QUIT")
    check_eq(ahead_summary(d, 2), (0, 2), "RETRs from read-ahead, sessions")
    check_eq(len(u.files()), 6, "messages after a session with RSET")
    # pipelined (RFC 2449): three RETRs in one segment
    with d.session("alice") as c:
        c.send(b"RETR 1\r\nRETR 2\r\nRETR 3\r\n")
        for n in (1, 2, 3):
            check_eq(c.resp(), b"+OK %d octets\r\n" %
                     len(U.to_wire(body[n - 1])), "pipelined RETR %d" % n)
            check_eq(c.multi(), U.dot_stuff(U.to_wire(body[n - 1])),
                     "pipelined RETR %d bytes" % n)
        check(c.cmd("QUIT").startswith(b"+OK"), "QUIT")
    check_eq(ahead_summary(d, 3), (2, 3), "RETRs from read-ahead, sessions")
    # fetchmail's flush: RETR n, DELE n; message 4 is too large to be
    # read ahead, so 2, 3, 5 and 6 are
    with d.session("alice") as c:
        for n in range(1, 7):
            retr_exact(c, n, body[n - 1])
            check_eq(c.cmd("DELE %d" % n), b"+OK Message %d deleted.\r\n"
                     % n, "DELE %d" % n)
        check_eq(c.cmd("STAT"), b"+OK 0 0\r\n", "STAT after DELE all")
        check(c.cmd("QUIT").startswith(b"+OK"), "QUIT")
    check_eq(ahead_summary(d, 4), (4, 4), "RETRs from read-ahead, sessions")
    check_eq(u.files(), {}, "messages left after RETR/DELE all and QUIT")


# ---------------------------------------------------------------------
# 13. the Maildir size cache (.privpop-sizes)

SIZE_CACHE = ".privpop-sizes"
SIZE_CACHE_MAGIC = b"privpop-sizes 1\n"

# No ",W=" in any name: every size has to be computed (or cached).
CACHE_MESSAGES = [
    ("1720000001.M1P300.e2e",
     b"From: c@example.org\nSubject: plain lf\n\nline one\nline two\n",
     "new", None),
    # dot lines and bare LF, no final newline: the POP3 size (CRLF, the
    # final CRLF added) is not the file size
    ("1720000002.M2P300.e2e",
     b"From: c@example.org\nSubject: dots\n\n.\n..\n.hidden\n...x\n"
     b"no newline at end", "cur", "2,S"),
    ("1720000003.M3P300.e2e",
     b"From: c@example.org\r\nSubject: crlf\r\n\r\nalready crlf\r\n",
     "new", None),
    ("1720000004.M4P300.e2e", b"", "new", None),
    ("1720000005.M5P300.e2e",
     b"From: c@example.org\nSubject: longer\n\n" +
     b"".join(b".%04d a line of the body\n" % i for i in range(300)),
     "cur", "2,RS"),
]


def list_sizes(c):
    """LIST of the session as [(msgno, size)]."""
    r = c.cmd("LIST")
    check(r.startswith(b"+OK"), "LIST %r" % r)
    out = []
    for line in c.multi().split(b"\r\n")[:-1]:
        m = re.match(rb"(\d+) (\d+)$", line)
        check(m, "LIST line %r" % line)
        out.append((int(m.group(1)), int(m.group(2))))
    return out


def read_size_cache(u):
    """(lstat result, {uidl: size}) of the cache; a failed check when it
    is not a regular file in the cache format with each uidl once."""
    path = os.path.join(u.maildir, SIZE_CACHE)
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        raise U.TestFailure("%s missing in the Maildir" % SIZE_CACHE)
    check(stat.S_ISREG(st.st_mode), "%s is not a regular file" % SIZE_CACHE)
    with open(path, "rb") as f:
        data = f.read(1 << 20)
    check(data.startswith(SIZE_CACHE_MAGIC), "cache starts %r" % data[:40])
    check(data.endswith(b"\n"), "cache does not end with a newline")
    out = {}
    for line in data[len(SIZE_CACHE_MAGIC):].split(b"\n")[:-1]:
        m = re.match(rb"([\x21-\x7e]{1,70}) (\d{1,20})$", line)
        check(m, "cache line %r" % line)
        uidl = m.group(1).decode()
        check(uidl not in out, "uidl %s twice in the cache" % uidl)
        out[uidl] = int(m.group(2))
    return st, out


def write_owned(u, name, data):
    """Replace the file name in the Maildir with data, as the mailbox
    owner's 0600 file (through tmp/: cur/ and new/ keep their mtimes)."""
    tmp = os.path.join(u.maildir, "tmp", "e2e-" + name)
    with open(tmp, "wb") as f:
        f.write(data)
    os.chmod(tmp, 0o600)
    if os.geteuid() == 0:
        os.chown(tmp, u.uid, u.gid)
    os.rename(tmp, os.path.join(u.maildir, name))


def write_size_cache(u, data):
    write_owned(u, SIZE_CACHE, data)


@test("maildir_size_cache")
def t_maildir_size_cache(ctx):
    d, u = std_daemon(ctx, "sizecache", messages=CACHE_MESSAGES)
    wire = {m[0]: len(U.to_wire(m[1])) for m in CACHE_MESSAGES}
    uidls = [m[0] for m in CACHE_MESSAGES]  # message order
    check(all(",W=" not in n for n in u.files()), "a name with ,W=")
    check(wire[uidls[1]] != len(CACHE_MESSAGES[1][1]),
          "test data: the dot message's POP3 size is its file size")
    check(not os.path.lexists(os.path.join(u.maildir, SIZE_CACHE)),
          "a size cache before the first login")

    def expect_list(c, alive, what):
        check_eq(list_sizes(c), [(i + 1, wire[x]) for i, x in
                                 enumerate(alive)], what)

    def check_cache(alive, what):
        st, got = read_size_cache(u)
        check_eq(stat.S_IMODE(st.st_mode), 0o600, what + ": cache mode")
        if os.geteuid() == 0:
            check_eq(st.st_uid, u.uid, what + ": cache owner")
        check_eq(got, {x: wire[x] for x in alive}, what + ": cache entries")
        left = [n for n in os.listdir(u.maildir)
                if n.startswith(SIZE_CACHE) and n != SIZE_CACHE]
        check_eq(left, [], what + ": temporary files left")
        return st

    # 1. first login: sizes read from the files; the cache is written
    #    (at QUIT, before the +OK)
    with d.session("alice") as c:
        expect_list(c, uidls, "LIST, first login")
        c.cmd("QUIT")
    st1 = check_cache(uidls, "after the first login")

    # 2. a login that changes nothing: same sizes, file not rewritten
    with d.session("alice") as c:
        expect_list(c, uidls, "LIST, second login")
        c.cmd("QUIT")
    st2 = check_cache(uidls, "after a login without changes")
    check_eq((st2.st_ino, st2.st_mtime_ns), (st1.st_ino, st1.st_mtime_ns),
             "cache rewritten although nothing changed")

    # 3. DELE + QUIT: the expunged message's line goes
    gone = uidls[2]
    with d.session("alice") as c:
        check(c.cmd("DELE 3").startswith(b"+OK"), "DELE 3")
        check_eq(c.cmd("QUIT"), b"+OK Logging out, 1 message deleted.\r\n",
                 "QUIT")
    alive = [x for x in uidls if x != gone]
    check(not any(n.endswith(gone) for n in u.files()), "3 not expunged")
    check_cache(alive, "after DELE 3")

    # 4. garbage: the whole file is discarded (even its plausible first
    #    entry, with a wrong size), the sizes are read again and the cache
    #    rewritten
    write_size_cache(u, SIZE_CACHE_MAGIC +
                     b"%s 99999\nnot a cache line\n\x00\xff junk\n" %
                     alive[0].encode())
    with d.session("alice") as c:
        expect_list(c, alive, "LIST with a garbage cache")
        c.cmd("QUIT")
    check_cache(alive, "after the garbage cache")

    # 5. The cache is what the login uses.  Maildir messages never change
    #    after delivery (only their names do, for flags), so the size is
    #    keyed by the unique part of the name and the file is not read
    #    again: a wrong size written here for message 1 is what LIST
    #    reports, while the others stay right.
    wrong = wire[alive[0]] + 1000
    write_size_cache(u, SIZE_CACHE_MAGIC + b"".join(
        b"%s %d\n" % (x.encode(), wrong if x == alive[0] else wire[x])
        for x in alive))
    with d.session("alice") as c:
        check_eq(list_sizes(c), [(i + 1, wrong if i == 0 else wire[x])
                                 for i, x in enumerate(alive)],
                 "LIST with a cached (wrong) size for message 1")
        total = wrong + sum(wire[x] for x in alive[1:])
        check_eq(c.cmd("STAT"), b"+OK %d %d\r\n" % (len(alive), total),
                 "STAT with the cached size")
        c.cmd("QUIT")


LISTING = ".privpop-listing"


def uidl_list(c):
    """UIDL of the session as [uidl] in message order."""
    r = c.cmd("UIDL")
    check(r.startswith(b"+OK"), "UIDL %r" % r)
    out = []
    for i, line in enumerate(c.multi().split(b"\r\n")[:-1], 1):
        m = re.match(rb"(\d+) ([\x21-\x7e]+)$", line)
        check(m and int(m.group(1)) == i, "UIDL line %r" % line)
        out.append(m.group(2).decode())
    return out


def dir_stamp(path):
    st = os.stat(path)
    return (st.st_dev, st.st_ino, st.st_mtime_ns // 10**9,
            st.st_mtime_ns % 10**9)


def age_dirs(u, secs=100):
    """Set the mtimes of cur/ and new/ secs into the past (settled)."""
    t = time.time_ns() - secs * 10**9
    for sub in ("cur", "new"):
        os.utime(os.path.join(u.maildir, sub), ns=(t, t))


def read_listing(u):
    """(lstat, (cur stamp, new stamp), [names]) of the listing."""
    path = os.path.join(u.maildir, LISTING)
    st = os.lstat(path)
    check(stat.S_ISREG(st.st_mode), "%s is not a regular file" % LISTING)
    with open(path, "rb") as f:
        data = f.read(1 << 20)
    head, _, rest = data.partition(b"\n")
    f = head.split(b" ")
    check(len(f) == 11 and f[:2] == [b"privpop-listing", b"1"],
          "listing header %r" % head)
    n = [int(x) for x in f[2:]]
    names = [x.decode() for x in rest.split(b"\n")[:-1]]
    check(rest.endswith(b"\n") or not rest, "listing without final newline")
    check_eq(len(names), n[8], "listing count")
    return st, (tuple(n[0:4]), tuple(n[4:8])), names


@test("maildir_listing_snapshot")
def t_maildir_listing(ctx):
    d, u = std_daemon(ctx, "listing", messages=CACHE_MESSAGES)
    uidls = [m[0] for m in CACHE_MESSAGES]
    cur, new = (os.path.join(u.maildir, s) for s in ("cur", "new"))

    def want_names():
        return sorted(u.files(), key=lambda n: n[4:])

    def login_uidls(what):
        with d.session("alice") as c:
            got = uidl_list(c)
            c.cmd("QUIT")
        return got

    # 1. just delivered (mtimes now): scanned, and no snapshot is written,
    #    as a delivery in the same timestamp tick could hide behind it
    check_eq(login_uidls("fresh"), uidls, "UIDL, fresh Maildir")
    check(not os.path.lexists(os.path.join(u.maildir, LISTING)),
          "a listing written for directories changed just now")

    # 2. settled directories: the scan's names are saved, with the stamps
    #    of cur/ and new/, owner-only
    age_dirs(u)
    check_eq(login_uidls("settled"), uidls, "UIDL, settled Maildir")
    st1, stamps, names = read_listing(u)
    check_eq(stamps, (dir_stamp(cur), dir_stamp(new)), "listing stamps")
    check_eq(names, want_names(), "listing names (message order)")
    check_eq(stat.S_IMODE(st1.st_mode), 0o600, "listing mode")
    if os.geteuid() == 0:
        check_eq(st1.st_uid, u.uid, "listing owner")
    check_eq([n for n in os.listdir(u.maildir)
              if n.startswith(LISTING) and n != LISTING], [],
             "temporary listing files left")

    # 3. nothing changed: the snapshot serves the login, not rewritten
    check_eq(login_uidls("unchanged"), uidls, "UIDL from the snapshot")
    st2 = os.lstat(os.path.join(u.maildir, LISTING))
    check_eq((st2.st_ino, st2.st_mtime_ns), (st1.st_ino, st1.st_mtime_ns),
             "listing rewritten although nothing changed")

    # 4. it is trusted while the stamps match (Dovecot's Maildir sync
    #    makes the same bet on the directories' mtimes): a message slipped
    #    into new/ with new/'s mtime put back is not seen...
    old_new = os.stat(new).st_mtime_ns
    extra = "1720000009.M9P300.e2e"
    u.deliver(extra, b"From: x@example.org\nSubject: late\n\nhi\n")
    os.utime(new, ns=(old_new, old_new))
    check_eq(login_uidls("hidden"), uidls,
             "UIDL with matching stamps comes from the snapshot")
    # ...and an ordinary delivery (mtime moves) is: a full scan
    os.utime(new, None)
    check_eq(login_uidls("delivered"), uidls + [extra],
             "UIDL after a delivery")
    uidls.append(extra)

    # 5. a snapshot that is not a listing privpop writes, under the right
    #    stamps, is ignored and replaced: names out of order, a path
    #    outside cur/ and new/, a duplicate
    age_dirs(u)
    hdr = b"privpop-listing 1 %d %d %d %d %d %d %d %d " % (
        dir_stamp(cur) + dir_stamp(new))
    good = [n.encode() for n in want_names()]
    for bad in ([good[1], good[0]] + good[2:],
                good[:-1] + [b"cur/../../etc/passwd"],
                good[:1] + good,
                good[:2] + [b"tmp/" + good[2][4:]] + good[3:]):
        write_owned(u, LISTING, hdr + b"%d\n" % len(bad) + b"".join(
            x + b"\n" for x in bad))
        check_eq(login_uidls("bad listing"), uidls,
                 "UIDL with a bad listing %r" % bad[:3])
        _, _, names = read_listing(u)
        check_eq(names, want_names(), "listing rewritten by the scan")

    # 6. DELE + QUIT: the expunge changes cur/ or new/; the next login
    #    scans, and a message renamed by another agent is followed
    with d.session("alice") as c:
        check(c.cmd("DELE 2").startswith(b"+OK"), "DELE 2")
        check_eq(c.cmd("QUIT"), b"+OK Logging out, 1 message deleted.\r\n",
                 "QUIT")
    del uidls[1]
    check_eq(login_uidls("after DELE"), uidls, "UIDL after DELE 2")
    age_dirs(u)
    check_eq(login_uidls("settled again"), uidls, "UIDL, settled again")
    _, _, names = read_listing(u)
    check_eq(names, want_names(), "listing after the expunge")
    src = [p for n, p in u.files().items() if n.startswith("new/")][0]
    os.rename(src, os.path.join(cur, os.path.basename(src) + ":2,S"))
    check_eq(login_uidls("renamed"), uidls, "UIDL after a rename")


@test("last_command_off_and_on")
def t_last(ctx):
    """RFC 1725 LAST: unknown unless last_command = yes; then the highest
    message RETRieved or DELEted this session, TOP not counted, 0 after
    RSET, and nothing carried into the next session."""
    d, u = std_daemon(ctx, "lastoff", messages=small_msgs(5))
    with d.session("alice") as c:
        check_eq(c.cmd("LAST"), b"-ERR Unknown command.\r\n", "LAST off")
        c.cmd("QUIT")
    with d.connect() as c:
        c.resp()
        check_eq(c.cmd("LAST"), b"-ERR Unknown command.\r\n",
                 "LAST off, before login")
    d.stop()
    d, u = std_daemon(ctx, "laston", messages=small_msgs(5),
                      extra_conf={"last_command": "yes"})
    with d.connect() as c:
        c.resp()
        check_eq(c.cmd("LAST"), b"-ERR Not logged in.\r\n",
                 "LAST before login")
    with d.session("alice") as c:
        check_eq(c.cmd("LAST"), b"+OK 0\r\n", "LAST at start")
        check(c.cmd("TOP 4 0").startswith(b"+OK"), "TOP 4 0")
        c.multi()
        check_eq(c.cmd("LAST"), b"+OK 0\r\n", "LAST after TOP")
        check(c.cmd("RETR 2").startswith(b"+OK"), "RETR 2")
        c.multi()
        check_eq(c.cmd("LAST"), b"+OK 2\r\n", "LAST after RETR 2")
        check(c.cmd("RETR 1").startswith(b"+OK"), "RETR 1")
        c.multi()
        check_eq(c.cmd("LAST"), b"+OK 2\r\n", "LAST after RETR 1")
        check(c.cmd("DELE 3").startswith(b"+OK"), "DELE 3")
        check_eq(c.cmd("LAST"), b"+OK 3\r\n", "LAST after DELE 3")
        check(c.cmd("RETR 9").startswith(b"-ERR"), "RETR 9")
        check_eq(c.cmd("LAST"), b"+OK 3\r\n", "LAST after a failed RETR")
        check(c.cmd("LAST 1").startswith(b"-ERR"), "LAST with an argument")
        check(c.cmd("RSET").startswith(b"+OK"), "RSET")
        check_eq(c.cmd("LAST"), b"+OK 0\r\n", "LAST after RSET")
        check(c.cmd("RETR 5").startswith(b"+OK"), "RETR 5")
        c.multi()
        c.cmd("QUIT")
    with d.session("alice") as c:
        check_eq(c.cmd("LAST"), b"+OK 0\r\n", "LAST in the next session")
        c.cmd("QUIT")
