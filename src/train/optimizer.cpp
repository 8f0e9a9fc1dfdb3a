#include "train/optimizer.hpp"

#include <cmath>

#include "core/error.hpp"
#include "kernels/cpu/kernels.hpp"

namespace tsft {

void Optimizer::init(const Model& model) {
  m.assign(model.table.grad_total, 0.f);
  v.assign(model.table.grad_total, 0.f);
  step = 0;
}

double Optimizer::clip_gradients(Model& model) const {
  double norm = std::sqrt(sum_squares(model.grads.data(), model.grads.size()));
  if (cfg.clip > 0) {
    double coef = cfg.clip / (norm + 1e-6);
    if (coef < 1.0) scale_inplace(model.grads.data(), model.grads.size(), (float)coef);
  }
  return norm;
}

void Optimizer::update(Model& model, double lr) {
  TSFT_CHECK(m.size() == model.table.grad_total, "optimizer state does not match the trainable tensors");
  step++;
  segments.clear();  // capacity kept: no allocation after the first step
  for (auto& e : model.table.entries) {
    if (e.grad_offset < 0) continue;
    double wd = (cfg.decay_all || e.decay) ? cfg.weight_decay : 0.0;
    segments.push_back({model.params.data() + e.offset, model.grads.data() + e.grad_offset,
                        m.data() + e.grad_offset, v.data() + e.grad_offset, (size_t)e.numel, wd});
  }
  adamw_update_segments(segments.data(), (int)segments.size(), lr, cfg.beta1, cfg.beta2, cfg.eps, step);
}

LrSchedule lr_schedule_parse(const std::string& s) {
  if (s == "constant") return LrSchedule::constant;
  if (s == "linear") return LrSchedule::linear;
  if (s == "cosine") return LrSchedule::cosine;
  throw UsageError("unknown learning-rate schedule '" + s + "' (constant, linear, cosine)");
}

double lr_at(int64_t step, int64_t total, int64_t warmup, LrSchedule kind, double lr, double min_ratio) {
  if (warmup > 0 && step < warmup) return lr * (double)(step + 1) / (double)warmup;
  if (kind == LrSchedule::constant || total <= warmup) return lr;
  double progress = std::min(1.0, (double)(step - warmup) / (double)std::max<int64_t>(1, total - warmup));
  double floor = lr * min_ratio;
  if (kind == LrSchedule::linear) return floor + (lr - floor) * (1.0 - progress);
  return floor + (lr - floor) * 0.5 * (1.0 + std::cos(3.14159265358979323846 * progress));
}

}  // namespace tsft
