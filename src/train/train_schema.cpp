#include "train/train_schema.hpp"

#include "core/error.hpp"

namespace tsft {
namespace {

using schema::Key;
using schema::Type;
using json = nlohmann::json;

constexpr double kMax = 1e15;     // integer counts
constexpr double kNoMax = 1e300;  // rates: no upper bound (a huge lr is how tests provoke overflow)
Key integer(const char* name, json def, double lo, const char* help) {
  return {name, Type::Int, def, lo, kMax, {}, help};
}
Key real(const char* name, json def, double lo, double hi, const char* help) {
  return {name, Type::Float, def, lo, hi, {}, help};
}
Key choice(const char* name, const char* def, std::vector<std::string> choices, const char* help) {
  return {name, Type::String, def, -1e300, 1e300, std::move(choices), help};
}

schema::Section build(bool pretrain) {
  return {
      pretrain ? "pretrain" : "train",
      {{"trainable",
        Type::String,
        "all",
        -1e300,
        1e300,
        {},
        "tensors to train: all|mlp|attn|embed|norm|head, a+b, layers[a:b].group, re:<regex>"},
       integer("block", 512, 2, "tokens per packed row"),
       integer("micro_batch", 8, 1, "rows per micro-batch"),
       integer("grad_accum", 1, 1, "micro-batches per optimizer step"),
       integer("steps", 0, 0, "optimizer steps (0: from --epochs)"),
       real("epochs", 1.0, 1e-9, kNoMax, "passes over the data when --steps is 0"),
       real("lr", pretrain ? 1e-3 : 1e-4, 0, kNoMax, "peak learning rate"),
       real("beta1", 0.9, 0, 1, "AdamW beta1"),
       real("beta2", 0.999, 0, 1, "AdamW beta2"),
       real("eps", 1e-8, 0, kNoMax, "AdamW epsilon"),
       real("weight_decay", 0.0, 0, kNoMax, "decoupled weight decay"),
       real("clip", 1.0, -kNoMax, kNoMax, "global gradient-norm clipping (<= 0: off)"),
       choice("schedule", "cosine", {"constant", "linear", "cosine"}, "constant | linear | cosine"),
       integer("warmup", 0, 0, "warm-up steps"),
       real("min_lr_ratio", 0.1, 0, 1, "final lr / peak lr for linear/cosine"),
       integer("seed", 0, 0, "shuffling seed"),
       integer("save_every", 0, 0, "checkpoint every N steps (0: end only)"),
       integer("keep_last", 2, 0, "checkpoints kept"),
       integer("eval_every", 0, 0, "validation every N steps (0: end only)"),
       integer("max_supervised_tokens", 0, 0,
               "equal-token budget: stop once this many supervised tokens were trained (0: off)"),
       integer(
           "early_stop_patience", 0, 0,
           "stop after N validations without improvement; final/ = best-validation weights (needs --val)"),
       choice("early_stop_metric", "loss", {"loss", "accuracy"},
              "what early stopping compares: loss (validation loss) | accuracy (validation answer accuracy, "
              "greedy; needs --val-problems)"),
       real("early_stop_min_delta", 0.0, 0, kNoMax, "smallest validation-loss drop that counts"),
       choice("nonfinite", "stop", {"stop", "skip"},
              "a step with a non-finite loss or gradient: stop (with a diagnostic) | skip (no update)"),
       integer("max_skips", 10, 0, "--nonfinite skip: stop once more than N steps were skipped"),
       choice("overlong", "truncate", {"truncate", "drop"},
              "examples longer than the block: truncate | drop")},
      false,
      pretrain ? "tsft pretrain" : "tsft train"};
}

}  // namespace

const schema::Section& train_schema(bool pretrain) {
  static const schema::Section train = build(false), pre = build(true);
  return pretrain ? pre : train;
}

const schema::Key& train_key(const std::string& name, bool pretrain) {
  for (auto& k : train_schema(pretrain).keys)
    if (k.name == name) return k;
  TSFT_FAIL("train schema: no key '{}'", name);
}

AdamWConfig train_adam_defaults(bool pretrain) {
  AdamWConfig a;
  a.lr = train_key("lr", pretrain).def.get<double>();
  a.beta1 = train_key("beta1").def.get<double>();
  a.beta2 = train_key("beta2").def.get<double>();
  a.eps = train_key("eps").def.get<double>();
  a.weight_decay = train_key("weight_decay").def.get<double>();
  a.clip = train_key("clip").def.get<double>();
  return a;
}

}  // namespace tsft
