#!/usr/bin/env bash
# The main job. Until `tsft experiment` lands (issue: the experiment), this runs the most complete
# pipeline that exists today, stage by stage with the tsft CLI, on a small theorem world:
#   gen -> tokenizer train -> init -> pretrain on the theorem corpus -> render {theorem, vanilla}
#   -> SFT each arm from the same base (same problems, prompts, hyper-parameters) -> eval on test,
#   probes, counterfactual and compositional splits -> metrics.json per arm.
# It is a pilot, not the paper-scale experiment: the base model is tiny and trained for minutes.
# Usage: scripts/run.sh [OUT_DIR]   (TSFT_PILOT_STEPS / TSFT_PILOT_PRETRAIN_STEPS scale it)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-runs/pilot}
bash scripts/setup.sh
bash scripts/build.sh release
T=build/release/tsft
PRE=${TSFT_PILOT_PRETRAIN_STEPS:-300}
SFT=${TSFT_PILOT_STEPS:-300}
mkdir -p "$OUT/tokenizer"
echo "== gen"; $T gen --config configs/gen_smoke.toml --out "$OUT/gen" --corpus
echo "== tokenizer"; $T tokenizer train --corpus "$OUT/gen/corpus.jsonl" --vocab-size 1024 \
  --special-tokens '<|endoftext|>,<|im_start|>,<|im_end|>' --out "$OUT/tokenizer/tokenizer.json"
echo "== init"; $T init --arch llama --vocab 1024 --hidden 128 --intermediate 352 --layers 4 --heads 4 --kv-heads 2 \
  --max-pos 1024 --seed 1 --tokenizer-dir "$OUT/tokenizer" --out "$OUT/init"
echo "== pretrain"; $T pretrain --model "$OUT/init" --data "$OUT/gen/corpus.jsonl" --out "$OUT/base" --steps "$PRE" \
  --micro-batch 8 --block 256 --lr 2e-3 --warmup 20 --seed 1
for arm in theorem vanilla; do
  echo "== arm $arm"
  $T render --in "$OUT/gen/problems/train.jsonl" --out "$OUT/sft-$arm.jsonl" --arm "$arm"
  $T train --model "$OUT/base/final" --data "$OUT/sft-$arm.jsonl" --out "$OUT/arm-$arm" --steps "$SFT" \
    --micro-batch 8 --block 512 --lr 1e-3 --warmup 20 --seed 1 --chat-template chatml
  $T eval --model "$OUT/arm-$arm/final" --data "$OUT/gen/problems" --out "$OUT/eval-$arm" --chat-template chatml \
    --max-new-tokens 160 --batch 16
done
echo "== done: per-arm metrics in $OUT/eval-*/metrics.json"
