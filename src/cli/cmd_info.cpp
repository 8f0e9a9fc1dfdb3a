// tsft info --model DIR: architecture, parameters per module group, training memory estimate.
// tsft info --devices: the CUDA devices this build can use (or why there are none).
#include <fmt/format.h>

#include <map>

#include "cli/command.hpp"
#include "cli/engine_options.hpp"
#include "core/error.hpp"
#include "model/engine_module.hpp"
#include "model/lora.hpp"
#include "model/transformer.hpp"

namespace cmd_info {
struct Opts {
  std::string model;
  int batch = 8, seq = 512;
  tsft::LoraOptions lora;
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

// With --lora-rank: the adapter attached as tsft train would, then the engine's own counts (the base is
// frozen: gradients and AdamW moments exist for the adapter only).
int print_lora(tsft::Model& m, const Opts& o) {
  tsft::lora_attach(m, tsft::lora_config_make(o.lora, m.table, m.cfg.L, m.cfg.tie_word_embeddings), 0);
  const tsft::LoraConfig lc = m.cfg.lora;
  auto e = tsft::engine_create({}, std::move(m));
  e->set_trainable(tsft::lora_only);
  const size_t n = e->table().count_params(true);
  const double act = (double)e->workspace_bytes(o.batch, o.seq, true), w = (double)e->weight_bytes();
  fmt::print(
      "LoRA r {} alpha {} scale {:.4g}{} on '{}': {} modules, {} adapter parameters ({:.3f}% of the base)\n",
      lc.r, lc.alpha, lc.scale(), lc.rslora ? " (rsLoRA)" : "", o.lora.targets, lc.targets.size(), n,
      100.0 * n / (e->table().count_params() - n));
  fmt::print("training memory, fp32, LoRA, batch {} x {} tokens:\n", o.batch, o.seq);
  fmt::print("  weights {}  gradients {}  AdamW moments {}  activations {}  total {}\n", human(w),
             human(n * 4.0), human(n * 8.0), human(act), human(w + (double)e->gradient_bytes() + act));
  fmt::print("  optimizer state {} bytes = adapter {} parameters x 2 moments x 4 bytes\n",
             e->gradient_bytes() - n * 4, n);
  return 0;
}

int run(Opts o) {
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
  tsft::for_each_tensor(m,
                        [&](const tsft::TensorEntry& e, auto) { per[tsft::group_name(e.group)] += e.numel; });
  size_t total = m.table.count_params();
  fmt::print("parameters   {} total\n", total);
  for (auto g : {"embed", "attn", "mlp", "norm", "head"})
    fmt::print("  {:<6} {:>14}  {:5.1f}%\n", g, per[g], 100.0 * per[g] / total);
  double p = total * 4.0;
  double act = (double)tsft::activations_bytes(c, o.batch, o.seq, true);
  fmt::print("training memory, fp32, full fine-tuning, batch {} x {} tokens:\n", o.batch, o.seq);
  fmt::print("  weights {}  gradients {}  AdamW moments {}  activations {}  total {}\n", human(p), human(p),
             human(2 * p), human(act), human(4 * p + act));
  if (o.lora.on()) return print_lora(m, o);
  return 0;
}

TSFT_COMMAND(
    info, "info", "Architecture, parameter counts per module group, memory estimate", [](CLI::App& app) {
      auto o = std::make_shared<Opts>();
      app.add_option("--model", o->model, "HF checkpoint directory");
      app.add_flag("--devices", o->devices, "list the CUDA devices (or say why there are none)");
      app.add_option("--batch", o->batch, "rows per step for the memory estimate")->capture_default_str();
      app.add_option("--seq", o->seq, "tokens per row for the memory estimate")->capture_default_str();
      tsft::cli::add_lora_options(app, o->lora);
      return [o] { return run(*o); };
    });
}  // namespace cmd_info
