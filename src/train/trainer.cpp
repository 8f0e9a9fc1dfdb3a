#include "train/trainer.hpp"

#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/progress.hpp"
#include "core/rng.hpp"
#include "core/safetensors.hpp"
#include "kernels/cpu/kernels.hpp"
#include "model/engine.hpp"
#include "model/lora.hpp"
#include "train/guard.hpp"
#include "train/lora_train.hpp"
#include "train/run_dir.hpp"
#include "train/run_setup.hpp"

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

// What a run carries from step to step and across a resume (trainer_state.json), so that a resumed run
// stops where the uninterrupted one would: the token budget, early stopping's best, the skipped steps.
struct RunState {
  int64_t start = 0, sup_done = 0, best_step = 0, bad_evals = 0, skips = 0;
  ValBest best;
  double last_loss = 0, val_loss = -1;
  std::string stop_reason = "steps";
  bool finished = false;  // the checkpoint of a run's last step: a resumed run trains no further
};

// The state of the checkpoint resumed from (a fresh one without --resume), the optimizer's moments loaded;
// refuses a checkpoint of another run. A resumed run without --model records its base model's path.
RunState resume_state(const TrainConfig& cfg, Engine& m, Optimizer& opt, size_t rows, json& run_config) {
  RunState rs;
  rs.best = ValBest{cfg.early_stop_metric == "accuracy", cfg.early_stop_min_delta};
  if (cfg.resume_dir.empty()) return rs;
  json st = trainer_state_read(cfg.resume_dir);
  if (cfg.model_dir.empty() && st.contains("config")) run_config["model"] = st["config"].value("model", "");
  rs.start = st.at("step").get<int64_t>();
  rs.sup_done = st.value("supervised_tokens_done", (int64_t)0);
  rs.best_step = st.value("best_step", (int64_t)0);
  rs.best.loss = st.value("best_val_loss", -1.0);
  rs.best.acc = st.value("best_val_accuracy", -1.0);
  rs.bad_evals = st.value("bad_evals", (int64_t)0);
  rs.skips = st.value("skipped_steps", (int64_t)0);
  rs.last_loss = st.value("last_loss", 0.0);
  rs.val_loss = st.value("val_loss", -1.0);
  rs.stop_reason = st.value("stop_reason", rs.stop_reason);
  rs.finished = st.value("finished", false);
  TSFT_CHECK(
      st.at("trainable") == cfg.trainable && st.at("rows") == (int64_t)rows &&
          st.at("micro_batch") == cfg.micro_batch && st.at("grad_accum") == cfg.grad_accum &&
          st.at("seed") == cfg.seed && st.value("lora", json()) == train_config_to_json(cfg)["lora"],
      "{}: trainer_state.json does not match this run (trainable, LoRA options, data rows, micro_batch, "
      "grad_accum, seed must be the same to resume)",
      cfg.resume_dir);
  opt.load(m, (fs::path(cfg.resume_dir) / "optimizer.safetensors").string());
  opt.step = rs.start - rs.skips;  // skipped steps made no update
  if (!cfg.quiet) log_info("resumed from {} at step {}", cfg.resume_dir, rs.start);
  return rs;
}

// What the loop's steps share: the run's inputs, its engine and its files.
struct RunCtx {
  const TrainConfig& cfg;
  Engine& m;
  Workspace& ws;
  Optimizer& opt;
  Schedule& sched;
  const std::vector<PackedRow>& val_rows;
  const ValScorer& val_accuracy;
  const StepPlan plan;
  const LrSchedule kind;
  const json& run_config;
  const std::string tok_dir, best_dir, metrics_path;
  std::ofstream metrics;
};

struct StepResult {
  double loss = 0, gnorm = 0, lr = 0, seconds = 0, flops = 0;
  int64_t sup = 0, toks = 0;
  bool skipped = false;
};

