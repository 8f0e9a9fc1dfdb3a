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

namespace {

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

void add_val_options(CLI::App& app, tsft::TrainConfig& c, ValOpts& v) {
  app.add_option(
         "--early-stop-metric", c.early_stop_metric,
         "what early stopping compares: loss (validation loss) | accuracy (validation answer accuracy, "
         "greedy; needs --val-problems)")
      ->check(CLI::IsMember({"loss", "accuracy"}))
      ->capture_default_str();
  app.add_option("--val-problems", v.problems, "problem JSONL decoded for the validation answer accuracy");
  app.add_option("--val-limit", v.limit, "validation problems decoded (0: all)")->capture_default_str();
  app.add_option("--val-max-new-tokens", v.max_new_tokens, "decoding budget of that evaluation")
      ->capture_default_str();
  app.add_option("--val-batch", v.batch, "sequences per batch of that evaluation")->capture_default_str();
}

void add_common(CLI::App& app, tsft::TrainConfig& c, std::string& overlong) {
  app.add_option("--model", c.model_dir, "HF model directory to start from (e.g. made by tsft init)");
  app.add_option("--data", c.data_path, "training data (JSONL; raw text for pretrain)")->required();
  app.add_option("--val", c.val_path, "held-out data for validation loss");
  app.add_option("--out", c.out_dir, "run directory (metrics, checkpoints, final model)")->required();
  app.add_option("--resume", c.resume_dir, "continue bit-identically from a checkpoint directory");
  app.add_option("--tokenizer", c.tokenizer_path, "tokenizer.json (default: the model's)");
  app.add_option("--trainable", c.trainable,
                 "tensors to train: all|mlp|attn|embed|norm|head, a+b, layers[a:b].group, re:<regex>")
      ->capture_default_str();
  app.add_option("--block", c.block, "tokens per packed row")->capture_default_str();
  app.add_option("--micro-batch", c.micro_batch, "rows per micro-batch")->capture_default_str();
  app.add_option("--grad-accum", c.grad_accum, "micro-batches per optimizer step")->capture_default_str();
  app.add_option("--steps", c.max_steps, "optimizer steps (0: from --epochs)")->capture_default_str();
  app.add_option("--epochs", c.epochs, "passes over the data when --steps is 0")->capture_default_str();
  app.add_option("--lr", c.adam.lr, "peak learning rate")->capture_default_str();
  app.add_option("--beta1", c.adam.beta1, "AdamW beta1")->capture_default_str();
  app.add_option("--beta2", c.adam.beta2, "AdamW beta2")->capture_default_str();
  app.add_option("--eps", c.adam.eps, "AdamW epsilon")->capture_default_str();
  app.add_option("--weight-decay", c.adam.weight_decay, "decoupled weight decay")->capture_default_str();
  app.add_flag("--decay-norms-and-biases", c.adam.decay_all, "also decay 1-D tensors (off by default)");
  app.add_option("--clip", c.adam.clip, "global gradient-norm clipping (<= 0: off)")->capture_default_str();
  app.add_option("--schedule", c.schedule, "constant | linear | cosine")->capture_default_str();
  app.add_option("--warmup", c.warmup, "warm-up steps")->capture_default_str();
  app.add_option("--min-lr-ratio", c.min_lr_ratio, "final lr / peak lr for linear/cosine")
      ->capture_default_str();
  app.add_option("--seed", c.seed, "shuffling seed")->capture_default_str();
  app.add_option("--threads", c.threads, "threads (0: all cores)");
  app.add_option("--save-every", c.save_every, "checkpoint every N steps (0: end only)")
      ->capture_default_str();
  app.add_option("--keep-last", c.keep_last, "checkpoints kept")->capture_default_str();
  app.add_option("--eval-every", c.eval_every, "validation every N steps (0: end only)")
      ->capture_default_str();
  app.add_option("--max-supervised-tokens", c.max_supervised_tokens,
                 "equal-token budget: stop once this many supervised tokens were trained (0: off)")
      ->capture_default_str();
  app.add_option(
         "--early-stop-patience", c.early_stop_patience,
         "stop after N validations without improvement; final/ = best-validation weights (needs --val)")
      ->capture_default_str();
  app.add_option("--early-stop-min-delta", c.early_stop_min_delta,
                 "smallest validation improvement that counts (loss, or accuracy in [0, 1])")
      ->capture_default_str();
  app.add_option("--nonfinite", c.nonfinite,
                 "a step with a non-finite loss or gradient: stop (with a diagnostic) | skip (no update)")
      ->check(CLI::IsMember({"stop", "skip"}))
      ->capture_default_str();
  app.add_option("--max-skips", c.max_skips, "--nonfinite skip: stop once more than N steps were skipped")
      ->capture_default_str();
  app.add_flag("!--no-memory-check", c.memory_check,
               "train even when gradients + moments + activations exceed the available memory "
               "(or TSFT_NO_MEMORY_CHECK=1)");
  app.add_flag("!--no-packing", c.packing, "one example per row (for comparison)");
  app.add_option("--overlong", overlong, "examples longer than the block: truncate | drop")
      ->check(CLI::IsMember({"truncate", "drop"}))
      ->capture_default_str();
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
    auto overlong = std::make_shared<std::string>("truncate");
    c->pretrain = pretrain;
    if (pretrain) c->adam.lr = 1e-3;
    auto v = std::make_shared<ValOpts>();
    add_common(app, *c, *overlong);
    if (!pretrain) add_val_options(app, *c, *v);
    return [c, overlong, v] { return run(*c, *overlong, *v); };
  };
}
}  // namespace

TSFT_COMMAND(train, "train", "Supervised fine-tuning on chat / prompt-completion JSONL", make(false));
TSFT_COMMAND(pretrain, "pretrain", "Pre-train on raw text (every token supervised)", make(true));
