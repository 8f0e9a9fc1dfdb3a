"""bf16 vs fp32 pre-training loss equivalence, second declared test (issue 13; bench/README.md
"Equivalence test 2", declared 2026-12-04 before any of its runs existed).

Why a second test: rule 1 of precision_equivalence.py compares one bf16 trajectory with one fp32
trajectory per base, against the spread between bases. Its negative control (fp32 against fp32-ref, which
differ only in summation order) failed it too: a single rounding change moves a trajectory as much as a
new seed does, so one-trajectory comparisons cannot see a precision effect. This test treats the base
(init + data order) as the unit, pairs the arms within each base, and asks whether the *mean* gap over
bases is inside a margin fixed beforehand (two one-sided tests, TOST), with the summation-order control
judged by the same code.

Per base N, from the runs' pretrain/bN/metrics.jsonl (last window = steps 2,251-2,500, mean training loss L):
  precision gap   g_p = (L_bf16 - L_fp32) / L_fp32
  control gap     g_s = (L_fp32ref - L_fp32) / L_fp32
Interval: mean over bases +- t(0.95, n-1) * s.d. / sqrt(n) (the 90% interval of TOST at alpha = 0.05).
Verdict against the margin d: "equivalent" if the interval lies inside (-d, +d); "not equivalent" if it lies
wholly above +d or wholly below -d; otherwise "inconclusive".

Equivalence test 3 (declared 2026-12-05, bench/README.md) reads the same outcome from run summaries
(bench/precision_summary.py) over 30 fresh bases, arms bf16 and fp32 only, at the 95% level.

Usage: /usr/bin/python3 bench/precision_tost.py ROOT [--margin 0.02] [--bases 4,5,6,7,8] [--level 0.90]
                                              [--arms bf16,fp32,fp32-ref] [--summaries]
  ROOT/<arm>_b<N>/pretrain/b<N>/ for arm in --arms (bench/precision_runs.sh writes them); with --summaries,
  ROOT is a directory of <arm>_b<N>.json run summaries instead.
  --selftest checks the t quantiles against tabulated values.
"""
import argparse
import json
import math
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from precision_equivalence import complete, loss_windows  # noqa: E402  (one reader of metrics.jsonl)

ARMS = ("bf16", "fp32", "fp32-ref")
STEPS = 2500  # configs/theorem_world.toml [pretrain] steps: a summary of a shorter run is not a finished run


def t_cdf(x, df):
    """Student t CDF by Simpson integration of the density from 0 to |x| (df >= 1; 4,000 panels: the
    quantiles below agree with the tables to 1e-4)."""
    c = math.exp(math.lgamma((df + 1) / 2) - math.lgamma(df / 2)) / math.sqrt(df * math.pi)
    f = lambda t: c * (1 + t * t / df) ** (-(df + 1) / 2)  # noqa: E731
    a, n = abs(x), 4000
    h = a / n
    s = f(0) + f(a) + sum((4 if i % 2 else 2) * f(i * h) for i in range(1, n))
    half = s * h / 3
    return 0.5 + half if x >= 0 else 0.5 - half


def t_quantile(p, df):
    lo, hi = 0.0, 100.0
    for _ in range(80):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if t_cdf(mid, df) < p else (lo, mid)
    return (lo + hi) / 2


def interval(gaps, level=0.90):
    """(mean, sd, lo, hi): the two-sided `level` t-interval of the mean (TOST at alpha = (1 - level) / 2 per
    side: 0.90 for test 2, 0.95 for test 3)."""
    n = len(gaps)
    m = statistics.fmean(gaps)
    sd = statistics.stdev(gaps)
    half = t_quantile(1 - (1 - level) / 2, n - 1) * sd / math.sqrt(n)
    return m, sd, m - half, m + half


def verdict(lo, hi, margin):
    if -margin < lo and hi < margin:
        return "equivalent"
    if lo > margin or hi < -margin:
        return "not equivalent"
    return "inconclusive"


def summary_windows(path):
    """Window means and provenance (checkout, CPU model and ISA flags) of a run summary
    (bench/precision_summary.py), or None unless it is a finished, finite run."""
    if not os.path.exists(path):
        return None
    with open(path) as f:
        s = json.load(f)
    if s["last_step"] != STEPS or not s["finite"]:
        return None
    cpu = s.get("cpu", {})
    where = (s.get("checkout", "?"), cpu.get("model", "?"), tuple(cpu.get("isa", [])))
    return {int(k): v for k, v in s["windows"].items()}, where


def unpaired(where, arms, bases):
    """Bases whose arms' runs differ in checkout or CPU (model, ISA flags): test 3's unit is the pair made
    on one tree and one kind of CPU, so such a base is not counted until it is rerun in full."""
    return [b for b in bases if len({where[a][b] for a in arms if b in where[a]}) > 1]


def last_losses(root, bases, arms=ARMS, summaries=False):
    """arm -> {base: last-window mean loss} for the finished runs; and the windows for the curve."""
    last, curves, where = {a: {} for a in arms}, {a: {} for a in arms}, {a: {} for a in arms}
    for a in arms:
        for b in bases:
            if summaries:
                got = summary_windows(os.path.join(root, f"{a}_b{b}.json"))
                w = got[0] if got else None
                if got:
                    where[a][b] = got[1]
            else:
                run = os.path.join(root, f"{a}_b{b}")
                w = loss_windows(run, b) if complete(run, b) else None
            if w:
                last[a][b], curves[a][b] = w[max(w)], w
    for b in unpaired(where, arms, bases):
        print(f"b{b}: its runs differ in checkout or CPU ({sorted(set(where[a][b][:2] for a in arms if b in where[a]))}): "
              "not counted (rerun the base in full)")
        for a in arms:
            last[a].pop(b, None)
            curves[a].pop(b, None)
    return last, curves


