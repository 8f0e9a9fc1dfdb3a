// LoRA adapters on a model: target selection, attach (PEFT default init), detach, merge.
#include "model/lora.hpp"

#include <cmath>

#include "core/error.hpp"
#include "core/rng.hpp"

namespace tsft {

double LoraConfig::scale() const {
  return r <= 0 ? 0.0 : rslora ? alpha / std::sqrt((double)r) : alpha / r;
}

namespace {
uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}
}  // namespace

bool lora_dropout_keep(uint64_t seed, uint64_t stream, uint64_t i, double p) {
  const uint64_t h = splitmix64(splitmix64(seed ^ splitmix64(stream)) + i);
  return (double)(h >> 11) * 0x1.0p-53 >= p;
}

namespace {
auto gemm_of(const StepOps& G) {
  return [&G](bool ta, bool tb, int M, int N, int K, float alpha, const float* A, int lda, const float* B,
              int ldb, float beta, float* C,
              int ldc) { G.gemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc); };
}
}  // namespace

void lora_proj_forward(const StepOps& G, const Model& m, Activations& act, uint64_t dropout_seed,
                       bool dropout, int l, int p, float* out, const float* inp, int N, int I, int O) {
  const LayerParams& w = m.w.layers[l];
  const float *A = w.*lora_slots(p).a, *B = w.*lora_slots(p).b;
  if (!A) return;
  const LoraConfig& lc = m.cfg.lora;
  const float* xd = inp;
  if (dropout) {
    TSFT_CHECK(act.lora_xd, "LoRA dropout needs training activations");
    lora_dropout_forward(act.lora_xd, inp, (size_t)N * I, lc.dropout, dropout_seed,
                         (uint64_t)l * lora_num_proj + p);
    xd = act.lora_xd;
  }
  lora_forward(out, act.lora_u[l * lora_num_proj + p], xd, A, B, N, I, O, lc.r, (float)lc.scale(),
               gemm_of(G));
}

void lora_proj_backward(const StepOps& G, Model& m, Activations& act, uint64_t dropout_seed, int l, int p,
                        float* dinp, const float* dout, const float* inp, int N, int I, int O) {
  const LayerParams& w = m.w.layers[l];
  const float *A = w.*lora_slots(p).a, *B = w.*lora_slots(p).b;
  if (!A) return;
  const LayerParams& g = m.g.layers[l];
  const LoraConfig& lc = m.cfg.lora;
  const uint64_t stream = (uint64_t)l * lora_num_proj + p;
  const bool dropout = lc.dropout > 0;
  const float* xd = inp;
  float* dxd = dinp;
  if (dropout) {  // regenerate dropout(inp); its gradient goes through the mask into dinp below
    lora_dropout_forward(act.lora_xd, inp, (size_t)N * I, lc.dropout, dropout_seed, stream);
    xd = act.lora_xd;
    dxd = act.lora_dxd;
    std::fill_n(dxd, (size_t)N * I, 0.f);
  }
  lora_backward(dxd, g.*lora_slots(p).a, g.*lora_slots(p).b, act.lora_du, dout, xd, act.lora_u[stream], A, B,
                N, I, O, lc.r, (float)lc.scale(), gemm_of(G));
  if (dropout) lora_dropout_backward(dinp, dxd, (size_t)N * I, lc.dropout, dropout_seed, stream);
}

void lora_config_validate(const LoraConfig& lc, const std::string& context) {
  TSFT_USAGE_CHECK(lc.r > 0, "{}: LoRA rank r = {} must be positive", context, lc.r);
  TSFT_USAGE_CHECK(std::isfinite(lc.alpha) && lc.alpha > 0, "{}: lora_alpha = {} must be positive", context,
                   lc.alpha);
  TSFT_USAGE_CHECK(lc.dropout >= 0 && lc.dropout < 1, "{}: lora_dropout = {} must be in [0, 1)", context,
                   lc.dropout);
  TSFT_USAGE_CHECK(!lc.targets.empty(), "{}: the adapter has no target modules", context);
}

