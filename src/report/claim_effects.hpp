// The declared claims decided on an experiment's graded items: each effect is computed per run (a run =
// one base seed x one SFT seed; the compared arms of a run share its base model), summarized over runs
// (Student-t), or with one run by a bootstrap clustered by parent problem (a probe variant belongs to
// its parent's cluster), then decided by the rules of claims.hpp.
#pragma once
#include <string>
#include <vector>

#include "report/claims.hpp"
#include "report/report_data.hpp"

namespace tsft {

struct EffectRow {
  std::string label;
  Effect e;
  double margin = 0;      // the decision threshold drawn in the forest plot
  bool fraction = false;  // a fraction of a gain (%), not a difference in points
  std::vector<double> per_run;
};

struct ClaimResult {
  std::string id, title;
  Decision decision;
  std::vector<EffectRow> rows;  // rows[0] is the decided effect
};

std::vector<ClaimResult> claims_decide(const ReportData& d);

// Controls and ablations beside the claims (described, never decided): for every all-layer arm other
// than theorem and vanilla (vanilla-matched, answer-only, theorem-no-statement/-cond/-map), its accuracy
// minus vanilla:all's and minus theorem:all's on the i.i.d. test and on the C2b pool's variants, and its
// own conditional drop on the C1 pool; per run, summarized over runs like the claims' effects.
struct ControlRow {
  std::string arm;
  std::vector<EffectRow> rows;
};
std::vector<ControlRow> control_effects(const ReportData& d);

// Per-run table: one row per (base seed, sft seed) with every claim's per-run effect.
struct RunRow {
  int base_seed = 0, sft_seed = 0;
  std::vector<double> values;  // in the order of the labels
};
std::vector<std::string> run_table_labels(const std::vector<ClaimResult>& claims);
std::vector<RunRow> run_table(const ReportData& d, const std::vector<ClaimResult>& claims);

}  // namespace tsft
