#include "model/model.hpp"

#include <algorithm>
#include <filesystem>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/rng.hpp"
#include "kernels/cpu/kernels.hpp"
#include "model/rope.hpp"

namespace tsft {

float* Model::grad(const std::string& name) {
  const TensorEntry& e = table.get(name);
  return e.grad_offset < 0 || grads.empty() ? nullptr : grads.data() + e.grad_offset;
}

void Model::bind() {
  w = tensor_bind(table, cfg, params.data(), false);
  g = tensor_bind(table, cfg, grads.empty() ? nullptr : grads.data(), true);
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
  adam_m.clear();
  adam_m.shrink_to_fit();
  adam_v.clear();
  adam_v.shrink_to_fit();
  bind();
}

void Model::init_moments() {
  adam_m.assign(table.grad_total, 0.f);
  adam_v.assign(table.grad_total, 0.f);
}

void Model::zero_grads() { std::fill(grads.begin(), grads.end(), 0.f); }

void tensor_tables_check_same(const TensorTable& a, const TensorTable& b, const std::string& what_a,
                              const std::string& what_b) {
  TSFT_CHECK(a.entries.size() == b.entries.size() && a.total == b.total,
             "{} and {} have different architectures ({} vs {} tensors)", what_a, what_b, a.entries.size(),
             b.entries.size());
  for (size_t i = 0; i < a.entries.size(); i++)
    TSFT_CHECK(a.entries[i].name == b.entries[i].name && a.entries[i].shape == b.entries[i].shape,
               "tensor '{}' differs in name or shape between {} and {}", a.entries[i].name, what_a, what_b);
}

Model model_create(const ModelConfig& cfg) {
  Model m;
  m.cfg = cfg;
  m.table = tensor_table_build(cfg);
  m.params.assign(m.table.total, 0.f);
  for_each_tensor(m, [](const TensorEntry& e, TensorRef<float> r) {
    if (e.group == Group::norm) std::fill_n(r.w, e.numel, 1.f);
  });
  m.bind();
  return m;
}

void model_init_weights(Model& m, uint64_t seed, double std) {
  // One stream per tensor (seed, tensor index), so adding a tensor does not shift the others.
  size_t i = 0;
  for_each_tensor(m, [&](const TensorEntry& e, TensorRef<float> r) {
    float* p = r.w;
    i++;
    if (e.group == Group::norm) {
      std::fill_n(p, e.numel, 1.f);
    } else if (e.shape.size() == 1) {  // biases
      std::fill_n(p, e.numel, 0.f);
    } else {
      Xoshiro rng(seed * 0x9E3779B97F4A7C15ULL + i);
      for (size_t j = 0; j < e.numel; j++) p[j] = (float)(std * rng.normal());
    }
  });
}

}  // namespace tsft
