// The stage runner of `tsft experiment` and the stages it plans (experiment.cpp holds the top-level plan):
//   experiment_runner.cpp  running one cached stage as a child tsft process, progress and ETA
//   experiment_base.cpp    the base model of one base seed (init -> pretrain -> [instruct])
//   experiment_arms.cpp    per base: its evaluation and every (sft seed, arm): train, select, evaluate,
//                          transplants
#pragma once
#include <fmt/format.h>

#include <functional>
#include <initializer_list>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "experiment/experiment_impl.hpp"

namespace tsft::exp_detail {

struct Runner {
  ExperimentOptions opt;
  // [experiment] device / precision: appended to every model-running stage (pretrain, train, eval)
  // and folded into its key; the default engine (cpu/fp32) leaves arguments and keys unchanged.
  std::vector<std::string> engine_args;
  std::string engine_tag;
  json timings = json::object();
  // Progress: a dry pass counts the stages (planned) by kind (the tsft command a stage runs: pretrain,
  // train, eval, render, ...); the real pass numbers them, and the ETA is the sum over the stages left of
  // the mean seconds of their kind so far. Kinds differ by orders of magnitude (a pre-training stage vs a
  // render): a kind not yet timed counts at the mean of all timed stages, except the training commands,
  // which dominate the run -- until one of those is timed there is no ETA ("after the first train stage").
  bool dry = false;
  int planned = 0, done = 0;
  std::map<std::string, int> left_by_kind;
  std::map<std::string, std::pair<double, int>> timed_by_kind;  // seconds, stages run
  std::pair<double, int> timed_all;

  void plan(const std::string& k, int n) { planned += n, left_by_kind[k] += n; }
  void finish(const std::string& k) { done++, left_by_kind[k]--; }

  std::string eta() const;
  std::string progress() const { return fmt::format("[{}/{}{}]", done + 1, planned, eta()); }

  // Run `args` as a stage unless DIR/.stage.json has `key`. Returns the stage directory.
  std::string stage(const std::string& name, std::string key, std::vector<std::string> args);
};

// a followed by b (stage arguments).
inline std::vector<std::string> plus(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// Stage flags whose values are config keys: each {flag, section, key} -> flag, cfg[section][key].
struct CfgFlag {
  const char *flag, *section, *key;
};
inline std::vector<std::string> cfg_flags(const json& cfg, std::initializer_list<CfgFlag> flags) {
  std::vector<std::string> a;
  for (const CfgFlag& f : flags) a.insert(a.end(), {f.flag, cfg_arg(cfg, f.section, f.key)});
  return a;
}

// Base model of one base seed: init -> pretrain -> [instruct-data -> instruct]. Returns (dir, key).
std::pair<std::string, std::string> plan_base(Runner& r, const Plan& p, int b, const std::string& k_tok,
                                              const std::string& gen, const std::string& tokd);

// The arguments of an eval stage over `files`.
std::vector<std::string> eval_stage_args(const Plan& p, const std::vector<std::string>& files,
                                         const std::string& model, const std::string& dir);

// What the arms of one base need: the base model and its key, how to evaluate a model, where each
// supervision's SFT file comes from (a directory holding sft.jsonl, and its key).
struct ArmInputs {
  std::string base, k_base;
  int b = 0;
  std::function<std::vector<std::string>(const std::string&, const std::string&)> eval_args;
  int64_t val_size = 0, train_limit = 0;
  std::function<std::pair<std::string, std::string>(const std::string&)> source;
  std::string val_eval;  // validation problems for checkpoint selection
};

// The base's evaluation, then every (sft seed, arm) of it: train (per learning rate of the arm's grid),
// select, evaluate, and the transplant analysis of all-layer theorem/vanilla arms.
json run_base(Runner& r, const Plan& p, const ArmInputs& in, json& runs);

}  // namespace tsft::exp_detail
