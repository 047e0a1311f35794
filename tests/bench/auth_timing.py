#!/usr/bin/env python3
"""How long a failed login takes, by kind of user and by method: a
benchmark of user enumeration by timing, not a test (it asserts
nothing).

    python3 tests/bench/auth_timing.py [--build-dir DIR] [-n 40]
        [--fail-delay-ms 300] [--keep]

Starts privpopd the way the e2e tests do (tests/e2e/e2e_util.py: its own
temporary directory, a free port on 127.0.0.1, every process stopped by
PID) with auth_penalty_base_ms = 0, so the growing per-address penalty
does not mask the difference, and auth_fail_delay_ms as given (0: the
raw cost of each check).  Classes, each a new connection, interleaved
round by round so drift affects all alike:

    PASS  unknown user, {PLAIN}, yescrypt, {SCRAM-SHA-256}, PAM
    APOP  unknown user, {PLAIN}
    AUTH  SCRAM-SHA-256 (unknown, {PLAIN}, stored keys), PLAIN (unknown,
          yescrypt)

Prints each class's median and quartiles, and for every class the
difference of its median from the unknown user's of the same method,
with a 95% bootstrap interval: an interval that excludes 0 means a
remote client can tell that kind of user from an unknown one.
"""
import argparse
import hashlib
import os
import random
import shutil
import statistics
import sys
import tempfile
import time

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))

import e2e_util as U  # noqa: E402
import auth_util as A  # noqa: E402


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


def attempt(d, how, user, password):
    """One failed login by method how, timed from the request that
    reaches privpop-auth to its answer."""
    c = d.connect(30)
    try:
        g = c.resp()
        if not g.startswith(b"+OK"):
            raise U.Pop3Error("greeting %r" % g)
        if how == "pass":
            if not c.cmd("USER " + user).startswith(b"+OK"):
                raise U.Pop3Error("USER refused")
            t0 = time.perf_counter()
            r = c.cmd("PASS " + password, 30)
        elif how == "apop":
            stamp = A.apop_stamp(g)
            dig = hashlib.md5(stamp + password.encode()).hexdigest()
            t0 = time.perf_counter()
            r = c.cmd("APOP %s %s" % (user, dig), 30)
        elif how == "plain":
            msg = A.b64(b"\0" + user.encode() + b"\0" + password.encode())
            t0 = time.perf_counter()
            r = c.cmd("AUTH PLAIN " + msg, 30)
        else:
            # SCRAM: the client-final, whose answer is the failure
            t0 = [0.0]
            orig = c.cmd

            def timed(line, *a):
                if line.startswith("Yz1"):    # base64 of "c="
                    t0[0] = time.perf_counter()
                return orig(line, *a)
            c.cmd = timed
            r = A.sasl_scram(c, user, password).answer
            t0 = t0[0]
        dt = time.perf_counter() - t0
        if not r.startswith(b"-ERR"):
            raise U.Pop3Error("%s %s answered %r" % (how, user, r))
        return dt
    finally:
        c.close()


def bootstrap_diff(xs, ys, rounds=2000, seed=15):
    """Median of xs minus median of ys, and its 95% interval."""
    rnd = random.Random(seed)
    ds = sorted(statistics.median(rnd.choices(xs, k=len(xs))) -
                statistics.median(rnd.choices(ys, k=len(ys)))
                for _ in range(rounds))
    return (statistics.median(xs) - statistics.median(ys),
            ds[int(0.025 * rounds)], ds[int(0.975 * rounds) - 1])


def summary(name, xs):
    q = statistics.quantiles(xs, n=4) if len(xs) >= 2 else [xs[0]] * 3
    print("%-28s n=%-3d median %8.2f ms  (q1 %.2f, q3 %.2f, min %.2f, "
          "max %.2f)" % (name, len(xs), statistics.median(xs) * 1000,
                         q[0] * 1000, q[2] * 1000, min(xs) * 1000,
                         max(xs) * 1000))


# (class name, method, user, password) in the order of a round; the
# first of each method is the unknown user the others are compared to
CLASSES = [
    ("PASS unknown", "pass", "nosuchuser", None),
    ("PASS {PLAIN}", "pass", "bob", None),
    ("PASS yescrypt", "pass", "alice", None),
    ("PASS {SCRAM-SHA-256}", "pass", "carol", None),
    ("PASS PAM", "pass", "pptest1", None),
    ("APOP unknown", "apop", "nosuchuser", None),
    ("APOP {PLAIN}", "apop", "bob", None),
    ("AUTH SCRAM unknown", "scram", "nosuchuser", None),
    ("AUTH SCRAM {PLAIN}", "scram", "bob", None),
    ("AUTH SCRAM stored", "scram", "carol", None),
    ("AUTH PLAIN unknown", "plain", "nosuchuser", None),
    ("AUTH PLAIN yescrypt", "plain", "alice", None),
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build-dir", default=os.path.abspath(
        os.path.join(HERE, "..", "..")))
    ap.add_argument("-n", type=int, default=40)
    ap.add_argument("--fail-delay-ms", type=int, default=300)
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
            "auth_mechanisms": "USER PLAIN LOGIN CRAM-MD5 SCRAM-SHA-256 "
                               "APOP",
            "plaintext_auth": "always",
            "max_auth_fails": "3",
        }, prefork=4)
        d.add_user("alice", "Bench-auth-pw-1")   # yescrypt
        d.add_user("bob", "Bench-plain-pw-2", plain=True)
        A.add_user_line(d, "carol", "Bench-scram-pw-3",
                        scheme="scram-sha-256")
        d.start()
        for _, how, user, _ in CLASSES:     # warm up
            attempt(d, how, user, "warm-up-wrong")
        times = {name: [] for name, _, _, _ in CLASSES}
        for i in range(n):
            order = CLASSES if i % 2 == 0 else CLASSES[::-1]
            for name, how, user, _ in order:
                times[name].append(attempt(d, how, user,
                                           "Wrong-pw-%04d" % i))
        print("privpop failed-login timing (auth_fail_delay_ms=%d, "
              "penalties off, n=%d per class)" % (args.fail_delay_ms, n))
        base = {}
        for name, how, _, _ in CLASSES:
            summary(name, times[name])
            base.setdefault(how, name)
        print("difference of medians from the unknown user's, same "
              "method (95% bootstrap interval):")
        for name, how, _, _ in CLASSES:
            if base[how] == name:
                continue
            dm, lo, hi = bootstrap_diff(times[name], times[base[how]])
            print("  %-22s %+8.2f ms  [%+.2f, %+.2f]%s" % (
                name, dm * 1000, lo * 1000, hi * 1000,
                "" if lo <= 0 <= hi else "  <- tells apart"))
    finally:
        ctx.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
