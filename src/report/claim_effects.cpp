#include "report/claim_effects.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>

namespace tsft {

namespace {

using Item = eval::ItemResult;
using Keep = std::function<bool(const Item&)>;

// One effect: the arms it reads (each item is looked up in every arm of the same run), which items
// count, the additive components of an item (given its result in each arm, and that arm's run), and
// the statistic of the component totals.
struct Spec {
  std::vector<std::string> arms;  // "base" = the run's base model
  Keep keep;
  std::function<bool(const std::vector<const Item*>&, const std::vector<const ReportRun*>&,
                     std::vector<double>&)>
      comps;
  double (*stat)(const std::vector<double>&);
};

std::string cluster_of(const Item& x) {
  return x.parent_id.empty() ? x.id : x.parent_id;
}

// Rows of one run, one per parent problem; empty when an arm is missing.
Clustered run_rows(const ReportData& d, const Spec& sp, int b, int s) {
  std::vector<const ReportRun*> rs;
  for (auto& a : sp.arms) rs.push_back(d.find(a, b, s));
  Clustered c;
  if (std::count(rs.begin(), rs.end(), nullptr)) return c;
  std::map<std::string, std::vector<double>> by;
  std::vector<const Item*> its(rs.size());
  for (auto& x : rs[0]->items) {
    if (!sp.keep(x)) continue;
    bool all = true;
    for (size_t k = 0; k < rs.size() && all; k++) {
      auto it = rs[k]->by_id.find(x.id);
      all = it != rs[k]->by_id.end();
      if (all) its[k] = it->second;
    }
    std::vector<double> v;
    if (!all || !sp.comps(its, rs, v)) continue;
    auto& row = by[cluster_of(x)];
    if (row.empty()) row.assign(v.size(), 0.0);
    for (size_t j = 0; j < v.size(); j++) row[j] += v[j];
  }
  for (auto& [k, v] : by) c.rows.push_back(std::move(v));
  return c;
}

Effect over_runs(const ReportData& d, const Spec& sp, std::vector<double>& per_run) {
  std::vector<Clustered> cs;
  long n = 0;
  for (auto [b, s] : d.run_keys()) {
    Clustered c = run_rows(d, sp, b, s);
    if (c.rows.empty()) continue;
    Effect e = cluster_bootstrap(c, sp.stat, 0, 0);
    if (!std::isfinite(e.est)) continue;
    per_run.push_back(e.est);
    n += (long)c.rows.size();
    cs.push_back(std::move(c));
  }
  Effect within;
  if (cs.size() == 1) within = cluster_bootstrap(cs[0], sp.stat, d.claims.bootstrap_reps, 12);
  return summarize_runs(per_run, within, n);
}

double ratio_diff(const std::vector<double>& s) {
  return s[2] > 0 ? (s[0] - s[1]) / s[2] : std::nan("");
}
double ratio(const std::vector<double>& s) {
  return s[0] > 0 ? s[1] / s[0] : std::nan("");
}
double drop_diff(const std::vector<double>& s) {
  return s[0] > 0 && s[2] > 0 ? s[1] / s[0] - s[3] / s[2] : std::nan("");
}
double gain(const std::vector<double>& s) {
  return s[3] > 0 ? (s[1] - s[2]) / s[3] : std::nan("");
}
double recovered(const std::vector<double>& s) {
  return s[1] != s[2] ? (s[0] - s[2]) / (s[1] - s[2]) : std::nan("");
}

bool in(const std::vector<std::string>& v, const std::string& x) {
  return std::count(v.begin(), v.end(), x) > 0;
}

// Accuracy difference arms[0] - arms[1] on the items `keep` selects.
Spec acc_diff(std::string a, std::string b, Keep keep) {
  return {{a, b},
          keep,
          [](auto& its, auto&, std::vector<double>& v) {
            v = {(double)its[0]->correct, (double)its[1]->correct, 1.0};
            return true;
          },
          ratio_diff};
}

// Conditional drop components of arm k: (parent right, parent right and variant wrong).
bool drop_comps(const Item& x, const ReportRun& r, std::vector<double>& v) {
  auto p = r.by_id.find(x.parent_id);
  if (p == r.by_id.end()) return false;
  v.push_back(p->second->correct);
  v.push_back(p->second->correct && !x.correct);
  return true;
}

std::vector<std::string> capped(const ReportData& d, const std::vector<std::string>& arms) {
  std::vector<std::string> out;
  for (auto& r : d.runs)
    if (in(arms, r.arm()) && r.capped_improving()) out.push_back(r.name);
  return out;
}

// Arms (of `arms`) whose mean training-problem accuracy over runs is below the declared floor.
std::vector<std::string> unfit(const ReportData& d, const std::vector<std::string>& arms) {
  std::vector<std::string> out;
  for (auto& a : arms) {
    double sum = 0;
    int n = 0;
    for (auto& r : d.runs)
      if (r.arm() == a && r.metrics["by_split"].contains("train"))
        sum += r.metrics["by_split"]["train"]["accuracy"].get<double>(), n++;
    if (n > 0 && sum / n < d.claims.min_fit) out.push_back(a + fmt::format(" ({:.0f}%)", 100 * sum / n));
  }
  return out;
}

Guards guards(const ReportData& d, const std::string& a, const std::string& b) {
  Guards g;
  g.capped_improving = capped(d, {a, b});
  g.unfit = unfit(d, {a, b});
  g.min_fit_items = d.claims.min_fit_items;
  std::vector<double> pr;
  g.fit = over_runs(d, acc_diff(a, b, [](const Item& x) { return x.split == "train"; }), pr);
  g.fit_measured = g.fit.defined();
  return g;
}

std::string effect_text(const Effect& e, const std::string& what, bool fraction = false) {
  if (!e.defined()) return what + " not measured";
  if (fraction)
    return fmt::format("{} {:.0f}% [{:.0f}%, {:.0f}%]", what, 100 * e.est, 100 * e.lo, 100 * e.hi);
  return fmt::format("{} = {:+.1f} points [{:+.1f}, {:+.1f}]", what, 100 * e.est, 100 * e.lo, 100 * e.hi);
}

// Cue reversal (reported beside C1 where the world has confusable theorems): i.i.d. accuracy minus
// counterfactual accuracy of one arm; separate items, each its own cluster.
Spec cue_drop(const std::string& arm) {
  return {{arm},
          [](const Item& x) { return x.split == "test" || x.split == "counterfactual"; },
          [](auto& its, auto&, std::vector<double>& v) {
            bool t = its[0]->split == "test";
            v = {t ? (double)its[0]->correct : 0, t ? 1.0 : 0, t ? 0 : (double)its[0]->correct, t ? 0 : 1.0};
            return true;
          },
          [](const std::vector<double>& s) {
            return s[1] > 0 && s[3] > 0 ? s[0] / s[1] - s[2] / s[3] : std::nan("");
          }};
}

// [real_data]: a claim whose items no declared eval set provides is "not applicable", with the reason
// (C2a/C3 need an in_distribution set; C1/C2b need probe variants whose parents are eval items).
void real_applicability(const ReportData& d, std::vector<ClaimResult>& out) {
  bool test = false, pairs = false;
  for (auto& r : d.runs)
    for (auto& x : r.items) {
      test |= x.split == "test";
      pairs |= !x.parent_id.empty() && in(d.c1_pool, x.probe) && r.by_id.count(x.parent_id);
    }
  for (auto& c : out) {
    bool probes = c.id == "C1" || c.id == "C2b";
    if (probes ? pairs : test) continue;
    c.decision = {"not applicable",
                  probes
                      ? "no probe variants: no eval set declared \"probes\" in [real_data] eval_roles has "
                        "variants (in the claim pool) whose originals are items of an \"in_distribution\" set"
                      : "no in-distribution items: no eval set is declared \"in_distribution\" in "
                        "[real_data] eval_roles",
                  false};
  }
}

// What every claim's decision uses: the report's data, the number of runs, the item sets (C1's and C2b's
// probe pools, the i.i.d. test) and the effect rows over runs.
struct ClaimCtx {
  const ReportData& d;
  const ClaimsConfig& c;
  int runs;
  Keep c1, c2b, test;

