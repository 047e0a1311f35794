"""The README's first command as a new user runs it: `bash
scripts/demo.sh` on a copy of the source tree (it builds, starts the demo
server and says "running" only after real logins), then curl, fetchmail
and mpop fetch the demo mailbox over the plain port, STLS and implicit
TLS, with the certificate checked.  In the gcc run a syslog daemon
listens on /dev/log (the run's own), as on every host, which is where
the worst bug so far only showed.
"""
import os
import re
import signal
import subprocess

import clients
import e2e_util as U
from e2e_util import check
from registry import test

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.abspath(os.path.join(HERE, "..", ".."))
SUBJECTS = (b"Subject: Welcome to privpop", b"Subject: A second message",
            b"Subject: No final newline")


def copy_source(dst):
    """The tracked files (or, without git, the tree less build output),
    so the copy builds as a fresh checkout does."""
    if os.path.isdir(os.path.join(SRC, ".git")):
        files = subprocess.run(
            ["git", "-C", SRC, "ls-files", "-z", "--cached", "--others",
             "--exclude-standard"], stdout=subprocess.PIPE, timeout=60,
            check=True).stdout
        tar = subprocess.Popen(["tar", "cf", "-", "--null", "-T", "-"],
                               cwd=SRC, stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE)
        untar = subprocess.Popen(["tar", "xf", "-"], cwd=dst,
                                 stdin=tar.stdout)
        tar.stdout.close()
        tar.communicate(files, timeout=120)
        untar.wait(timeout=120)
    else:
        subprocess.run(["cp", "-a", SRC + "/.", dst], timeout=120,
                       check=True)
        subprocess.run(["make", "-C", dst, "distclean"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       timeout=120)


@test("readme_demo_script_then_curl_fetchmail_mpop")
def t_demo(ctx):
    src = ctx.new_tmpdir("demo-src")
    copy_source(src)
    demo = os.path.join(ctx.new_tmpdir("demo-run"), "demo")
    port, tls_port = U.free_port(), U.free_port()
    env = dict(os.environ, PRIVPOP_DEMO_DIR=demo,
               PRIVPOP_DEMO_PORT=str(port),
               PRIVPOP_DEMO_TLS_PORT=str(tls_port))
    pidfile = os.path.join(demo, "privpopd.pid")
    try:
        r = subprocess.run(["bash", "scripts/demo.sh"], cwd=src, env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=600)
        out = r.stdout.decode("utf-8", "replace")
        check(r.returncode == 0, "demo.sh exited %d:\n%s"
              % (r.returncode, out[-2000:]))
        check("privpop is running" in out and
              "a login worked over the plain port, STLS and implicit TLS"
              in out, "demo.sh did not report a working server:\n%s"
              % out[-1500:])
        # what it tells the user to run works as printed
        m = re.search(r"curl pop3://127\.0\.0\.1:(\d+)/1 -u demo:demo", out)
        check(m and int(m.group(1)) == port,
              "demo.sh does not print the curl line for port %d" % port)
        cafile = os.path.join(demo, "cert.pem")
        for mode in clients.MODES:
            p = tls_port if mode == "tls" else port
            got = clients.curl_retr(mode, U.HOST, p, "demo", "demo", cafile)
            check(SUBJECTS[0] in got, "curl %s: message 1 is %r"
                  % (mode, got[:200]))
            for name, fn in (("fetchmail", clients.fetchmail_all),
                             ("mpop", clients.mpop_all)):
                got = fn(mode, U.HOST, p, "demo", "demo", cafile,
                         ctx.new_tmpdir(name))
                for s in SUBJECTS:
                    check(s in got, "%s %s: %r not delivered (got %d "
                          "bytes)" % (name, mode, s, len(got)))
        if ctx.syslog is not None:
            check(any("privpopd" in l and "started:" in l
                      for l in ctx.syslog.lines_since(0)),
                  "the demo server's start did not reach /dev/log")
    finally:
        try:
            with open(pidfile) as f:
                pid = int(f.read().strip())
            tree = U.descendants_of(pid)
            os.kill(pid, signal.SIGTERM)
            U.wait_until(lambda: not U.pid_alive(pid), 15)
            U.kill_pids(tree, 3)
        except (OSError, ValueError):
            pass
