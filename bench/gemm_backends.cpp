// Per-shape GEMM backend comparison for the engine's shapes (prints a table; never run by tests):
// today's OpenBLAS kernels (GemmKind::reference) vs oneDNN fp32 (no shape rule) vs oneDNN bf16, for
// the linear layers' forward, backward-dinp and backward-dW, training shapes of the two benchmark
// models, the LM-head chunks, the attention-core block GEMMs and decode GEMVs (N = 1..16 rows).
// Each cell is the BEST of --reps timed calls after one warm-up (the machine is shared: best-of is the
// least noisy estimate of what the code can do), in GFLOP/s.
//   bench_gemm_backends [--reps 7] [--threads 2] [--only train|decode|casts|attn] [--team 0|1]
// --team 1 runs oneDNN on its own OpenMP team instead of the engine's pool.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "kernels/cpu/bf16.hpp"
#include "kernels/cpu/blas.hpp"
#include "kernels/cpu/gemm_ops.hpp"
#include "kernels/cpu/gemm_ops_dnnl.hpp"
#include "kernels/cpu/kernels.hpp"

using namespace tsft;

namespace {

struct Case {
  const char* what;
  int N, I, O;  // linear layer out[N,O] = inp[N,I] W[O,I]^T (attention: M=N, K=I, N=O of one block)
};

template <typename Fn>
double best_seconds(Fn&& fn, int reps) {
  fn();
  double best = 1e30;
  for (int r = 0; r < reps; r++) {
    auto t0 = std::chrono::steady_clock::now();
    fn();
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return best;
}

std::vector<float> filled(size_t n, float s) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; i++) v[i] = s * (float)((i * 2654435761u) % 1000) / 1000.f - 0.5f * s;
  return v;
}

// GFLOP/s of forward, backward-dinp and backward-dW of one linear layer with one GemmOps.
void linear_row(GemmOps& ops, const Case& c, int reps, bool decode, double* g) {
  auto x = filled((size_t)c.N * c.I, 1), w = filled((size_t)c.O * c.I, 0.1f),
       d = filled((size_t)c.N * c.O, 1);
  std::vector<float> out((size_t)c.N * c.O), dx((size_t)c.N * c.I), dw((size_t)c.O * c.I);
  const double fl = 2.0 * c.N * c.I * c.O / 1e9;
  g[0] =
      fl / best_seconds([&] { ops.forward(out.data(), x.data(), w.data(), nullptr, c.N, c.I, c.O); }, reps);
  if (decode) return;
  g[1] = fl /
         best_seconds(
             [&] { ops.backward(dx.data(), nullptr, nullptr, d.data(), x.data(), w.data(), c.N, c.I, c.O); },
             reps);
  g[2] = fl /
         best_seconds(
             [&] { ops.backward(nullptr, dw.data(), nullptr, d.data(), x.data(), w.data(), c.N, c.I, c.O); },
             reps);
}

// Training: fwd / dinp / dW with ref, dnnl32, bf16. Decode (forward only): ref, dnnl32, bf16 with its
// shape rule (the few-row kernel for N <= 16), bf16 all on oneDNN.
void print_linear(const char* title, const std::vector<Case>& cases, GemmOps* ops[4], int reps, bool decode) {
  std::printf("\n%s (GFLOP/s, best of %d)\n", title, reps);
  if (decode)
    std::printf("%-10s %5s %5s %5s | fwd ref / dnnl32 / bf16 / bf16-dnnl | dnnl32/ref bf16/ref\n", "layer",
                "N", "I", "O");
  else
    std::printf(
        "%-10s %5s %5s %5s | fwd ref/dnnl32/bf16   | dinp ref/dnnl32/bf16  | dW ref/dnnl32/bf16    | "
        "dnnl32/ref fwd dinp dW\n",
        "layer", "N", "I", "O");
  const int nk = decode ? 4 : 3;
  for (const Case& c : cases) {
    double g[4][3] = {};
    for (int k = 0; k < nk; k++) linear_row(*ops[k], c, reps, decode, g[k]);
    std::printf("%-10s %5d %5d %5d |", c.what, c.N, c.I, c.O);
    if (decode) {
      std::printf(" %6.1f %6.1f %6.1f %6.1f          | %.2f %.2f\n", g[0][0], g[1][0], g[2][0], g[3][0],
                  g[1][0] / g[0][0], g[2][0] / g[0][0]);
    } else {
      for (int op = 0; op < 3; op++) std::printf(" %6.1f %6.1f %6.1f |", g[0][op], g[1][op], g[2][op]);
      for (int op = 0; op < 3; op++) std::printf(" %.2f", g[1][op] / g[0][op]);
      std::printf("\n");
    }
    for (int k = 0; k < nk; k++) ops[k]->weights_changed();
  }
}

