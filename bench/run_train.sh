#!/usr/bin/env bash
# Training-step benchmark, tsft vs PyTorch, both shapes of the issue. BUILD defaults to build/h-bench.
#   bench/run_train.sh [BUILD] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build/h-bench}
ROUNDS=${2:-2}
/usr/bin/python3 bench/run_bench.py train --build "$BUILD" --rounds "$ROUNDS" --steps 3 -- \
  --d 256 --layers 4 --heads 4 --mlp 688 --vocab 512 --batch 16 --seq 256
/usr/bin/python3 bench/run_bench.py train --build "$BUILD" --rounds "$ROUNDS" --steps 1 -- \
  --d 512 --layers 8 --heads 8 --mlp 1376 --vocab 2048 --batch 8 --seq 512
