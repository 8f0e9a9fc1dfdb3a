#include "annotate/validate.hpp"

#include <fmt/format.h>

#include <cmath>
#include <regex>
#include <sstream>

#include "data/adapters.hpp"
#include "eval/grade.hpp"

namespace tsft::annotate {

namespace {
std::string trim(const std::string& s) {
  size_t a = s.find_first_not_of(" \t\r"), b = s.find_last_not_of(" \t\r");
  return a == std::string::npos ? "" : s.substr(a, b - a + 1);
}
bool starts(const std::string& s, const std::string& p) {
  return s.rfind(p, 0) == 0;
}

// Non-empty trimmed lines; markdown code fences dropped.
std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) {
    l = trim(l);
    if (!l.empty() && !starts(l, "```")) out.push_back(l);
  }
  return out;
}

std::string squash(const std::string& s) {
  static const std::regex spacing(R"(\\[,!;:]|\\left|\\right|\\displaystyle|\$|\s)");
  static const std::regex thousands(R"((\d),(\d{3})(?!\d))");
  std::string out = std::regex_replace(s, spacing, "");
  for (std::string prev; prev != out;) prev = out, out = std::regex_replace(out, thousands, "$1$2");
  return std::regex_replace(out, std::regex(R"(\\dfrac|\\tfrac)"), "\\frac");
}

const std::vector<std::pair<std::string, int>>& number_words() {
  static const std::vector<std::pair<std::string, int>> w = {
      {"zero", 0},     {"one", 1},      {"two", 2},        {"three", 3},     {"four", 4},
      {"five", 5},     {"six", 6},      {"seven", 7},      {"eight", 8},     {"nine", 9},
      {"ten", 10},     {"eleven", 11},  {"twelve", 12},    {"thirteen", 13}, {"fourteen", 14},
      {"fifteen", 15}, {"sixteen", 16}, {"seventeen", 17}, {"eighteen", 18}, {"nineteen", 19},
      {"twenty", 20},  {"thirty", 30},  {"forty", 40},     {"fifty", 50},    {"sixty", 60},
      {"seventy", 70}, {"eighty", 80},  {"ninety", 90},    {"hundred", 100}};
  return w;
}

// Every number of the text (digits, with thousands separators and decimals; number words).
std::vector<double> numbers_in(const std::string& text) {
  std::vector<double> out;
  static const std::regex num(R"(\d+(?:,\d{3})*(?:\.\d+)?)");
  for (auto it = std::sregex_iterator(text.begin(), text.end(), num); it != std::sregex_iterator(); ++it) {
    std::string s = it->str();
    s.erase(std::remove(s.begin(), s.end(), ','), s.end());
    out.push_back(std::stod(s));
  }
  static const std::regex word(R"([A-Za-z]+)");
  for (auto it = std::sregex_iterator(text.begin(), text.end(), word); it != std::sregex_iterator(); ++it) {
    std::string w = it->str();
    for (char& c : w) c = (char)std::tolower((unsigned char)c);
    for (auto& [name, v] : number_words())
      if (w == name) out.push_back(v);
  }
  return out;
}

AnnotationCheck pass() {
  AnnotationCheck c;
  c.ok = true;
  return c;
}

AnnotationCheck fail(const std::string& reason, const std::string& message) {
  AnnotationCheck c;
  c.reason = reason;
  c.message = message;
  return c;
}

struct Parsed {
  std::vector<std::string> out;  // normalized lines
  std::vector<std::string> theorems;
  std::string boxed;
};

// The theorem named on a "Theorem:" line: the longest catalog name (or id) the line starts with, followed by
// '.', ':' or the end of the line (ignoring case); else the text before the first '.' is reported.
int named_theorem(const std::string& rest, const MathCatalog& cat) {
  auto lower = [](std::string s) {
    for (char& c : s) c = (char)std::tolower((unsigned char)c);
    return s;
  };
  std::string r = lower(rest);
  int best = -1;
  size_t best_len = 0;
  for (size_t i = 0; i < cat.theorems.size(); i++)
    for (const std::string* n : {&cat.theorems[i].name, &cat.theorems[i].id}) {
      std::string l = lower(*n);
      if (!starts(r, l) || l.size() <= best_len) continue;
      if (r.size() == l.size() || r[l.size()] == '.' || r[l.size()] == ':')
        best = (int)i, best_len = l.size();
    }
  return best;
}

AnnotationCheck theorem_line(const std::string& line, size_t no, const MathCatalog& cat, Parsed& p) {
  std::string rest = trim(line.substr(8));
  std::string name = trim(rest.substr(0, rest.find('.')));
  int k = named_theorem(rest, cat);
  if (k < 0)
    return fail("unknown_theorem",
                fmt::format("line {}: '{}' is not a theorem of the catalog; name one of the "
                            "candidate theorems exactly as listed",
                            no, name));
  const MathTheorem& t = cat.theorems[k];
  p.out.push_back("Theorem: " + t.name + ". " + t.statement);
  p.theorems.push_back(t.id);
  return pass();
}

// "Map: lhs = value [(from step k) | (asked)]": the value must occur in the problem or an earlier line.
AnnotationCheck map_line(const std::string& line, size_t no, const std::string& problem, const Parsed& p) {
  size_t eq = line.rfind('=');
  if (eq == std::string::npos || trim(line.substr(4, eq - 4)).empty())
    return fail("unparsable", fmt::format("line {}: a Map line reads 'Map: <variable> = <value>'", no));
  std::string value = trim(line.substr(eq + 1));
  static const std::regex note(R"(\s*\((from step \d+|asked)\)\.?$)");
  std::smatch m;
  if (std::regex_search(value, m, note) && m[1] == "asked") return pass();
  value = trim(std::regex_replace(value, note, ""));
  if (!value.empty() && value.back() == '.') value.pop_back();
  if (value.empty()) return fail("unparsable", fmt::format("line {}: the Map line has no value", no));
  std::string earlier;
  for (auto& l : p.out) earlier += l + "\n";
  if (value_occurs(value, problem) || value_occurs(value, earlier)) return pass();
  return fail("map_value_not_found",
              fmt::format("line {}: the Map value '{}' occurs neither in the problem nor in an earlier line; "
                          "map only values that are given (copied as written) or computed above",
                          no, value));
}

