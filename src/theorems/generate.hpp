// Problem generation: recipes (every random choice of one item), realization into text + solution,
// splits (train / test / counterfactual / compositional) and probe variants P1-P12 of test items.
//
// Determinism: item k of split s is drawn from Rng(mix(seed, s, k, attempt)) alone, so output does not
// depend on thread count or on the order items are made in. Non-train items whose text equals a train
// text are redrawn (next attempt); see DESIGN notes in data/theorems/README.md for every split.
#pragma once
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <unordered_set>
#include <vector>

#include "theorems/catalog.hpp"
#include "theorems/exact.hpp"
#include "theorems/kernels.hpp"

namespace tsft {

// The [gen] table of a config file (alone or inside a larger experiment file). Defaults are the
// values below; every field is documented in configs/gen_default.toml.
struct GenConfig {
  uint64_t seed = 1;  // the world: held-out value combinations (P2), chain pairs, home contexts
  // Seed of the item draws (0: seed). Not a config key: the corpus stream draws its worked examples
  // under another stream seed but shares `seed`, so every stream has one held-out predicate.
  uint64_t stream_seed = 0;
  std::string catalog_dir;      // empty: catalog_default_dir()
  std::string format = "open";  // "open" | "mc" (multiple choice; enables P12)
  std::map<std::string, long> sizes = {
      {"train", 20000}, {"test", 2000}, {"counterfactual", 2000}, {"compositional", 1000}};
  long probe_parents = 2000;  // test items that receive probe variants (first N eligible)
  std::vector<std::string> probes = {"P1", "P2", "P3", "P4",  "P5",  "P6",
                                     "P7", "P8", "P9", "P10", "P11", "P12"};
  double range_scale = 1.0;       // scales the hi end of every scalable slot range (train/test/...)
  double magnitude_scale = 10.0;  // P3 range scale
  long heldout_combo_mod = 5;     // value combinations with hash % mod == 0 are reserved for P2
  std::map<std::string, std::map<std::string, std::array<long, 3>>> ranges;  // theorem -> slot -> lo,hi,step
  double cue_rate = 0.97;              // P(context = the theorem's home context) in train/test
  double chain_fraction = 0.1;         // train/test items that chain two theorems (train pairs only)
  double heldout_pair_fraction = 0.3;  // chain pairs reserved for the compositional split
  double reorder_fraction = 0.15;
  double distractor_fraction = 0.15;
  double unanswerable_fraction = 0.03;  // train/test items with a needed given removed (gold: CBD)
  double violation_fraction = 0.03;     // train/test items with the premise violated (gold: CBD)
  double inversion_fraction = 0.0;      // train/test items asking for a former given
  std::vector<std::string> order_kinds_train = {"reverse_givens", "rotate_givens", "premise_last"};
  std::vector<std::string> order_kinds_heldout = {"question_first", "setup_last", "swap_first_two"};
  std::vector<std::string> distractor_kinds_heldout = {"temperature", "page", "floor"};
  std::vector<std::string> theorems;  // restrict to these ids (empty: all)
  // Pre-training corpus.
  long corpus_examples_per_theorem = 40;
  long corpus_drill_max = 0;      // largest operand of + - x drills; 0: derived from the ranges in use
  long corpus_drill_repeats = 1;  // 0: no generic arithmetic drills
  long corpus_step_drills = 0;    // draws per theorem and value mode whose solution lines become drills
  long corpus_step_repeats = 1;   // passes over the step drills (each in a new order)
  // Step drills may state the arithmetic facts of evaluation items (P2 value combinations included):
  // declared, because such a fact can be an item's answer ("5 \times 3 \times 5 = 75"). false: drills
  // come from i.i.d. draws only and every fact of an evaluation item's solution is left out.
  bool corpus_step_eval_facts = true;
  // Worked examples of the corpus (issue 12 item 5: a base that favours neither arm). restatement: each
  // example carries the problem's "Known: ... Asked: ..." restatement (the theorem arm's bindings without
  // role names); theorem_names: each step says "This is a case of the <theorem>" (the theorem arm's
  // statement line). Both false: plain prose (question, computation lines, result).
  bool corpus_restatement = true;
  bool corpus_theorem_names = true;
};

GenConfig gen_config_load(const std::string& path);  // reads [gen] (or the top level if absent)
GenConfig gen_config_from_toml_text(const std::string& text, const std::string& origin);

struct PartRecipe {
  int th = -1, tpl = 0;
  std::string target, link_slot;  // link_slot: fed by the previous part's answer
  std::map<std::string, Exact> vals;
  std::vector<std::string> letters;  // letter of each role point (theorem.points order)
};

struct Recipe {
  std::vector<PartRecipe> parts;
  int context = 0, intro = 0, frame = 0;
  bool planted = false;
  std::vector<std::string> persons;  // >= 2
  std::string unit, item;
  std::string order_kind;  // "" = template order
  int distractor = -1;     // index into catalog distractors
  long distractor_n = 0;
  int distractor_pos = 0;
  std::string drop_slot;  // P9 / unanswerable: given removed from the last part
  bool violate = false, cf = false;
  uint64_t option_seed = 0;  // multiple-choice option order
};

struct Step {
  std::string theorem, name, statement;
  std::vector<std::string> cond, map, exec;
};

// One stated given: slot `slot` of part `part` (theorem `theorem`) is object `object` with text `value`.
struct Given {
  std::string slot, object, value, theorem;
  size_t part = 0;
};

// One slot of a part: role, object, value (absent for the asked slot and a removed given).
struct SlotBinding {
  std::string name, role, object, value;
  bool has_value = false;
};

struct Binding {
  std::string theorem, target, link;
  std::vector<SlotBinding> slots;  // catalog order (written sorted by name, as a JSON object)
};

struct Problem {
  std::string id, split, parent_id, perturbation = "none", family, context, order_kind, distractor_kind;
  std::string question, answer, answer_type, answer_value, restatement;
  std::vector<std::string> theorems, templates, options;
  bool cue_planted = false, cbd = false;
  std::vector<Step> steps;
  std::vector<Given> givens;
  std::vector<Binding> bindings;
  uint64_t numbers_key = 0;       // hash of theorem ids + all slot values (P2 leakage check)
  int values_seen_in_train = -1;  // test split: 1 if a train item has the same numbers_key, else 0
  Recipe recipe;
};

// The problem record (schema in data/theorems/README.md). problem_write_json appends exactly
// problem_to_json(p).dump() to out (compact, keys sorted, same string escaping) without building a
// json tree; gen uses it for speed, tests check the two agree.
nlohmann::json problem_to_json(const Problem& p);
void problem_write_json(const Problem& p, std::string& out);

class World {
 public:
  World(Catalog cat, GenConfig cfg);
  const Catalog& catalog() const { return cat_; }
  const GenConfig& config() const { return cfg_; }
  const std::vector<int>& active() const { return active_; }  // theorem indices in use
  const std::vector<std::pair<int, int>>& train_pairs() const { return train_pairs_; }
  const std::vector<std::pair<int, int>>& heldout_pairs() const { return heldout_pairs_; }
  int home_context(int th) const { return home_[th]; }

