"""One finished pre-training run of an equivalence test, reduced to what the test reads (issue 13; bench/README.md
"Equivalence test 3"), so that a test's runs can span sessions and machines: the 250-step window means of the
training loss, the run's provenance (binary, commit, CPU) and its time. Written atomically; never overwritten.

Usage: /usr/bin/python3 bench/precision_summary.py RUN_DIR BASE ARM OUT.json
  RUN_DIR/pretrain/b<BASE>/{metrics.jsonl,final,versions.json}; the binary is $TSFT (default build/release/tsft).
"""
import datetime
import hashlib
import json
import math
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from precision_equivalence import complete, loss_windows, read_jsonl  # noqa: E402  (one reader of metrics.jsonl)


def cpu():
    """Model name and the ISA flags the engines' kernels choose by (oneDNN JIT, AVX-512 BF16 paths)."""
    model, flags = "?", set()
    for line in open("/proc/cpuinfo"):
        k, _, v = line.partition(":")
        if k.strip() == "model name":
            model = v.strip()
        elif k.strip() == "flags":
            flags = set(v.split())
    isa = sorted(f for f in flags if f.startswith(("avx512", "amx", "avx2", "fma")))
    return {"model": model, "isa": isa}


def main():
    run, base, arm, out = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    if os.path.exists(out):
        sys.exit(f"precision_summary: {out} exists (a finished run's summary is never rewritten)")
    if not complete(run, base):
        sys.exit(f"precision_summary: {run} has no finished pretrain/b{base}")
    pre = os.path.join(run, "pretrain", f"b{base}")
    rows = [r for r in read_jsonl(os.path.join(pre, "metrics.jsonl")) if "loss" in r and "val_loss" not in r]
    tsft = os.environ.get("TSFT", "build/release/tsft")
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    git = subprocess.run(["git", "-C", repo, "describe", "--always", "--dirty", "--abbrev=12"],
                         capture_output=True, text=True).stdout.strip()
    s = {
        "arm": arm,
        "base": base,
        "steps": len(rows),
        "last_step": max(r["step"] for r in rows),
        "finite": all(math.isfinite(r["loss"]) for r in rows),
        "windows": {str(k): v for k, v in loss_windows(run, base).items()},
        "step_seconds": sum(r.get("seconds", 0.0) for r in rows),
        "binary_sha256": hashlib.sha256(open(tsft, "rb").read()).hexdigest(),
        "checkout": git,
        "versions": json.load(open(os.path.join(pre, "versions.json"))),
        "cpu": cpu(),
        "written": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    tmp = out + ".tmp"
    with open(tmp, "w") as f:
        json.dump(s, f, indent=1, sort_keys=True)
        f.write("\n")
    os.replace(tmp, out)


if __name__ == "__main__":
    main()
