// A client for any OpenAI-compatible /v1/chat/completions endpoint (tsft serve, vLLM, llama.cpp, hosted
// APIs): bounded concurrency, per-request timeouts, retries with exponential backoff (honouring
// Retry-After) on 429 / 5xx / connection errors and timeouts, token accounting from "usage".
#pragma once
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/error.hpp"

namespace tsft::net {

// What a user says about an endpoint, shared by `tsft eval --endpoint` and `tsft annotate` (their
// configs embed it; cli/endpoint_options.hpp registers the flags). The defaults here are the client's;
// a command may start from its own (annotate's teacher: 4 in flight, 300 s).
struct EndpointOptions {
  std::string url;          // --endpoint: "" = no endpoint (tsft eval generates locally)
  std::string model;        // the served model's name
  std::string api_key_env;  // --api-key-env: the variable holding the key ("" = no key)
  int concurrency = 8;      // requests in flight
  int max_retries = 6;      // on 429 / 5xx / connection errors / timeouts
  double timeout_s = 600;   // per request
  double backoff_s = 1.0;   // first retry delay, doubling
};

struct ChatClientConfig {
  std::string base_url;  // ".../v1" (added when missing)
  std::string model, api_key;
  int concurrency = EndpointOptions{}.concurrency, max_retries = EndpointOptions{}.max_retries;
  double timeout_s = EndpointOptions{}.timeout_s, backoff_s = EndpointOptions{}.backoff_s, backoff_max_s = 30;
  nlohmann::json params = nlohmann::json::object();  // merged into each body: max_tokens, temperature, ...
  // chat_complete_all: an item that fails for good gets its reason in ChatResult::error and the others go
  // on (instead of one failure aborting the batch). 401 / 403 / 404 (key, permission, model name) still
  // abort: every item would fail alike.
  bool keep_failures = false;
};

// A request that failed for good: `status` is the last HTTP status (0: connection error or timeout).
class EndpointError : public Error {
 public:
  EndpointError(const std::string& where, const std::string& reason, int status)
      : Error(where + ": " + reason), reason(reason), status(status) {}
  std::string reason;  // without the URL / item prefix, e.g. "HTTP 500: ... (gave up after 7 attempts)"
  int status;
};

struct ChatResult {
  std::string text, finish_reason;
  int64_t prompt_tokens = 0, completion_tokens = 0;
  int attempts = 0;
  std::string error;  // keep_failures: why the item failed for good ("" = answered)
};

struct ChatStats {
  int64_t requests = 0, retries = 0, prompt_tokens = 0, completion_tokens = 0;
};

// The key held in environment variable `var` (--api-key-env); "" when `var` is empty. A variable that is
// named but unset or empty is a usage error (a silent "" would surface later as a confusing 401).
std::string api_key_from_env(const std::string& var);

// The client for endpoint `o` (the key read from o.api_key_env), `params` merged into every request body.
// Usage errors: no URL or model, concurrency < 1, retries < 0.
ChatClientConfig chat_client_config(const EndpointOptions& o, nlohmann::json params);

// "http://h:p", "http://h:p/", "http://h:p/v1" -> "http://h:p/v1"
std::string openai_base_url(const std::string& url);

// Spaces the starts of requests at least 1 / per_s seconds apart, across threads (per_s <= 0: no limit).
class RateLimiter {
 public:
  explicit RateLimiter(double per_s) : interval_s_(per_s > 0 ? 1.0 / per_s : 0.0) {}
  void wait();

 private:
  double interval_s_;
  std::mutex mu_;
  std::chrono::steady_clock::time_point next_{};
};

// One conversation with the retries / backoff below; `stats` (if given) counts its requests, retries and
// tokens as they happen; `limiter` (if given) paces every attempt. Throws like chat_complete_all.
ChatResult chat_complete_one(const ChatClientConfig& cfg, const nlohmann::json& messages, size_t index,
                             ChatStats* stats = nullptr, RateLimiter* limiter = nullptr);

// One result per conversation (each a JSON array of {"role", "content"}), in order. Throws tsft::Error
// naming the endpoint and the item when a request fails for good (a 4xx other than 429, or retries
// exhausted). on_done(i) runs (serialised) as each item completes.
std::vector<ChatResult> chat_complete_all(const ChatClientConfig& cfg,
                                          const std::vector<nlohmann::json>& messages,
                                          ChatStats* stats = nullptr,
                                          const std::function<void(size_t)>& on_done = nullptr);

}  // namespace tsft::net
