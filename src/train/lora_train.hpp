// The run's model with or without LoRA (train/trainer.hpp): where it starts from and how its weights
// are written (a full HF checkpoint, or the adapter alone in PEFT's layout).
#pragma once
#include <string>

#include "model/model.hpp"
#include "train/trainer.hpp"

namespace tsft {

// The starting model: --model (or the checkpoint to resume); with LoRA the base --model plus a fresh
// adapter (PEFT init, seeded) or the checkpoint's adapter. UsageError for --trainable with LoRA.
Model load_start(const TrainConfig& cfg);
// The model files of a run into an existing directory: a full HF checkpoint, or with LoRA the adapter
// alone (base_model_name_or_path = the base directory).
void write_model_files(const Model& host, const std::string& dir, const std::string& tok_dir,
                       const std::string& dtype, const TrainConfig& cfg);
// The same as a directory written atomically (temp dir + rename).
void save_model(const Model& host, const std::string& dir, const std::string& tok_dir,
                const std::string& dtype, const TrainConfig& cfg);

}  // namespace tsft
