// The theorem catalog: data/theorems/*.toml (one file per domain) plus data/theorems/world.toml (shared
// sentence frames, contexts, name pools, distractor kinds). Everything textual lives here, so adding a
// template, a context or a distractor kind needs no C++ change; the C++ side (kernels.hpp) supplies one
// sampler + exact solver per theorem id.
//
// Theorem entry (see data/theorems/README.md for the full field list):
//   id, name, domain, statement, premises[], violation_premise (index into premises),
//   premise_text / violation_text (clauses; P8 swaps the first for the second), cf_rule (P10),
//   points[] (role letters; P11 permutes which letter bears which role), target, invert[] (P6),
//   kind_word + confusable (pairs that share frames and differ in one structural word),
//   [[theorem.slot]] name/role/kind/sym/noun/range/step/scale, [[theorem.template]] id/setup/given/ask,
//   probe_exceptions = { P10 = "reason", ... }.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace tsft {

struct SlotSpec {
  std::string name, role, kind, sym, noun;  // sym/noun are text templates ("{A}{B}", "the length of {A}{B}")
  long lo = 0, hi = 0, step = 1;             // sampling range of a free slot (before scaling)
  bool scale = true;                         // P3 magnitude widens this range
};

struct TemplateSpec {
  std::string id, setup, ask;                       // ask: question for the theorem's forward target
  std::map<std::string, std::string> given, ask_for;  // per-slot given clause / question overrides
};

struct TheoremSpec {
  std::string id, name, domain, statement, file;
  std::vector<std::string> premises;
  int violation_premise = -1;
  std::string premise_text, violation_text, cf_rule, kind_word, confusable, target;
  std::vector<std::string> points, invert;
  std::vector<SlotSpec> slots;
  std::vector<TemplateSpec> templates;
  std::map<std::string, std::string> probe_exceptions;  // probe id -> reason it is not meaningful
  const SlotSpec& slot(const std::string& name) const;
  bool has_slot(const std::string& name) const;
};

struct ContextSpec {
  std::string id;  // the context word ("ladder", "harbour"), inserted by the shared intro frames as {ctx}
};

struct DistractorSpec {
  std::string id, text;  // text uses {n} (the number) and {name2}
  long lo = 1, hi = 20;
};

struct NamePools {
  std::vector<std::string> persons, letters, units_length, items;  // one pool, split train/held-out
};

struct Catalog {
  std::vector<TheoremSpec> theorems;
  std::vector<std::string> frames;        // shared across theorems: use {intro} and {body}
  std::vector<std::string> intro_frames;  // theorem-agnostic intro sentences: use {ctx} and {name}
  std::vector<ContextSpec> contexts;
  std::vector<DistractorSpec> distractors;
  NamePools train, heldout;  // P1 draws from heldout only
  std::string hash;          // FNV-1a of all catalog files (sorted by name), hex
  int theorem_index(const std::string& id) const;  // -1 if absent
  int context_index(const std::string& id) const;
  int distractor_index(const std::string& id) const;
};

// Loads every *.toml in dir. Errors name the file and the field at fault.
Catalog catalog_load(const std::string& dir);
std::string catalog_default_dir();  // TSFT_SOURCE_DIR/data/theorems
uint64_t catalog_fnv1a(const void* data, size_t n, uint64_t h = 1469598103934665603ull);

}  // namespace tsft
