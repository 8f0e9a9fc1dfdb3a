// Measured fp32 GEMM peak of this machine, the denominator of the "% of sgemm peak" figures:
//   openblas_2t : one OpenBLAS sgemm call with OpenBLAS's own threads (2) on n x n matrices
//   ours_2t     : the engine's scheme (kernels/cpu/blas.hpp): OpenBLAS single-threaded inside a fixed
//                 OpenMP row split (parallel_blocks), 2 threads
//   openblas_1t : single-threaded sgemm (one core)
// Prints one JSON line: best and median GFLOP/s of each over `reps` calls.
//   bench_sgemm_peak [--n 2048] [--reps 5] [--threads 2]
#include <cblas.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "kernels/cpu/blas.hpp"
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

int main(int argc, char** argv) {
  int n = 2048, reps = 5, threads = 2;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    if (k == "--n") n = std::atoi(argv[i + 1]);
    else if (k == "--reps") reps = std::atoi(argv[i + 1]);
    else if (k == "--threads") threads = std::atoi(argv[i + 1]);
  }
  std::vector<float> A((size_t)n * n), B((size_t)n * n), C((size_t)n * n);
  for (size_t i = 0; i < A.size(); i++) {
    A[i] = (float)((i * 2654435761u) % 1000) / 1000.f - 0.5f;
    B[i] = (float)((i * 40503u) % 1000) / 1000.f - 0.5f;
  }
  const double flops = 2.0 * n * n * n;
  auto plain = [&] {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, n, n, 1.f, A.data(), n, B.data(), n, 0.f, C.data(), n);
  };
  openblas_set_num_threads(threads);
  auto ob = measure(plain, reps, flops);
  kernels_init_threads(threads);  // OpenBLAS single-threaded, OpenMP `threads`
  auto ours = measure([&] {
    parallel_blocks(n, 4, [&](long r0, long r1, int) {
      gemm(false, true, (int)(r1 - r0), n, n, 1.f, A.data() + r0 * n, n, B.data(), n, 0.f, C.data() + r0 * n, n);
    }, 2.0 * n * n);
  }, reps, flops);
  auto one = measure(plain, reps, flops);
  std::printf("{\"n\": %d, \"threads\": %d, \"openblas_2t_best\": %.1f, \"openblas_2t_median\": %.1f, "
              "\"ours_2t_best\": %.1f, \"ours_2t_median\": %.1f, \"openblas_1t_best\": %.1f, "
              "\"openblas_1t_median\": %.1f, \"openblas\": \"%s\"}\n",
              n, threads, ob.first, ob.second, ours.first, ours.second, one.first, one.second, openblas_get_config());
  return 0;
}
