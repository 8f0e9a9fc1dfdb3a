// What the report reads from an experiment directory: per run, the eval stage's graded items
// (results.jsonl, never re-graded) and metrics.json, the training summary and curve; the base model's
// evaluation per base seed; the i.i.d. test's "value combination seen in SFT training" flags.
#pragma once
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "eval/run_eval.hpp"
#include "report/claims.hpp"

namespace tsft {

struct ReportRun {
  std::string name, sup, trainable;  // sup "base" for a base model
  std::string train_name;            // train/ and select/ directory (name + "-lr<rate>" under an LR grid)
  int base_seed = 0, sft_seed = 0;
  std::vector<eval::ItemResult> items;
  std::map<std::string, const eval::ItemResult*> by_id;
  nlohmann::json metrics;                            // eval/<name>/metrics.json
  std::vector<std::pair<double, double>> curve;      // (step, loss)
  std::vector<std::pair<double, double>> val_curve;  // (step, validation loss)
  nlohmann::json summary;    // train/<name>/summary.json (absent for base/transplants)
  nlohmann::json selection;  // select/<name>.json: validation answer accuracy per checkpoint, the chosen one
  std::string arm() const { return sup + ":" + trainable; }
  // Stopped at the step cap with its best validation (answer accuracy where selected on it, else loss)
  // at the last evaluation: still improving.
  bool capped_improving() const;
};

struct ReportData {
  std::string dir, budget;
  nlohmann::json experiment;              // experiment.json
  std::vector<ReportRun> runs;            // bases first
  std::map<std::string, bool> test_seen;  // i.i.d. test id -> value combination seen in SFT training
  ClaimsConfig claims;
  std::vector<std::string> c1_pool, c2b_pool;  // resolved pools
  bool counterfactual_in_c1 = false;
  bool real =
      false;  // a [real_data] experiment: no theorem world, so no probe pools (claims on them: no items)
  // The run of arm `arm` ("theorem:all") with these seeds, or the base of base seed b (arm "base").
  const ReportRun* find(const std::string& arm, int b, int s) const;
  // Every (base seed, sft seed) pair, in order.
  std::vector<std::pair<int, int>> run_keys() const;
};

ReportData report_load(const std::string& experiment_dir);

}  // namespace tsft
