// Internals shared by annotate.cpp (running) and annotate_outputs.cpp (files built from the cache).
#pragma once
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "annotate/annotate.hpp"
#include "data/problem.hpp"

namespace tsft::annotate {

struct Job {
  size_t index = 0;
  data::Problem problem;
  std::string solution, key;  // solution: the vanilla target ("" = no reference solution: skipped)
  nlohmann::json messages;    // first attempt
};

struct RunTotals {
  int64_t requests = 0, retries = 0, prompt_tokens = 0, completion_tokens = 0, endpoint_errors = 0;
  double seconds = 0;
};

// Writes theorem.jsonl, vanilla.jsonl, rejected.jsonl and summary.json from the cache records of `jobs`
// (dataset order), and errors.jsonl from this run's endpoint failures (`failed`, same keys); returns the
// summary.
nlohmann::json annotate_write_outputs(const AnnotateConfig& cfg, const std::vector<Job>& jobs,
                                      const std::map<std::string, nlohmann::json>& done,
                                      const std::map<std::string, nlohmann::json>& failed,
                                      const nlohmann::json& provenance, const RunTotals& run);

}  // namespace tsft::annotate
