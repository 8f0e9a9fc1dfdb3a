// tsft train (SFT on chat / prompt-completion JSONL) and tsft pretrain (raw text, all tokens supervised).
#include <fmt/format.h>

#include "cli/command.hpp"
#include "cli/engine_options.hpp"
#include "core/error.hpp"
#include "train/trainer.hpp"

namespace {

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
                 "smallest validation-loss drop that counts")
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

int run(tsft::TrainConfig c, const std::string& overlong) {
  c.overlong = overlong == "drop" ? tsft::Overlong::drop : tsft::Overlong::truncate;
  TSFT_USAGE_CHECK(!c.model_dir.empty() || !c.resume_dir.empty(), "--model or --resume is required");
  tsft::TrainResult r = tsft::train_run(c);
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
    add_common(app, *c, *overlong);
    return [c, overlong] { return run(*c, *overlong); };
  };
}
}  // namespace

TSFT_COMMAND(train, "train", "Supervised fine-tuning on chat / prompt-completion JSONL", make(false));
TSFT_COMMAND(pretrain, "pretrain", "Pre-train on raw text (every token supervised)", make(true));
