"""PyTorch pre-training peer of `tsft pretrain` for the bf16 vs fp32 question of issue 13.

Purpose: our bf16 engine failed the declared equivalence rule (bench/precision_equivalence.py; README
"bf16 vs fp32"): the last-window loss of bf16 pre-training is ~3% above fp32 on average. This script
trains the same model on the same data with the same optimiser in PyTorch, once in fp32 and once under
torch.autocast("cpu", dtype=torch.bfloat16), so the same rule can be applied to the torch pair: if
torch shows a gap of the same size, the gap is a property of bf16 autocast training at this size; if
not, it points at our engine.

Subcommands (run with /usr/bin/python3; torch 1.13, no SDPA, no `tokenizers` package):
  train    --run DIR --precision fp32|bf16|bf16-emul --seed N [--steps N] [--threads 2] --out DIR
           writes DIR/metrics.jsonl ({"step" (1-based), "loss", "lr", "seconds" (wall), "cpu_seconds"
           (process CPU: the machine is shared), "grad_norm", "tokens",
           "supervised_tokens"} per step: the fields precision_equivalence.loss_windows reads) and
           DIR/config.json (every setting and where it came from).
  compare  --torch ROOT [--ours-bf16 RUN --ours-fp32 RUN]: ROOT/{fp32,bf16}/b{N}/metrics.jsonl, judged
           by precision_equivalence.rule1_loss (the declared rule 1), next to ours.
  check-data --run DIR --seed N [--steps N]: our data pipeline replayed without a model: the tokens and
           supervised tokens of every step must equal the run's pretrain/b{N}/metrics.jsonl.
  selftest: document masking / packing / target assertions (no run needed; seconds).

Full comparison (not yet measured; ~2 x 3 x 2,500 steps, see bench/README.md):
  for p in fp32 bf16; do for s in 1 2 3; do nice -n 19 /usr/bin/python3 bench/precision_torch.py train \
    --run /work/runs/default3_bf16 --precision $p --seed $s --out OUT/$p/b$s; done; done
  /usr/bin/python3 bench/precision_torch.py compare --torch OUT \
    --ours-bf16 /work/runs/default3_bf16 --ours-fp32 /work/runs/default_fp32

What is taken from where (all read from the run directory, so a different experiment config follows):
- Model: RUN/init/b{seed}/model/config.json (the `tsft init` output the run pre-trained from): LLaMA,
  hidden 128, intermediate 352, 4 layers, 4 heads, 2 kv heads (GQA: query head h uses kv head
  h // (H / KV), src/kernels/cpu/attention.cpp attention_forward_impl, = HF repeat_kv), head_dim 32,
  vocab 1024, rms_norm_eps 1e-6, rope_theta 5e5 (HF rotate_half RoPE, float32 inv_freq as
  src/model/rope.cpp), tie_word_embeddings false (separate lm_head), no biases.
- Initial weights: --init run (default) loads RUN/init/b{seed}/model/model.safetensors, i.e. the exact
  tensors our run started from. --init fresh draws the `tsft init` distributions with torch's RNG
  (src/model/model.cpp model_init_weights: every 2-D tensor, embedding and lm_head included, N(0, 0.02)
  = initializer_range; norms 1; no scaled output projections).
- Data (src/train/data.cpp data_load_text / data_pack / data_make_batch, src/train/trainer.cpp
  load_rows / Schedule): RUN/gen/corpus.jsonl, one document per {"text"} line, tokenized with the
  model dir's tokenizer.json by `tsft tokenize` (no special tokens), then BOS (when the tokenizer has
  one: tokenizer_config.json bos_token, else <|begin_of_text|>/<s>; the default world has none) + ids +
  EOS (eos_token: <|im_end|> = 2 here); documents longer than `block` split into chunks of `block`
  (chunks < 2 tokens dropped); every token supervised; best-fit-decreasing packing into rows of <= block
  tokens; positions restart at 0 in each document; target of token t = token t+1 of the SAME document
  (the last token of each document/chunk has no target: no loss crosses documents); attention is causal
  AND within the document (doc ids, attn_allowed in src/kernels/cpu/attention.cpp). Rows are shuffled per
  epoch by our own xoshiro256** (Xoshiro(seed * 1000003 + epoch), Fisher-Yates as Schedule::micro), so
  the step-by-step data order is ours (check-data verifies the per-step token counts); a micro-batch is
  padded to its longest row (padding: id 0, target -100, doc -1); the last micro-batch of an epoch may
  hold fewer rows.
- Loss: sum of token cross-entropies over the step's supervised tokens / their count (trainer.cpp
  accumulate_gradients: grad scale 1 / supervised tokens of the whole step), computed in fp32.
- Optimiser (RUN/pretrain/b{seed}/config.json, written by our trainer from src/train/train_schema.cpp
  defaults + [pretrain]): AdamW lr 2e-3, betas (0.9, 0.999), eps 1e-8, weight_decay 0 (decay_all false:
  with wd > 0 only tensors of ndim >= 2 decay, engine_cpu.cpp adamw_step), torch.optim.AdamW has the
  same update as src/kernels/cpu/loss.cpp adamw_range; global-norm clip 1.0
  (clip_grad_norm_, same max_norm / (norm + 1e-6) as CpuEngine::clip_grad_norm); schedule cosine, warmup
  50, min_lr_ratio 0.1: lr before update s (0-based) = lr (s+1)/warmup for s < warmup, else
  floor + (lr - floor) (1 + cos(pi p)) / 2, p = (s - warmup) / (steps - warmup), floor = 0.1 lr
  (src/train/optimizer.cpp lr_at); steps 2500, micro_batch 8, block 256, grad_accum 1; seed = base seed.

Precisions:
- fp32: eager fp32 throughout.
- bf16: torch.autocast("cpu", dtype=torch.bfloat16) around forward + loss, fp32 master weights and
  fp32 AdamW: the standard recipe. Autocast on CPU returns bf16 from every matmul (projections, LM
  head AND the attention core QK^T, PV), so activations between GEMMs and the logits are rounded to bf16
  and the backward GEMMs produce bf16 gradients; norms, softmax (its input is promoted to fp32 by the
  fp32 mask), residual stream and cross-entropy run in fp32.
- bf16-emul: a torch emulation of OUR bf16 engine (src/model/engine_gemm.cpp): projections and LM head
  multiply bf16-rounded inputs and weights with fp32 accumulation and fp32 outputs; backward rounds
  dout, W and the saved input to bf16 and returns fp32 dinp/dW (src/kernels/cpu/gemm_ops_dnnl.cpp); the
  attention core, norms, softmax, SwiGLU, residuals, loss stay fp32.
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as Fn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import precision_equivalence as pe  # noqa: E402

from tsft_data import (Schedule, Xoshiro, attention_mask, make_batch, pack, special_ids,  # noqa: E402
                       text_examples, tokenize_docs)


# --------------------------------------------------------------------------- model
class Bf16Linear(torch.autograd.Function):
    """Our cpu/bf16 GEMM (engine_gemm.cpp, gemm_ops_dnnl.cpp): y = bf16(x) bf16(W)^T with fp32
    accumulation and fp32 output (a product of two bf16 values is exact in fp32); backward:
    dinp = bf16(dy) bf16(W), dW = bf16(dy)^T bf16(x), both fp32."""

    @staticmethod
    def forward(ctx, x, w):
        xb, wb = x.bfloat16().float(), w.bfloat16().float()
        ctx.save_for_backward(xb, wb)
        return xb @ wb.t()

    @staticmethod
    def backward(ctx, dy):
        xb, wb = ctx.saved_tensors
        db = dy.bfloat16().float()
        dx = db @ wb
        dw = db.reshape(-1, db.shape[-1]).t() @ xb.reshape(-1, xb.shape[-1])
        return dx, dw


class Linear(nn.Linear):
    emulate_bf16 = False

    def __init__(self, i, o):
        super().__init__(i, o, bias=False)

    def forward(self, x):
        return Bf16Linear.apply(x, self.weight) if Linear.emulate_bf16 else super().forward(x)


class RMSNorm(nn.Module):
    def __init__(self, c, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(c))
        self.eps = eps

    def forward(self, x):  # x is the residual stream: fp32 (promoted) under autocast too
        return self.weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps))


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat([-x[..., h:], x[..., :h]], dim=-1)


class Block(nn.Module):
    def __init__(self, C, H, KV, D, F, eps):
        super().__init__()
        self.H, self.KV, self.D = H, KV, D
        self.input_layernorm, self.post_attention_layernorm = RMSNorm(C, eps), RMSNorm(C, eps)
        self.q_proj, self.k_proj = Linear(C, H * D), Linear(C, KV * D)
        self.v_proj, self.o_proj = Linear(C, KV * D), Linear(H * D, C)
        self.gate_proj, self.up_proj, self.down_proj = Linear(C, F), Linear(C, F), Linear(F, C)

    def forward(self, x, cos, sin, mask):
        B, T, C = x.shape
        h = self.input_layernorm(x)
        q = self.q_proj(h).view(B, T, self.H, self.D).transpose(1, 2)
        k = self.k_proj(h).view(B, T, self.KV, self.D).transpose(1, 2)
        v = self.v_proj(h).view(B, T, self.KV, self.D).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin  # cos/sin fp32 [B, 1, T, D]: per-token positions
        k = k * cos + rotate_half(k) * sin
        g = self.H // self.KV  # HF repeat_kv: query head h reads kv head h // g
        k, v = k.repeat_interleave(g, dim=1), v.repeat_interleave(g, dim=1)
        s = torch.matmul(q, k.transpose(-1, -2)) * (1.0 / math.sqrt(self.D)) + mask
        att = torch.matmul(torch.softmax(s, dim=-1), v)
        x = x + self.o_proj(att.transpose(1, 2).reshape(B, T, self.H * self.D))
        h = self.post_attention_layernorm(x)
        return x + self.down_proj(Fn.silu(self.gate_proj(h)) * self.up_proj(h))


class Llama(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        C, H = cfg["hidden_size"], cfg["num_attention_heads"]
        KV, D = cfg.get("num_key_value_heads", H), cfg.get("head_dim", C // H)
        F, V, L, eps = cfg["intermediate_size"], cfg["vocab_size"], cfg["num_hidden_layers"], cfg["rms_norm_eps"]
        assert not cfg.get("tie_word_embeddings", False), "tied embeddings: not handled by this peer"
        assert cfg.get("rope_scaling") is None, "rope_scaling: not handled by this peer"
        assert cfg.get("hidden_act", "silu") == "silu"
        self.V = V
        self.embed_tokens = nn.Embedding(V, C)
        self.layers = nn.ModuleList([Block(C, H, KV, D, F, eps) for _ in range(L)])
        self.norm = RMSNorm(C, eps)
        self.lm_head = Linear(C, V)
        # HF LlamaRotaryEmbedding: float32 inv_freq (src/model/rope.cpp mirrors it)
        self.register_buffer("inv_freq", 1.0 / (cfg["rope_theta"] ** (torch.arange(0, D, 2).float() / D)),
                             persistent=False)

    def hf_named(self):
        """HF tensor name -> parameter."""
        out = {"model.embed_tokens.weight": self.embed_tokens.weight, "model.norm.weight": self.norm.weight,
               "lm_head.weight": self.lm_head.weight}
        for i, b in enumerate(self.layers):
            for n in ("q_proj", "k_proj", "v_proj", "o_proj"):
                out[f"model.layers.{i}.self_attn.{n}.weight"] = getattr(b, n).weight
            for n in ("gate_proj", "up_proj", "down_proj"):
                out[f"model.layers.{i}.mlp.{n}.weight"] = getattr(b, n).weight
            out[f"model.layers.{i}.input_layernorm.weight"] = b.input_layernorm.weight
            out[f"model.layers.{i}.post_attention_layernorm.weight"] = b.post_attention_layernorm.weight
        return out

    def forward(self, ids, pos, doc):
        ang = pos.float()[..., None] * self.inv_freq  # [B, T, D/2] fp32
        emb = torch.cat([ang, ang], dim=-1)[:, None]
        cos, sin = emb.cos(), emb.sin()
        mask = attention_mask(doc)
        x = self.embed_tokens(ids)
        for blk in self.layers:
            x = blk(x, cos, sin, mask)
        return self.lm_head(self.norm(x))


def read_safetensors(path):
    with open(path, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        head = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, m in head.items():
        if name == "__metadata__":
            continue
        a, b = m["data_offsets"]
        assert m["dtype"] in ("F32", "BF16"), f"{path}: {name} has dtype {m['dtype']}"
        if m["dtype"] == "F32":
            t = torch.from_numpy(np.frombuffer(data[a:b], dtype="<f4").copy())
        else:
            u = np.frombuffer(data[a:b], dtype="<u2").astype(np.uint32) << 16
            t = torch.from_numpy(u.view(np.float32).copy())
        out[name] = t.view(m["shape"])
    return out


def init_weights(model, init, model_dir, seed, std):
    named = model.hf_named()
    if init == "run":
        st = read_safetensors(os.path.join(model_dir, "model.safetensors"))
        assert set(st) == set(named), f"tensor names differ: {sorted(set(st) ^ set(named))}"
        with torch.no_grad():
            for n, p in named.items():
                assert tuple(st[n].shape) == tuple(p.shape), f"{n}: {tuple(st[n].shape)} vs {tuple(p.shape)}"
                p.copy_(st[n])
    else:  # model_init_weights' distributions with torch's RNG
        g = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            for n, p in named.items():
                if p.dim() == 2:
                    p.normal_(0.0, std, generator=g)
                else:
                    p.fill_(1.0)


# --------------------------------------------------------------------------- training
def lr_at(step, total, warmup, kind, lr, min_ratio):
    """src/train/optimizer.cpp lr_at (0-based step)."""
    if warmup > 0 and step < warmup:
        return lr * (step + 1) / warmup
    if kind == "constant" or total <= warmup:
        return lr
    p = min(1.0, (step - warmup) / max(1, total - warmup))
    floor = lr * min_ratio
    if kind == "linear":
        return floor + (lr - floor) * (1.0 - p)
    return floor + (lr - floor) * 0.5 * (1.0 + math.cos(math.pi * p))


def load_run(run, seed, block_override=None):
    """Our run's settings and packed rows for base seed `seed`."""
    pre = os.path.join(run, "pretrain", f"b{seed}")
    tc = json.load(open(os.path.join(pre, "config.json")))
    model_dir = tc["model"] if os.path.isdir(tc["model"]) else os.path.join(run, "init", f"b{seed}", "model")
    mc = json.load(open(os.path.join(model_dir, "config.json")))
    data = tc["data"] if os.path.exists(tc["data"]) else os.path.join(run, "gen", "corpus.jsonl")
    for k, want in (("pretrain", True), ("packing", True), ("trainable", "all"), ("lora", None)):
        assert tc.get(k, want) == want, f"{pre}/config.json: {k} = {tc.get(k)!r}; this peer handles {want!r}"
    block = block_override or tc["block"]
    bos, eos = special_ids(model_dir)
    docs = tokenize_docs(data, model_dir)
    rows = pack(text_examples(docs, bos, eos, block), block)
    info = {"train_config": os.path.join(pre, "config.json"), "model_dir": model_dir, "data": data,
            "documents": len(docs), "rows": len(rows), "bos_id": bos, "eos_id": eos}
    return tc, mc, rows, info


