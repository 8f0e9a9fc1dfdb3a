// A training run's set-up, before its first step (train_run): the options checked, the data packed,
// the trainable tensors chosen (after the memory check), the step plan, the run directory's opening
// files and the activations. Everything here is refused or done before any step runs.
#pragma once
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "model/engine.hpp"
#include "tokenizer/tokenizer.hpp"
#include "train/data.hpp"
#include "train/trainer.hpp"

namespace tsft {

// Usage errors of the batch shape, output directory and non-finite policy.
void train_check_options(const TrainConfig& cfg);
// Early stopping needs a validation file (and, on accuracy, the validation problems' scorer).
void train_check_early_stop(const TrainConfig& cfg, bool has_val, bool has_scorer);
// --tokenizer, or the tokenizer.json of the model's directory (of the checkpoint resumed from, unless
// that is a LoRA checkpoint: it holds only the adapter).
std::string train_tokenizer_path(const TrainConfig& cfg);
// Packed rows of one data file (raw text for pre-training, chat/prompt-completion JSONL for SFT).
std::vector<PackedRow> train_load_rows(const TrainConfig& cfg, const tokenizer::Tokenizer& tok,
                                       const std::string& path, bool log);
// Marks the trainable tensors (the LoRA adapters, or --trainable's selection), after refusing a run
// whose gradients, AdamW moments and activations will not fit in memory.
void train_select_trainable(Engine& m, const TrainConfig& cfg);

// Step counts. `horizon` is the schedule's length: max_steps, or the epochs' steps, or with a
// supervised-token budget the steps that train `max_supervised_tokens` at the data's mean supervised
// tokens per step; the loop then stops on the exact count, at most at `step_cap` (4x the horizon, lr at
// its floor past it).
struct StepPlan {
  int64_t horizon = 0, step_cap = 0;
};
StepPlan train_plan_steps(const TrainConfig& cfg, const std::vector<PackedRow>& rows, int64_t per_epoch);

// metrics.jsonl (a resumed run's cut back to its checkpoint, a fresh run's removed), config.json and
// versions.json (build, libraries, CPU). Returns the metrics path.
std::string train_start_outputs(const TrainConfig& cfg, const nlohmann::json& run_config, int64_t start);
// The activations of one micro-batch, planned once before step 0 (a clear error when they do not fit).
std::unique_ptr<Workspace> train_plan_memory(Engine& m, const TrainConfig& cfg, int64_t steps);

}  // namespace tsft