def gaps_of(last, arm, bases):
    return {b: (last[arm][b] - last["fp32"][b]) / last["fp32"][b] for b in bases
            if b in last[arm] and b in last["fp32"]}


def judge(name, gaps, margin, need, level=0.90):
    g = list(gaps.values())
    per = ", ".join(f"b{b} {100 * x:+.2f}%" for b, x in gaps.items())
    if len(g) < need:
        print(f"{name}: {len(g)} of {need} bases finished ({per}): no verdict (the rule needs every base)")
        return None
    m, sd, lo, hi = interval(g, level)
    v = verdict(lo, hi, margin)
    print(f"{name}: {per}\n  mean {100 * m:+.2f}%, s.d. {100 * sd:.2f}%, {100 * level:.0f}% interval [{100 * lo:+.2f}%, {100 * hi:+.2f}%] "
          f"against +-{100 * margin:.1f}% -> {v}")
    return v


def curve_table(curves, bases):
    """Descriptive: per 250-step window, the mean over bases of both gaps (not decided on)."""
    arms = list(curves)
    ks = sorted(set.intersection(*[set(curves[a][b]) for a in arms for b in bases if b in curves[a]] or [set()]))
    print("window (steps)      mean g_p   mean g_s   (descriptive)")
    for k in ks:
        row = []
        for a in ("bf16", "fp32-ref"):
            if a not in curves:
                row.append("       -")
                continue
            g = [(curves[a][b][k] - curves["fp32"][b][k]) / curves["fp32"][b][k] for b in bases
                 if b in curves[a] and b in curves["fp32"]]
            row.append(f"{100 * statistics.fmean(g):+8.2f}%" if g else "       -")
        print(f"{250 * k + 1:5d}-{250 * (k + 1):5d}     {row[0]}  {row[1]}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("root", nargs="?")
    ap.add_argument("--margin", type=float, default=0.02)
    ap.add_argument("--bases", default="4,5,6,7,8")
    ap.add_argument("--level", type=float, default=0.90)
    ap.add_argument("--arms", default=",".join(ARMS))
    ap.add_argument("--summaries", action="store_true")
    ap.add_argument("--selftest", action="store_true")
    a = ap.parse_args()
    if a.selftest:
        for df, want in ((1, 6.3138), (2, 2.9200), (4, 2.1318), (10, 1.8125), (30, 1.6973)):
            got = t_quantile(0.95, df)
            assert abs(got - want) < 1e-3, (df, got, want)
        assert verdict(-0.01, 0.01, 0.02) == "equivalent" and verdict(0.021, 0.05, 0.02) == "not equivalent"
        assert verdict(-0.01, 0.03, 0.02) == "inconclusive"
        for df, want in ((9, 2.2622), (29, 2.0452)):  # the 97.5% quantiles of test 3's interval
            got = t_quantile(0.975, df)
            assert abs(got - want) < 1e-3, (df, got, want)
        m, sd, lo, hi = interval([0.01, 0.02, 0.03], 0.95)
        assert abs(hi - m - 4.3027 * 0.01 / math.sqrt(3)) < 1e-6, (lo, hi)
        w = {"bf16": {1: ("c", "A", ("x",)), 2: ("c", "A", ("x",))}, "fp32": {1: ("c", "A", ("x",)), 2: ("c", "B", ("x",))}}
        assert unpaired(w, ("bf16", "fp32"), [1, 2, 3]) == [2]
        print("selftest ok")
        return
    bases = [int(x) for x in a.bases.split(",")]
    arms = tuple(a.arms.split(","))
    last, curves = last_losses(a.root, bases, arms, a.summaries)
    for arm in arms:
        print(f"{arm:9s} last-window loss: " + ", ".join(f"b{b} {v:.4f}" for b, v in sorted(last[arm].items())))
    gp = gaps_of(last, "bf16", bases)
    gs = gaps_of(last, "fp32-ref", bases) if "fp32-ref" in arms else {}
    vp = judge("precision gap g_p (bf16 vs fp32)   [decides]", gp, a.margin, len(bases), a.level)
    vs = (judge("control gap g_s (fp32-ref vs fp32) [instrument check]", gs, a.margin, len(bases), a.level)
          if "fp32-ref" in arms else None)
    both = [b for b in bases if b in gp and b in gs]
    if both:
        print("|g_p| - |g_s| per base (descriptive): " +
              ", ".join(f"b{b} {100 * (abs(gp[b]) - abs(gs[b])):+.2f}" for b in both) + " points")
    curve_table(curves, [b for b in bases if all(b in curves[x] for x in arms)])
    if vp is None:
        print("reading: no verdict (not every run finished)")
    elif vp == "equivalent":
        print("reading: bf16 pre-training is equivalent to fp32 within the margin (the interval decides; "
              "the control is reported beside it)")
    elif vp == "not equivalent":
        print("reading: bf16 pre-training is NOT equivalent to fp32: its mean gap lies beyond the margin")
    else:
        print("reading: inconclusive" + ("" if vs is None else
                                         " -- and the control cannot show equivalence either, so the test lacks power"
                                         if vs != "equivalent" else " -- while the control is shown equivalent"))


if __name__ == "__main__":
    main()
