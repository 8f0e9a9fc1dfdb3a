// `tsft experiment`: the config parsed into a plan, and the SFT arguments of an arm.
#include <algorithm>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "experiment/experiment_impl.hpp"
#include "model/engine.hpp"
#include "report/claims.hpp"
#include "theorems/generate.hpp"
#include "theorems/render.hpp"

namespace tsft::exp_detail {

json toml_to_json(const toml::node& n) {
  if (auto t = n.as_table()) {
    json j = json::object();
    for (auto& [k, v] : *t) j[std::string(k.str())] = toml_to_json(v);
    return j;
  }
  if (auto a = n.as_array()) {
    json j = json::array();
    for (auto& v : *a) j.push_back(toml_to_json(v));
    return j;
  }
  if (auto v = n.as_string()) return v->get();
  if (auto v = n.as_integer()) return v->get();
  if (auto v = n.as_floating_point()) return v->get();
  if (auto v = n.as_boolean()) return v->get();
  return nullptr;
}

namespace {
std::vector<int> seed_list(const json& cfg, const char* key, const std::string& origin) {
  std::vector<int> v = cfg_value(cfg, "experiment", key).get<std::vector<int>>();
  TSFT_CHECK(!v.empty(), "{}: [experiment] {} must be a non-empty list of integers", origin, key);
  std::vector<int> sorted = v;
  std::sort(sorted.begin(), sorted.end());
  TSFT_CHECK(std::adjacent_find(sorted.begin(), sorted.end()) == sorted.end(),
             "{}: [experiment] {} repeats a seed", origin, key);
  return v;
}

// Before any stage runs: the required tables, hints for keys of the old layout, then every section and
// key against the schema (file:line, did you mean), then the sections with rules of their own.
void check_config(const toml::table& tbl, const json& cfg, const std::string& path) {
  if (cfg.contains("real_data")) {
    for (const char* t : {"experiment", "sft", "eval"})
      TSFT_CHECK(cfg.contains(t), "{}: missing table [{}]", path, t);
    for (const char* t : {"gen", "tokenizer", "model", "pretrain", "instruct"})
      TSFT_CHECK(!cfg.contains(t), "{}: [{}] is not used by a [real_data] experiment (remove it)", path, t);
    schema::check_root(tbl, path, experiment_schema());
    claims_from_json(cfg.contains("claims") ? cfg["claims"] : json(nullptr), path);
    return;
  }
  for (const char* t : {"experiment", "gen", "tokenizer", "model", "pretrain", "sft", "eval"})
    TSFT_CHECK(cfg.contains(t), "{}: missing table [{}]", path, t);
  TSFT_CHECK(
      !cfg["experiment"].contains("seeds"),
      "{}: [experiment] seeds is replaced by base_seeds (init + pre-training + instruct) and sft_seeds (SFT "
      "data order); runs = base_seeds x sft_seeds",
      path);
  TSFT_CHECK(!cfg["model"].contains("seed"), "{}: [model] seed: the init seed is [experiment] base_seeds",
             path);
  schema::check_root(tbl, path, experiment_schema());
  gen_config_from_toml_text(fs_read_text(path), path);
  claims_from_json(cfg.contains("claims") ? cfg["claims"] : json(nullptr), path);
}

// Every arm is supervision:trainable with a known supervision (render_arm_names) and a trainable spec,
// none repeated; checked before any stage runs.
void check_arms(const std::vector<std::string>& arms, const std::string& path) {
  std::set<std::string> seen;
  for (auto& arm : arms) {
    size_t colon = arm.find(':');
    TSFT_CHECK(colon != std::string::npos && colon + 1 < arm.size(),
               "{}: [experiment] arms: '{}' must be supervision:trainable (e.g. theorem:mlp)", path, arm);
    try {
      render_parse_arm(arm.substr(0, colon));
    } catch (const std::exception& e) {
      TSFT_FAIL("{}: [experiment] arms: '{}': {}", path, arm, e.what());
    }
    TSFT_CHECK(seen.insert(arm).second, "{}: [experiment] arms: '{}' is listed twice", path, arm);
  }
}

}  // namespace

Plan plan_parse(const ExperimentOptions& o, const std::string& out) {
  toml::table tbl;
  try {
    tbl = toml::parse_file(o.config_path);
  } catch (const toml::parse_error& e) {
    TSFT_FAIL("{}:{}:{}: {}", o.config_path, e.source().begin.line, e.source().begin.column, e.description());
  }
  Plan p;
  p.cfg = toml_to_json(tbl);
  p.config_path = o.config_path;
  p.out = out;
  const json& cfg = p.cfg;
  check_config(tbl, cfg, o.config_path);
  // Arms are compared at equal optimizer steps, at equal supervised tokens, or each trained to
  // convergence (early stopping on the held-out validation problems).
  p.budget = cfg_arg(cfg, "experiment", "budget");
  TSFT_CHECK(p.budget == "steps" || p.budget == "tokens" || p.budget == "problems" || p.budget == "converged",
             "{}: [experiment] budget = '{}': expected steps | tokens | problems | converged", o.config_path,
             p.budget);
  TSFT_CHECK(p.budget != "problems" ||
                 (cfg["sft"].contains("problems") && cfg["sft"]["problems"].is_number_integer() &&
                  cfg["sft"]["problems"].get<int64_t>() > 0),
             "{}: [experiment] budget = 'problems' needs a positive integer [sft] problems (problems seen by "
             "every arm)",
             o.config_path);
  TSFT_CHECK(
      p.budget != "tokens" ||
          (cfg["sft"].contains("supervised_tokens") && cfg["sft"]["supervised_tokens"].is_number_integer()),
      "{}: [experiment] budget = 'tokens' needs an integer [sft] supervised_tokens (the budget of every arm)",
      o.config_path);
  p.base_seeds = seed_list(cfg, "base_seeds", o.config_path);
  p.sft_seeds = seed_list(cfg, "sft_seeds", o.config_path);
  p.arms = cfg_value(cfg, "experiment", "arms").get<std::vector<std::string>>();
  check_arms(p.arms, o.config_path);
  p.transplants = cfg_value(cfg, "experiment", "transplants").get<bool>();
  for (auto& f : cfg_value(cfg, "eval", "skip").get<std::vector<std::string>>()) {
    TSFT_CHECK(f != "train", "{}: [eval] skip: 'train' is never evaluated (train_limit sets the fit sample)",
               o.config_path);
    p.eval_skip.insert(f);
  }
  p.threads = cfg_arg(cfg, "experiment", "threads");
  p.device = cfg_arg(cfg, "experiment", "device");
  p.precision = cfg_arg(cfg, "experiment", "precision");
  engine_spec_parse(p.device, p.precision);  // a usage error before any stage runs
  // [sft.lr_grid]: every trainable named by an arm, rates > 0 (before any stage).
  lr_grid(p, "");
  p.catalog = get<std::string>(cfg, "gen", "catalog", std::string(TSFT_SOURCE_DIR) + "/data/theorems");
  if (cfg.contains("real_data")) real_check_config(cfg, o.config_path, p);
  return p;
}

// Model selection rule of every arm ([sft] select): val_accuracy (default) or final.
std::string select_rule(const Plan& p) {
  std::string r = cfg_arg(p.cfg, "sft", "select");
  TSFT_CHECK(r == "val_accuracy" || r == "final", "{}: [sft] select = '{}': expected val_accuracy | final",
             p.config_path, r);
  return r;
}

// Equal problems seen: one problem per row, micro_batch rows per step -> ceil(problems / micro_batch).
std::string problem_steps(const json& cfg) {
  int64_t mb = cfg_value(cfg, "sft", "micro_batch").get<int64_t>();
  return std::to_string((cfg["sft"]["problems"].get<int64_t>() + mb - 1) / mb);
}

std::vector<std::string> train_stage_args(const Plan& p, const char* cmd, const char* sec,
                                          const std::string& model, const std::string& data,
                                          const std::string& out_dir, const std::string& steps,
                                          const std::string& lr) {
  return {cmd,
          "--model",
          model,
          "--data",
          data,
          "--out",
          out_dir,
          "--steps",
          steps,
          "--micro-batch",
          cfg_arg(p.cfg, sec, "micro_batch"),
          "--block",
          cfg_arg(p.cfg, sec, "block"),
          "--lr",
          lr.empty() ? cfg_arg(p.cfg, sec, "lr") : lr,
          "--warmup",
          cfg_arg(p.cfg, sec, "warmup")};
}

// The SFT arguments of one arm (budget, validation, the cap-independent LR schedule).
std::vector<std::string> sft_args(const Plan& p, const std::string& base, const std::string& train_file,
                                  const std::string& val_file, const std::string& out_dir,
                                  const std::string& trainable, int seed, const std::string& lr) {
  const json& sft = p.cfg["sft"];
  std::vector<std::string> a =
      train_stage_args(p, "train", "sft", base, train_file, out_dir,
                       p.budget == "problems" ? problem_steps(p.cfg) : cfg_arg(p.cfg, "sft", "steps"), lr);
  for (std::string x : {std::string("--schedule"), cfg_arg(p.cfg, "sft", "schedule"), std::string("--seed"),
                        std::to_string(seed), std::string("--threads"), p.threads, std::string("-q")})
    a.push_back(x);
  if (is_lora_arm(trainable)) {
    for (std::string x :
         {std::string("--lora-rank"), cfg_arg(p.cfg, "sft", "lora_rank"), std::string("--lora-alpha"),
          cfg_arg(p.cfg, "sft", "lora_alpha"), std::string("--lora-targets"), trainable.substr(5)})
      a.push_back(x);
  } else {
    a.push_back("--trainable");
    a.push_back(trainable);
  }
  for (auto& x : chat_args(p)) a.push_back(x);
  if (!val_file.empty()) {
    for (const char* x : {"--val", val_file.c_str(), "--eval-every"}) a.push_back(x);
    a.push_back(cfg_arg(p.cfg, "sft", "eval_every"));
    if (select_rule(p) == "val_accuracy")  // every evaluation's weights kept for the selection stage
      for (std::string x : {std::string("--save-every"), cfg_arg(p.cfg, "sft", "eval_every"),
                            std::string("--keep-last"), std::string("1000000")})
        a.push_back(x);
  }
  if (p.budget == "problems") {
    a.push_back("--no-packing");  // one problem per row: steps x micro_batch problems, the same in every arm
  } else if (p.budget == "tokens") {
    a.push_back("--max-supervised-tokens");
    a.push_back(s(sft["supervised_tokens"]));
  } else if (p.budget == "converged") {
    // Early stopping compares validation answer accuracy (greedy decoding of the held-out training
    // problems, decoded as model selection decodes them), the same rule for every arm; never the
    // arm's own target loss, whose scale differs with the target's length.
    for (std::string x :
         {std::string("--early-stop-patience"), cfg_arg(p.cfg, "sft", "patience"),
          std::string("--early-stop-min-delta"), cfg_arg(p.cfg, "sft", "min_delta"),
          std::string("--early-stop-metric"), std::string("accuracy"), std::string("--val-problems"),
          p.out + "/eval-sets/val.jsonl", std::string("--val-limit"), cfg_arg(p.cfg, "sft", "select_limit"),
          std::string("--val-max-new-tokens"), cfg_arg(p.cfg, "eval", "max_new_tokens"),
          std::string("--val-batch"), cfg_arg(p.cfg, "eval", "batch")})
      a.push_back(x);
  }
  return a;
}

std::vector<std::string> lr_grid(const Plan& p, const std::string& trainable) {
  const json& sft = p.cfg["sft"];
  if (!sft.contains("lr_grid")) return {""};
  const json& g = sft["lr_grid"];
  TSFT_CHECK(g.is_object(), "{}: [sft.lr_grid] must be a table: trainable = [lr, ...]", p.config_path);
  for (auto& [k, v] : g.items()) {
    bool used = false;
    for (auto& a : p.arms) used |= a.substr(a.find(':') + 1) == k;
    TSFT_CHECK(used, "{}: [sft.lr_grid] {}: no arm trains '{}'", p.config_path, k, k);
    TSFT_CHECK(v.is_array() && !v.empty(), "{}: [sft.lr_grid] {}: a non-empty list of learning rates",
               p.config_path, k);
    for (auto& x : v)
      TSFT_CHECK(x.is_number() && x.get<double>() > 0, "{}: [sft.lr_grid] {}: rates must be > 0",
                 p.config_path, k);
  }
  if (!g.contains(trainable)) return {""};
  std::vector<std::string> out;
  for (auto& x : g[trainable]) out.push_back(s(x));
  return out;
}

}  // namespace tsft::exp_detail
