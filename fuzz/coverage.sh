#!/usr/bin/env bash
# How much of the project's own code (src/) a corpus reaches: replays every input of the given corpus
# directories once (-runs=0) through the coverage build of a target (preset fuzz-cov: clang source-based
# coverage, no sanitizers) and prints one JSON line with llvm-cov's totals over src/ (system headers,
# i.e. nlohmann-json / toml++ / fmt internals, and fuzz/ itself excluded).
#   cmake --preset fuzz-cov && cmake --build --preset fuzz-cov -j 2
#   fuzz/coverage.sh TARGET CORPUS_DIR [CORPUS_DIR ...]
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-build/fuzz-cov/fuzz}
t=$1
shift
exe=$BIN/fuzz_$t
[[ -x $exe ]] || { echo "coverage.sh: $exe missing (build the fuzz-cov preset)" >&2; exit 2; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tsft-cov-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
inputs=0
for d in "$@"; do inputs=$((inputs + $(find "$d/" -maxdepth 1 -type f | wc -l))); done
# -runs=0: execute the initial corpus, then stop. Scratch files of the targets go to $tmp.
TMPDIR=$tmp LLVM_PROFILE_FILE="$tmp/%p.profraw" "$exe" -runs=0 "$@" >"$tmp/log" 2>&1 ||
  { tail -5 "$tmp/log" >&2; echo "coverage.sh: $t failed on its corpus" >&2; exit 1; }
llvm-profdata-14 merge -sparse "$tmp"/*.profraw -o "$tmp/all.profdata"
llvm-cov-14 export -summary-only -instr-profile="$tmp/all.profdata" "$exe" \
  -ignore-filename-regex='(^/usr/|/fuzz/)' >"$tmp/summary.json"
python3 - "$tmp/summary.json" "$t" "$inputs" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))["data"][0]
tot = d["totals"]
out = {"target": sys.argv[2], "inputs": int(sys.argv[3]), "files": len(d["files"])}
for k in ("lines", "branches", "regions", "functions"):
    out[k] = [tot[k]["covered"], tot[k]["count"]]
print(json.dumps(out))
PY
