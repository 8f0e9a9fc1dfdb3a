#include "train/run_setup.hpp"

#include <cblas.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>

#include "core/build_info.hpp"
#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/progress.hpp"              // log_info
#include "kernels/cpu/gemm_ops_dnnl.hpp"  // onednn_version (versions.json)
#include "model/lora.hpp"
#include "train/guard.hpp"
#include "train/run_dir.hpp"
#include "train/select.hpp"

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace tsft {

namespace {
// versions.json: what produced the run (build, compiler, libraries whose kernels set the numerics, CPU).
std::string versions_json() {
  json v = {{"tsft", TSFT_VERSION}, {"compiler", __VERSION__}, {"cxx_standard", (long)__cplusplus}};
  v["openblas"] = openblas_get_config();
  v["onednn"] = onednn_version();
  v["git"] = build_git();
  v["cpu"] = cpu_model();
  return v.dump(2) + "\n";
}
}  // namespace

std::vector<PackedRow> train_load_rows(const TrainConfig& cfg, const tokenizer::Tokenizer& tok,
                                       const std::string& path, bool log) {
  DataOptions dopt;
  dopt.block = cfg.block;
  dopt.overlong = cfg.overlong;
  dopt.chat.template_name = cfg.chat_template;
  DataStats ds;
  std::vector<Example> ex =
      cfg.pretrain ? data_load_text(path, tok, dopt, &ds) : data_load_sft(path, tok, dopt, &ds);
  std::vector<PackedRow> rows = data_pack(ex, cfg.block, cfg.packing);
  int64_t row_tokens = 0;
  for (auto& r : rows) row_tokens += (int64_t)r.ids.size();
  if (log)
    log_info(
        "data {}: {} examples, {} tokens, {} supervised; {} truncated, {} dropped (block {}); {} rows, fill "
        "{:.1f}%",
        path, ds.examples, ds.tokens, ds.supervised, ds.truncated, ds.dropped, cfg.block, rows.size(),
        100.0 * row_tokens / ((double)rows.size() * cfg.block));
  return rows;
}

StepPlan train_plan_steps(const TrainConfig& cfg, const std::vector<PackedRow>& rows, int64_t per_epoch) {
  const int64_t per_step = cfg.grad_accum;
  int64_t total = cfg.max_steps > 0
                      ? cfg.max_steps
                      : std::max<int64_t>(1, (int64_t)std::ceil(cfg.epochs * per_epoch / per_step));
  if (cfg.max_supervised_tokens <= 0) return {total, total};
  int64_t sup_all = 0;
  for (auto& r : rows)
    for (int32_t t : r.targets) sup_all += t >= 0;
  TSFT_CHECK(sup_all > 0, "{}: no supervised tokens", cfg.data_path);
  double per = (double)sup_all / (double)per_epoch * (double)per_step;
  int64_t horizon = std::max<int64_t>(1, (int64_t)std::ceil((double)cfg.max_supervised_tokens / per));
  if (!cfg.quiet)
    log_info("budget: {} supervised tokens (~{:.0f} per step: ~{} steps)", cfg.max_supervised_tokens, per,
             horizon);
  return {horizon, 4 * horizon + 10};
}

void train_check_options(const TrainConfig& cfg) {
  TSFT_USAGE_CHECK(cfg.block > 1 && cfg.micro_batch > 0 && cfg.grad_accum > 0,
                   "block, micro_batch and grad_accum must be positive");
  TSFT_USAGE_CHECK(!cfg.out_dir.empty(), "an output directory is required");
  nonfinite_policy_parse(cfg.nonfinite);
  TSFT_USAGE_CHECK(cfg.max_skips >= 0, "--max-skips must be >= 0 (got {})", cfg.max_skips);
}

void train_check_early_stop(const TrainConfig& cfg, bool has_val, bool has_scorer) {
  TSFT_USAGE_CHECK(cfg.early_stop_patience <= 0 || has_val,
                   "early stopping (patience {}) needs a validation file (--val)", cfg.early_stop_patience);
  TSFT_USAGE_CHECK(cfg.early_stop_metric == "loss" || cfg.early_stop_metric == "accuracy",
                   "unknown early-stop metric '{}' (loss, accuracy)", cfg.early_stop_metric);
  TSFT_USAGE_CHECK(cfg.early_stop_metric != "accuracy" || has_scorer,
                   "early stopping on validation accuracy needs the validation problems (--val-problems)");
}

std::string train_tokenizer_path(const TrainConfig& cfg) {
  const bool resuming = !cfg.resume_dir.empty();
  const std::string src_dir = resuming && !cfg.lora.on() ? cfg.resume_dir : cfg.model_dir;
  std::string path =
      !cfg.tokenizer_path.empty() ? cfg.tokenizer_path : (fs::path(src_dir) / "tokenizer.json").string();
  TSFT_CHECK(fs::exists(path), "{}: no tokenizer.json (pass --tokenizer)", path);
  return path;
}

void train_select_trainable(Engine& m, const TrainConfig& cfg) {
  const ModelConfig& mcfg = m.config();
  const TensorPredicate pred = cfg.lora.on() ? TensorPredicate(lora_only)
                                             : select_parse(cfg.trainable, mcfg.L, mcfg.tie_word_embeddings);
  // Device memory is the engine's own check; TSFT_NO_MEMORY_CHECK=1 overrides for runs started by
  // `tsft experiment` (which has no --no-memory-check).
  const char* no_check = std::getenv("TSFT_NO_MEMORY_CHECK");
  if (cfg.memory_check && cfg.engine.device == "cpu" && !(no_check && std::string(no_check) == "1")) {
    int64_t n = 0;
    for (auto& e : m.table().entries) n += pred(e) ? (int64_t)e.numel : 0;
    check_train_memory(n, m.workspace_bytes(cfg.micro_batch, cfg.block, true), cfg.micro_batch, cfg.block,
                       mem_available_bytes());
  }
  m.set_trainable(pred);
  TSFT_CHECK(m.table().grad_total > 0, "--trainable '{}' selects no tensor", cfg.trainable);
  if (cfg.quiet) return;
  std::string s;
  for (auto& [g, c] : select_counts(m.table())) s += fmt::format(" {} {}/{}", g, c.first, c.second);
  log_info("trainable '{}': {} of {} parameters;{}",
           cfg.lora.on()
               ? fmt::format("LoRA r {} alpha {} on {}", cfg.lora.rank, cfg.lora.alpha, cfg.lora.targets)
               : cfg.trainable,
           m.table().count_params(true), m.table().count_params(), s);
}

std::string train_start_outputs(const TrainConfig& cfg, const json& run_config, int64_t start) {
  fs::create_directories(cfg.out_dir);
  const std::string metrics_path = (fs::path(cfg.out_dir) / "metrics.jsonl").string();
  if (!cfg.resume_dir.empty())
    truncate_metrics(metrics_path, start);
  else if (fs::exists(metrics_path))
    fs::remove(metrics_path);
  fs_write_atomic((fs::path(cfg.out_dir) / "config.json").string(), run_config.dump(2) + "\n");
  fs_write_atomic((fs::path(cfg.out_dir) / "versions.json").string(), versions_json());
  return metrics_path;
}

std::unique_ptr<Workspace> train_plan_memory(Engine& m, const TrainConfig& cfg, int64_t steps) {
  size_t act_bytes = m.workspace_bytes(cfg.micro_batch, cfg.block, true);
  std::unique_ptr<Workspace> act;
  try {
    act = m.workspace(cfg.micro_batch, cfg.block, true);
  } catch (const std::bad_alloc&) {
    TSFT_FAIL("cannot allocate {:.1f} MiB of activations for {} x {} tokens; lower --micro-batch or --block",
              act_bytes / 1048576.0, cfg.micro_batch, cfg.block);
  }
  if (!cfg.quiet)
    log_info(
        "engine {}: weights {:.1f} MiB, grads+AdamW {:.1f} MiB, activations {:.1f} MiB; {} steps of {} x {} "
        "rows",
        m.name(), m.weight_bytes() / 1048576.0, m.gradient_bytes() / 1048576.0, act_bytes / 1048576.0, steps,
        cfg.grad_accum, cfg.micro_batch);
  return act;
}

}  // namespace tsft
