"""A syslog daemon of the suite's own on /dev/log, as on every real host.

Every real host has a syslog daemon (rsyslog or journald) listening on
/dev/log, and a daemon that opens it holds one more descriptor from its
first line of code on: the worst bug privpop had only showed there.  The
suite therefore runs in a private mount namespace (unshare --mount) whose
/dev is a tmpfs that mirrors the machine's /dev entry by entry (bind
mounts) and adds our own /dev/log: the machine's /dev is never touched.

    enter(argv)    re-exec argv in a new mount namespace (root only)
    in_namespace() True inside it
    Receiver       the datagram socket on /dev/log, read by a thread
"""
import ctypes
import os
import socket
import stat
import sys
import tempfile
import threading
import time

ENV_MARK = "PRIVPOP_E2E_SYSLOG_NS"
DEV_LOG = "/dev/log"
MS_BIND = 4096
MS_REC = 16384
MNT_DETACH = 2
MAX_KEPT = 200000       # lines kept in memory (the file has them all)


def in_namespace():
    return os.environ.get(ENV_MARK) == "1"


def enter(argv):
    """Re-exec argv under unshare in a private mount namespace; returns
    only when that is impossible (then the caller runs without)."""
    if os.geteuid() != 0 or in_namespace():
        return "not root" if os.geteuid() != 0 else "already inside"
    unshare = "/usr/bin/unshare"
    if not os.access(unshare, os.X_OK):
        return "no %s (util-linux)" % unshare
    os.environ[ENV_MARK] = "1"
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(unshare, [unshare, "--mount", "--propagation", "private",
                       sys.executable] + argv)


def _mount_bind(libc, src, dst):
    if libc.mount(src.encode(), dst.encode(), None, MS_BIND | MS_REC,
                  None) != 0:
        err = ctypes.get_errno()
        raise OSError(err, "mount --bind %s %s: %s" % (src, dst,
                                                      os.strerror(err)))


def private_dev(real):
    """Replace /dev in this mount namespace by a tmpfs holding the same
    entries (bind mounts of the real ones, which stay reachable at the
    empty directory real) and no /dev/log.  Only valid inside a private
    namespace (enter()).  Never remove real recursively while mounted:
    it is the machine's /dev."""
    libc = ctypes.CDLL(None, use_errno=True)
    _mount_bind(libc, "/dev", real)
    if libc.mount(b"tmpfs", b"/dev", b"tmpfs", 0, b"mode=755") != 0:
        err = ctypes.get_errno()
        raise OSError(err, "mount tmpfs /dev: %s" % os.strerror(err))
    for name in os.listdir(real):
        if name == "log":
            continue        # the machine's syslog stays the machine's
        src = os.path.join(real, name)
        dst = os.path.join("/dev", name)
        st = os.lstat(src)
        if stat.S_ISLNK(st.st_mode):
            os.symlink(os.readlink(src), dst)
        elif stat.S_ISDIR(st.st_mode):
            os.mkdir(dst, stat.S_IMODE(st.st_mode))
            _mount_bind(libc, src, dst)
        else:
            with open(dst, "wb"):
                pass
            _mount_bind(libc, src, dst)


class Receiver:
    """A syslog daemon's socket on /dev/log: every datagram becomes a
    line of self.path and of lines()."""

    def __init__(self, logdir, realdev=None):
        self.realdev = realdev
        self.path = os.path.join(logdir, "syslog.txt")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            os.unlink(DEV_LOG)
        except FileNotFoundError:
            pass
        self.sock.bind(DEV_LOG)
        os.chmod(DEV_LOG, 0o666)    # every role logs, whatever its uid
        self.sock.settimeout(0.2)
        self._lines = []
        self._lock = threading.Lock()
        self._stop = False
        self._out = open(self.path, "ab")
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop:
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                break
            line = data.decode("utf-8", "replace").rstrip("\n")
            with self._lock:
                self._lines.append(line)
                if len(self._lines) > MAX_KEPT:
                    del self._lines[:MAX_KEPT // 2]
                self._out.write(line.encode() + b"\n")
                self._out.flush()

    def mark(self):
        """A position: lines_since(mark) are the lines after it."""
        with self._lock:
            return len(self._lines)

    def lines_since(self, pos=0):
        with self._lock:
            return list(self._lines[pos:])

    def wait_for(self, substring, since=0, timeout=5.0):
        deadline = time.monotonic() + timeout
        while True:
            for l in self.lines_since(since):
                if substring in l:
                    return l
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.05)

    def close(self):
        self._stop = True
        self._thread.join(2)
        self.sock.close()
        self._out.close()
        if self.realdev is not None:
            # detach both mounts, then the mount point is an empty
            # directory again (the namespace ends with us anyway)
            libc = ctypes.CDLL(None, use_errno=True)
            libc.umount2(b"/dev", MNT_DETACH)
            libc.umount2(self.realdev.encode(), MNT_DETACH)
            try:
                os.rmdir(self.realdev)
            except OSError:
                pass


def start(logdir):
    """Inside the namespace: the private /dev and the receiver on it.
    The real /dev is bind-mounted on a directory of its own, outside
    logdir, so that no cleanup of logdir can reach it."""
    realdev = tempfile.mkdtemp(prefix="privpop-realdev-")
    private_dev(realdev)
    return Receiver(logdir, realdev)
