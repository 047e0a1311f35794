"""Real POP3 clients as admins' users run them: curl, fetchmail and mpop,
each over the plain port, STLS and implicit TLS, checking the
certificate against a CA file.  Each function fetches every message
(keeping them on the server) and returns the bytes delivered; it raises
U.TestFailure with the client's own words when the client fails.
"""
import os
import shutil
import subprocess

import e2e_util as U

MODES = ("plain", "stls", "tls")


def _run(argv, what, timeout=60, env=None, cwd=None):
    try:
        r = subprocess.run(argv, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=timeout, env=env,
                           cwd=cwd)
    except subprocess.TimeoutExpired:
        raise U.TestFailure("%s timed out after %ss" % (what, timeout))
    if r.returncode != 0:
        raise U.TestFailure("%s exited %d: %s" % (
            what, r.returncode,
            (r.stdout + r.stderr)[-700:].decode("utf-8", "replace")))
    return r


def need(prog):
    if not shutil.which(prog):
        raise U.TestFailure("%s is not installed (scripts/install-deps.sh "
                            "installs it)" % prog)


def curl_retr(mode, host, port, user, password, cafile, msg=1):
    """RETR msg with curl; returns the message as curl prints it."""
    need("curl")
    scheme = "pop3s" if mode == "tls" else "pop3"
    argv = ["curl", "-s", "-S", "--max-time", "20", "--cacert", cafile,
            "%s://%s:%d/%d" % (scheme, host, port, msg),
            "-u", "%s:%s" % (user, password)]
    if mode == "stls":
        argv.append("--ssl-reqd")
    return _run(argv, "curl (%s)" % mode).stdout


def fetchmail_all(mode, host, port, user, password, cafile, workdir):
    """Every message with fetchmail --keep; returns the delivered
    bytes (an mbox written by the --mda)."""
    need("fetchmail")
    home = os.path.join(workdir, "fetchmail-" + mode)
    os.makedirs(home, exist_ok=True)
    out = os.path.join(home, "delivered")
    rc = os.path.join(home, "fetchmailrc")
    # fetchmail matches the certificate's DNS names, not an IP address
    ssl = {"plain": "",
           "stls": "sslproto tls1.2+ sslcertck sslcommonname localhost",
           "tls": "ssl sslcertck sslcommonname localhost"}[mode]
    with open(rc, "w") as f:
        f.write("set no bouncemail\n"
                "defaults no mimedecode\n"
                "poll localhost via %s service %d protocol pop3 timeout 20\n"
                "  user \"%s\" password \"%s\" is \"%s\" here\n"
                "  keep %s%s\n"
                % (host, port, user, password,
                   os.environ.get("USER", "root"), ssl,
                   (" sslcertfile \"%s\"" % cafile) if ssl else ""))
    os.chmod(rc, 0o600)
    env = dict(os.environ, HOME=home, FETCHMAILHOME=home)
    argv = ["fetchmail", "-f", rc, "--nosyslog", "-v", "--pidfile",
            os.path.join(home, "fm.pid"), "--mda", "cat >> " + out]
    if mode == "plain":
        argv += ["--sslproto", ""]     # not even opportunistic STLS
    _run(argv, "fetchmail (%s)" % mode, env=env, cwd=home)
    with open(out, "rb") as f:
        return f.read()


def mpop_all(mode, host, port, user, password, cafile, workdir):
    """Every message with mpop (keep on, only_new off); returns the
    delivered mbox."""
    need("mpop")
    home = os.path.join(workdir, "mpop-" + mode)
    os.makedirs(home, exist_ok=True)
    out = os.path.join(home, "delivered")
    open(out, "wb").close()
    rc = os.path.join(home, "mpoprc")
    with open(rc, "w") as f:
        f.write("defaults\n"
                "timeout 20\n"
                "uidls_file %s/uidls\n"
                "account test\n"
                "host %s\nport %d\nuser %s\npassword %s\n"
                "tls %s\ntls_starttls %s\n%s%s"
                "delivery mbox %s\nkeep on\nonly_new off\n"
                % (home, host, port, user, password,
                   "off" if mode == "plain" else "on",
                   "on" if mode == "stls" else "off",
                   "" if mode == "plain" else "tls_trust_file %s\n" % cafile,
                   # without TLS mpop only picks a challenge method
                   # unless told that USER/PASS is wanted
                   "auth user\n" if mode == "plain" else "",
                   out))
    os.chmod(rc, 0o600)
    env = dict(os.environ, HOME=home)
    _run(["mpop", "-C", rc, "-q", "test"], "mpop (%s)" % mode, env=env,
         cwd=home)
    with open(out, "rb") as f:
        return f.read()
