#include "model/tensors.hpp"

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
  auto add = [&](std::string name, std::vector<int64_t> shape, Group g, int layer) {
    TensorEntry e;
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
  add("model.embed_tokens.weight", {V, C}, Group::embed, -1);
  for (int l = 0; l < c.L; l++) {
    std::string p = "model.layers." + std::to_string(l) + ".";
    add(p + "input_layernorm.weight", {C}, Group::norm, l);
    add(p + "self_attn.q_proj.weight", {HD, C}, Group::attn, l);
    if (c.qkv_bias) add(p + "self_attn.q_proj.bias", {HD}, Group::attn, l);
    add(p + "self_attn.k_proj.weight", {KD, C}, Group::attn, l);
    if (c.qkv_bias) add(p + "self_attn.k_proj.bias", {KD}, Group::attn, l);
    add(p + "self_attn.v_proj.weight", {KD, C}, Group::attn, l);
    if (c.qkv_bias) add(p + "self_attn.v_proj.bias", {KD}, Group::attn, l);
    add(p + "self_attn.o_proj.weight", {C, HD}, Group::attn, l);
    if (c.o_bias) add(p + "self_attn.o_proj.bias", {C}, Group::attn, l);
    if (c.qk_norm) {
      // Per-head RMSNorm weights live in self_attn but are norms (no weight decay, group norm).
      add(p + "self_attn.q_norm.weight", {D}, Group::norm, l);
      add(p + "self_attn.k_norm.weight", {D}, Group::norm, l);
    }
    add(p + "post_attention_layernorm.weight", {C}, Group::norm, l);
    add(p + "mlp.gate_proj.weight", {F, C}, Group::mlp, l);
    if (c.mlp_bias) add(p + "mlp.gate_proj.bias", {F}, Group::mlp, l);
    add(p + "mlp.up_proj.weight", {F, C}, Group::mlp, l);
    if (c.mlp_bias) add(p + "mlp.up_proj.bias", {F}, Group::mlp, l);
    add(p + "mlp.down_proj.weight", {C, F}, Group::mlp, l);
    if (c.mlp_bias) add(p + "mlp.down_proj.bias", {C}, Group::mlp, l);
  }
  add("model.norm.weight", {C}, Group::norm, -1);
  if (!c.tie_word_embeddings) add("lm_head.weight", {V, C}, Group::head, -1);
  t.assign_grad_offsets();
  return t;
}

}  // namespace tsft
