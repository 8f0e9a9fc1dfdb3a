// tsft train (SFT on chat / prompt-completion JSONL) and tsft pretrain (raw text, all tokens supervised).
#include <fmt/format.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "cli/command.hpp"
#include "cli/engine_options.hpp"
#include "core/error.hpp"
#include "core/fs.hpp"
#include "eval/run_eval.hpp"
#include "train/trainer.hpp"

namespace cmd_train {

// An option whose help text, default and allowed values (choices or range) come from the schema
// (train/train_schema.cpp); the default shown is the variable's, which TrainConfig took from there.
template <typename T>
void option(CLI::App& app, const char* flag, T& var, const char* key, bool pretrain) {
  const tsft::schema::Key& k = tsft::train_key(key, pretrain);
  CLI::Option* o = app.add_option(flag, var, k.help)->capture_default_str();
  if (!k.choices.empty())
    o->check(CLI::IsMember(k.choices));
  else if (k.type == tsft::schema::Type::Int || k.type == tsft::schema::Type::Float)
    o->check(CLI::Range(k.lo, k.hi).description(""));  // the range is in the error, not the help
}

// Validation answer accuracy for early stopping (--early-stop-metric accuracy): the problems decoded
// greedily by tsft eval's own path, with the arguments model selection uses, into
// OUT/val-eval/checkpoint-NNNNNN (results.jsonl, metrics.json), so the experiment's selection stage
// reads the same numbers instead of decoding that checkpoint again.
struct ValOpts {
  std::string problems;
  int64_t limit = 0;
  int max_new_tokens = 256, batch = 16;
};

tsft::ValScorer make_scorer(const tsft::TrainConfig& c, const ValOpts& v) {
  if (c.early_stop_metric != "accuracy") return {};
  TSFT_USAGE_CHECK(!v.problems.empty(), "--early-stop-metric accuracy needs --val-problems FILE");
  return [c, v](const std::string& model_dir, int64_t step) {
    tsft::eval::EvalConfig e;
    e.model_dir = model_dir;
    e.out_dir =
        (std::filesystem::path(c.out_dir) / "val-eval" / fmt::format("checkpoint-{:06d}", step)).string();
    std::filesystem::remove_all(e.out_dir);  // a fresh decode (a resumed run may have left a partial one)
    e.data = {v.problems};
    e.limit = v.limit;
    e.max_new_tokens = v.max_new_tokens;
    e.batch = v.batch;
    e.threads = c.threads;
    e.chat_template = c.chat_template;
    e.engine = c.engine;
    e.quiet = true;
    tsft::eval::eval_run(e);
    auto m = nlohmann::json::parse(tsft::fs_read_text(e.out_dir + "/metrics.json"));
    return m["overall"]["accuracy"].get<double>();
  };
}

void add_val_options(CLI::App& app, tsft::TrainConfig& c, ValOpts& v, bool pretrain) {
  option(app, "--early-stop-metric", c.early_stop_metric, "early_stop_metric", pretrain);
  app.add_option("--val-problems", v.problems, "problem JSONL decoded for the validation answer accuracy");
  app.add_option("--val-limit", v.limit, "validation problems decoded (0: all)")->capture_default_str();
  app.add_option("--val-max-new-tokens", v.max_new_tokens, "decoding budget of that evaluation")
      ->capture_default_str();
  app.add_option("--val-batch", v.batch, "sequences per batch of that evaluation")->capture_default_str();
}

void add_common(CLI::App& app, tsft::TrainConfig& c, std::string& overlong, bool pretrain) {
  app.add_option("--model", c.model_dir, "HF model directory to start from (e.g. made by tsft init)");
  app.add_option("--data", c.data_path, "training data (JSONL; raw text for pretrain)")->required();
  app.add_option("--val", c.val_path, "held-out data for validation loss");
  app.add_option("--out", c.out_dir, "run directory (metrics, checkpoints, final model)")->required();
  app.add_option("--resume", c.resume_dir, "continue bit-identically from a checkpoint directory");
  app.add_option("--tokenizer", c.tokenizer_path, "tokenizer.json (default: the model's)");
  option(app, "--trainable", c.trainable, "trainable", pretrain);
  option(app, "--block", c.block, "block", pretrain);
  option(app, "--micro-batch", c.micro_batch, "micro_batch", pretrain);
  option(app, "--grad-accum", c.grad_accum, "grad_accum", pretrain);
  option(app, "--steps", c.max_steps, "steps", pretrain);
  option(app, "--epochs", c.epochs, "epochs", pretrain);
  option(app, "--lr", c.adam.lr, "lr", pretrain);
  option(app, "--beta1", c.adam.beta1, "beta1", pretrain);
  option(app, "--beta2", c.adam.beta2, "beta2", pretrain);
  option(app, "--eps", c.adam.eps, "eps", pretrain);
  option(app, "--weight-decay", c.adam.weight_decay, "weight_decay", pretrain);
  app.add_flag("--decay-norms-and-biases", c.adam.decay_all, "also decay 1-D tensors (off by default)");
  option(app, "--clip", c.adam.clip, "clip", pretrain);
  option(app, "--schedule", c.schedule, "schedule", pretrain);
  option(app, "--warmup", c.warmup, "warmup", pretrain);
  option(app, "--min-lr-ratio", c.min_lr_ratio, "min_lr_ratio", pretrain);
  option(app, "--seed", c.seed, "seed", pretrain);
  app.add_option("--threads", c.threads, "threads (0: all cores)");
  option(app, "--save-every", c.save_every, "save_every", pretrain);
  option(app, "--keep-last", c.keep_last, "keep_last", pretrain);
  option(app, "--eval-every", c.eval_every, "eval_every", pretrain);
  option(app, "--max-supervised-tokens", c.max_supervised_tokens, "max_supervised_tokens", pretrain);
  option(app, "--early-stop-patience", c.early_stop_patience, "early_stop_patience", pretrain);
  option(app, "--early-stop-min-delta", c.early_stop_min_delta, "early_stop_min_delta", pretrain);
  option(app, "--nonfinite", c.nonfinite, "nonfinite", pretrain);
  option(app, "--max-skips", c.max_skips, "max_skips", pretrain);
  app.add_flag("!--no-memory-check", c.memory_check,
               "train even when gradients + moments + activations exceed the available memory "
               "(or TSFT_NO_MEMORY_CHECK=1)");
  app.add_flag("!--no-packing", c.packing, "one example per row (for comparison)");
  option(app, "--overlong", overlong, "overlong", pretrain);
  app.add_option("--chat-template", c.chat_template, "override the tokenizer's chat template family");
  app.add_option("--save-dtype", c.save_dtype, "dtype of final/: float32 | bfloat16 | float16");
  app.add_flag("-q,--quiet", c.quiet, "no progress output");
  tsft::cli::add_engine_options(app, c.engine);
  tsft::cli::add_lora_options(app, c.lora);
  app.add_option("--stop-after", c.stop_after, "(testing) stop after N steps without the final save");
}

int run(tsft::TrainConfig c, const std::string& overlong, const ValOpts& v) {
  c.overlong = overlong == "drop" ? tsft::Overlong::drop : tsft::Overlong::truncate;
  TSFT_USAGE_CHECK(!c.model_dir.empty() || !c.resume_dir.empty(), "--model or --resume is required");
  tsft::TrainResult r = tsft::train_run(c, make_scorer(c, v));
  fmt::print("steps {} ({}{})  loss {:.4f}{}  {:.0f} tokens/s  {:.1f} GFLOP/s  -> {}\n", r.steps,
             r.stop_reason, r.skipped_steps ? fmt::format(", {} skipped", r.skipped_steps) : "", r.last_loss,
             r.val_loss >= 0 ? fmt::format("  val {:.4f}", r.val_loss) : "", r.tokens_per_s, r.gflops,
             r.final_dir.empty() ? c.out_dir : r.final_dir);
  return 0;
}

tsft::cli::Setup make(bool pretrain) {
  return [pretrain](CLI::App& app) -> tsft::cli::Action {
    auto c = std::make_shared<tsft::TrainConfig>();
    auto overlong = std::make_shared<std::string>(tsft::train_default<std::string>("overlong"));
    c->pretrain = pretrain;
    if (pretrain) c->adam = tsft::train_adam_defaults(true);
    auto v = std::make_shared<ValOpts>();
    add_common(app, *c, *overlong, pretrain);
    if (!pretrain) add_val_options(app, *c, *v, pretrain);
    return [c, overlong, v] { return run(*c, *overlong, *v); };
  };
}

TSFT_COMMAND(train, "train", "Supervised fine-tuning on chat / prompt-completion JSONL", make(false));
TSFT_COMMAND(pretrain, "pretrain", "Pre-train on raw text (every token supervised)", make(true));
}  // namespace cmd_train
