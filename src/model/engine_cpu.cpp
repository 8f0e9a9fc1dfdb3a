#include "model/engine_cpu.hpp"

#include <cmath>

#include "core/error.hpp"
#include "kernels/cpu/kernels.hpp"

namespace tsft {

namespace {
struct CpuWorkspace : Workspace {
  Activations act;
  std::vector<float> rows;  // gathered final hidden states for logits_rows
};
CpuWorkspace& cpu_ws(Workspace& ws) {
  auto* w = dynamic_cast<CpuWorkspace*>(&ws);
  TSFT_CHECK(w, "workspace was not made by a CPU engine");
  return *w;
}
}  // namespace

CpuEngine::CpuEngine(Model m, const StepOps* ops, std::string name)
    : m_(std::move(m)), ops_(ops), name_(std::move(name)) {
  m_.bind();  // pointers into this object's arenas (the moved-from vectors kept their buffers)
}

void CpuEngine::set_trainable(const std::function<bool(const TensorEntry&)>& pred) {
  m_.set_trainable(pred);
  m_.init_moments();
}

std::unique_ptr<Workspace> CpuEngine::workspace(int B, int T, bool training) {
  auto w = std::make_unique<CpuWorkspace>();
  w->act = activations_create(m_.cfg, B, T, training);
  w->B_max = B;
  w->T_max = T;
  w->training = training;
  return w;
}

size_t CpuEngine::workspace_bytes(int B, int T, bool training) const {
  return activations_bytes(m_.cfg, B, T, training);
}

KVCache CpuEngine::kv_cache(int slots, int positions) {
  return kv_cache_create(m_.cfg, slots, positions);
}

ForwardResult CpuEngine::forward(Workspace& ws, const Batch& b, float* logits, bool backward_head,
                                 double grad_scale) {
  return model_forward(m_, cpu_ws(ws).act, b, logits, backward_head, grad_scale, ops_);
}

void CpuEngine::backward(Workspace& ws, const Batch& b) {
  model_backward(m_, cpu_ws(ws).act, b, ops_);
}

void CpuEngine::logits_rows(Workspace& ws, const int* rows, int n, float* logits) {
  CpuWorkspace& w = cpu_ws(ws);
  const int C = m_.cfg.C;
  w.rows.resize((size_t)n * C);
  for (int i = 0; i < n; i++) std::copy_n(w.act.lnf + (size_t)rows[i] * C, C, w.rows.data() + (size_t)i * C);
  ops_->linear_forward(logits, w.rows.data(), m_.w.lm_head, nullptr, n, C, m_.cfg.V);
}

double CpuEngine::clip_grad_norm(double max_norm) {
  double norm = std::sqrt(sum_squares(m_.grads.data(), m_.grads.size()));
  if (max_norm > 0) {
    double coef = max_norm / (norm + 1e-6);
    if (coef < 1.0) scale_inplace(m_.grads.data(), m_.grads.size(), (float)coef);
  }
  return norm;
}

void CpuEngine::adamw_step(const AdamWConfig& cfg, double lr, int64_t step) {
  TSFT_CHECK(!m_.adam_m.empty() || m_.table.grad_total == 0,
             "adamw_step on an engine without optimizer state (call set_trainable first)");
  segments_.clear();
  tsft::for_each_tensor(m_, [&](const TensorEntry& e, TensorRef<float> r) {
    if (!r.g) return;
    double wd = (cfg.decay_all || e.decay) ? cfg.weight_decay : 0.0;
    segments_.push_back({r.w, r.g, r.m, r.v, e.numel, wd});
  });
  adamw_update_segments(segments_.data(), (int)segments_.size(), lr, cfg.beta1, cfg.beta2, cfg.eps, step);
  weights_changed();
}

void CpuEngine::for_each_tensor(const TensorFn& fn) {
  tsft::for_each_tensor(m_, fn);
  weights_changed();
}

void CpuEngine::download(Model& host) const {
  tensor_tables_check_same(host.table, m_.table, "host model", "engine " + name_);
  host.table = m_.table;  // file dtypes and trainable flags too
  host.params = m_.params;
  host.bind();
}

std::unique_ptr<Engine> engine_cpu_fp32_ref(Model m) {
  return std::make_unique<CpuEngine>(std::move(m), &step_ops_reference(), "cpu/fp32-ref");
}

}  // namespace tsft
