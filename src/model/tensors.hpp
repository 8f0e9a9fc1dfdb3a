// The tensor table: one entry per parameter (HF name, shape, offset into one fp32 arena, group,
// layer, trainable, weight-decay flag, checkpoint dtype, and the typed pointer it binds to). It drives
// allocation, checkpoint I/O, gradient zeroing, the optimizer and parity checks. The HF names are
// listed once, in tensor_table_build.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/safetensors.hpp"
#include "model/config.hpp"

namespace tsft {

enum class Group { embed, attn, mlp, norm, head, lora };
const char* group_name(Group g);

struct LayerParams {
  float *ln1 = nullptr, *wq = nullptr, *bq = nullptr, *wk = nullptr, *bk = nullptr, *wv = nullptr,
        *bv = nullptr, *wo = nullptr, *bo = nullptr, *q_norm = nullptr, *k_norm = nullptr, *ln2 = nullptr,
        *wg = nullptr, *bg = nullptr, *wu = nullptr, *bu = nullptr, *wd = nullptr, *bd = nullptr;
  // LoRA adapter A [r, in] / B [out, r] of each projection (null where it has none)
  float *q_a = nullptr, *q_b = nullptr, *k_a = nullptr, *k_b = nullptr, *v_a = nullptr, *v_b = nullptr,
        *o_a = nullptr, *o_b = nullptr, *g_a = nullptr, *g_b = nullptr, *u_a = nullptr, *u_b = nullptr,
        *d_a = nullptr, *d_b = nullptr;
};
// Pointers into an arena; null where the architecture has no such tensor (or, for gradients, where
// the tensor is frozen or no gradient memory exists). Tied models: lm_head aliases embed.
struct ParamPtrs {
  float* embed = nullptr;
  std::vector<LayerParams> layers;
  float* norm = nullptr;
  float* lm_head = nullptr;
};
// Where an entry binds in ParamPtrs: a member of its layer's LayerParams, or one of the globals.
using LayerSlot = float* LayerParams::*;
using GlobalSlot = float* ParamPtrs::*;

struct TensorEntry {
  std::string name;            // Hugging Face parameter name
  std::vector<int64_t> shape;  // HF shape (Linear weight = [out, in])
  size_t offset = 0;           // into the parameter arena (floats)
  size_t numel = 0;
  Group group = Group::embed;
  int layer = -1;  // -1 outside the decoder layers
  bool trainable = true;
  bool decay = true;                 // AdamW weight decay by default: ndim >= 2
  long grad_offset = -1;             // into the gradient arena (floats); -1 when frozen
  DType file_dtype = DType::F32;     // dtype it was loaded from / will be saved as
  LayerSlot layer_slot = nullptr;    // layer >= 0
  GlobalSlot global_slot = nullptr;  // layer == -1
};

struct TensorTable {
  std::vector<TensorEntry> entries;
  std::map<std::string, size_t> index;
  size_t total = 0;       // floats in the parameter arena
  size_t grad_total = 0;  // floats in the gradient arena (trainable tensors only)

  const TensorEntry* find(const std::string& name) const;
  const TensorEntry& get(const std::string& name) const;  // throws naming the tensor
  // Recompute grad offsets from the trainable flags (frozen tensors get no gradient memory).
  void assign_grad_offsets();
  size_t count_params(bool trainable_only = false) const;
};

// The linear layers of a decoder layer that can carry a LoRA adapter: the base weight's slot, the
// adapter's slots and PEFT's module name. Index = LoraProj.
enum LoraProj { lora_q, lora_k, lora_v, lora_o, lora_gate, lora_up, lora_down, lora_num_proj };
struct LoraSlots {
  LayerSlot base, a, b;
  const char* module;  // "q_proj", ...
};
const LoraSlots& lora_slots(int proj);
// The LoraProj of a base weight entry (-1: not a linear layer an adapter can target).
int lora_proj_of(const TensorEntry& e);

// Every parameter of the architecture, in HF order; tied models have no lm_head.weight. With an adapter
// (cfg.lora.r > 0) its A and B tensors follow, in the order of cfg.lora.targets, so the base tensors keep
// their offsets.
TensorTable tensor_table_build(const ModelConfig& cfg);
// Typed pointers of every entry into an arena laid out by `offset` (grads = false) or `grad_offset`
// (grads = true; null for frozen entries, and everywhere when base is null).
ParamPtrs tensor_bind(const TensorTable& t, const ModelConfig& cfg, float* base, bool grads);

}  // namespace tsft
