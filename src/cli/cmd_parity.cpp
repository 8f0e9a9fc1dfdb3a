// tsft parity --model DIR --golden FILE: forward+backward on a golden batch vs Hugging Face.
#include <fmt/format.h>

#include "cli/command.hpp"
#include "cli/engine_options.hpp"
#include "kernels/cpu/kernels.hpp"
#include "model/lora.hpp"
#include "model/parity.hpp"

namespace cmd_parity {
struct Opts {
  std::string model, golden, adapter;
  int threads = 0;
  bool verbose = false, tols_given = false;
  tsft::ParityBounds bounds;
  tsft::EngineSpec engine;
};

int run(const Opts& o) {
  tsft::kernels_init_threads(o.threads);
  tsft::Model m = tsft::model_load(o.model);
  if (!o.adapter.empty()) tsft::adapter_load(m, o.adapter);
  std::unique_ptr<tsft::Engine> e = tsft::engine_create(o.engine, std::move(m));
  // with an adapter the base is frozen: the golden file holds the adapter's gradients only
  if (!o.adapter.empty()) e->set_trainable(tsft::lora_only);
  // bf16 engines get the derived bf16 bounds unless a tolerance was given on the command line.
  tsft::ParityBounds b = o.bounds;
  if (o.engine.precision == "bf16" && !o.tols_given) b = tsft::parity_bounds_bf16(e->config());
  tsft::ParityReport r = tsft::parity_run(*e, o.golden, b);
  fmt::print("model   {} ({}, {} layers, {} params) on {}\n", o.model, e->config().model_type, e->config().L,
             e->table().count_params(), e->name());
  if (!o.adapter.empty())
    fmt::print("adapter {} (LoRA r {}, alpha {}, {} modules)\n", o.adapter, e->config().lora.r,
               e->config().lora.alpha, e->config().lora.targets.size());
  fmt::print("golden  {}\n", o.golden);
  fmt::print("logits  rel-L2 {:.3e}  max|d| {:.3e}   (bound {:.0e})\n", r.logits_rel_l2, r.logits_max_abs,
             b.logits_rel_l2);
  fmt::print("loss    {:.9f} vs {:.9f}  |d| {:.3e}   (bound {:.1e})\n", r.loss, r.golden_loss, r.loss_abs_err,
             r.loss_bound);
  fmt::print("rope    inv_freq rel {:.3e}\n", r.inv_freq_rel);
  fmt::print("grads   {} tensors, worst rel-L2 {:.3e}   (bound {:.0e})\n", r.grads.size(),
             r.worst_grad_rel_l2, b.grad_rel_l2);
  for (auto& g : r.grads)
    if (o.verbose || g.rel_l2 > b.grad_rel_l2)
      fmt::print("  {:<52} rel-L2 {:.3e}  max|d| {:.3e}{}\n", g.name, g.rel_l2, g.max_abs,
                 g.rel_l2 > b.grad_rel_l2 ? "  FAIL" : "");
  for (auto& n : r.missing) fmt::print("  {:<52} no golden gradient  FAIL\n", n);
  fmt::print("time    forward+backward {:.2f} ms\n", r.forward_backward_ms);
  fmt::print("{}\n", r.pass ? "PASS" : "FAIL");
  return r.pass ? 0 : 1;
}

TSFT_COMMAND(parity, "parity", "Compare forward+backward with a Hugging Face golden file", [](CLI::App& app) {
  auto o = std::make_shared<Opts>();
  app.add_option("--model", o->model, "HF checkpoint directory")->required();
  app.add_option("--golden", o->golden, "golden.safetensors (input_ids, labels, logits, loss, grad.*)")
      ->required();
  app.add_option("--adapter", o->adapter, "PEFT LoRA adapter directory (golden gradients: the adapter's)");
  app.add_option("--threads", o->threads, "threads (0 = all cores)");
  auto given = [o](const std::string&) { o->tols_given = true; };
  app.add_option("--logits-tol", o->bounds.logits_rel_l2, "logits relative-L2 bound (fp32 default)")
      ->capture_default_str()
      ->each(given);
  app.add_option("--loss-tol", o->bounds.loss_abs, "loss absolute bound (< 0: 2 max|d logits|)")
      ->capture_default_str()
      ->each(given);
  app.add_option("--grad-tol", o->bounds.grad_rel_l2, "per-gradient relative-L2 bound (fp32 default)")
      ->capture_default_str()
      ->each(given);
  app.add_flag("-v,--verbose", o->verbose, "print every gradient's error");
  tsft::cli::add_engine_options(app, o->engine);
  return [o] { return run(*o); };
});
}  // namespace cmd_parity
