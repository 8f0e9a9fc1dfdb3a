#!/usr/bin/env bash
# The whole test suite: install (idempotent), build Release, run every test; then the unit tests again
# under AddressSanitizer + UndefinedBehaviorSanitizer, built with clang (TSFT_SKIP_ASAN=1 skips that second
# pass), then the fuzz smoke (every libFuzzer target a few seconds on its corpus; TSFT_SKIP_FUZZ=1 skips it).
# Both builds are unity builds (CMakePresets.json): a clean clone's suite is what CI times, and compiling
# several sources per translation unit halves it. `cmake --preset release -DCMAKE_UNITY_BUILD=OFF` gives
# one unit per source for incremental work.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh release
ctest --preset release -j 2 --timeout 900
if [[ "${TSFT_SKIP_ASAN:-0}" != 1 ]]; then
  bash scripts/build.sh asan
  # The slow end-to-end tests (suites named *Slow* / *E2E*) are left to the Release pass.
  ctest --preset asan -j 2 --timeout 900 -E 'Slow|E2E'
fi
if [[ "${TSFT_SKIP_FUZZ:-0}" != 1 ]]; then
  bash scripts/fuzz_smoke.sh
fi
