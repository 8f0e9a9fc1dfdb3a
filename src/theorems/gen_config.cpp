// [gen] config table: strict (unknown keys are errors naming the key), usable alone or inside an
// experiment file.
#include <toml++/toml.h>

#include <fstream>
#include <sstream>

#include "core/error.hpp"
#include "theorems/gen_schema.hpp"
#include "theorems/generate.hpp"

namespace tsft {
namespace {

std::vector<std::string> strings(const toml::node& n, const std::string& where) {
  auto arr = n.as_array();
  TSFT_CHECK(arr, "{}: must be an array of strings", where);
  std::vector<std::string> out;
  for (auto& e : *arr) {
    auto s = e.value<std::string>();
    TSFT_CHECK(s, "{}: must be an array of strings", where);
    out.push_back(*s);
  }
  return out;
}

double fraction(const toml::node& n, const std::string& where) {
  auto v = n.value<double>();
  TSFT_CHECK(v && *v >= 0.0 && *v <= 1.0, "{}: must be a number in [0, 1]", where);
  return *v;
}

using schema::Key;
using schema::Type;
using json = nlohmann::json;

Key frac(const char* name, double def, const char* help) {
  return {name, Type::Float, def, 0, 1, {}, help};
}
Key count(const char* name, long def, const char* help) {
  return {name, Type::Int, def, 0, 1e15, {}, help};
}

}  // namespace

const schema::Schema& gen_schema() {
  static const schema::Schema s = [] {
    const GenConfig d;
    const std::vector<std::string> probes = d.probes;
    return schema::Schema{
        {"gen",
         {{"seed",
           Type::Int,
           d.seed,
           0,
           9.2e18,
           {},
           "the world: held-out combinations, chain pairs, contexts"},
          {"catalog", Type::String, nullptr, -1e300, 1e300, {}, "catalog directory (default: data/theorems)"},
          {"format",
           Type::String,
           d.format,
           -1e300,
           1e300,
           {"open", "mc"},
           "open answers or multiple choice"},
          {"probes", Type::StringList, d.probes, -1e300, 1e300, probes, "probe families generated"},
          {"range_scale", Type::Float, d.range_scale, 0.1, 1000, {}, "scales the hi end of slot ranges"},
          {"magnitude_scale", Type::Float, d.magnitude_scale, 0.1, 1000, {}, "P3 range scale"},
          {"heldout_combo_mod", Type::Int, d.heldout_combo_mod, 2, 1e9, {}, "1/mod of combinations held out"},
          frac("cue_rate", d.cue_rate, "P(context = the theorem's home context)"),
          frac("chain_fraction", d.chain_fraction, "items chaining two theorems"),
          frac("heldout_pair_fraction", d.heldout_pair_fraction, "chain pairs held out (compositional)"),
          frac("reorder_fraction", d.reorder_fraction, "items with reordered givens"),
          frac("distractor_fraction", d.distractor_fraction, "items with a distractor sentence"),
          frac("unanswerable_fraction", d.unanswerable_fraction, "items with a needed given removed"),
          frac("violation_fraction", d.violation_fraction, "items with the premise violated"),
          frac("inversion_fraction", d.inversion_fraction, "items asking for a former given"),
          {"order_kinds_train", Type::StringList, d.order_kinds_train, -1e300, 1e300, {}, "train orders"},
          {"order_kinds_heldout", Type::StringList, d.order_kinds_heldout, -1e300, 1e300, {}, "P4 orders"},
          {"distractor_kinds_heldout",
           Type::StringList,
           d.distractor_kinds_heldout,
           -1e300,
           1e300,
           {},
           "held-out distractor kinds"},
          {"theorems",
           Type::StringList,
           d.theorems,
           -1e300,
           1e300,
           {},
           "restrict to these ids (empty: all)"}},
         false,
         "the generator"},
        {"gen.sizes",
         {count("train", d.sizes.at("train"), "train items"), count("test", d.sizes.at("test"), "test items"),
          count("counterfactual", d.sizes.at("counterfactual"), "counterfactual items"),
          count("compositional", d.sizes.at("compositional"), "compositional items"),
          count("probe_parents", d.probe_parents, "test items that receive probe variants")},
         false,
         "split sizes"},
        {"gen.corpus",
         {count("examples_per_theorem", d.corpus_examples_per_theorem, "worked examples per theorem"),
          count("drill_max", d.corpus_drill_max, "largest drill operand (0: from the ranges)"),
          count("drill_repeats", d.corpus_drill_repeats, "generic drill passes (0: none)"),
          count("step_drills", d.corpus_step_drills, "solution-line drills per theorem and value mode"),
          count("step_repeats", d.corpus_step_repeats, "passes over the step drills"),
          {"step_drills_eval_facts",
           Type::Bool,
           d.corpus_step_eval_facts,
           -1e300,
           1e300,
           {},
           "drills may state arithmetic facts of evaluation items"},
          {"restatement",
           Type::Bool,
           d.corpus_restatement,
           -1e300,
           1e300,
           {},
           "worked examples carry the \"Known: ... Asked: ...\" restatement"},
          {"theorem_names",
           Type::Bool,
           d.corpus_theorem_names,
           -1e300,
           1e300,
           {},
           "worked examples name the theorem of each step"}},
         false,
         "the pre-training corpus"},
        {"gen.ranges", {}, true, "theorem.slot = [lo, hi] or [lo, hi, step]"},
    };
  }();
  return s;
}

namespace {
// [gen.sizes]: items per split, and the number of probe parents.
void read_sizes(const toml::node& node, const std::string& where, GenConfig& c) {
  auto st = node.as_table();
  TSFT_CHECK(st, "{}: must be a table", where);
  for (auto& [sk, sv] : *st) {
    std::string s(sk.str());
    auto v = sv.value<int64_t>();
    TSFT_CHECK(v && *v >= 0, "{}.{}: must be a non-negative integer", where, s);
    if (s == "probe_parents")
      c.probe_parents = *v;
    else {
      TSFT_CHECK(c.sizes.count(s),
                 "{}.{}: unknown split (train, test, counterfactual, compositional, probe_parents)", where,
                 s);
      c.sizes[s] = *v;
    }
  }
}

// [gen.ranges]: theorem.slot = [lo, hi] or [lo, hi, step] (integers).
void read_ranges(const toml::node& node, const std::string& where, GenConfig& c) {
  auto rt = node.as_table();
  TSFT_CHECK(rt, "{}: must be a table of theorem tables", where);
  for (auto& [tk, tv] : *rt) {
    auto tt = tv.as_table();
    TSFT_CHECK(tt, "{}.{}: must be a table slot = [lo, hi, step]", where, std::string(tk.str()));
    for (auto& [sk, sv] : *tt) {
      auto arr = sv.as_array();
      std::string w2 = where + "." + std::string(tk.str()) + "." + std::string(sk.str());
      TSFT_CHECK(
          arr && (arr->size() == 2 || arr->size() == 3) && arr->is_homogeneous(toml::node_type::integer),
          "{}: must be [lo, hi] or [lo, hi, step] of integers", w2);
      std::array<long, 3> r{arr->get(0)->value_or<int64_t>(0), arr->get(1)->value_or<int64_t>(0),
                            arr->size() == 3 ? arr->get(2)->value_or<int64_t>(1) : 1};
      TSFT_CHECK(r[0] <= r[1] && r[2] >= 1, "{}: need lo <= hi and step >= 1", w2);
      c.ranges[std::string(tk.str())][std::string(sk.str())] = r;
    }
  }
}

// [gen.corpus]: the pre-training corpus's sizes and switches.
void read_corpus(const toml::node& node, const std::string& where, GenConfig& c) {
  auto ct = node.as_table();
  TSFT_CHECK(ct, "{}: must be a table", where);
  for (auto& [ck, cv] : *ct) {
    std::string s(ck.str());
    if (s == "step_drills_eval_facts" || s == "restatement" || s == "theorem_names") {
      auto b = cv.value<bool>();
      TSFT_CHECK(b, "{}.{}: must be true or false", where, s);
      (s == "restatement"     ? c.corpus_restatement
       : s == "theorem_names" ? c.corpus_theorem_names
                              : c.corpus_step_eval_facts) = *b;
      continue;
    }
    auto v = cv.value<int64_t>();
    TSFT_CHECK(v && *v >= 0, "{}.{}: must be a non-negative integer", where, s);
    if (s == "examples_per_theorem")
      c.corpus_examples_per_theorem = *v;
    else if (s == "drill_max")
      c.corpus_drill_max = *v;
    else if (s == "drill_repeats")
      c.corpus_drill_repeats = *v;
    else if (s == "step_drills")
      c.corpus_step_drills = *v;
    else if (s == "step_repeats")
      c.corpus_step_repeats = *v;
    else
      TSFT_FAIL(
          "{}.{}: unknown key (examples_per_theorem, drill_max, drill_repeats, step_drills, "
          "step_repeats, "
          "step_drills_eval_facts, restatement, theorem_names)",
          where, s);
  }
}
}  // namespace

GenConfig gen_config_from_toml_text(const std::string& text, const std::string& origin) {
  toml::table root;
  try {
    root = toml::parse(text, origin);
  } catch (const toml::parse_error& e) {
    TSFT_FAIL("{}:{}:{}: TOML parse error: {}", origin, e.source().begin.line, e.source().begin.column,
              e.description());
  }
  const toml::table* t = root["gen"].as_table();
  std::string pre = "[gen]";
  if (!t) {
    t = &root;
    pre = "(top level)";
  }
  schema::check_table(*t, origin, "gen", gen_schema());
  GenConfig c;
  for (auto& [key, node] : *t) {
    std::string k(key.str());
    std::string where = origin + ": " + pre + " " + k;
    if (k == "seed") {
      auto v = node.value<int64_t>();
      TSFT_CHECK(v && *v >= 0, "{}: must be a non-negative integer", where);
      c.seed = (uint64_t)*v;
    } else if (k == "catalog") {
      c.catalog_dir = node.value_or(std::string());
    } else if (k == "format") {
      c.format = node.value_or(std::string());
      TSFT_CHECK(c.format == "open" || c.format == "mc", "{}: must be \"open\" or \"mc\"", where);
    } else if (k == "sizes") {
      read_sizes(node, where, c);
    } else if (k == "probes") {
      c.probes = strings(node, where);
      for (auto& p : c.probes) {
        int n = p.size() > 1 && p[0] == 'P' ? std::atoi(p.c_str() + 1) : 0;
        TSFT_CHECK(n >= 1 && n <= 12 && p == "P" + std::to_string(n), "{}: unknown probe '{}'", where, p);
      }
    } else if (k == "range_scale" || k == "magnitude_scale") {
      auto v = node.value<double>();
      TSFT_CHECK(v && *v >= 0.1 && *v <= 1000, "{}: must be a number in [0.1, 1000]", where);
      (k == "range_scale" ? c.range_scale : c.magnitude_scale) = *v;
    } else if (k == "heldout_combo_mod") {
      auto v = node.value<int64_t>();
      TSFT_CHECK(v && *v >= 2, "{}: must be an integer >= 2", where);
      c.heldout_combo_mod = *v;
    } else if (k == "ranges") {
      read_ranges(node, where, c);
    } else if (k == "cue_rate") {
      c.cue_rate = fraction(node, where);
    } else if (k == "chain_fraction") {
      c.chain_fraction = fraction(node, where);
    } else if (k == "heldout_pair_fraction") {
      c.heldout_pair_fraction = fraction(node, where);
    } else if (k == "reorder_fraction") {
      c.reorder_fraction = fraction(node, where);
    } else if (k == "distractor_fraction") {
      c.distractor_fraction = fraction(node, where);
    } else if (k == "unanswerable_fraction") {
      c.unanswerable_fraction = fraction(node, where);
    } else if (k == "violation_fraction") {
      c.violation_fraction = fraction(node, where);
    } else if (k == "inversion_fraction") {
      c.inversion_fraction = fraction(node, where);
    } else if (k == "order_kinds_train") {
      c.order_kinds_train = strings(node, where);
    } else if (k == "order_kinds_heldout") {
      c.order_kinds_heldout = strings(node, where);
      TSFT_CHECK(!c.order_kinds_heldout.empty(), "{}: needs at least one kind for P4", where);
    } else if (k == "distractor_kinds_heldout") {
      c.distractor_kinds_heldout = strings(node, where);
    } else if (k == "theorems") {
      c.theorems = strings(node, where);
    } else if (k == "corpus") {
      read_corpus(node, where, c);
    } else {
      TSFT_FAIL("{}: unknown key", where);
    }
  }
  TSFT_CHECK(c.unanswerable_fraction + c.violation_fraction <= 1.0,
             "{}: unanswerable + violation fractions exceed 1", origin);
  return c;
}

GenConfig gen_config_load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  TSFT_CHECK(in, "cannot read config '{}'", path);
  std::stringstream ss;
  ss << in.rdbuf();
  return gen_config_from_toml_text(ss.str(), path);
}

}  // namespace tsft
