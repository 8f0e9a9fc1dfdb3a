#!/usr/bin/env python3
"""Tabulate a fuzz/run_long.sh campaign: per target, executions, final cov/ft, and when coverage last grew.

Usage: python3 fuzz/plateau.py WORK [SECONDS]   (WORK: run_long.sh's log dir; SECONDS: the run length)
Each log line starts with the seconds since the run began. The time of the last "NEW" line over the run
length says whether the target plateaued: nothing new in the last half of the run -> "yes".
"""
import glob, os, re, sys

work = sys.argv[1]
run_s = float(sys.argv[2]) if len(sys.argv) > 2 else None
print("| target | execs | cov | ft | last NEW at (s) | fraction of run | plateau (nothing new in last half) |")
print("|---|---|---|---|---|---|---|")
for log in sorted(glob.glob(os.path.join(work, "*.log"))):
    t = os.path.basename(log)[:-4]
    execs, cov, ft, last_new, end = "?", "?", "?", 0.0, 0.0
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
        m3 = re.match(r"stat::number_of_executed_units: (\d+)", rest)
        if m3:
            execs = m3.group(1)
    length = run_s or end
    frac = last_new / length if length else 0
    print(f"| {t} | {execs} | {cov} | {ft} | {last_new:.0f} | {frac:.2f} | {'yes' if frac < 0.5 else 'no'} |")
