"""PyTorch peer of bench_generate: the decoder of train_step_torch.py run as a hand-written eager
KV-cache loop (fp32, 2 threads, torch.no_grad): the batch of prompts is prefilled at once, then one
token per sequence per step is decoded greedily against preallocated [B, H, P, D] caches.
tokens/s = generated tokens / wall time of prefill + decode. Prints one JSON line.
"""
import argparse
import json
import math
import statistics
import time

import torch

from train_step_torch import Model, torch_blas


@torch.no_grad()
def generate(model, prompts, new_tokens):
    B, P = prompts.shape
    blk0 = model.layers[0]
    H, D = blk0.H, blk0.D
    S = P + new_tokens
    kc = [torch.zeros(B, H, S, D) for _ in model.layers]
    vc = [torch.zeros(B, H, S, D) for _ in model.layers]
    out = []

    def step(ids, start):
        T = ids.shape[1]
        cos, sin = model.cos[start:start + T], model.sin[start:start + T]
        x = model.embed(ids)
        end = start + T
        mask = None
        if T > 1:
            mask = torch.full((T, end), float("-inf")).triu(start + 1)
        for l, blk in enumerate(model.layers):
            q, k, v = blk.qkv(x, cos, sin)
            kc[l][:, :, start:end] = k
            vc[l][:, :, start:end] = v
            s = torch.matmul(q, kc[l][:, :, :end].transpose(-1, -2)) * (1.0 / math.sqrt(D))
            if mask is not None:
                s = s + mask
            att = torch.matmul(torch.softmax(s, dim=-1), vc[l][:, :, :end])
            x = blk.rest(x, att)
        return model.lm_head(model.norm(x[:, -1]))

    logits = step(prompts, 0)
    nxt = logits.argmax(-1, keepdim=True)
    out.append(nxt)
    for t in range(1, new_tokens):
        logits = step(nxt, P + t - 1)
        nxt = logits.argmax(-1, keepdim=True)
        out.append(nxt)
    return torch.cat(out, dim=1)


def main():
    ap = argparse.ArgumentParser()
    for k, v in (("d", 256), ("layers", 4), ("heads", 4), ("mlp", 688), ("vocab", 512), ("batch", 16),
                 ("prompt", 32), ("new", 64), ("reps", 3), ("threads", 2)):
        ap.add_argument("--" + k, type=int, default=v)
    ap.add_argument("--precision", choices=["fp32", "bf16"], default="fp32",
                    help="bf16: torch.autocast('cpu', dtype=torch.bfloat16) around the whole loop")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = Model(a.vocab, a.d, a.layers, a.heads, a.mlp, a.prompt + a.new).eval()
    prompts = torch.randint(0, a.vocab, (a.batch, a.prompt))
    tps = []
    for r in range(a.reps + 1):
        t0 = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=a.precision == "bf16"):
            toks = generate(model, prompts, a.new)
        dt = time.perf_counter() - t0
        if r > 0:
            tps.append(toks.numel() / dt)
    print(json.dumps({"side": "torch", "torch": torch.__version__, "blas": torch_blas(),
                      "threads": torch.get_num_threads(), "d": a.d, "layers": a.layers, "heads": a.heads,
                      "mlp": a.mlp, "vocab": a.vocab, "batch": a.batch, "prompt": a.prompt, "new_tokens": a.new,
                      "tok_s_best": max(tps), "tok_s_median": statistics.median(tps)}))


if __name__ == "__main__":
    main()
