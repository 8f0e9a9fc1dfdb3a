#include "train/optimizer.hpp"

#include <cmath>

#include "core/error.hpp"
#include "core/safetensors.hpp"

namespace tsft {

void Optimizer::update(Engine& e, double lr) {
  step++;
  e.adamw_step(cfg, lr, step);
}

void Optimizer::save(Engine& e, const std::string& path) const {
  std::vector<TensorWrite> ts;
  e.for_each_tensor([&](const TensorEntry& t, TensorRef<float> r) {
    if (!r.m) return;
    ts.push_back(
        {"exp_avg." + t.name, DType::F32, t.shape, safetensors_encode_f32(r.m, t.numel, DType::F32)});
    ts.push_back(
        {"exp_avg_sq." + t.name, DType::F32, t.shape, safetensors_encode_f32(r.v, t.numel, DType::F32)});
  });
  safetensors_write(path, ts, {{"step", std::to_string(step)}});
}

void Optimizer::load(Engine& e, const std::string& path) {
  auto f = SafetensorsFile::open(path);
  e.for_each_tensor([&](const TensorEntry& t, TensorRef<float> r) {
    if (!t.trainable) return;
    TSFT_CHECK(r.m, "{}: the engine has no optimizer state for '{}' (set_trainable first)", path, t.name);
    f->read_f32(f->get("exp_avg." + t.name), r.m);
    f->read_f32(f->get("exp_avg_sq." + t.name), r.v);
  });
  auto it = f->metadata().find("step");
  if (it != f->metadata().end()) step = std::stoll(it->second);
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
