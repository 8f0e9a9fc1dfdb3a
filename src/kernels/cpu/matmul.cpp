// Linear layers on BLAS. out[N,O] = inp[N,I] W[O,I]^T + b. Rows (tokens) are split across threads for
// out and dinp; output features are split for dW, so no two threads write the same element.
#include <cblas.h>
#include <omp.h>

#include <vector>

#include "kernels/cpu/blas.hpp"
#include "kernels/cpu/kernels.hpp"

namespace tsft {

void kernels_init_threads(int n_threads) {
  openblas_set_num_threads(1);
  if (n_threads > 0) omp_set_num_threads(n_threads);
}
int kernels_num_threads() { return omp_get_max_threads(); }

void gemm(bool ta, bool tb, int M, int N, int K, float alpha, const float* A, int lda, const float* B,
          int ldb, float beta, float* C, int ldc) {
  if (M <= 0 || N <= 0) return;
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M, N, K, alpha,
              A, lda, B, ldb, beta, C, ldc);
}
void gemm(bool ta, bool tb, int M, int N, int K, double alpha, const double* A, int lda, const double* B,
          int ldb, double beta, double* C, int ldc) {
  if (M <= 0 || N <= 0) return;
  cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M, N, K, alpha,
              A, lda, B, ldb, beta, C, ldc);
}

constexpr int kRowSplitMin = 64;

constexpr int kDirectMaxRows = 16;  // up to this many rows matmul_forward uses dot products, not sgemm

// out[n, o0:o1] = bias + inp[n,:] . W[o,:] for every n < N: each W row is read once and dotted with
// up to 4 input rows at a time (the rows stay in L1).
template <typename T>
static void matmul_few_rows(T* out, const T* inp, const T* W, const T* bias, int N, int I, long o0, long o1,
                            int O) {
  for (long o = o0; o < o1; o++) {
    const T* w = W + (size_t)o * I;
    const T b = bias ? bias[o] : T(0);
    int n = 0;
    for (; n + 4 <= N; n += 4) {
      const T *x0 = inp + (size_t)n * I, *x1 = x0 + I, *x2 = x1 + I, *x3 = x2 + I;
      T a0 = 0, a1 = 0, a2 = 0, a3 = 0;
#pragma omp simd reduction(+ : a0, a1, a2, a3)
      for (int i = 0; i < I; i++) {
        a0 += x0[i] * w[i];
        a1 += x1[i] * w[i];
        a2 += x2[i] * w[i];
        a3 += x3[i] * w[i];
      }
      out[(size_t)n * O + o] = b + a0;
      out[(size_t)(n + 1) * O + o] = b + a1;
      out[(size_t)(n + 2) * O + o] = b + a2;
      out[(size_t)(n + 3) * O + o] = b + a3;
    }
    for (; n < N; n++) {
      const T* x = inp + (size_t)n * I;
      T a = 0;
#pragma omp simd reduction(+ : a)
      for (int i = 0; i < I; i++) a += x[i] * w[i];
      out[(size_t)n * O + o] = b + a;
    }
  }
}  // rows per thread below which matmul_forward splits features

template <typename T>
void matmul_forward(T* out, const T* inp, const T* weight, const T* bias, int N, int I, int O) {
  auto body = [&](long n0, long n1, long o0, long o1) {
    T* c = out + n0 * O + o0;
    if (bias) {
      for (long n = n0; n < n1; n++)
        for (long o = o0; o < o1; o++) out[n * O + o] = bias[o];
    }
    gemm(false, true, (int)(n1 - n0), (int)(o1 - o0), I, T(1), inp + n0 * I, I, weight + o0 * I, I,
         bias ? T(1) : T(0), c, O);
  };
  // Each chunk of a row split packs all of W, so it pays only when chunks have many rows; with few
  // rows (decoding, short prompts) the output features are split and each chunk packs its part of W.
  if (N <= kDirectMaxRows) {  // decoding: sgemm would spend more time packing W than multiplying
    parallel_blocks(O, 16, [&](long o0, long o1, int) { matmul_few_rows(out, inp, weight, bias, N, I, o0, o1, O); },
                    2.0 * I * N);
  } else if (N >= kRowSplitMin * omp_get_max_threads()) {
    parallel_blocks(N, 4, [&](long n0, long n1, int) { body(n0, n1, 0, O); }, 2.0 * I * O);
  } else {
    parallel_blocks(O, 64, [&](long o0, long o1, int) { body(0, N, o0, o1); }, 2.0 * I * N);
  }
}

template <typename T>
void matmul_backward(T* dinp, T* dweight, T* dbias, const T* dout, const T* inp, const T* weight, int N,
                     int I, int O) {
  // dinp[N,I] += dout[N,O] @ W[O,I]
  if (dinp) {
    parallel_blocks(N, 4, [&](long n0, long n1, int) {
      gemm(false, false, (int)(n1 - n0), I, O, T(1), dout + n0 * O, O, weight, I, T(1), dinp + n0 * I, I);
    }, 2.0 * I * O);
  }
  // dW[O,I] += dout^T[O,N] @ inp[N,I]. Split over the tokens n (the reduction dim) in one chunk per
  // thread: chunk 0 accumulates dout[n0:n1]^T inp[n0:n1] straight into dW, chunk c > 0 computes its
  // partial into scratch, and the partials are added to dW in chunk order. Each chunk packs only its
  // slice of dout and inp (an output-feature split would repack all of inp in every chunk), the sum
  // order is fixed for a thread count, and with one chunk per thread only nt - 1 partials of O x I
  // are written and re-read (a chunk is claimed by whichever thread is free, so a descheduled thread
  // still does not stall the others before it has started).
  if (dweight) {
    long per = N;
    const int nc = parallel_chunk_count(N, 16, 2.0 * I * O, &per, 1);
    if (nc <= 1) {
      gemm(true, false, O, I, N, T(1), dout, O, inp, I, T(1), dweight, I);
    } else {
      static thread_local std::vector<T> partial;  // [nc - 1, O, I], reused across calls
      const size_t OI = (size_t)O * I;
      if (partial.size() < (nc - 1) * OI) partial.resize((nc - 1) * OI);
      T* pw = partial.data();
      parallel_chunks(N, 16, [&](long n0, long n1, int c, int) {
        T* dst = c == 0 ? dweight : pw + (c - 1) * OI;
        gemm(true, false, O, I, (int)(n1 - n0), T(1), dout + n0 * O, O, inp + n0 * I, I, c == 0 ? T(1) : T(0),
             dst, I);
      }, 2.0 * I * O, 1);
      parallel_blocks((long)OI, 1024, [&](long e0, long e1, int) {
        for (int c = 1; c < nc; c++) {
          const T* src = pw + (c - 1) * OI;
          for (long e = e0; e < e1; e++) dweight[e] += src[e];
        }
      }, (double)nc);
    }
  }
  if (dbias) {
    parallel_blocks(O, 64, [&](long o0, long o1, int) {
      for (long o = o0; o < o1; o++) {
        T s = 0;
        for (long n = 0; n < N; n++) s += dout[n * O + o];
        dbias[o] += s;
      }
    }, (double)N);
  }
}

template void matmul_forward<float>(float*, const float*, const float*, const float*, int, int, int);
template void matmul_forward<double>(double*, const double*, const double*, const double*, int, int, int);
template void matmul_backward<float>(float*, float*, float*, const float*, const float*, const float*, int,
                                     int, int);
template void matmul_backward<double>(double*, double*, double*, const double*, const double*,
                                      const double*, int, int, int);

}  // namespace tsft
