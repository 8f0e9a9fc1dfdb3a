// A decoder model in memory: config, tensor table, one fp32 parameter arena, RoPE tables, typed
// pointers into the arenas, and -- only once training is set up -- the gradient arena and the AdamW
// moments (trainable tensors only). A loaded or created model holds no gradient memory: inference
// allocates weights, KV cache and activations only.
#pragma once
#include <functional>
#include <string>
#include <type_traits>
#include <vector>

#include "model/config.hpp"
#include "model/tensors.hpp"

namespace tsft {

struct Model {
  ModelConfig cfg;
  TensorTable table;
  std::vector<float> params;  // [table.total]
  std::vector<float> grads;   // [table.grad_total] after set_trainable, else empty
  std::vector<float> adam_m, adam_v;  // [table.grad_total] after init_moments, else empty
  ParamPtrs w, g;
  std::vector<float> rope_cos, rope_sin;  // [cfg.max_position, D/2]
  std::vector<double> inv_freq;           // [D/2]

  float* param(const std::string& name) { return params.data() + table.get(name).offset; }
  float* grad(const std::string& name);  // null when frozen or without gradient memory
  // Select the trainable tensors: (re)allocates the gradient arena (zeroed), drops the moments, and
  // rebinds pointers.
  void set_trainable(const std::function<bool(const TensorEntry&)>& pred);
  void init_moments();  // zeroed AdamW moments sized to the gradient arena
  void zero_grads();
  size_t gradient_bytes() const { return (grads.size() + adam_m.size() + adam_v.size()) * sizeof(float); }
  void bind();  // (re)compute w/g pointers and RoPE tables
};

// The one walk over the tensor table: fn(entry, ref) for every tensor in HF order, where ref holds
// pointers to its weights (w), gradient (g) and AdamW moments (m, v); g/m/v are null where the tensor
// is frozen or that memory is not allocated. Const models give const pointers.
template <typename F>
struct TensorRef {
  F *w = nullptr, *g = nullptr, *m = nullptr, *v = nullptr;
};
template <typename M, typename Fn>
void for_each_tensor(M& model, Fn&& fn) {
  using F = std::conditional_t<std::is_const_v<M>, const float, float>;
  const bool has_g = !model.grads.empty(), has_mv = !model.adam_m.empty();
  for (auto& e : model.table.entries) {
    TensorRef<F> r;
    r.w = model.params.data() + e.offset;
    if (e.grad_offset >= 0) {
      if (has_g) r.g = model.grads.data() + e.grad_offset;
      if (has_mv) r.m = model.adam_m.data() + e.grad_offset, r.v = model.adam_v.data() + e.grad_offset;
    }
    fn(e, r);
  }
}

// Two models of one architecture side by side: fn(entry of a, weights of a, weights of b). Throws
// naming what_a / what_b when the names, shapes or count of their tensors differ.
void tensor_tables_check_same(const TensorTable& a, const TensorTable& b, const std::string& what_a,
                              const std::string& what_b);
template <typename MA, typename MB, typename Fn>
void for_each_tensor_pair(MA& a, MB& b, const std::string& what_a, const std::string& what_b, Fn&& fn) {
  tensor_tables_check_same(a.table, b.table, what_a, what_b);
  for (size_t i = 0; i < a.table.entries.size(); i++) {
    auto& e = a.table.entries[i];
    fn(e, a.params.data() + e.offset, b.params.data() + b.table.entries[i].offset);
  }
}

// An allocated, zeroed model of `cfg` (norms are 1, everything else 0; all tensors marked trainable,
// no gradient memory until set_trainable).
Model model_create(const ModelConfig& cfg);
// HF-style initialisation (transformers _init_weights): Linear/Embedding ~ N(0, initializer_range),
// biases 0, RMSNorm weights 1. Deterministic for a seed.
void model_init_weights(Model& m, uint64_t seed, double initializer_range = 0.02);

// Load an HF checkpoint directory (config.json + model.safetensors or sharded index). BF16/F16/F64
// tensors convert to fp32; each tensor remembers its file dtype. Errors name the file and tensor:
// missing tensor, shape mismatch with config, non-float dtype, unexpected tensor.
Model model_load(const std::string& dir);
// Save as an HF directory, atomically (temp dir + fsync + rename): config.json, model.safetensors
// (sharded when max_shard_bytes > 0 and exceeded), each tensor in its file dtype (or `dtype` if
// given: "float32" | "bfloat16" | "float16"), tied weights once; tokenizer and generation files are
// copied from `copy_from` when given.
void model_save(const Model& m, const std::string& dir, const std::string& copy_from = "",
                const std::string& dtype = "", size_t max_shard_bytes = 0);

// The files of model_save written into an existing directory (each file atomically, the directory
// not): for callers that add their own files before committing a temp dir (trainer checkpoints).
void model_write_files(const Model& m, const std::string& dir, const std::string& copy_from = "",
                       const std::string& dtype = "", size_t max_shard_bytes = 0);

}  // namespace tsft
