"""RFC 6856 (issue 19): the UTF8 command and CAPA tag, UTF-8 user names
and passwords (strict UTF-8, SASLprep in the session child), and LANG
with the German catalog shipped in lang/: the listing, a choice that
changes an answer's text but never its response code, "*", an unknown
tag, and a malformed catalog left out; the transcript masks a UTF-8
password like any other."""
import os
import subprocess

import e2e_util as U
from e2e_util import check, check_eq
from registry import test

import auth_util as A

HERE = os.path.dirname(os.path.abspath(__file__))
LANG_DIR = os.path.abspath(os.path.join(HERE, "..", "..", "lang"))

JOERG = "j\u00f6rg@example.org"
PW_JOERG = "p\u00e4ssw\u00f6rd-\u00fc-7731"
FIONA = "fiona"
PW_FIONA = "two words-4412"           # an ASCII space, stored as such
PW_ALICE = "Alice-utf8-pw-5519"


def utf8_daemon(ctx, name, conf=None, lang_dir=LANG_DIR):
    base = {"auth_mechanisms": "USER PLAIN LOGIN", "lang_dir": lang_dir,
            "max_auth_fails": "20"}
    base.update(conf or {})
    d = U.Daemon(ctx, name, extra_conf=base)
    d.add_user(JOERG, PW_JOERG)
    d.add_user(FIONA, PW_FIONA, sysuser="pptest2")
    alice = d.add_user("alice", PW_ALICE)
    alice.deliver("1700000301.M1P1.u8", b"From: x@example.org\n"
                  b"Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\n\nhallo\n")
    alice.deliver("1700000302.M2P1.u8", "From: j\u00f6rg@example.org\n"
                  "Subject: Gr\u00fc\u00dfe\n\nUTF-8 headers\n"
                  .encode())
    d.start()
    return d


def capa(c):
    r = c.cmd("CAPA")
    check(r.startswith(b"+OK"), "CAPA: %r" % r)
    return c.multi().split(b"\r\n")[:-1]


@test("utf8_capa_tags")
def t_capa(ctx):
    d = utf8_daemon(ctx, "u8-capa")
    with d.connect() as c:
        c.resp()
        lines = capa(c)
        check(b"UTF8 USER" in lines, "UTF8 USER in %r" % lines)
        check(b"LANG" in lines, "LANG in %r" % lines)
        check_eq(c.cmd("UTF8 x"), b"-ERR Too many arguments.\r\n",
                 "UTF8 with an argument")
        c.cmd("USER alice")
        check(c.cmd("PASS " + PW_ALICE).startswith(b"+OK"), "login")
        lines = capa(c)
        check(b"UTF8" in lines and b"UTF8 USER" not in lines,
              "UTF8 after login: %r" % lines)
        check(b"LANG" in lines, "LANG after login")
        # UTF8 is an AUTHORIZATION command (RFC 6856 section 2)
        check_eq(c.cmd("UTF8"), b"-ERR Command not valid in this state.\r\n",
                 "UTF8 after login")
        c.cmd("QUIT")


@test("utf8_login_user_pass")
def t_login(ctx):
    """UTF8 login: a UTF-8 user name and password after UTF8; the same
    name before UTF8 is refused at USER, as RFC 6856 has clients send
    UTF-8 only after it; mail with UTF-8 headers is served as stored."""
    d = utf8_daemon(ctx, "u8-login")
    u = d.users[JOERG]
    u.deliver("1700000401.M1P1.j", "Subject: Gr\u00fc\u00dfe\n\n\u00e4\n"
              .encode())
    with d.connect() as c:
        c.resp()
        check_eq(c.cmd(b"USER " + JOERG.encode()),
                 b"-ERR Invalid user name.\r\n", "UTF-8 USER before UTF8")
        check_eq(c.cmd("UTF8"), b"+OK UTF8 enabled.\r\n", "UTF8")
        check_eq(c.cmd(b"USER " + JOERG.encode()), b"+OK\r\n", "USER")
        r = c.cmd(b"PASS " + PW_JOERG.encode())
        check(r.startswith(b"+OK Logged in, 1 message"), "PASS: %r" % r)
        check(c.cmd("RETR 1").startswith(b"+OK"), "RETR")
        check("Gr\u00fc\u00dfe".encode() in c.multi(), "UTF-8 header as is")
        c.cmd("QUIT")
    # the wrong password, in UTF-8, fails as any other
    with d.connect() as c:
        c.resp()
        c.cmd("UTF8")
        c.cmd(b"USER " + JOERG.encode())
        check_eq(c.cmd(b"PASS " + "p\u00e4ssw\u00f6rd".encode()),
                 b"-ERR [AUTH] Authentication failed.\r\n", "wrong PASS")
    # AUTH PLAIN's strings are UTF-8 (RFC 4616): no UTF8 needed
    with d.connect() as c:
        c.resp()
        r = c.cmd("AUTH PLAIN " + A.b64("\0" + JOERG + "\0" + PW_JOERG))
        check(r.startswith(b"+OK Logged in"), "PLAIN: %r" % r)
        c.cmd("QUIT")


