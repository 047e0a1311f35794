"""The TLS key holder is no signing or decryption oracle (issue 15,
item 2).  A fake session child speaks the IPC directly to a
privpop-auth started as privpopd's inetd mode starts it (-c, the socket
on fd 3, the keys from tls_key): it gets one signature per connection,
only after MSG_AUTH_TLS_START, and only over the content a TLS server
signs; a second signature, a raw RSA operation (the old
RSA_private_encrypt without padding, or the old request layout), a
signature over anything else and a signature before TLS was announced
each end the helper (fatal, like every unpermitted request).

Message numbers are read from common/ipc.h, so the test follows the
enum; the schemes are RFC 8446's SignatureScheme codes.  (Against a
privpop-auth that knows no MSG_AUTH_TLS_START, as before this test, the
announcement is not sent, and the first check fails: it signs.)"""
import array
import os
import re
import socket
import struct
import subprocess

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding

import e2e_util as U
from e2e_util import check, check_eq
from registry import test

import tests_tls as T

IPC_H = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                     "..", "..", "common", "ipc.h")
TLS13_CTX = b" " * 64 + b"TLS 1.3, server CertificateVerify\x00"
SCHEMES = {"rsa_pkcs1_sha256": 0x0401, "ecdsa_sha256": 0x0403,
           "rsa_pss_rsae_sha256": 0x0804}


def ipc_names():
    """{name: number} of enum msg_type."""
    with open(IPC_H) as f:
        text = f.read()
    body = text[text.index("enum msg_type {"):]
    body = body[:body.index("};")]
    body = re.sub(r"/\*.*?\*/", "", body, flags=re.S)
    names = {}
    n = 0
    for m in re.finditer(r"\b(MSG_[A-Z0-9_]+)\b(\s*=\s*(\d+))?", body):
        if m.group(3) is not None:
            n = int(m.group(3))
        names[m.group(1)] = n
        n += 1
    return names


def u32(v):
    return struct.pack("=I", v)


def blob(b):
    return u32(len(b)) + b


class Helper:
    """privpop-auth on one end of a SOCK_SEQPACKET pair; we are the
    session child on the other."""

    def __init__(self, d, names):
        self.names = names
        self.sock, theirs = socket.socketpair(socket.AF_UNIX,
                                              socket.SOCK_SEQPACKET)
        self.errf = os.path.join(d.dir, "auth-%d.log" % id(self))
        fd = theirs.fileno()

        def to_fd3():
            os.dup2(fd, 3)
        with open(self.errf, "wb") as err:
            self.proc = subprocess.Popen(
                [d.binary("privpop-auth"), "-c", d.conf, "-e"],
                stdin=subprocess.DEVNULL, stdout=err, stderr=err,
                preexec_fn=to_fd3, pass_fds=(3,), cwd=d.dir)
        theirs.close()
        self.sock.settimeout(10)
        t, _ = self.recv()
        check_eq(t, names["MSG_SESSION_HELLO"], "first message")
        if "MSG_AUTH_PEER" in names:
            # as a slot does first: the client's socket (here a local
            # one), from which privpop-auth takes the address
            a, b = socket.socketpair()
            self.sock.sendmsg(
                [u32(names["MSG_AUTH_PEER"]) + u32(0)],
                [(socket.SOL_SOCKET, socket.SCM_RIGHTS,
                  array.array("i", [a.fileno()]))])
            a.close()
            b.close()

    def send(self, name, payload=b""):
        if name not in self.names:
            return      # TLS_START, to a privpop-auth from before it
        self.sock.send(u32(self.names[name]) + u32(len(payload)) + payload)

    def recv(self):
        b = self.sock.recv(65536)
        if not b:
            return None, None
        t, n = struct.unpack("=II", b[:8])
        return t, b[8:8 + n]

    def sign(self, scheme, content, idx=0):
        self.send("MSG_AUTH_TLS_SIGN",
                  u32(idx) + u32(SCHEMES[scheme]) + blob(content))
        return self.answer()

    def answer(self):
        """The signature, or None when the helper ended instead."""
        try:
            t, p = self.recv()
        except (ConnectionResetError, socket.timeout):
            return None
        if t is None:
            return None
        check_eq(t, self.names["MSG_SESSION_TLS_SIGNED"], "answer type")
        n = struct.unpack("=I", p[:4])[0]
        return p[4:4 + n]

    def refused(self, what, why):
        """It must have ended, with an error status and the reason."""
        try:
            rc = self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.close()
            raise U.TestFailure("%s: privpop-auth still running" % what)
        with open(self.errf, "rb") as f:
            log = f.read().decode("utf-8", "replace")
        check(rc != 0, "%s: privpop-auth exit status %d" % (what, rc))
        check(why in log, "%s: no %r in privpop-auth's log: %s"
              % (what, why, log[-400:]))

    def close(self):
        self.sock.close()
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(5)


def key_daemon(ctx, name, cert):
    """A configuration with tls_cert/tls_key, not started: privpop-auth
    reads it as privpopd's own helper would."""
    d, _ = T.tls_daemon(ctx, name, cert=cert, start=False)
    d.write_passwd()
    d.port = U.free_port()
    d.write_conf()
    return d