def train(a):
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    tc, mc, rows, info = load_run(a.run, a.seed)
    steps = a.steps or tc["max_steps"]
    horizon = tc["max_steps"] or steps  # the cosine runs over the configured steps even when --steps cuts
    B, accum = tc["micro_batch"], tc["grad_accum"]
    assert tc.get("max_supervised_tokens", 0) == 0 and tc.get("early_stop_patience", 0) == 0
    model = Llama(mc)
    init_weights(model, a.init, info["model_dir"], a.seed, mc.get("initializer_range", 0.02))
    Linear.emulate_bf16 = a.precision == "bf16-emul"
    decay = [p for p in model.parameters() if tc["decay_all"] or p.dim() >= 2]
    no_decay = [p for p in model.parameters() if not (tc["decay_all"] or p.dim() >= 2)]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": tc["weight_decay"]},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=tc["lr"], betas=(tc["beta1"], tc["beta2"]), eps=tc["eps"])
    sched = Schedule(len(rows), B, tc["seed"] if a.data_seed is None else a.data_seed)
    os.makedirs(a.out, exist_ok=True)
    settings = {
        "peer": "bench/precision_torch.py", "torch": torch.__version__, "threads": torch.get_num_threads(),
        "run": a.run, "precision": a.precision, "seed": a.seed, "init": a.init,
        "data_seed": sched.seed, "steps": steps, "lr_horizon": horizon,
        "model": mc, "micro_batch": B, "grad_accum": accum, "block": tc["block"], "lr": tc["lr"],
        "beta1": tc["beta1"], "beta2": tc["beta2"], "eps": tc["eps"], "weight_decay": tc["weight_decay"],
        "decay_all": tc["decay_all"], "clip": tc["clip"], "schedule": tc["schedule"], "warmup": tc["warmup"],
        "min_lr_ratio": tc["min_lr_ratio"], **info}
    with open(os.path.join(a.out, "config.json"), "w") as f:
        json.dump(settings, f, indent=2)
    metrics = open(os.path.join(a.out, "metrics.jsonl"), "w")
    t_start = time.perf_counter()
    for step in range(steps):
        t0, c0 = time.perf_counter(), time.process_time()
        batches = [make_batch(rows, sched.micro(step * accum + i)) for i in range(accum)]
        sup = sum(b[5] for b in batches)
        toks = sum(b[4] for b in batches)
        opt.zero_grad(set_to_none=False)
        loss_sum = 0.0
        for ids, tgt, pos, doc, _, _ in batches:
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=a.precision == "bf16"):
                logits = model(ids, pos, doc)
            l = Fn.cross_entropy(logits.float().view(-1, model.V), tgt.view(-1), ignore_index=-100,
                                 reduction="sum")
            (l / max(1, sup)).backward()
            loss_sum += l.item()
        gnorm = float(torch.nn.utils.clip_grad_norm_(model.parameters(), tc["clip"])) if tc["clip"] > 0 else \
            float(torch.norm(torch.stack([p.grad.norm() for p in model.parameters()])))
        lr = lr_at(step, horizon, tc["warmup"], tc["schedule"], tc["lr"], tc["min_lr_ratio"])
        for g in opt.param_groups:
            g["lr"] = lr
        loss = loss_sum / max(1, sup)
        if not (math.isfinite(loss) and math.isfinite(gnorm)):
            sys.exit(f"step {step + 1}: non-finite loss {loss} or gradient norm {gnorm} (our trainer stops too)")
        opt.step()
        dt = time.perf_counter() - t0
        metrics.write(json.dumps({"step": step + 1, "loss": loss, "lr": lr, "seconds": dt,
                                  "cpu_seconds": time.process_time() - c0, "grad_norm": gnorm,
                                  "tokens": toks, "supervised_tokens": sup}) + "\n")
        metrics.flush()
        el = time.perf_counter() - t_start
        rate = (step + 1) / el
        sys.stderr.write(f"\r[{a.precision} b{a.seed}] step {step + 1}/{steps} loss {loss:.4f} lr {lr:.2e} "
                         f"{rate:.2f} steps/s {toks / dt:.0f} tok/s ETA {(steps - step - 1) / rate:.0f}s   ")
        sys.stderr.flush()
    sys.stderr.write("\n")
    metrics.close()


