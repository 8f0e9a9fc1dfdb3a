#!/usr/bin/env bash
# Batched greedy generation benchmark, tsft generate() vs a PyTorch KV-cache loop.
#   bench/run_generate.sh [BUILD] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build/h-bench}
ROUNDS=${2:-2}
/usr/bin/python3 bench/run_bench.py generate --build "$BUILD" --rounds "$ROUNDS" -- \
  --d 256 --layers 4 --heads 4 --mlp 688 --vocab 512 --batch 16 --prompt 32 --new 64
