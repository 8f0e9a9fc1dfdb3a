#include "net/openai_client.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <random>
#include <thread>

#include "core/error.hpp"
#include "net/http_client.hpp"

namespace tsft::net {
using json = nlohmann::json;

std::string api_key_from_env(const std::string& var) {
  if (var.empty()) return "";
  const char* k = std::getenv(var.c_str());
  TSFT_USAGE_CHECK(k && *k, "--api-key-env {}: the environment variable is not set or empty", var);
  return k;
}

ChatClientConfig chat_client_config(const EndpointOptions& o, json params) {
  TSFT_USAGE_CHECK(!o.url.empty() && !o.model.empty(),
                   "an endpoint needs --endpoint URL and --model NAME (the served model's id)");
  TSFT_USAGE_CHECK(o.concurrency >= 1 && o.max_retries >= 0,
                   "endpoint: --concurrency must be >= 1 (got {}) and the HTTP retries >= 0 (got {})",
                   o.concurrency, o.max_retries);
  ChatClientConfig c;
  c.base_url = o.url;
  c.model = o.model;
  c.api_key = api_key_from_env(o.api_key_env);
  c.concurrency = o.concurrency;
  c.max_retries = o.max_retries;
  c.timeout_s = o.timeout_s;
  c.backoff_s = o.backoff_s;
  c.params = std::move(params);
  return c;
}

std::string openai_base_url(const std::string& url) {
  std::string u = url;
  while (!u.empty() && u.back() == '/') u.pop_back();
  if (u.size() < 3 || u.compare(u.size() - 3, 3, "/v1") != 0) u += "/v1";
  return u;
}

namespace {
bool retryable(const HttpResponse& r) {
  return r.status == 0 || r.status == 429 || r.status >= 500;
}

// Seconds to wait before attempt `attempt` (1-based retry count): Retry-After when the server sent one,
// else backoff * 2^(attempt-1) with +-25% jitter, capped.
double wait_s(const ChatClientConfig& c, const HttpResponse& r, int attempt) {
  auto it = r.headers.find("retry-after");
  if (it != r.headers.end()) {
    try {
      return std::min(c.backoff_max_s, std::max(0.0, std::stod(it->second)));
    } catch (const std::exception&) {
    }
  }
  static thread_local std::mt19937_64 rng(std::random_device{}());
  double j = std::uniform_real_distribution<double>(0.75, 1.25)(rng);
  return std::min(c.backoff_max_s, c.backoff_s * std::pow(2.0, attempt - 1) * j);
}

std::string describe(const HttpResponse& r) {
  if (r.status == 0) return r.error;
  json j = json::parse(r.body, nullptr, false);
  if (j.is_object() && j.contains("error") && j["error"].is_object() && j["error"].contains("message"))
    return fmt::format("HTTP {}: {}", r.status, j["error"]["message"].dump());
  return fmt::format("HTTP {}: {}", r.status, r.body.substr(0, 300));
}

ChatResult parse_ok(const HttpResponse& r, const std::string& where) {
  json j = json::parse(r.body, nullptr, false);
  TSFT_CHECK(j.is_object() && j.contains("choices") && j["choices"].is_array() && !j["choices"].empty(),
             "{}: not a chat completion response: {}", where, r.body.substr(0, 300));
  const json& c = j["choices"][0];
  ChatResult out;
  if (c.contains("message") && c["message"].contains("content") && c["message"]["content"].is_string())
    out.text = c["message"]["content"];
  if (c.contains("finish_reason") && c["finish_reason"].is_string()) out.finish_reason = c["finish_reason"];
  if (j.contains("usage") && j["usage"].is_object()) {
    // Token counts only feed the usage totals: a count that is not a non-negative integer reads as 0
    // (json::value() would throw a bare type_error on a string, and a float would be truncated).
    auto count = [&](const char* k) -> int64_t {
      const json& u = j["usage"];
      if (!u.contains(k) || !u[k].is_number_unsigned()) return 0;
      return (int64_t)std::min<uint64_t>(u[k].get<uint64_t>(), INT64_MAX);
    };
    out.prompt_tokens = count("prompt_tokens");
    out.completion_tokens = count("completion_tokens");
  }
  return out;
}
}  // namespace

void RateLimiter::wait() {
  if (interval_s_ <= 0) return;
  std::chrono::steady_clock::time_point at;
  {
    std::lock_guard<std::mutex> lk(mu_);
    auto now = std::chrono::steady_clock::now();
    at = std::max(now, next_);
    next_ = at + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                     std::chrono::duration<double>(interval_s_));
  }
  std::this_thread::sleep_until(at);
}

