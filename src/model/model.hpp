// A decoder model in memory: config, tensor table, one fp32 parameter arena and one gradient arena
// (trainable tensors only), RoPE tables, and typed pointers into the arenas.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "model/config.hpp"
#include "model/tensors.hpp"

namespace tsft {

struct LayerParams {
  float *ln1 = nullptr, *wq = nullptr, *bq = nullptr, *wk = nullptr, *bk = nullptr, *wv = nullptr,
        *bv = nullptr, *wo = nullptr, *bo = nullptr, *q_norm = nullptr, *k_norm = nullptr, *ln2 = nullptr,
        *wg = nullptr, *bg = nullptr, *wu = nullptr, *bu = nullptr, *wd = nullptr, *bd = nullptr;
};
// Pointers into an arena; null where the architecture has no such tensor (or, for gradients, where
// the tensor is frozen). Tied models: lm_head aliases embed.
struct ParamPtrs {
  float* embed = nullptr;
  std::vector<LayerParams> layers;
  float* norm = nullptr;
  float* lm_head = nullptr;
};

struct Model {
  ModelConfig cfg;
  TensorTable table;
  std::vector<float> params;  // [table.total]
  std::vector<float> grads;   // [table.grad_total]
  ParamPtrs w, g;
  std::vector<float> rope_cos, rope_sin;  // [cfg.max_position, D/2]
  std::vector<double> inv_freq;           // [D/2]

  float* param(const std::string& name) { return params.data() + table.get(name).offset; }
  float* grad(const std::string& name);  // null when frozen
  // Re-select trainable tensors: reallocates the gradient arena (zeroed) and rebinds pointers.
  void set_trainable(const std::function<bool(const TensorEntry&)>& pred);
  void zero_grads();
  void bind();  // (re)compute w/g pointers and RoPE tables
};

// An allocated, zeroed model of `cfg` (all tensors trainable; norms are 1, everything else 0).
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
