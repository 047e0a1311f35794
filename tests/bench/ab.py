"""A/B of two privpopd variants in alternating rounds of popload's
login-plain, tls and download-maildir scenarios, as run-bench.py runs
them (no Dovecot): medians per side and the ratio B/A.

Two builds (before and after a change):
    sudo AB_A=BUILD_A AB_B=BUILD_B AB_ROUNDS=4 python3 tests/bench/ab.py
One build, two configuration lines (e.g. the seccomp filters):
    sudo AB_BUILD=BUILD AB_CONF_A="seccomp = no" AB_CONF_B="seccomp = yes" \\
        AB_ROUNDS=4 python3 tests/bench/ab.py

(each BUILD with bench-popload built: make bench-popload; the load
generator of side A is used for both.)"""
import builtins, importlib.util, json, os, shutil, statistics, sys, time

spec = importlib.util.spec_from_file_location(
    "rb", os.path.join(os.path.dirname(os.path.abspath(__file__)), "run-bench.py"))
rb = importlib.util.module_from_spec(spec)
sys.argv = ["rb"]
spec.loader.exec_module(rb)

builds = {"A": os.environ.get("AB_A") or os.environ["AB_BUILD"],
          "B": os.environ.get("AB_B") or os.environ["AB_BUILD"]}
confs = {"A": os.environ.get("AB_CONF_A", ""),
         "B": os.environ.get("AB_CONF_B", "")}
rounds = int(os.environ.get("AB_ROUNDS", "4"))
rb.P["login_secs"] = float(os.environ.get("AB_LOGIN_SECS", "6"))
rb.P["dl_secs"] = float(os.environ.get("AB_DL_SECS", "5"))


class Args:
    build_dir = builds["A"]
    popload = os.path.join(builds["A"], "bench-popload")


class PP(rb.Privpop):
    """run-bench's privpop, with the side's build and extra config line"""
    side = "A"

    def start(self):
        self.build = os.path.abspath(builds[self.side])
        extra = confs[self.side]
        orig = open

        def patched(path, mode="r", *a, **k):
            f = orig(path, mode, *a, **k)
            if path == self.conf and "w" in mode and extra:
                w = f.write

                def write(s, _done=[False]):
                    if not _done[0]:
                        _done[0] = True
                        w(extra + "\n")
                    return w(s)
                f.write = write
            return f
        builtins.open = patched
        try:
            rb.Privpop.start(self)
        finally:
            builtins.open = orig


work = "/var/tmp/privpop-ab"
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

res = {"A": {}, "B": {}}
for r in range(rounds):
    order = ["A", "B"] if r % 2 == 0 else ["B", "A"]
    for mode in order:
        pp.side = mode
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
            print("round %d %s %s %s errors=%s" % (
                r + 1, mode, scen, fig, out["errors"]), flush=True)
        pp.stop()
print("AB " + json.dumps(res))
print("A: %s %s\nB: %s %s" % (builds["A"], confs["A"], builds["B"],
                                confs["B"]))
for scen in res["A"]:
    a, b = statistics.median(res["A"][scen]), statistics.median(res["B"][scen])
    print("%-18s A %8.1f  B %8.1f  B/A %.3f  (A %s; B %s)" % (
        scen, a, b, b / a, res["A"][scen], res["B"][scen]))
