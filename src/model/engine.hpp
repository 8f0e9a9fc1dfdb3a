// The engine: one interface at the model-step level, behind which devices and precisions plug in.
// Trainer, generation, eval, analysis, parity and the benches talk to an Engine only; none of them
// branches per device or precision.
//
// An engine is created from a host Model (the tensor table and its fp32 values: engine_create
// uploads them) and a spec (device + precision). It owns the weights, and -- only after
// set_trainable -- the gradients and AdamW moments of the trainable tensors: an inference engine
// holds weights, KV caches and activations only (gradient_bytes() == 0).
//
// Step protocol (training): zero_grads; per micro-batch forward(ws, batch, ..., backward_head=true,
// grad_scale) then backward(ws, batch); clip_grad_norm; adamw_step. Inference: forward, then
// logits_rows for the rows to sample from (or forward's full logits).
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "model/model.hpp"
#include "model/transformer.hpp"

namespace tsft {

struct AdamWConfig {
  double lr = 1e-4, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0.0;
  bool decay_all = false;  // false: decay only tensors with ndim >= 2 (not norms, not biases)
  double clip = 1.0;       // global-norm clipping threshold; <= 0 disables
};

// Which engine: device ("cpu" | "cuda") and precision: "fp32" (the fast fp32 engine: on CPU oneDNN
// GEMMs where they are faster), "fp32-ref" (the plain reference kernels, bit-identical to
// model_forward/model_backward; CPU only) or "bf16" (mixed precision).
struct EngineSpec {
  std::string device = "cpu", precision = "fp32";
  std::string name() const { return device + "/" + precision; }
};
// Checks the words (UsageError naming the value and the choices). Whether this build has the
// engine is engine_create's check.
EngineSpec engine_spec_parse(const std::string& device, const std::string& precision);
// "device/precision" of every engine this build can create (the CUDA engine when its module loads).
std::vector<std::string> engine_available();

// Activations (and step scratch) for batches of at most B x T tokens, made by one engine for itself.
struct Workspace {
  virtual ~Workspace() = default;
  int B_max = 0, T_max = 0;
  bool training = false;
};

// Reads or writes one tensor's host copies: entry, then weights / gradient / AdamW moments (null
// where absent). See Engine::for_each_tensor.
using TensorFn = std::function<void(const TensorEntry&, TensorRef<float>)>;

class Engine {
 public:
  virtual ~Engine() = default;
  virtual std::string name() const = 0;  // "cpu/fp32", ...
  virtual const ModelConfig& config() const = 0;
  virtual const TensorTable& table() const = 0;

  // ---- memory
  // Selects the trainable tensors and allocates their (zeroed) gradients and AdamW moments.
  virtual void set_trainable(const std::function<bool(const TensorEntry&)>& pred) = 0;
  virtual size_t weight_bytes() const = 0;
  virtual size_t gradient_bytes() const = 0;  // gradients + moments; 0 for an inference engine
  virtual std::unique_ptr<Workspace> workspace(int B, int T, bool training) = 0;
  virtual size_t workspace_bytes(int B, int T, bool training) const = 0;
  virtual KVCache kv_cache(int slots, int positions) = 0;

  // ---- step
  // Forward over the batch (see model_forward): logits (optional, [N,V]) of every position; with
  // batch.targets the loss; with backward_head the LM-head + loss backward, scaled by grad_scale.
  virtual ForwardResult forward(Workspace& ws, const Batch& b, float* logits = nullptr,
                                bool backward_head = false, double grad_scale = 1.0) = 0;
  virtual void backward(Workspace& ws, const Batch& b) = 0;
  // logits[n, V] of rows rows[0..n) (token indices of the batch) of the last forward on ws.
  virtual void logits_rows(Workspace& ws, const int* rows, int n, float* logits) = 0;
  virtual void zero_grads() = 0;
  // Global L2 norm of the gradients (double accumulation, fixed order); scales them by
  // max_norm / (norm + 1e-6) when that is < 1 and max_norm > 0 (torch clip_grad_norm_).
  virtual double clip_grad_norm(double max_norm) = 0;
  // One AdamW update (torch.optim.AdamW) of every trainable tensor; step counts from 1.
  virtual void adamw_step(const AdamWConfig& cfg, double lr, int64_t step) = 0;

  // ---- host access
  // Calls fn for every tensor with host copies of its weights, gradient and moments (CPU engines:
  // their own memory). What fn writes is kept: an engine with device memory writes it back after.
  virtual void for_each_tensor(const TensorFn& fn) = 0;
  // The master weights into a host model of the same architecture (for checkpoints and analysis).
  virtual void download(Model& host) const = 0;
};

// The engine of `spec` over the weights of `host` (moved in; CPU engines keep its memory). Throws
// UsageError naming the spec and the available engines when this build has none such.
std::unique_ptr<Engine> engine_create(const EngineSpec& spec, Model host);
// A host model (fp32, the engine's table and file dtypes) holding the engine's master weights.
Model engine_download(const Engine& e);

}  // namespace tsft
