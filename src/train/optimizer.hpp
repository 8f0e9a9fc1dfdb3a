// AdamW over the trainable tensors of an engine (the engine holds the moments beside the gradients),
// global-norm clipping as torch.nn.utils.clip_grad_norm_, the optimizer state's checkpoint file, and
// learning-rate schedules.
#pragma once
#include <cstdint>
#include <string>

#include "model/engine.hpp"

namespace tsft {

struct Optimizer {
  AdamWConfig cfg;
  int64_t step = 0;  // updates done

  // Global L2 norm of all gradients; clipped to cfg.clip (torch semantics). Returns the norm before.
  double clip_gradients(Engine& e) const { return e.clip_grad_norm(cfg.clip); }
  // One AdamW update of every trainable tensor with learning rate lr (step counter advances).
  void update(Engine& e, double lr);
  // optimizer.safetensors: exp_avg.<name> / exp_avg_sq.<name> per trainable tensor (torch's state
  // names), metadata "step".
  void save(Engine& e, const std::string& path) const;
  // Reads the moments of every trainable tensor (errors name the file and tensor) and the step.
  void load(Engine& e, const std::string& path);
};

enum class LrSchedule { constant, linear, cosine };
LrSchedule lr_schedule_parse(const std::string& s);  // throws UsageError naming the value
// Learning rate before update `step` (0-based) of `total`: linear warm-up over `warmup` steps from
// lr/warmup, then constant / linear decay / cosine decay down to lr * min_ratio at step total.
double lr_at(int64_t step, int64_t total, int64_t warmup, LrSchedule kind, double lr, double min_ratio);

}  // namespace tsft