@test("utf8_malformed_refused")
def t_malformed(ctx):
    """After UTF8, a name that is not strict UTF-8 is refused by the
    session before privpop-auth hears of it: invalid bytes, an overlong
    "/", a surrogate, a C1 control, a truncated sequence, above
    U+10FFFF."""
    d = utf8_daemon(ctx, "u8-bad")
    bad = [b"j\xc3(rg", b"a\xc0\xafb", b"a\xed\xa0\x80b", b"a\xc2\x85b",
           b"j\xc3", b"a\xf4\x90\x80\x80b", b"\xff\xfe"]
    with d.connect() as c:
        c.resp()
        c.cmd("UTF8")
        for name in bad:
            check_eq(c.cmd(b"USER " + name), b"-ERR Invalid user name.\r\n",
                     "USER %r" % name)
        # and a password that is not UTF-8, after UTF8
        c.cmd(b"USER " + JOERG.encode())
        check_eq(c.cmd(b"PASS p\xe4ssword"),
                 b"-ERR [AUTH] Authentication failed.\r\n", "latin-1 PASS")
        c.cmd("QUIT")
    # a name that is not UTF-8 in PLAIN (whose strings are UTF-8)
    with d.connect() as c:
        c.resp()
        r = c.cmd("AUTH PLAIN " + A.b64(b"\0j\xf6rg@example.org\0x"))
        check_eq(r, b"-ERR [AUTH] Authentication failed.\r\n",
                 "latin-1 name in PLAIN")


@test("utf8_saslprep_normalises")
def t_saslprep(ctx):
    """SASLprep (RFC 4013) after UTF8: a no-break space in a password
    is a space, a compatibility ligature in a name is its letters
    (NFKC); before UTF8 the bytes are taken as they are and fail."""
    d = utf8_daemon(ctx, "u8-prep")
    nbsp_pw = PW_FIONA.replace(" ", "\u00a0")
    lig_name = "\ufb01ona"              # U+FB01 LATIN SMALL LIGATURE FI
    with d.connect() as c:
        c.resp()
        c.cmd("UTF8")
        check_eq(c.cmd(b"USER " + lig_name.encode()), b"+OK\r\n",
                 "USER with a ligature")
        r = c.cmd(b"PASS " + nbsp_pw.encode())
        check(r.startswith(b"+OK Logged in"), "NBSP password: %r" % r)
        c.cmd("QUIT")
    with d.connect() as c:
        c.resp()
        c.cmd("USER fiona")
        check_eq(c.cmd(b"PASS " + nbsp_pw.encode()),
                 b"-ERR [AUTH] Authentication failed.\r\n",
                 "NBSP password without UTF8")
    # a character SASLprep prohibits (U+2028 LINE SEPARATOR, 2.3 C.2.1)
    with d.connect() as c:
        c.resp()
        c.cmd("UTF8")
        check_eq(c.cmd(b"USER fi\xe2\x80\xa8ona"),
                 b"-ERR Invalid user name.\r\n", "prohibited character")


