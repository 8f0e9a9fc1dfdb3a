"""bf16 vs fp32 training equivalence (issue 13), read from two `tsft experiment` output directories that
differ only in [experiment] precision. The rule was declared before any fp32 result was seen (2026-12-03):

1. Pre-training loss curves, per base seed present in both: mean training loss over windows of 250 steps.
   Equivalent if, from step 251 on, |fp32 - bf16| of every window mean is <= the largest between-base-seed
   difference of the bf16 runs in the same window (run-to-run variation; needs >= 2 bf16 bases), and the
   last window's relative difference is <= 2%.
2. Experiment accuracies: for every arm, i.i.d. test accuracy and valid-probe variant accuracy, paired per
   base seed (fp32 - bf16). Equivalent if |mean paired difference| <= the bf16 runs' between-run standard
   deviation of that arm and metric, for every arm and metric; and the verdicts agree (when both reports
   exist). Runs missing in the fp32 directory are reported as missing, never imputed.

Usage: /usr/bin/python3 bench/precision_equivalence.py RUN_BF16 RUN_FP32
"""
import json
import os
import re
import statistics
import sys

VALID_PROBES = ["P1", "P2", "P4", "P5", "P6", "P11"]  # THEOREM_WORLD.md "Claim pools" (the report's C2b pool)
WINDOW = 250


def read_jsonl(path):
    with open(path) as f:
        return [json.loads(l) for l in f if l.strip()]


def loss_windows(run, base):
    p = os.path.join(run, "pretrain", f"b{base}", "metrics.jsonl")
    if not os.path.exists(p):
        return None
    return loss_windows_file(p)


