// --device and --precision: the engine a command runs on (model/engine.hpp). Unknown words and
// combinations this build lacks are usage errors from engine_create.
#pragma once
#include <CLI/CLI.hpp>

#include "model/engine.hpp"

namespace tsft::cli {

inline void add_engine_options(CLI::App& app, EngineSpec& spec) {
  app.add_option("--device", spec.device, "engine device: cpu | cuda")->capture_default_str();
  app.add_option("--precision", spec.precision,
                 "engine precision: fp32 (oneDNN GEMMs) | fp32-ref (reference kernels) | bf16 (mixed)")
      ->capture_default_str();
}

}  // namespace tsft::cli