def check_data(a):
    """Replays our data pipeline and compares every step's token counts with the run's metrics."""
    tc, _, rows, info = load_run(a.run, a.seed)
    ours = [r for r in pe.read_jsonl(os.path.join(a.run, "pretrain", f"b{a.seed}", "metrics.jsonl"))
            if "tokens" in r]
    steps = min(a.steps or len(ours), len(ours))
    sched = Schedule(len(rows), tc["micro_batch"], tc["seed"])
    bad = 0
    for s in range(steps):
        which = [sched.micro(s * tc["grad_accum"] + i) for i in range(tc["grad_accum"])]
        toks = sum(len(rows[r][0]) for w in which for r in w)
        sup = sum(sum(t != -100 for t in rows[r][1]) for w in which for r in w)
        if (toks, sup) != (ours[s]["tokens"], ours[s]["supervised_tokens"]):
            bad += 1
            if bad <= 5:
                print(f"step {s + 1}: ours tokens {ours[s]['tokens']} supervised {ours[s]['supervised_tokens']}, "
                      f"peer {toks} {sup}")
    print(f"{info['documents']} documents -> {info['rows']} rows (bos {info['bos_id']}, eos {info['eos_id']}); "
          f"{steps - bad} of {steps} steps have our exact token and supervised-token counts")
    return 0 if bad == 0 else 1


