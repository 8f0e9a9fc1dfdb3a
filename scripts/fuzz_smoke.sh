#!/usr/bin/env bash
# CI fuzz smoke: build the libFuzzer configuration (preset "fuzz": clang, ASan + UBSan, parsers only) and
# run every target briefly on its checked-in corpus (fuzz/corpus/<t>) and reproducers (fuzz/regressions/<t>):
# every seed is executed once, then mutated for TSFT_FUZZ_SECONDS (default 5) seconds. Any crash, sanitizer
# report, leak, timeout or escaped non-tsft::Error exception fails the script. New inputs go to a temp
# dir (the checked-in corpus is never modified). Long campaigns: fuzz/run_long.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${TSFT_FUZZ_SECONDS:-5}
t0=$(date +%s)
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz -j "${TSFT_JOBS:-$(nproc)}"
work=$(mktemp -d /tmp/tsft-fuzz-smoke.XXXXXX)
trap 'rm -rf "$work"' EXIT
failed=()
for bin in build/fuzz/fuzz/fuzz_*; do
  t=${bin##*/fuzz_}
  dirs=("fuzz/corpus/$t")
  [[ -d "fuzz/regressions/$t" ]] && dirs+=("fuzz/regressions/$t")
  mkdir -p "$work/$t"
  if TMPDIR=$work "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -artifact_prefix="$work/" \
    "$work/$t" "${dirs[@]}" >"$work/$t.log" 2>&1; then
    echo "fuzz smoke: $t ok ($(grep -E '^#[0-9]+' "$work/$t.log" | tail -1))"
  else
    echo "fuzz smoke: $t FAILED"; tail -40 "$work/$t.log"; failed+=("$t")
  fi
done
echo "fuzz smoke: $(($(date +%s) - t0)) s (build + ${seconds} s per target)"
((${#failed[@]} == 0)) || { echo "fuzz smoke: failing targets: ${failed[*]}"; exit 1; }
