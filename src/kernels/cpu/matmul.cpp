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
  if (N >= 4 * omp_get_max_threads()) {
    parallel_blocks(N, 4, [&](long n0, long n1, int) { body(n0, n1, 0, O); }, 2.0 * I * O);
  } else {  // few rows (decoding): split the output features instead
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
  // dW[O,I] += dout^T[O,N] @ inp[N,I]   (split over output features o)
  if (dweight) {
    parallel_blocks(O, 16, [&](long o0, long o1, int) {
      gemm(true, false, (int)(o1 - o0), I, N, T(1), dout + o0, O, inp, I, T(1), dweight + o0 * I, I);
    }, 2.0 * I * N);
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
