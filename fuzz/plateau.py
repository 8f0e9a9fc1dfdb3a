#!/usr/bin/env python3
"""Tabulate a fuzz/run_long.sh campaign: per target, executions, final cov/ft, and when coverage last grew.

Usage: python3 fuzz/plateau.py WORK [SECONDS]   (WORK: run_long.sh's log dir; SECONDS: the run length)
Each log line starts with the seconds since the run began. Columns: executions, final cov/ft, cov at half
time, the number of "NEW" lines (inputs that added coverage) in the second half, and the time of the last
one over the run length. Two rules (fuzz/README.md): "plateau (any NEW)" only when nothing new appeared in
the last half; "edge plateau" when the edge count (cov) did not grow in the last half (new features that
are only hit-count buckets of known edges do not count).
"""
import glob, os, re, sys

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
