#include "train/trainer.hpp"

#include <cblas.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "core/build_info.hpp"
#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/progress.hpp"
#include "core/rng.hpp"
#include "core/safetensors.hpp"
#include "kernels/cpu/gemm_ops_dnnl.hpp"  // onednn_version (versions.json)
#include "kernels/cpu/kernels.hpp"
#include "model/engine.hpp"
#include "model/lora.hpp"
#include "train/guard.hpp"
#include "train/lora_train.hpp"
#include "train/run_dir.hpp"
#include "train/select.hpp"

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace tsft {

json train_config_to_json(const TrainConfig& c) {
  return {{"model", c.model_dir},
          {"data", c.data_path},
          {"val", c.val_path},
          {"out", c.out_dir},
          {"pretrain", c.pretrain},
          {"trainable", c.trainable},
          {"block", c.block},
          {"micro_batch", c.micro_batch},
          {"grad_accum", c.grad_accum},
          {"max_steps", c.max_steps},
          {"epochs", c.epochs},
          {"lr", c.adam.lr},
          {"beta1", c.adam.beta1},
          {"beta2", c.adam.beta2},
          {"eps", c.adam.eps},
          {"weight_decay", c.adam.weight_decay},
          {"decay_all", c.adam.decay_all},
          {"clip", c.adam.clip},
          {"schedule", c.schedule},
          {"warmup", c.warmup},
          {"min_lr_ratio", c.min_lr_ratio},
          {"seed", c.seed},
          {"threads", c.threads},
          {"save_every", c.save_every},
          {"keep_last", c.keep_last},
          {"eval_every", c.eval_every},
          {"packing", c.packing},
          {"overlong", c.overlong == Overlong::drop ? "drop" : "truncate"},
          {"chat_template", c.chat_template},
          {"max_supervised_tokens", c.max_supervised_tokens},
          {"early_stop_patience", c.early_stop_patience},
          {"early_stop_min_delta", c.early_stop_min_delta},
          {"early_stop_metric", c.early_stop_metric},
          {"device", c.engine.device},
          {"precision", c.engine.precision},
          {"nonfinite", c.nonfinite},
          {"max_skips", c.max_skips},
          {"memory_check", c.memory_check},
          {"lora", c.lora.on() ? lora_options_json(c.lora) : json()}};
}

double train_flops(const ModelConfig& c, const TensorTable& table, const std::vector<int>& rows, int T) {
  double tokens = 0, attn = 0;
  for (int len : rows) tokens += len;
  double fwd_lin = 0, trainable_lin = 0;
  for (auto& e : table.entries) {
    if (e.shape.size() != 2 || e.group == Group::embed) continue;
    fwd_lin += (double)e.numel;
    if (e.trainable) trainable_lin += (double)e.numel;
  }
  if (c.tie_word_embeddings) {  // the head is the embedding matrix
    fwd_lin += (double)c.V * c.C;
    if (table.get("model.embed_tokens.weight").trainable) trainable_lin += (double)c.V * c.C;
  }
  attn = 4.0 * c.L * (double)rows.size() * T * T * c.H * c.D;  // QK^T + PV per row (full blocks)
  double fwd = 2.0 * tokens * fwd_lin + attn;
  double bwd = 2.0 * tokens * (fwd_lin + trainable_lin) + 2.0 * attn;
  return fwd + bwd;
}

double train_eval_loss(Engine& e, const std::vector<PackedRow>& rows, int micro_batch, int block) {
  std::unique_ptr<Workspace> ws = e.workspace(micro_batch, block, false);
  double loss = 0;
  int64_t n = 0;
  for (size_t r0 = 0; r0 < rows.size(); r0 += micro_batch) {
    std::vector<size_t> which;
    for (size_t r = r0; r < std::min(rows.size(), r0 + micro_batch); r++) which.push_back(r);
    MicroBatch mb = data_make_batch(rows, which);
    Batch b{mb.ids.data(), mb.targets.data(), mb.pos.data(), mb.doc.data(), mb.B, mb.T};
    ForwardResult fr = e.forward(*ws, b);
    loss += fr.loss_sum;
    n += fr.n_valid;
  }
  return n ? loss / n : 0.0;
}

namespace {
std::string versions_json() {
  json v = {{"tsft", TSFT_VERSION}, {"compiler", __VERSION__}, {"cxx_standard", (long)__cplusplus}};
  v["openblas"] = openblas_get_config();
  v["onednn"] = onednn_version();
  v["git"] = build_git();
  v["cpu"] = cpu_model();
  return v.dump(2) + "\n";
}

struct Schedule {  // which rows form global micro-batch g (epoch-seeded shuffles of the packed rows)
  const std::vector<PackedRow>* rows;
  int B;
  uint64_t seed;
  int64_t cached_epoch = -1;
  std::vector<size_t> perm;
  int64_t per_epoch() const { return ((int64_t)rows->size() + B - 1) / B; }
  std::vector<size_t> micro(int64_t g) {
    int64_t e = g / per_epoch(), k = g % per_epoch();
    if (e != cached_epoch) {
      perm.resize(rows->size());
      for (size_t i = 0; i < perm.size(); i++) perm[i] = i;
      Xoshiro rng(seed * 1000003ULL + (uint64_t)e);
      for (size_t i = perm.size(); i > 1; i--) std::swap(perm[i - 1], perm[rng.below(i)]);
      cached_epoch = e;
    }
    std::vector<size_t> w;
    for (int64_t i = k * B; i < std::min<int64_t>((int64_t)perm.size(), (k + 1) * B); i++)
      w.push_back(perm[i]);
    return w;
  }
};

// The engine's weights for a checkpoint or final/, refusing a non-finite trainable weight (an update
// that overflowed): the last good checkpoint must never be replaced by a bad state.
Model download_finite(const Engine& e, int64_t step, const std::string& out_dir) {
  Model host = engine_download(e);
  int64_t n = 0;
  std::string bad = nonfinite_first_weight(host, &n);
  if (!bad.empty()) {
    std::string last = last_checkpoint(out_dir);
    TSFT_FAIL(
        "step {}: {} of {} values of weight {} are not finite after the update (learning rate too high?); "
        "nothing saved, last good checkpoint: {}",
        step, n, host.table.get(bad).numel, bad, last.empty() ? "none" : last);
  }
  return host;
}

void save_checkpoint(Engine& e, const Optimizer& opt, const json& state, const std::string& dir,
                     const std::string& tok_dir, const TrainConfig& cfg) {
  Model host = download_finite(e, state.at("step").get<int64_t>(), fs::path(dir).parent_path().string());
  fs_write_dir(dir, [&](const std::string& tmp) {
    write_model_files(host, tmp, tok_dir, "float32", cfg);  // fp32 master weights: resume is exact
    opt.save(e, (fs::path(tmp) / "optimizer.safetensors").string());
    fs_write_atomic((fs::path(tmp) / "trainer_state.json").string(), state.dump(2) + "\n");
  });
}

// Packed rows of one data file (raw text for pre-training, chat/prompt-completion JSONL for SFT).
std::vector<PackedRow> load_rows(const TrainConfig& cfg, const tokenizer::Tokenizer& tok,
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

// Forward + backward of every micro-batch of one optimizer step into the engine's gradients (zeroed
// first). HF convention over the whole step: every token's gradient is scaled by 1 / (supervised
// tokens of all micro-batches), so accumulation equals one big batch. Returns the summed loss.
double accumulate_gradients(Engine& e, Workspace& ws, const std::vector<MicroBatch>& mbs, int64_t sup,
                            uint64_t dropout_seed, double* flops) {
  e.zero_grads();
  double loss_sum = 0;
  for (size_t i = 0; i < mbs.size(); i++) {
    const MicroBatch& mb = mbs[i];
    if (mb.supervised == 0) continue;
    Batch b{mb.ids.data(), mb.targets.data(), mb.pos.data(), mb.doc.data(), mb.B, mb.T};
    b.dropout_seed = dropout_seed + i;  // LoRA dropout: one mask per micro-batch, a function of the step
    ForwardResult fr = e.forward(ws, b, nullptr, true, 1.0 / std::max<int64_t>(1, sup));
    e.backward(ws, b);
    loss_sum += fr.loss_sum;
    std::vector<int> lens(mb.B, mb.T);
    *flops += train_flops(e.config(), e.table(), lens, mb.T);
  }
  return loss_sum;
}

NonFiniteReport nonfinite_head(int64_t step, double loss, double gnorm, double lr) {
  NonFiniteReport r;
  r.step = step;
  r.loss = loss;
  r.grad_norm = gnorm;
  r.lr = lr;
  return r;
}

// A step with a non-finite loss or gradient norm: diagnose (failure path only), write the report,
// then throw (policy stop, or more than max_skips skips) or zero the gradients for a skipped step.
void handle_nonfinite(Engine& e, Workspace& ws, const std::vector<MicroBatch>& mbs,
                      const std::vector<std::vector<size_t>>& which, int64_t sup, NonFiniteReport head,
                      const TrainConfig& cfg, int64_t* skips) {
  NonFiniteReport r = nonfinite_diagnose(e, ws, mbs, which, sup);
  r.step = head.step;
  r.loss = head.loss;
  r.grad_norm = head.grad_norm;
  r.lr = head.lr;
  bool skip = nonfinite_policy_parse(cfg.nonfinite) == NonFinitePolicy::skip && *skips < cfg.max_skips;
  if (skip) ++*skips;
  json extra = {
      {"policy", cfg.nonfinite}, {"skipped", skip}, {"skips", *skips}, {"max_skips", cfg.max_skips}};
  std::string path = nonfinite_write(r, cfg.out_dir, extra);
  if (skip) {
    e.zero_grads();
    if (!cfg.quiet)
      log_info("{}; step skipped ({} of at most {}), see {}", nonfinite_summary(r), *skips, cfg.max_skips,
               path);
    return;
  }
  std::string last = last_checkpoint(cfg.out_dir);
  std::string why = cfg.nonfinite == "skip"
                        ? fmt::format("; {} steps already skipped (--max-skips {})", *skips, cfg.max_skips)
                        : "";
  TSFT_FAIL("{}{}; diagnostic {}; last good checkpoint: {}", nonfinite_summary(r), why, path,
            last.empty() ? "none" : last);
}

// Early stopping's comparison: the validation loss (lower is better) or answer accuracy (higher is
// better; a tie is no improvement, so the earliest best step is kept, as in model selection).
struct ValBest {
  bool accuracy = false;
  double min_delta = 0, loss = -1, acc = -1;
  bool improves(double l, double a) const {
    if (accuracy) return acc < 0 || a > acc + min_delta;
    return loss < 0 || l < loss - min_delta;
  }
};

// The current weights saved for the scorer (DIR/val-model, removed once scored) and scored.
double score_weights(Engine& m, const ValScorer& score, const std::string& out_dir,
                     const std::string& tok_dir, int64_t step) {
  const std::string dir = (fs::path(out_dir) / "val-model").string();
  Model host = engine_download(m);  // with LoRA the scorer gets base + adapter merged (a full checkpoint)
  model_save(host.cfg.lora.r > 0 ? lora_merge(host) : host, dir, tok_dir, "float32");
  double a = score(dir, step);
  fs::remove_all(dir);
  TSFT_CHECK(a >= 0 && a <= 1, "validation accuracy at step {} is {} (expected [0, 1])", step, a);
  return a;
}

}  // namespace

TrainResult train_run(const TrainConfig& cfg, const ValScorer& val_accuracy) {
  kernels_init_threads(cfg.threads);
  TSFT_USAGE_CHECK(cfg.block > 1 && cfg.micro_batch > 0 && cfg.grad_accum > 0,
                   "block, micro_batch and grad_accum must be positive");
  TSFT_USAGE_CHECK(!cfg.out_dir.empty(), "an output directory is required");
  nonfinite_policy_parse(cfg.nonfinite);
  TSFT_USAGE_CHECK(cfg.max_skips >= 0, "--max-skips must be >= 0 (got {})", cfg.max_skips);
  const bool resuming = !cfg.resume_dir.empty();
  if (resuming) fs_recover_dir(cfg.resume_dir);
  // the tokenizer's directory: the model's (a LoRA checkpoint holds only the adapter)
  const std::string src_dir = resuming && !cfg.lora.on() ? cfg.resume_dir : cfg.model_dir;
  std::unique_ptr<Engine> eng = engine_create(cfg.engine, load_start(cfg));
  Engine& m = *eng;
  const ModelConfig& mcfg = m.config();
  TSFT_CHECK(cfg.block <= mcfg.max_position, "block {} exceeds max_position_embeddings {}", cfg.block,
             mcfg.max_position);
  std::string tok_path =
      !cfg.tokenizer_path.empty() ? cfg.tokenizer_path : (fs::path(src_dir) / "tokenizer.json").string();
  TSFT_CHECK(fs::exists(tok_path), "{}: no tokenizer.json (pass --tokenizer)", tok_path);
  tokenizer::Tokenizer tok(tok_path);
  TSFT_CHECK(tok.vocab_size() <= mcfg.V, "{}: tokenizer has {} ids but the model's vocab_size is {}",
             tok_path, tok.vocab_size(), mcfg.V);

  std::vector<PackedRow> rows = load_rows(cfg, tok, cfg.data_path, !cfg.quiet);
  std::vector<PackedRow> val_rows;
  if (!cfg.val_path.empty()) val_rows = load_rows(cfg, tok, cfg.val_path, false);

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
  if (!cfg.quiet) {
    std::string s;
    for (auto& [g, c] : select_counts(m.table())) s += fmt::format(" {} {}/{}", g, c.first, c.second);
    log_info("trainable '{}': {} of {} parameters;{}",
             cfg.lora.on()
                 ? fmt::format("LoRA r {} alpha {} on {}", cfg.lora.rank, cfg.lora.alpha, cfg.lora.targets)
                 : cfg.trainable,
             m.table().count_params(true), m.table().count_params(), s);
  }
  // One writer per run directory (taken once the run is known to fit: a refused run writes nothing);
  // what a killed run left half-written (temp files) goes first.
  DirLock lock(cfg.out_dir, "tsft train");
  fs_remove_stale_temps(cfg.out_dir);
  const std::string tok_dir = stage_tokenizer(tok_path, cfg.out_dir);
  Optimizer opt;
  opt.cfg = cfg.adam;
  Schedule sched{&rows, cfg.micro_batch, cfg.seed, -1, {}};
  const int64_t per_step = cfg.grad_accum;
  TSFT_USAGE_CHECK(cfg.early_stop_patience <= 0 || !val_rows.empty(),
                   "early stopping (patience {}) needs a validation file (--val)", cfg.early_stop_patience);
  TSFT_USAGE_CHECK(cfg.early_stop_metric == "loss" || cfg.early_stop_metric == "accuracy",
                   "unknown early-stop metric '{}' (loss, accuracy)", cfg.early_stop_metric);
  TSFT_USAGE_CHECK(cfg.early_stop_metric != "accuracy" || val_accuracy,
                   "early stopping on validation accuracy needs the validation problems (--val-problems)");
  int64_t total = cfg.max_steps > 0
                      ? cfg.max_steps
                      : std::max<int64_t>(1, (int64_t)std::ceil(cfg.epochs * sched.per_epoch() / per_step));
  // Equal-token budget: the schedule's horizon is the step count that trains `max_supervised_tokens`
  // at the data's mean supervised tokens per step; the loop itself stops on the exact count (at most
  // 4x the horizon, lr at its floor past it).
  int64_t horizon = total, step_cap = total;
  if (cfg.max_supervised_tokens > 0) {
    int64_t sup_all = 0;
    for (auto& r : rows)
      for (int32_t t : r.targets) sup_all += t >= 0;
    TSFT_CHECK(sup_all > 0, "{}: no supervised tokens", cfg.data_path);
    double per = (double)sup_all / (double)sched.per_epoch() * (double)per_step;
    horizon = std::max<int64_t>(1, (int64_t)std::ceil((double)cfg.max_supervised_tokens / per));
    step_cap = 4 * horizon + 10;
    if (!cfg.quiet)
      log_info("budget: {} supervised tokens (~{:.0f} per step: ~{} steps)", cfg.max_supervised_tokens, per,
               horizon);
  }
  total = horizon;
  LrSchedule kind = lr_schedule_parse(cfg.schedule);
  int64_t start = 0;
  // Budget and early-stopping state (saved in trainer_state.json, so a resumed run stops where the
  // uninterrupted one would).
  int64_t sup_done = 0, best_step = 0, bad_evals = 0, skips = 0;
  ValBest best{cfg.early_stop_metric == "accuracy", cfg.early_stop_min_delta};
  const std::string best_dir = (fs::path(cfg.out_dir) / "best").string();
  // The run's configuration as recorded: a resumed run (--resume without --model) keeps its base model's.
  json run_config = train_config_to_json(cfg);
  json st;  // the checkpoint resumed from
  if (resuming) {
    st = trainer_state_read(cfg.resume_dir);
    if (cfg.model_dir.empty() && st.contains("config")) run_config["model"] = st["config"].value("model", "");
    start = st.at("step").get<int64_t>();
    sup_done = st.value("supervised_tokens_done", (int64_t)0);
    best_step = st.value("best_step", (int64_t)0);
    best.loss = st.value("best_val_loss", -1.0);
    best.acc = st.value("best_val_accuracy", -1.0);
    bad_evals = st.value("bad_evals", (int64_t)0);
    skips = st.value("skipped_steps", (int64_t)0);
    TSFT_CHECK(
        st.at("trainable") == cfg.trainable && st.at("rows") == (int64_t)rows.size() &&
            st.at("micro_batch") == cfg.micro_batch && st.at("grad_accum") == cfg.grad_accum &&
            st.at("seed") == cfg.seed && st.value("lora", json()) == train_config_to_json(cfg)["lora"],
        "{}: trainer_state.json does not match this run (trainable, LoRA options, data rows, micro_batch, "
        "grad_accum, seed must be the same to resume)",
        cfg.resume_dir);
    opt.load(m, (fs::path(cfg.resume_dir) / "optimizer.safetensors").string());
    opt.step = start - skips;  // skipped steps made no update
    if (!cfg.quiet) log_info("resumed from {} at step {}", cfg.resume_dir, start);
  }
  fs::create_directories(cfg.out_dir);
  const std::string metrics_path = (fs::path(cfg.out_dir) / "metrics.jsonl").string();
  if (resuming)
    truncate_metrics(metrics_path, start);
  else if (fs::exists(metrics_path))
    fs::remove(metrics_path);
  fs_write_atomic((fs::path(cfg.out_dir) / "config.json").string(), run_config.dump(2) + "\n");
  fs_write_atomic((fs::path(cfg.out_dir) / "versions.json").string(), versions_json());

  // Memory planned once, before step 0.
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
        m.name(), m.weight_bytes() / 1048576.0, m.gradient_bytes() / 1048576.0, act_bytes / 1048576.0, total,
        cfg.grad_accum, cfg.micro_batch);

  std::ofstream metrics(metrics_path, std::ios::app);
  TSFT_CHECK(metrics.is_open(), "{}: cannot open for appending: {}", metrics_path, std::strerror(errno));
  Progress prog("train", total, "steps");
  TrainResult res;
  double tok_sum = 0, time_sum = 0, flop_sum = 0;
  std::string stop_reason = "steps";
  // The checkpoint of a run's last step (early stop, token budget, step count) is marked finished: a
  // resumed run then trains no further and writes final/ and the summary the run would have written.
  const bool finished = resuming && st.value("finished", false);
  if (resuming) {
    res.last_loss = st.value("last_loss", 0.0);
    res.val_loss = st.value("val_loss", -1.0);
    stop_reason = st.value("stop_reason", stop_reason);
  }
  int64_t step_end = start;
  for (int64_t step = start; step < step_cap && !finished; step++) {
    auto t0 = std::chrono::steady_clock::now();
    std::vector<MicroBatch> mbs;
    std::vector<std::vector<size_t>> which;
    int64_t sup = 0, toks = 0;
    for (int64_t a = 0; a < per_step; a++) {
      which.push_back(sched.micro(step * per_step + a));
      mbs.push_back(data_make_batch(rows, which.back()));
      sup += mbs.back().supervised;
      toks += mbs.back().tokens;
    }
    double flops = 0;
    double loss_sum =
        accumulate_gradients(m, *act, mbs, sup, (cfg.seed * 1000003ULL + (uint64_t)step) << 8, &flops);
    double gnorm = opt.clip_gradients(m);
    double lr = lr_at(step, horizon, cfg.warmup, kind, cfg.adam.lr, cfg.min_lr_ratio);
    double loss = sup ? loss_sum / sup : 0.0;
    const bool skipped = !std::isfinite(loss) || !std::isfinite(gnorm);
    if (skipped)
      handle_nonfinite(m, *act, mbs, which, sup, nonfinite_head(step + 1, loss, gnorm, lr), cfg, &skips);
    else
      opt.update(m, lr);
    double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    tok_sum += toks;
    time_sum += dt;
    flop_sum += flops;
    if (!skipped) {
      sup_done += sup;
      res.last_loss = loss;
    }
    json line = {{"step", step + 1},
                 {"loss", std::isfinite(loss) ? json(loss) : json(nullptr)},
                 {"lr", lr},
                 {"grad_norm", std::isfinite(gnorm) ? json(gnorm) : json(nullptr)},
                 {"supervised_tokens", sup},
                 {"tokens", toks},
                 {"tokens_per_s", toks / dt},
                 {"gflops", flops / dt / 1e9},
                 {"seconds", dt}};
    if (skipped) line.update({{"skipped", true}, {"skips", skips}});
    append_line(metrics, metrics_path, line);
    if (!cfg.quiet)
      prog.update(step + 1, fmt::format("loss {:.4f} lr {:.2e} {:.0f} tok/s", loss, lr, toks / dt));
    bool last = cfg.max_supervised_tokens > 0 ? sup_done >= cfg.max_supervised_tokens || step + 1 == step_cap
                                              : step + 1 == total;
    if (last && cfg.max_supervised_tokens > 0) stop_reason = "tokens";
    if (!val_rows.empty() && ((cfg.eval_every > 0 && (step + 1) % cfg.eval_every == 0) || last)) {
      res.val_loss = train_eval_loss(m, val_rows, cfg.micro_batch, cfg.block);
      json vline = {{"step", step + 1}, {"val_loss", res.val_loss}};
      double acc = -1;
      if (val_accuracy)
        vline["val_accuracy"] = acc = score_weights(m, val_accuracy, cfg.out_dir, tok_dir, step + 1);
      append_line(metrics, metrics_path, vline);
      if (!cfg.quiet)
        log_info("step {}: validation loss {:.4f}{}", step + 1, res.val_loss,
                 acc >= 0 ? fmt::format(", answer accuracy {:.3f}", acc) : "");
      if (cfg.early_stop_patience > 0) {
        if (best.improves(res.val_loss, acc)) {
          best.loss = res.val_loss;
          best.acc = acc;
          best_step = step + 1;
          bad_evals = 0;
          save_model(engine_download(m), best_dir, tok_dir, "float32", cfg);  // atomic (temp dir + rename)
        } else if (++bad_evals >= cfg.early_stop_patience && !last) {
          last = true;
          stop_reason = "early_stop";
          if (!cfg.quiet)
            log_info(
                "early stop at step {}: no validation {} improvement in {} evaluations (best at step {})",
                step + 1, cfg.early_stop_metric, bad_evals, best_step);
        }
      }
    }
    step_end = step + 1;
    if ((cfg.save_every > 0 && (step + 1) % cfg.save_every == 0) || last) {
      json st = {{"step", step + 1},
                 {"total_steps", total},
                 {"trainable", cfg.trainable},
                 {"rows", (int64_t)rows.size()},
                 {"micro_batch", cfg.micro_batch},
                 {"grad_accum", cfg.grad_accum},
                 {"seed", cfg.seed},
                 {"epoch", (step + 1) * per_step / sched.per_epoch()},
                 {"lr", lr},
                 {"loss", loss},
                 {"supervised_tokens_done", sup_done},
                 {"best_step", best_step},
                 {"best_val_loss", best.loss},
                 {"best_val_accuracy", best.acc},
                 {"bad_evals", bad_evals},
                 {"skipped_steps", skips},
                 {"config", run_config},
                 {"lora", run_config["lora"]},
                 {"last_loss", res.last_loss},
                 {"val_loss", res.val_loss},
                 {"stop_reason", stop_reason},
                 {"finished", last}};
      save_checkpoint(m, opt, st,
                      (fs::path(cfg.out_dir) / fmt::format("checkpoint-{:06d}", step + 1)).string(), tok_dir,
                      cfg);
      prune_checkpoints(cfg.out_dir, cfg.keep_last);
    }
    if (cfg.stop_after > 0 && step + 1 - start >= cfg.stop_after && !last) {
      res.steps = step + 1;
      res.stop_reason = "stop_after";
      res.skipped_steps = skips;
      return res;
    }
    if (last) break;
  }
  if (!cfg.quiet) prog.finish(fmt::format("loss {:.4f}", res.last_loss));
  res.steps = step_end;
  res.tokens_per_s = time_sum > 0 ? tok_sum / time_sum : 0;
  res.gflops = time_sum > 0 ? flop_sum / time_sum / 1e9 : 0;
  res.final_dir = (fs::path(cfg.out_dir) / "final").string();
  res.supervised_tokens = sup_done;
  res.best_step = best_step;
  res.best_val_loss = best.loss;
  res.best_val_accuracy = best.acc;
  res.stop_reason = stop_reason;
  res.skipped_steps = skips;
  if (cfg.early_stop_patience > 0 && fs::exists(best_dir)) {
    // Convergence budget: the final model is the best-validation one.
    Model best = cfg.lora.on() ? model_load_adapted(cfg.model_dir, best_dir) : model_load(best_dir);
    save_model(best, res.final_dir, tok_dir, cfg.save_dtype, cfg);
  } else {
    save_model(download_finite(m, step_end, cfg.out_dir), res.final_dir, tok_dir, cfg.save_dtype, cfg);
  }
  json summary = {{"steps", res.steps},
                  {"supervised_tokens", sup_done},
                  {"stop_reason", stop_reason},
                  {"last_loss", res.last_loss},
                  {"val_loss", res.val_loss},
                  {"best_step", best_step},
                  {"best_val_loss", best.loss},
                  {"best_val_accuracy", best.acc},
                  {"early_stop_metric", cfg.early_stop_metric},
                  {"tokens_per_s", res.tokens_per_s},
                  {"gflops", res.gflops},
                  {"trainable_params", m.table().count_params(true)},
                  {"skipped_steps", skips}};
  fs_write_atomic((fs::path(cfg.out_dir) / "summary.json").string(), summary.dump(2) + "\n");
  return res;
}

}  // namespace tsft
