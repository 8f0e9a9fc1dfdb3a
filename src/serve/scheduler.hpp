// Continuous batching for the server: one thread owns the model (through Backend) and, between decode
// steps, admits queued sequences into free KV-cache slots. HTTP handlers submit Jobs and wait on them
// (or stream their text as it grows); a cancelled Job's sequences leave the batch at the next step.
#pragma once
#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "model/generate.hpp"
#include "serve/backend.hpp"
#include "tokenizer/tokenizer.hpp"

namespace tsft::serve {

struct TokenLogprob {
  int32_t id = 0;
  float logprob = 0;
  std::vector<std::pair<int32_t, float>> top;  // the most likely alternatives, best first
};

struct Choice {
  std::vector<int32_t> tokens;  // generated ids (a stop id included when one fired)
  std::vector<TokenLogprob> logprobs;
  std::string text;           // decoded (special tokens skipped), cut before a stop string
  size_t stable = 0;          // text[0, stable) can no longer change (safe to stream)
  std::string finish_reason;  // "stop" | "length" | "cancelled"
  bool done = false;
};

struct Job {
  // Input (set before submit).
  std::vector<int32_t> prompt;
  int n = 1, max_tokens = 16;
  SamplingParams sampling;  // seed: choice i draws from the stream of prompt index i (as tsft generate)
  std::vector<std::string> stop;
  int logprobs = -1;  // -1: none; k >= 0: chosen token's logprob + k alternatives
  // Output, guarded by mu; cv notified on every new token.
  std::mutex mu;
  std::condition_variable cv;
  std::vector<Choice> choices;
  int remaining = 0;
  std::atomic<bool> cancelled{false};
};

struct SchedulerStats {
  int64_t jobs = 0, sequences = 0, prompt_tokens = 0, new_tokens = 0, cancelled = 0, decode_steps = 0;
  int active = 0, queued = 0;
  double batch_sum = 0;  // sum of decode batch sizes (mean batch = batch_sum / decode_steps)
};

class Scheduler {
 public:
  Scheduler(Backend& be, const tokenizer::Tokenizer& tok, std::vector<int32_t> stop_ids, int max_queue);
  ~Scheduler();
  enum class Submit { ok, queue_full, draining };
  Submit submit(const std::shared_ptr<Job>& job);
  // Refuse new jobs; returns when every admitted job has finished.
  void drain();
  bool idle();
  SchedulerStats stats();

 private:
  struct Seq {
    std::shared_ptr<Job> job;
    int choice = 0, slot = 0;
    std::vector<int32_t> ids;  // prompt + generated
    uint64_t rng = 0;
  };
  void loop();
  void admit();
  void step();
  bool push(Seq& q, float* logits);
  void finish(size_t i, const std::string& reason);
  void drop_cancelled();

  Backend& be_;
  const tokenizer::Tokenizer& tok_;
  std::vector<int32_t> stop_ids_;
  int max_queue_;
  std::mutex mu_;  // guards queue_, draining_, quit_, stats_
  std::condition_variable cv_;
  std::deque<Seq> queue_;
  bool draining_ = false, quit_ = false;
  SchedulerStats stats_;
  std::vector<Seq> active_;  // scheduler thread only
  std::vector<int> free_slots_;
  std::vector<float> logits_;
  std::thread thread_;
};

}  // namespace tsft::serve
