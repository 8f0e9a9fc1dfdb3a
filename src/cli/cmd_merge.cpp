// tsft merge --model BASE --adapter DIR --out DIR: folds a LoRA adapter into the base weights
// (W += s B A, model/lora.hpp lora_merge) and writes a full HF checkpoint (tokenizer files copied).
#include <fmt/format.h>

#include "cli/command.hpp"
#include "model/lora.hpp"

namespace cmd_merge {
struct Opts {
  std::string model, adapter, out, dtype;
};

int run(const Opts& o) {
  tsft::Model m = tsft::model_load_adapted(o.model, o.adapter);
  const tsft::LoraConfig lc = m.cfg.lora;
  tsft::model_save(tsft::lora_merge(m), o.out, o.model, o.dtype);
  fmt::print("merged {} (LoRA r {}, alpha {}, {} modules) into {} -> {}\n", o.adapter, lc.r, lc.alpha,
             lc.targets.size(), o.model, o.out);
  return 0;
}

TSFT_COMMAND(merge, "merge", "Fold a PEFT LoRA adapter into its base model (full HF checkpoint)",
             [](CLI::App& app) {
               auto o = std::make_shared<Opts>();
               app.add_option("--model", o->model, "base HF checkpoint directory")->required();
               app.add_option("--adapter", o->adapter, "PEFT LoRA adapter directory")->required();
               app.add_option("--out", o->out, "output directory (written atomically)")->required();
               app.add_option("--dtype", o->dtype,
                              "float32 | bfloat16 | float16 (default: the base model's dtypes)");
               return [o] { return run(*o); };
             });
}  // namespace cmd_merge
