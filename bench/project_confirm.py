#!/usr/bin/env python3
"""Projected wall time of an experiment config on this machine (default configs/confirm_large.toml), from
measured step and decode rates at the config's shapes. A projection, not a measurement: every SFT
training is counted at its step cap (early stopping only shortens it), and the evaluation at the
measured decode rate of a mid-length context. Usage:
    bench/project_confirm.py [CONFIG] [--build build/release] [--items N]
--items: evaluated items per run (default: every item of the generated splits and probes, estimated
from [gen.sizes] as test + counterfactual + compositional + 8 probe files of probe_parents items).
Rates are measured with bench_train_step / bench_generate (bf16 engine, 2 threads), nothing else running.
"""
import argparse
import json
import subprocess
import tomllib

ap = argparse.ArgumentParser()
ap.add_argument("config", nargs="?", default="configs/confirm_large.toml")
ap.add_argument("--build", default="build/release")
ap.add_argument("--items", type=int, default=0)
ap.add_argument("--doc-len", type=int, default=0, help="packed document length (default: 128 corpus, 300 SFT)")
args = ap.parse_args()
cfg = tomllib.load(open(args.config, "rb"))
ex, m, gen = cfg["experiment"], cfg["model"], cfg["gen"]["sizes"]
shape = ["--d", m["hidden"], "--layers", m["layers"], "--heads", m["heads"], "--kv-heads", m.get("kv_heads", m["heads"]),
         "--mlp", m["intermediate"], "--vocab", cfg["tokenizer"]["vocab_size"]]


def run(cmd):
    out = subprocess.run([str(c) for c in cmd], check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def step_seconds(stage, doc_len):
    s = cfg[stage]
    r = run([f"{args.build}/bench/bench_train_step", *shape, "--batch", s["micro_batch"], "--seq", s["block"],
             "--doc-len", args.doc_len or doc_len, "--steps", 3, "--warmup", 1, "--precision", "bf16"])
    return r["median_s"]


bases = len(ex["base_seeds"])
runs = bases * len(ex.get("sft_seeds", [1]))
arms = ex["arms"]
grid = cfg["sft"].get("lr_grid", {})
trainings = sum(runs * len(grid.get(a.split(":")[1], [None])) for a in arms)
t_pre, t_ins, t_sft = step_seconds("pretrain", 128), step_seconds("instruct", 128), step_seconds("sft", 300)
dec = run([f"{args.build}/bench/bench_generate", *shape, "--batch", cfg["eval"].get("batch", 32), "--prompt", 128,
           "--new", 128, "--reps", 1, "--precision", "bf16"])
tok_s = dec["tok_s_median"] if "tok_s_median" in dec else dec["tok_s_best"]
new_tok = cfg["eval"].get("max_new_tokens", 256) / 2  # mean generated length: half the budget (a guess)
sft = cfg["sft"]
val_decodes = sft["steps"] // sft.get("eval_every", 100) * (sft.get("select_limit", 0) or sft.get("val_size", 0))
items = args.items or gen["test"] + gen["counterfactual"] + gen["compositional"] + 8 * gen["probe_parents"]
items += cfg["eval"].get("train_limit", 0)
rows = [
    ("pre-training", bases * cfg["pretrain"]["steps"] * t_pre,
     f"{bases} bases x {cfg['pretrain']['steps']} steps x {t_pre:.3f} s"),
    ("instruct", bases * cfg["instruct"]["steps"] * t_ins, f"{bases} x {cfg['instruct']['steps']} x {t_ins:.3f} s"),
    ("SFT steps (at the cap)", trainings * sft["steps"] * t_sft,
     f"{trainings} trainings ({len(arms)} arms x {runs} runs x lr grid) x {sft['steps']} x {t_sft:.3f} s"),
    ("SFT validation decoding", trainings * val_decodes * new_tok / tok_s,
     f"{trainings} x {val_decodes} problems x {new_tok:.0f} tokens / {tok_s:.0f} tok/s"),
    ("evaluation", len(arms) * runs * items * new_tok / tok_s,
     f"{len(arms) * runs} runs x {items} items x {new_tok:.0f} tokens / {tok_s:.0f} tok/s"),
]
total = sum(r[1] for r in rows)
print(f"projection for {args.config} (bf16 engine, this machine):")
for name, sec, how in rows:
    print(f"  {name:<26} {sec / 3600:9.1f} h   {how}")
print(f"  {'total':<26} {total / 3600:9.1f} h   ({total / 86400:.1f} days)")
