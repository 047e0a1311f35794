"""Helpers for the authentication e2e tests (tests_auth.py) and the
timing benchmark (tests/bench/auth_timing.py): SASL clients computed
independently of privpop (base64, hmac, hashlib), users with a given
password scheme, a daemon started with extra environment."""
import base64
import hashlib
import hmac
import os
import re
import subprocess
import time

import e2e_util as U
from e2e_util import check, check_eq


def b64(data):
    if isinstance(data, str):
        data = data.encode()
    return base64.b64encode(data).decode()


def unb64(text):
    if isinstance(text, bytes):
        text = text.decode()
    return base64.b64decode(text, validate=True)


def run(argv, timeout=60, env=None, input=None):
    """subprocess.run with a bound; the child is killed on timeout."""
    try:
        return subprocess.run(argv, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=timeout,
                              env=env, input=input)
    except subprocess.TimeoutExpired:
        raise U.TestFailure("%s timed out after %ss" % (argv[0], timeout))


# ---------------------------------------------------------------------
# users

def add_user_line(d, name, password, sysuser="pptest1", scheme=None,
                  secret=None):
    """Add a user through Daemon.add_user (home, Maildir, owner), then
    replace its passwd-file line's password field: with the output of
    privpop-passwd -s scheme, or with secret verbatim (a hash)."""
    u = d.add_user(name, password, sysuser=sysuser)
    line = d.passwd_lines[-1]
    check(line.startswith(name + ":"), "passwd line %r" % line)
    if scheme is not None:
        line = U.passwd_line(d.ctx.build_dir, u, scheme)
    if secret is not None:
        f = line.split(":")
        f[1] = secret
        line = ":".join(f)
    d.passwd_lines[-1] = line
    return u


def md5_crypt(password):
    """An MD5-crypt ($1$) hash: python's crypt module if there is one,
    else openssl passwd -1."""
    try:
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import crypt as _crypt
        h = _crypt.crypt(password, _crypt.mksalt(_crypt.METHOD_MD5))
        if h and h.startswith("$1$"):
            return h
    except Exception:
        pass
    r = run(["openssl", "passwd", "-1", "-stdin"],
            input=(password + "\n").encode())
    h = r.stdout.decode().strip()
    check(r.returncode == 0 and h.startswith("$1$"),
          "openssl passwd -1: %r %r" % (h, r.stderr))
    return h


def wrap_helpers(d, env):
    """Point auth_helper and store_helper at scripts in d.dir that set
    env (cwrap's LD_PRELOAD and its variables) and exec the real ones:
    privpopd hands a helper a clean environment, and has no test hook
    to pass these on."""
    for name, prog in (("auth_helper", "privpop-auth"),
                       ("store_helper", "privpop-store")):
        real = d.binary(prog)
        script = os.path.join(d.dir, "wrapped-" + prog)
        with open(script, "w") as f:
            f.write("#!/bin/sh\n")
            for k, v in sorted(env.items()):
                f.write("export %s='%s'\n" % (k, v))
            f.write("exec %s \"$@\"\n" % real)
        os.chmod(script, 0o755)
        d.extra_conf[name] = script


def start_with_env(d, env, **kw):
    """Start the daemon with these variables added to its environment
    (Daemon.start inherits os.environ), and its helpers' (wrap_helpers);
    restored afterwards."""
    wrap_helpers(d, env)
    saved = {k: os.environ.get(k) for k in env}
    try:
        os.environ.update(env)
        return d.start(**kw)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


# ---------------------------------------------------------------------
# a connection and SASL exchanges

def greet(d, timeout=U.SOCK_TIMEOUT):
    c = d.connect(timeout)
    g = c.resp()
    check(g.startswith(b"+OK"), "greeting %r" % g)
    return c, g


def apop_stamp(greeting):
    m = re.search(rb"(<[^<>\s]+@[^<>\s]+>)", greeting)
    return m.group(1) if m else None


def challenge(line):
    """The decoded data of a "+ base64" continuation line."""
    check(line.startswith(b"+ ") and line.endswith(b"\r\n"),
          "not a SASL continuation: %r" % line)
    return unb64(line[2:-2])


def sasl_plain(c, authcid, password, authzid="", initial=True):
    msg = b64(authzid.encode() + b"\0" + authcid.encode() + b"\0" +
              password.encode())
    if initial:
        return c.cmd("AUTH PLAIN " + msg)
    r = c.cmd("AUTH PLAIN")
    check_eq(r, b"+ \r\n", "AUTH PLAIN continuation")
    return c.cmd(msg)


