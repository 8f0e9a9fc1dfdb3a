// Row-major GEMM on OpenBLAS (single-threaded BLAS; the engine partitions work with OpenMP) and the
// fixed partition helper that keeps results a function of the thread count only.
#pragma once
#include <omp.h>

#include <algorithm>

namespace tsft {

// C[M,N] = alpha * op(A)[M,K] op(B)[K,N] + beta * C, row-major with leading dims.
void gemm(bool ta, bool tb, int M, int N, int K, float alpha, const float* A, int lda, const float* B,
          int ldb, float beta, float* C, int ldc);
void gemm(bool ta, bool tb, int M, int N, int K, double alpha, const double* A, int lda, const double* B,
          int ldb, double beta, double* C, int ldc);

// Below this many scalar operations a parallel region costs more than it saves (a fork/join is
// ~1-10 us, far more when the other core is busy).
constexpr double kParallelMinWork = 1 << 15;

// Calls fn(begin, end, thread) for a fixed split of [0, n) into contiguous blocks, one per thread
// (blocks are multiples of `grain` except the last). Serial when n is small or the total work
// (n * work_per_item scalar operations) is too small to pay for threads.
template <typename Fn>
void parallel_blocks(long n, long grain, Fn&& fn, double work_per_item = kParallelMinWork) {
  int nt = omp_get_max_threads();
  if (nt <= 1 || n <= grain || n * work_per_item < kParallelMinWork) {
    fn(0L, n, 0);
    return;
  }
  long blocks = (n + grain - 1) / grain;
  nt = (int)std::min<long>(nt, blocks);
#pragma omp parallel num_threads(nt)
  {
    int t = omp_get_thread_num();
    long per = (blocks + nt - 1) / nt;
    long b0 = std::min(n, t * per * grain), b1 = std::min(n, (t + 1) * per * grain);
    if (b0 < b1) fn(b0, b1, t);
  }
}

}  // namespace tsft
