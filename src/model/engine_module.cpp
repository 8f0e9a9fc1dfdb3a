#include "model/engine_module.hpp"

#include <dlfcn.h>

#include <cstdlib>
#include <filesystem>
#include <mutex>

#include "core/error.hpp"

namespace tsft {

namespace {
struct Module {
  void* handle = nullptr;
  std::string path, error;
  decltype(&tsft_cuda_module_engines) engines = nullptr;
  decltype(&tsft_cuda_module_devices) devices = nullptr;
  decltype(&tsft_cuda_module_engine_create) create = nullptr;
};

std::string module_path() {
  if (const char* p = std::getenv("TSFT_CUDA_MODULE")) return p;
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ((ec ? std::filesystem::path(".") : exe.parent_path()) / "libtsft_cuda_module.so").string();
}

template <typename F>
bool bind(Module& m, F& f, const char* sym) {
  f = reinterpret_cast<F>(dlsym(m.handle, sym));
  if (!f) m.error = m.path + ": no symbol " + sym;
  return f != nullptr;
}

Module load() {
  Module m;
  m.path = module_path();
  if (!std::filesystem::exists(m.path)) {
    m.error = m.path + " not found: this build has no CUDA module (configure where nvcc is installed)";
    return m;
  }
  m.handle = dlopen(m.path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!m.handle) {
    const char* e = dlerror();
    m.error = std::string("cannot load the CUDA module: ") + (e ? e : m.path);
    return m;
  }
  decltype(&tsft_cuda_module_version) version = nullptr;
  if (!bind(m, version, "tsft_cuda_module_version")) return m;
  if (std::string(version()) != TSFT_VERSION) {
    m.error = m.path + " is from tsft " + version() + ", this binary is " + TSFT_VERSION;
    return m;
  }
  if (!bind(m, m.engines, "tsft_cuda_module_engines") || !bind(m, m.devices, "tsft_cuda_module_devices") ||
      !bind(m, m.create, "tsft_cuda_module_engine_create"))
    m.engines = nullptr;
  return m;
}

const Module& module() {  // loaded once, on first use
  static Module m = load();
  return m;
}
bool usable(const Module& m) {
  return m.engines && m.devices && m.create;
}
}  // namespace

std::vector<std::string> cuda_module_engines() {
  if (!std::filesystem::exists(module_path())) return {};  // no dlopen just to list engines
  const Module& m = module();
  std::vector<std::string> out;
  if (!usable(m)) return out;
  std::string s = m.engines(), cur;
  for (char ch : s + ",") {
    if (ch == ',') {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
    } else {
      cur += ch;
    }
  }
  return out;
}

std::string cuda_module_describe_devices() {
  const Module& m = module();
  if (!usable(m)) return "cpu only: " + m.error + "\n";
  return m.devices();
}

std::unique_ptr<Engine> cuda_module_engine_create(const EngineSpec& spec, Model host) {
  // The CUDA engine's step has no LoRA term yet: refuse rather than silently run the base model.
  if (host.cfg.lora.r > 0)
    throw UsageError("--device cuda: LoRA adapters run on the CPU engines only so far (cpu/fp32, cpu/bf16)");
  const Module& m = module();
  if (!usable(m)) throw UsageError("--device cuda: " + m.error);
  std::string err;
  Engine* e = m.create(spec.precision.c_str(), &host, &err);
  if (!e) throw UsageError("--device cuda --precision " + spec.precision + ": " + err);
  return std::unique_ptr<Engine>(e);
}

}  // namespace tsft