def sasl_login(c, user, password, initial=False):
    if initial:
        r = c.cmd("AUTH LOGIN " + b64(user))
    else:
        r = c.cmd("AUTH LOGIN")
        check_eq(challenge(r), b"Username:", "LOGIN first challenge")
        r = c.cmd(b64(user))
    check_eq(challenge(r), b"Password:", "LOGIN second challenge")
    return c.cmd(b64(password))


def cram_response(user, secret, chal):
    digest = hmac.new(secret.encode(), chal, hashlib.md5).hexdigest()
    return b64(user + " " + digest)


def sasl_cram(c, user, secret):
    """Returns (challenge, answer)."""
    r = c.cmd("AUTH CRAM-MD5")
    chal = challenge(r)
    return chal, c.cmd(cram_response(user, secret, chal))


def saslname(user):
    return user.replace("=", "=3D").replace(",", "=2C")


def parse_attrs(msg):
    out = {}
    for part in msg.split(","):
        k, _, v = part.partition("=")
        out[k] = v
    return out


class ScramResult:
    def __init__(self):
        self.server_first = None
        self.attrs = None
        self.final_answer = None   # the line after client-final
        self.server_final = None   # decoded v=... (when given)
        self.server_sig_ok = None
        self.answer = None         # the line after the empty response


def sasl_scram(c, user, password, initial=True, tamper=False):
    """RFC 5802/7677 client exchange computed here.  Returns a
    ScramResult; .answer is the final +OK/-ERR line (or the -ERR that
    ended the exchange early)."""
    res = ScramResult()
    cnonce = b64(os.urandom(18))
    first_bare = "n=%s,r=%s" % (saslname(user), cnonce)
    first = "n,," + first_bare
    if initial:
        r = c.cmd("AUTH SCRAM-SHA-256 " + b64(first))
    else:
        r = c.cmd("AUTH SCRAM-SHA-256")
        check_eq(r, b"+ \r\n", "SCRAM empty first challenge")
        r = c.cmd(b64(first))
    if not r.startswith(b"+ "):
        res.answer = r
        return res
    sf = challenge(r).decode()
    res.server_first = sf
    a = parse_attrs(sf)
    res.attrs = a
    check(a["r"].startswith(cnonce) and len(a["r"]) > len(cnonce),
          "server nonce %r does not extend ours %r" % (a["r"], cnonce))
    salt = unb64(a["s"])
    iters = int(a["i"])
    check(iters >= 4096, "iterations %d" % iters)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iters)
    ckey = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    skey = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
    stored = hashlib.sha256(ckey).digest()
    without_proof = "c=biws,r=" + a["r"]
    authmsg = ",".join((first_bare, sf, without_proof)).encode()
    csig = hmac.new(stored, authmsg, hashlib.sha256).digest()
    proof = bytes(x ^ y for x, y in zip(ckey, csig))
    if tamper:
        proof = bytes([proof[0] ^ 1]) + proof[1:]
    r = c.cmd(b64(without_proof + ",p=" + b64(proof)))
    res.final_answer = r
    if not r.startswith(b"+ "):
        res.answer = r
        return res
    res.server_final = challenge(r).decode()
    want = "v=" + b64(hmac.new(skey, authmsg, hashlib.sha256).digest())
    res.server_sig_ok = res.server_final == want
    res.answer = c.cmd("")
    return res


def capa_sasl(c):
    r = c.cmd("CAPA")
    check(r.startswith(b"+OK"), "CAPA: %r" % r)
    lines = c.multi().split(b"\r\n")[:-1]
    sasl = [l for l in lines if l.startswith(b"SASL")]
    check_eq(len(sasl), 1, "SASL lines in CAPA %r" % lines)
    return sasl[0].decode()


def auth_listing(c):
    r = c.cmd("AUTH")
    check(r.startswith(b"+OK"), "AUTH listing: %r" % r)
    return [l.decode() for l in c.multi().split(b"\r\n")[:-1]]


def pass_login(d, user, password, timeout=U.SOCK_TIMEOUT):
    """(answer to PASS, seconds it took, conn still open)."""
    c, _ = greet(d, timeout)
    check_eq(c.cmd("USER " + user), b"+OK\r\n", "USER " + user)
    t0 = time.monotonic()
    r = c.cmd("PASS " + password, timeout)
    return r, time.monotonic() - t0, c
