// GEMMs on cuBLASLt (default) or cublasGemmEx: row-major problems mapped to column-major cuBLAS by
// computing C^T = op(B)^T op(A)^T (a row-major [M,N] buffer is a column-major [N,M] one). fp32
// accumulation and fp32 scaling in both precision modes; never TF32.
#include <cuda_bf16.h>

#include <type_traits>

#include "core/error.hpp"
#include "kernels/cuda/internal.hpp"
#include "kernels/cuda/kernels.hpp"

namespace tsft::cuda {

template <typename T>
static constexpr cudaDataType_t cuda_type() {
  return std::is_same_v<T, float> ? CUDA_R_32F : CUDA_R_16BF;
}

// Largest power of two (<= 256) dividing the address: cuBLASLt's heuristic otherwise assumes 256-byte
// aligned operands and may pick a kernel that faults on a row-offset view.
static int ptr_alignment(const void* p) {
  uintptr_t a = (uintptr_t)p;
  int al = 256;
  while (al > 1 && a % al) al >>= 1;
  return al;
}

struct LtDescs {
  cublasLtMatmulDesc_t op = nullptr;
  cublasLtMatrixLayout_t a = nullptr, b = nullptr, c = nullptr;
  cublasLtMatmulPreference_t pref = nullptr;
  ~LtDescs() {
    if (pref) cublasLtMatmulPreferenceDestroy(pref);
    if (c) cublasLtMatrixLayoutDestroy(c);
    if (b) cublasLtMatrixLayoutDestroy(b);
    if (a) cublasLtMatrixLayoutDestroy(a);
    if (op) cublasLtMatmulDescDestroy(op);
  }
};

// Column-major: C[m,n] = alpha opA(A) opB(B) + beta C.
static void lt_matmul(Context& ctx, cublasOperation_t opa, cublasOperation_t opb, int m, int n, int k,
                      float alpha, const void* A, int lda, const void* B, int ldb, float beta, void* C, int ldc,
                      cudaDataType_t ab_type, cudaDataType_t c_type) {
  LtDescs d;
  TSFT_CUBLAS_CHECK(cublasLtMatmulDescCreate(&d.op, CUBLAS_COMPUTE_32F, CUDA_R_32F));
  TSFT_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(d.op, CUBLASLT_MATMUL_DESC_TRANSA, &opa, sizeof(opa)));
  TSFT_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(d.op, CUBLASLT_MATMUL_DESC_TRANSB, &opb, sizeof(opb)));
  // Layouts describe the stored matrices (before the op).
  TSFT_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&d.a, ab_type, opa == CUBLAS_OP_N ? m : k,
                                               opa == CUBLAS_OP_N ? k : m, lda));
  TSFT_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&d.b, ab_type, opb == CUBLAS_OP_N ? k : n,
                                               opb == CUBLAS_OP_N ? n : k, ldb));
  TSFT_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&d.c, c_type, m, n, ldc));
  const int al_a = ptr_alignment(A), al_b = ptr_alignment(B), al_c = ptr_alignment(C);
  Context::AlgoKey key{(int)opa, (int)opb, m, n, k, lda, ldb, ldc, (int)ab_type * 64 + (int)c_type, al_a, al_b,
                       al_c};
  auto it = ctx.algo_cache.find(key);
  if (it == ctx.algo_cache.end()) {
    TSFT_CUBLAS_CHECK(cublasLtMatmulPreferenceCreate(&d.pref));
    size_t ws = ctx.workspace_bytes();
    uint32_t ua = al_a, ub = al_b, uc = al_c;
    TSFT_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(d.pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws,
                                                           sizeof(ws)));
    TSFT_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(d.pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, &ua,
                                                           sizeof(ua)));
    TSFT_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(d.pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, &ub,
                                                           sizeof(ub)));
    TSFT_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(d.pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, &uc,
                                                           sizeof(uc)));
    TSFT_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(d.pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, &uc,
                                                           sizeof(uc)));
    cublasLtMatmulHeuristicResult_t res{};
    int found = 0;
    TSFT_CUBLAS_CHECK(
        cublasLtMatmulAlgoGetHeuristic(ctx.lt(), d.op, d.a, d.b, d.c, d.c, d.pref, 1, &res, &found));
    TSFT_CHECK(found > 0 && res.state == CUBLAS_STATUS_SUCCESS,
               "cuBLASLt found no algorithm for m={} n={} k={} (lda {} ldb {} ldc {}, alignments {}/{}/{})", m, n,
               k, lda, ldb, ldc, al_a, al_b, al_c);
    it = ctx.algo_cache.emplace(key, res.algo).first;
  }
  TSFT_CUBLAS_CHECK(cublasLtMatmul(ctx.lt(), d.op, &alpha, A, d.a, B, d.b, &beta, C, d.c, C, d.c, &it->second,
                                   ctx.workspace(), ctx.workspace_bytes(), ctx.stream()));
}

