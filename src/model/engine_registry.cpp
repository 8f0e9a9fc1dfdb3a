// The engine factory: "device/precision" -> engine. CPU engines are linked in; the CUDA engine lives
// in a module loaded on demand (engine_module.cpp), so CPU commands never load the CUDA libraries.
#include <algorithm>

#include "core/error.hpp"
#include "model/engine_cpu.hpp"
#include "model/engine_module.hpp"

namespace tsft {

namespace {
struct Entry {
  const char* name;
  std::unique_ptr<Engine> (*make)(Model);
};
const std::vector<Entry>& builtin() {
  static const std::vector<Entry> e = {
      {"cpu/fp32", engine_cpu_fp32}, {"cpu/fp32-ref", engine_cpu_fp32_ref}, {"cpu/bf16", engine_cpu_bf16}};
  return e;
}
}  // namespace

EngineSpec engine_spec_parse(const std::string& device, const std::string& precision) {
  TSFT_USAGE_CHECK(device == "cpu" || device == "cuda", "unknown --device '{}' (cpu, cuda)", device);
  TSFT_USAGE_CHECK(precision == "fp32" || precision == "fp32-ref" || precision == "bf16",
                   "unknown --precision '{}' (fp32, fp32-ref, bf16)", precision);
  return {device, precision};
}

std::vector<std::string> engine_available() {
  std::vector<std::string> names;
  for (auto& e : builtin()) names.push_back(e.name);
  for (auto& n : cuda_module_engines()) names.push_back(n);
  return names;
}

std::unique_ptr<Engine> engine_create(const EngineSpec& spec, Model host) {
  engine_spec_parse(spec.device, spec.precision);
  const std::string name = spec.name();
  for (auto& e : builtin())
    if (name == e.name) return e.make(std::move(host));
  if (spec.device == "cuda") return cuda_module_engine_create(spec, std::move(host));
  std::string avail;
  for (auto& n : engine_available()) avail += (avail.empty() ? "" : ", ") + n;
  throw UsageError("no engine '" + name + "' in this build (available: " + avail + ")");
}

Model engine_download(const Engine& e) {
  Model host = model_create(e.config());
  e.download(host);
  return host;
}

}  // namespace tsft
