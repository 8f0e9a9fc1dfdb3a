// One SFT step (forward + backward + clip + AdamW) of a LLaMA-style model, called exactly as
// train_run does it (engine forward with the fused head backward, backward, clip, AdamW), on
// random tokens, every token supervised; one document per row, or documents of --doc-len tokens packed
// into each row (the SFT stage's packing: attention stays inside a document, positions restart). Prints one
// JSON line per run with tokens/s, GFLOP/s (train_flops of src/train/trainer.cpp) and the time of each phase.
//   bench_train_step [--d 256] [--layers 4] [--heads 4] [--mlp 688] [--vocab 512] [--batch 16]
//                    [--seq 256] [--steps 5] [--warmup 1] [--threads 2] [--profile 1]
//                    [--device cpu] [--precision fp32] [--kv-heads H] [--doc-len T]
// The default experiment's SFT step: --d 128 --layers 4 --heads 4 --kv-heads 2 --mlp 352 --vocab 1024
// --batch 8 --seq 512 --doc-len 160 --precision bf16.
// --profile 1 prints (stderr) the wall time of every operation of model_forward/model_backward per
// step (OpProfile) and the process CPU time per step (both threads, spinning included).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <numeric>
#include <string>
#include <vector>

#include "core/rng.hpp"
#include "kernels/cpu/kernels.hpp"
#include "model/config.hpp"
#include "model/engine.hpp"
#include "train/optimizer.hpp"
#include "train/trainer.hpp"

using namespace tsft;
using clk = std::chrono::steady_clock;

static double secs(clk::time_point a, clk::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

int main(int argc, char** argv) {
  int C = 256, L = 4, H = 4, F = 688, V = 512, B = 16, T = 256, steps = 5, warmup = 1, threads = 2,
      profile = 0, KVH = 0, doc_len = 0;
  EngineSpec spec;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    int v = std::atoi(argv[i + 1]);
    if (k == "--device")
      spec.device = argv[i + 1];
    else if (k == "--precision")
      spec.precision = argv[i + 1];
    else if (k == "--d")
      C = v;
    else if (k == "--layers")
      L = v;
    else if (k == "--heads")
      H = v;
    else if (k == "--mlp")
      F = v;
    else if (k == "--vocab")
      V = v;
    else if (k == "--batch")
      B = v;
    else if (k == "--seq")
      T = v;
    else if (k == "--steps")
      steps = v;
    else if (k == "--warmup")
      warmup = v;
    else if (k == "--threads")
      threads = v;
    else if (k == "--profile")
      profile = v;
    else if (k == "--kv-heads")
      KVH = v;
    else if (k == "--doc-len")
      doc_len = v;
    else {
      std::fprintf(stderr, "unknown option %s\n", argv[i]);
      return 2;
    }
  }
  kernels_init_threads(threads);
  ModelConfig cfg = config_make("llama", V, C, F, L, H, KVH > 0 ? KVH : H, C / H, std::max(T, 2048));
  Model host = model_create(cfg);
  model_init_weights(host, 1234);
  std::unique_ptr<Engine> eng = engine_create(spec, std::move(host));
  Engine& m = *eng;
  m.set_trainable([](const TensorEntry&) { return true; });
  Optimizer opt;  // trainer defaults: lr 1e-4, betas (0.9, 0.999), eps 1e-8, wd 0, clip 1.0
  std::unique_ptr<Workspace> act = m.workspace(B, T, true);

  const int N = B * T;
  std::vector<int32_t> ids(N), targets(N), pos(N), doc(N, 0);
  Xoshiro rng(42);
  for (int n = 0; n < N; n++) {
    ids[n] = (int32_t)rng.below(V);
    const int t = n % T, d = doc_len > 0 ? t / doc_len : 0;
    pos[n] = doc_len > 0 ? t % doc_len : t;
    doc[n] = d;
  }
  for (int n = 0; n < N; n++) targets[n] = (n % T == T - 1) ? (int32_t)rng.below(V) : ids[n + 1];
  Batch b{ids.data(), targets.data(), pos.data(), doc.data(), B, T};
  std::vector<int> lens(B, T);
  const double flops = train_flops(cfg, m.table(), lens, T);

  std::vector<double> t_step, t_fwd, t_bwd, t_opt;
  double loss = 0, cpu_s = 0;
  OpProfile prof;
  auto cpu_now = [] {
    timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
  };
  for (int s = 0; s < warmup + steps; s++) {
    if (profile && s == warmup) model_set_profile(&prof);
    double c0 = cpu_now();
    auto t0 = clk::now();
    m.zero_grads();
    ForwardResult fr = m.forward(*act, b, nullptr, true, 1.0 / N);
    auto t1 = clk::now();
    m.backward(*act, b);
    auto t2 = clk::now();
    opt.clip_gradients(m);
    opt.update(m, 1e-4);
    auto t3 = clk::now();
    loss = fr.loss_sum / (double)fr.n_valid;
    if (s < warmup) continue;
    cpu_s += cpu_now() - c0;
    t_step.push_back(secs(t0, t3));
    t_fwd.push_back(secs(t0, t1));
    t_bwd.push_back(secs(t1, t2));
    t_opt.push_back(secs(t2, t3));
  }
  model_set_profile(nullptr);
  if (profile) {
    double tot = 0, tot_cpu = 0;
    for (double x : prof.secs) tot += x;
    for (double x : prof.cpu_secs) tot_cpu += x;
    auto mean = [&](const std::vector<double>& v) {
      return std::accumulate(v.begin(), v.end(), 0.0) / steps;
    };
    std::fprintf(stderr, "per step: wall %.4f s (fwd %.4f bwd %.4f opt %.4f), process CPU %.4f s\n",
                 mean(t_step), mean(t_fwd), mean(t_bwd), mean(t_opt), cpu_s / steps);
    for (size_t i = 0; i < prof.names.size(); i++)
      std::fprintf(stderr, "  %-10s wall %8.4f s %5.1f%%   cpu %8.4f s %5.1f%%\n", prof.names[i],
                   prof.secs[i] / steps, 100 * prof.secs[i] / tot, prof.cpu_secs[i] / steps,
                   100 * prof.cpu_secs[i] / tot_cpu);
  }
  auto best = [](std::vector<double> v) { return *std::min_element(v.begin(), v.end()); };
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  std::printf(
      "{\"side\": \"tsft\", \"d\": %d, \"layers\": %d, \"heads\": %d, \"mlp\": %d, \"vocab\": %d, \"batch\": "
      "%d, "
      "\"seq\": %d, \"threads\": %d, \"steps\": %d, \"loss\": %.5f, \"flops_per_step\": %.6e, "
      "\"best_s\": %.5f, \"median_s\": %.5f, \"tok_s_best\": %.1f, \"tok_s_median\": %.1f, "
      "\"gflops_best\": %.2f, \"gflops_median\": %.2f, \"fwd_s\": %.5f, \"bwd_s\": %.5f, \"opt_s\": %.5f}\n",
      C, L, H, F, V, B, T, threads, steps, loss, flops, best(t_step), median(t_step), N / best(t_step),
      N / median(t_step), flops / best(t_step) / 1e9, flops / median(t_step) / 1e9, median(t_fwd),
      median(t_bwd), median(t_opt));
  return 0;
}