def loss_windows_file(p):
    """Window index (0-based, WINDOW steps each) -> mean training loss, from one metrics.jsonl."""
    w = {}
    for r in read_jsonl(p):
        if "loss" in r and "step" in r and "val_loss" not in r:
            w.setdefault((r["step"] - 1) // WINDOW, []).append(r["loss"])
    return {k: statistics.fmean(v) for k, v in sorted(w.items())}


def complete(run, base):
    p = os.path.join(run, "pretrain", f"b{base}", "metrics.jsonl")
    return os.path.exists(os.path.join(run, "pretrain", f"b{base}", "final")) and os.path.exists(p)


def accuracies(run, name):
    p = os.path.join(run, "eval", name, "metrics.json")
    if not os.path.exists(p):
        return None
    m = json.load(open(p))
    bs = m["by_split"]
    test = bs["test"]["accuracy"] if "test" in bs else None
    n = c = 0
    for pr in VALID_PROBES:  # pooled variant accuracy over the valid probes' items
        s = bs.get("probe/" + pr)
        if s:
            n += s["n"]
            c += s["accuracy"] * s["n"]
    return {"test": 100 * test if test is not None else None, "variants": 100 * c / n if n else None}


def verdicts(run):
    p = os.path.join(run, "report.md")
    if not os.path.exists(p):
        return None
    out = {}
    for line in open(p):
        m = re.match(r"\| (C\d\w?) [^|]*\| (supported|not supported|inconclusive[^|]*) \|", line)
        if m:
            out[m.group(1)] = m.group(2).strip()
    return out


def window_spread(bw, k):
    """Between-seed spread (max - min) of window k over the runs that reached it (a run still going has fewer)."""
    vals = [w[k] for w in bw.values() if k in w]
    return max(vals) - min(vals)


def rule1_loss(bw, fw, out=print):
    """Rule 1 on window means per base seed: bw (bf16) {base: windows}, fw (fp32) {base: windows or
    None}. Prints one line per base through `out`; returns whether every compared base passes."""
    ok = True
    bases = sorted(bw)
    for b in bases:
        if not fw.get(b) or not set(bw[b]) <= set(fw[b]):
            out(f"  base {b}: fp32 missing (not finished)")
            continue
        worst = 0.0
        for k in sorted(bw[b]):
            if k == 0:
                continue
            spread = window_spread(bw, k)
            d = abs(fw[b][k] - bw[b][k])
            worst = max(worst, d / spread if spread > 0 else float("inf"))
            ok_w = d <= spread
            ok &= ok_w
        last = max(bw[b])
        spread_last = window_spread(bw, last)
        rel = abs(fw[b][last] - bw[b][last]) / bw[b][last]
        ok &= rel <= 0.02
        out(f"  base {b}: last window bf16 {bw[b][last]:.4f} fp32 {fw[b][last]:.4f} (rel {100 * rel:.2f}%; between-seed spread {spread_last:.4f}), "
            f"worst |fp32 - bf16| / between-seed spread over windows 2.. = {worst:.2f} (<= 1 required)")
    return ok


def signed_gaps(bw, fw):
    """Base -> (bf16 - fp32) / fp32 of the last window's mean loss, for the bases both finished."""
    out = {}
    for b in sorted(bw):
        if fw.get(b) and max(bw[b]) in fw[b]:
            last = max(bw[b])
            out[b] = (bw[b][last] - fw[b][last]) / fw[b][last]
    return out


def main():
    bf, fp = sys.argv[1], sys.argv[2]
    bases = sorted(int(d[1:]) for d in os.listdir(os.path.join(bf, "pretrain")) if re.fullmatch(r"b\d+", d))
    print("1. pre-training loss, window means (250 steps)")
    bw = {b: loss_windows(bf, b) for b in bases}
    fw = {b: loss_windows(fp, b) if complete(fp, b) else None for b in bases}
    ok = rule1_loss(bw, fw)
    gaps = signed_gaps(bw, fw)
    print("   last window (bf16 - fp32) / fp32: " + ", ".join(f"b{b} {100 * g:+.2f}%" for b, g in gaps.items()) +
          (f"; mean {100 * statistics.fmean(gaps.values()):+.2f}%" if gaps else ""))
    if not (os.path.isdir(os.path.join(bf, "eval")) and os.path.isdir(os.path.join(fp, "eval"))):
        print("2./3. no evaluation results in both directories (pre-training only): rule 1 alone")
        print("equivalent on what was compared" if ok else "NOT equivalent by the declared rule")
        return
    print("2. accuracies (points), fp32 - bf16 paired by base seed")
    arms = sorted({d.rsplit("-b", 1)[0] for d in os.listdir(os.path.join(bf, "eval")) if not d.startswith("base")})
    for arm in arms:
        for metric in ("test", "variants"):
            diffs, bvals = [], []
            for b in bases:
                a_b = accuracies(bf, f"{arm}-b{b}s1")
                a_f = accuracies(fp, f"{arm}-b{b}s1")
                if a_b and a_b[metric] is not None:
                    bvals.append(a_b[metric])
                if a_b and a_f and a_b[metric] is not None and a_f[metric] is not None:
                    diffs.append(a_f[metric] - a_b[metric])
            if not diffs:
                print(f"  {arm:14s} {metric:8s} fp32 missing")
                continue
            sd = statistics.stdev(bvals) if len(bvals) > 1 else float("nan")
            md = statistics.fmean(diffs)
            good = abs(md) <= sd
            ok &= good
            print(f"  {arm:14s} {metric:8s} mean diff {md:+6.1f} over {len(diffs)} run(s) ({', '.join(f'{d:+.1f}' for d in diffs)}); "
                  f"bf16 between-run s.d. {sd:.1f} -> {'within' if good else 'OUTSIDE'}")
    vb, vf = verdicts(bf), verdicts(fp)
    if vb and vf:
        same = vb == vf
        ok &= same
        print(f"3. verdicts: bf16 {vb}\n             fp32 {vf} -> {'same' if same else 'DIFFER'}")
    else:
        print("3. verdicts: fp32 report missing (run not finished)")
    print("equivalent on what was compared" if ok else "NOT equivalent by the declared rule")


if __name__ == "__main__":
    main()