// One optimizer step (0-based `step`): grad_accum micro-batches of the schedule, forward + backward,
// clipping, then the AdamW update -- or, for a non-finite loss or norm, the guard (skip or stop).
StepResult train_step(RunCtx& c, RunState& rs, int64_t step) {
  const TrainConfig& cfg = c.cfg;
  auto t0 = std::chrono::steady_clock::now();
  StepResult r;
  std::vector<MicroBatch> mbs;
  std::vector<std::vector<size_t>> which;
  for (int64_t a = 0; a < cfg.grad_accum; a++) {
    which.push_back(c.sched.micro(step * cfg.grad_accum + a));
    mbs.push_back(data_make_batch(*c.sched.rows, which.back()));
    r.sup += mbs.back().supervised;
    r.toks += mbs.back().tokens;
  }
  double loss_sum =
      accumulate_gradients(c.m, c.ws, mbs, r.sup, (cfg.seed * 1000003ULL + (uint64_t)step) << 8, &r.flops);
  r.gnorm = c.opt.clip_gradients(c.m);
  r.lr = lr_at(step, c.plan.horizon, cfg.warmup, c.kind, cfg.adam.lr, cfg.min_lr_ratio);
  r.loss = r.sup ? loss_sum / r.sup : 0.0;
  r.skipped = !std::isfinite(r.loss) || !std::isfinite(r.gnorm);
  if (r.skipped)
    handle_nonfinite(c.m, c.ws, mbs, which, r.sup, nonfinite_head(step + 1, r.loss, r.gnorm, r.lr), cfg,
                     &rs.skips);
  else
    c.opt.update(c.m, r.lr);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!r.skipped) {
    rs.sup_done += r.sup;
    rs.last_loss = r.loss;
  }
  return r;
}

json step_line(int64_t step, const StepResult& r, int64_t skips) {
  json line = {{"step", step},
               {"loss", std::isfinite(r.loss) ? json(r.loss) : json(nullptr)},
               {"lr", r.lr},
               {"grad_norm", std::isfinite(r.gnorm) ? json(r.gnorm) : json(nullptr)},
               {"supervised_tokens", r.sup},
               {"tokens", r.toks},
               {"tokens_per_s", r.toks / r.seconds},
               {"gflops", r.flops / r.seconds / 1e9},
               {"seconds", r.seconds}};
  if (r.skipped) line.update({{"skipped", true}, {"skips", skips}});
  return line;
}

// Validation after `step` steps: the loss, answer accuracy with a scorer, and early stopping's
// bookkeeping (best/ saved atomically on an improvement). Returns whether the run ends here.
bool validate(RunCtx& c, RunState& rs, int64_t step, bool last) {
  const TrainConfig& cfg = c.cfg;
  rs.val_loss = train_eval_loss(c.m, c.val_rows, cfg.micro_batch, cfg.block);
  json vline = {{"step", step}, {"val_loss", rs.val_loss}};
  double acc = -1;
  if (c.val_accuracy)
    vline["val_accuracy"] = acc = score_weights(c.m, c.val_accuracy, cfg.out_dir, c.tok_dir, step);
  append_line(c.metrics, c.metrics_path, vline);
  if (!cfg.quiet)
    log_info("step {}: validation loss {:.4f}{}", step, rs.val_loss,
             acc >= 0 ? fmt::format(", answer accuracy {:.3f}", acc) : "");
  if (cfg.early_stop_patience <= 0) return last;
  if (rs.best.improves(rs.val_loss, acc)) {
    rs.best.loss = rs.val_loss;
    rs.best.acc = acc;
    rs.best_step = step;
    rs.bad_evals = 0;
    save_model(engine_download(c.m), c.best_dir, c.tok_dir, "float32", cfg);
    return last;
  }
  if (++rs.bad_evals < cfg.early_stop_patience || last) return last;
  rs.stop_reason = "early_stop";
  if (!cfg.quiet)
    log_info("early stop at step {}: no validation {} improvement in {} evaluations (best at step {})", step,
             cfg.early_stop_metric, rs.bad_evals, rs.best_step);
  return true;
}

