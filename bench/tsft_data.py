"""The data pipeline of `tsft pretrain` in Python, for bench/precision_torch.py: our xoshiro256** RNG
(src/core/rng.hpp), tokenization through the tsft binary, packing, the epoch shuffle and the batch /
document-mask layout of src/train/data.cpp. The binary is $TSFT_BIN, else build/release/tsft of this
checkout."""
import bisect
import json
import os
import subprocess

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
TSFT = os.environ.get("TSFT_BIN", os.path.join(HERE, "..", "build", "release", "tsft"))
MASK64 = (1 << 64) - 1


# --------------------------------------------------------------------------- our RNG (src/core/rng.hpp)
class Xoshiro:
    """xoshiro256** seeded by splitmix64, bit-identical to tsft::Xoshiro (next_u64, below)."""

    def __init__(self, seed):
        x, self.s = seed & MASK64, []
        for _ in range(4):
            x = (x + 0x9E3779B97F4A7C15) & MASK64
            z = x
            z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
            z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
            self.s.append(z ^ (z >> 31))

    @staticmethod
    def _rotl(x, k):
        return ((x << k) | (x >> (64 - k))) & MASK64

    def next_u64(self):
        s = self.s
        r = (self._rotl((s[1] * 5) & MASK64, 7) * 9) & MASK64
        t = (s[1] << 17) & MASK64
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = self._rotl(s[3], 45)
        return r

    def below(self, n):
        if n <= 1:
            return 0
        thresh = ((1 << 64) - n) % n
        while True:
            r = self.next_u64()
            if r >= thresh:
                return r % n


# --------------------------------------------------------------------------- data (src/train/data.cpp)
def special_ids(tok_dir):
    """bos/eos as tokenizer.cpp load_config: tokenizer_config.json bos_token/eos_token, else known names."""
    tj = json.load(open(os.path.join(tok_dir, "tokenizer.json")))
    vocab = dict(tj["model"]["vocab"])
    for a in tj.get("added_tokens", []):
        vocab[a["content"]] = a["id"]
    cfg_path = os.path.join(tok_dir, "tokenizer_config.json")
    cfg = json.load(open(cfg_path)) if os.path.exists(cfg_path) else {}

    def conf(key):
        v = cfg.get(key)
        if isinstance(v, dict):
            v = v.get("content")
        return v if isinstance(v, str) else ""

    def find(names):
        for n in names:
            if n in vocab:
                return vocab[n]
        return -1

    bos, eos = conf("bos_token"), conf("eos_token")
    bos_id = vocab.get(bos, -1) if bos else find(["<|begin_of_text|>", "<s>"])
    eos_id = vocab.get(eos, -1) if eos else find(["<|end_of_text|>", "<|endoftext|>", "</s>"])
    return bos_id, eos_id


def tokenize_docs(corpus, tok_dir):
    """One id list per {"text"} line of corpus, by our own tokenizer (tsft tokenize, no special tokens)."""
    with open(corpus, "rb") as f:
        p = subprocess.run([TSFT, "tokenize", "--tokenizer", os.path.join(tok_dir, "tokenizer.json")],
                           stdin=f, stdout=subprocess.PIPE, check=True)
    docs = [json.loads(l)["ids"] for l in p.stdout.decode().splitlines() if l.strip()]
    n_lines = sum(1 for l in open(corpus) if l.strip())
    assert len(docs) == n_lines, f"{corpus}: {n_lines} documents but {len(docs)} tokenized"
    return docs


def text_examples(docs, bos_id, eos_id, block):
    """data_load_text: BOS? + ids + EOS?, chunks of `block`, chunks of < 2 tokens dropped."""
    out = []
    for body in docs:
        ids = ([bos_id] if bos_id >= 0 else []) + list(body) + ([eos_id] if eos_id >= 0 else [])
        for s in range(0, len(ids), block):
            ch = ids[s:s + block]
            if len(ch) >= 2:
                out.append(ch)
    return out


def pack(examples, block):
    """data_pack with packing=true: best-fit decreasing (stable by length, the fullest row with room;
    ties: the row that got that free space first, as std::multimap::lower_bound), then per row
    ids / targets (next token of the same document, else -100) / pos (restart per doc) / doc."""
    order = sorted(range(len(examples)), key=lambda i: -len(examples[i]))
    rows, by_free, seq = [], [], 0  # by_free: sorted (free, insertion seq, row)
    for i in order:
        n = len(examples[i])
        k = bisect.bisect_left(by_free, (n, -1, -1))
        if k == len(by_free):
            rows.append([i])
            bisect.insort(by_free, (block - n, seq, len(rows) - 1))
        else:
            free, _, r = by_free.pop(k)
            rows[r].append(i)
            bisect.insort(by_free, (free - n, seq, r))
        seq += 1
    packed = []
    for r in rows:
        ids, tgt, pos, doc = [], [], [], []
        for d, i in enumerate(r):
            e = examples[i]
            ids += e
            tgt += e[1:] + [-100]
            pos += list(range(len(e)))
            doc += [d] * len(e)
        packed.append((ids, tgt, pos, doc))
    return packed


class Schedule:
    """trainer.cpp Schedule: rows of global micro-batch g, epoch-seeded Fisher-Yates of the packed rows."""

    def __init__(self, n_rows, B, seed):
        self.n, self.B, self.seed, self.epoch, self.perm = n_rows, B, seed, -1, None

    def per_epoch(self):
        return (self.n + self.B - 1) // self.B

    def micro(self, g):
        e, k = divmod(g, self.per_epoch())
        if e != self.epoch:
            perm = list(range(self.n))
            rng = Xoshiro((self.seed * 1000003 + e) & MASK64)
            for i in range(self.n, 1, -1):
                j = rng.below(i)
                perm[i - 1], perm[j] = perm[j], perm[i - 1]
            self.perm, self.epoch = perm, e
        return self.perm[k * self.B:min(self.n, (k + 1) * self.B)]


def make_batch(rows, which):
    """data_make_batch: pad to the longest row (id 0, target -100, pos 0, doc -1)."""
    T = max(len(rows[r][0]) for r in which)
    B = len(which)
    ids = torch.zeros(B, T, dtype=torch.long)
    tgt = torch.full((B, T), -100, dtype=torch.long)
    pos = torch.zeros(B, T, dtype=torch.long)
    doc = torch.full((B, T), -1, dtype=torch.long)
    for b, r in enumerate(which):
        i, t, p, d = rows[r]
        n = len(i)
        ids[b, :n], tgt[b, :n], pos[b, :n], doc[b, :n] = (torch.tensor(i), torch.tensor(t), torch.tensor(p),
                                                          torch.tensor(d))
    return ids, tgt, pos, doc, int(sum(len(rows[r][0]) for r in which)), int((tgt != -100).sum())


def attention_mask(doc):
    """Additive [B, 1, T, T] mask: key s visible from query t iff s <= t and doc[s] == doc[t]
    (attn_allowed). Padding (doc -1) sees only padding, so no row is fully masked."""
    T = doc.shape[1]
    causal = torch.ones(T, T, dtype=torch.bool).tril()
    ok = causal[None] & (doc[:, :, None] == doc[:, None, :])
    m = torch.zeros(ok.shape, dtype=torch.float32)
    m.masked_fill_(~ok, float("-inf"))
    return m[:, None]
