#!/usr/bin/env python3
"""End-to-end tests of privpop.

    python3 tests/e2e/run_e2e.py [--build-dir DIR] [-k SUBSTRING] [--keep]
                                 [--no-syslog]

Each test starts its own privpopd on 127.0.0.1 with a free port in its
own temporary directory and stops every process it started by PID.
As root the whole run happens in a private mount namespace with a
syslog receiver of its own on /dev/log, as on a real host (see
syslog_ns.py); --no-syslog runs where nothing listens there.
Prints "PASS name" / "FAIL name: reason" per test, then "N passed, M
failed"; exits 1 if any test failed.
"""
import argparse
import os
import shutil
import sys
import tempfile
import time
import traceback

sys.dont_write_bytecode = True  # keep the source tree clean
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import e2e_util as U  # noqa: E402
import syslog_ns  # noqa: E402
import tests_pop3  # noqa: E402,F401  (registers tests)
import tests_system  # noqa: E402,F401
import tests_mbox  # noqa: E402,F401
import tests_tls  # noqa: E402,F401
import tests_keyoracle  # noqa: E402,F401
import tests_auth  # noqa: E402,F401
import tests_hostenv  # noqa: E402,F401
import tests_readme  # noqa: E402,F401
import tests_install  # noqa: E402,F401
import tests_mechanisms  # noqa: E402,F401
import tests_expire  # noqa: E402,F401
import tests_migrate  # noqa: E402,F401
import tests_errors  # noqa: E402,F401
import tests_store_sec  # noqa: E402,F401
import tests_authsec  # noqa: E402,F401
import tests_ptrace  # noqa: E402,F401
import tests_preauth  # noqa: E402,F401
import tests_seccomp  # noqa: E402,F401
import tests_fail2ban  # noqa: E402,F401
import tests_transcript  # noqa: E402,F401
import tests_crash  # noqa: E402,F401
import tests_proctitle  # noqa: E402,F401
import tests_ctl  # noqa: E402,F401
import tests_metrics  # noqa: E402,F401
import tests_utf8  # noqa: E402,F401
import tests_proxy  # noqa: E402,F401
import tests_nodes  # noqa: E402,F401
from registry import TESTS  # noqa: E402


class Context:
    def __init__(self, build_dir, keep):
        self.build_dir = build_dir
        self.keep = keep
        self.is_root = os.geteuid() == 0
        self.sysusers = {}
        self.base = tempfile.mkdtemp(prefix="privpop-e2e-")
        os.chmod(self.base, 0o755)
        self.daemons = []
        self.tmpdirs = []
        self.notes = []
        self.syslog = None      # a syslog_ns.Receiver, or None

    def setup(self):
        if self.is_root:
            for name in ("privpop", "pptest1", "pptest2"):
                self.sysusers[name] = U.ensure_system_user(name)
            if not os.path.isdir(U.CHROOT_DIR):
                os.makedirs(U.CHROOT_DIR, 0o755)
        for b in ("privpopd", "privpop-auth", "privpop-store",
                  "privpop-passwd"):
            p = os.path.join(self.build_dir, b)
            if not os.access(p, os.X_OK):
                sys.exit("run_e2e: %s is missing; build first "
                         "(autoreconf -fi && ./configure && make)" % p)
        if self.is_root:
            # privpop-store runs as the mailbox owner: it must be able to
            # reach the binary (a 0700 mktemp dir on the way breaks that)
            d = self.build_dir
            while d != "/":
                if not os.stat(d).st_mode & 0o001:
                    sys.exit("run_e2e: %s is not searchable by other users;"
                             " privpop-store could not be executed" % d)
                d = os.path.dirname(d)

    def new_tmpdir(self, name):
        d = tempfile.mkdtemp(prefix=name + "-", dir=self.base)
        os.chmod(d, 0o755)
        self.tmpdirs.append(d)
        return d

    def register_daemon(self, d):
        self.daemons.append(d)

    def note(self, msg):
        self.notes.append(msg)

    def end_test(self, failed):
        logs = []
        for d in self.daemons:
            try:
                d.stop()
            except Exception as e:  # keep cleaning up
                logs.append("(stopping daemon: %r)" % e)
            logs.append((d, d.log_text()))
        # Anything still below us (orphaned helpers, clients) is ours.
        left = U.descendants_of(os.getpid())
        if left:
            U.kill_pids(left, 3)
        if failed:
            for item in logs:
                if isinstance(item, str):
                    print("    " + item)
                    continue
                d, text = item
                print("    --- daemon log (%s, port %s) ---" %
                      (d.dir, d.port))
                for line in text.splitlines()[-80:]:
                    print("    | " + line)
            if self.syslog is not None:
                print("    --- syslog (last 30 lines) ---")
                for line in self.syslog.lines_since(0)[-30:]:
                    print("    | " + line)
            for n in self.notes:
                print("    note: " + n)
        if not self.keep:
            for t in self.tmpdirs:
                shutil.rmtree(t, ignore_errors=True)
        self.daemons = []
        self.tmpdirs = []
        self.notes = []

    def cleanup(self):
        if not self.keep:
            shutil.rmtree(self.base, ignore_errors=True)


