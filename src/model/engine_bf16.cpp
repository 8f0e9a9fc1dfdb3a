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
constexpr int32_t kIgnore = -100;

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
  double head_ce(float* dx, float* dW, int64_t* n_valid, float* scratch, int chunk_rows, const float* x,
                 const float* W, const int32_t* targets, int N, int C, int V,
                 double grad_scale) const override;

 private:
  std::unique_ptr<GemmOps> g_;
};

// lm_head_ce_forward_backward (kernels/cpu/loss.cpp) with this object's GEMMs: the valid rows in
// chunks, logits = x W^T, cross-entropy in fp32, then dx += dlogits W and dW += dlogits^T x.
double GemmStepOps::head_ce(float* dx, float* dW, int64_t* n_valid, float* scratch, int chunk_rows,
                            const float* x, const float* W, const int32_t* targets, int N, int C, int V,
                            double grad_scale) const {
  std::vector<float> own;
  if (!scratch) {
    own.resize(lm_head_ce_scratch_size(chunk_rows, C, V, dx != nullptr));
    scratch = own.data();
  }
  float* logits = scratch;
  float* xg = logits + (size_t)chunk_rows * V;
  float* dxg = xg + (size_t)chunk_rows * C;
  std::vector<int32_t> yg(chunk_rows), rg(chunk_rows);
  const bool backward = dx || dW;
  double loss = 0;
  int64_t valid = 0;
  for (int n = 0; n < N;) {
    int m = 0;
    for (; n < N && m < chunk_rows; n++)
      if (targets[n] != kIgnore) {
        rg[m] = n;
        yg[m] = targets[n];
        std::copy_n(x + (size_t)n * C, C, xg + (size_t)m * C);
        m++;
      }
    if (m == 0) break;
    valid += m;
    g_->forward(logits, xg, W, nullptr, m, C, V);
    loss += crossentropy_forward_backward<float>(backward ? logits : nullptr, nullptr, logits, yg.data(), m,
                                                 V, grad_scale);
    if (!backward) continue;
    if (dx) std::fill(dxg, dxg + (size_t)m * C, 0.f);
    g_->backward(dx ? dxg : nullptr, dW, nullptr, logits, xg, W, m, C, V);
    if (dx)
      for (int i = 0; i < m; i++) {
        float* d = dx + (size_t)rg[i] * C;
        const float* s = dxg + (size_t)i * C;
        for (int c = 0; c < C; c++) d[c] += s[c];
      }
  }
  if (n_valid) *n_valid = valid;
  return loss;
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
