#include "model/tensors.hpp"

#include <type_traits>

#include "core/error.hpp"

namespace tsft {

const char* group_name(Group g) {
  switch (g) {
    case Group::embed: return "embed";
    case Group::attn: return "attn";
    case Group::mlp: return "mlp";
    case Group::norm: return "norm";
    case Group::head: return "head";
  }
  return "?";
}

const TensorEntry* TensorTable::find(const std::string& name) const {
  auto it = index.find(name);
  return it == index.end() ? nullptr : &entries[it->second];
}

const TensorEntry& TensorTable::get(const std::string& name) const {
  const TensorEntry* e = find(name);
  TSFT_CHECK(e, "tensor '{}' is not a parameter of this model", name);
  return *e;
}

void TensorTable::assign_grad_offsets() {
  grad_total = 0;
  for (auto& e : entries) {
    if (e.trainable) {
      e.grad_offset = (long)grad_total;
      grad_total += e.numel;
    } else {
      e.grad_offset = -1;
    }
  }
}

size_t TensorTable::count_params(bool trainable_only) const {
  size_t n = 0;
  for (auto& e : entries)
    if (!trainable_only || e.trainable) n += e.numel;
  return n;
}

TensorTable tensor_table_build(const ModelConfig& c) {
  TensorTable t;
  auto add = [&](std::string name, std::vector<int64_t> shape, Group g, int layer, auto slot) {
    TensorEntry e;
    if constexpr (std::is_same_v<decltype(slot), LayerSlot>) e.layer_slot = slot;
    else e.global_slot = slot;
    e.name = std::move(name);
    e.shape = std::move(shape);
    e.numel = 1;
    for (auto d : e.shape) e.numel *= (size_t)d;
    e.offset = t.total;
    e.group = g;
    e.layer = layer;
    e.decay = e.shape.size() >= 2;
    t.total += e.numel;
    t.index[e.name] = t.entries.size();
    t.entries.push_back(std::move(e));
  };
  const int64_t C = c.C, F = c.F, V = c.V, HD = (int64_t)c.H * c.D, KD = (int64_t)c.KV * c.D, D = c.D;
  add("model.embed_tokens.weight", {V, C}, Group::embed, -1, &ParamPtrs::embed);
  for (int l = 0; l < c.L; l++) {
    std::string p = "model.layers." + std::to_string(l) + ".";
    add(p + "input_layernorm.weight", {C}, Group::norm, l, &LayerParams::ln1);
    add(p + "self_attn.q_proj.weight", {HD, C}, Group::attn, l, &LayerParams::wq);
    if (c.qkv_bias) add(p + "self_attn.q_proj.bias", {HD}, Group::attn, l, &LayerParams::bq);
    add(p + "self_attn.k_proj.weight", {KD, C}, Group::attn, l, &LayerParams::wk);
    if (c.qkv_bias) add(p + "self_attn.k_proj.bias", {KD}, Group::attn, l, &LayerParams::bk);
    add(p + "self_attn.v_proj.weight", {KD, C}, Group::attn, l, &LayerParams::wv);
    if (c.qkv_bias) add(p + "self_attn.v_proj.bias", {KD}, Group::attn, l, &LayerParams::bv);
    add(p + "self_attn.o_proj.weight", {C, HD}, Group::attn, l, &LayerParams::wo);
    if (c.o_bias) add(p + "self_attn.o_proj.bias", {C}, Group::attn, l, &LayerParams::bo);
    if (c.qk_norm) {
      // Per-head RMSNorm weights live in self_attn but are norms (no weight decay, group norm).
      add(p + "self_attn.q_norm.weight", {D}, Group::norm, l, &LayerParams::q_norm);
      add(p + "self_attn.k_norm.weight", {D}, Group::norm, l, &LayerParams::k_norm);
    }
    add(p + "post_attention_layernorm.weight", {C}, Group::norm, l, &LayerParams::ln2);
    add(p + "mlp.gate_proj.weight", {F, C}, Group::mlp, l, &LayerParams::wg);
    if (c.mlp_bias) add(p + "mlp.gate_proj.bias", {F}, Group::mlp, l, &LayerParams::bg);
    add(p + "mlp.up_proj.weight", {F, C}, Group::mlp, l, &LayerParams::wu);
    if (c.mlp_bias) add(p + "mlp.up_proj.bias", {F}, Group::mlp, l, &LayerParams::bu);
    add(p + "mlp.down_proj.weight", {C, F}, Group::mlp, l, &LayerParams::wd);
    if (c.mlp_bias) add(p + "mlp.down_proj.bias", {C}, Group::mlp, l, &LayerParams::bd);
  }
  add("model.norm.weight", {C}, Group::norm, -1, &ParamPtrs::norm);
  if (!c.tie_word_embeddings) add("lm_head.weight", {V, C}, Group::head, -1, &ParamPtrs::lm_head);
  t.assign_grad_offsets();
  return t;
}

ParamPtrs tensor_bind(const TensorTable& t, const ModelConfig& cfg, float* base, bool grads) {
  ParamPtrs p;
  p.layers.resize(cfg.L);
  for (const TensorEntry& e : t.entries) {
    float* ptr = !base ? nullptr : !grads ? base + e.offset : e.grad_offset < 0 ? nullptr : base + e.grad_offset;
    if (e.layer >= 0) p.layers[e.layer].*e.layer_slot = ptr;
    else p.*e.global_slot = ptr;
  }
  if (cfg.tie_word_embeddings) p.lm_head = p.embed;
  return p;
}

}  // namespace tsft