SANITIZER_MARKS = ("ERROR: AddressSanitizer", "runtime error:",
                   "ERROR: LeakSanitizer", "exited with status 99")


def sanitizer_report(ctx):
    """The first sanitizer line in any daemon log of this test, or ''.
    (run-all.sh sets ASAN_OPTIONS exitcode=99, which the master logs.)"""
    for d in ctx.daemons:
        try:
            d.stop()
        except Exception:
            pass
        for line in d.log_text().splitlines():
            if any(m in line for m in SANITIZER_MARKS):
                return line.strip()
    return ""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build-dir",
                    default=os.path.abspath(os.path.join(HERE, "..", "..")))
    ap.add_argument("-k", dest="select", action="append", default=[],
                    help="run only tests whose name contains this")
    ap.add_argument("--keep", action="store_true",
                    help="keep the temporary directories")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--no-syslog", action="store_true",
                    help="run where nothing listens on /dev/log (by "
                    "default, as root, a receiver of the suite's own "
                    "listens there in a private mount namespace)")
    ap.add_argument("--sanitizers", action="store_true",
                    help="fail a test whose daemon log shows an ASan or "
                    "UBSan report (for a -fsanitize build)")
    args = ap.parse_args()

    if args.list:
        for name, _ in TESTS:
            print(name)
        return 0
    build_dir = os.path.abspath(args.build_dir)
    if not args.no_syslog and not syslog_ns.in_namespace():
        why = syslog_ns.enter(sys.argv)    # returns only if it cannot
        print("syslog: cannot give the suite its own /dev/log (%s); "
              "running without a syslog receiver" % why, flush=True)
    U.set_subreaper()
    ctx = Context(build_dir, args.keep)
    if syslog_ns.in_namespace() and not args.no_syslog:
        ctx.syslog = syslog_ns.start(ctx.new_tmpdir("syslog"))
        ctx.tmpdirs.pop()       # kept for the whole run
        print("syslog: a receiver on /dev/log in a private mount "
              "namespace (%s)" % ctx.syslog.path, flush=True)
    else:
        print("syslog: nothing listens on /dev/log in this run",
              flush=True)
    os.environ["PRIVPOP_E2E_SYSLOG"] = "1" if ctx.syslog else "0"
    ctx.setup()
    passed = failed = skipped = 0
    if args.sanitizers:
        os.environ["PRIVPOP_E2E_SANITIZERS"] = "1"
    t0 = time.monotonic()
    for name, fn in TESTS:
        if args.select and not any(s in name for s in args.select):
            continue
        ok = False
        reason = ""
        try:
            fn(ctx)
            ok = True
        except U.TestSkip as e:
            print("SKIP %s: %s" % (name, e), flush=True)
            skipped += 1
            ctx.end_test(False)
            continue
        except U.TestFailure as e:
            reason = str(e)
        except U.Pop3Error as e:
            reason = "POP3: %s" % e
        except Exception as e:
            reason = "%s: %s" % (type(e).__name__, e)
            tb = traceback.format_exc().rstrip().splitlines()
            ctx.note("traceback:\n      " + "\n      ".join(tb[-8:]))
        if ok and args.sanitizers:
            report = sanitizer_report(ctx)
            if report:
                ok = False
                reason = "sanitizer report: " + report
        if ok:
            print("PASS %s" % name, flush=True)
            passed += 1
        else:
            print("FAIL %s: %s" % (name, reason.replace("\n", " | ")),
                  flush=True)
            failed += 1
        ctx.end_test(not ok)
        sys.stdout.flush()
    if ctx.syslog is not None:
        ctx.syslog.close()
    ctx.cleanup()
    print("%d passed, %d failed, %d skipped" % (passed, failed, skipped))
    sys.stderr.write("(e2e took %.1fs)\n" % (time.monotonic() - t0))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
