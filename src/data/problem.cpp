#include "data/problem.hpp"

#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/jsonl.hpp"

namespace tsft::data {
namespace {

std::string json_get_string(const nlohmann::json& j, const char* key, const std::string& where) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return "";
  TSFT_CHECK(it->is_string(), "{}: field '{}' must be a string, got {}", where, key, it->type_name());
  return it->get<std::string>();
}

}  // namespace

Problem problem_from_json(const nlohmann::json& j, const std::string& where) {
  TSFT_CHECK(j.is_object(), "{}: a problem must be a JSON object, got {}", where, j.type_name());
  Problem p;
  p.id = json_get_string(j, "id", where);
  TSFT_CHECK(!p.id.empty(), "{}: field 'id' is missing or empty", where);
  p.split = json_get_string(j, "split", where);
  if (auto it = j.find("theorems"); it != j.end() && !it->is_null()) {
    TSFT_CHECK(it->is_array(), "{}: field 'theorems' must be an array of strings", where);
    for (const auto& t : *it) {
      TSFT_CHECK(t.is_string(), "{}: field 'theorems' must be an array of strings", where);
      p.theorems.push_back(t.get<std::string>());
    }
  }
  for (const char* key : {"bindings", "givens", "extra"}) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) continue;
    TSFT_CHECK(it->is_object(), "{}: field '{}' must be an object", where, key);
    (std::string(key) == "bindings" ? p.bindings : std::string(key) == "givens" ? p.givens : p.extra) = *it;
  }
  // extra.solution is the dataset's solution text (annotate's reference and vanilla target).
  if (auto it = p.extra.find("solution"); it != p.extra.end() && !it->is_null())
    TSFT_CHECK(it->is_string(), "{}: field 'extra.solution' must be a string, got {}", where,
               it->type_name());
  p.question = json_get_string(j, "question", where);
  if (auto it = j.find("answer"); it != j.end() && it->is_number()) {
    p.answer = it->dump();  // tolerate numeric gold answers
  } else {
    p.answer = json_get_string(j, "answer", where);
  }
  p.answer_type = json_get_string(j, "answer_type", where);
  p.family = json_get_string(j, "family", where);
  p.parent_id = json_get_string(j, "parent_id", where);
  p.perturbation = json_get_string(j, "perturbation", where);
  p.cue = json_get_string(j, "cue", where);
  p.template_id = json_get_string(j, "template", where);
  return p;
}

nlohmann::json problem_to_json(const Problem& p) {
  nlohmann::json j = {{"id", p.id},
                      {"split", p.split},
                      {"theorems", p.theorems},
                      {"bindings", p.bindings},
                      {"givens", p.givens},
                      {"question", p.question},
                      {"answer", p.answer},
                      {"answer_type", p.answer_type},
                      {"family", p.family},
                      {"parent_id", p.parent_id},
                      {"perturbation", p.perturbation},
                      {"cue", p.cue},
                      {"template", p.template_id}};
  if (!p.extra.empty()) j["extra"] = p.extra;
  return j;
}

std::vector<Problem> problems_read_jsonl(const std::string& path) {
  std::vector<Problem> out;
  jsonl_for_each(path, [&](JsonlRecord& rec) { out.push_back(problem_from_json(rec.value, rec.where())); });
  return out;
}

void problems_write_jsonl(const std::string& path, const std::vector<Problem>& problems) {
  std::string text;
  for (const auto& p : problems) text += problem_to_json(p).dump() + "\n";
  fs_write_atomic(path, text);
}

}  // namespace tsft::data
