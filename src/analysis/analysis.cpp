#include "analysis/analysis.hpp"

#include <cmath>
#include <map>
#include <set>
#include <sstream>

#include "core/error.hpp"

namespace tsft {

nlohmann::json analysis_weight_deltas(const Model& base, const Model& tuned) {
  struct Acc { double d2 = 0, b2 = 0; size_t n = 0; };
  std::map<std::string, Acc> groups;
  std::map<int, std::map<std::string, Acc>> layers;
  nlohmann::json tensors = nlohmann::json::object();
  for_each_tensor_pair(base, tuned, "base", "tuned", [&](const TensorEntry& e, const float* pb, const float* pt) {
    Acc t;
    for (size_t i = 0; i < e.numel; i++) {
      double d = (double)pt[i] - pb[i];
      t.d2 += d * d;
      t.b2 += (double)pb[i] * pb[i];
    }
    t.n = e.numel;
    tensors[e.name] = t.b2 > 0 ? std::sqrt(t.d2 / t.b2) : 0.0;
    for (Acc* g : {&groups[group_name(e.group)], &groups["total"]}) {
      g->d2 += t.d2;
      g->b2 += t.b2;
      g->n += t.n;
    }
    if (e.layer >= 0) {
      Acc& l = layers[e.layer][group_name(e.group)];
      l.d2 += t.d2;
      l.b2 += t.b2;
      l.n += t.n;
    }
  });
  auto rel = [](const Acc& a) { return a.b2 > 0 ? std::sqrt(a.d2 / a.b2) : 0.0; };
  nlohmann::json j;
  for (auto& [g, a] : groups)
    j["groups"][g] = {{"rel_change", rel(a)}, {"delta_norm", std::sqrt(a.d2)}, {"base_norm", std::sqrt(a.b2)},
                      {"params", a.n}};
  j["layers"] = nlohmann::json::array();
  for (auto& [l, m] : layers) {
    nlohmann::json row = {{"layer", l}};
    for (auto& [g, a] : m) row[g] = rel(a);
    j["layers"].push_back(row);
  }
  j["tensors"] = tensors;
  return j;
}

Model analysis_transplant(const Model& base, const Model& tuned, const std::string& spec) {
  std::set<std::string> want;
  std::stringstream ss(spec);
  std::string g;
  while (std::getline(ss, g, '+')) {
    TSFT_USAGE_CHECK(g == "mlp" || g == "attn" || g == "norm" || g == "embed" || g == "head",
                     "transplant group '{}' (mlp, attn, norm, embed, head)", g);
    want.insert(g);
  }
  Model out = base;
  for_each_tensor_pair(out, tuned, "base", "tuned", [&](const TensorEntry& e, float* po, const float* pt) {
    if (want.count(group_name(e.group))) std::copy_n(pt, e.numel, po);
  });
  out.bind();
  return out;
}

}  // namespace tsft
