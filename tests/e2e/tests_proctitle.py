"""Process titles (issue 18): what /proc/PID/cmdline (and so ps) shows
for the master, the slot zygote, idle slots, a session child before and
after login (plain, STLS, implicit TLS; in UPDATE while QUIT commits),
its privpop-auth and its mailstore worker; with verbose_proctitle = no
no title holds a user name or an address."""
import os
import poplib
import signal

import e2e_util as U
from e2e_util import check, check_eq
from registry import test
from tests_tls import client_ctx, tls_daemon

ADDR = U.HOST


def title(pid):
    """The process title: the cmdline up to its first NUL, without the
    spaces proctitle.c pads a short title with."""
    argv = U.cmdline_of(pid)
    return argv[0].decode("utf-8", "replace").rstrip(" ") if argv else ""


def wait_title(pid, want, what, timeout=5.0):
    """A title changes as the process gets there, not as the client's
    call returns (after a handshake, an IPC message): wait for it."""
    U.wait_until(lambda: title(pid) == want, timeout)
    check_eq(title(pid), want, "title of the %s %d" % (what, pid))


def session_of(sock):
    """The session child holding the server's end of sock."""
    inode = U.wait_until(lambda: U.server_side_inode(sock), 3)
    check(inode, "server side of the connection not in /proc/net/tcp")
    holders = U.wait_until(lambda: U.holders_of_inode(inode), 3)
    check(len(holders) == 1, "client socket held by %r" % holders)
    return holders[0]


def idle_slots(d, busy=()):
    return [p for p in U.slots_of(d.pid(), d.binary()) if p not in busy]


def helper_titled(d, want):
    """The pids of the master's privpop-auth helpers with title want."""
    return [p for p in U.auth_helpers(d.pid()) if title(p) == want]


def all_titles(d):
    """(pid, title) of the master and every process below it."""
    master = d.pid()
    return [(master, title(master))] + \
        [(p, title(p)) for p in sorted(U.descendants_of(master))]


def login(p, d):
    u = d.users["alice"]
    p.user(u.name)
    p.pass_(u.password)


def check_fixed_roles(d, verbose):
    """The master, the slot zygote and the idle slots."""
    master = d.pid()
    want = "privpopd: master -c %s" % d.conf
    if verbose:
        want += " %s:%d %s:%d/tls" % (ADDR, d.port, ADDR, d.tls_port)
    check_eq(title(master), want, "title of the master")
    # the master forks the zygote after "started" (slower under ASan)
    zyg = U.wait_until(lambda: U.slot_zygote(master), 10)
    check(zyg is not None, "no slot zygote below the master")
    wait_title(zyg, "privpop: [zygote]", "slot zygote")
    idle = U.wait_until(lambda: len(idle_slots(d)) >= 2 and idle_slots(d),
                        10)
    check(idle, "no idle slots below the master")
    for p in idle:
        wait_title(p, "privpop: [idle]", "idle slot")


def one_session(d, p, tls, verbose, what):
    """Before and after login on poplib connection p (greeting read):
    the session child's, its privpop-auth's and its worker's titles."""
    t = " TLS" if tls else ""
    sess = session_of(p.sock)
    addr = ADDR + " " if verbose else ""
    wait_title(sess, "privpop: %s[AUTHORIZATION]%s" % (addr, t),
               what + " session child before login")
    want = "privpop-auth: " + (ADDR if verbose else "[session]")
    check(U.wait_until(lambda: helper_titled(d, want), 5),
          "%s: no privpop-auth titled %r: %r" % (
              what, want, [(q, title(q)) for q in U.auth_helpers(d.pid())]))
    # USER is not a login: the name the client typed is not shown
    p.user(d.users["alice"].name)
    check("alice" not in title(sess), "%s: unverified user name in the "
          "title %r" % (what, title(sess)))
    p.pass_(d.users["alice"].password)
    user = "alice " if verbose else ""
    wait_title(sess, "privpop: %s%s[TRANSACTION]%s" % (user, addr, t),
               what + " session child after login")
    workers = U.store_workers(d.pid())
    check_eq(len(workers), 1, "%s: store workers" % what)
    wait_title(workers[0], "privpop-store: %s(maildir)" % user,
               what + " store worker")
    return sess, workers[0]


def quit_in_update(p, sess, worker, verbose, tls, what):
    """QUIT while the worker is stopped: the session waits in UPDATE."""
    t = " TLS" if tls else ""
    os.kill(worker, signal.SIGSTOP)
    try:
        p.sock.sendall(b"QUIT\r\n")
        want = "privpop: %s[UPDATE]%s" % (
            "alice %s " % ADDR if verbose else "", t)
        wait_title(sess, want, what + " session child in QUIT")
    finally:
        os.kill(worker, signal.SIGCONT)
    r = p._getresp()
    check(r.startswith(b"+OK"), "%s: QUIT: %r" % (what, r))
    p.close()


def run_sessions(d, verbose):
    check_fixed_roles(d, verbose)
    cctx = client_ctx(d.cert.cert)
    # plain
    p = poplib.POP3(ADDR, d.port, timeout=10)
    try:
        sess, worker = one_session(d, p, False, verbose, "plain")
        check_eq(title(d.pid()).startswith("privpopd: master"), True,
                 "master title during a session")
        for q in idle_slots(d, (sess,)):
            wait_title(q, "privpop: [idle]", "idle slot during a session")
        if not verbose:
            leaks = [(q, s) for q, s in all_titles(d)
                     if "alice" in s or ADDR in s]
            check(not leaks, "verbose_proctitle = no, titles with the "
                  "user or the address: %r" % leaks)
        quit_in_update(p, sess, worker, verbose, False, "plain")
    finally:
        p.close()
    # STLS
    p = poplib.POP3(ADDR, d.port, timeout=10)
    try:
        p.stls(context=cctx)
        sess, worker = one_session(d, p, True, verbose, "STLS")
        quit_in_update(p, sess, worker, verbose, True, "STLS")
    finally:
        p.close()
    # implicit TLS
    p = poplib.POP3_SSL(ADDR, d.tls_port, context=cctx, timeout=10)
    try:
        sess, worker = one_session(d, p, True, verbose, "implicit TLS")
        if not verbose:
            leaks = [(q, s) for q, s in all_titles(d)
                     if "alice" in s or ADDR in s]
            check(not leaks, "verbose_proctitle = no, titles with the "
                  "user or the address: %r" % leaks)
        quit_in_update(p, sess, worker, verbose, True, "implicit TLS")
    finally:
        p.close()
    check(not d.wait_log(r"seccomp: .* killed", 0.3),
          "a role was killed by its filter:\n" + d.log_text()[-2000:])


@test("proctitle_every_role")
def t_proctitle_every_role(ctx):
    if not ctx.is_root:
        raise U.TestSkip("needs root (the roles' /proc entries)")
    d, _ = tls_daemon(ctx, "ptitle")
    run_sessions(d, True)


@test("proctitle_verbose_no_hides_user_and_address")
def t_proctitle_terse(ctx):
    if not ctx.is_root:
        raise U.TestSkip("needs root (the roles' /proc entries)")
    d, _ = tls_daemon(ctx, "ptitle-terse",
                      extra_conf={"verbose_proctitle": "no"})
    run_sessions(d, False)
