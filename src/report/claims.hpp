// The pre-declared claims of an experiment (issue 12): one [claims] table whose defaults live here and
// nowhere else, printed verbatim in the report before any number, and the decision rules that turn
// effects (estimate + 95% interval, summarized over runs) into supported / not supported /
// inconclusive, each with its reason in a sentence. Pure functions: tested on synthetic numbers.
//
// Pools (THEOREM_WORLD.md "Claim pools", declared 2026-12-02): C1 and C2b use the valid probes P1, P2,
// P4, P5, P11 and, where the world has them, P6, P7, P12; P3 only if pre-training drills its
// magnitudes; P8/P9 (premise checks) and P10 (counterfactual rule) are reported apart; the
// counterfactual split counts for C1 only, in worlds with confusable theorem pairs; the i.i.d. test is
// C2a's, split by value combination seen / unseen in SFT training.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace tsft {

struct ClaimsConfig {
  // C1: vanilla's conditional drop P(variant wrong | parent right) on the pool exceeds c1_margin.
  double c1_margin = 0.10;
  // C2a: theorem - vanilla on the i.i.d. test is not below -c2a_margin (non-inferiority).
  double c2a_margin = 0.05;
  // C2b: theorem - vanilla variant accuracy on the pool, and vanilla - theorem conditional drop, each
  // exceed +c2b_margin.
  double c2b_margin = 0.05;
  // C3: MLP-only recovers more than c3_fraction of the all-layer arm's gain over the base (the same
  // items); the gain must exceed c3_gain_floor, else "inconclusive (no gain to recover)".
  double c3_fraction = 0.80;
  double c3_gain_floor = 0.05;
  // Fair comparison: the arms' accuracy on their own training problems must be shown equal within
  // +-fit_margin (the whole interval inside; one that excludes 0 shows unequal fit, a wider one too few items).
  double fit_margin = 0.10;
  long min_fit_items = 50;  // training problems per run that measure the fit (fewer: inconclusive)
  // An arm whose training-problem accuracy (mean over runs) is below min_fit has not learned its task:
  // a comparison involving it says nothing about rules vs instances (inconclusive).
  double min_fit = 0.50;
  std::vector<std::string> pool = {"P1", "P2", "P4", "P5", "P6", "P7", "P11", "P12"};
  std::string p3 = "if_drilled";                 // in | out | if_drilled (generic drills on)
  std::string counterfactual = "if_confusable";  // in | out | if_confusable (C1 only)
  int bootstrap_reps = 2000;                     // within-run cluster bootstrap (1 run only)
};

// The [claims] table (absent: defaults). Unknown keys, margins outside [0, 1] and unknown probes are
// errors naming `origin` and the key.
ClaimsConfig claims_from_json(const nlohmann::json& claims_table, const std::string& origin);
// The declaration, verbatim (markdown list), with the resolved pools.
std::string claims_declaration(const ClaimsConfig& c, const std::vector<std::string>& c1_pool,
                               const std::vector<std::string>& c2b_pool);

// An effect summarized over runs: estimate and 95% interval; runs = 0 or n_items = 0: not measured.
struct Effect {
  double est = 0, lo = 0, hi = 0;
  int runs = 0;
  long n_items = 0;
  bool defined() const { return runs > 0 && n_items > 0 && est == est && lo == lo && hi == hi; }
};

// Guards shared by every comparison.
struct Guards {
  std::vector<std::string> capped_improving;  // arms stopped at the cap while still improving
  std::vector<std::string> unfit;             // arms below min_fit on their training problems
  long min_fit_items = 0;
  bool compare_fit = true;  // false: one arm's property (C1), no fit comparison
  bool fit_measured = false;
  Effect fit;  // accuracy difference of the compared arms on their training problems
};

struct Decision {
  std::string label;         // supported | not supported | inconclusive
  std::string reason;        // one sentence with the numbers
  bool exploratory = false;  // decided on 1 run
  std::string shown() const { return exploratory ? label + " - exploratory (1 run)" : label; }
};

// Superiority with a margin: supported iff lo > m; not supported iff hi <= m (no relevant gain, which
// includes an interval above 0 but inside the margin, and the opposite direction); else inconclusive.
Decision rule_exceeds(const Effect& e, double m, const std::string& what);
// Non-inferiority: supported iff lo > -m; not supported iff hi < -m; else inconclusive.
Decision rule_not_worse(const Effect& e, double m, const std::string& what);
// Fraction of a gain recovered: inconclusive (no gain to recover) when the gain's lower bound is below
// floor; else supported iff fraction lo > f, not supported iff fraction hi <= f, else inconclusive.
Decision rule_recovers(const Effect& gain, const Effect& fraction, double floor, double f,
                       const std::string& what);
// Both must hold: supported iff both supported; not supported iff either is; else inconclusive.
Decision rule_both(const Decision& a, const Decision& b);
// Applies the guards: an arm capped while improving, an unmeasured fit or a fit not shown equal within
// +-fit_margin make the decision inconclusive (reason says which); 1 run marks it exploratory.
Decision apply_guards(Decision d, const Guards& g, double fit_margin, int runs);

// Student-t summary of per-run effects (mean, 95% t-interval); one run: `within` (that run's
// bootstrap interval) is used; zero runs: undefined.
Effect summarize_runs(const std::vector<double>& per_run, const Effect& within, long n_items);

// Cluster bootstrap (percentile, 95%; reps = 0: the estimate alone): clusters are rows of additive components
// (e.g. correct counts and item counts of two arms over the items of one parent problem); stat maps the
// component totals to the effect. Resamples clusters with replacement; resamples whose stat is NaN are
// skipped.
struct Clustered {
  std::vector<std::vector<double>> rows;
};
Effect cluster_bootstrap(const Clustered& c, double (*stat)(const std::vector<double>&), int reps,
                         uint64_t seed);

}  // namespace tsft
