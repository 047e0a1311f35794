#!/usr/bin/env python3
"""The root-code budget: every source file that runs as root, with its
line count.

Convention: the first comment of every .c file under common/, daemon/,
auth/, mailstore/ and tools/ ends with "Runs as: WHO." (root, privpop, the
mailbox owner, or several of them, with the processes).  A file whose
WHO names root is root code: it runs, at least in part, in a process
that holds root, so its lines count against the budget.

usage: root-code.py [SRCDIR]          print the README's table
       root-code.py --check README    fail if the README's table (between
                                      <!-- root-code --> and
                                      <!-- /root-code -->) is stale
       root-code.py --update README   rewrite that table in place
"""
import os
import re
import sys

DIRS = ("common", "daemon/master", "daemon/session", "daemon/metrics",
        "auth", "mailstore", "tools")


def runs_as(path):
    with open(path) as f:
        text = f.read()
    m = re.match(r"\s*/\*(.*?)\*/", text, re.S)
    if not m:
        return None, text.count("\n")
    head = " ".join(l.strip().lstrip("*").strip()
                    for l in m.group(1).splitlines())
    i = head.find("Runs as:")
    return (head[i + 8:].strip() if i != -1 else None), text.count("\n")


def table(srcdir):
    rows, missing, total = [], [], 0
    for d in DIRS:
        for name in sorted(os.listdir(os.path.join(srcdir, d))):
            if not name.endswith(".c"):
                continue
            who, n = runs_as(os.path.join(srcdir, d, name))
            total += n
            if who is None:
                missing.append("%s/%s" % (d, name))
            elif re.search(r"\broot\b", who):
                rows.append(("%s/%s" % (d, name), n))
    root = sum(n for _, n in rows)
    out = ["| file that runs as root | lines |", "|---|---:|"]
    out += ["| `%s` | %d |" % r for r in rows]
    out.append("| **%d files, of %d lines of .c in all (%d%%)** | **%d** |"
               % (len(rows), total, round(100 * root / total), root))
    return "\n".join(out) + "\n", missing


def main():
    if len(sys.argv) > 2 and sys.argv[1] == "--update":
        readme = sys.argv[2]
        want, missing = table(os.path.dirname(os.path.abspath(readme)))
        text = open(readme).read()
        new, n = re.subn(r"(<!-- root-code -->\n).*?(<!-- /root-code -->)",
                         lambda m: m.group(1) + want + m.group(2), text,
                         flags=re.S)
        if n != 1:
            print("root-code: no markers in %s" % readme, file=sys.stderr)
            return 1
        with open(readme, "w") as f:
            f.write(new)
        return 1 if missing else 0
    if len(sys.argv) > 1 and sys.argv[1] == "--check":
        readme = sys.argv[2]
        srcdir = os.path.dirname(os.path.abspath(readme))
        want, missing = table(srcdir)
        text = open(readme).read()
        m = re.search(r"<!-- root-code -->\n(.*?)<!-- /root-code -->", text,
                      re.S)
        bad = 0
        for f in missing:
            print("root-code: %s: no \"Runs as:\" in its first comment" % f)
            bad += 1
        if not m or m.group(1) != want:
            print("root-code: the README's list of root code is stale; "
                  "put this between its markers:\n" + want)
            bad += 1
        print("%d passed, %d failed" % (0 if bad else 1, bad))
        return 1 if bad else 0
    want, missing = table(sys.argv[1] if len(sys.argv) > 1 else
                          os.path.join(os.path.dirname(__file__), ".."))
    for f in missing:
        print("root-code: %s: no \"Runs as:\" in its first comment" % f,
              file=sys.stderr)
    sys.stdout.write(want)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