// Last line: "\boxed{X}" (optionally in $...$ or followed by '.').
AnnotationCheck box_line(const std::string& line, size_t no, Parsed& p) {
  std::string l = line;
  while (!l.empty() && (l.back() == '.' || l.back() == '$')) l.pop_back();
  while (!l.empty() && l.front() == '$') l.erase(0, 1);
  l = trim(l);
  std::string inner = data::adapter_last_boxed(l);
  if (!starts(l, "\\boxed{") || inner.empty() || l != "\\boxed{" + inner + "}")
    return fail("unparsable",
                fmt::format("line {}: the answer must end with a line holding only \\boxed{{<answer>}}", no));
  p.boxed = inner;
  p.out.push_back(l);
  return pass();
}

enum class Part { None, Theorem, Cond, Map, Work };

// One step's worth of structure: Theorem, Cond+, Map+, computation lines+.
AnnotationCheck walk(const std::vector<std::string>& lines, const std::string& problem,
                     const MathCatalog& cat, Parsed& p) {
  static const std::regex step(R"(^Step \d+[.:]?$)");
  Part part = Part::None;
  auto need = [&](size_t no) -> AnnotationCheck {
    if (part == Part::Theorem)
      return fail("unparsable", fmt::format("line {}: a Cond line must follow the Theorem line", no));
    if (part == Part::Cond)
      return fail("unparsable", fmt::format("line {}: a Map line must follow the Cond lines", no));
    if (part == Part::Map)
      return fail("unparsable", fmt::format("line {}: computation lines must follow the Map lines", no));
    return pass();
  };
  for (size_t i = 0; i + 1 < lines.size(); i++) {
    const std::string& l = lines[i];
    size_t no = i + 1;
    AnnotationCheck c = pass();
    if (std::regex_match(l, step)) {
      if (part != Part::None && !(c = need(no)).ok) return c;
      p.out.push_back(l);
      continue;
    }
    if (starts(l, "Theorem:")) {
      if (part != Part::None && part != Part::Work) return need(no);
      c = theorem_line(l, no, cat, p), part = Part::Theorem;
    } else if (starts(l, "Cond:")) {
      if (part != Part::Theorem && part != Part::Cond)
        return fail("unparsable", fmt::format("line {}: Cond lines come right after a Theorem line", no));
      if (trim(l.substr(5)).empty()) return fail("unparsable", fmt::format("line {}: empty Cond line", no));
      p.out.push_back(l), part = Part::Cond;
    } else if (starts(l, "Map:")) {
      if (part != Part::Cond && part != Part::Map)
        return fail("unparsable", fmt::format("line {}: Map lines come right after the Cond lines", no));
      c = map_line(l, no, problem, p), part = Part::Map;
      if (c.ok) p.out.push_back(l);
    } else {
      if (part == Part::None)
        return fail("unparsable",
                    fmt::format("line {}: the annotation must start with a 'Theorem:' line", no));
      if (part != Part::Map && part != Part::Work) return need(no);
      p.out.push_back(l), part = Part::Work;
    }
    if (!c.ok) return c;
  }
  if (part != Part::Work)
    return part == Part::None ? fail("unparsable", "no 'Theorem:' step before the box") : need(lines.size());
  return box_line(lines.back(), lines.size(), p);
}
}  // namespace

bool value_occurs(const std::string& value, const std::string& haystack) {
  static const std::regex plain_num(R"(^-?\d+(?:,\d{3})*(?:\.\d+)?$)");
  static const std::regex with_unit(R"(^(-?\d+(?:,\d{3})*(?:\.\d+)?)\s*[A-Za-z][A-Za-z ]*$)");
  std::smatch m;
  std::string v = squash(value);
  if (std::regex_match(value, m, with_unit)) v = squash(m[1].str());  // "12 dollars": the number
  if (std::regex_match(v, plain_num)) {
    double x = std::fabs(std::stod(v));
    for (double y : numbers_in(haystack))
      if (std::fabs(x - y) <= 1e-9 * std::max(1.0, std::fabs(x))) return true;
    return false;
  }
  return !v.empty() && squash(haystack).find(v) != std::string::npos;
}

AnnotationCheck validate_annotation(const std::string& text, const std::string& problem,
                                    const std::string& gold_answer, const MathCatalog& cat) {
  auto lines = lines_of(text);
  if (lines.size() < 2)
    return fail("unparsable", "expected Theorem / Cond / Map / computation lines and a final \\boxed{} line");
  Parsed p;
  AnnotationCheck c = walk(lines, problem, cat, p);
  if (!c.ok) return c;
  auto g = eval::grade_pair(gold_answer, "\\boxed{" + p.boxed + "}");
  if (!g.equal)
    return fail("wrong_answer", fmt::format("the boxed answer '{}' is not equal to the reference answer '{}'",
                                            p.boxed, gold_answer));
  c.ok = true;
  for (size_t i = 0; i < p.out.size(); i++) c.target += (i ? "\n" : "") + p.out[i];
  c.theorems = p.theorems;
  return c;
}

}  // namespace tsft::annotate
