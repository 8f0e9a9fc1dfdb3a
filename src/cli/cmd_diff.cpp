// tsft diff --a DIR --b DIR: per tensor and per module group, max |delta| and ||delta|| / ||a||.
#include <fmt/format.h>

#include <cmath>
#include <map>

#include "cli/command.hpp"
#include "core/error.hpp"
#include "model/model.hpp"

namespace cmd_diff {
struct Opts {
  std::string a, b;
  bool changed_only = false;
};

int run(const Opts& o) {
  tsft::Model a = tsft::model_load(o.a), b = tsft::model_load(o.b);
  struct Acc { double d2 = 0, a2 = 0, maxabs = 0; size_t changed = 0, n = 0; };
  std::map<std::string, Acc> groups;
  fmt::print("{:<52} {:>12} {:>12} {:>10}\n", "tensor", "max|d|", "|d|/|a|", "changed");
  tsft::for_each_tensor_pair(a, b, o.a, o.b, [&](const tsft::TensorEntry& e, const float* pa, const float* pb) {
    Acc t;
    for (size_t i = 0; i < e.numel; i++) {
      double d = (double)pb[i] - pa[i];
      t.d2 += d * d;
      t.a2 += (double)pa[i] * pa[i];
      t.maxabs = std::max(t.maxabs, std::fabs(d));
      t.changed += pb[i] != pa[i];
    }
    t.n = e.numel;
    for (auto* g : {&groups[tsft::group_name(e.group)], &groups["total"]}) {
      g->d2 += t.d2;
      g->a2 += t.a2;
      g->maxabs = std::max(g->maxabs, t.maxabs);
      g->changed += t.changed;
      g->n += t.n;
    }
    if (!o.changed_only || t.changed)
      fmt::print("{:<52} {:>12.4e} {:>12.4e} {:>9.1f}%\n", e.name, t.maxabs, t.a2 > 0 ? std::sqrt(t.d2 / t.a2) : 0.0,
                 100.0 * t.changed / t.n);
  });
  fmt::print("\n{:<52} {:>12} {:>12} {:>10}\n", "group", "max|d|", "|d|/|a|", "changed");
  for (auto& [g, t] : groups)
    fmt::print("{:<52} {:>12.4e} {:>12.4e} {:>9.1f}%\n", g, t.maxabs, t.a2 > 0 ? std::sqrt(t.d2 / t.a2) : 0.0,
               100.0 * t.changed / t.n);
  return 0;
}

TSFT_COMMAND(diff, "diff", "Per-tensor and per-group weight differences of two checkpoints", [](CLI::App& app) {
  auto o = std::make_shared<Opts>();
  app.add_option("--a", o->a, "first (base) model directory")->required();
  app.add_option("--b", o->b, "second (tuned) model directory")->required();
  app.add_flag("--changed-only", o->changed_only, "list only tensors that differ");
  return [o] { return run(*o); };
});
}  // namespace cmd_diff
