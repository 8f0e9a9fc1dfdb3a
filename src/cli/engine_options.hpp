// --device and --precision: the engine a command runs on (model/engine.hpp). Unknown words and
// combinations this build lacks are usage errors from engine_create.
#pragma once
#include <CLI/CLI.hpp>

#include "model/engine.hpp"

namespace tsft::cli {

inline void add_engine_options(CLI::App& app, EngineSpec& spec) {
  app.add_option("--device", spec.device, "engine device: cpu | cuda")->capture_default_str();
  app.add_option("--precision", spec.precision, "engine precision: fp32 | bf16")->capture_default_str();
}

// --adapter DIR: a PEFT LoRA adapter applied on top of --model (model/lora.hpp model_load_adapted).
inline void add_adapter_option(CLI::App& app, std::string& dir) {
  app.add_option("--adapter", dir,
                 "PEFT LoRA adapter directory (adapter_config.json + adapter_model.safetensors)");
}

}  // namespace tsft::cli