def selftest(_a):
    """Assertions on a hand-made case; each says what it establishes."""
    torch.manual_seed(0)
    # 1. packing and targets: docs [5,6,7] and [8,9] in one row -> positions restart, no target crosses.
    rows = pack([[5, 6, 7], [8, 9]], 8)
    assert rows == [([5, 6, 7, 8, 9], [6, 7, -100, 9, -100], [0, 1, 2, 0, 1], [0, 0, 0, 1, 1])], rows
    # 2. the mask: causal within a document, nothing across documents, padding sees only padding.
    m = attention_mask(torch.tensor([[0, 0, 1, 1, -1]]))[0, 0]
    want = torch.tensor([[1, 0, 0, 0, 0], [1, 1, 0, 0, 0], [0, 0, 1, 0, 0], [0, 0, 1, 1, 0], [0, 0, 0, 0, 1]])
    assert torch.equal(m == 0, want.bool()), m
    # 3. the model on a packed row equals the model on each document alone (masking + restarted RoPE
    #    positions make packing invisible), and a target change in doc 2 leaves doc 1's gradient alone.
    cfg = {"hidden_size": 32, "num_attention_heads": 4, "num_key_value_heads": 2, "intermediate_size": 48,
           "vocab_size": 40, "num_hidden_layers": 2, "rms_norm_eps": 1e-6, "rope_theta": 500000.0}
    model = Llama(cfg).double()
    for p in model.parameters():
        if p.dim() == 2:
            nn.init.normal_(p, std=0.3)
    model.inv_freq = model.inv_freq.double()
    d1, d2 = torch.randint(0, 40, (1, 7)), torch.randint(0, 40, (1, 5))
    packed = model(torch.cat([d1, d2], 1), torch.tensor([list(range(7)) + list(range(5))]),
                   torch.tensor([[0] * 7 + [1] * 5]))
    alone = torch.cat([model(d, torch.arange(d.shape[1])[None], torch.zeros_like(d)) for d in (d1, d2)], 1)
    err = (packed - alone).abs().max().item()
    assert err < 1e-12, err  # double precision: only summation order may differ
    # 4. make_batch: padding carries target -100 and doc -1; counts exclude padding.
    rows = pack([[1, 2, 3, 4], [5, 6]], 4)
    ids, tgt, pos, doc, toks, sup = make_batch(rows, [0, 1])
    assert toks == 6 and sup == 4 and tgt[1, 2:].eq(-100).all() and doc[1, 2:].eq(-1).all(), (tgt, doc)
    # 5. our RNG's seeding: the first splitmix64 output of state 0 is the published 0xE220A8397B1DCDAF;
    #    the xoshiro256** stream and the shuffle are checked end to end by check-data (every step's token
    #    and supervised-token counts of a run equal ours only if the row order is ours).
    x = Xoshiro(0)
    assert x.s[0] == 0xE220A8397B1DCDAF, hex(x.s[0])
    assert x.below(1) == 0 and all(0 <= x.below(10) < 10 for _ in range(100))
    # 6. the emulated bf16 GEMM's gradients agree with autograd on bf16-rounded operands.
    xx, ww = torch.randn(3, 5, 8, requires_grad=True), torch.randn(6, 8, requires_grad=True)
    Bf16Linear.apply(xx, ww).sum().backward()
    assert torch.allclose(ww.grad, torch.ones(15, 6).t() @ xx.detach().bfloat16().float().view(15, 8))
    print(f"selftest ok (packed vs per-document max |diff| {err:.1e})")
    return 0


