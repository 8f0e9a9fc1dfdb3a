#!/usr/bin/env bash
# One prepared GPU check (issue 8): build if needed, run every CUDA test in its own process (a sticky CUDA
# fault in one test cannot hide the others), the kernel benchmarks, the HF+PyTorch reference, and write
# $OUT/results.txt. Finishes in < 8 minutes (global deadline; every step under `timeout`).
#   usage: bash bench/gpu/run.sh            env: BUILD=build/gpu (existing or new build dir), OUT=dir,
#          JOBS=N (build parallelism), SKIP_HF=1, DEADLINE_S=460
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
OUT=${OUT:-$ROOT/gpu-results}
BUILD=${BUILD:-build/gpu}
JOBS=${JOBS:-$(nproc)}
mkdir -p "$OUT"
RES=$OUT/results.txt
: > "$RES"
T0=$(date +%s)
DEADLINE=$((T0 + ${DEADLINE_S:-460}))
log() { echo "$*" | tee -a "$RES"; }
left() { echo $((DEADLINE - $(date +%s))); }
# step NAME TIMEOUT CMD...: output to $OUT/NAME.log, status line to results.txt
step() {
  local name=$1 t=$2
  shift 2
  local l
  l=$(left)
  if [ "$l" -lt 5 ]; then log "$name: SKIPPED (global deadline reached)"; return 124; fi
  [ "$t" -gt "$l" ] && t=$l
  local s=$(date +%s)
  timeout --kill-after=5 "$t" "$@" > "$OUT/$name.log" 2>&1
  local rc=$?
  log "$name: rc=$rc ($(( $(date +%s) - s ))s, limit ${t}s)"
  return $rc
}

log "== tsft GPU check $(date -u +%FT%TZ) on $(hostname), repo $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
step nvidia-smi 30 nvidia-smi
step nvidia-smi-query 30 nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,power.limit --format=csv
grep -E "Driver Version|H100|H200" "$OUT/nvidia-smi.log" | head -3 | tee -a "$RES"

TEST_BIN=$BUILD/tests/test_cuda
if [ ! -x "$TEST_BIN" ]; then
  missing=""
  for tool in cmake ninja nvcc c++; do command -v $tool > /dev/null || [ -x /usr/local/cuda/bin/$tool ] || missing="$missing $tool"; done
  if [ -n "$missing" ]; then
    log "BUILD: no $TEST_BIN and missing build tools:$missing (carry a prebuilt build dir: BUILD=... and carry it)"
  else
    export PATH=$PATH:/usr/local/cuda/bin
    step configure 120 cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DTSFT_BUILD_BENCH=OFF -DTSFT_CUDA=ON \
      || log "BUILD: configure failed (missing packages? see configure.log; scripts/setup.sh needs the network)"
    step build 300 cmake --build "$BUILD" --target test_cuda tsft -j "$JOBS" || log "BUILD: failed, see build.log"
  fi
fi
if [ ! -x "$TEST_BIN" ]; then
  log "RESULT: no test binary; nothing ran"
  exit 1
fi
ldd "$TEST_BIN" > "$OUT/ldd.log" 2>&1
if grep -q "not found" "$OUT/ldd.log"; then log "LIBS MISSING:"; grep "not found" "$OUT/ldd.log" | tee -a "$RES"; fi
[ -x "$BUILD/tsft" ] && step tsft-info-devices 30 "$BUILD/tsft" info --devices && cat "$OUT/tsft-info-devices.log" >> "$RES"

# Every test in its own process; JSON per test.
mkdir -p "$OUT/tests"
"$TEST_BIN" --gtest_list_tests > "$OUT/test-list.log" 2>&1
tests=$(awk '/^[^ ]/ {suite=$1} /^  [^ ]/ {print suite $1}' "$OUT/test-list.log" | grep -v '^CudaBench')
pass=0; fail=0; skip=0; failed=""
for t in $tests; do
  f=$(echo "$t" | tr '/.' '__')
  TSFT_CUDA_SYNC=1 step "tests/$f" 90 "$TEST_BIN" --gtest_filter="$t" --gtest_output="json:$OUT/tests/$f.json" > /dev/null
  rc=$?
  if grep -q "\[  SKIPPED \] $t" "$OUT/tests/$f.log"; then skip=$((skip + 1))
  elif [ $rc -eq 0 ]; then pass=$((pass + 1))
  else fail=$((fail + 1)); failed="$failed $t"; fi
done
log "TESTS: $pass passed, $fail failed, $skip skipped${failed:+ ; failed:$failed}"
for t in $failed; do
  f=$(echo "$t" | tr '/.' '__')
  log "---- $t"; grep -E "Failure|error|Error|got|Skipped" "$OUT/tests/$f.log" | head -20 | tee -a "$RES" > /dev/null
done

TSFT_CUDA_BENCH=1 TSFT_BENCH_OUT=$OUT step bench-kernels 150 "$TEST_BIN" --gtest_filter='CudaBench.*'
grep -E "^[a-z_0-9]+ +[0-9.]+$" "$OUT/bench-kernels.log" >> "$RES"

if [ "${SKIP_HF:-0}" != 1 ] && python3 -c "import torch, transformers; assert torch.cuda.is_available()" > "$OUT/hf-import.log" 2>&1; then
  step hf-train 200 python3 bench/gpu/hf_train.py --out "$OUT/hf_train.json"
  tail -1 "$OUT/hf-train.log" >> "$RES"
else
  log "HF reference: skipped ($(tail -1 "$OUT/hf-import.log" 2>/dev/null || echo SKIP_HF=1))"
fi
log "== done in $(( $(date +%s) - T0 ))s; files in $OUT"
[ $fail -eq 0 ]
