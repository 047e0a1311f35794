"""Issue 15 items 3 and 5: what privpop-auth believes and what its
answers give away.  The client address comes from the client's socket
(handed over by the slot before a byte is read), never from the session
child's word; unknown users' SCRAM salts are stable, keyed by the
install's secret, and look like stored ones; a cancelled SCRAM exchange
is a failure (delay and penalty).  The timing itself is measured by
the benchmark (tests/bench/auth_timing.py), not here."""
import array
import hashlib
import os
import re
import socket
import struct
import subprocess
import time

import e2e_util as U
from e2e_util import check, check_eq
from registry import test

import auth_util as A
from tests_auth import auth_daemon, PW_B, PW_BAD

SRC = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


def msg_types():
    """enum msg_type of common/ipc.h, name -> number."""
    with open(os.path.join(SRC, "common", "ipc.h")) as f:
        text = f.read()
    body = text[text.index("enum msg_type {"):]
    body = body[:body.index("};")]
    body = re.sub(r"/\*.*?\*/", "", body, flags=re.S)
    names = [w.strip().split("=")[0].strip()
             for w in body[body.index("{") + 1:].split(",")]
    return {n: i for i, n in enumerate(x for x in names if x)}


T = msg_types()


def s(text):
    b = text.encode() + b"\0"
    return struct.pack("=I", len(b)) + b


def send(sock, name, payload=b"", fd=None):
    d = struct.pack("=II", T[name], len(payload)) + payload
    anc = []
    if fd is not None:
        anc = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [fd]))]
    try:
        sock.sendmsg([d], anc)
    except (BrokenPipeError, ConnectionResetError):
        pass    # the helper has ended the session: recv() says so


def recv(sock, timeout=10):
    sock.settimeout(timeout)
    try:
        d = sock.recv(70000)
    except (socket.timeout, ConnectionResetError):
        return None, b""
    if len(d) < 8:
        return None, b""
    t, n = struct.unpack("=II", d[:8])
    return t, d[8:8 + n]


