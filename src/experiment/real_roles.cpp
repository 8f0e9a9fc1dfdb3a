#include "experiment/real_roles.hpp"

#include <map>

#include "core/error.hpp"

namespace tsft::exp_detail {

const std::vector<std::string>& real_roles() {
  static const std::vector<std::string> r = {"in_distribution", "probes", "other"};
  return r;
}

std::string gsm_plus_probe(const std::string& type, const std::string& where) {
  static const std::map<std::string, std::string> m = {
      {"numerical substitution", "P2"}, {"problem understanding", "P4"},
      {"distractor insertion", "P5"},   {"reversing operation", "P6"},
      {"adding operation", "P7"},       {"integer-decimal-fraction conversion", "P12"},
      {"digit expansion", "P3"},        {"critical thinking", "P9"}};
  auto it = m.find(type);
  TSFT_CHECK(it != m.end(),
             "{}: GSM-Plus perturbation_type '{}' has no declared probe (known: numerical substitution, "
             "problem understanding, distractor insertion, reversing operation, adding operation, "
             "integer-decimal-fraction conversion, digit expansion, critical thinking)",
             where, type);
  return it->second;
}

namespace {
std::string norm(const std::string& s) {  // whitespace-insensitive question text
  std::string out;
  for (char c : s) {
    bool space = c == ' ' || c == '\t' || c == '\n' || c == '\r';
    if (space && (out.empty() || out.back() == ' ')) continue;
    out += space ? ' ' : c;
  }
  if (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}
}  // namespace

RoleStats real_apply_roles(std::vector<std::vector<data::Problem>>& sets,
                           const std::vector<std::string>& roles, const std::vector<std::string>& formats,
                           const std::vector<std::string>& names) {
  TSFT_CHECK(sets.size() == roles.size() && sets.size() == formats.size() && sets.size() == names.size(),
             "eval_roles: one role per eval file ({} files, {} roles)", sets.size(), roles.size());
  RoleStats st;
  std::map<std::string, std::string> parent_of_question;  // in-distribution question -> item id
  for (size_t s = 0; s < sets.size(); s++) {
    if (roles[s] != "in_distribution") continue;
    for (auto& p : sets[s]) {
      p.split = "test";
      parent_of_question.emplace(norm(p.question), p.id);
      st.in_distribution++;
    }
  }
  for (size_t s = 0; s < sets.size(); s++) {
    if (roles[s] != "probes") continue;
    TSFT_CHECK(formats[s] == "gsm_plus",
               "eval_roles: {} is declared \"probes\" but its format is {}; only gsm_plus records name the "
               "original they vary",
               names[s], formats[s]);
    for (size_t i = 0; i < sets[s].size(); i++) {
      data::Problem& p = sets[s][i];
      p.perturbation = gsm_plus_probe(p.perturbation, names[s] + ": record " + std::to_string(i + 1));
      auto it = parent_of_question.find(norm(p.extra.value("seed_question", "")));
      p.parent_id = it == parent_of_question.end() ? "" : it->second;
      st.variants++;
      st.linked += !p.parent_id.empty();
    }
  }
  return st;
}

}  // namespace tsft::exp_detail