def compare(a):
    """Rule 1 of precision_equivalence.py on each torch low-precision arm (bf16 = autocast, and
    bf16-emul when present) against torch fp32, and the last-window table next to ours."""
    def windows(prec):
        out, steps = {}, {}
        d = os.path.join(a.torch, prec)
        for name in sorted(os.listdir(d)) if os.path.isdir(d) else []:
            p = os.path.join(d, name, "metrics.jsonl")
            if name.startswith("b") and name[1:].isdigit() and os.path.exists(p):
                out[int(name[1:])] = pe.loss_windows_file(p)
                steps[int(name[1:])] = sum(1 for r in pe.read_jsonl(p) if "loss" in r)
        return out, steps

    tf, nf = windows("fp32")
    pairs = []  # (label, low-precision windows, fp32 windows of the bases with equal step counts)
    for prec in ("bf16", "bf16-emul"):
        tb, nb = windows(prec)
        if not tb:
            continue
        fw = {}
        for b in sorted(set(tb) | set(tf)):  # a partial last window would compare unequal spans
            print(f"torch base {b}: {nf.get(b, 0)} fp32 steps, {nb.get(b, 0)} {prec} steps")
            if b in tf and nb.get(b) == nf.get(b):
                fw[b] = tf[b]
        print(f"rule 1 (bench/precision_equivalence.py), torch {prec} vs torch fp32:")
        ok = pe.rule1_loss(tb, fw, out=lambda s: print("  torch" + s[1:]))
        compared = [b for b in tb if fw.get(b)]
        print(f"torch {prec}: " + ("nothing compared" if not compared else "equivalent by rule 1 on what was "
                                   "compared" if ok else "NOT equivalent by rule 1") + f" (bases {compared})")
        pairs.append((f"torch {prec}", tb, fw))
    if a.ours_bf16 and a.ours_fp32:
        bases = sorted(set(tf) | {b for _, tb, _ in pairs for b in tb})
        pairs.append(("ours bf16", {b: pe.loss_windows(a.ours_bf16, b) for b in bases},
                      {b: pe.loss_windows(a.ours_fp32, b) for b in bases}))
    print("last window (the last 250 steps) mean loss: fp32, low precision, rel = (low - fp32) / low")
    print(f"  {'base':>4} | " + " | ".join(f"{label:>29}" for label, _, _ in pairs))
    for b in sorted({b for _, tb, fw in pairs for b in list(tb) + list(fw)}):
        cells = []
        for _, bw, fw in pairs:
            k = max(bw[b]) if bw.get(b) else None
            if k is not None and fw.get(b) and k in fw[b]:
                cells.append(f"{fw[b][k]:8.4f} {bw[b][k]:8.4f} {100 * (bw[b][k] - fw[b][k]) / bw[b][k]:+9.2f}%")
            else:
                cells.append(f"{'-':>29}")
        print(f"  {b:>4} | " + " | ".join(cells))
    for label, bw, fw in pairs:  # the declared reading's gap: mean over bases of (low - fp32) / fp32
        g = pe.signed_gaps(bw, fw)
        if g:
            print(f"{label}: mean (low - fp32) / fp32 of the last window over bases {sorted(g)}: "
                  f"{100 * sum(g.values()) / len(g):+.2f}%")
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train")
    t.add_argument("--run", required=True, help="experiment dir (pretrain/bN/config.json, init/bN/model, gen/)")
    t.add_argument("--precision", choices=["fp32", "bf16", "bf16-emul"], required=True)
    t.add_argument("--seed", type=int, required=True, help="base seed N (init/bN, pretrain/bN)")
    t.add_argument("--steps", type=int, default=0, help="steps to run (default: the run's max_steps; "
                   "the LR schedule keeps the run's horizon)")
    t.add_argument("--threads", type=int, default=2)
    t.add_argument("--init", choices=["run", "fresh"], default="run",
                   help="run: the run's init/bN weights (default); fresh: same distributions, torch RNG")
    t.add_argument("--data-seed", type=int, default=None, help="shuffle seed (default: the run's, = base seed)")
    t.add_argument("--out", required=True)
    c = sub.add_parser("check-data")
    c.add_argument("--run", required=True)
    c.add_argument("--seed", type=int, required=True)
    c.add_argument("--steps", type=int, default=0)
    sub.add_parser("selftest")
    m = sub.add_parser("compare")
    m.add_argument("--torch", required=True, help="ROOT with ROOT/{fp32,bf16}/bN/metrics.jsonl")
    m.add_argument("--ours-bf16")
    m.add_argument("--ours-fp32")
    a = ap.parse_args()
    return {"train": train, "check-data": check_data, "selftest": selftest, "compare": compare}[a.cmd](a) or 0


if __name__ == "__main__":
    sys.exit(main())
