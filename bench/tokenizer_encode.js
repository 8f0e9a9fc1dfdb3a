// Peer of bench/tokenizer_encode.cpp: Hugging Face tokenizers (npm, native binding) encoding one text.
// Usage: node bench/tokenizer_encode.js TOKENIZER_JSON DOCS_JSONL REPS
// Encodes every {"text"} document (encodeBatch; run it with TOKENIZERS_PARALLELISM=false and
// RAYON_NUM_THREADS=1 for one thread). Prints one JSON line: {"mb_per_s": best of REPS after a
// warm-up, "n_ids", "checksum"}.
'use strict';
const path = require('path');
const fs = require('fs');
const { Tokenizer } = require(path.join(__dirname, '..', 'tests', 'node', 'node_modules', 'tokenizers'));

async function main() {
  const [tokPath, textPath, repsArg] = process.argv.slice(2);
  const reps = parseInt(repsArg || '3', 10);
  const tok = Tokenizer.fromFile(tokPath);
  const docs = fs.readFileSync(textPath, 'utf8').split('\n').filter((l) => l.length).map((l) => JSON.parse(l).text);
  let bytes = 0;
  for (const d of docs) bytes += Buffer.byteLength(d, 'utf8');
  let encs = await tok.encodeBatch(docs, { addSpecialTokens: false });  // warm-up
  let best = 0;
  for (let r = 0; r < reps; r++) {
    const t0 = process.hrtime.bigint();
    encs = await tok.encodeBatch(docs, { addSpecialTokens: false });
    const dt = Number(process.hrtime.bigint() - t0) / 1e9;
    best = Math.max(best, bytes / 1e6 / dt);
  }
  let checksum = 0, n = 0;
  for (const e of encs) {
    const ids = e.getIds();
    n += ids.length;
    for (let i = 0; i < ids.length; i++) checksum = (checksum * 31 + ids[i]) % 1000000007;
  }
  console.log(JSON.stringify({ mb_per_s: best, n_ids: n, checksum }));
}
main().catch((e) => {
  console.error(e && e.stack ? e.stack : String(e));
  process.exit(1);
});
