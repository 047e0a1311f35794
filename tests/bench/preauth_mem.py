#!/usr/bin/env python3
"""What an idle, unauthenticated connection costs: processes and PSS.

    sudo python3 tests/bench/preauth_mem.py --build-dir DIR [-n 200]
        [-o key=value ...]

Starts privpopd (this build) on 127.0.0.1 with a free port, measures
the processes below the master and their PSS (/proc/PID/smaps_rollup),
opens N connections that read the greeting and then stay silent,
measures again and prints the difference per connection, by role.
Stops everything it started by PID.
"""
import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
import e2e_util as U  # noqa: E402


def pss_kb(pid):
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def census(master):
    """{role: [count, pss_kb]} for the master and every descendant."""
    out = {}
    for pid in [master] + sorted(U.descendants_of(master)):
        role = os.path.basename(U.exe_of(pid) or "?")
        if role == "privpopd" and pid != master:
            role = "privpopd (slot)"
        c = out.setdefault(role, [0, 0])
        c[0] += 1
        c[1] += pss_kb(pid)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build-dir", required=True)
    ap.add_argument("-n", type=int, default=200)
    ap.add_argument("-o", action="append", default=[],
                    help="key=value for the configuration (repeatable)")
    a = ap.parse_args()
    bd = os.path.abspath(a.build_dir)
    d = tempfile.mkdtemp(prefix="preauth-mem-")
    os.chmod(d, 0o755)
    port = U.free_port()
    conf = os.path.join(d, "privpopd.conf")
    with open(conf, "w") as f:
        f.write("listen = 127.0.0.1:%d\n" % port)
        f.write("passwd_file = %s/passwd\n" % d)
        f.write("chroot = %s\n" % U.CHROOT_DIR)
        f.write("auth_helper = %s/privpop-auth\n" % bd)
        f.write("store_helper = %s/privpop-store\n" % bd)
        f.write("pid_file = %s/pid\n" % d)
        f.write("max_sessions = %d\n" % (a.n + 8))
        f.write("prefork = 4\n")
        for kv in a.o:
            f.write(kv.replace("=", " = ", 1) + "\n")
    with open(os.path.join(d, "passwd"), "w") as f:
        f.write("")
    p = subprocess.Popen([os.path.join(bd, "privpopd"), "-f", "-c", conf],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    conns = []
    try:
        time.sleep(1.5)
        base = census(p.pid)
        for _ in range(a.n):
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
            conns.append(s)
            g = s.recv(512)
            if not g.startswith(b"+OK"):
                sys.exit("no greeting: %r" % g)
        time.sleep(2)
        full = census(p.pid)
        tot0 = [sum(v[0] for v in base.values()),
                sum(v[1] for v in base.values())]
        tot1 = [sum(v[0] for v in full.values()),
                sum(v[1] for v in full.values())]
        print("%d idle pre-auth connections" % a.n)
        for role in sorted(set(base) | set(full)):
            b = base.get(role, [0, 0])
            f = full.get(role, [0, 0])
            print("  %-18s procs %4d -> %4d   PSS %7d kB -> %7d kB" %
                  (role, b[0], f[0], b[1], f[1]))
        print("per connection: %.2f processes, %.0f kB PSS" %
              ((tot1[0] - tot0[0]) / a.n, (tot1[1] - tot0[1]) / a.n))
    finally:
        for s in conns:
            s.close()
        tree = U.descendants_of(p.pid)
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(15)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        U.kill_pids(tree, 3)
        subprocess.call(["rm", "-rf", d])
    return 0


if __name__ == "__main__":
    sys.exit(main())
