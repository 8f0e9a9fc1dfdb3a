// tsft eval: prompts through the chat template, batched generation, grading, per-item results and
// metrics with intervals. Resumable: items already in results.jsonl are skipped; results are appended
// (flushed) as generation chunks finish, so an interrupted run loses at most one chunk. metrics.json is a
// function of results.jsonl (a resumed run writes the same bytes as an uninterrupted one); this
// invocation's throughput (seconds, tokens/s, prompt tokens, endpoint requests/retries) is generation.json.
// With --endpoint, an item whose request fails for good (retries exhausted, timeout, 5xx, connection
// refused, a 400) is not graded: it goes to failed.jsonl with its reason, metrics.json counts it as
// "failed_not_graded" (accuracy is over graded items only), and a rerun asks it again.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "model/engine.hpp"
#include "net/openai_client.hpp"

namespace tsft::eval {

struct EvalConfig {
  std::string model_dir, adapter_dir, out_dir, tokenizer_path, chat_template, system;
  std::vector<std::string> data;  // problem JSONL files, or directories of them
  // "" = problem JSONL; else a dataset-adapter format (data/adapters.hpp): `data` holds native files,
  // read as `tsft convert --format F --split S` would convert them.
  std::string format, split = "test";
  int64_t limit = 0;  // per file, 0 = all
  int shard_index = 0, shard_count = 1;
  int max_new_tokens = 256, batch = 16, threads = 0, chunk = 256;
  bool quiet = false;
  EngineSpec engine;  // --device / --precision
  // endpoint.url set (--endpoint): generation goes to an OpenAI-compatible server (model_dir unused);
  // see gen_source.hpp.
  net::EndpointOptions endpoint;
};

// One graded item (a line of results.jsonl).
struct ItemResult {
  std::string id, split, probe, parent_id, family, domain, gold, output, extracted, rule;
  std::vector<std::string> theorems;
  bool correct = false;
  int64_t new_tokens = 0;
};
nlohmann::json item_to_json(const ItemResult& r);
ItemResult item_from_json(const nlohmann::json& j, const std::string& where);

struct EvalSummary {
  int64_t items = 0, generated = 0, prompt_tokens = 0, requests = 0, retries = 0;
  int64_t failed = 0;  // endpoint requests that failed for good: not graded (failed.jsonl)
  double seconds = 0, new_tokens_per_s = 0;
};
EvalSummary eval_run(const EvalConfig& cfg);

// metrics.json from a results file (also used by tsft compare / report): accuracy + Wilson 95% per
// split, probe type, theorem and domain; drop rate and pair consistency vs parents; answer-copy rate;
// premise-flag rate on P8/P9.
nlohmann::json eval_metrics(const std::vector<ItemResult>& results);
std::vector<ItemResult> eval_read_results(const std::string& path);

}  // namespace tsft::eval