  // One item of a split ("train", "test", "counterfactual", "compositional"); attempt > 0 redraws.
  Recipe draw(const std::string& split, long index, int attempt) const;
  // The one held-out predicate of every stream: a value combination (numbers key) of a part drawn
  // without fixed slots is reserved for P2 iff this holds. Depends on config().seed only.
  bool heldout_combo(uint64_t numbers_key) const;
  Problem realize(const Recipe& r) const;
  Problem realize(Recipe&& r) const;  // same, moving r into Problem::recipe
  // Probe variant of a parent recipe; false if the probe is not meaningful for it.
  bool probe(const Recipe& parent, const std::string& type, int attempt, Recipe& out) const;
  bool probe_supported(int th, const std::string& type, std::string* why = nullptr) const;

  // Samples slot values of theorem th (mode 0 i.i.d. combos, 1 held-out combos, 2 magnitude).
  bool sample_values(int th, Rng& rng, int mode, const std::map<std::string, Exact>& fixed,
                     const std::string& target, bool cf, std::map<std::string, Exact>& out) const;

 private:
  Catalog cat_;
  GenConfig cfg_;
  std::vector<int> active_, home_, distractors_train_, distractors_heldout_;
  std::vector<const Kernel*> kernels_;
  std::vector<std::pair<int, int>> train_pairs_, heldout_pairs_;
  void build_pairs();
  PartRecipe draw_part(int th, Rng& rng, int mode, const std::string& target) const;
  void draw_names(Recipe& r, Rng& rng, bool heldout) const;
  bool chain_part(int a, int b, const Exact& a_answer, Rng& rng, PartRecipe& pb) const;
  bool probe_invert(int th, Rng& rng, PartRecipe& last) const;  // P6 of probe()
  bool probe_compose(int th, Rng& rng, Recipe& out) const;      // P7 of probe()
};

// Whole-run generation: writes DIR/problems/<split>.jsonl, DIR/problems/probe_<P>.jsonl,
// DIR/corpus.txt (if with_corpus), DIR/manifest.json. Returns the manifest.
nlohmann::json gen_run(const World& w, const std::string& out_dir, bool with_corpus);
// Same items without writing (for benchmarks): calls sink(json line) for every problem.
// Every value combination and solution fact of the evaluation items (test, counterfactual,
// compositional, probes): training streams built after them must not state them as worked examples.
struct EvalReserved {
  std::unordered_set<uint64_t> numbers, questions;
  std::unordered_set<std::string> facts;  // exec_line_fact of every solution line
};
nlohmann::json gen_stream(const World& w,
                          const std::function<void(const std::string& file, const std::string& line)>& sink,
                          EvalReserved* reserved = nullptr);
// The pre-training corpus (JSONL). Worked examples never use a value combination or question of
// `reserved`; step drills leave out its facts unless corpus_step_eval_facts.
std::string gen_corpus(const World& w, const EvalReserved& reserved = {});
// The worked examples of the corpus, as problems (gen_corpus writes exactly these).
std::vector<Problem> corpus_examples(const World& w, const EvalReserved& reserved);
// The corpus stream's world: same seed (held-out predicate, pairs), its own draw stream, no cue.
GenConfig corpus_stream_config(const GenConfig& cfg);
// The arithmetic fact of a solution line, or "" if it has none: the computed symbol of a chain is
// dropped ("\angle N = 180 - 20 - 80 = 80" -> "180 - 20 - 80 = 80", "67 = 6 \times 11 + 1" stays);
// lines with symbols or words ("r = 1", "x = (c - b) / a", "cannot be computed") have none.
std::string exec_line_fact(const std::string& line);

// Multiple-choice helpers.
std::vector<std::string> mc_options(const Exact& gold, bool cbd, uint64_t seed, int* gold_pos);

}  // namespace tsft
