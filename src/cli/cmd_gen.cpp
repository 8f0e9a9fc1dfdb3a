// tsft gen: theorem catalog + [gen] config -> problems JSONL per split and probe type, corpus, manifest.
#include <fmt/format.h>

#include <cstdio>
#include <iostream>

#include "cli/command.hpp"
#include "core/error.hpp"
#include "theorems/generate.hpp"
#include "theorems/render.hpp"

namespace tsft::cli {
namespace cmd_gen {

struct GenOpts {
  std::string config, out, catalog, format;
  long seed = -1;
  bool corpus = false, list = false;
  long show = 0;
};

World make_world(const GenOpts& o) {
  GenConfig cfg = o.config.empty() ? GenConfig() : gen_config_load(o.config);
  if (o.seed >= 0) cfg.seed = (uint64_t)o.seed;
  if (!o.format.empty()) cfg.format = o.format;
  if (!o.catalog.empty()) cfg.catalog_dir = o.catalog;
  Catalog cat = catalog_load(cfg.catalog_dir.empty() ? catalog_default_dir() : cfg.catalog_dir);
  return World(std::move(cat), std::move(cfg));
}

void print_list(const World& w) {
  const auto& cat = w.catalog();
  fmt::print("{} theorems (catalog hash {})\n", cat.theorems.size(), cat.hash);
  for (auto& th : cat.theorems) {
    fmt::print("\n{} [{}] {}\n  {}\n", th.id, th.domain, th.name, th.statement);
    for (size_t k = 0; k < th.premises.size(); ++k)
      fmt::print("  premise{}: {}\n", (int)k == th.violation_premise ? " (P8 breaks this)" : "",
                 th.premises[k]);
    std::string slots;
    for (auto& s : th.slots) slots += fmt::format("{}{}={}", slots.empty() ? "" : ", ", s.name, s.role);
    fmt::print("  slots: {}  target: {}  templates: {}\n", slots, th.target, th.templates.size());
    int t = w.catalog().theorem_index(th.id);
    for (auto& p : w.config().probes) {
      std::string why;
      if (!w.probe_supported(t, p, &why)) fmt::print("  {} not applicable: {}\n", p, why);
    }
  }
}

void print_show(const World& w, long n) {
  long shown = 0;
  for (long i = 0; shown < n && i < 100000; ++i) {
    Recipe r = w.draw("test", i, 0);
    if (!r.drop_slot.empty() || r.violate) continue;
    Problem p = w.realize(r);
    p.id = fmt::format("test-{:07d}", i);
    p.split = "test";
    auto j = problem_to_json(p);
    fmt::print("==================== {} [{}] ====================\n", p.id, p.family);
    fmt::print("PROMPT:\n{}\nANSWER: {}\n", p.question, p.answer);
    for (auto& a : render_arm_names())
      fmt::print("\n--- arm {} ---\n{}\n", a, render_target(j, render_parse_arm(a)));
    for (auto& type : w.config().probes) {
      Recipe pr;
      bool ok = false;
      for (int a = 0; a < 24 && !ok; ++a) {
        if (!w.probe(r, type, a, pr)) continue;
        Problem q = w.realize(pr);
        ok = q.question != p.question && (type != "P12" || q.answer != p.answer);
        if (ok) {
          auto qj = problem_to_json(q);
          fmt::print("\n--- probe {} ---\n{}\nANSWER: {}\n", type, q.question, q.answer);
          if (type == "P8" || type == "P9" || type == "P6")
            fmt::print("theorem-arm target:\n{}\n", render_target(qj, Arm::kTheorem));
        }
      }
      if (!ok) {
        std::string why = "no variant found";
        w.probe_supported(r.parts.back().th, type, &why);
        fmt::print("\n--- probe {} --- (n/a: {})\n", type, why);
      }
    }
    fmt::print("\n");
    ++shown;
  }
}

Action setup(CLI::App& app) {
  auto o = std::make_shared<GenOpts>();
  app.add_option("--config", o->config, "TOML file with a [gen] table (or a bare gen table)");
  app.add_option("--out", o->out, "output directory (problems/*.jsonl, corpus.jsonl, manifest.json)");
  app.add_option("--catalog", o->catalog, "catalog directory (default: data/theorems of the source tree)");
  app.add_option("--seed", o->seed, "override gen.seed");
  app.add_option("--format", o->format, "open | mc (multiple choice; enables P12)")
      ->check(CLI::IsMember({"open", "mc"}));
  app.add_flag("--corpus", o->corpus, "also write the pre-training corpus (corpus.jsonl)");
  app.add_flag("--list-theorems", o->list, "print the catalog and exit");
  app.add_option("--show", o->show, "print N test problems with all arms and their probe variants");
  return [o]() {
    World w = make_world(*o);
    if (o->list) {
      print_list(w);
      return 0;
    }
    if (o->show > 0) {
      print_show(w, o->show);
      return 0;
    }
    TSFT_USAGE_CHECK(!o->out.empty(), "--out DIR is required (or --list-theorems / --show N)");
    auto man = gen_run(w, o->out, o->corpus);
    for (auto& [k, v] : man["counts"].items()) fmt::print("{:<22} {:>9}\n", k, v.value("total", 0));
    fmt::print("wrote {}/manifest.json\n", o->out);
    return 0;
  };
}

TSFT_COMMAND(gen, "gen", "generate theorem-world problems, probes and the pre-training corpus", setup);

}  // namespace cmd_gen
}  // namespace tsft::cli