std::vector<std::string> lora_targets(const TensorTable& base,
                                      const std::function<bool(const TensorEntry&)>& pred,
                                      const std::string& what) {
  std::vector<std::string> t;
  for (const TensorEntry& e : base.entries)
    if (lora_proj_of(e) >= 0 && pred(e)) t.push_back(e.name);
  TSFT_USAGE_CHECK(!t.empty(), "LoRA targets '{}' select no linear layer (q/k/v/o/gate/up/down_proj weights)",
                   what);
  return t;
}

void lora_attach(Model& m, const LoraConfig& lc, uint64_t seed) {
  TSFT_CHECK(m.cfg.lora.r == 0, "the model already carries a LoRA adapter");
  lora_config_validate(lc, "LoRA");
  ModelConfig cfg = m.cfg;
  cfg.lora = lc;
  TensorTable t = tensor_table_build(cfg);
  for (size_t i = 0; i < m.table.entries.size(); i++) {
    TSFT_CHECK(
        t.entries[i].name == m.table.entries[i].name && t.entries[i].offset == m.table.entries[i].offset,
        "lora_attach: base tensor layout changed at '{}'", m.table.entries[i].name);
    t.entries[i].file_dtype = m.table.entries[i].file_dtype;
  }
  t.assign_grad_offsets();
  m.cfg = cfg;
  m.table = std::move(t);
  m.params.resize(m.table.total, 0.f);
  m.grads.clear();
  m.adam_m.clear();
  m.adam_v.clear();
  size_t i = 0;
  for_each_tensor(m, [&](const TensorEntry& e, TensorRef<float> r) {
    i++;
    if (e.group != Group::lora) return;
    const bool is_a = e.name.size() > 14 && e.name.compare(e.name.size() - 14, 14, ".lora_A.weight") == 0;
    if (!is_a) {  // B = 0: the adapted model starts as the base model
      std::fill_n(r.w, e.numel, 0.f);
      return;
    }
    // kaiming_uniform_(a = sqrt(5)): gain sqrt(2 / (1 + a^2)) = sqrt(1/3), bound gain sqrt(3 / fan_in)
    const double bound = 1.0 / std::sqrt((double)e.shape[1]);
    Xoshiro rng(seed * 0x9E3779B97F4A7C15ULL + i);
    for (size_t j = 0; j < e.numel; j++) r.w[j] = (float)(bound * (2.0 * rng.uniform() - 1.0));
  });
  m.bind();
}

Model lora_detach(const Model& m) {
  ModelConfig cfg = m.cfg;
  cfg.lora = LoraConfig{};
  Model b = model_create(cfg);
  for (size_t i = 0; i < b.table.entries.size(); i++) {
    TensorEntry& e = b.table.entries[i];
    const TensorEntry& src = m.table.get(e.name);
    e.file_dtype = src.file_dtype;
    std::copy_n(m.params.data() + src.offset, e.numel, b.params.data() + e.offset);
  }
  b.bind();
  return b;
}

Model lora_merge(const Model& m) {
  Model b = lora_detach(m);
  const LoraConfig& lc = m.cfg.lora;
  const double s = lc.scale();
  std::vector<double> acc;
  for (const std::string& target : lc.targets) {
    const std::string module = target.substr(0, target.size() - 7);
    const TensorEntry& A = m.table.get(module + ".lora_A.weight");
    const TensorEntry& B = m.table.get(module + ".lora_B.weight");
    const int r = (int)A.shape[0], I = (int)A.shape[1], O = (int)B.shape[0];
    const float* a = m.params.data() + A.offset;
    const float* bm = m.params.data() + B.offset;
    float* w = b.param(target);
    acc.assign(I, 0.0);
    for (int o = 0; o < O; o++) {  // W[o,:] += s sum_k B[o,k] A[k,:]
      std::fill(acc.begin(), acc.end(), 0.0);
      for (int k = 0; k < r; k++) {
        const double bk = bm[(size_t)o * r + k];
        for (int i = 0; i < I; i++) acc[i] += bk * a[(size_t)k * I + i];
      }
      for (int i = 0; i < I; i++) w[(size_t)o * I + i] = (float)((double)w[(size_t)o * I + i] + s * acc[i]);
    }
  }
  return b;
}

}  // namespace tsft
