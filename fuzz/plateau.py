#!/usr/bin/env python3
"""Tabulate a fuzz/run_long.sh campaign: per target, executions, final cov/ft, and when coverage last grew.

Usage: python3 fuzz/plateau.py WORK [SECONDS]   (WORK: run_long.sh's log dir; SECONDS: the run length)
Each log line starts with the seconds since the run began. Columns: executions, final cov/ft, cov at half
time, the number of "NEW" lines (inputs that added coverage) in the second half, and the time of the last
one over the run length. Two rules (fuzz/README.md): "plateau (any NEW)" only when nothing new appeared in
the last half; "edge plateau" when the edge count (cov) did not grow in the last half (new features that
are only hit-count buckets of known edges do not count).
With --src: a second table, the project-code rule: src/ lines and branches reached by the half-time
snapshot WORK/<t>.half and by the final corpus WORK/<t> (each with the seeds fuzz/corpus/<t>), measured by
fuzz/coverage.sh (needs the fuzz-cov build); plateau when both are equal.
"""
import glob, json, os, re, subprocess, sys

SRC = "--src" in sys.argv
sys.argv = [a for a in sys.argv if a != "--src"]

work = sys.argv[1]
run_s = float(sys.argv[2]) if len(sys.argv) > 2 else None
print("| target | execs | cov | ft | cov at half time | NEW in last half | last NEW at (s) | fraction of run | plateau (any NEW) | new edges in last half | edge plateau |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
for log in sorted(glob.glob(os.path.join(work, "*.log"))):
    t = os.path.basename(log)[:-4]
    execs, cov, ft, last_new, end = "?", "?", "?", 0.0, 0.0
    news, half_cov = [], "?"
    for line in open(log, errors="replace"):
        m = re.match(r"([0-9.]+) (.*)", line)
        if not m:
            continue
        ts, rest = float(m.group(1)), m.group(2)
        end = max(end, ts)
        m2 = re.match(r"#(\d+)\s+(\w+)\s+cov: (\d+) ft: (\d+)", rest)
        if m2:
            cov, ft = m2.group(3), m2.group(4)
            if m2.group(2) == "NEW":
                last_new = ts
                news.append(ts)
            if run_s is None or ts <= run_s / 2:
                half_cov = cov
        m3 = re.match(r"stat::number_of_executed_units: (\d+)", rest)
        if m3:
            execs = m3.group(1)
    length = run_s or end
    frac = last_new / length if length else 0
    late = sum(1 for ts in news if ts > length / 2)
    edges_late = int(cov) - int(half_cov) if cov != "?" and half_cov != "?" else "?"
    print(f"| {t} | {execs} | {cov} | {ft} | {half_cov} | {late} | {last_new:.0f} | {frac:.2f} | "
          f"{'yes' if frac < 0.5 else 'no'} | {edges_late} | {'yes' if edges_late == 0 else 'no'} |")


def src_coverage(t, corpus):
    here = os.path.dirname(os.path.abspath(__file__))
    out = subprocess.run([os.path.join(here, "coverage.sh"), t, corpus, os.path.join(here, "corpus", t)],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


if SRC:
    print()
    print("| target | inputs half / end | src/ lines half -> end (of) | branches half -> end (of) | src plateau |")
    print("|---|---|---|---|---|")
    for log in sorted(glob.glob(os.path.join(work, "*.log"))):
        t = os.path.basename(log)[:-4]
        half, end = os.path.join(work, t + ".half"), os.path.join(work, t)
        if not os.path.isdir(half):
            print(f"| {t} | no half-time snapshot | | | not decided |")
            continue
        h, e = src_coverage(t, half), src_coverage(t, end)
        same = h["lines"][0] == e["lines"][0] and h["branches"][0] == e["branches"][0]
        print(f"| {t} | {h['inputs']} / {e['inputs']} | {h['lines'][0]} -> {e['lines'][0]} ({e['lines'][1]}) | "
              f"{h['branches'][0]} -> {e['branches'][0]} ({e['branches'][1]}) | {'yes' if same else 'no'} |")
