// [gen] config table: strict (unknown keys are errors naming the key), usable alone or inside an
// experiment file.
#include <toml++/toml.h>

#include <fstream>
#include <sstream>

#include "core/error.hpp"
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
                     "{}.{}: unknown split (train, test, counterfactual, compositional, probe_parents)",
                     where, s);
          c.sizes[s] = *v;
        }
      }
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
      auto rt = node.as_table();
      TSFT_CHECK(rt, "{}: must be a table of theorem tables", where);
      for (auto& [tk, tv] : *rt) {
        auto tt = tv.as_table();
        TSFT_CHECK(tt, "{}.{}: must be a table slot = [lo, hi, step]", where, std::string(tk.str()));
        for (auto& [sk, sv] : *tt) {
          auto arr = sv.as_array();
          std::string w2 = where + "." + std::string(tk.str()) + "." + std::string(sk.str());
          TSFT_CHECK(arr && (arr->size() == 2 || arr->size() == 3), "{}: must be [lo, hi] or [lo, hi, step]",
                     w2);
          std::array<long, 3> r{arr->get(0)->value_or<int64_t>(0), arr->get(1)->value_or<int64_t>(0),
                                arr->size() == 3 ? arr->get(2)->value_or<int64_t>(1) : 1};
          TSFT_CHECK(r[0] <= r[1] && r[2] >= 1, "{}: need lo <= hi and step >= 1", w2);
          c.ranges[std::string(tk.str())][std::string(sk.str())] = r;
        }
      }
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
      auto ct = node.as_table();
      TSFT_CHECK(ct, "{}: must be a table", where);
      for (auto& [ck, cv] : *ct) {
        std::string s(ck.str());
        if (s == "step_drills_eval_facts") {
          auto b = cv.value<bool>();
          TSFT_CHECK(b, "{}.{}: must be true or false", where, s);
          c.corpus_step_eval_facts = *b;
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
              "step_drills_eval_facts)",
              where, s);
      }
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
