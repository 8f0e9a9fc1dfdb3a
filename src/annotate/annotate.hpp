// tsft annotate: Theorem-SFT targets for a real dataset. For each problem (any adapter format) BM25 picks
// candidate theorems from the catalog, a teacher model behind an OpenAI-compatible endpoint rewrites the
// reference solution into the theorem arm's form (prompt template: data/annotate/prompt.toml), and the
// answer is validated (validate.hpp); a rejected answer is sent back with the validator's message, up to
// `retries` times, then the problem is logged as rejected with its reason.
//
// Out dir:
//   annotations.jsonl  the cache: one record per finished problem, keyed by a content hash of (teacher
//                      model, catalog, prompt template, the problem's first prompt and answer); appended
//                      atomically (core/jsonl_log.hpp), so a rerun or a resume after kill -9 asks nothing
//                      twice. Rejections are cached with reason and tokens (a re-ask after N rejections
//                      would cost the same again); --retry-rejected asks them again. Endpoint failures
//                      (retries exhausted, timeouts, 5xx, connection refused) are transient: not cached, a
//                      rerun asks again -- except that answers already rejected before the failure are
//                      kept (status "partial": the conversation so far), so a rerun continues it and
//                      pays for them once.
//   theorem.jsonl / vanilla.jsonl  SFT chat JSONL (what `tsft train` reads) for the same accepted problems:
//                      theorem = the validated annotation, vanilla = the dataset's own solution
//                      (GSM8K <<calc>> marks removed, "#### N" -> \boxed{N}; a \boxed{answer} line added
//                      when the solution has none). Problems without a reference solution are skipped.
//   problems.jsonl     the accepted problems as problem records (data/problem.hpp; what `tsft eval` reads),
//                      in the same order as the two arms
//   rejected.jsonl     id, reason, message, attempts, tokens, last answer of every rejected problem
//   errors.jsonl       this run's endpoint failures: id, error, answers rejected before it, tokens
//   summary.json       accepted / rejected by reason / not annotated / tokens / theorem use
// The three output files are rewritten (atomically) from the cache at the end of every run.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "data/problem.hpp"
#include "net/openai_client.hpp"

namespace tsft::annotate {

// The teacher's defaults: the client's, but 4 problems in flight and 300 s per request.
inline net::EndpointOptions annotate_teacher_defaults() {
  net::EndpointOptions o;
  o.concurrency = 4;
  o.timeout_s = 300;
  return o;
}

struct AnnotateConfig {
  std::string data, format, out_dir;
  // The teacher (--endpoint, --model, ...): concurrency = problems in flight, each asking one request at
  // a time; max_retries = --http-retries (transport), unlike `retries` below (validation re-asks).
  net::EndpointOptions teacher = annotate_teacher_defaults();
  double rate = 0;                        // requests per second (0 = no limit)
  std::string prompt_path, catalog_path;  // "" = the defaults under data/
  int top_k = 8;                          // candidate theorems per problem
  int retries = 2;                        // re-asks after a failed validation
  int max_tokens = 1024;
  double temperature = 0;
  int64_t limit = 0;  // first N problems (0 = all)
  bool quiet = false;
  bool retry_rejected = false;  // ask cached rejections again (their tokens stay in the totals)
};

// Runs (or resumes) the annotation; returns summary.json's content.
nlohmann::json annotate_run(const AnnotateConfig& cfg);

// The vanilla arm's target: the dataset's own solution ("" when the problem has none).
std::string annotate_vanilla_target(const data::Problem& p);
// The problem's reference solution, `extra.solution` ("" when absent); a non-string one is an error
// naming the problem.
std::string problem_solution(const data::Problem& p);

}  // namespace tsft::annotate
