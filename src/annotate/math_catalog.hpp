// The competition-math theorem catalog of `tsft annotate` (data/catalog/*.toml, our own writing): the
// theorems a teacher may name on "Theorem:" lines, and the documents BM25 retrieval ranks per problem.
// Loading is strict: unknown keys, wrong types, duplicate ids/names and unknown domains are errors naming
// file:line and the key.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace tsft::annotate {

struct MathTheorem {
  std::string id, name, domain, statement, keywords;
  std::vector<std::string> premises, variables;
  std::string where;  // file:line of its [[theorem]] entry
};

struct MathCatalog {
  std::vector<MathTheorem> theorems;
  std::string hash;  // FNV-1a over the loaded files' bytes (sorted by name), hex
  // Index of the theorem whose name (or id) equals `name`, ignoring case; -1 when absent.
  int find(const std::string& name) const;
};

const std::vector<std::string>& math_catalog_domains();
std::string math_catalog_default_path();  // TSFT_SOURCE_DIR/data/catalog/competition_math.toml
// A .toml file, or a directory whose *.toml files are loaded in name order.
MathCatalog math_catalog_load(const std::string& path);

}  // namespace tsft::annotate
