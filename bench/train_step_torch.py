"""PyTorch peer of bench_train_step: the same LLaMA-style decoder (RMSNorm, RoPE rotate_half, causal
softmax attention (torch 1.13 has no SDPA: HF "eager" attention, masked scores), SwiGLU MLP, untied LM head) in eager fp32 on 2 threads, one step = forward + cross-entropy
+ backward + clip_grad_norm_(1.0) + torch.optim.AdamW (lr 1e-4, wd 0). Prints one JSON line.

FLOPs per step use the formula of train_flops() in src/train/trainer.cpp (all tensors trainable):
  lin = L (4 C^2 + 3 C F) + V C ;  attn = 4 L B T^2 H D ;  flops = 6 B T lin + 3 attn
"""
import argparse
import json
import math
import os
import re
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as Fn


def torch_blas():
    cfg = torch.__config__.show()
    m = re.search(r"BLAS_INFO=([^,\s]+)", cfg)
    info = m.group(1) if m else "unknown"
    # "generic" = the system libblas.so.3, which Debian's alternatives point at a concrete BLAS
    for lib in ("/lib/x86_64-linux-gnu/libblas.so.3", "/usr/lib/x86_64-linux-gnu/libblas.so.3"):
        if os.path.exists(lib):
            return f"{info} ({os.path.realpath(lib)})"
    return info


class RMSNorm(nn.Module):
    def __init__(self, c, eps=1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(c))
        self.eps = eps

    def forward(self, x):
        return self.weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps))


def rope_tables(T, D, theta=500000.0):
    inv = 1.0 / (theta ** (torch.arange(0, D, 2, dtype=torch.float32) / D))
    ang = torch.outer(torch.arange(T, dtype=torch.float32), inv)
    emb = torch.cat([ang, ang], dim=-1)
    return emb.cos(), emb.sin()


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat([-x[..., h:], x[..., :h]], dim=-1)


class Block(nn.Module):
    def __init__(self, C, H, F):
        super().__init__()
        self.H, self.D = H, C // H
        self.ln1, self.ln2 = RMSNorm(C), RMSNorm(C)
        self.q = nn.Linear(C, C, bias=False)
        self.k = nn.Linear(C, C, bias=False)
        self.v = nn.Linear(C, C, bias=False)
        self.o = nn.Linear(C, C, bias=False)
        self.g = nn.Linear(C, F, bias=False)
        self.u = nn.Linear(C, F, bias=False)
        self.d = nn.Linear(F, C, bias=False)

    def qkv(self, x, cos, sin):
        B, T, C = x.shape
        h = self.ln1(x)
        q = self.q(h).view(B, T, self.H, self.D).transpose(1, 2)
        k = self.k(h).view(B, T, self.H, self.D).transpose(1, 2)
        v = self.v(h).view(B, T, self.H, self.D).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        return q, k, v

    def rest(self, x, att):
        B, T, C = x.shape
        x = x + self.o(att.transpose(1, 2).reshape(B, T, C))
        h = self.ln2(x)
        return x + self.d(Fn.silu(self.g(h)) * self.u(h))

    def forward(self, x, cos, sin, mask):
        q, k, v = self.qkv(x, cos, sin)
        s = torch.matmul(q, k.transpose(-1, -2)) * (1.0 / math.sqrt(self.D)) + mask
        att = torch.matmul(torch.softmax(s, dim=-1), v)
        return self.rest(x, att)


class Model(nn.Module):
    def __init__(self, V, C, L, H, F, max_pos):
        super().__init__()
        self.embed = nn.Embedding(V, C)
        self.layers = nn.ModuleList([Block(C, H, F) for _ in range(L)])
        self.norm = RMSNorm(C)
        self.lm_head = nn.Linear(C, V, bias=False)
        cos, sin = rope_tables(max_pos, C // H)
        self.register_buffer("cos", cos, persistent=False)
        self.register_buffer("sin", sin, persistent=False)
        for p in self.parameters():
            if p.dim() == 2:
                nn.init.normal_(p, std=0.02)

    def forward(self, ids):
        T = ids.shape[1]
        cos, sin = self.cos[:T], self.sin[:T]
        mask = torch.full((T, T), float("-inf")).triu(1)
        x = self.embed(ids)
        for blk in self.layers:
            x = blk(x, cos, sin, mask)
        return self.lm_head(self.norm(x))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--d", type=int, default=256)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--mlp", type=int, default=688)
    ap.add_argument("--vocab", type=int, default=512)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--seq", type=int, default=256)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--precision", choices=["fp32", "bf16"], default="fp32",
                    help="bf16: torch.autocast('cpu', dtype=torch.bfloat16) around forward + loss")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    C, L, H, F, V, B, T = a.d, a.layers, a.heads, a.mlp, a.vocab, a.batch, a.seq
    model = Model(V, C, L, H, F, T)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)
    ids = torch.randint(0, V, (B, T))
    targets = torch.cat([ids[:, 1:], torch.randint(0, V, (B, 1))], dim=1)
    D = C // H
    lin = L * (4 * C * C + 3 * C * F) + V * C
    flops = 6.0 * B * T * lin + 3.0 * (4.0 * L * B * T * T * H * D)
    times, loss = [], 0.0
    for s in range(a.warmup + a.steps):
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=False)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=a.precision == "bf16"):
            logits = model(ids)
            l = Fn.cross_entropy(logits.view(-1, V), targets.view(-1))
        l.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        dt = time.perf_counter() - t0
        loss = l.item()
        if s >= a.warmup:
            times.append(dt)
    best, med = min(times), statistics.median(times)
    print(json.dumps({
        "side": "torch", "torch": torch.__version__, "blas": torch_blas(), "threads": torch.get_num_threads(),
        "precision": a.precision, "d": C, "layers": L, "heads": H, "mlp": F, "vocab": V, "batch": B, "seq": T, "steps": a.steps,
        "loss": round(loss, 5), "flops_per_step": flops, "best_s": best, "median_s": med,
        "tok_s_best": B * T / best, "tok_s_median": B * T / med,
        "gflops_best": flops / best / 1e9, "gflops_median": flops / med / 1e9}))


if __name__ == "__main__":
    main()
