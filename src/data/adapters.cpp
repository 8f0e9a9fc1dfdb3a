#include "data/adapters.hpp"

#include <fstream>
#include <sstream>

#include "core/error.hpp"
#include "core/jsonl.hpp"

namespace tsft::data {
namespace {

using nlohmann::json;

const json* field_find(const json& rec, std::initializer_list<const char*> keys) {
  for (const char* k : keys) {
    auto it = rec.find(k);
    if (it != rec.end() && !it->is_null()) return &*it;
  }
  return nullptr;
}

std::string field_text(const json& rec, std::initializer_list<const char*> keys, const std::string& where,
                       bool required = true) {
  const json* v = field_find(rec, keys);
  if (!v) {
    TSFT_CHECK(!required, "{}: missing field '{}'", where, *keys.begin());
    return "";
  }
  if (v->is_string()) return v->get<std::string>();
  if (v->is_number_integer()) return std::to_string(v->get<long long>());
  if (v->is_number()) {
    std::string s = v->dump();
    return s;
  }
  if (v->is_boolean()) return v->get<bool>() ? "True" : "False";
  TSFT_FAIL("{}: field '{}' must be a string or a number, got {}", where, *keys.begin(), v->type_name());
}

std::string trim(std::string s) {
  size_t a = s.find_first_not_of(" \t\r\n");
  size_t b = s.find_last_not_of(" \t\r\n");
  return a == std::string::npos ? "" : s.substr(a, b - a + 1);
}

// GSM8K-style solution: the final answer follows the last "####"; commas are thousands separators.
std::string gsm_final_answer(const std::string& solution, const std::string& where) {
  size_t pos = solution.rfind("####");
  TSFT_CHECK(pos != std::string::npos, "{}: field 'answer' has no '#### <number>' final line", where);
  std::string a = trim(solution.substr(pos + 4));
  std::string out;
  for (char c : a)
    if (c != ',') out += c;
  TSFT_CHECK(!out.empty(), "{}: field 'answer' has an empty '####' final answer", where);
  return out;
}

std::string choice_letter(size_t i) {
  return std::string(1, static_cast<char>('A' + i));
}

std::string choices_block(const json& choices, const std::string& where, json& extra) {
  TSFT_CHECK(choices.is_array() && !choices.empty() && choices.size() <= 26,
             "{}: field 'choices' must be a non-empty array (at most 26)", where);
  std::string block = "\nChoices:";
  json list = json::array();
  for (size_t i = 0; i < choices.size(); ++i) {
    TSFT_CHECK(choices[i].is_string() || choices[i].is_number(), "{}: choices[{}] must be a string", where,
               i);
    std::string c = choices[i].is_string() ? choices[i].get<std::string>() : choices[i].dump();
    list.push_back(c);
    block += " (" + choice_letter(i) + ") " + c;
  }
  extra["choices"] = list;
  return block;
}

uint64_t fnv1a(const std::string& s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

}  // namespace

const std::vector<std::string>& adapter_formats() {
  static const std::vector<std::string> f = {"math",   "gsm8k",     "gsm_plus", "gsm1k",    "geoqa",
                                             "unigeo", "theoremqa", "agieval",  "omni_math"};
  return f;
}

std::string adapter_last_boxed(const std::string& text) {
  size_t best = std::string::npos;
  for (const char* tag : {"\\boxed{", "\\fbox{"}) {
    size_t p = text.rfind(tag);
    if (p != std::string::npos && (best == std::string::npos || p > best)) best = p;
  }
  if (best == std::string::npos) return "";
  size_t open = text.find('{', best);
  int depth = 0;
  for (size_t i = open; i < text.size(); ++i) {
    if (text[i] == '{') ++depth;
    if (text[i] == '}' && --depth == 0) return text.substr(open + 1, i - open - 1);
  }
  return "";  // unbalanced
}

Problem adapter_convert(const std::string& format, const json& rec, const std::string& where,
                        const std::string& split, size_t index) {
  TSFT_CHECK(rec.is_object(), "{}: a {} record must be a JSON object, got {}", where, format,
             rec.type_name());
  Problem p;
  p.split = split;
  p.family = format;
  std::string native_id = field_text(rec, {"id", "unique_id", "ID"}, where, false);
  p.id = format + "/" + (native_id.empty() ? std::to_string(index) : native_id);
  if (format == "math") {
    p.question = field_text(rec, {"problem"}, where);
    std::string sol = field_text(rec, {"solution"}, where, false);
    p.answer = field_text(rec, {"answer"}, where, false);
    if (p.answer.empty()) {
      TSFT_CHECK(!sol.empty(), "{}: missing field 'answer' (and no 'solution' to take it from)", where);
      p.answer = adapter_last_boxed(sol);
      TSFT_CHECK(!p.answer.empty(), "{}: field 'solution' has no \\boxed{{}} answer", where);
    }
    p.answer_type = "expression";
    p.extra["solution"] = sol;
    p.extra["level"] = field_text(rec, {"level"}, where, false);
    p.extra["subject"] = field_text(rec, {"type", "subject"}, where, false);
  } else if (format == "gsm8k") {
    p.question = field_text(rec, {"question"}, where);
    std::string sol = field_text(rec, {"answer"}, where);
    p.answer = gsm_final_answer(sol, where);
    p.answer_type = "number";
    p.extra["solution"] = sol;
  } else if (format == "gsm_plus") {
    p.question = field_text(rec, {"question"}, where);
    p.answer = trim(field_text(rec, {"answer"}, where));
    p.answer_type = p.answer == "None" ? "text" : "number";  // critical-thinking items have no answer
    p.perturbation = field_text(rec, {"perturbation_type"}, where);
    std::string seed = field_text(rec, {"seed_question"}, where);
    p.parent_id = fmt::format("gsm_plus/seed-{:016x}", fnv1a(seed));
    p.extra["solution"] = field_text(rec, {"solution"}, where, false);
    p.extra["seed_question"] = seed;
    p.extra["seed_answer"] = field_text(rec, {"seed_answer"}, where, false);
  } else if (format == "gsm1k") {
    p.question = field_text(rec, {"question"}, where);
    std::string a = field_text(rec, {"answer"}, where);
    p.answer = a.find("####") != std::string::npos ? gsm_final_answer(a, where) : trim(a);
    p.answer_type = "number";
  } else if (format == "geoqa" || format == "unigeo") {
    p.question = field_text(rec, {"English problem", "problem", "question"}, where);
    const json* choices = field_find(rec, {"choices"});
    TSFT_CHECK(choices, "{}: missing field 'choices'", where);
    p.question += choices_block(*choices, where, p.extra);
    const json* label = field_find(rec, {"label"});
    TSFT_CHECK(label && label->is_number_integer(), "{}: field 'label' must be an integer choice index",
               where);
    long long l = label->get<long long>();
    TSFT_CHECK(l >= 0 && l < static_cast<long long>(choices->size()),
               "{}: field 'label' = {} is out of range for {} choices", where, l, choices->size());
    p.answer = choice_letter(static_cast<size_t>(l));
    p.answer_type = "choice";
    p.extra["subject"] = field_text(rec, {"subject"}, where, false);
    p.extra["image"] = field_text(rec, {"image"}, where, false);
  } else if (format == "theoremqa") {
    p.question = field_text(rec, {"Question"}, where);
    const json* ans = field_find(rec, {"Answer"});
    TSFT_CHECK(ans, "{}: missing field 'Answer'", where);
    if (ans->is_array()) {  // "list of integer" / "list of float": an ordered tuple
      std::string s = "(";
      for (size_t i = 0; i < ans->size(); ++i) s += (i ? ", " : "") + (*ans)[i].dump();
      p.answer = s + ")";
    } else {
      p.answer = field_text(rec, {"Answer"}, where);
    }
    p.answer_type = field_text(rec, {"Answer_type"}, where);
    std::string thm = field_text(rec, {"theorem"}, where, false);
    if (!thm.empty()) p.theorems.push_back(thm);
    p.extra["picture"] = field_text(rec, {"Picture"}, where, false);
  } else if (format == "agieval") {
    std::string passage = field_text(rec, {"passage"}, where, false);
    p.question = (passage.empty() ? "" : passage + "\n") + field_text(rec, {"question"}, where);
    const json* options = field_find(rec, {"options"});
    if (options && options->is_array() && !options->empty()) {
      json list = json::array();
      p.question += "\nChoices:";
      for (const auto& o : *options) {
        TSFT_CHECK(o.is_string(), "{}: field 'options' must be an array of strings", where);
        list.push_back(o);
        p.question += " " + o.get<std::string>();
      }
      p.extra["choices"] = list;
      const json* label = field_find(rec, {"label"});
      TSFT_CHECK(label, "{}: missing field 'label' for a multiple-choice item", where);
      std::string l = label->is_array() && label->size() == 1 && (*label)[0].is_string()
                          ? (*label)[0].get<std::string>()
                          : field_text(rec, {"label"}, where);
      TSFT_CHECK(l.size() == 1 && l[0] >= 'A' && l[0] < 'A' + static_cast<int>(options->size()),
                 "{}: field 'label' = '{}' is not one of the option letters", where, l);
      p.answer = l;
      p.answer_type = "choice";
    } else {
      p.answer = field_text(rec, {"answer"}, where);
      p.answer_type = "expression";
    }
  } else if (format == "omni_math") {
    p.question = field_text(rec, {"problem"}, where);
    p.answer = field_text(rec, {"answer"}, where);
    p.answer_type = "expression";
    p.extra["solution"] = field_text(rec, {"solution"}, where, false);
    p.extra["difficulty"] = field_text(rec, {"difficulty"}, where, false);
    p.extra["source"] = field_text(rec, {"source"}, where, false);
    if (const json* d = field_find(rec, {"domain"})) p.extra["domain"] = *d;
  } else {
    TSFT_FAIL(
        "unknown dataset format '{}' (known: math, gsm8k, gsm_plus, gsm1k, geoqa, unigeo, theoremqa, "
        "agieval, omni_math)",
        format);
  }
  TSFT_CHECK(!trim(p.question).empty(), "{}: the question text is empty", where);
  TSFT_CHECK(!trim(p.answer).empty(), "{}: the answer is empty", where);
  return p;
}

std::vector<Problem> adapter_load(const std::string& format, const std::string& path,
                                  const std::string& split) {
  bool known = false;
  for (const auto& f : adapter_formats()) known |= f == format;
  TSFT_USAGE_CHECK(known, "unknown dataset format '{}'", format);
  std::ifstream in(path, std::ios::binary);
  TSFT_CHECK(in, "cannot open dataset file '{}'", path);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();
  std::vector<Problem> out;
  size_t first = text.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return out;
  bool whole_json = text[first] == '[';
  if (!whole_json && text[first] == '{') {
    // A pretty-printed single record (MATH / GeoQA ship one JSON file per problem) spans several lines.
    size_t nl = text.find('\n', first);
    if (nl != std::string::npos && !json::accept(text.substr(first, nl - first)))
      whole_json = json::accept(text);
  }
  if (whole_json) {
    json all;
    try {
      all = json::parse(text);
    } catch (const json::exception& e) {
      TSFT_FAIL("{}: invalid JSON: {}", path, e.what());
    }
    if (all.is_object()) all = json::array({all});
    for (size_t i = 0; i < all.size(); ++i)
      out.push_back(adapter_convert(format, all[i], fmt::format("{}: element {}", path, i), split, i));
    return out;
  }
  std::istringstream lines(text);
  jsonl_for_each(lines, path, [&](JsonlRecord& rec) {
    out.push_back(adapter_convert(format, rec.value, rec.where(), split, rec.line));
  });
  return out;
}

}  // namespace tsft::data