// checkpoint-NNNNNN after `step` steps: weights, optimizer moments and trainer_state.json.
void write_checkpoint(RunCtx& c, const RunState& rs, int64_t step, const StepResult& r, bool last) {
  const TrainConfig& cfg = c.cfg;
  json st = {{"step", step},
             {"total_steps", c.plan.horizon},
             {"trainable", cfg.trainable},
             {"rows", (int64_t)c.sched.rows->size()},
             {"micro_batch", cfg.micro_batch},
             {"grad_accum", cfg.grad_accum},
             {"seed", cfg.seed},
             {"epoch", step * cfg.grad_accum / c.sched.per_epoch()},
             {"lr", r.lr},
             {"loss", r.loss},
             {"supervised_tokens_done", rs.sup_done},
             {"best_step", rs.best_step},
             {"best_val_loss", rs.best.loss},
             {"best_val_accuracy", rs.best.acc},
             {"bad_evals", rs.bad_evals},
             {"skipped_steps", rs.skips},
             {"config", c.run_config},
             {"lora", c.run_config["lora"]},
             {"last_loss", rs.last_loss},
             {"val_loss", rs.val_loss},
             {"stop_reason", rs.stop_reason},
             {"finished", last}};
  save_checkpoint(c.m, c.opt, st, (fs::path(cfg.out_dir) / fmt::format("checkpoint-{:06d}", step)).string(),
                  c.tok_dir, cfg);
  prune_checkpoints(cfg.out_dir, cfg.keep_last);
}

struct Throughput {
  double tokens = 0, seconds = 0, flops = 0;
};

// final/ (under early stopping the best-validation model: the convergence budget; else the last
// weights) and summary.json.
TrainResult finish_run(RunCtx& c, const RunState& rs, int64_t steps, const Throughput& tp) {
  const TrainConfig& cfg = c.cfg;
  TrainResult res;
  res.steps = steps;
  res.last_loss = rs.last_loss;
  res.val_loss = rs.val_loss;
  res.tokens_per_s = tp.seconds > 0 ? tp.tokens / tp.seconds : 0;
  res.gflops = tp.seconds > 0 ? tp.flops / tp.seconds / 1e9 : 0;
  res.final_dir = (fs::path(cfg.out_dir) / "final").string();
  res.supervised_tokens = rs.sup_done;
  res.best_step = rs.best_step;
  res.best_val_loss = rs.best.loss;
  res.best_val_accuracy = rs.best.acc;
  res.stop_reason = rs.stop_reason;
  res.skipped_steps = rs.skips;
  if (cfg.early_stop_patience > 0 && fs::exists(c.best_dir)) {
    Model best = cfg.lora.on() ? model_load_adapted(cfg.model_dir, c.best_dir) : model_load(c.best_dir);
    save_model(best, res.final_dir, c.tok_dir, cfg.save_dtype, cfg);
  } else {
    save_model(download_finite(c.m, steps, cfg.out_dir), res.final_dir, c.tok_dir, cfg.save_dtype, cfg);
  }
  json summary = {{"steps", res.steps},
                  {"supervised_tokens", rs.sup_done},
                  {"stop_reason", rs.stop_reason},
                  {"last_loss", res.last_loss},
                  {"val_loss", res.val_loss},
                  {"best_step", rs.best_step},
                  {"best_val_loss", rs.best.loss},
                  {"best_val_accuracy", rs.best.acc},
                  {"early_stop_metric", cfg.early_stop_metric},
                  {"tokens_per_s", res.tokens_per_s},
                  {"gflops", res.gflops},
                  {"trainable_params", c.m.table().count_params(true)},
                  {"skipped_steps", rs.skips}};
  fs_write_atomic((fs::path(cfg.out_dir) / "summary.json").string(), summary.dump(2) + "\n");
  return res;
}

bool due(int64_t every, int64_t step) {
  return every > 0 && step % every == 0;
}

}  // namespace