  explicit ClaimCtx(const ReportData& data)
      : d(data),
        c(data.claims),
        runs((int)data.run_keys().size()),
        c1([&data](const Item& x) { return !x.parent_id.empty() && in(data.c1_pool, x.probe); }),
        c2b([&data](const Item& x) { return !x.parent_id.empty() && in(data.c2b_pool, x.probe); }),
        test([](const Item& x) { return x.split == "test"; }) {}

  EffectRow row(const std::string& label, const Spec& sp, double margin, bool frac = false) const {
    EffectRow r{label, {}, margin, frac, {}};
    r.e = over_runs(d, sp, r.per_run);
    return r;
  }
  // vanilla:all's conditional drop minus theorem:all's, on the items `k` keeps
  static Spec drop_difference(Keep k) {
    return Spec{{"vanilla:all", "theorem:all"},
                std::move(k),
                [](auto& its, auto& rs, std::vector<double>& v) {
                  return drop_comps(*its[0], *rs[0], v) && drop_comps(*its[1], *rs[1], v);
                },
                drop_diff};
  }
};

ClaimResult decide_c1(const ClaimCtx& x) {
  ClaimResult r{"C1", "brittleness: vanilla's conditional drop on the valid probes", {}, {}};
  Spec vdrop{{"vanilla:all"},
             x.c1,
             [](auto& its, auto& rs, std::vector<double>& v) { return drop_comps(*its[0], *rs[0], v); },
             ratio};
  r.rows.push_back(x.row("C1 vanilla:all conditional drop", vdrop, x.c.c1_margin));
  r.rows.push_back(x.row("C1 vanilla - theorem conditional drop", ClaimCtx::drop_difference(x.c1), 0));
  Decision dd = rule_exceeds(r.rows[0].e, x.c.c1_margin, "vanilla:all conditional drop");
  dd.reason += "; compared: " + effect_text(r.rows[1].e, "vanilla - theorem conditional drop");
  if (x.d.counterfactual_in_c1) {
    r.rows.push_back(
        x.row("C1 vanilla:all cue reversal (i.i.d. - counterfactual)", cue_drop("vanilla:all"), 0));
    dd.reason += "; beside it, " + effect_text(r.rows.back().e, "vanilla's i.i.d. - counterfactual accuracy");
  }
  Guards g;
  g.capped_improving = capped(x.d, {"vanilla:all"});
  g.compare_fit = false;  // C1 decides on vanilla alone
  g.unfit = unfit(x.d, {"vanilla:all"});
  r.decision = apply_guards(dd, g, x.c.fit_margin, x.runs);
  return r;
}

ClaimResult decide_c2a(const ClaimCtx& x) {
  ClaimResult r{"C2a", "in-distribution: theorem - vanilla on the i.i.d. test (non-inferiority)", {}, {}};
  const double m = -x.c.c2a_margin;
  r.rows.push_back(
      x.row("C2a theorem - vanilla, i.i.d. test", acc_diff("theorem:all", "vanilla:all", x.test), m));
  const ReportData& d = x.d;
  auto seen = [&d](bool want) {
    return [&d, want](const Item& it) {
      auto s = d.test_seen.find(it.id);
      return it.split == "test" && s != d.test_seen.end() && s->second == want;
    };
  };
  r.rows.push_back(
      x.row("C2a ... values seen in SFT train", acc_diff("theorem:all", "vanilla:all", seen(true)), m));
  r.rows.push_back(x.row("C2a ... values unseen", acc_diff("theorem:all", "vanilla:all", seen(false)), m));
  Decision dd = rule_not_worse(r.rows[0].e, x.c.c2a_margin, "theorem - vanilla on the i.i.d. test");
  r.decision = apply_guards(dd, guards(d, "theorem:all", "vanilla:all"), x.c.fit_margin, x.runs);
  return r;
}

ClaimResult decide_c2b(const ClaimCtx& x) {
  ClaimResult r{"C2b", "generalization: theorem - vanilla on the valid probes", {}, {}};
  const double m = x.c.c2b_margin;
  r.rows.push_back(
      x.row("C2b theorem - vanilla variant accuracy", acc_diff("theorem:all", "vanilla:all", x.c2b), m));
  r.rows.push_back(x.row("C2b vanilla - theorem conditional drop", ClaimCtx::drop_difference(x.c2b), m));
  Decision dd = rule_both(rule_exceeds(r.rows[0].e, m, "theorem - vanilla variant accuracy"),
                          rule_exceeds(r.rows[1].e, m, "vanilla - theorem conditional drop"));
  r.decision = apply_guards(dd, guards(x.d, "theorem:all", "vanilla:all"), x.c.fit_margin, x.runs);
  return r;
}

ClaimResult decide_c3(const ClaimCtx& x) {
  ClaimResult r{"C3", "localization: MLP-only recovers the all-layer gain over the base", {}, {}};
  Keep c2b = x.c2b;
  Keep items = [c2b](const Item& it) { return it.split == "test" || c2b(it); };
  auto spec3 = [&](const std::string& part, double (*stat)(const std::vector<double>&)) {
    return Spec{{part, "theorem:all", "base"},
                items,
                [](auto& its, auto&, std::vector<double>& v) {
                  v = {(double)its[0]->correct, (double)its[1]->correct, (double)its[2]->correct, 1.0};
                  return true;
                },
                stat};
  };
  const ClaimsConfig& c = x.c;
  r.rows.push_back(
      x.row("C3 fraction of the gain, theorem:mlp", spec3("theorem:mlp", recovered), c.c3_fraction, true));
  r.rows.push_back(
      x.row("C3 fraction of the gain, theorem:attn", spec3("theorem:attn", recovered), c.c3_fraction, true));
  r.rows.push_back(x.row("C3 theorem:all gain over the base", spec3("theorem:mlp", gain), c.c3_gain_floor));
  Decision dd = rule_recovers(r.rows[2].e, r.rows[0].e, c.c3_gain_floor, c.c3_fraction,
                              "fraction recovered by theorem:mlp");
  dd.reason += "; " + effect_text(r.rows[1].e, "fraction recovered by theorem:attn", true);
  Guards g = guards(x.d, "theorem:mlp", "theorem:all");
  g.unfit = unfit(x.d, {"theorem:all"});  // the gain's reference must have learned; MLP-only may fail
  r.decision = apply_guards(dd, g, c.fit_margin, x.runs);
  return r;
}

}  // namespace

std::vector<ClaimResult> claims_decide(const ReportData& d) {
  const ClaimCtx x(d);
  std::vector<ClaimResult> out = {decide_c1(x), decide_c2a(x), decide_c2b(x), decide_c3(x)};
  if (d.real) real_applicability(d, out);
  return out;
}

std::vector<ControlRow> control_effects(const ReportData& d) {
  auto c1 = [&](const Item& x) { return !x.parent_id.empty() && in(d.c1_pool, x.probe); };
  auto c2b = [&](const Item& x) { return !x.parent_id.empty() && in(d.c2b_pool, x.probe); };
  auto test = [](const Item& x) { return x.split == "test"; };
  std::vector<std::string> arms;
  for (auto& r : d.runs)
    if (r.trainable == "all" && r.sup != "base" && r.sup != "theorem" && r.sup != "vanilla" &&
        !in(arms, r.arm()))
      arms.push_back(r.arm());
  std::vector<ControlRow> out;
  for (auto& a : arms) {
    ControlRow cr{a, {}};
    auto add = [&](const std::string& label, const Spec& sp, bool fraction = false) {
      EffectRow r{label, {}, 0, fraction, {}};
      r.e = over_runs(d, sp, r.per_run);
      cr.rows.push_back(r);
    };
    for (const char* ref : {"vanilla:all", "theorem:all"}) {
      add(a + " - " + ref + ", i.i.d. test", acc_diff(a, ref, test));
      add(a + " - " + ref + ", valid-probe variants", acc_diff(a, ref, c2b));
    }
    add(a + " conditional drop (C1 pool)",
        Spec{{a},
             c1,
             [](auto& its, auto& rs, std::vector<double>& v) { return drop_comps(*its[0], *rs[0], v); },
             ratio},
        true);
    out.push_back(cr);
  }
  return out;
}

std::vector<std::string> run_table_labels(const std::vector<ClaimResult>& claims) {
  std::vector<std::string> l;
  for (auto& c : claims)
    for (auto& r : c.rows) l.push_back(r.label);
  return l;
}

std::vector<RunRow> run_table(const ReportData& d, const std::vector<ClaimResult>& claims) {
  // Per-run values are stored in run order, skipping runs where an effect was undefined; recompute the
  // alignment by key so a missing value shows as NaN in its own row.
  std::vector<RunRow> rows;
  for (auto [b, s] : d.run_keys()) rows.push_back({b, s, {}});
  for (auto& c : claims)
    for (auto& r : c.rows)
      for (size_t k = 0; k < rows.size(); k++)
        rows[k].values.push_back(r.per_run.size() == rows.size() ? r.per_run[k] : std::nan(""));
  return rows;
}

}  // namespace tsft
