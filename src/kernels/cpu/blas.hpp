// Row-major GEMM on OpenBLAS (single-threaded BLAS; the engine partitions work itself) and the fixed
// partition helpers that keep results a function of the thread count only.
#pragma once
#include <omp.h>

#include <algorithm>

namespace tsft {

// C[M,N] = alpha * op(A)[M,K] op(B)[K,N] + beta * C, row-major with leading dims.
void gemm(bool ta, bool tb, int M, int N, int K, float alpha, const float* A, int lda, const float* B,
          int ldb, float beta, float* C, int ldc);
void gemm(bool ta, bool tb, int M, int N, int K, double alpha, const double* A, int lda, const double* B,
          int ldb, double beta, double* C, int ldc);

// Below this many scalar operations a parallel region costs more than it saves.
constexpr double kParallelMinWork = 1 << 15;
// Chunks per thread: a fixed split finer than one block per thread lets whichever thread is running
// take the work of one that the OS has descheduled (the machine is often shared).
constexpr int kChunksPerThread = 4;

// Runs task(ctx, chunk, slot) for chunk = 0 .. n_chunks-1 on the engine's thread pool (the calling
// thread takes part). Chunks are claimed dynamically, so WHICH thread runs a chunk varies, but every
// chunk is computed the same way: results depend on the chunk split only. slot in [0, threads) is the
// running thread's index (for per-thread scratch). Returns when every chunk is done; a pool thread
// that has not woken up by then is not waited for. Nested calls run serially (slot 0).
void pool_run(int n_chunks, void (*task)(void*, int, int), void* ctx);
// True while the calling thread is inside a pool_run task.
bool pool_in_task();

// The fixed split of [0, n) used by parallel_blocks: chunk c covers [c*per, min(n, (c+1)*per)),
// per a multiple of grain, at most per_thread chunks per thread. 1 chunk when n is small or the work
// (n * work_per_item) is too small.
inline int parallel_chunk_count(long n, long grain, double work_per_item, long* per_out,
                                int per_thread = kChunksPerThread) {
  int nt = omp_get_max_threads();
  if (nt <= 1 || n <= grain || n * work_per_item < kParallelMinWork || pool_in_task()) {
    *per_out = n;
    return 1;
  }
  long blocks = (n + grain - 1) / grain;
  long chunks = std::min<long>(blocks, (long)nt * per_thread);
  long per = (blocks + chunks - 1) / chunks * grain;
  *per_out = per;
  return (int)((n + per - 1) / per);
}

// Calls fn(begin, end, chunk, slot) for each chunk of the fixed split of [0, n) (see above).
template <typename Fn>
int parallel_chunks(long n, long grain, Fn&& fn, double work_per_item = kParallelMinWork,
                    int per_thread = kChunksPerThread) {
  long per = n;
  int nc = parallel_chunk_count(n, grain, work_per_item, &per, per_thread);
  if (nc <= 1) {
    if (n > 0) fn(0L, n, 0, 0);
    return 1;
  }
  struct Ctx {
    Fn* fn;
    long n, per;
  } ctx{&fn, n, per};
  pool_run(
      nc,
      [](void* p, int c, int slot) {
        auto* x = static_cast<Ctx*>(p);
        long b0 = (long)c * x->per, b1 = std::min(x->n, b0 + x->per);
        if (b0 < b1) (*x->fn)(b0, b1, c, slot);
      },
      &ctx);
  return nc;
}

// Calls fn(begin, end, slot) over the fixed split of [0, n); slot indexes per-thread scratch.
template <typename Fn>
void parallel_blocks(long n, long grain, Fn&& fn, double work_per_item = kParallelMinWork,
                     int per_thread = kChunksPerThread) {
  parallel_chunks(n, grain, [&](long b0, long b1, int, int slot) { fn(b0, b1, slot); }, work_per_item,
                  per_thread);
}

}  // namespace tsft
