#include "eval/grade.hpp"

#include "core/error.hpp"
#include "eval/stats.hpp"

namespace tsft::eval {

GradeResult grade_pair(std::string_view gold, std::string_view pred, const EquivOptions& opt) {
  GradeResult r;
  Extraction g = extract_answer(gold);
  r.gold_answer = g.answer;
  if (char letter = extract_gold_choice(g.answer.empty() ? std::string(gold) : g.answer);
      letter && gold.size() <= 24) {
    char p = extract_choice(pred);
    r.extracted = p ? std::string(1, p) : "";
    r.rule = ExtractRule::Choice;
    r.equal = p == letter;
    return r;
  }
  Extraction p = extract_answer(pred);
  r.extracted = p.answer;
  r.rule = p.rule;
  if (g.rule == ExtractRule::CannotDetermine || extract_is_cannot_determine(g.answer)) {
    r.equal = p.rule == ExtractRule::CannotDetermine || extract_is_cannot_determine(p.answer);
    return r;
  }
  if (p.rule == ExtractRule::CannotDetermine) return r;
  r.equal = !g.answer.empty() && !p.answer.empty() && equiv_strings(g.answer, p.answer, opt);
  return r;
}

std::string grade_jsonl_line(std::string_view line, const std::string& where, const EquivOptions& opt,
                             GradeSummary& summary) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(line);
  } catch (const nlohmann::json::exception& e) {
    TSFT_FAIL("{}: invalid JSON: {}", where, e.what());
  }
  TSFT_CHECK(j.is_object(), "{}: expected a JSON object with \"gold\" and \"pred\"", where);
  auto text_of = [&](const char* key) -> std::string {
    auto it = j.find(key);
    TSFT_CHECK(it != j.end(), "{}: missing field '{}'", where, key);
    if (it->is_string()) return it->get<std::string>();
    TSFT_CHECK(it->is_number(), "{}: field '{}' must be a string or a number, got {}", where, key,
               it->type_name());
    return it->dump();
  };
  GradeResult r = grade_pair(text_of("gold"), text_of("pred"), opt);
  ++summary.total;
  summary.equal += r.equal;
  ++summary.by_rule[extract_rule_name(r.rule)];
  for (const char* k : {"extracted", "equal", "rule"}) {
    if (j.contains(k)) {  // re-grading a graded file: rewrite the whole object
      j["extracted"] = r.extracted;
      j["equal"] = r.equal;
      j["rule"] = extract_rule_name(r.rule);
      return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    }
  }
  // Append the new fields to the original text (keeps key order and formatting; no re-serialisation).
  std::string_view body = line;
  size_t close = body.find_last_of('}');
  std::string out(body.substr(0, close));
  while (!out.empty() && (out.back() == ' ' || out.back() == '\t')) out.pop_back();
  if (out.back() != '{') out += ", ";
  out += "\"extracted\": ";
  out += nlohmann::json(r.extracted).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  out += r.equal ? ", \"equal\": true, \"rule\": \"" : ", \"equal\": false, \"rule\": \"";
  out += extract_rule_name(r.rule);
  out += "\"}";
  return out;
}

nlohmann::json grade_summary_json(const GradeSummary& s) {
  Interval w = stats_wilson(s.equal, s.total);
  return {{"total", s.total}, {"equal", s.equal}, {"accuracy", w.estimate},
          {"ci95_lo", w.lo},  {"ci95_hi", w.hi},  {"by_rule", s.by_rule}};
}

}  // namespace tsft::eval
