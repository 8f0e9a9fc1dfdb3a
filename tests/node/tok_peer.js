// Peer for the tokenizer parity tests: Hugging Face `tokenizers` (npm, native binding).
// Usage: node tok_peer.js TOKENIZER_JSON IN_JSONL OUT_JSONL
// Each input line is one request, answered by the output line of the same number:
//   {"text": s [, "special": true]}        -> {"ids": [...]}   (special: add the post-processor's tokens)
//   {"ids": [...] [, "skip_special": true]} -> {"text": s}
// Requests are grouped into encodeBatch/decodeBatch calls, so one node process (and one load of the
// tokenizer) serves a whole test.
'use strict';
const fs = require('fs');
const { Tokenizer } = require('tokenizers');

async function main() {
  const [tokPath, inPath, outPath] = process.argv.slice(2);
  if (!tokPath || !inPath || !outPath) {
    console.error('usage: node tok_peer.js TOKENIZER_JSON IN_JSONL OUT_JSONL');
    process.exit(2);
  }
  const tok = Tokenizer.fromFile(tokPath);
  const reqs = fs.readFileSync(inPath, 'utf8').split('\n').filter((l) => l.length > 0).map((l) => JSON.parse(l));
  const out = new Array(reqs.length);
  const groups = new Map();  // kind -> indices
  reqs.forEach((r, i) => {
    const kind = 'text' in r ? (r.special ? 'enc1' : 'enc0') : r.skip_special ? 'dec1' : 'dec0';
    if (!groups.has(kind)) groups.set(kind, []);
    groups.get(kind).push(i);
  });
  for (const [kind, idx] of groups) {
    if (kind.startsWith('enc')) {
      const encs = await tok.encodeBatch(idx.map((i) => reqs[i].text), { addSpecialTokens: kind === 'enc1' });
      encs.forEach((e, k) => (out[idx[k]] = JSON.stringify({ ids: e.getIds() })));
    } else {
      const texts = await tok.decodeBatch(idx.map((i) => reqs[i].ids), kind === 'dec1');
      texts.forEach((t, k) => (out[idx[k]] = JSON.stringify({ text: t })));
    }
  }
  fs.writeFileSync(outPath, out.join('\n') + (out.length ? '\n' : ''));
}

main().catch((e) => {
  console.error(e && e.stack ? e.stack : String(e));
  process.exit(1);
});
