// Measured fp32 GEMM peak of this machine, the denominator of the "% of sgemm peak" figures:
//   openblas_2t : one OpenBLAS sgemm call with OpenBLAS's own threads (2) on n x n matrices
//   ours_2t     : the engine's scheme (kernels/cpu/blas.hpp): OpenBLAS single-threaded inside a fixed
//                 OpenMP row split (parallel_blocks), 2 threads
//   openblas_1t : single-threaded sgemm (one core)
//   dnnl_f32_2t / dnnl_bf16_2t : one oneDNN matmul (brgemm) on its OpenMP team of `threads`, inputs
//                 already in the dtype, fp32 output: the machine's real fp32 / bf16 GEMM peaks
//   gemmops_f32 / gemmops_bf16 : GemmOps::forward of kernels/cpu/gemm_ops.hpp (oneDNN as 1-thread
//                 calls in the engine pool's chunks; bf16 rounds A on every call, W from its cache)
// Prints one JSON line: best and median GFLOP/s of each over `reps` calls.
//   bench_sgemm_peak [--n 2048] [--reps 5] [--threads 2]
#include <cblas.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <oneapi/dnnl/dnnl.hpp>
#include <string>
#include <vector>

#include "kernels/cpu/bf16.hpp"
#include "kernels/cpu/blas.hpp"
#include "kernels/cpu/gemm_ops.hpp"
#include "kernels/cpu/kernels.hpp"

using namespace tsft;

template <typename Fn>
static std::pair<double, double> measure(Fn&& fn, int reps, double flops) {
  fn();  // warm-up (packing buffers, page faults)
  std::vector<double> g;
  for (int r = 0; r < reps; r++) {
    auto t0 = std::chrono::steady_clock::now();
    fn();
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    g.push_back(flops / s / 1e9);
  }
  std::sort(g.begin(), g.end());
  return {g.back(), g[g.size() / 2]};
}

// C[n,n] = A[n,n] B[n,n]^T on oneDNN's own OpenMP team (`threads`), A/B in dtype `type`.
static std::pair<double, double> dnnl_peak(const std::vector<float>& A, const std::vector<float>& B, int n,
                                           int reps, int threads, dnnl::memory::data_type type) {
  using dt = dnnl::memory::data_type;
  omp_set_num_threads(threads);
  dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  dnnl::stream st(eng);
  dnnl::memory::desc a({n, n}, type, {n, 1}), b({n, n}, type, {1, n}), c({n, n}, dt::f32, {n, 1});
  dnnl::matmul mm(dnnl::matmul::primitive_desc(dnnl::matmul::desc(a, b, c), eng));
  std::vector<bf16_t> ab(A.size()), bb(B.size());
  f32_to_bf16(ab.data(), A.data(), A.size());
  f32_to_bf16(bb.data(), B.data(), B.size());
  const bool bf = type == dt::bf16;
  std::vector<float> C((size_t)n * n);
  dnnl::memory ma(a, eng, bf ? (void*)ab.data() : (void*)A.data()),
      mb(b, eng, bf ? (void*)bb.data() : (void*)B.data()), mc(c, eng, C.data());
  return measure(
      [&] {
        mm.execute(st, {{DNNL_ARG_SRC, ma}, {DNNL_ARG_WEIGHTS, mb}, {DNNL_ARG_DST, mc}});
        st.wait();
      },
      reps, 2.0 * n * n * n);
}

int main(int argc, char** argv) {
  int n = 2048, reps = 5, threads = 2;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    if (k == "--n")
      n = std::atoi(argv[i + 1]);
    else if (k == "--reps")
      reps = std::atoi(argv[i + 1]);
    else if (k == "--threads")
      threads = std::atoi(argv[i + 1]);
  }
  std::vector<float> A((size_t)n * n), B((size_t)n * n), C((size_t)n * n);
  for (size_t i = 0; i < A.size(); i++) {
    A[i] = (float)((i * 2654435761u) % 1000) / 1000.f - 0.5f;
    B[i] = (float)((i * 40503u) % 1000) / 1000.f - 0.5f;
  }
  const double flops = 2.0 * n * n * n;
  auto plain = [&] {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, n, n, 1.f, A.data(), n, B.data(), n, 0.f,
                C.data(), n);
  };
  openblas_set_num_threads(threads);
  auto ob = measure(plain, reps, flops);
  kernels_init_threads(threads);  // OpenBLAS single-threaded, OpenMP `threads`
  auto ours = measure(
      [&] {
        parallel_blocks(
            n, 4,
            [&](long r0, long r1, int) {
              gemm(false, true, (int)(r1 - r0), n, n, 1.f, A.data() + r0 * n, n, B.data(), n, 0.f,
                   C.data() + r0 * n, n);
            },
            2.0 * n * n);
      },
      reps, flops);
  auto one = measure(plain, reps, flops);
  auto df = dnnl_peak(A, B, n, reps, threads, dnnl::memory::data_type::f32);
  auto db = dnnl_peak(A, B, n, reps, threads, dnnl::memory::data_type::bf16);
  kernels_init_threads(threads);
  std::pair<double, double> ops_g[2];
  for (int k = 0; k < 2; k++) {
    auto ops = make_gemm_ops(k ? GemmKind::dnnl_bf16 : GemmKind::dnnl_fp32);
    ops_g[k] = measure([&] { ops->forward(C.data(), A.data(), B.data(), nullptr, n, n, n); }, reps, flops);
  }
  std::printf(
      "{\"n\": %d, \"threads\": %d, \"openblas_2t_best\": %.1f, \"openblas_2t_median\": %.1f, "
      "\"ours_2t_best\": %.1f, \"ours_2t_median\": %.1f, \"openblas_1t_best\": %.1f, "
      "\"openblas_1t_median\": %.1f, \"dnnl_f32_2t_best\": %.1f, \"dnnl_f32_2t_median\": %.1f, "
      "\"dnnl_bf16_2t_best\": %.1f, \"dnnl_bf16_2t_median\": %.1f, \"gemmops_f32_best\": %.1f, "
      "\"gemmops_f32_median\": %.1f, \"gemmops_bf16_best\": %.1f, \"gemmops_bf16_median\": %.1f, "
      "\"openblas\": \"%s\"}\n",
      n, threads, ob.first, ob.second, ours.first, ours.second, one.first, one.second, df.first, df.second,
      db.first, db.second, ops_g[0].first, ops_g[0].second, ops_g[1].first, ops_g[1].second,
      openblas_get_config());
  return 0;
}
