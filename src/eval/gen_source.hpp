// Where tsft eval's completions come from: the local engine over a model directory, or any
// OpenAI-compatible endpoint (--endpoint). Both take the same conversations (optional system message +
// the problem as the user message, greedy) and return the text and token counts the results file holds.
#pragma once
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "eval/run_eval.hpp"

namespace tsft::eval {

struct GenOutput {
  std::string text;
  int64_t new_tokens = 0, prompt_tokens = 0;
  // Endpoint only: the request failed for good (retries exhausted, 5xx, timeout, connection refused, a
  // 400): the item is not graded; eval records it in failed.jsonl and a rerun asks again.
  std::string error;
};

struct GenSourceStats {
  int64_t prompt_tokens = 0, new_tokens = 0, requests = 0, retries = 0;
};

class GenSource {
 public:
  virtual ~GenSource() = default;
  // One output per question, in order.
  virtual std::vector<GenOutput> generate(const std::vector<std::string>& questions) = 0;
  // The model's name in metrics.json.
  virtual std::string model_name() const = 0;
  GenSourceStats stats;  // accumulated over generate() calls
};

// Local when cfg.endpoint is empty, else the endpoint.
std::unique_ptr<GenSource> gen_source_make(const EvalConfig& cfg);
std::unique_ptr<GenSource> gen_source_local(const EvalConfig& cfg);
std::unique_ptr<GenSource> gen_source_endpoint(const EvalConfig& cfg);

}  // namespace tsft::eval
