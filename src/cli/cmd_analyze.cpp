// tsft analyze --base DIR --tuned DIR [--out DIR]: weight-change localization and delta transplants.
#include <fmt/format.h>

#include <filesystem>

#include "analysis/analysis.hpp"
#include "cli/command.hpp"
#include "core/fs.hpp"

namespace cmd_analyze {
struct Opts {
  std::string base, tuned, out;
  std::vector<std::string> transplant = {"mlp", "attn"};
};

int run(const Opts& o) {
  tsft::Model base = tsft::model_load(o.base), tuned = tsft::model_load(o.tuned);
  nlohmann::json j = tsft::analysis_weight_deltas(base, tuned);
  fmt::print("{:<8} {:>12} {:>14}\n", "group", "params", "|dW|/|W|");
  for (auto& [g, v] : j["groups"].items())
    fmt::print("{:<8} {:>12} {:>14.4e}\n", g, v["params"].get<size_t>(), v["rel_change"].get<double>());
  fmt::print("\nper layer |dW|/|W|:\n{:<6} {:>12} {:>12} {:>12}\n", "layer", "attn", "mlp", "norm");
  for (auto& row : j["layers"])
    fmt::print("{:<6} {:>12.4e} {:>12.4e} {:>12.4e}\n", row["layer"].get<int>(), row.value("attn", 0.0),
               row.value("mlp", 0.0), row.value("norm", 0.0));
  if (!o.out.empty()) {
    std::filesystem::create_directories(o.out);
    tsft::fs_write_atomic(o.out + "/deltas.json", j.dump(2) + "\n");
    for (auto& g : o.transplant) {
      tsft::Model t = tsft::analysis_transplant(base, tuned, g);
      std::string dir = o.out + "/transplant-" + g;
      tsft::model_save(t, dir, o.tuned);
      fmt::print("wrote {} (base + delta of {} tensors)\n", dir, g);
    }
  }
  return 0;
}

TSFT_COMMAND(analyze, "analyze", "Where the fine-tuning change lives: weight deltas and delta transplants",
             [](CLI::App& app) {
               auto o = std::make_shared<Opts>();
               app.add_option("--base", o->base, "base model directory")->required();
               app.add_option("--tuned", o->tuned, "fine-tuned model directory")->required();
               app.add_option("--out", o->out, "write deltas.json and transplanted models here");
               app.add_option("--transplant", o->transplant, "groups to transplant (mlp, attn, 'mlp+norm', ...)")
                   ->capture_default_str();
               return [o] { return run(*o); };
             });
}  // namespace cmd_analyze
