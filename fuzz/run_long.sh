#!/usr/bin/env bash
# Long fuzzing campaign (developer tool, not CI): run each target for SECONDS (default 300) at nice 19, two
# at a time, with a working corpus under WORK (default /dev/shm/tsft-fuzz) seeded from fuzz/corpus/<t>.
# Logs: WORK/<t>.log (the final "DONE" line has executions and cov/ft); crashes: WORK/<t>/crash-*.
set -uo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=${1:-300}
WORK=${WORK:-/dev/shm/tsft-fuzz}
BIN=${BIN:-build/fuzz/fuzz}
mkdir -p "$WORK"
dict_of() { case $1 in latex) echo fuzz/dict/latex.dict ;; toml) echo fuzz/dict/toml.dict ;; chat) ;; *) echo fuzz/dict/json.dict ;; esac; }
run_one() {
  local t=$1 d
  d=$(dict_of "$t")
  mkdir -p "$WORK/$t" "$WORK/$t.art"
  TMPDIR=$WORK nice -n 19 "$BIN/fuzz_$t" -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$WORK/$t.art/" ${d:+-dict=$d} "$WORK/$t" "fuzz/corpus/$t" >"$WORK/$t.log" 2>&1
  echo "$t rc=$? $(grep -E '^#[0-9]+' "$WORK/$t.log" | tail -1)"
}
TARGETS=(${TARGETS:-safetensors model_config tokenizer chat jsonl toml latex})
for ((i = 0; i < ${#TARGETS[@]}; i += 2)); do
  run_one "${TARGETS[i]}" &
  [[ -n "${TARGETS[i + 1]:-}" ]] && run_one "${TARGETS[i + 1]}" &
  wait
done
