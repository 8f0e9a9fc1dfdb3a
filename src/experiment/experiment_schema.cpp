// The schema of an experiment config: every section and key `tsft experiment` reads, with its type,
// default, range and help text. The stage arguments take their defaults from here (schema::value).
#include <cmath>

#include "data/instruct.hpp"
#include "experiment/experiment_impl.hpp"
#include "theorems/gen_schema.hpp"
#include "train/train_schema.hpp"

namespace tsft::exp_detail {
namespace {

using schema::Key;
using schema::Type;

constexpr double kMax = 1e15;
Key pos(const char* name, json def, const char* help) {
  return {name, Type::Int, def, 1, kMax, {}, help};
}
Key nonneg(const char* name, json def, const char* help) {
  return {name, Type::Int, def, 0, kMax, {}, help};
}
Key str(const char* name, json def, std::vector<std::string> choices, const char* help) {
  return {name, Type::String, def, -1e300, 1e300, std::move(choices), help};
}

// A key of [pretrain] / [instruct] / [sft] that the stage hands to `tsft train` as --<train_name>: its
// type, range, choices and help text are the train schema's (train/train_schema.cpp), its default the
// experiment's own (a small world's stages differ from `tsft train`'s defaults by design). `lo` narrows
// the range where the experiment needs more than `tsft train` accepts; `note` adds what the key means
// here. tests/experiment/test_config_schema.cpp checks the agreement.
Key from_train(const char* name, json def, const char* train_name = nullptr, double lo = NAN,
               const char* note = nullptr) {
  Key k = train_key(train_name ? train_name : name);
  k.name = name;
  k.def = std::move(def);
  if (!std::isnan(lo)) k.lo = std::max(k.lo, lo);
  if (note) k.help += std::string("; ") + note;
  return k;
}

// The optimizer keys shared by [pretrain], [instruct] and [sft] (with each stage's defaults).
std::vector<Key> training(json steps, json mb, json block, json lr, json warmup, const char* steps_note) {
  return {from_train("steps", steps, nullptr, NAN, steps_note), from_train("micro_batch", mb),
          from_train("block", block), from_train("lr", lr), from_train("warmup", warmup)};
}

std::vector<Key> plus(std::vector<Key> a, const std::vector<Key>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

schema::Section experiment_section() {
  const std::vector<std::string> arms = {"theorem:all",         "vanilla:all",    "theorem:mlp",
                                         "vanilla:mlp",         "theorem:attn",   "vanilla:attn",
                                         "vanilla-matched:all", "answer-only:all"};
  return {
      "experiment",
      {{"base_seeds", Type::IntList, {1}, 0, 2e9, {}, "one base model (init, pretrain, instruct) per seed"},
       {"sft_seeds", Type::IntList, {1}, 0, 2e9, {}, "SFT data orders; runs = base_seeds x sft_seeds"},
       {"arms",
        Type::StringList,
        arms,
        -1e300,
        1e300,
        {},
        "supervision:trainable pairs; supervision: theorem, vanilla, vanilla-matched, answer-only, "
        "theorem-no-statement, theorem-no-cond, theorem-no-map; trainable lora-<spec> trains a LoRA adapter "
        "on "
        "the linear layers of <spec> (lora-mlp, lora-all)"},
       str("budget", "steps", {"steps", "tokens", "problems", "converged"}, "what arms are compared at"),
       {"transplants", Type::Bool, true, -1e300, 1e300, {}, "delta-transplant analysis of all-layer arms"},
       nonneg("threads", 0, "threads per stage (0: all cores)"),
       str("device", "cpu", {}, "engine device (cpu | cuda)"),
       str("precision", "fp32", {}, "engine precision (fp32 | fp32-ref | bf16)")},
      false,
      "runs and arms"};
}

schema::Section sft_section() {
  std::vector<Key> extra = {
      from_train("schedule", "constant"),
      // >= 1: the selection stage picks among the checkpoints saved at every evaluation
      from_train("eval_every", 50, nullptr, 1),
      str("select", "val_accuracy", {"val_accuracy", "final"}, "model selection rule of every arm"),
      nonneg("val_size", 0, "training problems held out for validation"),
      nonneg("select_limit", 0, "validation problems decoded per checkpoint (0: all)"),
      pos("problems", nullptr, "problems seen per arm (budget = problems)"),
      pos("supervised_tokens", nullptr, "supervised tokens per arm (budget = tokens)"),
      // >= 1: budget = converged stops on it (0 would turn early stopping off)
      from_train("patience", 3, "early_stop_patience", 1, "used when budget = converged"),
      from_train("min_delta", 0.0, "early_stop_min_delta", NAN,
                 "used when budget = converged, where it compares validation accuracy"),
      pos("lora_rank", 8, "LoRA rank of the lora-<targets> arms (e.g. theorem:lora-mlp)"),
      {"lora_alpha", Type::Float, 16.0, 1e-6, 1e6, {}, "LoRA alpha of the lora-<targets> arms"}};
  return {"sft", plus(training(200, 8, 512, 1e-3, 20, nullptr), extra), false,
          "supervised fine-tuning of every arm"};
}

std::vector<schema::Section> claims_and_eval() {
  std::vector<Key> claims;
  for (const char* k : {"c1_margin", "c2a_margin", "c2b_margin", "c3_fraction", "c3_gain_floor", "min_fit",
                        "min_fit_items", "fit_margin", "p3", "counterfactual", "bootstrap_reps", "pool"})
    claims.push_back({k, Type::Any, nullptr, -1e300, 1e300, {}, "see src/report/claims.hpp"});
  return {{"eval",
           {pos("max_new_tokens", 160, "greedy decoding budget"),
            pos("batch", 16, "sequences per batch"),
            nonneg("limit", 0, "items per file (0: all)"),
            nonneg("train_limit", 0, "training problems evaluated (fit sample; 0: none)"),
            {"skip", Type::StringList, json::array(), -1e300, 1e300, {}, "gen problem files not evaluated"}},
           false,
           "evaluation of every model"},
          {"claims", claims, false, "pre-declared claims and decision rules (values checked by claims.cpp)"}};
}

// Real data instead of the theorem world: no gen / tokenizer / model / pretrain / instruct stages.
schema::Section real_data_section() {
  return {"real_data",
          {str("base_model", nullptr, {}, "the user's base model (HF directory with tokenizer)"),
           str("annotated", nullptr, {},
               "a `tsft annotate` output dir (theorem.jsonl, vanilla.jsonl, problems.jsonl)"),
           {"eval_files",
            Type::StringList,
            json::array(),
            -1e300,
            1e300,
            {},
            "evaluation datasets (native files)"},
           {"eval_formats",
            Type::StringList,
            json::array(),
            -1e300,
            1e300,
            {},
            "adapter format of each eval file"},
           {"eval_roles",
            Type::StringList,
            json::array(),
            -1e300,
            1e300,
            {},
            "role of each eval file, declared before results: in_distribution (C2a, C3), probes (GSM-Plus "
            "variants: C1, C2b when their originals are in an in_distribution file), other (no claim); "
            "default [] = all other"},
           str("chat_template", "", {}, "chat template override for train/eval (\"\": the model's own)")},
          false,
          "real-data experiment: the user's model, annotated training data, public eval sets"};
}

schema::Schema build() {
  schema::Schema s = {
      experiment_section(),
      {"tokenizer",
       {{"vocab_size", Type::Int, 1024, 64, 1e7, {}, "BPE vocabulary size"},
        str("style", "qwen", {"qwen", "llama3"}, "pre-tokenizer style")},
       false,
       "the BPE tokenizer"},
      {"model",
       {str("arch", "llama", {"llama", "qwen2", "qwen3"}, "architecture"), pos("hidden", 128, "hidden size"),
        pos("intermediate", 352, "MLP width"), pos("layers", 4, "decoder layers"),
        pos("heads", 4, "attention heads"), pos("kv_heads", 2, "key/value heads"),
        pos("max_pos", 1024, "longest sequence")},
       false,
       "the model initialized per base seed"},
      {"pretrain", training(200, 8, 256, 2e-3, 20, nullptr), false, "pre-training on the gen corpus"},
      {"instruct",
       plus(training(0, 8, 256, 1e-3, 10, "0 here: no instruct stage"),
            {pos("examples", 2000, "chat drills generated"),
             str("style", data::kInstructStyleDefault, {"vanilla", "neutral"},
                 "answer shape: vanilla (lhs = rhs, \\boxed: the vanilla "
                 "arm's) | neutral (prose: neither arm's)")}),
       false, "generic instruction stage (steps = 0: none)"},
      sft_section(),
      {"sft.lr_grid", {}, true, "trainable = [lr, ...] (checked by lr_grid)"},
      real_data_section(),
  };
  for (auto& sec : claims_and_eval()) s.push_back(sec);
  for (auto& sec : gen_schema()) s.push_back(sec);
  return s;
}

}  // namespace

const schema::Schema& experiment_schema() {
  static const schema::Schema s = build();
  return s;
}

json cfg_value(const json& cfg, const char* section, const char* key) {
  return schema::value(experiment_schema(), cfg, section, key);
}

}  // namespace tsft::exp_detail