@test("utf8_lang_list_choose")
def t_lang(ctx):
    d = utf8_daemon(ctx, "u8-lang")
    with d.connect() as c:
        c.resp()
        check_eq(c.cmd("LANG"), b"+OK Language listing follows:\r\n",
                 "LANG")
        listing = c.multi().split(b"\r\n")[:-1]
        check_eq(listing, [b"en English", b"de Deutsch"], "LANG listing")
        check_eq(c.cmd("LANG de"), "+OK de Sprache gewechselt.\r\n"
                 .encode(), "LANG de")
        check_eq(c.cmd("FOO"), b"-ERR Unbekannter Befehl.\r\n",
                 "an answer in German")
        check_eq(c.cmd("LANG"), b"+OK Liste der Sprachen folgt:\r\n",
                 "LANG in German")
        c.multi()
        check_eq(c.cmd("LANG xx"), "-ERR Sprache nicht unterst\u00fctzt."
                 "\r\n".encode(), "an unknown tag")
        c.cmd("USER alice")
        # the response code stays as it is (RFC 2449)
        check_eq(c.cmd("PASS wrong"),
                 b"-ERR [AUTH] Anmeldung fehlgeschlagen.\r\n",
                 "failure in German, [AUTH] kept")
        # RFC 4647 lookup: de-CH falls back to de
        check_eq(c.cmd("LANG DE-ch"), "+OK de Sprache gewechselt.\r\n"
                 .encode(), "LANG de-CH")
        c.cmd("USER alice")
        r = c.cmd("PASS " + PW_ALICE)
        check(r.startswith("+OK Angemeldet, 2 Nachricht(en) (".encode()),
              "login in German: %r" % r)
        check_eq(c.cmd("DELE 1"), "+OK Nachricht 1 gel\u00f6scht.\r\n"
                 .encode(), "DELE in German")
        check_eq(c.cmd("LANG *"), b"+OK en Language changed.\r\n",
                 "LANG * (the default, English)")
        check_eq(c.cmd("DELE 1"), b"-ERR Message is deleted.\r\n",
                 "English again")
        check_eq(c.cmd("LANG x-y z"), b"-ERR Too many arguments.\r\n",
                 "two arguments")
        check_eq(c.cmd("LANG 12"), b"-ERR Unsupported language.\r\n",
                 "not a tag")
        check(c.cmd("RSET").startswith(b"+OK"), "RSET")
        check(c.cmd("QUIT").startswith(b"+OK"), "QUIT")


