// LoRA (PEFT): a low-rank update of chosen linear layers, y = x W^T + b + s (dropout(x) A^T) B^T.
//
// The adapter is part of the model's tensor table (group lora, after the base tensors; see
// tensors.hpp), so one visitor walks its weights, gradients and AdamW moments, and every engine runs it
// inside its model step. Training an adapter = set_trainable(lora_only): the base stays frozen (no
// gradient or optimizer memory for it).
//
// Shapes (one linear layer, N tokens): x [N,I], W [O,I], A [r,I], B [O,r], u = xd A^T [N,r] (saved),
// xd = dropout(x) (x itself when p = 0), s = alpha / r (rsLoRA: alpha / sqrt(r)).
// Backward (dL/dy = dout [N,O]):
//   du  = s dout B          [N,r]
//   dB += s dout^T u        [O,r]
//   dA += du^T xd           [r,I]
//   dxd = du A              [N,I]   (dx += dxd * mask / (1-p); dropout's mask is regenerated, not stored)
#pragma once
#include <cstdint>
#include <string>

#include "model/model.hpp"
#include "model/transformer.hpp"

namespace tsft {

// ---- the op, over spans; Gemm is C[M,N] = alpha op(A) op(B) + beta C (row-major, blas.hpp signature) --
template <typename T, typename Gemm>
void lora_forward(T* out, T* u, const T* xd, const T* A, const T* B, int N, int I, int O, int r, T s,
                  const Gemm& gemm) {
  gemm(false, true, N, r, I, T(1), xd, I, A, I, T(0), u, r);
  gemm(false, true, N, O, r, s, u, r, B, r, T(1), out, O);
}
// Accumulates into dxd, dA, dB (any may be null); du [N,r] is scratch.
template <typename T, typename Gemm>
void lora_backward(T* dxd, T* dA, T* dB, T* du, const T* dout, const T* xd, const T* u, const T* A,
                   const T* B, int N, int I, int O, int r, T s, const Gemm& gemm) {
  gemm(false, false, N, r, O, s, dout, O, B, r, T(0), du, r);
  if (dB) gemm(true, false, O, r, N, s, dout, O, u, r, T(1), dB, r);
  if (dA) gemm(true, false, r, I, N, T(1), du, r, xd, I, T(1), dA, I);
  if (dxd) gemm(false, false, N, I, r, T(1), du, r, A, I, T(1), dxd, I);
}

// Inverted dropout with a counter-based mask: element i of stream `stream` is dropped when
// hash(seed, stream, i) < p, else scaled by 1/(1-p). The backward regenerates the same mask.
bool lora_dropout_keep(uint64_t seed, uint64_t stream, uint64_t i, double p);
template <typename T>
void lora_dropout_forward(T* xd, const T* x, size_t n, double p, uint64_t seed, uint64_t stream) {
  const T k = T(1.0 / (1.0 - p));
  for (size_t i = 0; i < n; i++) xd[i] = lora_dropout_keep(seed, stream, i, p) ? x[i] * k : T(0);
}
// dx += dxd * mask / (1-p)
template <typename T>
void lora_dropout_backward(T* dx, const T* dxd, size_t n, double p, uint64_t seed, uint64_t stream) {
  const T k = T(1.0 / (1.0 - p));
  for (size_t i = 0; i < n; i++)
    if (lora_dropout_keep(seed, stream, i, p)) dx[i] += dxd[i] * k;
}

// The LoRA term of projection p (LoraProj) of layer l inside the model step, on the engine's GEMMs:
// out += s (dropout(inp) A^T) B^T, saving u in act.lora_u; a no-op where the layer has no adapter there.
void lora_proj_forward(const StepOps& G, const Model& m, Activations& act, uint64_t dropout_seed,
                       bool dropout, int l, int p, float* out, const float* inp, int N, int I, int O);
// Its backward: dA, dB into the model's gradients (when trainable), dinp += the input gradient.
void lora_proj_backward(const StepOps& G, Model& m, Activations& act, uint64_t dropout_seed, int l, int p,
                        float* dinp, const float* dout, const float* inp, int N, int I, int O);

// ---- adapters on a model
// The adapter tensors of a model (predicate for set_trainable).
inline bool lora_only(const TensorEntry& e) {
  return e.group == Group::lora;
}
// HF names of the base Linear weights that `pred` selects (a --trainable spec, train/select.hpp) and an
// adapter can target (q/k/v/o/gate/up/down_proj weights); throws UsageError when there is none.
std::vector<std::string> lora_targets(const TensorTable& base,
                                      const std::function<bool(const TensorEntry&)>& pred,
                                      const std::string& what);
// Adds an adapter of `lc` to a model without one (its base weights kept): PEFT's default init, A
// Kaiming-uniform(a = sqrt(5)) as torch nn.Linear (U(-1/sqrt(in), 1/sqrt(in))), B = 0, one stream per
// tensor from `seed`. Gradient memory and moments are dropped (set_trainable again).
void lora_attach(Model& m, const LoraConfig& lc, uint64_t seed);
// The base model without its adapter (bit-identical base weights).
Model lora_detach(const Model& m);
// Folds the adapter into the base weights, W += s B A (in double), and returns the base model.
Model lora_merge(const Model& m);
// Checks r, alpha, dropout (file or option named in the message).
void lora_config_validate(const LoraConfig& lc, const std::string& context);

// ---- PEFT files (adapter_config.json + adapter_model.safetensors)
// PEFT key of an adapter tensor: "base_model.model." + name; with_default inserts the adapter name as
// PEFT's in-memory parameters carry it ("...lora_A.default.weight", the golden gradient names).
std::string peft_key(const std::string& name, bool with_default = false);
// Reads a PEFT LoRA adapter dir and attaches it to `m` (which must have none). F32/BF16/F16/F64.
// Errors name the file and key: unsupported options (DoRA, bias, rank/alpha patterns, ...), target
// modules this architecture lacks, missing or unexpected tensors, shapes of another architecture.
void adapter_load(Model& m, const std::string& dir);
// Writes the adapter of `m` as PEFT saves it (atomically: temp dir + rename), tensors in their
// file dtype (or `dtype`: "float32" | "bfloat16" | "float16"); base_model names the base checkpoint.
void adapter_save(const Model& m, const std::string& dir, const std::string& base_model = "",
                  const std::string& dtype = "");
// model_load(dir), then adapter_load(adapter_dir) when adapter_dir is not empty (--adapter).
Model model_load_adapted(const std::string& dir, const std::string& adapter_dir);
// The two files written into an existing directory (trainer checkpoints add their own files).
void adapter_write_files(const Model& m, const std::string& dir, const std::string& base_model = "",
                         const std::string& dtype = "");
// LoraConfig from an adapter_config.json (targets resolved against cfg); exposed for tests.
LoraConfig adapter_config_read(const std::string& path, const ModelConfig& cfg);
nlohmann::json adapter_config_json(const LoraConfig& lc, const ModelConfig& cfg,
                                   const std::string& base_model);

}  // namespace tsft
