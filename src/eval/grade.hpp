// Grading one (gold, prediction) pair: extraction (extract.hpp) on both sides (a gold may itself be a
// full reference solution), then equivalence (equivalence.hpp). Multiple-choice golds ("C", "(C)",
// "\text{(C)}") are compared as letters; the P9 gold \text{cannot be determined} matches any prediction
// that says so in one of the recognised phrasings.
#pragma once
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "eval/equivalence.hpp"
#include "eval/extract.hpp"

namespace tsft::eval {

struct GradeResult {
  std::string gold_answer;  // what was extracted from the gold
  std::string extracted;    // what was extracted from the prediction
  ExtractRule rule = ExtractRule::None;
  bool equal = false;
};

GradeResult grade_pair(std::string_view gold, std::string_view pred, const EquivOptions& opt = {});

struct GradeSummary {
  int64_t total = 0, equal = 0;
  std::map<std::string, int64_t> by_rule;
};

// One JSONL line {"gold": .., "pred": ..} -> the same object with "extracted", "equal", "rule" added.
// `where` names file:line for errors (missing/mistyped fields, invalid JSON).
std::string grade_jsonl_line(std::string_view line, const std::string& where, const EquivOptions& opt,
                             GradeSummary& summary);
nlohmann::json grade_summary_json(const GradeSummary& s);

}  // namespace tsft::eval
