// The CPU engine: the host Model is the engine's memory; every step runs model_forward /
// model_backward with the GEMM ops the engine was made with. With step_ops_reference() it is the
// fp32 reference engine ("cpu/fp32-ref"); the oneDNN engines (cpu/fp32, cpu/bf16) derive from it with
// their own ops.
#pragma once
#include "kernels/cpu/kernels.hpp"
#include "model/engine.hpp"

namespace tsft {

class CpuEngine : public Engine {
 public:
  CpuEngine(Model m, const StepOps* ops, std::string name);
  std::string name() const override { return name_; }
  const ModelConfig& config() const override { return m_.cfg; }
  const TensorTable& table() const override { return m_.table; }

  void set_trainable(const std::function<bool(const TensorEntry&)>& pred) override;
  size_t weight_bytes() const override { return m_.params.size() * sizeof(float); }
  size_t gradient_bytes() const override { return m_.gradient_bytes(); }
  std::unique_ptr<Workspace> workspace(int B, int T, bool training) override;
  size_t workspace_bytes(int B, int T, bool training) const override;
  KVCache kv_cache(int slots, int positions) override;

  ForwardResult forward(Workspace& ws, const Batch& b, float* logits, bool backward_head,
                        double grad_scale) override;
  void backward(Workspace& ws, const Batch& b) override;
  void logits_rows(Workspace& ws, const int* rows, int n, float* logits) override;
  void zero_grads() override { m_.zero_grads(); }
  double clip_grad_norm(double max_norm) override;
  void adamw_step(const AdamWConfig& cfg, double lr, int64_t step) override;

  void for_each_tensor(const TensorFn& fn) override;
  void download(Model& host) const override;

 protected:
  // Called after the master weights changed (optimizer step, host writes): derived engines refresh
  // their copies (e.g. bf16 weights).
  virtual void weights_changed() {}
  Model m_;
  const StepOps* ops_;

 private:
  std::string name_;
  std::vector<AdamwSegment> segments_;  // scratch of adamw_step (capacity kept)
};

// cpu/fp32-ref: the plain kernels (scalar + OpenBLAS), bit-identical to model_forward/model_backward.
std::unique_ptr<Engine> engine_cpu_fp32_ref(Model m);
// cpu/fp32 (oneDNN fp32 where faster) and cpu/bf16 (mixed precision): engine_gemm.cpp.
std::unique_ptr<Engine> engine_cpu_fp32(Model m);
std::unique_ptr<Engine> engine_cpu_bf16(Model m);

}  // namespace tsft
