#!/usr/bin/env bash
# Idempotent install of everything the build, the tests and the main job need (Debian 12 packages only).
# Safe to run again: only missing packages are installed.
set -euo pipefail
PKGS=(build-essential cmake ninja-build ccache pkg-config git
      libopenblas-dev nlohmann-json3-dev libtomlplusplus-dev libcli11-dev libfmt-dev
      libgtest-dev libgmock-dev libbenchmark-dev libpcre2-dev libutf8proc-dev libgmp-dev
      libdnnl-dev libcpp-httplib-dev libcurl4-openssl-dev)
# clang 14 with its sanitizer/libFuzzer runtimes and OpenMP: the sanitizer pass of scripts/test.sh (preset
# "asan") and the fuzz configuration (preset "fuzz", scripts/fuzz_smoke.sh).
if [[ "${TSFT_SKIP_FUZZ:-0}" != 1 || "${TSFT_SKIP_ASAN:-0}" != 1 ]]; then
  PKGS+=(clang-14 libclang-rt-14-dev libomp-14-dev)
fi
# Headless Chromium renders report.html in a test (TSFT_SETUP_BROWSER=0 skips it; the test then skips).
if [[ "${TSFT_SETUP_BROWSER:-1}" == 1 ]]; then PKGS+=(chromium); fi
# Optional groups: TSFT_SETUP_NODE=1 (npm peers for tokenizer tests), TSFT_SETUP_BENCH=1 (PyTorch peer).
if [[ "${TSFT_SETUP_NODE:-1}" == 1 ]]; then PKGS+=(nodejs npm); fi
if [[ "${TSFT_SETUP_BENCH:-0}" == 1 ]]; then PKGS+=(python3-torch python3-numpy); fi
missing=()
for p in "${PKGS[@]}"; do
  # node/npm may come from elsewhere on the machine: accept a working binary.
  if [[ "$p" == nodejs ]] && command -v node >/dev/null; then continue; fi
  if [[ "$p" == npm ]] && command -v npm >/dev/null; then continue; fi
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "setup: all Debian packages present"
fi
# npm peers for the tokenizer parity tests and the tsft serve client tests (skipped with a visible
# message in the tests if unreachable). Installed when any peer of package.json is missing.
if [[ "${TSFT_SETUP_NODE:-1}" == 1 && -f tests/node/package.json ]]; then
  if [[ ! -f tests/node/node_modules/tokenizers/package.json || ! -f tests/node/node_modules/openai/package.json ]]; then
    (cd tests/node && npm install --no-audit --no-fund --loglevel=error) ||
      echo "setup: WARNING: npm install failed; tokenizer / openai-client peer tests will be skipped"
  fi
fi
