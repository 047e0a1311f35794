#!/usr/bin/env python3
"""Draw a bench run (results.json, written by run-bench.py) as an SVG.

    python3 tests/bench/plot.py /var/tmp/privpop-bench/results.json out.svg

One row per figure that has a target: how many times better privpop did
than Dovecot (privpop/Dovecot for "higher is better" figures, the inverse
for "lower is better" ones), on a log scale.  The bar is the median over
rounds, the whisker the lowest and highest round (each round's privpop
figure against the same round's Dovecot figure), the black tick the
target.  Green: target met; red: not met.  Only the standard library,
so it runs wherever the bench does.
"""
import json
import math
import sys

WIDTH = 760
LEFT = 250          # labels
RIGHT = 150         # value text
ROW = 30
TOP = 54
SCALE_MIN, SCALE_MAX = 0.5, 100.0
FIG_LABEL = {"sessions_per_s": "sessions/s", "p99_ms": "p99 latency",
             "mb_per_s": "MB/s", "first_stat_ms": "first STAT",
             "second_stat_ms": "second STAT",
             "kb_per_session": "memory per session"}


def times_better(better, ratio):
    """privpop over Dovecot as 'times better' (> 1 is better)."""
    if ratio is None or ratio <= 0:
        return None
    return ratio if better == "higher" else 1.0 / ratio


def target_times(better, want):
    """A ratio target like '>=3' or '<=0.025' as 'times better'."""
    num = float(want.lstrip("<>="))
    return num if better == "higher" else 1.0 / num


def rows_of(results):
    """(label, better, median, lo, hi, target or None, met) per figure
    with a target; idle's absolute target shows its ratio, no tick."""
    rows = []
    for rec in results["scenarios"]:
        scen = rec["scenario"]
        for fig, better in rec["figures"]:
            t = rec.get("target", {}).get(fig)
            if t is None:
                continue
            med = times_better(better, rec["ratio"].get(fig))
            per = [times_better(better, r) for r in
                   rec.get("round_ratios", {}).get(fig, [])]
            per = [p for p in per if p is not None]
            want = t["want"]
            tgt = None
            if want[:1] in "<>" and want.lstrip("<>=")[:1].isdigit() and \
                    not want.endswith("kB"):
                tgt = target_times(better, want)
            label = "%s: %s" % (scen, FIG_LABEL.get(fig, fig))
            if tgt is None:
                label += " (%s)" % want
            rows.append((label, better, med, min(per) if per else med,
                         max(per) if per else med, tgt, t.get("met")))
    return rows


def x_of(v):
    v = min(max(v, SCALE_MIN), SCALE_MAX)
    span = math.log10(SCALE_MAX) - math.log10(SCALE_MIN)
    return LEFT + (WIDTH - LEFT - RIGHT) * \
        (math.log10(v) - math.log10(SCALE_MIN)) / span


def esc(s):
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def svg(results):
    rows = rows_of(results)
    height = TOP + ROW * len(rows) + 40
    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" '
           'font-family="sans-serif" font-size="12">' % (WIDTH, height),
           '<rect width="100%" height="100%" fill="white"/>',
           '<text x="10" y="20" font-size="14" font-weight="bold">%s</text>'
           % esc("privpop vs %s: times better (log scale)" %
                 results.get("dovecot", "Dovecot")),
           '<text x="10" y="38" fill="#555">%s</text>' % esc(
               "median of %d rounds; whisker: lowest and highest round; "
               "black tick: target%s" % (results.get("rounds", 0),
                                         " (QUICK run)" if
                                         results.get("quick") else ""))]
    bottom = TOP + ROW * len(rows)
    for v in (0.5, 1, 2, 5, 10, 20, 50, 100):
        x = x_of(v)
        out.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="%s"/>'
                   % (x, TOP - 4, x, bottom, "#888" if v == 1 else "#ddd"))
        out.append('<text x="%.1f" y="%d" text-anchor="middle" fill="#555">'
                   '%gx</text>' % (x, bottom + 16, v))
    for i, (label, better, med, lo, hi, tgt, met) in enumerate(rows):
        y = TOP + ROW * i
        mid = y + ROW / 2
        out.append('<text x="%d" y="%.1f" text-anchor="end" '
                   'dominant-baseline="middle">%s</text>'
                   % (LEFT - 8, mid, esc(label)))
        if med is None:
            out.append('<text x="%d" y="%.1f" dominant-baseline="middle">'
                       'no result</text>' % (LEFT + 4, mid))
            continue
        color = "#2e7d32" if met else "#c62828" if met is False else "#777"
        x0, x1 = x_of(1.0), x_of(med)
        out.append('<rect x="%.1f" y="%.1f" width="%.1f" height="%d" '
                   'fill="%s" opacity="0.8"/>' % (min(x0, x1), y + 7,
                                                  abs(x1 - x0), ROW - 14,
                                                  color))
        out.append('<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" '
                   'stroke="black"/>' % (x_of(lo), mid, x_of(hi), mid))
        for v in (lo, hi):
            out.append('<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" '
                       'stroke="black"/>' % (x_of(v), mid - 4, x_of(v),
                                             mid + 4))
        if tgt is not None:
            out.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" '
                       'stroke="black" stroke-width="3"/>'
                       % (x_of(tgt), y + 3, x_of(tgt), y + ROW - 3))
        text = "%.2fx" % med
        if tgt is not None:
            text += " (target %gx)" % float("%.3g" % tgt)
        out.append('<text x="%d" y="%.1f" dominant-baseline="middle">%s'
                   '</text>' % (WIDTH - RIGHT + 8, mid, esc(text)))
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main(argv):
    if len(argv) != 3:
        raise SystemExit("usage: plot.py results.json out.svg")
    with open(argv[1]) as f:
        results = json.load(f)
    with open(argv[2], "w") as f:
        f.write(svg(results))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
