#!/usr/bin/env bash
# The benchmark set of issue 13 (run it with nothing else on the machine): bf16 vs torch autocast,
# bf16 vs our fp32, oneDNN fp32 vs the reference engine, bf16 generation. Usage: bench/run_engines.sh [BUILD]
cd "$(dirname "$0")/.."
B=${1:-build/release}; P=/usr/bin/python3
D256="--d 256 --layers 4 --heads 4 --mlp 688 --vocab 512 --batch 16 --seq 256"
D512="--d 512 --layers 8 --heads 8 --mlp 1376 --vocab 2048 --batch 8 --seq 512"
date -u +%T
$P bench/run_bench.py train --build $B --precision bf16 --rounds 3 --steps 3 -- $D256
$P bench/run_bench.py train --build $B --precision bf16 --rounds 2 --steps 2 -- $D512
$P bench/run_bench.py train --build $B --precision bf16 --vs fp32 --no-peak --rounds 2 --steps 3 -- $D256
$P bench/run_bench.py train --build $B --precision bf16 --vs fp32 --no-peak --rounds 1 --steps 2 -- $D512
$P bench/run_bench.py train --build $B --precision fp32 --vs fp32-ref --no-peak --rounds 2 --steps 3 -- $D256
$P bench/run_bench.py train --build $B --precision fp32 --vs fp32-ref --no-peak --rounds 1 --steps 2 -- $D512
$P bench/run_bench.py generate --build $B --precision bf16 --rounds 3 -- --d 256 --layers 4 --heads 4 --mlp 688 --vocab 512 --batch 16 --prompt 32 --new 64
date -u +%T
