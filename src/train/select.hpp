// Trainable-parameter selection over HF names (the paper's MLP-only claim needs it).
// Spec: terms joined by '+', each one of
//   all | mlp | attn | embed | norm | head         module-group presets (attn = q/k/v/o projections;
//                                                    norm = every RMSNorm incl. q_norm/k_norm)
//   layers[a:b] or layers[a:b].<preset>             decoder layers a..b-1 (Python slice; a or b may be
//                                                    omitted, negatives count from the end), optionally
//                                                    only one group of them; layers[i] is one layer
//   re:<regex>                                       ECMAScript regex searched in the HF name
// Examples: "mlp", "mlp+norm", "layers[8:16].mlp", "attn+re:lm_head", "re:layers\.(0|1)\.mlp\.up_proj".
// With tied embeddings the head is the embedding matrix, so "head" selects model.embed_tokens.weight.
#pragma once
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "model/tensors.hpp"

namespace tsft {

using TensorPredicate = std::function<bool(const TensorEntry&)>;

// Throws tsft::UsageError naming the bad term. num_layers resolves negative / open slice bounds.
TensorPredicate select_parse(const std::string& spec, int num_layers, bool tied_embeddings);

// LoRA training options (--lora-rank, --lora-alpha, --lora-targets, --lora-dropout, --rslora). rank 0: off.
// targets: a --trainable spec over the base tensors; the linear layers it selects get adapters
// ("all" = every q/k/v/o/gate/up/down projection, "mlp", "attn", "layers[8:16].mlp", "re:...").
struct LoraOptions {
  int rank = 0;
  double alpha = LoraConfig{}.alpha;
  std::string targets = "all";
  double dropout = 0;
  bool rslora = false;
  bool on() const { return rank > 0; }
};
// The adapter config of `opt` over a base table (UsageError naming a bad spec or one selecting nothing).
LoraConfig lora_config_make(const LoraOptions& opt, const TensorTable& base, int num_layers, bool tied);
nlohmann::json lora_options_json(const LoraOptions& opt);

// "group -> (trainable, total)" parameter counts, for the run log.
std::map<std::string, std::pair<size_t, size_t>> select_counts(const TensorTable& table);

}  // namespace tsft
