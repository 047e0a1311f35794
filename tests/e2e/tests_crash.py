"""Crash safety of a Maildir expunge (issue 19): a worker killed with
SIGKILL in the middle of the expunge that QUIT starts leaves a journal
of the names it was removing, and the next login finishes the expunge
before it lists anything, so none of the deleted messages comes back.
The kill point is made exact by a test hook (a build with
--enable-test-hooks): the expunge stops halfway while a file
.privpop-test-expunge-stall is in the Maildir."""
import os
import signal

import e2e_util as U
from e2e_util import check, check_eq
from registry import test

from tests_pop3 import small_msgs, std_daemon
from tests_seccomp import built_with_hooks

N = 300
STALL = ".privpop-test-expunge-stall"
JOURNAL = ".privpop-expunge"


def on_disk(u):
    return sorted(os.listdir(os.path.join(u.maildir, "cur")) +
                  os.listdir(os.path.join(u.maildir, "new")))


@test("maildir_expunge_killed_midway_finished_at_next_login")
def t_expunge_killed(ctx):
    if not built_with_hooks(ctx):
        raise U.TestSkip("needs a build with --enable-test-hooks (the "
                         "expunge stall); the unit test test_maildir "
                         "covers the journal in every build")
    msgs = small_msgs(N, "crash")
    # keep two: they must survive everything
    d, u = std_daemon(ctx, "crash", messages=msgs)
    check_eq(len(on_disk(u)), N, "messages delivered")
    stall = os.path.join(u.maildir, STALL)
    with open(stall, "w"):
        pass
    u._own(stall)
    c = d.session("alice")
    with c:
        check(c.cmd("STAT").startswith(b"+OK %d " % N), "STAT")
        c.send("".join("DELE %d\r\n" % i for i in range(3, N + 1)))
        for i in range(3, N + 1):
            r = c.readline()
            check(r.startswith(b"+OK"), "DELE %d: %r" % (i, r))
        c.send("QUIT\r\n")
        # the worker stops halfway through its unlinks
        half = (N - 2) // 2
        check(U.wait_until(lambda: len(on_disk(u)) == N - half, 20),
              "the expunge did not stall halfway (%d files)"
              % len(on_disk(u)))
        check(os.path.exists(os.path.join(u.maildir, JOURNAL)),
              "no expunge journal while the expunge runs")
        workers = U.store_workers(d.pid())
        check_eq(len(workers), 1, "store workers")
        os.kill(workers[0], signal.SIGKILL)
        r = c.readline(timeout=10)
        check(not r.startswith(b"+OK"), "QUIT answered +OK after the "
              "worker was killed: %r" % r)
    check(U.wait_until(lambda: not U.store_workers(d.pid()), 10),
          "the killed worker's session is still there")
    os.unlink(stall)
    check_eq(len(on_disk(u)), N - half, "files left by the cut expunge")
    # the next login: only the two kept
    with d.session("alice") as c2:
        r = c2.cmd("STAT")
        check(r.startswith(b"+OK 2 "), "STAT after the cut expunge: %r "
              "(deleted messages came back)" % r)
        check(c2.cmd("UIDL").startswith(b"+OK"), "UIDL")
        lines = c2.multi().split(b"\r\n")
        check_eq(len([l for l in lines if l and l != b"."]), 2,
                 "UIDL lines")
        c2.cmd("QUIT")
    check_eq(len(on_disk(u)), 2, "files after the next login")
    check(not os.path.exists(os.path.join(u.maildir, JOURNAL)),
          "the journal is still there")
    check(U.wait_until(lambda: "finished an expunge that was cut short" in
                       d.log_text() or (ctx.syslog is not None and any(
                           "finished an expunge that was cut short" in l
                           for l in ctx.syslog.lines_since(0))), 5),
          "no log line saying the expunge was finished")
    d.stop()
