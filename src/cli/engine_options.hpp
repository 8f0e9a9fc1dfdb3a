// --device and --precision: the engine a command runs on (model/engine.hpp). Unknown words and
// combinations this build lacks are usage errors from engine_create.
#pragma once
#include <CLI/CLI.hpp>

#include "model/engine.hpp"
#include "train/select.hpp"

namespace tsft::cli {

inline void add_engine_options(CLI::App& app, EngineSpec& spec) {
  app.add_option("--device", spec.device, "engine device: cpu | cuda")->capture_default_str();
  app.add_option("--precision", spec.precision,
                 "engine precision: fp32 (oneDNN GEMMs) | fp32-ref (reference kernels) | bf16 (mixed)")
      ->capture_default_str();
}

// --adapter DIR: a PEFT LoRA adapter applied on top of --model (model/lora.hpp model_load_adapted).
inline void add_adapter_option(CLI::App& app, std::string& dir) {
  app.add_option("--adapter", dir,
                 "PEFT LoRA adapter directory (adapter_config.json + adapter_model.safetensors)");
}

// --lora-rank R (> 0 turns LoRA on), --lora-alpha, --lora-targets SPEC, --lora-dropout, --rslora
// (train/select.hpp LoraOptions; tsft train and tsft info).
inline void add_lora_options(CLI::App& app, LoraOptions& o) {
  app.add_option("--lora-rank", o.rank, "LoRA rank r (0: no LoRA, full/selective fine-tuning)")
      ->capture_default_str();
  app.add_option("--lora-alpha", o.alpha, "LoRA alpha (scale alpha/r, or alpha/sqrt(r) with --rslora)")
      ->capture_default_str();
  app.add_option(
         "--lora-targets", o.targets,
         "linear layers that get adapters, a --trainable spec: all | mlp | attn | layers[a:b].mlp | re:...")
      ->capture_default_str();
  app.add_option("--lora-dropout", o.dropout, "dropout on the adapter's input (training steps only)")
      ->capture_default_str();
  app.add_flag("--rslora", o.rslora, "rank-stabilised scale alpha / sqrt(r)");
}

}  // namespace tsft::cli
