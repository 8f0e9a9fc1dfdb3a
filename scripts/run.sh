#!/usr/bin/env bash
# The main job: the default theorem-world experiment, catalog -> report, in one command
# (stages are cached: re-running after an interruption resumes). Report: $OUT/report.md and .html.
# Usage: scripts/run.sh [CONFIG] [OUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
CONFIG=${1:-configs/theorem_world.toml}
OUT=${2:-runs/theorem_world}
bash scripts/setup.sh
bash scripts/build.sh release
build/release/tsft experiment "$CONFIG" --out "$OUT"
