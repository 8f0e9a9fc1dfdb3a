"""Runs an engine benchmark and its PyTorch peer alternately (ours, torch, ours, torch, ...) so both see
the same machine load, and prints a side-by-side table: best and median over all measured steps of all
rounds, the ratio ours/torch, GFLOP/s and % of the measured sgemm peak (bench_sgemm_peak), and the load
average before and after. Usage (see bench/README.md):
  python3 bench/run_bench.py train --build build/h-bench [--rounds 3] [--steps 3] [-- shape options]
  python3 bench/run_bench.py generate --build build/h-bench [--rounds 3] [-- shape options]
--precision P picks our engine (the torch peer runs fp32, or autocast bf16 for bf16); --vs Q replaces the
torch peer by our own engine of precision Q (e.g. --precision fp32 --vs fp32-ref: oneDNN vs reference).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
PY = "/usr/bin/python3"  # Debian's interpreter (python3-torch)


def run_json(cmd):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def load():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["train", "generate"])
    ap.add_argument("--build", default="build/h-bench")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--no-peak", action="store_true")
    ap.add_argument("--precision", choices=["fp32", "fp32-ref", "bf16"], default="fp32",
                    help="our --precision engine; the peer runs fp32 (fp32, fp32-ref) or torch.autocast bf16")
    ap.add_argument("--vs", choices=["fp32", "fp32-ref", "bf16"], default=None,
                    help="peer = our engine of this precision instead of torch")
    argv = sys.argv[1:]
    cut = argv.index("--") if "--" in argv else len(argv)
    a = ap.parse_args(argv[:cut])
    shape = argv[cut + 1:]  # shape options for both sides
    peer_precision = "bf16" if a.precision == "bf16" else "fp32"
    bench = os.path.join(a.build, "bench")
    load0 = load()
    peak = None
    if a.what == "train" and not a.no_peak:
        peak = run_json([os.path.join(bench, "bench_sgemm_peak"), "--threads", str(a.threads), "--reps", "3"])
    if a.what == "train":
        ours_cmd = [os.path.join(bench, "bench_train_step"), "--steps", str(a.steps), "--threads", str(a.threads)] + shape + ["--precision", a.precision]
        peer_cmd = [PY, os.path.join(HERE, "train_step_torch.py"), "--steps", str(a.steps), "--threads",
                    str(a.threads)] + shape + ["--precision", peer_precision]
        if a.vs:
            peer_cmd = ours_cmd[:-1] + [a.vs]
    else:
        ours_cmd = [os.path.join(bench, "bench_generate"), "--threads", str(a.threads)] + shape + ["--precision",
                                                                                                   a.precision]
        peer_cmd = [PY, os.path.join(HERE, "generate_torch.py"), "--threads", str(a.threads)] + shape + [
            "--precision", peer_precision]
        if a.vs:
            peer_cmd = ours_cmd[:-1] + [a.vs]
    ours, peer = [], []
    for _ in range(a.rounds):
        ours.append(run_json(ours_cmd))
        peer.append(run_json(peer_cmd))
    load1 = load()
    key = "tok_s"
    ob = max(r[key + "_best"] for r in ours)
    pb = max(r[key + "_best"] for r in peer)
    om = statistics.median(r[key + "_median"] for r in ours)
    pm = statistics.median(r[key + "_median"] for r in peer)
    dims = {k: ours[0][k] for k in ours[0] if k in ("d", "layers", "heads", "mlp", "vocab", "batch", "seq",
                                                     "prompt", "new_tokens")}
    peer_desc = f"tsft {a.vs}" if a.vs else f"torch {peer_precision}" + (" (autocast)" if peer_precision == "bf16" else "")
    print(f"{a.what}: {json.dumps(dims)}  threads {a.threads}  rounds {a.rounds}  precision: tsft {a.precision}, "
          f"peer {peer_desc}")
    if not a.vs:
        print(f"peer: torch {peer[0].get('torch')} BLAS {peer[0].get('blas')} threads {peer[0].get('threads')}")
    print(f"load average before: {load0}   after: {load1}")
    if peak:
        print(f"sgemm peak (n={peak['n']}, GFLOP/s best/median): OpenBLAS {peak['threads']} threads "
              f"{peak['openblas_2t_best']}/{peak['openblas_2t_median']}, ours (parallel_blocks + 1-thread sgemm) "
              f"{peak['ours_2t_best']}/{peak['ours_2t_median']}, 1 thread {peak['openblas_1t_best']}/"
              f"{peak['openblas_1t_median']}, oneDNN fp32 {peak['dnnl_f32_2t_best']}/{peak['dnnl_f32_2t_median']}, "
              f"oneDNN bf16 {peak['dnnl_bf16_2t_best']}/{peak['dnnl_bf16_2t_median']}")
    # The denominator that matches the arithmetic: oneDNN's fp32 or bf16 matmul peak of this run.
    dnnl_key = "dnnl_bf16_2t_best" if a.precision == "bf16" else "dnnl_f32_2t_best"
    hdr = f"{'side':13s} {'tok/s best':>11s} {'tok/s median':>13s}"
    if a.what == "train":
        hdr += (f" {'GFLOP/s best':>13s} {'GFLOP/s med':>12s} {'% OpenBLAS pk':>14s}"
                f" {'% oneDNN ' + ('bf16' if a.precision == 'bf16' else 'fp32') + ' pk':>18s}")
    print(hdr)
    peer_name = "tsft-" + a.vs if a.vs else "torch"
    for name, rs, b, m in (("tsft", ours, ob, om), (peer_name, peer, pb, pm)):
        line = f"{name:13s} {b:11.1f} {m:13.1f}"
        if a.what == "train":
            gb = max(r["gflops_best"] for r in rs)
            gm = statistics.median(r["gflops_median"] for r in rs)
            pk = peak["openblas_2t_best"] if peak else float("nan")
            dk = peak[dnnl_key] if peak else float("nan")
            line += f" {gb:13.2f} {gm:12.2f} {100 * gb / pk:13.1f}% {100 * gb / dk:17.1f}%"
        print(line)
    print(f"ratio tsft/{peer_name}: best {ob / pb:.2f}  median {om / pm:.2f}")
    if a.what == "train":
        print(f"flops/step: tsft {ours[0]['flops_per_step']:.4e}  {peer_name} {peer[0]['flops_per_step']:.4e}; "
              f"loss after warm-up: tsft {ours[0]['loss']}  {peer_name} {peer[0]['loss']}")
        print("tsft phases (median s): " + ", ".join(f"{k} {statistics.median(r[k] for r in ours):.3f}"
                                                    for k in ("fwd_s", "bwd_s", "opt_s")))


if __name__ == "__main__":
    main()
