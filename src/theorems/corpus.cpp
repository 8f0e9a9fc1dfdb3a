// Pre-training corpus for the small base models (JSONL, one {"kind", "text"} document per line):
//   statement  each theorem's name, statement, premises and roles, in a few neutral phrasings;
//   example    worked examples in plain prose ("We know ... so ... The result is ..."), unlike every SFT
//              arm (no Theorem/Cond/Map labels, no \boxed); drawn from their own seed stream;
//   drill      arithmetic facts (+, -, x, exact division, squares, square-root simplification, fraction
//              reduction) over every operand range any split uses, including the P3 magnitude ranges,
//              so P2/P3 measure whether a procedure transfers, not whether the arithmetic was learned;
//   copy       copy drills (pilot lesson 11: tiny models must first learn to copy).
#include <algorithm>
#include <fmt/format.h>

#include "theorems/generate.hpp"

namespace tsft {
namespace {

void doc(std::string& out, const char* kind, const std::string& text) {
  out += nlohmann::json({{"kind", kind}, {"text", text}}).dump();
  out += '\n';
}

}  // namespace

std::string gen_corpus(const World& w) {
  const Catalog& cat = w.catalog();
  const GenConfig& cfg = w.config();
  std::string out;
  // Statements.
  for (int t : w.active()) {
    const auto& th = cat.theorems[t];
    std::string prem, roles;
    for (auto& p : th.premises) prem += (prem.empty() ? "" : "; ") + p;
    for (auto& s : th.slots) roles += (roles.empty() ? "" : ", ") + s.role;
    doc(out, "statement", fmt::format("{}. {}", th.name, th.statement));
    doc(out, "statement", fmt::format("The {} says: {} It needs: {}.", th.name, th.statement, prem));
    doc(out, "statement", fmt::format("Definition ({}): {} The quantities involved are {}.", th.name, th.statement, roles));
  }
  // Worked examples: the "corpus" stream is the train distribution under another seed, with no cue.
  GenConfig ec = cfg;
  ec.seed = rng_mix(cfg.seed, 0x636f72707573);
  ec.cue_rate = 0.0;
  ec.reorder_fraction = ec.distractor_fraction = ec.unanswerable_fraction = ec.violation_fraction = 0;
  ec.format = "open";
  World ew(cat, ec);
  long n = cfg.corpus_examples_per_theorem * (long)w.active().size();
  for (long i = 0; i < n; ++i) {
    Problem p = ew.realize(ew.draw("train", i, 0));
    std::string body = p.question, work;
    for (auto& st : p.steps) {
      work += fmt::format(" This is a case of the {}.", st.name);
      for (auto& l : st.exec) work += " We get " + l + ".";
    }
    doc(out, "example", body + work + " The result is " + p.answer + ".");
  }
  // Drills. Operand bound: the largest scalable range end in use, times the larger of the scales.
  long dmax = cfg.corpus_drill_max;
  if (dmax == 0) {
    for (int t : w.active())
      for (auto& s : cat.theorems[t].slots)
        if (s.scale) dmax = std::max<long>(dmax, (long)(std::abs(s.hi) * std::max(cfg.range_scale, cfg.magnitude_scale)));
    dmax = std::clamp<long>(dmax, 12, 150);
  }
  std::vector<std::string> facts;
  for (long a = 0; a <= dmax; ++a)
    for (long b = 0; b <= dmax; ++b) {
      facts.push_back(fmt::format("{} + {} = {}", a, b, a + b));
      if (a >= b) facts.push_back(fmt::format("{} - {} = {}", a, b, a - b));
      if (a <= 30 || b <= 30) facts.push_back(fmt::format("{} \\times {} = {}", a, b, a * b));
      if (b > 0 && a <= 30 && b <= 30) facts.push_back(fmt::format("{} / {} = {}", a * b, b, a));
    }
  for (long a = 0; a <= 360; a += 5)  // angle sums and complements
    for (long b = 0; a + b <= 360; b += 5) facts.push_back(fmt::format("{} - {} = {}", a + b, b, a));
  for (long a = 1; a <= 2 * dmax; ++a) facts.push_back(fmt::format("{}^2 = {}", a, a * a));
  for (long m = 2; m <= 2000; ++m) facts.push_back(fmt::format("\\sqrt{{{}}} = {}", m, exact_to_latex(Exact::sqrt_of(Exact(m)))));
  for (long q = 2; q <= 24; ++q)
    for (long p = 1; p <= 4 * q; ++p)
      if (std::__gcd(p, q) != 1) facts.push_back(fmt::format("{}/{} = {}", p, q, exact_to_latex(Exact::frac(p, q))));
  Rng rng(rng_mix(cfg.seed, 0x6472696c6c));
  for (long rep = 0; rep < cfg.corpus_drill_repeats; ++rep) {
    for (size_t k = facts.size() - 1; k > 0; --k) std::swap(facts[k], facts[rng.below(k + 1)]);
    for (size_t k = 0; k < facts.size(); k += 16) {
      std::string text;
      for (size_t j = k; j < std::min(facts.size(), k + 16); ++j) text += (text.empty() ? "" : "\n") + facts[j];
      doc(out, "drill", text);
    }
  }
  // Copy drills over the letter/name pools.
  const auto& L = cat.train.letters;
  for (int i = 0; i < 2000; ++i) {
    std::string s;
    for (int j = 0; j < 3 + (int)rng.below(5); ++j)
      s += (s.empty() ? "" : " ") + (rng.chance(0.5) ? L[rng.below(L.size())] + L[rng.below(L.size())]
                                                    : std::to_string(rng.range(0, 999)));
    doc(out, "copy", "Copy: " + s + "\n" + s);
  }
  return out;
}

}  // namespace tsft
