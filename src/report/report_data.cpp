#include "report/report_data.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <set>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/jsonl.hpp"
#include "theorems/generate.hpp"

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace tsft {

bool ReportRun::capped_improving() const {
  if (!summary.is_object() || summary.value("stop_reason", std::string()) != "steps") return false;
  if (selection.is_object() && !selection["checkpoints"].empty())
    return selection["selected"] == selection["checkpoints"].back()["checkpoint"];
  int64_t best = summary.value("best_step", (int64_t)0), steps = summary.value("steps", (int64_t)0);
  return best > 0 && best == steps;
}

const ReportRun* ReportData::find(const std::string& arm, int b, int s) const {
  for (auto& r : runs)
    if (arm == "base" ? r.sup == "base" && r.base_seed == b
                      : r.arm() == arm && r.base_seed == b && r.sft_seed == s)
      return &r;
  return nullptr;
}

std::vector<std::pair<int, int>> ReportData::run_keys() const {
  std::vector<std::pair<int, int>> k;
  for (auto& r : runs)
    if (r.sup != "base" && !std::count(k.begin(), k.end(), std::pair{r.base_seed, r.sft_seed}))
      k.push_back({r.base_seed, r.sft_seed});
  return k;
}

namespace {

void load_run(const std::string& dir, ReportRun& r) {
  std::string ev = dir + "/eval/" + r.name;
  r.items = eval::eval_read_results(ev + "/results.jsonl");
  TSFT_CHECK(fs::exists(ev + "/metrics.json"),
             "{}/metrics.json: missing (the eval stage writes it; rerun the experiment)", ev);
  r.metrics = json_read_file(ev + "/metrics.json");
  const std::string tn = r.train_name.empty() ? r.name : r.train_name;
  // The trainer's log: a run killed mid-append leaves a torn last line; a run never trained has none.
  jsonl_for_each(dir + "/train/" + tn + "/metrics.jsonl",
                 [&](JsonlRecord& rec) {
                   const json& m = rec.value;
                   if (!m.is_object() || !m.contains("step")) return;
                   if (m.contains("loss"))
                     r.curve.push_back({m["step"].get<double>(), m["loss"].get<double>()});
                   if (m.contains("val_loss"))
                     r.val_curve.push_back({m["step"].get<double>(), m["val_loss"].get<double>()});
                 },
                 {JsonlTail::kDropTorn, true});
  if (fs::exists(dir + "/train/" + tn + "/summary.json"))
    r.summary = json_read_file(dir + "/train/" + tn + "/summary.json");
  if (fs::exists(dir + "/select/" + tn + ".json"))
    r.selection = json_read_file(dir + "/select/" + tn + ".json");
}

// P3's magnitudes are drilled when the generic drills run and their operand bound (gen_corpus: drill_max,
// or the largest scalable range end times the larger scale, clamped to [12, 150]) reaches the largest
// P3 operand (range end x magnitude_scale).
bool p3_drilled(const World& w) {
  const GenConfig& g = w.config();
  if (g.corpus_drill_repeats <= 0) return false;
  long need = 0, derived = 0;
  for (int t : w.active())
    for (auto& sl : w.catalog().theorems[t].slots)
      if (sl.scale) {
        need = std::max<long>(need, (long)(std::abs(sl.hi) * g.magnitude_scale));
        derived =
            std::max<long>(derived, (long)(std::abs(sl.hi) * std::max(g.range_scale, g.magnitude_scale)));
      }
  long bound = g.corpus_drill_max > 0 ? g.corpus_drill_max : std::clamp<long>(derived, 12, 150);
  return bound >= need;
}

// The declared pools, resolved for this world: P3 joins when generic drills cover its magnitudes, the
// counterfactual split joins C1 when two active theorems are confusable; probes the world lacks drop out.
void resolve_pools(ReportData& d) {
  GenConfig g = gen_config_load(d.dir + "/config.toml");
  std::set<std::string> present;
  for (auto& r : d.runs)
    for (auto& x : r.items)
      if (!x.probe.empty()) present.insert(x.probe);
  Catalog cat = catalog_load(g.catalog_dir.empty() ? catalog_default_dir() : g.catalog_dir);
  World w(cat, g);
  std::vector<std::string> pool = d.claims.pool;
  if (d.claims.p3 == "in" || (d.claims.p3 == "if_drilled" && p3_drilled(w))) pool.push_back("P3");
  for (auto& p : pool)
    if (present.count(p)) d.c2b_pool.push_back(p);
  d.c1_pool = d.c2b_pool;
  bool confusable = false;
  for (int t : w.active()) {
    int o = cat.theorem_index(cat.theorems[t].confusable);
    confusable |= o >= 0 && std::count(w.active().begin(), w.active().end(), o);
  }
  d.counterfactual_in_c1 =
      d.claims.counterfactual == "in" || (d.claims.counterfactual == "if_confusable" && confusable);
}

// [real_data]: the declared pool over the probes present (GSM-Plus variants, experiment/real_roles.hpp);
// nothing drills magnitudes, so P3 only when [claims] p3 = "in"; no counterfactual split.
void resolve_real_pools(ReportData& d) {
  std::set<std::string> present;
  for (auto& r : d.runs)
    for (auto& x : r.items)
      if (!x.probe.empty() && !x.parent_id.empty()) present.insert(x.probe);
  std::vector<std::string> pool = d.claims.pool;
  if (d.claims.p3 == "in") pool.push_back("P3");
  for (auto& p : pool)
    if (present.count(p)) d.c2b_pool.push_back(p);
  d.c1_pool = d.c2b_pool;
}

void load_test_seen(ReportData& d) {
  jsonl_for_each(d.dir + "/gen/problems/test.jsonl",
                 [&](JsonlRecord& rec) {
                   const json& j = rec.value;
                   if (j.is_object() && j.contains("values_seen_in_train"))
                     d.test_seen[j["id"]] = j["values_seen_in_train"].get<bool>();
                 },
                 {JsonlTail::kStrict, true});
}

}  // namespace

ReportData report_load(const std::string& dir) {
  ReportData d;
  d.dir = dir;
  d.experiment = json_read_file(dir + "/experiment.json");
  d.budget = d.experiment.value("budget", std::string("steps"));
  const json& cfg = d.experiment["config"];
  d.claims = claims_from_json(cfg.contains("claims") ? cfg["claims"] : json(nullptr), dir + "/config.toml");
  for (auto& bj : d.experiment["bases"]) {
    ReportRun r;
    r.name = bj["name"];
    r.sup = "base";
    r.trainable = "none";
    r.base_seed = bj["base_seed"];
    load_run(dir, r);
    d.runs.push_back(std::move(r));
  }
  for (auto& rj : d.experiment["runs"]) {
    ReportRun r;
    r.name = rj["name"];
    r.sup = rj["supervision"];
    r.trainable = rj["trainable"];
    r.base_seed = rj["base_seed"];
    r.sft_seed = rj["sft_seed"];
    r.train_name = rj.value("train_name", r.name);
    load_run(dir, r);
    d.runs.push_back(std::move(r));
  }
  for (auto& r : d.runs)
    for (auto& x : r.items) r.by_id[x.id] = &x;
  d.real = cfg.contains("real_data");
  if (d.real)
    resolve_real_pools(d);
  else
    resolve_pools(d);
  load_test_seen(d);
  return d;
}

}  // namespace tsft
