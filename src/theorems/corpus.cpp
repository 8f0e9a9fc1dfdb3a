// Pre-training corpus for the small base models (JSONL, one {"kind", "text"} document per line):
//   statement  each theorem's name, statement, premises and roles, in a few neutral phrasings;
//   example    worked examples in plain prose ("We know ... so ... The result is ..."), unlike every SFT
//              arm (no Theorem/Cond/Map labels, no \boxed); drawn from their own seed stream;
//   example    ... each with the problem's restatement ("Known: ... Asked: ..."), so the base has read
//              how a problem's values are found by their objects (pilot lesson 11), and the name of
//              each step's theorem ([gen.corpus] restatement / theorem_names = false: neither);
//   drill      arithmetic facts (+, -, x, exact division, squares, square-root simplification, fraction
//              reduction) over every operand range any split uses, including the P3 magnitude ranges,
//              so P2/P3 measure whether a procedure transfers, not whether the arithmetic was learned;
//              drill_repeats = 0 leaves them out;
//   step       the arithmetic lines of solutions (e.g. "N = 5 \times 3 \times 5 = 75"), collected from
//              step_drills independent draws per active theorem in both value modes of the usual
//              ranges (i.i.d. combinations and the P2 held-out ones), deduplicated: the facts of exactly
//              the computations the problems ask for, in the form the solutions write them (pilot
//              lesson 1, focused: the generic drills over [0, 150]^2 are too many for a tiny model).
//              P3 magnitudes (4-5 digit products) are left to the generic drills. step_repeats passes,
//              each in a new order, weight them in the corpus;
//   copy       copy drills (pilot lesson 11: tiny models must first learn to copy).
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <set>

#include "theorems/generate.hpp"

