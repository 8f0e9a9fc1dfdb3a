// The CUDA module's entry points (model/engine_module.hpp): built as libtsft_cuda_module.so and
// dlopen'ed by the engine factory only when a command asks for the CUDA device. The CUDA engine
// itself (the Engine interface over these kernels) is not written yet: the module reports the devices
// and says so when asked for an engine.
#include <string>

#include "kernels/cuda/runtime.hpp"
#include "model/engine_module.hpp"

extern "C" {

__attribute__((visibility("default"))) const char* tsft_cuda_module_version() {
  return TSFT_VERSION;
}

__attribute__((visibility("default"))) const char* tsft_cuda_module_engines() {
  return "";
}

__attribute__((visibility("default"))) const char* tsft_cuda_module_devices() {
  static std::string s;
  s = tsft::cuda::cuda_describe_devices();
  return s.c_str();
}

__attribute__((visibility("default"))) tsft::Engine* tsft_cuda_module_engine_create(const char* precision,
                                                                                    tsft::Model*,
                                                                                    std::string* error) {
  *error =
      std::string("the CUDA engine (") + precision +
      ") is not implemented yet: this module has the CUDA kernels (tests/cuda) and device discovery only";
  return nullptr;
}
}
