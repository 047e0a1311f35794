#!/usr/bin/env python3
"""How long a failed login takes for an existing user (wrong password)
and for an unknown user: a benchmark of user enumeration by timing, not
a test (it asserts nothing).

    python3 tests/bench/auth_timing.py [--build-dir DIR] [-n 30]
        [--fail-delay-ms 0] [--keep]

Starts privpopd the way the e2e tests do (tests/e2e/e2e_util.py: its own
temporary directory, a free port on 127.0.0.1, every process stopped by
PID) with auth_penalty_base_ms = 0, so the growing per-address penalty
does not mask the difference, and auth_fail_delay_ms as given (default
0: the raw cost of the check; the daemon's own uniform delay is added
on top of both kinds of failure alike).  The user is a yescrypt entry
from privpop-passwd.  The two kinds of attempt are interleaved so drift
affects both alike; each is a new connection (USER, PASS).

Prints the median (and quartiles) of each kind and the ratio of the
medians; a ratio far from 1.0 means a remote client can tell existing
users from unknown ones.
"""
import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))

import e2e_util as U  # noqa: E402


class Ctx:
    """The part of run_e2e.Context a Daemon uses."""

    def __init__(self, build_dir, keep):
        self.build_dir = build_dir
        self.keep = keep
        self.is_root = os.geteuid() == 0
        self.sysusers = {}
        self.base = tempfile.mkdtemp(prefix="privpop-authbench-")
        os.chmod(self.base, 0o755)
        self.daemons = []
        if self.is_root:
            for name in ("privpop", "pptest1"):
                self.sysusers[name] = U.ensure_system_user(name)
            os.makedirs(U.CHROOT_DIR, 0o755, exist_ok=True)

    def new_tmpdir(self, name):
        d = tempfile.mkdtemp(prefix=name + "-", dir=self.base)
        os.chmod(d, 0o755)
        return d

    def register_daemon(self, d):
        self.daemons.append(d)

    def note(self, msg):
        sys.stderr.write("note: %s\n" % msg)

    def cleanup(self):
        for d in self.daemons:
            try:
                d.stop()
            except Exception as e:
                sys.stderr.write("stopping daemon: %r\n" % e)
        left = U.descendants_of(os.getpid())
        if left:
            U.kill_pids(left, 3)
        if not self.keep:
            shutil.rmtree(self.base, ignore_errors=True)


def one_failure(d, user, password):
    c = d.connect(30)
    try:
        g = c.resp()
        if not g.startswith(b"+OK"):
            raise U.Pop3Error("greeting %r" % g)
        if not c.cmd("USER " + user).startswith(b"+OK"):
            raise U.Pop3Error("USER refused")
        t0 = time.perf_counter()
        r = c.cmd("PASS " + password, 30)
        dt = time.perf_counter() - t0
        if not r.startswith(b"-ERR"):
            raise U.Pop3Error("PASS %s answered %r" % (user, r))
        return dt
    finally:
        c.close()


def summary(name, xs):
    q = statistics.quantiles(xs, n=4) if len(xs) >= 2 else [xs[0]] * 3
    print("%-28s n=%-3d median %8.2f ms  (q1 %.2f, q3 %.2f, min %.2f, "
          "max %.2f)" % (name, len(xs), statistics.median(xs) * 1000,
                         q[0] * 1000, q[2] * 1000, min(xs) * 1000,
                         max(xs) * 1000))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build-dir", default=os.path.abspath(
        os.path.join(HERE, "..", "..")))
    ap.add_argument("-n", type=int, default=30)
    ap.add_argument("--fail-delay-ms", type=int, default=0)
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    n = max(1, min(1000, args.n))
    for b in ("privpopd", "privpop-auth", "privpop-store", "privpop-passwd"):
        if not os.access(os.path.join(args.build_dir, b), os.X_OK):
            sys.exit("auth_timing: %s is missing; build first" % b)
    U.set_subreaper()
    ctx = Ctx(os.path.abspath(args.build_dir), args.keep)
    try:
        d = U.Daemon(ctx, "authbench", extra_conf={
            "auth_penalty_base_ms": "0",
            "auth_fail_delay_ms": str(args.fail_delay_ms),
            # one session per attempt; enough slots that none waits
            "max_auth_fails": "3",
        }, prefork=4)
        d.add_user("alice", "Bench-auth-pw-1")   # yescrypt
        d.start()
        # warm up (first exec, page cache)
        for _ in range(3):
            one_failure(d, "alice", "warm-up-wrong")
            one_failure(d, "nosuchuser", "warm-up-wrong")
        wrong, unknown = [], []
        for i in range(n):
            pw = "Wrong-pw-%04d" % i
            if i % 2 == 0:
                wrong.append(one_failure(d, "alice", pw))
                unknown.append(one_failure(d, "nosuchuser%d" % i, pw))
            else:
                unknown.append(one_failure(d, "nosuchuser%d" % i, pw))
                wrong.append(one_failure(d, "alice", pw))
        print("privpop failed-login timing (auth_fail_delay_ms=%d, "
              "penalties off, yescrypt user)" % args.fail_delay_ms)
        summary("wrong password (alice)", wrong)
        summary("unknown user", unknown)
        mw, mu = statistics.median(wrong), statistics.median(unknown)
        print("ratio of medians wrong/unknown: %.3f" % (mw / mu if mu else
                                                         float("inf")))
    finally:
        ctx.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
