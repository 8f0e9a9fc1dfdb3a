"""HF transformers + PyTorch reference for the GPU training benchmark: a randomly initialised model of
LLaMA-3.2-1B shape (16 layers, C 2048, F 8192, 32 heads / 8 kv heads, V 128256, tied embeddings, llama3
RoPE), batch 4 x 2048 random tokens, fp32 master parameters with bf16 autocast, SDPA attention, fused
torch.optim.AdamW, clip_grad_norm_(1.0). Prints and writes one JSON object (tokens/s, step ms, memory).
"""
import argparse
import json
import statistics
import time

import torch
import transformers
from transformers import LlamaConfig, LlamaForCausalLM


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=None)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--seq", type=int, default=2048)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    a = ap.parse_args()
    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=128256, hidden_size=2048, intermediate_size=8192, num_hidden_layers=16,
                      num_attention_heads=32, num_key_value_heads=8, head_dim=64, max_position_embeddings=131072,
                      rms_norm_eps=1e-5, rope_theta=500000.0, tie_word_embeddings=True,
                      rope_scaling={"rope_type": "llama3", "factor": 32.0, "low_freq_factor": 1.0,
                                    "high_freq_factor": 4.0, "original_max_position_embeddings": 8192})
    dev = torch.device("cuda")
    model = LlamaForCausalLM._from_config(cfg, attn_implementation="sdpa", torch_dtype=torch.float32).to(dev)
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.0, fused=True)
    ids = torch.randint(0, cfg.vocab_size, (a.batch, a.seq), device=dev)
    times = []
    for i in range(a.warmup + a.steps):
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        with torch.autocast("cuda", dtype=torch.bfloat16):
            loss = model(input_ids=ids, labels=ids).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        torch.cuda.synchronize()
        if i >= a.warmup:
            times.append(time.perf_counter() - t0)
    step = statistics.median(times)
    n_params = sum(p.numel() for p in model.parameters())
    res = {
        "peer": "hf-transformers+pytorch", "torch": torch.__version__, "transformers": transformers.__version__,
        "device": torch.cuda.get_device_name(0), "params": n_params, "batch": a.batch, "seq": a.seq,
        "step_ms_median": step * 1e3, "step_ms_all": [t * 1e3 for t in times],
        "tokens_per_s": a.batch * a.seq / step, "loss_last": float(loss.item()),
        "peak_mem_gib": torch.cuda.max_memory_allocated() / 2**30,
        "flops_per_step_6ND": 6 * n_params * a.batch * a.seq,
    }
    res["model_tflops"] = res["flops_per_step_6ND"] / step / 1e12
    print(json.dumps(res))
    if a.out:
        with open(a.out, "w") as f:
            json.dump(res, f, indent=1)


if __name__ == "__main__":
    main()
