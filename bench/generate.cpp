// Batched greedy generation with generate() (KV cache, continuous batching) on a random-weight
// LLaMA-style model: `batch` random prompts of `prompt` tokens, `new` new tokens each (no stop ids).
// tokens/s = generated tokens / wall time of the whole generate() call (prefill included).
// Prints one JSON line (best and median over `reps` calls after one warm-up call).
//   bench_generate [--d 256] [--layers 4] [--heads 4] [--mlp 688] [--vocab 512] [--batch 16]
//                  [--prompt 32] [--new 64] [--reps 3] [--threads 2] [--device cpu] [--precision fp32]
//                  [--kv-heads H]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "core/rng.hpp"
#include "kernels/cpu/kernels.hpp"
#include "model/config.hpp"
#include "model/generate.hpp"
#include "model/model.hpp"

using namespace tsft;

int main(int argc, char** argv) {
  int C = 256, L = 4, H = 4, F = 688, V = 512, B = 16, P = 32, NEW = 64, reps = 3, threads = 2, KVH = 0;
  EngineSpec spec;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    int v = std::atoi(argv[i + 1]);
    if (k == "--device") spec.device = argv[i + 1];
    else if (k == "--precision") spec.precision = argv[i + 1];
    else if (k == "--d") C = v;
    else if (k == "--layers") L = v;
    else if (k == "--heads") H = v;
    else if (k == "--kv-heads") KVH = v;
    else if (k == "--mlp") F = v;
    else if (k == "--vocab") V = v;
    else if (k == "--batch") B = v;
    else if (k == "--prompt") P = v;
    else if (k == "--new") NEW = v;
    else if (k == "--reps") reps = v;
    else if (k == "--threads") threads = v;
    else {
      std::fprintf(stderr, "unknown option %s\n", argv[i]);
      return 2;
    }
  }
  kernels_init_threads(threads);
  Model host = model_create(config_make("llama", V, C, F, L, H, KVH > 0 ? KVH : H, C / H, 2048));
  model_init_weights(host, 1234);
  std::unique_ptr<Engine> eng = engine_create(spec, std::move(host));
  std::vector<std::vector<int32_t>> prompts(B, std::vector<int32_t>(P));
  Xoshiro rng(7);
  for (auto& p : prompts)
    for (auto& t : p) t = (int32_t)rng.below(V);
  GenOptions opt;
  opt.max_new_tokens = NEW;
  opt.max_batch = B;
  std::vector<double> tps;
  int64_t checksum = 0;
  for (int r = 0; r < reps + 1; r++) {
    GenStats st;
    auto res = generate(*eng, prompts, opt, &st);
    checksum = 0;
    for (auto& g : res)
      for (int32_t t : g.tokens) checksum = checksum * 31 + t;
    if (r > 0) tps.push_back((double)st.new_tokens / st.seconds);
  }
  std::sort(tps.begin(), tps.end());
  std::printf("{\"side\": \"tsft\", \"d\": %d, \"layers\": %d, \"heads\": %d, \"mlp\": %d, \"vocab\": %d, "
              "\"batch\": %d, \"prompt\": %d, \"new_tokens\": %d, \"threads\": %d, \"checksum\": %lld, "
              "\"tok_s_best\": %.1f, \"tok_s_median\": %.1f}\n",
              C, L, H, F, V, B, P, NEW, threads, (long long)checksum, tps.back(), tps[tps.size() / 2]);
  return 0;
}
