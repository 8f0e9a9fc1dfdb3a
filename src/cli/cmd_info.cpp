// tsft info --model DIR: architecture, parameters per module group, training memory estimate.
// tsft info --devices: the CUDA devices this build can use (or why there are none).
#include <fmt/format.h>

#include <map>

#include "cli/command.hpp"
#include "core/error.hpp"
#include "model/engine_module.hpp"
#include "model/transformer.hpp"

namespace {
struct Opts {
  std::string model;
  int batch = 8, seq = 512;
  bool devices = false;
};

std::string human(double bytes) {
  const char* u[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int i = 0;
  while (bytes >= 1024 && i < 4) bytes /= 1024, i++;
  return fmt::format("{:.1f} {}", bytes, u[i]);
}

int run_devices() {
  fmt::print("{}", tsft::cuda_module_describe_devices());
  std::string names;
  for (auto& n : tsft::engine_available()) names += " " + n;
  fmt::print("engines:{}\n", names);
  return 0;
}

int run(const Opts& o) {
  if (o.devices) return run_devices();
  TSFT_USAGE_CHECK(!o.model.empty(), "tsft info needs --model DIR or --devices");
  tsft::Model m = tsft::model_load(o.model);
  const auto& c = m.cfg;
  fmt::print("model        {}\n", o.model);
  fmt::print("architecture {}  L={} C={} F={} H={} KV={} D={} V={}\n", c.model_type, c.L, c.C, c.F, c.H, c.KV,
             c.D, c.V);
  fmt::print("rope         theta {} {}  max_position {}\n", c.rope.theta,
             c.rope.type == tsft::RopeType::llama3 ? "llama3-scaled" : "standard", c.max_position);
  fmt::print("options      qkv_bias {} o_bias {} mlp_bias {} qk_norm {} tied {} dtype {}\n", c.qkv_bias,
             c.o_bias, c.mlp_bias, c.qk_norm, c.tie_word_embeddings, c.dtype);
  std::map<std::string, size_t> per;
  tsft::for_each_tensor(m, [&](const tsft::TensorEntry& e, auto) { per[tsft::group_name(e.group)] += e.numel; });
  size_t total = m.table.count_params();
  fmt::print("parameters   {} total\n", total);
  for (auto g : {"embed", "attn", "mlp", "norm", "head"})
    fmt::print("  {:<6} {:>14}  {:5.1f}%\n", g, per[g], 100.0 * per[g] / total);
  double p = total * 4.0;
  double act = (double)tsft::activations_bytes(c, o.batch, o.seq, true);
  fmt::print("training memory, fp32, full fine-tuning, batch {} x {} tokens:\n", o.batch, o.seq);
  fmt::print("  weights {}  gradients {}  AdamW moments {}  activations {}  total {}\n", human(p), human(p),
             human(2 * p), human(act), human(4 * p + act));
  return 0;
}
}  // namespace

TSFT_COMMAND(info, "info", "Architecture, parameter counts per module group, memory estimate", [](CLI::App& app) {
  auto o = std::make_shared<Opts>();
  app.add_option("--model", o->model, "HF checkpoint directory");
  app.add_flag("--devices", o->devices, "list the CUDA devices (or say why there are none)");
  app.add_option("--batch", o->batch, "rows per step for the memory estimate")->capture_default_str();
  app.add_option("--seq", o->seq, "tokens per row for the memory estimate")->capture_default_str();
  return [o] { return run(*o); };
});
