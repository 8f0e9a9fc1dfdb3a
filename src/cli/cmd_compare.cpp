// tsft compare RUN... : paired comparison of eval runs on their shared items (McNemar exact test and a
// paired bootstrap interval for the accuracy difference), per split; with --seeds, mean +- t-interval
// across runs grouped as seeds.
#include <fmt/format.h>

#include <map>
#include <set>

#include "cli/command.hpp"
#include "core/error.hpp"
#include "eval/run_eval.hpp"
#include "eval/stats.hpp"

namespace cmd_compare {
struct Opts {
  std::vector<std::string> runs;
  std::string split;
  bool seeds = false;
  int iters = 10000;
};

int run(const Opts& o) {
  TSFT_USAGE_CHECK(o.runs.size() >= 2 || (o.seeds && !o.runs.empty()), "give at least two eval run directories");
  std::vector<std::map<std::string, tsft::eval::ItemResult>> rs;
  for (auto& r : o.runs) {
    auto v = tsft::eval::eval_read_results(r + "/results.jsonl");
    TSFT_CHECK(!v.empty(), "{}/results.jsonl: no results", r);
    std::map<std::string, tsft::eval::ItemResult> m;
    for (auto& x : v)
      if (o.split.empty() || x.split == o.split) m[x.id] = x;
    rs.push_back(std::move(m));
  }
  if (o.seeds) {
    std::vector<double> accs;
    for (size_t i = 0; i < rs.size(); i++) {
      int64_t k = 0;
      for (auto& [id, x] : rs[i]) k += x.correct;
      accs.push_back(rs[i].empty() ? 0.0 : (double)k / rs[i].size());
      fmt::print("{:<40} accuracy {:.2f}% (n {})\n", o.runs[i], 100 * accs.back(), rs[i].size());
    }
    auto t = tsft::eval::stats_mean_t_interval(accs);
    fmt::print("mean over {} seeds: {:.2f}% [{:.2f}, {:.2f}] (t interval)\n", accs.size(), 100 * t.estimate, 100 * t.lo,
               100 * t.hi);
    return 0;
  }
  fmt::print("{:<28} {:<28} {:>6} {:>8} {:>8} {:>9} {:>20} {:>10}\n", "A", "B", "n", "acc A", "acc B", "A-B",
             "bootstrap 95%", "McNemar p");
  for (size_t i = 0; i < rs.size(); i++)
    for (size_t j = i + 1; j < rs.size(); j++) {
      std::vector<uint8_t> a, b;
      for (auto& [id, x] : rs[i]) {
        auto it = rs[j].find(id);
        if (it == rs[j].end()) continue;
        a.push_back(x.correct);
        b.push_back(it->second.correct);
      }
      TSFT_CHECK(!a.empty(), "{} and {} share no items", o.runs[i], o.runs[j]);
      auto mc = tsft::eval::stats_mcnemar(a, b);
      auto bs = tsft::eval::stats_paired_bootstrap_diff(a, b, o.iters, 0);
      double acc_a = 0, acc_b = 0;
      for (size_t k = 0; k < a.size(); k++) acc_a += a[k], acc_b += b[k];
      fmt::print("{:<28} {:<28} {:>6} {:>7.2f}% {:>7.2f}% {:>+8.2f} {:>9.2f} .. {:>+7.2f} {:>10.4g}\n", o.runs[i],
                 o.runs[j], a.size(), 100 * acc_a / a.size(), 100 * acc_b / b.size(), 100 * bs.estimate, 100 * bs.lo,
                 100 * bs.hi, mc.p_value);
    }
  return 0;
}

TSFT_COMMAND(compare, "compare", "Paired comparison of eval runs (McNemar, bootstrap) or across seeds", [](CLI::App& app) {
  auto o = std::make_shared<Opts>();
  app.add_option("runs", o->runs, "eval output directories (with results.jsonl)")->required();
  app.add_option("--split", o->split, "only items of this split (e.g. test, probe/P2)");
  app.add_flag("--seeds", o->seeds, "treat the runs as seeds of one arm: mean +- t interval");
  app.add_option("--bootstrap", o->iters, "bootstrap resamples")->capture_default_str();
  return [o] { return run(*o); };
});
}  // namespace cmd_compare