template <typename T, typename TC>
void gemm(Context& ctx, bool ta, bool tb, int M, int N, int K, float alpha, const T* A, int lda, const T* B,
          int ldb, float beta, TC* C, int ldc) {
  static_assert(std::is_same_v<T, TC> || std::is_same_v<TC, float>, "C is T or fp32");
  if (M <= 0 || N <= 0) return;
  // Row-major C[M,N] = op(A) op(B)  <=>  column-major C'[N,M] = op'(B') op'(A'), with the row-major
  // buffers read as column-major transposes: B' with opB, A' with opA.
  const cublasOperation_t opb = tb ? CUBLAS_OP_T : CUBLAS_OP_N, opa = ta ? CUBLAS_OP_T : CUBLAS_OP_N;
  TSFT_CHECK(K > 0 || beta == 1.0f, "gemm: K = {} with beta {} (an empty product must leave C as is)", K, beta);
  if (K <= 0) return;
  if (ctx.gemm_backend() == GemmBackend::lt) {
    lt_matmul(ctx, opb, opa, N, M, K, alpha, B, ldb, A, lda, beta, C, ldc, cuda_type<T>(), cuda_type<TC>());
  } else {
    TSFT_CUBLAS_CHECK(cublasGemmEx(ctx.blas(), opb, opa, N, M, K, &alpha, B, cuda_type<T>(), ldb, A,
                                   cuda_type<T>(), lda, &beta, C, cuda_type<TC>(), ldc, CUBLAS_COMPUTE_32F,
                                   CUBLAS_GEMM_DEFAULT));
  }
}

// out[N,O] = inp[N,I] W[O,I]^T (+ bias broadcast first, then beta = 1)
template <typename T>
void matmul_forward(Context& ctx, T* out, const T* inp, const T* weight, const T* bias, int N, int I, int O) {
  if (bias) detail::bias_broadcast(out, bias, N, O, ctx.stream());
  gemm<T, T>(ctx, false, true, N, O, I, 1.0f, inp, I, weight, I, bias ? 1.0f : 0.0f, out, O);
}

size_t matmul_backward_scratch_bytes(int O) { return (size_t)detail::kColSplit * O * sizeof(float); }

template <typename T>
void matmul_backward(Context& ctx, T* dinp, float* dweight, float* dbias, const T* dout, const T* inp,
                     const T* weight, int N, int I, int O, void* scratch) {
  if (N <= 0) return;
  if (dinp) gemm<T, T>(ctx, false, false, N, I, O, 1.0f, dout, O, weight, I, 1.0f, dinp, I);   // += dout W
  if (dweight) gemm<T, float>(ctx, true, false, O, I, N, 1.0f, dout, O, inp, I, 1.0f, dweight, I);  // += dout^T X
  if (dbias) {
    ScratchGuard sg(scratch, matmul_backward_scratch_bytes(O), ctx.stream());
    detail::column_sum_accumulate<T>(dbias, dout, nullptr, nullptr, N, O, (float*)sg.p, ctx.stream());
  }
}

template void gemm<float, float>(Context&, bool, bool, int, int, int, float, const float*, int, const float*, int,
                                 float, float*, int);
template void gemm<bf16, bf16>(Context&, bool, bool, int, int, int, float, const bf16*, int, const bf16*, int,
                               float, bf16*, int);
template void gemm<bf16, float>(Context&, bool, bool, int, int, int, float, const bf16*, int, const bf16*, int,
                                float, float*, int);
template void matmul_forward<float>(Context&, float*, const float*, const float*, const float*, int, int, int);
template void matmul_forward<bf16>(Context&, bf16*, const bf16*, const bf16*, const bf16*, int, int, int);
template void matmul_backward<float>(Context&, float*, float*, float*, const float*, const float*, const float*,
                                     int, int, int, void*);
template void matmul_backward<bf16>(Context&, bf16*, float*, float*, const bf16*, const bf16*, const bf16*, int,
                                    int, int, void*);

}  // namespace tsft::cuda
