// The CUDA module: the CUDA kernels, cuBLAS and the CUDA engine are a shared module
// (libtsft_cuda_module.so next to the tsft binary, or $TSFT_CUDA_MODULE) that is dlopen'ed only when a
// command asks for --device cuda or lists devices, so CPU work never loads the CUDA libraries and one
// build runs with or without them. Module ABI: the extern "C" functions below (same compiler and
// build as the binary; the version string must match).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "model/engine.hpp"

namespace tsft {

// Engines the module offers ("cuda/fp32", ...), empty when it is absent or cannot load.
std::vector<std::string> cuda_module_engines();
// The module's device report, or why there is none (module missing, libraries missing, no device).
std::string cuda_module_describe_devices();
// Throws UsageError naming the module path and the reason when it cannot create the engine.
std::unique_ptr<Engine> cuda_module_engine_create(const EngineSpec& spec, Model host);

}  // namespace tsft

// Exported by the module (src/kernels/cuda/module.cpp).
extern "C" {
const char* tsft_cuda_module_version();  // TSFT_VERSION of its build
const char* tsft_cuda_module_engines();  // comma-separated "cuda/fp32,..." (may be empty)
const char* tsft_cuda_module_devices();  // device report (static storage)
// Null with *error set when it cannot (no device, precision not supported, not implemented).
tsft::Engine* tsft_cuda_module_engine_create(const char* precision, tsft::Model* host, std::string* error);
}
