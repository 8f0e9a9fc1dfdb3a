// The CPU engines whose GEMMs run on a kernels GemmOps (kernels/cpu/gemm_ops.hpp): the model code is
// the fp32 reference's (model_forward / model_backward); only the StepOps differ.
//
// cpu/fp32: every projection, the LM head and the attention core's GEMMs on oneDNN fp32 where the
//   shape is faster there (GemmKind::dnnl_fp32; its per-shape rule keeps decode forwards of <= 4 rows
//   on the reference kernel). fp32 throughout: only the summation order differs from cpu/fp32-ref,
//   so the fp32 HF bounds apply unchanged (src/model/parity.cpp).
// cpu/bf16: mixed precision as torch.autocast("cpu", dtype=torch.bfloat16) trains.
//   - fp32 master weights, fp32 gradients, fp32 AdamW (the CpuEngine's own memory and step);
//   - every projection and the LM head multiply bf16 inputs (activations rounded per call, weights
//     through a bf16 copy cached by the GemmOps and refreshed after each optimizer step or host
//     write) with fp32 accumulation and fp32 outputs (GemmKind::dnnl_bf16);
//   - embedding, RMSNorm, RoPE, softmax, SwiGLU, the residual stream, cross-entropy and the attention
//     core stay fp32.
// Attention core (both engines): on AVX-512 CPUs with a head size that is a multiple of 16, the fused
// kernel (kernels/cpu/attention_fused.cpp: register tiles, query blocks cut at document starts, no GEMM
// calls); otherwise the block GEMMs on `att` (oneDNN fp32). Both are fp32 with a different summation
// order than the reference, within the same order-free bounds (tests/kernels/test_attention_numerics).
#include <memory>

#include "kernels/cpu/gemm_ops.hpp"
#include "kernels/cpu/kernels.hpp"
#include "model/engine_cpu.hpp"

namespace tsft {

namespace {

// StepOps whose projections and LM head run on `lin`, and the attention core's GEMMs on `att`
// (the same object when att is null).
class GemmStepOps : public StepOps {
 public:
  GemmStepOps(std::unique_ptr<GemmOps> lin, std::unique_ptr<GemmOps> att)
      : lin_(std::move(lin)), att_own_(std::move(att)), att_(att_own_ ? att_own_.get() : lin_.get()) {}
  // After the master weights changed: the low-precision weight copies are stale.
  void weights_changed() const {
    lin_->weights_changed();
    if (att_own_) att_own_->weights_changed();
  }

  void linear_forward(float* out, const float* inp, const float* w, const float* b, int N, int I,
                      int O) const override {
    lin_->forward(out, inp, w, b, N, I, O);
  }
  void linear_backward(float* dinp, float* dw, float* db, const float* dout, const float* inp, const float* w,
                       int N, int I, int O) const override {
    lin_->backward(dinp, dw, db, dout, inp, w, N, I, O);
  }
  void attention_forward(float* out, float* probs, const float* q, const float* k, const float* v,
                         const int32_t* doc, int B, int T, int H, int KV, int D) const override {
    if (attention_fused_supported(D))
      tsft::attention_forward_fused(out, probs, q, k, v, doc, B, T, H, KV, D);
    else
      tsft::attention_forward(*att_, out, probs, q, k, v, doc, B, T, H, KV, D);
  }
  void attention_backward(float* dq, float* dk, float* dv, float* scratch, const float* dout,
                          const float* probs, const float* q, const float* k, const float* v,
                          const int32_t* doc, int B, int T, int H, int KV, int D) const override {
    if (attention_fused_supported(D))
      tsft::attention_backward_fused(dq, dk, dv, dout, probs, q, k, v, doc, B, T, H, KV, D);
    else
      tsft::attention_backward(*att_, dq, dk, dv, scratch, dout, probs, q, k, v, doc, B, T, H, KV, D);
  }
  // the LoRA terms (model/lora.hpp) on the projections' GEMMs
  void gemm(bool ta, bool tb, int M, int N, int K, float alpha, const float* A, int lda, const float* B,
            int ldb, float beta, float* C, int ldc) const override {
    lin_->gemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  }
  // lm_head_ce_forward_backward (kernels/cpu/loss.cpp) with this object's GEMMs.
  double head_ce(float* dx, float* dW, int64_t* n_valid, float* scratch, int chunk_rows, const float* x,
                 const float* W, const int32_t* targets, int N, int C, int V,
                 double grad_scale) const override {
    return lm_head_ce_forward_backward(*lin_, dx, dW, n_valid, scratch, chunk_rows, x, W, targets, N, C, V,
                                       grad_scale);
  }

 private:
  std::unique_ptr<GemmOps> lin_, att_own_;
  GemmOps* att_;
};

class GemmCpuEngine : public CpuEngine {
 public:
  GemmCpuEngine(Model m, std::unique_ptr<GemmStepOps> ops, std::string name)
      : CpuEngine(std::move(m), ops.get(), std::move(name)), owned_(std::move(ops)) {}

 protected:
  void weights_changed() override { owned_->weights_changed(); }

 private:
  std::unique_ptr<GemmStepOps> owned_;
};
}  // namespace

std::unique_ptr<Engine> engine_cpu_fp32(Model m) {
  return std::make_unique<GemmCpuEngine>(
      std::move(m), std::make_unique<GemmStepOps>(make_gemm_ops(GemmKind::dnnl_fp32), nullptr), "cpu/fp32");
}

std::unique_ptr<Engine> engine_cpu_bf16(Model m) {
  return std::make_unique<GemmCpuEngine>(
      std::move(m),
      std::make_unique<GemmStepOps>(make_gemm_ops(GemmKind::dnnl_bf16), make_gemm_ops(GemmKind::dnnl_fp32)),
      "cpu/bf16");
}

}  // namespace tsft
