// Strict TOML configs: one schema per section, each key with its type, default, range and help text in
// one place. Validation names the file, the line, section.key and the closest valid key.
#pragma once
#include <toml++/toml.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace tsft::schema {

// Any: the key is known but its value is checked by the section's own rule (e.g. [claims]).
enum class Type { Int, Float, Bool, String, IntList, StringList, Any };

struct Key {
  std::string name;
  Type type;
  nlohmann::json def;              // null: no default here (required, or the default lives with its own rule)
  double lo = -1e300, hi = 1e300;  // Int / Float / IntList items: inclusive range
  std::vector<std::string> choices;  // String / StringList items: allowed values (empty: any)
  std::string help;
};

// A table of the config ("sft", "gen.sizes"). free_form: its keys are not fixed (e.g. [sft.lr_grid]
// trainable names) and are validated by the section's own rule.
struct Section {
  std::string name;
  std::vector<Key> keys;
  bool free_form = false;
  std::string help;
};
using Schema = std::vector<Section>;

const Section* find_section(const Schema& s, const std::string& name);
// The schema entry of section.key (an error if the schema lacks it: a programming mistake).
const Key& key(const Schema& s, const std::string& section, const std::string& name);
// cfg[section][name] if present, else the schema default.
nlohmann::json value(const Schema& s, const nlohmann::json& cfg, const std::string& section,
                     const std::string& name);

// Levenshtein distance; the closest of `candidates` (empty if none is within half the word's length + 1).
size_t edit_distance(const std::string& a, const std::string& b);
std::string closest(const std::string& word, const std::vector<std::string>& candidates);
// " (did you mean X?)" or "".
std::string suggestion(const std::string& word, const std::vector<std::string>& candidates);

// Checks the keys of `t` (section `path`) and, recursively, its sub-tables that are sections.
void check_table(const toml::table& t, const std::string& file, const std::string& path, const Schema& s);
// Checks a whole file: every top-level entry is a section of the schema.
void check_root(const toml::table& root, const std::string& file, const Schema& s);
// Names-only check of a table against a list of allowed keys (catalog entries): file:line, where.key.
void check_keys(const toml::table& t, const std::string& file, const std::string& where,
                const std::vector<std::string>& allowed);

}  // namespace tsft::schema
