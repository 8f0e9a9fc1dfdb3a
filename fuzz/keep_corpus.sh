#!/usr/bin/env bash
# Keep a campaign's working corpora across machines (developer tool, not CI). For each TARGET, minimise
# WORK/<t> with libFuzzer's -merge=1 (keeps the smallest inputs that together reach every coverage feature
# the corpus reaches) and write fuzz/campaign/<t>.tar.xz (reproducible tar: sorted names, mtime 0; written
# to a temp name, then renamed). fuzz/run_long.sh starts a target from its archive when WORK/<t> does not
# exist, so a later session continues a campaign instead of starting from the seeds. The seeds
# (fuzz/corpus/<t>) are not archived: every run replays them anyway.
#   WORK=/dev/shm/camp6 fuzz/keep_corpus.sh TARGET [TARGET ...]
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${WORK:-/dev/shm/tsft-fuzz}
BIN=${BIN:-build/fuzz/fuzz}
mkdir -p fuzz/campaign
for t in "$@"; do
  [[ -d "$WORK/$t" ]] || { echo "keep_corpus.sh: $WORK/$t missing" >&2; exit 2; }
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/tsft-keep-XXXXXX")
  mkdir "$tmp/$t"
  TMPDIR=$tmp nice -n 19 "$BIN/fuzz_$t" -merge=1 -timeout=10 -rss_limit_mb=2048 "$tmp/$t" "$WORK/$t" \
    >"$tmp/log" 2>&1 || { tail -5 "$tmp/log" >&2; rm -rf "$tmp"; exit 1; }
  out=fuzz/campaign/$t.tar.xz
  tar -C "$tmp" --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -cf - "$t" | xz -9 >"$out.tmp"
  mv "$out.tmp" "$out"
  echo "$t: $(find "$WORK/$t" -type f | wc -l) -> $(find "$tmp/$t" -type f | wc -l) inputs, $(stat -c %s "$out") bytes"
  rm -rf "$tmp"
done
