// cpu/bf16: mixed precision as torch.autocast("cpu", dtype=torch.bfloat16) trains.
//   - fp32 master weights, fp32 gradients, fp32 AdamW (the CpuEngine's own memory and step);
//   - every projection and the LM head multiply bf16 inputs (activations rounded per call, weights
//     through a bf16 copy cached by the GemmOps and refreshed after each optimizer step or host
//     write) with fp32 accumulation and fp32 outputs (kernels/cpu/gemm_ops.hpp, dnnl_bf16);
//   - embedding, RMSNorm, RoPE, softmax, SwiGLU, the residual stream, cross-entropy and the attention
//     core stay fp32 (the attention core's GEMMs are activation x activation; kept fp32 here).
#include <algorithm>
#include <memory>
#include <vector>

#include "kernels/cpu/gemm_ops.hpp"
#include "kernels/cpu/kernels.hpp"
#include "model/engine_cpu.hpp"

namespace tsft {

namespace {

// StepOps whose projections and LM head run on a kernels GemmOps.
class GemmStepOps : public StepOps {
 public:
  explicit GemmStepOps(std::unique_ptr<GemmOps> g) : g_(std::move(g)) {}
  GemmOps& gemm() const { return *g_; }
  void linear_forward(float* out, const float* inp, const float* w, const float* b, int N, int I,
                      int O) const override {
    g_->forward(out, inp, w, b, N, I, O);
  }
  void linear_backward(float* dinp, float* dw, float* db, const float* dout, const float* inp, const float* w,
                       int N, int I, int O) const override {
    g_->backward(dinp, dw, db, dout, inp, w, N, I, O);
  }
  void gemm(bool ta, bool tb, int M, int N, int K, float alpha, const float* A, int lda, const float* B,
            int ldb, float beta, float* C, int ldc) const override {
    g_->gemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  }
  double head_ce(float* dx, float* dW, int64_t* n_valid, float* scratch, int chunk_rows, const float* x,
                 const float* W, const int32_t* targets, int N, int C, int V,
                 double grad_scale) const override;

 private:
  std::unique_ptr<GemmOps> g_;
};

// lm_head_ce_forward_backward (kernels/cpu/loss.cpp) with this object's GEMMs.
double GemmStepOps::head_ce(float* dx, float* dW, int64_t* n_valid, float* scratch, int chunk_rows,
                            const float* x, const float* W, const int32_t* targets, int N, int C, int V,
                            double grad_scale) const {
  return lm_head_ce_forward_backward(*g_, dx, dW, n_valid, scratch, chunk_rows, x, W, targets, N, C, V,
                                     grad_scale);
}

class Bf16CpuEngine : public CpuEngine {
 public:
  Bf16CpuEngine(Model m, std::unique_ptr<GemmStepOps> ops)
      : CpuEngine(std::move(m), ops.get(), "cpu/bf16"), owned_(std::move(ops)) {}

 protected:
  // The bf16 weight copies are stale once the fp32 masters change.
  void weights_changed() override { owned_->gemm().weights_changed(); }

 private:
  std::unique_ptr<GemmStepOps> owned_;
};
}  // namespace

std::unique_ptr<Engine> engine_cpu_bf16(Model m) {
  return std::make_unique<Bf16CpuEngine>(std::move(m),
                                         std::make_unique<GemmStepOps>(make_gemm_ops(GemmKind::dnnl_bf16)));
}

}  // namespace tsft