@test("utf8_lang_bad_catalog_ignored")
def t_lang_bad(ctx):
    """A catalog whose translation changes the conversions (a %n, one
    %s too many) is left out whole and said so in the log; the good
    ones are offered; no directory at all offers English alone."""
    ldir = ctx.new_tmpdir("u8-lang-dir")
    os.chmod(ldir, 0o755)
    for name, text in (("fr.txt", "@name\tFran\u00e7ais\n"
                        "Unknown command.\tCommande inconnue.\n"),
                       ("xx.txt", "@name\tBad\nUnknown command.\t%n%s\n"),
                       ("yy.txt", "Message %u deleted.\tGone %s.\n"),
                       ("not a tag.txt", "Unknown command.\tNope.\n")):
        p = os.path.join(ldir, name)
        with open(p, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(p, 0o644)
    d = utf8_daemon(ctx, "u8-lang-bad", lang_dir=ldir)
    with d.connect() as c:
        c.resp()
        c.cmd("LANG")
        check_eq(c.multi().split(b"\r\n")[:-1],
                 [b"en English", "fr Fran\u00e7ais".encode()], "listing")
        check_eq(c.cmd("LANG yy"), b"-ERR Unsupported language.\r\n", "yy")
        check_eq(c.cmd("LANG fr"), b"+OK fr Language changed.\r\n",
                 "fr (untranslated: English)")
        check_eq(c.cmd("BAR"), b"-ERR Commande inconnue.\r\n", "fr text")
    check(d.wait_log(r"language catalog xx: line 2 is malformed"),
          "the log names the bad catalog")
    d2 = utf8_daemon(ctx, "u8-lang-none",
                     lang_dir=os.path.join(ldir, "missing"))
    with d2.connect() as c:
        c.resp()
        c.cmd("LANG")
        check_eq(c.multi().split(b"\r\n")[:-1], [b"en English"],
                 "English alone")
        check_eq(c.cmd("LANG de"), b"-ERR Unsupported language.\r\n", "de")


@test("utf8_transcript_masks_password")
def t_transcript(ctx):
    if ctx.syslog is None:
        raise U.TestSkip("no syslog receiver in this run (not root, or "
                         "--no-syslog)")
    d = utf8_daemon(ctx, "u8-tr", {"transcript": "yes"})
    mark = ctx.syslog.mark()
    with d.connect() as c:
        c.resp()
        c.cmd("UTF8")
        c.cmd(b"USER " + JOERG.encode())
        check(c.cmd(b"PASS " + PW_JOERG.encode()).startswith(b"+OK"),
              "login")
        c.cmd("QUIT")

    def done():
        return any("end=quit" in l for l in ctx.syslog.lines_since(mark))
    check(U.wait_until(done, 10), "no summary line")
    lines = ctx.syslog.lines_since(mark)
    tr = [l for l in lines if "transcript:" in l]
    check(any(l.endswith("PASS *****") for l in tr),
          "PASS masked: %s" % "\n".join(tr))
    check(any(l.endswith("UTF8") for l in tr), "UTF8 in the transcript")
    esc = "".join("\\x%02x" % b if b >= 0x80 else chr(b)
                  for b in PW_JOERG.encode())
    for secret in (PW_JOERG, esc):
        check(not any(secret in l for l in lines),
              "%r in the log" % secret)


@test("utf8_passwd_tool_stores_saslprep_form")
def t_passwd_tool_prep(ctx):
    """privpop-passwd stores a password that SASLprep changes (a
    ligature, a no-break space) in its SASLprep form, the form the
    session makes of what a client sends after UTF8 or in SASL, and the
    one SCRAM's keys come from (RFC 5802); it says so on stderr, and
    refuses a prohibited character and a SCRAM password that is not
    UTF-8."""
    typed = "\ufb01sh\u00a0chips-6617"       # as a user might type it
    prepped = "fish chips-6617"               # its SASLprep (NFKC, space)
    d = U.Daemon(ctx, "u8-pwtool", extra_conf={
        "auth_mechanisms": "USER PLAIN SCRAM-SHA-256",
        "max_auth_fails": "20"})
    carol = d.add_user("carol", typed)
    dave = U.MailUser("dave", typed, carol.uid, carol.gid,
                      os.path.join(d.dir, "home", "dave"))
    dave.make_maildir()
    d.passwd_lines.append(U.passwd_line(ctx.build_dir, dave,
                                        "scram-sha-256"))
    d.users["dave"] = dave
    d.start()
    with d.connect() as c:
        c.resp()
        c.cmd("UTF8")
        c.cmd("USER carol")
        r = c.cmd(b"PASS " + typed.encode())
        check(r.startswith(b"+OK"), "PASS as typed after UTF8: %r" % r)
        c.cmd("QUIT")
    with d.connect() as c:
        c.resp()
        r = A.sasl_plain(c, "carol", typed)
        check(r.startswith(b"+OK"), "AUTH PLAIN as typed: %r" % r)
        c.cmd("QUIT")
    with d.connect() as c:
        c.resp()
        c.cmd("USER carol")
        r = c.cmd(b"PASS " + prepped.encode())
        check(r.startswith(b"+OK"), "PASS before UTF8, prepared: %r" % r)
        c.cmd("QUIT")
    with d.connect() as c:
        c.resp()
        # a conforming SCRAM client normalises the password itself
        res = A.sasl_scram(c, "dave", prepped)
        check(res.answer is not None and res.answer.startswith(b"+OK"),
              "SCRAM with keys from the prepared form: %r" % res.answer)
        check(res.server_sig_ok, "server signature")
        c.cmd("QUIT")
    # the stored line itself: {PLAIN} shows the form
    p = U.passwd_line(ctx.build_dir, U.MailUser("erin", typed, 1000, 1000,
                                                "/home/erin"), "plain")
    check_eq(p.split(":")[1], "{PLAIN}" + prepped, "the stored secret")
    # what the tool says, and what it refuses
    def tool(secret, scheme=()):
        return subprocess.run(
            [os.path.join(ctx.build_dir, "privpop-passwd")] + list(scheme) +
            ["erin", "1000", "1000", "/home/erin"], input=secret + b"\n",
            capture_output=True, timeout=30)
    r = tool(typed.encode())
    check(r.returncode == 0 and b"SASLprep form" in r.stderr,
          "the note: %r" % r.stderr)
    r = tool("fi\u2028sh-1".encode())
    check(r.returncode == 1 and b"prohibits" in r.stderr and not r.stdout,
          "U+2028 refused: %r %r" % (r.stdout, r.stderr))
    # U+00A8 becomes 3 bytes (space, U+0308): past what a session takes
    r = tool(("a" * 246 + "\u00a8").encode())
    check(r.returncode == 1 and b"longer than" in r.stderr and not r.stdout,
          "a SASLprep form too long: %r %r" % (r.stdout, r.stderr))
    r = tool(b"caf\xe9-1", ["-s", "scram-sha-256"])
    check(r.returncode == 1 and b"UTF-8" in r.stderr and not r.stdout,
          "SCRAM with Latin-1: %r %r" % (r.stdout, r.stderr))
