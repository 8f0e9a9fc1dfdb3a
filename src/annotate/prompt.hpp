// The teacher prompt template of `tsft annotate`: a TOML data file (data/annotate/prompt.toml) with
// `system`, `user` and `retry` texts and {{name}} placeholders. Loading is strict: unknown keys and
// placeholders a text may not use are errors naming file:line; `user` must use {{problem}} and
// {{theorems}}, `retry` must use {{reason}}.
#pragma once
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "annotate/math_catalog.hpp"

namespace tsft::annotate {

struct PromptTemplate {
  std::string system, user, retry;
  std::string hash;  // of the file's bytes: part of every cache key
};

std::string prompt_default_path();  // TSFT_SOURCE_DIR/data/annotate/prompt.toml
PromptTemplate prompt_load(const std::string& path);

// Replaces each {{name}} by vars[name] (every placeholder was checked at load time).
std::string prompt_fill(const std::string& text, const std::map<std::string, std::string>& vars);

// The candidate list for {{theorems}}: "- <name>. <statement>\n  Premises: ...\n  Variables: ...".
std::string prompt_theorem_list(const MathCatalog& cat, const std::vector<int>& which);

// [system?, user] of the first attempt.
nlohmann::json prompt_messages(const PromptTemplate& t, const std::map<std::string, std::string>& vars);

}  // namespace tsft::annotate
