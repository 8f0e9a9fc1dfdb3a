// Bounded loopback load test of the `tsft serve` process: 64 concurrent clients x 20 requests, a mix of
// plain and streamed chat, streams the client abandons, completions, malformed JSON and bad parameters.
// Zero unexpected statuses; the server's resident memory after the run stays within a bound of its
// level after a warm-up round. Prints requests/s and tokens/s (a *Slow* suite: not a timed test).
#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <mutex>

#include "serve_test_util.hpp"
#include "spawn_util.hpp"

using namespace tsft_test;
using nlohmann::json;

namespace {
int64_t rss_kb(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6));
  return -1;
}

struct Tally {
  std::atomic<int64_t> ok{0}, expected_errors{0}, cancelled{0}, unexpected{0}, tokens{0};
  std::mutex mu;
  std::vector<std::string> samples;  // first few unexpected outcomes, for the failure message
  void bad(const std::string& what) {
    unexpected++;
    std::lock_guard<std::mutex> lk(mu);
    if (samples.size() < 5) samples.push_back(what);
  }
};

// Request k of a client: the kind cycles so every client sends every kind.
void one_request(const std::string& base, int k, Tally& t) {
  const int kind = k % 10;
  json chat = {{"model", "tiny"},
               {"messages", {{{"role", "user"}, {"content", "load " + std::to_string(k)}}}},
               {"max_tokens", 24},
               {"temperature", kind % 2 ? 0.8 : 0.0},
               {"seed", k}};
  tsft::net::HttpRequest r;
  r.url = base + (kind == 9 ? "/v1/completions" : "/v1/chat/completions");
  r.headers = {"Content-Type: application/json"};
  r.timeout_s = 60;
  if (kind <= 4) r.body = chat.dump();
  if (kind == 5 || kind == 6 || kind == 7) {
    chat["stream"] = true;
    chat["stream_options"] = {{"include_usage", true}};
    r.body = chat.dump();
  }
  int pieces = 0;
  std::string streamed;
  if (kind == 7) r.on_data = [&](const char*, size_t) { return ++pieces < 2; };  // hang up early
  if (kind == 5 || kind == 6)
    r.on_data = [&](const char* p, size_t n) { return streamed.append(p, n), true; };
  if (kind == 8) r.body = "{\"model\": \"tiny\", \"messages\": [";                              // malformed
  if (kind == 9) r.body = json{{"model", "tiny"}, {"prompt", "x"}, {"max_tokens", -3}}.dump();  // bad range
  auto res = tsft::net::http_request(r);
  if (kind == 7) {
    if (res.aborted || res.status == 200)
      t.cancelled++;
    else
      t.bad("cancel: " + std::to_string(res.status) + " " + res.error);
    return;
  }
  if (kind >= 8) {
    if (res.status == 400 && json::parse(res.body, nullptr, false).contains("error"))
      t.expected_errors++;
    else
      t.bad("kind " + std::to_string(kind) + ": " + std::to_string(res.status) + " " + res.body);
    return;
  }
  if (res.status != 200) return t.bad(std::to_string(res.status) + " " + res.error + " " + res.body);
  t.ok++;
  if (kind <= 4) {
    t.tokens += json::parse(res.body)["usage"]["completion_tokens"].get<int64_t>();
  } else {
    auto ev = sse_events(streamed);
    if (ev.size() < 3 || ev.back() != "[DONE]") return t.bad("stream without [DONE]");
    t.tokens += ev[ev.size() - 2]["usage"]["completion_tokens"].get<int64_t>();
  }
}
}  // namespace

TEST(ServeSlow, LoadTest64ClientsX20Requests) {
  TempDir t;
  write_serve_model(t / "model");
  Child srv({tsft_bin(), "serve", "--model", t / "model", "--port", "0", "--served-model-name", "tiny",
             "--max-batch", "16", "--max-queue", "4096", "--http-threads", "80", "--max-context", "256"},
            t / "serve.log");
  int port = srv.wait_port();
  ASSERT_GT(port, 0) << srv.read_log();
  const std::string base = "http://127.0.0.1:" + std::to_string(port);
  const int clients = 64, per_client = 20, warm = 2;
  auto round = [&](int first, int count, Tally& tally) {
    std::vector<std::thread> th;
    for (int c = 0; c < clients; c++)
      th.emplace_back([&, c] {
        for (int i = first; i < first + count; i++) one_request(base, c * 7 + i, tally);
      });
    for (auto& x : th) x.join();
  };
  Tally warmup;
  round(0, warm, warmup);  // allocations that happen once (thread stacks, caches) happen here
  int64_t rss_warm = rss_kb(srv.pid);
  Tally tally;
  auto t0 = std::chrono::steady_clock::now();
  round(warm, per_client - warm, tally);
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  int64_t rss_end = rss_kb(srv.pid);
  int64_t n = (int64_t)clients * (per_client - warm);
  std::string why;
  for (auto& s : tally.samples) why += s + "\n";
  EXPECT_EQ(warmup.unexpected + tally.unexpected, 0) << why;
  EXPECT_EQ(tally.ok + tally.expected_errors + tally.cancelled, n);
  // Flat: growth after warm-up bounded by 16 MiB (allocator slack), far below one leak per request.
  EXPECT_LT(rss_end - rss_warm, 16 * 1024) << "RSS " << rss_warm << " kB -> " << rss_end << " kB";
  std::printf(
      "[load] %lld requests in %.2f s: %.1f requests/s, %.1f completion tokens/s (%lld ok, %lld 400s, "
      "%lld cancelled); server RSS %lld kB after warm-up -> %lld kB\n",
      (long long)n, secs, n / secs, tally.tokens / secs, (long long)tally.ok.load(),
      (long long)tally.expected_errors.load(), (long long)tally.cancelled.load(), (long long)rss_warm,
      (long long)rss_end);
  EXPECT_EQ(srv.terminate_and_wait(), 0) << srv.read_log();
}
