#!/usr/bin/env bash
# Long fuzzing campaign (developer tool, not CI): run each target for SECONDS (default 300) at nice 19, two
# at a time, with a working corpus under WORK (default /dev/shm/tsft-fuzz) seeded from fuzz/corpus/<t> (and
# from fuzz/campaign/<t>.tar.xz, the corpus an earlier campaign kept, when WORK/<t> does not exist yet).
# Logs: WORK/<t>.log, every line prefixed with the seconds since the start of the run (the final "DONE"
# line has executions and cov/ft; the last "NEW" line says when coverage last grew); crashes:
# WORK/<t>.art/crash-*; WORK/<t>.half: the working corpus at half time. `python3 fuzz/plateau.py WORK`
# tabulates the logs; fuzz/coverage.sh measures what a corpus reaches of src/.
set -uo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=${1:-300}
WORK=${WORK:-/dev/shm/tsft-fuzz}
BIN=${BIN:-build/fuzz/fuzz}
mkdir -p "$WORK"
dict_of() {
  # The generated dictionary (fuzz/make_dicts.py: hand dictionary + the source's literals) when there is one.
  [[ -f fuzz/dict/auto/$1.dict ]] && { echo "fuzz/dict/auto/$1.dict"; return; }
  case $1 in
    latex) echo fuzz/dict/latex.dict ;;
    toml | annotate_catalog | annotate_prompt) echo fuzz/dict/toml.dict ;;
    annotate_validate) echo fuzz/dict/validate.dict ;;
    serve_request) echo fuzz/dict/serve.dict ;;
    chat) ;;
    *) echo fuzz/dict/json.dict ;;
  esac
}
run_one() {
  local t=$1 d
  d=$(dict_of "$t")
  # A target new to WORK starts from its kept corpus, if one was checked in (fuzz/keep_corpus.sh).
  [[ ! -d "$WORK/$t" && -f "fuzz/campaign/$t.tar.xz" ]] && tar -C "$WORK" -xJf "fuzz/campaign/$t.tar.xz"
  mkdir -p "$WORK/$t" "$WORK/$t.art"
  local t0=${EPOCHREALTIME/./} dt  # microseconds
  # Half-time snapshot of the working corpus (fuzz/coverage.sh compares it with the final corpus).
  (sleep $((SECONDS_EACH / 2)) && rm -rf "$WORK/$t.half" && cp -r "$WORK/$t" "$WORK/$t.half" 2>/dev/null) &
  TMPDIR=$WORK nice -n 19 "$BIN/fuzz_$t" -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$WORK/$t.art/" ${d:+-dict=$d} "$WORK/$t" "fuzz/corpus/$t" 2>&1 |
    while IFS= read -r line; do
      dt=$(((${EPOCHREALTIME/./} - t0) / 100000))
      printf '%d.%d %s\n' $((dt / 10)) $((dt % 10)) "$line"
    done >"$WORK/$t.log"
  echo "$t rc=${PIPESTATUS[0]} $(grep -E '^[0-9.]+ #[0-9]+' "$WORK/$t.log" | tail -1)"
}
TARGETS=(${TARGETS:-safetensors model_config tokenizer chat jsonl toml latex annotate_catalog annotate_prompt
  annotate_validate adapters serve_request})
for ((i = 0; i < ${#TARGETS[@]}; i += 2)); do
  run_one "${TARGETS[i]}" &
  [[ -n "${TARGETS[i + 1]:-}" ]] && run_one "${TARGETS[i + 1]}" &
  wait
done
