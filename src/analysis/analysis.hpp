// Where fine-tuning put its change: per-module-group and per-layer relative weight change
// ||W_tuned - W_base|| / ||W_base||, and delta transplants (base + the tuned model's change restricted to
// one module group), which test "the rules live in the MLPs" from a second angle.
#pragma once
#include <nlohmann/json.hpp>
#include <string>

#include "model/model.hpp"

namespace tsft {

// {"groups": {group: {rel_change, delta_norm, base_norm, params}}, "layers": [{layer, attn, mlp, norm}],
//  "tensors": {name: rel_change}}
nlohmann::json analysis_weight_deltas(const Model& base, const Model& tuned);

// base + (tuned - base) on the tensors of `groups` ("mlp", "attn", "norm", "embed", "head"; '+'-joined);
// every other tensor keeps the base value. Shapes must match (same architecture).
Model analysis_transplant(const Model& base, const Model& tuned, const std::string& groups);

}  // namespace tsft
