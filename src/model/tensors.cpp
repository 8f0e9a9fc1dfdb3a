#include "model/tensors.hpp"

#include <type_traits>

#include "core/error.hpp"

namespace tsft {

const char* group_name(Group g) {
  switch (g) {
    case Group::embed:
      return "embed";
    case Group::attn:
      return "attn";
    case Group::mlp:
      return "mlp";
    case Group::norm:
      return "norm";
    case Group::head:
      return "head";
    case Group::lora:
      return "lora";
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

const LoraSlots& lora_slots(int proj) {
  static const LoraSlots s[lora_num_proj] = {
      {&LayerParams::wq, &LayerParams::q_a, &LayerParams::q_b, "q_proj"},
      {&LayerParams::wk, &LayerParams::k_a, &LayerParams::k_b, "k_proj"},
      {&LayerParams::wv, &LayerParams::v_a, &LayerParams::v_b, "v_proj"},
      {&LayerParams::wo, &LayerParams::o_a, &LayerParams::o_b, "o_proj"},
      {&LayerParams::wg, &LayerParams::g_a, &LayerParams::g_b, "gate_proj"},
      {&LayerParams::wu, &LayerParams::u_a, &LayerParams::u_b, "up_proj"},
      {&LayerParams::wd, &LayerParams::d_a, &LayerParams::d_b, "down_proj"}};
  TSFT_CHECK(proj >= 0 && proj < lora_num_proj, "lora_slots: projection {} out of range", proj);
  return s[proj];
}

int lora_proj_of(const TensorEntry& e) {
  if (e.layer < 0 || e.group == Group::lora || e.shape.size() != 2) return -1;
  for (int p = 0; p < lora_num_proj; p++)
    if (e.layer_slot == lora_slots(p).base) return p;
  return -1;
}

TensorTable tensor_table_build(const ModelConfig& c) {
  TensorTable t;
  auto add = [&](std::string name, std::vector<int64_t> shape, Group g, int layer, auto slot) {
    TensorEntry e;
    if constexpr (std::is_same_v<decltype(slot), LayerSlot>)
      e.layer_slot = slot;
    else
      e.global_slot = slot;
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
  const size_t n_base = t.entries.size();
  for (const std::string& target : c.lora.targets) {
    auto it = t.index.find(target);
    TSFT_CHECK(it != t.index.end() && it->second < n_base, "LoRA target '{}' is not a weight of this model",
               target);
    const TensorEntry base = t.entries[it->second];
    const int p = lora_proj_of(base);
    TSFT_CHECK(p >= 0, "LoRA target '{}' is not a linear layer (q/k/v/o/gate/up/down_proj weights)", target);
    TSFT_CHECK(c.lora.r > 0, "LoRA targets given with rank {}", c.lora.r);
    const std::string module = target.substr(0, target.size() - std::string(".weight").size());
    TSFT_CHECK(!t.index.count(module + ".lora_A.weight"), "LoRA target '{}' listed twice", target);
    const int64_t out = base.shape[0], in = base.shape[1], r = c.lora.r;
    add(module + ".lora_A.weight", {r, in}, Group::lora, base.layer, lora_slots(p).a);
    add(module + ".lora_B.weight", {out, r}, Group::lora, base.layer, lora_slots(p).b);
  }
  t.assign_grad_offsets();
  return t;
}

ParamPtrs tensor_bind(const TensorTable& t, const ModelConfig& cfg, float* base, bool grads) {
  ParamPtrs p;
  p.layers.resize(cfg.L);
  for (const TensorEntry& e : t.entries) {
    float* ptr = !base               ? nullptr
                 : !grads            ? base + e.offset
                 : e.grad_offset < 0 ? nullptr
                                     : base + e.grad_offset;
    if (e.layer >= 0)
      p.layers[e.layer].*e.layer_slot = ptr;
    else
      p.*e.global_slot = ptr;
  }
  if (cfg.tie_word_embeddings) p.lm_head = p.embed;
  return p;
}

}  // namespace tsft