namespace tsft {
namespace {

void doc(std::string& out, const char* kind, const std::string& text) {
  out += nlohmann::json({{"kind", kind}, {"text", text}}).dump();
  out += '\n';
}

// `passes` shuffles of `lines` (each pass in a new order), 16 lines per document of `kind`.
void doc_lines(std::string& out, const char* kind, std::vector<std::string>& lines, long passes, Rng& rng) {
  for (long rep = 0; rep < passes; ++rep) {
    for (size_t k = lines.size(); k > 1; --k) std::swap(lines[k - 1], lines[rng.below(k)]);
    for (size_t k = 0; k < lines.size(); k += 16) {
      std::string text;
      for (size_t j = k; j < std::min(lines.size(), k + 16); ++j)
        text += (text.empty() ? "" : "\n") + lines[j];
      doc(out, kind, text);
    }
  }
}

}  // namespace

std::string exec_line_fact(const std::string& line) {
  // "\angle N = 180 - 20 - 80 = 80" -> "180 - 20 - 80 = 80": drop the computed symbol of a chain.
  size_t eq = line.find(" = ");
  if (eq == std::string::npos) return "";
  std::string fact = line.find(" = ", eq + 3) == std::string::npos ? line : line.substr(eq + 3);
  // Pure arithmetic only: digits, operators and LaTeX commands (\times, \sqrt, \frac), no symbols.
  bool digit = false, op = false;
  for (size_t i = 0; i < fact.size(); ++i) {
    char ch = fact[i];
    if (ch == '\\') {
      size_t j = i + 1;
      while (j < fact.size() && std::isalpha((unsigned char)fact[j])) ++j;
      op = true;
      i = j - 1;
    } else if (std::isalpha((unsigned char)ch)) {
      return "";
    } else {
      digit |= std::isdigit((unsigned char)ch) != 0;
      op |= std::strchr("+-/^", ch) != nullptr;
    }
  }
  return digit && op ? fact : "";
}

GenConfig corpus_stream_config(const GenConfig& cfg) {
  GenConfig ec = cfg;
  ec.stream_seed = rng_mix(cfg.seed, 0x636f72707573);
  ec.cue_rate = 0.0;
  ec.reorder_fraction = ec.distractor_fraction = ec.unanswerable_fraction = ec.violation_fraction = 0;
  ec.format = "open";
  return ec;
}

std::vector<Problem> corpus_examples(const World& w, const EvalReserved& reserved) {
  // Draws are i.i.d. combinations only (never held out); a draw that repeats an evaluation item's
  // value combination or question is redrawn (next attempt), so no evaluation item is a worked example.
  World ew(w.catalog(), corpus_stream_config(w.config()));
  const long n = w.config().corpus_examples_per_theorem * (long)w.active().size();
  std::vector<Problem> out;
  out.reserve(n);
  for (long i = 0; i < n; ++i)
    for (int a = 0; a < 64; ++a) {
      Problem p = ew.realize(ew.draw("train", i, a));
      if (reserved.numbers.count(p.numbers_key) ||
          reserved.questions.count(catalog_fnv1a(p.question.data(), p.question.size())))
        continue;
      out.push_back(std::move(p));
      break;
    }
  return out;
}

std::string gen_corpus(const World& w, const EvalReserved& reserved) {
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
    doc(out, "statement",
        fmt::format("Definition ({}): {} The quantities involved are {}.", th.name, th.statement, roles));
  }
  // Worked examples (the corpus stream: same held-out predicate, own draws).
  World ew(cat, corpus_stream_config(cfg));
  for (const Problem& p : corpus_examples(w, reserved)) {
    std::string body = p.question + (cfg.corpus_restatement ? " " + p.restatement : ""), work;
    for (auto& st : p.steps) {
      if (cfg.corpus_theorem_names) work += fmt::format(" This is a case of the {}.", st.name);
      for (auto& l : st.exec) work += " We get " + l + ".";
    }
    doc(out, "example", body + work + " The result is " + p.answer + ".");
  }
  // Step drills: exec lines of independent draws (the corpus stream after the examples), per theorem
  // in the i.i.d. value mode and, where the config allows evaluation facts, the P2 held-out mode.
  if (cfg.corpus_step_drills > 0) {
    std::set<std::string> seen;
    std::vector<std::string> steps;
    auto take = [&](const Problem& p) {
      for (auto& st : p.steps)
        for (auto& l : st.exec) {
          std::string f = exec_line_fact(l);
          if (f.empty() || (!cfg.corpus_step_eval_facts && reserved.facts.count(f))) continue;
          if (seen.insert(f).second) steps.push_back(f);
        }
    };
    const long n = cfg.corpus_examples_per_theorem * (long)w.active().size();
    for (long i = 0; i < cfg.corpus_step_drills * (long)w.active().size(); ++i) {
      Recipe r = ew.draw("train", n + i, 0);
      take(ew.realize(r));
      Recipe q;
      if (cfg.corpus_step_eval_facts && ew.probe(r, "P2", 0, q)) take(ew.realize(std::move(q)));
    }
    Rng srng(rng_mix(cfg.seed, 0x7374657073));
    doc_lines(out, "step", steps, cfg.corpus_step_repeats, srng);
  }
  // Drills. Operand bound: the largest scalable range end in use, times the larger of the scales.
  long dmax = cfg.corpus_drill_max;
  if (dmax == 0) {
    for (int t : w.active())
      for (auto& s : cat.theorems[t].slots)
        if (s.scale)
          dmax =
              std::max<long>(dmax, (long)(std::abs(s.hi) * std::max(cfg.range_scale, cfg.magnitude_scale)));
    dmax = std::clamp<long>(dmax, 12, 150);
  }
  std::vector<std::string> facts;  // none when drill_repeats = 0
  if (cfg.corpus_drill_repeats > 0) {
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
    for (long m = 2; m <= 2000; ++m)
      facts.push_back(fmt::format("\\sqrt{{{}}} = {}", m, exact_to_latex(Exact::sqrt_of(Exact(m)))));
    for (long q = 2; q <= 24; ++q)
      for (long p = 1; p <= 4 * q; ++p)
        if (std::__gcd(p, q) != 1)
          facts.push_back(fmt::format("{}/{} = {}", p, q, exact_to_latex(Exact::frac(p, q))));
  }
  Rng rng(rng_mix(cfg.seed, 0x6472696c6c));
  doc_lines(out, "drill", facts, cfg.corpus_drill_repeats, rng);
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
