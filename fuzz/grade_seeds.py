#!/usr/bin/env python3
"""Cross-seed the jsonl target's grade reader from a latex corpus (developer tool, campaign 14).

fuzz_latex reads "gold\\npred"; fuzz_jsonl's reader 1 (`tsft grade` lines, selector byte 1) reads JSON lines
{"gold": ..., "pred": ...} and grades each pair with the same extraction, parser and equivalence code.
Each latex input becomes one such line, so the grade reader starts from what the latex target explored.
Bytes that are not UTF-8 are replaced (nlohmann-json rejects them inside strings).
Usage: python3 fuzz/grade_seeds.py LATEX_CORPUS_DIR OUT_DIR
"""
import hashlib, json, os, sys

src, dst = sys.argv[1], sys.argv[2]
os.makedirs(dst, exist_ok=True)
n = 0
for name in sorted(os.listdir(src)):
    raw = open(os.path.join(src, name), "rb").read().decode("utf-8", errors="replace")
    gold, sep, pred = raw.partition("\n")
    line = json.dumps({"gold": gold, "pred": pred if sep else gold}, ensure_ascii=False)
    data = b"\x01" + line.encode("utf-8")
    with open(os.path.join(dst, "grade-" + hashlib.sha1(data).hexdigest()), "wb") as f:
        f.write(data)
    n += 1
print(f"{n} grade lines written to {dst}")