// Attention-core block GEMMs as the engine issues them: one call per (batch row, head, query block)
// from inside pool tasks (single-threaded each), S = Q K^T then O = P V, kQBlock = 64 query rows.
void print_attention(GemmOps* ops[3], int reps, int B, int H, int T, int D) {
  const int nq = 64;
  auto q = filled((size_t)B * H * T * D, 1), k = filled((size_t)B * H * T * D, 1);
  std::vector<float> s((size_t)B * H * nq * T);
  double fl = 0;
  for (int t0 = 0; t0 < T; t0 += nq) fl += 2.0 * nq * (t0 + nq) * D * 2;  // QK^T and PV per head
  fl *= (double)B * H / 1e9;
  std::printf("attention core B%d H%d T%d D%d:", B, H, T, D);
  for (int kx = 0; kx < 3; kx++) {
    double sec = best_seconds(
        [&] {
          parallel_blocks((long)B * H, 1,
                          [&](long i0, long i1, int) {
                            for (long i = i0; i < i1; i++)
                              for (int t0 = 0; t0 < T; t0 += nq) {
                                const float* qb = q.data() + (size_t)i * T * D + (size_t)t0 * D;
                                float* sb = s.data() + (size_t)i * nq * T;
                                ops[kx]->gemm(false, true, nq, t0 + nq, D, 0.125f, qb, D,
                                              k.data() + (size_t)i * T * D, D, 0.f, sb, T);
                                ops[kx]->gemm(false, false, nq, D, t0 + nq, 1.f, sb, T,
                                              k.data() + (size_t)i * T * D, D, 0.f,
                                              q.data() + (size_t)i * T * D + (size_t)t0 * D, D);
                              }
                          },
                          1e9);
        },
        reps);
    std::printf(" %s %.1f", ops[kx]->name(), fl / sec);
  }
  std::printf(" GFLOP/s\n");
}

// fp32 -> bf16 rounding of one activation matrix (4096 x 512): vector path, scalar reference, pool.
void print_casts(int reps) {
  const size_t n = 4096 * 512;
  auto x = filled(n, 1);
  std::vector<bf16_t> y(n);
  double t[3];
  t[0] = best_seconds([&] { f32_to_bf16(y.data(), x.data(), n); }, reps);
  t[1] = best_seconds([&] { f32_to_bf16_scalar(y.data(), x.data(), n); }, reps);
  t[2] = best_seconds([&] { f32_to_bf16_parallel(y.data(), x.data(), n); }, reps);
  std::printf("cast 4096x512 fp32->bf16 (avx512_bf16 %s): 1 thread %.3f ms, scalar %.3f ms, pool %.3f ms\n",
              cpu_has_avx512_bf16() ? "yes" : "no", t[0] * 1e3, t[1] * 1e3, t[2] * 1e3);
}

}  // namespace

int main(int argc, char** argv) {
  int reps = 7, threads = 2, team = 0;
  std::string only;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--reps"))
      reps = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--threads"))
      threads = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--only"))
      only = argv[i + 1];
    else if (!std::strcmp(argv[i], "--team"))
      team = std::atoi(argv[i + 1]);
  }
  kernels_init_threads(threads);
  auto ref = make_gemm_ops(GemmKind::reference);
  auto f32 = make_dnnl_gemm_ops(DnnlOptions{false, false, team != 0});
  auto b16 = make_dnnl_gemm_ops(DnnlOptions{true, true, team != 0});
  auto b16_dnnl = make_dnnl_gemm_ops(DnnlOptions{true, false, team != 0});
  GemmOps* ops[4] = {ref.get(), f32.get(), b16.get(), b16_dnnl.get()};
  std::printf(
      "threads %d; reference = OpenBLAS kernels of kernels/cpu/matmul.cpp; dnnl32 without shape rule; "
      "oneDNN on %s\n",
      threads, team ? "its OpenMP team" : "the engine's pool (1-thread calls per chunk)");
  if (only.empty() || only == "train") {
    print_linear("d256 L4 ff688 V512 B16xT256 (N = 4096)",
                 {{"qkv/wo", 4096, 256, 256},
                  {"gate/up", 4096, 256, 688},
                  {"down", 4096, 688, 256},
                  {"head", 2048, 256, 512}},
                 ops, reps, false);
    print_linear("d512 L8 ff1376 V2048 B8xT512 (N = 4096)",
                 {{"qkv/wo", 4096, 512, 512},
                  {"gate/up", 4096, 512, 1376},
                  {"down", 4096, 1376, 512},
                  {"head", 512, 512, 2048}},
                 ops, reps, false);
  }
  if (only.empty() || only == "decode") {
    std::vector<Case> dec;
    for (int n : {1, 4, 8, 16})
      for (Case c : {Case{"d256 qkv", 0, 256, 256},
                     {"d256 up", 0, 256, 688},
                     {"d256 down", 0, 688, 256},
                     {"d256 head", 0, 256, 512},
                     {"d512 qkv", 0, 512, 512},
                     {"d512 up", 0, 512, 1376},
                     {"d512 down", 0, 1376, 512},
                     {"d512 head", 0, 512, 2048}}) {
        c.N = n;
        dec.push_back(c);
      }
    print_linear("decode GEMVs (forward only)", dec, ops, reps * 5, true);
  }
  if (only.empty() || only == "casts") print_casts(reps * 3);
  if (only.empty() || only == "attn") {
    print_attention(ops, reps, 16, 4, 256, 64);
    print_attention(ops, reps, 8, 8, 512, 64);
  }
  // With oneDNN on the pool no OpenMP team is started (main + pool worker);
  // OpenBLAS may add its own thread; --team 1 adds oneDNN's OpenMP worker.
  int nthreads = 0;
  if (FILE* f = std::fopen("/proc/self/status", "r")) {
    char line[256];
    while (std::fgets(line, sizeof line, f))
      if (!std::strncmp(line, "Threads:", 8)) nthreads = std::atoi(line + 8);
    std::fclose(f);
  }
  std::printf("process threads at exit: %d\n", nthreads);
  return 0;
}