class Helper:
    """privpop-auth exec'd with privpopd's layout (fd 3 the session's
    socket, -c the config), and this test as the session child."""

    def __init__(self, d):
        self.ours, theirs = socket.socketpair(socket.AF_UNIX,
                                              socket.SOCK_SEQPACKET)
        tfd = theirs.fileno()

        def layout():
            # (our descriptors are close-on-exec; fd 3 of dup2 is not)
            os.dup2(tfd, 3)
        self.proc = subprocess.Popen(
            [d.binary("privpop-auth"), "-c", d.conf, "-e"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, close_fds=False, preexec_fn=layout)
        theirs.close()
        t, _ = recv(self.ours)
        if t != T["MSG_SESSION_HELLO"]:
            raise U.TestFailure("no HELLO from privpop-auth:\n" +
                                self.finish())

    def finish(self):
        self.ours.close()
        try:
            _, err = self.proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            _, err = self.proc.communicate()
        return err.decode("utf-8", "replace")


def tcp_pair(src="127.0.0.1"):
    """A loopback connection: the server end (what a slot accepts) and
    the client end."""
    lis = socket.socket()
    lis.bind(("127.0.0.1", 0))
    lis.listen(1)
    cli = socket.socket()
    cli.bind((src, 0))
    cli.connect(lis.getsockname())
    srv, _ = lis.accept()
    lis.close()
    return srv, cli


@test("authsec_helper_address_from_socket_not_claim")
def t_peer(ctx):
    # the claimed addresses are trusted, exempt and would pass any
    # pam_access rule; the connection really comes from 127.0.0.3
    d = auth_daemon(ctx, "peer", scram=False, start=False, extra_conf={
        "trusted_networks": "10.0.0.0/8",
        "auth_penalty_exempt": "10.0.0.0/8"})
    d.write_passwd()
    d.port = U.free_port()
    d.write_conf()
    forged = "10.1.2.3 user=root via=pam\nlogin: sess=forged"

    # 1. the address of the socket, whatever LOGIN carried before
    h = Helper(d)
    srv, cli = tcp_pair("127.0.0.3")
    send(h.ours, "MSG_AUTH_PEER", fd=srv.fileno())
    srv.close()
    send(h.ours, "MSG_AUTH_LOGIN", s("nosuchuser") + s(PW_BAD))
    t, p = recv(h.ours)
    check_eq(t, T["MSG_SESSION_AUTH_FAIL"], "answer to a wrong login")
    # the old layout, with an address claim: refused outright
    send(h.ours, "MSG_AUTH_LOGIN", s("bob") + s(PW_BAD) + s(forged))
    t, _ = recv(h.ours)
    check_eq(t, None, "a LOGIN with an address claim was answered")
    log = h.finish()
    cli.close()
    check(re.search(r"login failed: sess=\w+ addr=127\.0\.0\.3 user=- "
                    r"method=pass", log), "login line with the socket's "
                    "address, not found in:\n" + log)
    check("AUTH_LOGIN: malformed" in log, "no malformed LOGIN:\n" + log)
    check("10.1.2.3" not in log and "forged" not in log,
          "the claim reached the log:\n" + log)

    # 2. nothing is answered before the socket came...
    h = Helper(d)
    send(h.ours, "MSG_AUTH_LOGIN", s("bob") + s(PW_B))
    t, _ = recv(h.ours)
    check_eq(t, None, "LOGIN before the client's socket was answered")
    log = h.finish()
    check("before the client's socket" in log, "no refusal:\n" + log)

    # 3. ...and it comes once: a second (a session child taken over by
    # what it read, with a socket it connected itself) ends the session
    h = Helper(d)
    srv, cli = tcp_pair("127.0.0.3")
    send(h.ours, "MSG_AUTH_PEER", fd=srv.fileno())
    srv2, cli2 = tcp_pair("127.0.0.1")
    send(h.ours, "MSG_AUTH_PEER", fd=srv2.fileno())
    send(h.ours, "MSG_AUTH_LOGIN", s("bob") + s(PW_B))
    t, _ = recv(h.ours)
    check_eq(t, None, "a second AUTH_PEER was accepted")
    log = h.finish()
    for x in (srv, cli, srv2, cli2):
        x.close()
    check("AUTH_PEER after the client's socket" in log,
          "no refusal:\n" + log)

    # 4. the real daemon: plaintext rules follow the real address
    # (127.0.0.1 is not among this trusted_networks)
    d.start()
    with A.greet(d)[0] as c:
        check(c.cmd("USER bob").startswith(b"-ERR [AUTH] Plaintext"),
              "USER from an untrusted address")


def scram_first(d, user):
    """(connection, decoded server-first attributes) after a
    client-first for user."""
    c, _ = A.greet(d)
    r = c.cmd("AUTH SCRAM-SHA-256 " +
              A.b64("n,,n=%s,r=%s" % (user, A.b64(os.urandom(9)))))
    return c, A.parse_attrs(A.challenge(r).decode())


def salt_of(d, user):
    c, a = scram_first(d, user)
    c.cmd("*")
    c.close()
    return a


@test("authsec_scram_salts_stable_and_keyed")
def t_salts(ctx):
    d = auth_daemon(ctx, "salts")
    stored = [ln for ln in d.passwd_lines if ln.startswith("carol:")][0]
    carol_salt = stored.split("{SCRAM-SHA-256}")[1].split(",")[1]
    before = {u: salt_of(d, u) for u in ("ghost", "bob", "carol")}
    for u, a in before.items():
        check_eq(len(A.unb64(a["s"])), 16, "%s: salt length" % u)
        check_eq(a["i"], "4096", "%s: iterations" % u)
    check_eq(before["carol"]["s"], carol_salt, "SCRAM user: stored salt")
    # not a function of the name alone (a client could compute it)
    for u in ("ghost", "bob"):
        check(A.unb64(before[u]["s"]) !=
              hashlib.sha256(u.encode()).digest()[:16],
              "%s: the salt is SHA-256 of the name" % u)
    check(before["ghost"]["s"] != salt_of(d, "ghost2")["s"],
          "two unknown names, one salt")
    sec = os.path.join(d.dir, "auth-secret")
    st = os.stat(sec)
    check_eq((st.st_mode & 0o777, st.st_size, st.st_uid),
             (0o600, 32, os.geteuid()), "auth_secret_file")
    # a restart: the same salts (the stored one could not change, so
    # neither may the others)
    d.stop()
    os.rename(d.log, d.log + ".1")    # start() waits for "started:"
    d.start()
    for u in ("ghost", "bob", "carol"):
        check_eq(salt_of(d, u)["s"], before[u]["s"],
                 "%s: salt after a restart" % u)


@test("authsec_scram_cancel_is_a_failure")
def t_cancel(ctx):
    d = auth_daemon(ctx, "cancel", extra_conf={
        "auth_fail_delay_ms": "300", "auth_penalty_base_ms": "600",
        "auth_penalty_max_ms": "2400"})
    for i, user in enumerate(("ghost", "carol")):
        c, _ = scram_first(d, user)
        t0 = time.monotonic()
        r = c.cmd("*")
        dt = time.monotonic() - t0
        check_eq(r, b"-ERR Authentication cancelled.\r\n", "cancel answer")
        # the penalty of the 1st, then the 2nd failure of this address
        want = 0.6 * (2 ** i)
        check(dt >= want - 0.05, "cancel %d answered after %.3fs, want "
              "the failure delay (>= %.1fs)" % (i + 1, dt, want))
        c.close()
        check(d.wait_log(r"penalty: addr=127\.0\.0\.1 failures=%d "
                         % (i + 1), 5),
              "cancel %d not counted:\n%s" % (i + 1, d.log_text()))
    check(re.search(r"login failed: sess=\w+ addr=127\.0\.0\.1 user=carol "
                    r"method=scram-sha-256 \(cancelled\)", d.log_text()),
          "no login line for the cancel:\n" + d.log_text())
    # an exchange left without a word (a client that just hangs up
    # after the salt) is counted too
    c, _ = scram_first(d, "ghost")
    c.close()
    check(d.wait_log(r"method=scram-sha-256 \(abandoned\)", 5),
          "abandoned exchange not logged:\n" + d.log_text())
