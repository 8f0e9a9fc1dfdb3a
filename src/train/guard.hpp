// Numeric guards of the training loop. The good path costs nothing beyond the global gradient norm
// that clipping computes anyway: a step whose loss or norm is non-finite goes to the failure path,
// which replays the step's micro-batches one at a time (the weights have not moved) to find the first
// bad one, counts the non-finite gradient and weight values per tensor (Engine::for_each_tensor),
// and writes DIR/nonfinite-step-NNNNNN.json atomically. Policy "stop" then fails naming the step,
// the micro-batch and the first tensor; "skip" drops the update (gradients zeroed, no optimizer step)
// until more than max_skips steps were skipped. Checkpoints and final/ are written only from finite
// trainable weights, so the last good checkpoint is never replaced by a bad state.
// Resources: a run whose memory will not fit is refused before anything is allocated or written.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "model/engine.hpp"
#include "train/data.hpp"

namespace tsft {

enum class NonFinitePolicy { stop, skip };
NonFinitePolicy nonfinite_policy_parse(const std::string& s);  // UsageError naming the value

struct NonFiniteTensor {
  std::string name;
  size_t numel = 0;
  int64_t grad_nonfinite = 0, weight_nonfinite = 0;
};

struct NonFiniteReport {
  int64_t step = 0;  // 1-based, as in metrics.jsonl
  double loss = 0, grad_norm = 0, lr = 0;
  int micro_batch = -1;  // 0-based index of the first bad micro-batch of the step; -1: none found
  int micro_batches = 0;
  std::vector<size_t> rows;              // packed-row indices of that micro-batch
  std::vector<NonFiniteTensor> tensors;  // HF order; only tensors with a non-finite value
  std::string first_grad;                // first tensor with a non-finite gradient ("" if none)
};

// The failure path. `which[k]` are the row indices of micro-batch mbs[k]; sup the step's supervised
// tokens (the gradient scale). Leaves the engine's gradients in an unspecified state.
NonFiniteReport nonfinite_diagnose(Engine& e, Workspace& ws, const std::vector<MicroBatch>& mbs,
                                   const std::vector<std::vector<size_t>>& which, int64_t sup);
nlohmann::json nonfinite_to_json(const NonFiniteReport& r);
// Writes the report to out_dir/nonfinite-step-NNNNNN.json (atomic); returns the path.
std::string nonfinite_write(const NonFiniteReport& r, const std::string& out_dir,
                            const nlohmann::json& extra);
// One line: step, micro-batch, first tensor, loss, norm, lr.
std::string nonfinite_summary(const NonFiniteReport& r);

// The first trainable tensor of `host` holding a non-finite weight ("" when all are finite) and the
// count of such values in it.
std::string nonfinite_first_weight(const Model& host, int64_t* count);
// MemAvailable of /proc/meminfo in bytes (-1 where unknown).
int64_t mem_available_bytes();
// Refuses (naming the estimate, its parts and what is available) a training run whose new host
// allocations -- gradients and AdamW moments (3 fp32 values per trainable parameter) plus activations
// -- exceed `available` bytes; available < 0 (unknown) passes.
void check_train_memory(int64_t trainable_params, size_t activation_bytes, int B, int T, int64_t available);

// The newest complete checkpoint-NNNNNN directory of out_dir ("" when there is none).
std::string last_checkpoint(const std::string& out_dir);

}  // namespace tsft
