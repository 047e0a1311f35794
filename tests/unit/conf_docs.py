#!/usr/bin/env python3
"""Check that the table of configuration keys (conf_keys), the sample
configuration and privpopd.conf(5) agree.

usage: conf_docs.py CONF_KEYS_PROGRAM BUILT_SAMPLE BUILT_MAN_PAGE

The sample must show every key as "#key = default" ("#key =" when it
has none); the man page must have an ".It Cm key Ns =" entry for every
key, its default after "Default:", the range of a number as "Range MIN
to MAX", and "restart" for a key that SIGHUP does not change.  Neither
may document a key the table lacks.  Ends with "N passed, N failed".
"""
import re
import subprocess
import sys

MACROS = {"Dq", "Pa", "Cm", "Ql", "Pq", "Ns", "Ar", "Xr", "No", "Sq", "Dv",
          "Fl", "Nm", "Ic"}


def flat(lines):
    """The words of mdoc lines, without macros and lone punctuation."""
    words = []
    for line in lines:
        toks = line.split()
        if line.startswith("."):
            toks[0] = toks[0][1:]
            toks = [t for t in toks if t not in MACROS]
        words.extend(t for t in toks if t not in {".", ",", ")", "(", ";"})
    return " ".join(words).replace('"', "")


def main():
    prog, sample, man = sys.argv[1:4]
    out = subprocess.run([prog], check=True, capture_output=True,
                         text=True).stdout
    keys = [l.split("\t") for l in out.splitlines()]
    table = {k[0] for k in keys}
    problems = []

    text = open(sample).read()
    shown = set(re.findall(r"^#([a-z_0-9]+) =", text, re.M))
    man_lines = open(man).read().splitlines()
    entries, cur = {}, None
    for line in man_lines:
        m = re.match(r"\.It Cm ([a-z_0-9]+) Ns =", line)
        if m:
            cur = m.group(1)
            entries[cur] = []
            continue
        if line.startswith((".Ss", ".Sh")):
            cur = None
        if cur is not None:
            entries[cur].append(line)

    for name, default, rng, reload in keys:
        want = "#%s =%s" % (name, "" if default == "-" else " " + default)
        if not re.search("^" + re.escape(want) + "$", text, re.M):
            problems.append("%s: no line \"%s\" in the sample configuration"
                            % (name, want))
        if name not in entries:
            problems.append("%s: no \".It Cm %s Ns =\" in the man page"
                            % (name, name))
            continue
        body = flat(entries[name])
        if default != "-" and not re.search(
                r"Default: " + re.escape(default) + r"(?=[\s.,;(]|$)",
                body):
            problems.append("%s: the man page does not say \"Default: %s\""
                            % (name, default))
        elif default == "-" and "Default:" not in body:
            problems.append("%s: the man page gives no default" % name)
        m = re.match(r"(\d+)\.\.(\d+)$", rng)
        if m and "Range %s to %s" % m.groups() not in body:
            problems.append("%s: the man page does not say \"Range %s to "
                            "%s\"" % ((name,) + m.groups()))
        if reload == "restart" and "restart" not in body:
            problems.append("%s: SIGHUP does not change it, and the man "
                            "page does not say it needs a restart" % name)
    for name in sorted(shown - table):
        problems.append("%s: in the sample configuration, not in the table"
                        % name)
    for name in sorted(set(entries) - table):
        problems.append("%s: in the man page, not in the table" % name)

    for p in problems:
        print("conf_docs: " + p)
    print("%d passed, %d failed" % (len(keys) - len({p.split(":")[0]
          for p in problems} & table), len(problems)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