TrainResult train_run(const TrainConfig& cfg, const ValScorer& val_accuracy) {
  kernels_init_threads(cfg.threads);
  train_check_options(cfg);
  if (!cfg.resume_dir.empty()) fs_recover_dir(cfg.resume_dir);
  std::unique_ptr<Engine> eng = engine_create(cfg.engine, load_start(cfg));
  Engine& m = *eng;
  const ModelConfig& mcfg = m.config();
  TSFT_CHECK(cfg.block <= mcfg.max_position, "block {} exceeds max_position_embeddings {}", cfg.block,
             mcfg.max_position);
  const std::string tok_path = train_tokenizer_path(cfg);
  tokenizer::Tokenizer tok(tok_path);
  TSFT_CHECK(tok.vocab_size() <= mcfg.V, "{}: tokenizer has {} ids but the model's vocab_size is {}",
             tok_path, tok.vocab_size(), mcfg.V);
  std::vector<PackedRow> rows = train_load_rows(cfg, tok, cfg.data_path, !cfg.quiet);
  std::vector<PackedRow> val_rows;
  if (!cfg.val_path.empty()) val_rows = train_load_rows(cfg, tok, cfg.val_path, false);
  train_select_trainable(m, cfg);

  // One writer per run directory (taken once the run is known to fit: a refused run writes nothing);
  // what a killed run left half-written (temp files) goes first.
  DirLock lock(cfg.out_dir, "tsft train");
  fs_remove_stale_temps(cfg.out_dir);
  const std::string tok_dir = stage_tokenizer(tok_path, cfg.out_dir);
  Optimizer opt;
  opt.cfg = cfg.adam;
  Schedule sched{&rows, cfg.micro_batch, cfg.seed, -1, {}};
  train_check_early_stop(cfg, !val_rows.empty(), (bool)val_accuracy);
  const StepPlan plan = train_plan_steps(cfg, rows, sched.per_epoch());
  const LrSchedule kind = lr_schedule_parse(cfg.schedule);
  json run_config = train_config_to_json(cfg);  // as recorded
  RunState rs = resume_state(cfg, m, opt, rows.size(), run_config);
  const std::string metrics_path = train_start_outputs(cfg, run_config, rs.start);
  std::unique_ptr<Workspace> act = train_plan_memory(m, cfg, plan.horizon);
  RunCtx c{cfg,          m,
           *act,         opt,
           sched,        val_rows,
           val_accuracy, plan,
           kind,         run_config,
           tok_dir,      (fs::path(cfg.out_dir) / "best").string(),
           metrics_path, std::ofstream(metrics_path, std::ios::app)};
  TSFT_CHECK(c.metrics.is_open(), "{}: cannot open for appending: {}", metrics_path, std::strerror(errno));

  Progress prog("train", plan.horizon, "steps");
  Throughput tp;
  int64_t step_end = rs.start;
  for (int64_t step = rs.start; step < plan.step_cap && !rs.finished; step++) {
    StepResult r = train_step(c, rs, step);
    tp.tokens += r.toks;
    tp.seconds += r.seconds;
    tp.flops += r.flops;
    append_line(c.metrics, metrics_path, step_line(step + 1, r, rs.skips));
    if (!cfg.quiet)
      prog.update(step + 1,
                  fmt::format("loss {:.4f} lr {:.2e} {:.0f} tok/s", r.loss, r.lr, r.toks / r.seconds));
    bool last = cfg.max_supervised_tokens > 0
                    ? rs.sup_done >= cfg.max_supervised_tokens || step + 1 == plan.step_cap
                    : step + 1 == plan.horizon;
    if (last && cfg.max_supervised_tokens > 0) rs.stop_reason = "tokens";
    if (!val_rows.empty() && (due(cfg.eval_every, step + 1) || last)) last = validate(c, rs, step + 1, last);
    step_end = step + 1;
    if (due(cfg.save_every, step + 1) || last) write_checkpoint(c, rs, step + 1, r, last);
    if (cfg.stop_after > 0 && step + 1 - rs.start >= cfg.stop_after && !last) {
      TrainResult res;
      res.steps = step + 1;
      res.stop_reason = "stop_after";
      res.skipped_steps = rs.skips;
      return res;
    }
    if (last) break;
  }
  if (!cfg.quiet) prog.finish(fmt::format("loss {:.4f}", rs.last_loss));
  return finish_run(c, rs, step_end, tp);
}

}  // namespace tsft