ChatResult chat_complete_one(const ChatClientConfig& c, const json& messages, size_t index, ChatStats* stats,
                             RateLimiter* limiter) {
  ChatStats local;
  ChatStats& st = stats ? *stats : local;
  json body = c.params;
  body["model"] = c.model;
  body["messages"] = messages;
  HttpRequest req;
  req.url = openai_base_url(c.base_url) + "/chat/completions";
  req.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
  req.timeout_s = c.timeout_s;
  req.headers = {"Content-Type: application/json"};
  if (!c.api_key.empty()) req.headers.push_back("Authorization: Bearer " + c.api_key);
  const std::string where = fmt::format("{} (item {})", req.url, index);
  for (int attempt = 0;; attempt++) {
    if (limiter) limiter->wait();
    HttpResponse r = http_request(req);
    st.requests++;
    st.retries += attempt > 0;
    if (r.status == 200) {
      ChatResult out = parse_ok(r, where);
      out.attempts = attempt + 1;
      st.prompt_tokens += out.prompt_tokens;
      st.completion_tokens += out.completion_tokens;
      return out;
    }
    if (!retryable(r)) throw EndpointError(where, fmt::format("{} (not retried)", describe(r)), r.status);
    if (attempt >= c.max_retries)
      throw EndpointError(where, fmt::format("{} (gave up after {} attempts)", describe(r), attempt + 1),
                          r.status);
    std::this_thread::sleep_for(std::chrono::duration<double>(wait_s(c, r, attempt + 1)));
  }
}

namespace {
void add_stats(ChatStats& a, const ChatStats& b) {
  a.requests += b.requests;
  a.retries += b.retries;
  a.prompt_tokens += b.prompt_tokens;
  a.completion_tokens += b.completion_tokens;
}
}  // namespace

std::vector<ChatResult> chat_complete_all(const ChatClientConfig& cfg, const std::vector<json>& messages,
                                          ChatStats* stats, const std::function<void(size_t)>& on_done) {
  TSFT_CHECK(cfg.concurrency >= 1, "endpoint concurrency must be >= 1");
  std::vector<ChatResult> out(messages.size());
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  std::exception_ptr error;
  std::mutex mu;
  ChatStats st;
  auto worker = [&] {
    for (size_t i; !failed && (i = next++) < messages.size();) {
      ChatStats one;
      try {
        out[i] = chat_complete_one(cfg, messages[i], i, &one);
        std::lock_guard<std::mutex> lk(mu);
        add_stats(st, one);
        if (on_done) on_done(i);
      } catch (const EndpointError& e) {
        std::lock_guard<std::mutex> lk(mu);
        add_stats(st, one);
        if (cfg.keep_failures && e.status != 401 && e.status != 403 && e.status != 404) {
          out[i].error = e.reason;
          if (on_done) on_done(i);
        } else if (!failed.exchange(true)) {
          error = std::current_exception();
        }
      } catch (...) {
        std::lock_guard<std::mutex> lk(mu);
        add_stats(st, one);
        if (!failed.exchange(true)) error = std::current_exception();
      }
    }
  };
  std::vector<std::thread> th;
  for (int k = 0; k < std::min<int>(cfg.concurrency, (int)messages.size()); k++) th.emplace_back(worker);
  for (auto& t : th) t.join();
  if (error) std::rethrow_exception(error);
  if (stats) *stats = st;
  return out;
}

}  // namespace tsft::net
