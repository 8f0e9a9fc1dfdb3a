// Internals of `tsft experiment` shared by its files: the parsed plan (experiment_plan.cpp,
// experiment_schema.cpp, experiment_real.cpp) and the stages (experiment_runner.hpp).
#pragma once
#include <toml++/toml.h>

#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "core/config_schema.hpp"
#include "experiment/experiment.hpp"

namespace tsft::exp_detail {

using json = nlohmann::json;

json toml_to_json(const toml::node& n);
// Every section and key of an experiment config (experiment_schema.cpp).
const schema::Schema& experiment_schema();
// cfg[section][key], or its schema default.
json cfg_value(const json& cfg, const char* section, const char* key);

template <typename T>
T get(const json& j, const char* table, const char* key, T def) {
  if (!j.contains(table) || !j[table].contains(key)) return def;
  return j[table][key].get<T>();
}
inline std::string s(const json& v) {
  return v.is_string() ? v.get<std::string>() : v.dump();
}
// cfg[section][key] or its schema default, as a stage argument.
inline std::string cfg_arg(const json& cfg, const char* section, const char* key) {
  return s(cfg_value(cfg, section, key));
}

// What the plan needs besides the runner: the parsed config and its copy, the output directory.
struct Plan {
  json cfg;
  std::string cfg_copy, out, config_path, budget, threads, catalog;
  std::string device = "cpu", precision = "fp32";  // [experiment] device / precision (the engine)
  std::vector<int> base_seeds, sft_seeds;
  std::vector<std::string> arms;
  bool transplants = true;          // [experiment] transplants: delta-transplant analysis of all-layer arms
  std::set<std::string> eval_skip;  // [eval] skip: gen problem files (stems, e.g. "probe_P3") not evaluated
  // [real_data]: the user's base model and annotated data instead of the theorem world.
  bool real = false;
  std::string base_model, annotated, chat_template = "chatml";
  std::vector<std::pair<std::string, std::string>> real_eval;  // (file, adapter format)
};

// "--chat-template X", or nothing when the model's own template is used.
std::vector<std::string> chat_args(const Plan& p);

// Real-data mode (experiment_real.cpp): the eval sets converted from their adapter formats into
// DIR/eval-sets (plus the validation tail and the fit sample of the annotated problems), and the hash
// of every input file. Files are written only when !dry.
struct RealData {
  std::vector<std::string> eval_files;
  std::string val_file, inputs_key;
};
RealData real_prepare(const Plan& p, bool dry);
void real_check_config(const json& cfg, const std::string& path, Plan& p);

// Parses and checks the config against experiment_schema() (unknown, mistyped or out-of-range keys are
// errors naming file:line and the closest key; keys of the old layout get a hint).
Plan plan_parse(const ExperimentOptions& o, const std::string& out);
// Model selection rule of every arm ([sft] select): val_accuracy (default) or final.
std::string select_rule(const Plan& p);
// The arguments every training stage (pretrain, instruct, sft) starts with: `cmd` --model --data --out
// --steps, then the schedule of config section `sec` (micro_batch, block, lr unless `lr` is given,
// warmup).
std::vector<std::string> train_stage_args(const Plan& p, const char* cmd, const char* sec,
                                          const std::string& model, const std::string& data,
                                          const std::string& out_dir, const std::string& steps,
                                          const std::string& lr = "");
// The SFT arguments of one arm (budget, validation, the cap-independent LR schedule).
std::vector<std::string> sft_args(const Plan& p, const std::string& base, const std::string& train_file,
                                  const std::string& val_file, const std::string& out_dir,
                                  const std::string& trainable, int seed, const std::string& lr = "");
// A LoRA arm's trainable is "lora-<targets spec>" (theorem:lora-mlp): its checkpoints are adapters of
// the base model, evaluated as --model base --adapter checkpoint.
inline bool is_lora_arm(const std::string& trainable) {
  return trainable.rfind("lora-", 0) == 0;
}
// eval arguments naming the model: a full checkpoint, or base + adapter for a LoRA arm.
inline std::vector<std::string> model_args(const std::string& base, const std::string& model,
                                           const std::string& trainable) {
  if (is_lora_arm(trainable)) return {"--model", base, "--adapter", model};
  return {"--model", model};
}
// The learning rates tried for an arm whose trainable spec has a [sft.lr_grid] entry; {""} (the [sft]
// lr) otherwise.
std::vector<std::string> lr_grid(const Plan& p, const std::string& trainable);

}  // namespace tsft::exp_detail
