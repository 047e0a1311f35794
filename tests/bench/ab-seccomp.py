"""A/B of the seccomp filters: one privpopd build, seccomp = no (A) and
yes (B) in alternating rounds, popload's login-plain, tls and
download-maildir scenarios as run-bench.py runs them (no Dovecot).

    sudo AB_BUILD=BUILDDIR AB_ROUNDS=4 python3 tests/bench/ab-seccomp.py

(BUILDDIR with bench-popload built: make bench-popload.)"""
import importlib.util, json, os, statistics, sys, time

spec = importlib.util.spec_from_file_location(
    "rb", os.path.join(os.path.dirname(os.path.abspath(__file__)), "run-bench.py"))
rb = importlib.util.module_from_spec(spec)
sys.argv = ["rb"]
spec.loader.exec_module(rb)

build = sys.argv_build if hasattr(sys, "argv_build") else os.environ["AB_BUILD"]
rounds = int(os.environ.get("AB_ROUNDS", "4"))
rb.P["login_secs"] = float(os.environ.get("AB_LOGIN_SECS", "6"))
rb.P["dl_secs"] = float(os.environ.get("AB_DL_SECS", "5"))


class Args:
    build_dir = build
    popload = os.path.join(build, "bench-popload")


class PP(rb.Privpop):
    seccomp = "yes"

    def start(self):
        orig = open

        def patched(path, mode="r", *a, **k):
            f = orig(path, mode, *a, **k)
            if path == self.conf and "w" in mode:
                w = f.write

                def write(s, _done=[False]):
                    if not _done[0]:
                        _done[0] = True
                        w("seccomp = %s\n" % self.seccomp)
                    return w(s)
                f.write = write
            return f
        import builtins
        builtins.open = patched
        try:
            rb.Privpop.start(self)
        finally:
            builtins.open = orig


work = "/var/tmp/privpop-ab"
import shutil
if os.path.isdir(work):
    shutil.rmtree(work)
os.makedirs(os.path.join(work, "homes", "pp"))
os.makedirs(os.path.join(work, "homes", "dc"))
for d in (work, work + "/homes", work + "/homes/pp", work + "/homes/dc"):
    os.chmod(d, 0o755)
rb.ensure_user("privpop")
owner = rb.ensure_user(rb.MAILOWNER)
os.makedirs(rb.CHROOT, exist_ok=True)
layout = rb.Layout(work, owner)
cert, key = work + "/cert.pem", work + "/key.pem"
rb.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
        key, "-out", cert, "-days", "2", "-subj", "/CN=bench.example.org"])
os.chmod(key, 0o600)
pp = PP(Args, work, cert, key)
plain = "{PLAIN}" + rb.PASSWORD
small = [rb.message(i, 1024, "login") for i in range(rb.P["login_msgs"])]
dl = [rb.message(i, rb.P["dl_size"], "dl") for i in range(rb.P["dl_msgs"])]
for i in range(rb.P["login_clients"]):
    layout.make_maildir("pp", "lp%d" % i, small)
    pp.add_user("lp%d" % i, plain, owner.pw_uid, owner.pw_gid,
                layout.home("pp", "lp%d" % i), "maildir:~/Maildir")
for i in range(rb.P["dl_clients"]):
    layout.make_maildir("pp", "dm%d" % i, dl)
    pp.add_user("dm%d" % i, plain, owner.pw_uid, owner.pw_gid,
                layout.home("pp", "dm%d" % i), "maildir:~/Maildir")

res = {"no": {}, "yes": {}}
for r in range(rounds):
    order = ["no", "yes"] if r % 2 == 0 else ["yes", "no"]
    for mode in order:
        pp.seccomp = mode
        pp.start()
        time.sleep(1)
        rb.popload(Args, ["-m", "login", "-p", str(pp.port), "-c", "50", "-d",
                          "1", "-T", "30", "-u", "lp%d", "-w", rb.PASSWORD],
                   60)
        for scen, fn in (("login-plain", rb.sc_login), ("tls", rb.sc_login),
                         ("download-maildir", rb.sc_download)):
            out = fn(Args, pp, scen)
            fig = out.get("sessions_per_s") or out.get("mb_per_s")
            res[mode].setdefault(scen, []).append(fig)
            print("round %d seccomp=%s %s %s errors=%s" % (
                r + 1, mode, scen, fig, out["errors"]), flush=True)
        pp.stop()
print("AB " + json.dumps(res))
for scen in res["no"]:
    a, b = statistics.median(res["no"][scen]), statistics.median(res["yes"][scen])
    print("%-18s off %8.1f  on %8.1f  on/off %.3f  (off %s; on %s)" % (
        scen, a, b, b / a, res["no"][scen], res["yes"][scen]))
