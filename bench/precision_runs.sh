#!/usr/bin/env bash
# The pre-training runs of bench/README.md "Equivalence test 2" and "Equivalence test 3" (read by
# bench/precision_tost.py).
# One worker: takes the next unclaimed (base, arm) job, runs configs/theorem_world.toml with
# base_seeds = [N], threads = 1 and the arm's precision, pinned to CORE, and stops the experiment once
# pretrain/bN/final exists (the later stages are not part of the test). Start a second worker on the
# other core to share the queue (claims are atomic mkdirs). A finished run is never redone.
# SUMMARIES=DIR: each finished run is also reduced to DIR/<arm>_b<N>.json (bench/precision_summary.py), the
# record a test that spans sessions keeps in the repository; a run whose summary exists is not redone.
#   usage: ROOT=/work/runs/eq2 CORE=0 [BASES="4 5 6 7 8"] [ARMS="bf16 fp32 fp32-ref"] [SUMMARIES=dir]
#          [STOP_AT=epoch] bash bench/precision_runs.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=${ROOT:?set ROOT}
CORE=${CORE:-0}
BASES=${BASES:-4 5 6 7 8}
ARMS=${ARMS:-bf16 fp32 fp32-ref}
SUMMARIES=${SUMMARIES:-}
STOP_AT=${STOP_AT:-0}  # no run starts after this time (seconds since the epoch; 0: no limit)
export TSFT=${TSFT:-build/release/tsft}
mkdir -p "$ROOT/.claim"
run_one() {  # base arm
  local b=$1 arm=$2 dir="$ROOT/${2}_b$1" cfg="$ROOT/${2}_b$1.toml"
  sed -e "s/^base_seeds = \[1, 2, 3\]/base_seeds = [$b]/" -e 's/^threads = 2/threads = 1/' \
    -e "s/^precision = \"bf16\"/precision = \"$arm\"/" configs/theorem_world.toml >"$cfg"
  grep -q "^base_seeds = \[$b\]" "$cfg" && grep -q "^precision = \"$arm\"" "$cfg" && grep -q '^threads = 1' "$cfg" ||
    { echo "precision_runs: could not set base/precision/threads in $cfg" >&2; exit 1; }
  local t0=$SECONDS
  OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 taskset -c "$CORE" "$TSFT" experiment "$cfg" --out "$dir" -q \
    >"$dir.log" 2>&1 &
  local pid=$!
  while kill -0 "$pid" 2>/dev/null && [[ ! -d "$dir/pretrain/b$b/final" ]]; do sleep 5; done
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  [[ -d "$dir/pretrain/b$b/final" ]] || { echo "precision_runs: $arm b$b stopped without pretrain/b$b/final ($dir.log)" >&2; return 1; }
  [[ -z $SUMMARIES ]] || /usr/bin/python3 bench/precision_summary.py "$dir" "$b" "$arm" "$SUMMARIES/${arm}_b$b.json"
  echo "$(date -u +%H:%M:%S) core $CORE: $arm b$b done in $((SECONDS - t0)) s"
}
for b in $BASES; do
  for arm in $ARMS; do
    ((STOP_AT > 0 && $(date +%s) > STOP_AT)) && { echo "precision_runs: stop time reached"; exit 0; }
    [[ -n $SUMMARIES && -f $SUMMARIES/${arm}_b$b.json ]] && continue
    mkdir "$ROOT/.claim/${arm}_b$b" 2>/dev/null || continue
    run_one "$b" "$arm"
  done
done
