// GEMM operations behind one interface, so an engine picks its arithmetic once (fp32 OpenBLAS, fp32
// oneDNN, bf16 mixed precision on oneDNN) and the model code calls the same three functions.
//
// Contract (every implementation):
//  - All pointers are fp32, row-major. Shapes as in kernels.hpp matmul_forward / matmul_backward:
//      forward : out[N,O] = inp[N,I] @ W[O,I]^T + bias[O]         (out overwritten; bias may be null)
//      backward: dinp[N,I] += dout[N,O] @ W[O,I]
//                dW[O,I]   += dout^T @ inp                         (ACCUMULATE; caller zeroes)
//                dbias[O]  += sum_n dout[n,:]
//                Any of dinp / dW / dbias may be null: that gradient is skipped ("frozen" weights).
//      gemm    : C[M,N] = alpha * op(A)[M,K] @ op(B)[K,N] + beta * C, op(X) = X^T when t* is set,
//                leading dims lda/ldb/ldc as in cblas row-major (beta == 0: C is not read, may hold NaN).
//  - Weights are the `W` of forward/backward. For the LM head chunks use forward (logits = x W^T) and
//    backward (dx, dW) with bias null; for the attention core (both operands are activations) use gemm.
//  - Outputs and gradients are always fp32 (bf16: fp32 accumulation, fp32 dW; master weights stay
//    fp32 and are owned by the caller).
//  - Caching rule (bf16): forward/backward read W through a bf16 copy cached by (pointer, element
//    count), made on first use. After the contents of any W change (optimizer step, load, test
//    edits) call weights_changed(W), or weights_changed() for all, BEFORE the next forward/backward;
//    until then the old copy is used. fp32 implementations ignore the call. W must be long-lived
//    storage (the cache holds one copy per distinct pointer until weights_changed()). Activations
//    (inp, dout, A, B of gemm) are rounded to bf16 on every call, never cached.
//  - Threading: each call is parallel inside and returns when done. All kinds run on the engine's
//    thread pool (blas.hpp pool_run, omp_get_max_threads() threads): oneDNN is called single-threaded
//    once per fixed chunk (rows of C, or its columns when there are few rows, or the token dim of dW
//    with partial sums added in chunk order), so no OpenMP team is ever started next to the pool and
//    a descheduled thread's chunks are taken by the other (the machine is shared). Results depend
//    only on the shapes and the thread count (deterministic). A call made from inside a pool_run
//    task runs on the calling thread alone, and concurrent calls on one object are safe (its caches
//    are locked, scratch is per thread), so per-head calls in a parallel attention loop are fine.
//    weights_changed(W) must not overlap a call that reads W.
//  - Which code runs (measured per shape, bench/README.md "GEMM backends"): fp32 forwards with
//    N <= 16 rows (decoding) use the reference kernel (bit-identical to it); bf16 forwards with
//    N <= 8 rows use a bf16 dot-product kernel (bf16_gemv.hpp); everything else is oneDNN brgemm.
//  - Rounding: reference is bit-identical to matmul_forward/matmul_backward/gemm of kernels.hpp and
//    blas.hpp. oneDNN fp32 and bf16 differ in summation order; bounds derived in
//    tests/kernels/gemm_ops_test_util.hpp.
#pragma once
#include <memory>
#include <string>

namespace tsft {

enum class GemmKind {
  reference,  // today's kernels (OpenBLAS + dot products for few rows): bit-identical
  dnnl_fp32,  // oneDNN fp32 where the shape is faster there, else the reference (rules below)
  dnnl_bf16,  // bf16 inputs, fp32 accumulate/outputs via oneDNN (avx512_core_bf16 here; oneDNN emulates
              // bf16 on AVX-512 CPUs without it, and has only slow reference code below AVX-512)
};

struct GemmOps {
  virtual ~GemmOps() = default;
  virtual GemmKind kind() const = 0;
  virtual const char* name() const = 0;

  virtual void forward(float* out, const float* inp, const float* W, const float* bias, int N, int I,
                       int O) = 0;
  virtual void backward(float* dinp, float* dW, float* dbias, const float* dout, const float* inp,
                        const float* W, int N, int I, int O) = 0;
  virtual void gemm(bool ta, bool tb, int M, int N, int K, float alpha, const float* A, int lda,
                    const float* B, int ldb, float beta, float* C, int ldc) = 0;

  // Invalidates the cached low-precision copy of W (null: every cached weight). No-op for fp32.
  virtual void weights_changed(const float* W = nullptr) {}
};

std::unique_ptr<GemmOps> make_gemm_ops(GemmKind kind);
// "fp32-ref" | "fp32" | "bf16" <-> GemmKind; parse throws tsft::Error on an unknown name.
GemmKind parse_gemm_kind(const std::string& s);
const char* gemm_kind_name(GemmKind kind);

}  // namespace tsft
