// Helpers shared by the theorem-world tests.
#pragma once
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "theorems/generate.hpp"

namespace tsft_test {

inline tsft::GenConfig small_config(long train = 3000, long test = 400, long extra = 200) {
  tsft::GenConfig c;
  c.sizes = {{"train", train}, {"test", test}, {"counterfactual", extra}, {"compositional", extra}};
  c.probe_parents = test;
  return c;
}

inline const tsft::Catalog& catalog() {
  static tsft::Catalog c = tsft::catalog_load(tsft::catalog_default_dir());
  return c;
}

// file name -> parsed problems, in output order.
using Files = std::map<std::string, std::vector<nlohmann::json>>;

inline Files generate(const tsft::GenConfig& cfg, nlohmann::json* manifest = nullptr) {
  tsft::World w(catalog(), cfg);
  Files out;
  auto man = tsft::gen_stream(w, [&](const std::string& f, const std::string& line) {
    out[f].push_back(nlohmann::json::parse(line));
  });
  if (manifest) *manifest = man;
  return out;
}

}  // namespace tsft_test