def tls12_content(group=29, plen=32):
    point = os.urandom(plen)
    if group in (23, 24, 25):
        point = b"\x04" + point[1:]
    return (os.urandom(64) + bytes([3]) + struct.pack(">H", group) +
            bytes([plen]) + point)


def public_key(d):
    with open(d.cert.cert, "rb") as f:
        return x509.load_pem_x509_certificate(f.read()).public_key()


@test("keyoracle_rsa_one_signature_after_tls_start")
def t_rsa(ctx):
    names = ipc_names()
    d = key_daemon(ctx, "keyoracle-rsa", "rsa")
    pub = public_key(d)

    # a signature before the session said TLS starts
    h = Helper(d, names)
    check(h.sign("rsa_pss_rsae_sha256", TLS13_CTX + os.urandom(32)) is None,
          "signed before MSG_AUTH_TLS_START")
    h.refused("sign before TLS_START", "before TLS started")
    h.close()

    # TLS 1.3: one signature, checked with the certificate; no second
    h = Helper(d, names)
    h.send("MSG_AUTH_TLS_START")
    content = TLS13_CTX + os.urandom(32)
    sig = h.sign("rsa_pss_rsae_sha256", content)
    check(sig is not None and len(sig) == 256, "no TLS 1.3 signature")
    pub.verify(sig, content, padding.PSS(padding.MGF1(hashes.SHA256()),
                                         32), hashes.SHA256())
    check(h.sign("rsa_pss_rsae_sha256", TLS13_CTX + os.urandom(32)) is None,
          "a second signature on one connection")
    h.refused("second signature", "second signature")
    h.close()

    # TLS 1.2 ECDHE ServerKeyExchange, PKCS#1 v1.5
    h = Helper(d, names)
    h.send("MSG_AUTH_TLS_START")
    content = tls12_content(23, 65)
    sig = h.sign("rsa_pkcs1_sha256", content)
    check(sig is not None, "no TLS 1.2 signature")
    pub.verify(sig, content, padding.PKCS1v15(), hashes.SHA256())
    h.close()

    # raw RSA: the old RSA_private_encrypt(RSA_NO_PADDING) request, as
    # the new layout reads it (scheme 1) and in the old layout
    block = b"\x00" + os.urandom(255)
    h = Helper(d, names)
    h.send("MSG_AUTH_TLS_START")
    h.send("MSG_AUTH_TLS_SIGN", u32(0) + u32(1) + blob(block))
    check(h.answer() is None, "a raw RSA operation was answered")
    h.refused("raw RSA, scheme 1", "not allowed")
    h.close()
    h = Helper(d, names)
    h.send("MSG_AUTH_TLS_START")
    h.send("MSG_AUTH_TLS_SIGN", u32(0) + u32(1) + u32(3) + blob(block))
    check(h.answer() is None, "a raw RSA operation (old layout) was "
          "answered")
    h.refused("raw RSA, old layout", "TLS_SIGN")
    h.close()

    # a valid scheme over content no TLS handshake signs
    for what, content in (
            ("text", b"I owe the bearer 1000 EUR. " * 4),
            ("a bare digest", os.urandom(32)),
            ("TLS 1.3 client context",
             b" " * 64 + b"TLS 1.3, client CertificateVerify\x00" +
             os.urandom(32)),
            ("TLS 1.2 DHE params", os.urandom(64) + b"\x01\x00" +
             os.urandom(254))):
        h = Helper(d, names)
        h.send("MSG_AUTH_TLS_START")
        check(h.sign("rsa_pss_rsae_sha256", content) is None,
              "signed %s" % what)
        h.refused(what, "no TLS handshake")
        h.close()

    # TLS_START once
    h = Helper(d, names)
    h.send("MSG_AUTH_TLS_START")
    h.send("MSG_AUTH_TLS_START")
    h.refused("second TLS_START", "already started")
    h.close()


@test("keyoracle_ecdsa_one_signature_after_tls_start")
def t_ec(ctx):
    names = ipc_names()
    d = key_daemon(ctx, "keyoracle-ec", "ec")
    pub = public_key(d)

    h = Helper(d, names)
    check(h.sign("ecdsa_sha256", TLS13_CTX + os.urandom(32)) is None,
          "signed before MSG_AUTH_TLS_START")
    h.refused("sign before TLS_START", "before TLS started")
    h.close()

    h = Helper(d, names)
    h.send("MSG_AUTH_TLS_START")
    content = tls12_content()
    sig = h.sign("ecdsa_sha256", content)
    check(sig is not None, "no TLS 1.2 signature")
    pub.verify(sig, content, ec.ECDSA(hashes.SHA256()))
    check(h.sign("ecdsa_sha256", tls12_content()) is None,
          "a second signature on one connection")
    h.refused("second signature", "second signature")
    h.close()

    # the old ECDSA request: a digest to sign as it is
    h = Helper(d, names)
    h.send("MSG_AUTH_TLS_START")
    check(h.sign("ecdsa_sha256", os.urandom(32)) is None,
          "signed a bare digest")
    h.refused("bare digest", "no TLS handshake")
    h.close()

    # an RSA scheme with an EC key
    h = Helper(d, names)
    h.send("MSG_AUTH_TLS_START")
    check(h.sign("rsa_pss_rsae_sha256", TLS13_CTX + os.urandom(48)) is None,
          "signed with a scheme of another key type")
    h.refused("RSA scheme, EC key", "not allowed")
    h.close()
