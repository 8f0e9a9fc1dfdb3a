// Batched generation with a KV cache and continuous batching: finished sequences leave the batch and
// waiting prompts take their slots, so thousands of prompts keep the batch full. Token-level API
// (ids in, ids out); stop strings are checked by a caller-supplied callback that can decode.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "model/engine.hpp"

namespace tsft {

struct SamplingParams {
  double temperature = 0.0;  // 0 = greedy (argmax; ties -> lowest id, like torch.argmax)
  int top_k = 0;             // 0 = off
  double top_p = 1.0;        // 1 = off
  uint64_t seed = 0;         // per-prompt streams: results do not depend on batching
};

struct GenOptions {
  int max_new_tokens = 128;
  int max_batch = 16;               // concurrent sequences (slots)
  std::vector<int32_t> stop_ids;    // EOS / end-of-turn ids
  SamplingParams sampling;
  bool use_cache = true;            // false: recompute the full sequence each step (reference path)
  // Called after every new token with (prompt index, generated ids so far); true = stop ("stop").
  std::function<bool(size_t, const std::vector<int32_t>&)> stop_check;
  // Called as each sequence finishes (streaming results); may be empty.
  std::function<void(size_t)> on_done;
};

struct GenResult {
  std::vector<int32_t> tokens;  // generated ids (the stop id included when one fired)
  std::string finish_reason;    // "stop_id" | "stop" | "length"
  std::vector<float> first_logits;  // logits that chose the first new token (for tests)
};

struct GenStats {
  int64_t prompt_tokens = 0, new_tokens = 0;
  double seconds = 0;
  double avg_batch = 0;  // mean number of sequences per decode step
};

std::vector<GenResult> generate(Engine& e, const std::vector<std::vector<int32_t>>& prompts,
                                const GenOptions& opt, GenStats* stats = nullptr);

// Choose the next token from logits[V] (modified in place) with the sampling rules.
int32_t sample_token(float* logits, int V, const SamplingParams& sp, uint64_t* rng_state);

}  // namespace tsft
