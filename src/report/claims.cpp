#include "report/claims.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "core/error.hpp"
#include "eval/stats.hpp"

namespace tsft {

namespace {
const std::vector<std::string> kProbes = {"P1", "P2", "P3", "P4",  "P5",  "P6",
                                          "P7", "P8", "P9", "P10", "P11", "P12"};

std::string pts(double x) {
  return fmt::format("{:+.1f}", 100 * x);
}
// Why a fit interval that is not inside +-fm fails: it excludes 0 (the arms fit unequally), or it is too
// wide to show anything (too few fit items), or neither (equality not shown).
std::string fit_failure(const Effect& fit, double fm) {
  if (fit.lo > 0 || fit.hi < 0)
    return fmt::format(" is not inside +-{:.1f} points and excludes 0 (unequal fit)", 100 * fm);
  if (fit.hi - fit.lo > 2 * fm)
    return fmt::format(" is wider than +-{:.1f} points (too few fit items to show equal fit)", 100 * fm);
  return fmt::format(" is not inside +-{:.1f} points (equal fit not shown)", 100 * fm);
}
std::string interval(const Effect& e) {
  return fmt::format(
      "{} points [{}, {}]{}", pts(e.est), pts(e.lo), pts(e.hi),
      e.runs > 1 ? fmt::format(" over {} runs", e.runs) : std::string(" (1 run, clustered bootstrap)"));
}

double margin(const nlohmann::json& v, const std::string& where) {
  TSFT_CHECK(v.is_number(), "{}: must be a number", where);
  double m = v.get<double>();
  TSFT_CHECK(m >= 0 && m <= 1, "{}: {} is outside [0, 1] (proportions, not points)", where, m);
  return m;
}

std::string choice(const nlohmann::json& v, const std::string& where, std::vector<std::string> ok) {
  TSFT_CHECK(v.is_string() && std::count(ok.begin(), ok.end(), v.get<std::string>()),
             "{}: expected one of {}", where, fmt::join(ok, ", "));
  return v.get<std::string>();
}
}  // namespace

ClaimsConfig claims_from_json(const nlohmann::json& t, const std::string& origin) {
  ClaimsConfig c;
  if (t.is_null()) return c;
  TSFT_CHECK(t.is_object(), "{}: [claims] must be a table", origin);
  for (auto& [k, v] : t.items()) {
    const std::string where = fmt::format("{}: [claims] {}", origin, k);
    if (k == "c1_margin")
      c.c1_margin = margin(v, where);
    else if (k == "c2a_margin")
      c.c2a_margin = margin(v, where);
    else if (k == "c2b_margin")
      c.c2b_margin = margin(v, where);
    else if (k == "c3_fraction")
      c.c3_fraction = margin(v, where);
    else if (k == "c3_gain_floor")
      c.c3_gain_floor = margin(v, where);
    else if (k == "min_fit")
      c.min_fit = margin(v, where);
    else if (k == "min_fit_items") {
      TSFT_CHECK(v.is_number_integer() && v.get<long>() >= 1, "{}: a positive integer", where);
      c.min_fit_items = v.get<long>();
    } else if (k == "fit_margin")
      c.fit_margin = margin(v, where);
    else if (k == "p3")
      c.p3 = choice(v, where, {"in", "out", "if_drilled"});
    else if (k == "counterfactual")
      c.counterfactual = choice(v, where, {"in", "out", "if_confusable"});
    else if (k == "bootstrap_reps") {
      TSFT_CHECK(v.is_number_integer() && v.get<int64_t>() >= 100 && v.get<int64_t>() <= 1000000000,
                 "{}: an integer in [100, 10^9]", where);
      c.bootstrap_reps = v.get<int>();
    } else if (k == "pool") {
      TSFT_CHECK(v.is_array(), "{}: must be a list of probe ids", where);
      c.pool.clear();
      for (auto& p : v) {
        TSFT_CHECK(p.is_string() && std::count(kProbes.begin(), kProbes.end(), p.get<std::string>()),
                   "{}: unknown probe {} (P1-P12)", where, p.dump());
        TSFT_CHECK(p != "P8" && p != "P9" && p != "P10" && p != "P3",
                   "{}: {} is not a pool probe (P8/P9/P10 are reported apart; P3 has its own key p3)", where,
                   p.get<std::string>());
        c.pool.push_back(p);
      }
    } else {
      TSFT_FAIL(
          "{}: unknown key (c1_margin, c2a_margin, c2b_margin, c3_fraction, c3_gain_floor, fit_margin, "
          "min_fit, min_fit_items, pool, "
          "p3, "
          "counterfactual, bootstrap_reps)",
          where);
    }
  }
  return c;
}

std::string claims_declaration(const ClaimsConfig& c, const std::vector<std::string>& c1_pool,
                               const std::vector<std::string>& c2b_pool) {
  auto m = [](double x) { return fmt::format("{:.1f}", 100 * x); };
  return fmt::format(
      "- **C1 brittleness**: vanilla:all's conditional drop P(variant wrong | parent right) on the valid "
      "probes "
      "[{}] exceeds {} points; compared with theorem:all's (vanilla - theorem difference in drops, reported "
      "with its interval).\n"
      "- **C2a in-distribution**: theorem:all - vanilla:all accuracy on the i.i.d. test is not below -{} "
      "points "
      "(non-inferiority; reported split by value combination seen / unseen in SFT training).\n"
      "- **C2b generalization**: on the valid probes [{}], theorem:all - vanilla:all variant accuracy "
      "exceeds "
      "+{} points and vanilla - theorem conditional drop exceeds +{} points (both required).\n"
      "- **C3 localization**: theorem:mlp recovers more than {:.0f}% of theorem:all's gain over the base "
      "(i.i.d. test + the C2b probes); theorem:attn reported the same way; trainable-parameter counts "
      "beside; "
      "\"inconclusive (no gain to recover)\" when the all-layer gain's lower bound is below {} points.\n"
      "- **Rules**: effects are computed per run and summarized over runs (Student-t 95% interval); with one "
      "run, "
      "a bootstrap clustered by parent problem, and every verdict is marked \"exploratory (1 run)\". Margins "
      "are "
      "symmetric: an interval above 0 but inside the margin is \"not supported\". An arm stopped at its step "
      "cap "
      "while still improving, or compared arms whose training-problem accuracy is not shown equal within "
      "+-{} "
      "points (the whole interval inside; too few fit items make it inconclusive), make a verdict "
      "inconclusive; so do fewer than {} fit items per run, and an arm whose training-problem accuracy is "
      "below "
      "{:.0f}% (it did not learn its task).\n"
      "- **Pools**: P3 {}; counterfactual split {} (C1 only: it has no parent items, so its i.i.d. - "
      "counterfactual accuracy drop is reported beside C1's decision); P8/P9 (premise checks) and P10 "
      "(counterfactual rule) are reported apart.\n",
      fmt::join(c1_pool, ", "), m(c.c1_margin), m(c.c2a_margin), fmt::join(c2b_pool, ", "), m(c.c2b_margin),
      m(c.c2b_margin), 100 * c.c3_fraction, m(c.c3_gain_floor), m(c.fit_margin), c.min_fit_items,
      100 * c.min_fit, c.p3, c.counterfactual);
}

Decision rule_exceeds(const Effect& e, double m, const std::string& what) {
  if (!e.defined()) return {"inconclusive", what + ": not measured (no items)"};
  std::string n = what + " = " + interval(e);
  if (e.lo > m)
    return {"supported", n + fmt::format(": the whole interval exceeds the +{:.1f}-point margin", 100 * m)};
  if (e.hi <= m)
    return {"not supported",
            n + (e.hi < -m ? ": the opposite holds beyond the margin"
                           : fmt::format(": no gain beyond the +{:.1f}-point margin", 100 * m))};
  return {"inconclusive", n + fmt::format(": the interval straddles the +{:.1f}-point margin", 100 * m)};
}

Decision rule_not_worse(const Effect& e, double m, const std::string& what) {
  if (!e.defined()) return {"inconclusive", what + ": not measured (no items)"};
  std::string n = what + " = " + interval(e);
  if (e.lo > -m)
    return {"supported", n + fmt::format(": the whole interval is above -{:.1f} points", 100 * m)};
  if (e.hi < -m)
    return {"not supported", n + fmt::format(": the whole interval is below -{:.1f} points", 100 * m)};
  return {"inconclusive", n + fmt::format(": the interval straddles -{:.1f} points", 100 * m)};
}

Decision rule_recovers(const Effect& gain, const Effect& frac, double floor, double f,
                       const std::string& what) {
  if (!gain.defined()) return {"inconclusive", "all-layer gain over the base: not measured (no items)"};
  std::string g = "all-layer gain over the base = " + interval(gain);
  if (gain.lo < floor)
    return {"inconclusive",
            g + fmt::format(": no gain to recover (lower bound below the {:.1f}-point floor)", 100 * floor)};
  if (!frac.defined()) return {"inconclusive", g + "; " + what + ": not measured"};
  std::string n = g + "; " + what +
                  fmt::format(" = {:.0f}% [{:.0f}%, {:.0f}%]", 100 * frac.est, 100 * frac.lo, 100 * frac.hi);
  if (frac.lo > f) return {"supported", n + fmt::format(": above {:.0f}%", 100 * f)};
  if (frac.hi <= f) return {"not supported", n + fmt::format(": not above {:.0f}%", 100 * f)};
  return {"inconclusive", n + fmt::format(": the interval straddles {:.0f}%", 100 * f)};
}

Decision rule_both(const Decision& a, const Decision& b) {
  std::string label = a.label == "supported" && b.label == "supported"           ? "supported"
                      : a.label == "not supported" || b.label == "not supported" ? "not supported"
                                                                                 : "inconclusive";
  return {label, a.reason + "; " + b.reason, a.exploratory || b.exploratory};
}

// Every guard that fails is named, not only the first: a reader sees all the reasons a verdict is withheld
// (an arm still improving at the cap and an unequal fit are separate problems with separate remedies).
Decision apply_guards(Decision d, const Guards& g, double fm, int runs) {
  d.exploratory = runs <= 1;
  std::vector<std::string> fails;
  if (!g.capped_improving.empty())
    fails.push_back(fmt::format("{} stopped at the step cap while still improving, so it is not converged",
                                fmt::join(g.capped_improving, ", ")));
  if (!g.unfit.empty())
    fails.push_back(fmt::format(
        "{} did not learn its training problems (accuracy below the declared floor), so there is nothing "
        "to compare",
        fmt::join(g.unfit, ", ")));
  if (g.compare_fit) {
    if (!g.fit_measured || !g.fit.defined()) {
      fails.push_back(
          "the arms' fit to their training problems was not measured ([eval] train_limit), so the "
          "comparison's fairness is unknown");
    } else {
      std::string fit = "training-problem accuracy difference " + interval(g.fit);
      long per_run = g.fit.n_items / std::max(1, g.fit.runs);
      if (per_run < g.min_fit_items)
        fails.push_back(fmt::format(
            "only {} training problems per run measure the fit (fewer than {}), too few to show equal fit",
            per_run, g.min_fit_items));
      else if (g.fit.lo < -fm || g.fit.hi > fm)
        fails.push_back("the " + fit + fit_failure(g.fit, fm));
      else
        d.reason += "; " + fit + fmt::format(" is inside +-{:.1f} points (equal fit)", 100 * fm);
    }
  }
  if (!fails.empty()) {
    d.label = "inconclusive";
    d.reason += fmt::format("; but {}", fmt::join(fails, "; and "));
  }
  return d;
}

Effect summarize_runs(const std::vector<double>& v, const Effect& within, long n_items) {
  Effect e;
  e.n_items = n_items;
  e.runs = (int)v.size();
  if (v.empty()) return e;
  if (v.size() == 1) {
    e.est = v[0], e.lo = within.lo, e.hi = within.hi;
    return e;
  }
  auto t = eval::stats_mean_t_interval(v);
  e.est = t.estimate, e.lo = t.lo, e.hi = t.hi;
  return e;
}

Effect cluster_bootstrap(const Clustered& c, double (*stat)(const std::vector<double>&), int reps,
                         uint64_t seed) {
  Effect e;
  e.runs = 1;
  e.n_items = (long)c.rows.size();
  if (c.rows.empty()) return e;
  const size_t k = c.rows[0].size();
  auto total = [&](const std::vector<size_t>& idx) {
    std::vector<double> s(k, 0.0);
    for (size_t i : idx)
      for (size_t j = 0; j < k; j++) s[j] += c.rows[i][j];
    return stat(s);
  };
  std::vector<size_t> idx(c.rows.size());
  for (size_t i = 0; i < idx.size(); i++) idx[i] = i;
  e.est = total(idx);
  if (reps <= 0) {  // the estimate alone (a run of several; the interval comes from the runs)
    e.lo = e.hi = e.est;
    return e;
  }
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<size_t> pick(0, c.rows.size() - 1);
  std::vector<double> boot;
  for (int r = 0; r < reps; r++) {
    for (auto& i : idx) i = pick(rng);
    double s = total(idx);
    if (std::isfinite(s)) boot.push_back(s);
  }
  if (boot.empty() || !std::isfinite(e.est)) {
    e.est = e.lo = e.hi = std::nan("");
    return e;
  }
  std::sort(boot.begin(), boot.end());
  e.lo = boot[(size_t)(0.025 * (boot.size() - 1))];
  e.hi = boot[(size_t)std::ceil(0.975 * (boot.size() - 1))];
  return e;
}

}  // namespace tsft
