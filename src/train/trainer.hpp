// The SFT / pre-training loop: packed micro-batches, gradient accumulation normalised by the step's
// total supervised tokens, global-norm clipping, AdamW on the selected tensors, schedules, validation,
// metrics JSONL, atomic checkpoints with exact resume, numeric guards (train/guard.hpp).
//
// Run directory (out_dir): config.json (this TrainConfig), versions.json, metrics.jsonl (one line per
// step, plus "val_loss" lines; a skipped step has "skipped": true), nonfinite-step-NNNNNN.json (the
// diagnostic of a non-finite step), summary.json (steps, supervised tokens, stop reason, best validation),
// checkpoint-NNNNNN/ (HF model in fp32 -- or with LoRA the PEFT adapter -- + optimizer.safetensors +
// trainer_state.json), final/ (HF model, or the PEFT adapter), tokenizer/ (the tokenizer files every save
// copies). One writer per run directory (a lock on it); every file and directory is written atomically; a
// killed run resumes bit-identically from its last checkpoint (tests/reliability/test_kill_anywhere.cpp).
// Defaults of the options: train/train_schema.cpp.
#pragma once
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "train/data.hpp"
#include "train/optimizer.hpp"
#include "train/select.hpp"
#include "train/train_schema.hpp"

namespace tsft {

struct TrainConfig {
  std::string model_dir, data_path, val_path, out_dir, resume_dir, tokenizer_path;
  bool pretrain = false;  // raw text, every token supervised
  std::string trainable = train_default<std::string>("trainable");
  // LoRA (rank > 0): the base (--model) is frozen and an adapter trains; checkpoints, best/ and final/
  // hold the adapter only, as PEFT saves it (resume needs --model again).
  LoraOptions lora;
  EngineSpec engine;                                    // --device / --precision
  int block = train_default<int>("block");              // tokens per row
  int micro_batch = train_default<int>("micro_batch");  // rows per micro-batch
  int grad_accum = train_default<int>("grad_accum");    // micro-batches per optimizer step
  int64_t max_steps = train_default<int64_t>("steps");  // 0: derive from epochs
  double epochs = train_default<double>("epochs");
  AdamWConfig adam = train_adam_defaults();  // tsft pretrain: train_adam_defaults(true)
  std::string schedule = train_default<std::string>("schedule");
  int64_t warmup = train_default<int64_t>("warmup");
  double min_lr_ratio = train_default<double>("min_lr_ratio");
  uint64_t seed = train_default<uint64_t>("seed");
  int threads = 0;
  int64_t save_every = train_default<int64_t>("save_every");  // 0: only at the end
  int keep_last = train_default<int>("keep_last");
  int64_t eval_every = train_default<int64_t>("eval_every");  // 0: only at the end (when val_path is set)
  bool packing = true;
  Overlong overlong = train_default<std::string>("overlong") == "drop" ? Overlong::drop : Overlong::truncate;
  std::string chat_template;  // override of the tokenizer's template family
  std::string save_dtype;     // dtype of final/ ("" = the base model's)
  bool quiet = false;
  int64_t stop_after = 0;  // test hook: stop (without final save) after this many steps
  // Budgets beside max_steps (the experiment compares arms at equal steps, equal supervised tokens, or
  // each trained to convergence):
  int64_t max_supervised_tokens = train_default<int64_t>(
      "max_supervised_tokens");  // > 0: stop once this many supervised tokens were trained; the
                                 // schedule's horizon is estimated from the data's mean per step
  int early_stop_patience = train_default<int>(
      "early_stop_patience");  // > 0 (needs val_path): stop after this many validations without
                               // an improvement of at least early_stop_min_delta; final/ then
                               // holds the best-validation weights (kept in DIR/best/)
  double early_stop_min_delta = train_default<double>("early_stop_min_delta");
  // What early stopping compares (issue 12: the same rule as model selection, for every arm):
  // "loss" (validation loss, lower is better) or "accuracy" (validation answer accuracy of greedy
  // decoding, higher is better; needs the ValScorer argument of train_run; ties keep the earlier step).
  std::string early_stop_metric = train_default<std::string>("early_stop_metric");
  // Numeric guards (train/guard.hpp): a step with a non-finite loss or gradient norm stops the run
  // ("stop") or is skipped without an update ("skip") until more than max_skips steps were skipped.
  std::string nonfinite = train_default<std::string>("nonfinite");
  int64_t max_skips = train_default<int64_t>("max_skips");
  bool memory_check = true;  // refuse up front when gradients + moments + activations exceed MemAvailable
};

nlohmann::json train_config_to_json(const TrainConfig& c);

struct TrainResult {
  int64_t steps = 0;
  double last_loss = 0, val_loss = -1;
  int64_t supervised_tokens = 0;  // trained in this run, resumed part included
  int64_t best_step = 0;          // early stopping: step of the best validation loss
  double best_val_loss = -1;
  double best_val_accuracy = -1;  // early_stop_metric = accuracy: the best validation answer accuracy
  std::string stop_reason;        // "steps" | "tokens" | "early_stop"
  int64_t skipped_steps = 0;      // steps dropped by the non-finite "skip" policy (resumed part included)

  double tokens_per_s = 0, gflops = 0;
  std::string final_dir;
};

// Validation answer accuracy in [0, 1] of the model saved in model_dir after `step` steps (tsft train
// builds it from tsft eval: greedy decoding of held-out problems). Higher is better.
using ValScorer = std::function<double(const std::string& model_dir, int64_t step)>;

TrainResult train_run(const TrainConfig& cfg, const ValScorer& val_accuracy = {});

// Model FLOPs of one forward+backward over rows of the given lengths: 2 flops per multiply-add of
// every linear layer (x3 for forward + input-gradient + weight-gradient of trainable weights, x2 for
// frozen ones), plus causal attention (QK^T and PV, full T x T blocks as computed).
double train_flops(const ModelConfig& c, const TensorTable& t, const std::vector<int>& row_lengths, int T);

// Mean loss over the supervised tokens of `rows` (no gradient).
double train_eval_loss(Engine& e, const std::vector<PackedRow>& rows, int micro_batch, int block);

}  // namespace tsft
