// The reference GemmOps (today's OpenBLAS kernels) and the factory.
#include "kernels/cpu/gemm_ops.hpp"

#include "core/error.hpp"
#include "kernels/cpu/blas.hpp"
#include "kernels/cpu/gemm_ops_dnnl.hpp"
#include "kernels/cpu/kernels.hpp"

namespace tsft {

namespace {

struct ReferenceGemmOps final : GemmOps {
  GemmKind kind() const override { return GemmKind::reference; }
  const char* name() const override { return gemm_kind_name(GemmKind::reference); }
  void forward(float* out, const float* inp, const float* W, const float* bias, int N, int I,
               int O) override {
    matmul_forward<float>(out, inp, W, bias, N, I, O);
  }
  void backward(float* dinp, float* dW, float* dbias, const float* dout, const float* inp, const float* W,
                int N, int I, int O) override {
    matmul_backward<float>(dinp, dW, dbias, dout, inp, W, N, I, O);
  }
  void gemm(bool ta, bool tb, int M, int N, int K, float alpha, const float* A, int lda, const float* B,
            int ldb, float beta, float* C, int ldc) override {
    tsft::gemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  }
};

}  // namespace

std::unique_ptr<GemmOps> make_gemm_ops(GemmKind kind) {
  switch (kind) {
    case GemmKind::reference:
      return std::make_unique<ReferenceGemmOps>();
    case GemmKind::dnnl_fp32:
      return make_dnnl_gemm_ops(DnnlOptions{});
    case GemmKind::dnnl_bf16:
      return make_dnnl_gemm_ops(DnnlOptions{true});
  }
  TSFT_FAIL("make_gemm_ops: unknown GemmKind {}", (int)kind);
}

const char* gemm_kind_name(GemmKind kind) {
  switch (kind) {
    case GemmKind::reference:
      return "fp32-ref";
    case GemmKind::dnnl_fp32:
      return "fp32";
    case GemmKind::dnnl_bf16:
      return "bf16";
  }
  return "?";
}

GemmKind parse_gemm_kind(const std::string& s) {
  for (GemmKind k : {GemmKind::reference, GemmKind::dnnl_fp32, GemmKind::dnnl_bf16})
    if (s == gemm_kind_name(k)) return k;
  TSFT_FAIL("unknown GEMM kind '{}' (expected fp32-ref, fp32 or bf16)", s);
}

}  // namespace tsft
