#include "model/model.hpp"

#include <algorithm>
#include <filesystem>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/rng.hpp"
#include "kernels/cpu/kernels.hpp"

namespace tsft {

namespace {
ParamPtrs bind_arena(const Model& m, float* base, bool grads) {
  const TensorTable& t = m.table;
  auto ptr = [&](const std::string& name) -> float* {
    const TensorEntry* e = t.find(name);
    if (!e) return nullptr;
    if (grads) return e->grad_offset < 0 ? nullptr : base + e->grad_offset;
    return base + e->offset;
  };
  ParamPtrs p;
  p.embed = ptr("model.embed_tokens.weight");
  p.norm = ptr("model.norm.weight");
  p.lm_head = m.cfg.tie_word_embeddings ? p.embed : ptr("lm_head.weight");
  p.layers.resize(m.cfg.L);
  for (int l = 0; l < m.cfg.L; l++) {
    std::string s = "model.layers." + std::to_string(l) + ".";
    LayerParams& L = p.layers[l];
    L.ln1 = ptr(s + "input_layernorm.weight");
    L.wq = ptr(s + "self_attn.q_proj.weight");
    L.bq = ptr(s + "self_attn.q_proj.bias");
    L.wk = ptr(s + "self_attn.k_proj.weight");
    L.bk = ptr(s + "self_attn.k_proj.bias");
    L.wv = ptr(s + "self_attn.v_proj.weight");
    L.bv = ptr(s + "self_attn.v_proj.bias");
    L.wo = ptr(s + "self_attn.o_proj.weight");
    L.bo = ptr(s + "self_attn.o_proj.bias");
    L.q_norm = ptr(s + "self_attn.q_norm.weight");
    L.k_norm = ptr(s + "self_attn.k_norm.weight");
    L.ln2 = ptr(s + "post_attention_layernorm.weight");
    L.wg = ptr(s + "mlp.gate_proj.weight");
    L.bg = ptr(s + "mlp.gate_proj.bias");
    L.wu = ptr(s + "mlp.up_proj.weight");
    L.bu = ptr(s + "mlp.up_proj.bias");
    L.wd = ptr(s + "mlp.down_proj.weight");
    L.bd = ptr(s + "mlp.down_proj.bias");
  }
  return p;
}
}  // namespace

float* Model::grad(const std::string& name) {
  const TensorEntry& e = table.get(name);
  return e.grad_offset < 0 ? nullptr : grads.data() + e.grad_offset;
}

void Model::bind() {
  w = bind_arena(*this, params.data(), false);
  g = bind_arena(*this, grads.data(), true);
  const int half = cfg.D / 2;
  inv_freq.assign(half, 0.0);
  rope_inv_freq(inv_freq.data(), cfg.D, cfg.rope);
  rope_cos.assign((size_t)cfg.max_position * half, 0.f);
  rope_sin.assign((size_t)cfg.max_position * half, 0.f);
  rope_tables(rope_cos.data(), rope_sin.data(), inv_freq.data(), cfg.max_position, cfg.D);
}

void Model::set_trainable(const std::function<bool(const TensorEntry&)>& pred) {
  for (auto& e : table.entries) e.trainable = pred(e);
  table.assign_grad_offsets();
  grads.assign(table.grad_total, 0.f);
  grads.shrink_to_fit();
  bind();
}

void Model::zero_grads() { std::fill(grads.begin(), grads.end(), 0.f); }

Model model_create(const ModelConfig& cfg) {
  Model m;
  m.cfg = cfg;
  m.table = tensor_table_build(cfg);
  m.params.assign(m.table.total, 0.f);
  for (auto& e : m.table.entries)
    if (e.group == Group::norm) std::fill_n(m.params.data() + e.offset, e.numel, 1.f);
  m.grads.assign(m.table.grad_total, 0.f);
  m.bind();
  return m;
}

void model_init_weights(Model& m, uint64_t seed, double std) {
  // One stream per tensor (seed, tensor index), so adding a tensor does not shift the others.
  for (size_t i = 0; i < m.table.entries.size(); i++) {
    const TensorEntry& e = m.table.entries[i];
    float* p = m.params.data() + e.offset;
    if (e.group == Group::norm) {
      std::fill_n(p, e.numel, 1.f);
    } else if (e.shape.size() == 1) {  // biases
      std::fill_n(p, e.numel, 0.f);
    } else {
      Rng rng(seed * 0x9E3779B97F4A7C15ULL + i + 1);
      for (size_t j = 0; j < e.numel; j++) p[j] = (float)(std * rng.normal());
    }
  }
}

}  // namespace tsft
