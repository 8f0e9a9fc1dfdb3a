// AdamW over the trainable tensors only (state arenas aligned with the gradient arena), global-norm
// clipping as torch.nn.utils.clip_grad_norm_, and learning-rate schedules.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "kernels/cpu/kernels.hpp"
#include "model/model.hpp"

namespace tsft {

struct AdamWConfig {
  double lr = 1e-4, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0.0;
  bool decay_all = false;  // false: decay only tensors with ndim >= 2 (not norms, not biases)
  double clip = 1.0;       // global-norm clipping threshold; <= 0 disables
};

struct Optimizer {
  AdamWConfig cfg;
  std::vector<float> m, v;  // [model.table.grad_total]
  int64_t step = 0;         // updates done
  std::vector<AdamwSegment> segments;  // scratch of update(): one per trainable tensor

  void init(const Model& model);  // zeroed state sized to the trainable tensors
  // Global L2 norm of all gradients (double accumulation, fixed order); scales the gradients by
  // clip / (norm + 1e-6) when that is < 1 (torch semantics). Returns the norm before clipping.
  double clip_gradients(Model& model) const;
  // One AdamW update of every trainable tensor with learning rate lr (step counter advances).
  void update(Model& model, double lr);
};

enum class LrSchedule { constant, linear, cosine };
LrSchedule lr_schedule_parse(const std::string& s);  // throws UsageError naming the value
// Learning rate before update `step` (0-based) of `total`: linear warm-up over `warmup` steps from
// lr/warmup, then constant / linear decay / cosine decay down to lr * min_ratio at step total.
double lr_at(int64_t step, int64_t total, int64_t warmup, LrSchedule kind, double lr, double min_ratio);

}  // namespace tsft
