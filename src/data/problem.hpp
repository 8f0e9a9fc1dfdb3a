// The common problem record (DESIGN.md "Data flow"): one JSON object per line of problems.jsonl.
//   {id, split, theorems[], bindings, givens, question, answer, answer_type, family, parent_id,
//    perturbation, cue, template}
// Generated theorem-world problems and adapted public datasets share it. Fields a source does not have
// stay empty ("" / [] / {}); source-specific extras (choices, reference solution, level, ...) go to
// `extra`, which is written back as "extra" only when non-empty.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace tsft::data {

struct Problem {
  std::string id;
  std::string split;
  std::vector<std::string> theorems;
  nlohmann::json bindings = nlohmann::json::object();
  nlohmann::json givens = nlohmann::json::object();
  std::string question;
  std::string answer;        // gold answer, LaTeX or plain text (a choice letter for multiple choice)
  std::string answer_type;   // "number" | "expression" | "choice" | "text" | "set" | "interval" | ...
  std::string family;        // dataset name or theorem family
  std::string parent_id;     // the i.i.d. item a probe variant was made from ("" for originals)
  std::string perturbation;  // probe kind ("" for originals)
  std::string cue;
  std::string template_id;  // JSON key "template"
  nlohmann::json extra = nlohmann::json::object();
};

// `where` (e.g. "problems.jsonl:12") prefixes every error message about a missing or mistyped field.
Problem problem_from_json(const nlohmann::json& j, const std::string& where);
nlohmann::json problem_to_json(const Problem& p);

std::vector<Problem> problems_read_jsonl(const std::string& path);
void problems_write_jsonl(const std::string& path, const std::vector<Problem>& problems);

}  // namespace tsft::data
