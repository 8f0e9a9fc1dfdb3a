// tsft eval --endpoint: the same results file as a local eval when the endpoint is `tsft serve` of the
// same model (greedy); retries / backoff / timeouts against a scripted flaky server on loopback; resume.
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "net/openai_client.hpp"
#include "serve_test_util.hpp"
#include "spawn_util.hpp"

using namespace tsft_test;
using nlohmann::json;

namespace {
void write_problems(const std::string& path, int n) {
  std::string s;
  for (int i = 0; i < n; i++) {
    std::string id = "t" + std::to_string(i);
    s += json{{"id", id},
              {"split", "test"},
              {"question", "What is " + std::to_string(i) + "+1?"},
              {"answer", std::to_string(i + 1)},
              {"theorems", {"add"}},
              {"perturbation", "none"}}
             .dump() +
         "\n";
    s += json{{"id", id + "-P2"},
              {"split", "probe/P2"},
              {"question", "What is " + std::to_string(i + 2) + "+1?"},
              {"answer", std::to_string(i + 3)},
              {"theorems", {"add"}},
              {"perturbation", "P2"},
              {"parent_id", id}}
             .dump() +
         "\n";
  }
  tsft::fs_write_atomic(path, s);
}

// A scripted OpenAI-compatible server: request k (0-based, over all requests) fails as script[k] says
// ("429", "500", "slow" = answers after `slow_s`, "odd-usage" = answers with mistyped usage counts),
// later ones answer \boxed{N+1} to "What is N+1?".
struct FakeServer {
  httplib::Server http;
  std::thread th;
  int port = 0;
  std::atomic<int> count{0};
  std::vector<std::string> script;
  double slow_s = 1.0;
  explicit FakeServer(std::vector<std::string> s) : script(std::move(s)) {
    http.Post("/v1/chat/completions", [this](const httplib::Request& req, httplib::Response& res) {
      int k = count++;
      std::string what = k < (int)script.size() ? script[k] : "ok";
      if (what == "429") {
        res.status = 429;
        res.set_header("Retry-After", "0");
        return res.set_content(R"({"error":{"message":"slow down","type":"rate_limit_error"}})",
                               "application/json");
      }
      if (what == "500")
        return res.status = 500, res.set_content(R"({"error":{"message":"boom"}})", "application/json");
      if (what == "400" || what == "404")
        return res.status = std::stoi(what),
               res.set_content(R"({"error":{"message":"bad"}})", "application/json");
      if (what == "slow") std::this_thread::sleep_for(std::chrono::duration<double>(slow_s));
      json b = json::parse(req.body);
      std::string q = b["messages"].back()["content"];
      int n = std::stoi(q.substr(q.find("What is ") + 8));  // "What is N+1?"
      std::string ans = "\\boxed{" + std::to_string(n + 1) + "}";
      json r = {{"id", "x"},
                {"object", "chat.completion"},
                {"model", b["model"]},
                {"choices",
                 {{{"index", 0},
                   {"message", {{"role", "assistant"}, {"content", ans}}},
                   {"finish_reason", "stop"}}}},
                {"usage", {{"prompt_tokens", 10}, {"completion_tokens", 4}, {"total_tokens", 14}}}};
      if (what == "odd-usage") r["usage"] = {{"prompt_tokens", "10"}, {"completion_tokens", -4}};
      res.set_content(r.dump(), "application/json");
    });
    port = http.bind_to_any_port("127.0.0.1");
    th = std::thread([this] { http.listen_after_bind(); });
  }
  ~FakeServer() {
    http.stop();
    th.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port); }
};

std::vector<json> conversations(int n) {
  std::vector<json> out;
  for (int i = 0; i < n; i++)
    out.push_back(json::array({{{"role", "user"}, {"content", "What is " + std::to_string(i) + "+1?"}}}));
  return out;
}
}  // namespace

TEST(EvalEndpoint, ClientRetriesThrough429And500AndTimeouts) {
  FakeServer fake({"429", "500", "slow", "429"});
  fake.slow_s = 0.6;
  tsft::net::ChatClientConfig c;
  c.base_url = fake.url();  // "/v1" is added
  c.model = "m";
  c.concurrency = 1;
  c.timeout_s = 0.3;
  c.backoff_s = 0.01;
  tsft::net::ChatStats st;
  auto res = tsft::net::chat_complete_all(c, conversations(3), &st);
  ASSERT_EQ(res.size(), 3u);
  for (int i = 0; i < 3; i++) EXPECT_EQ(res[i].text, "\\boxed{" + std::to_string(i + 1) + "}");
  EXPECT_EQ(res[0].attempts, 5);
  EXPECT_EQ(st.retries, 4);
  EXPECT_EQ(st.completion_tokens, 12);
  EXPECT_EQ(st.prompt_tokens, 30);
}

// Usage counts are informational: a count that is not a non-negative integer reads as 0, and the answer
// is kept (json::value() threw a bare type_error on a string count, which failed the request).
TEST(EvalEndpoint, MistypedUsageCountsReadAsZero) {
  FakeServer fake({"odd-usage"});
  tsft::net::ChatClientConfig c;
  c.base_url = fake.url();
  c.model = "m";
  c.concurrency = 1;
  c.backoff_s = 0.01;
  tsft::net::ChatStats st;
  auto res = tsft::net::chat_complete_all(c, conversations(2), &st);
  ASSERT_EQ(res.size(), 2u);
  EXPECT_EQ(res[0].text, "\\boxed{1}");
  EXPECT_EQ(res[0].attempts, 1);
  EXPECT_EQ(st.retries, 0);
  EXPECT_EQ(st.prompt_tokens, 10);  // the second request's only
  EXPECT_EQ(st.completion_tokens, 4);
}

TEST(EvalEndpoint, ClientGivesUpClearly) {
  FakeServer bad({"400"});
  tsft::net::ChatClientConfig c;
  c.base_url = bad.url() + "/v1/";
  c.model = "m";
  c.backoff_s = 0.01;
  try {
    tsft::net::chat_complete_all(c, conversations(1));
    FAIL() << "a 400 must not be retried";
  } catch (const tsft::Error& e) {
    EXPECT_NE(std::string(e.what()).find("not retried"), std::string::npos) << e.what();
    EXPECT_EQ(bad.count, 1);
  }
  FakeServer flaky({"500", "500", "500"});
  c.base_url = flaky.url();
  c.max_retries = 2;
  try {
    tsft::net::chat_complete_all(c, conversations(1));
    FAIL() << "retries must be bounded";
  } catch (const tsft::Error& e) {
    EXPECT_NE(std::string(e.what()).find("gave up after 3 attempts"), std::string::npos) << e.what();
  }
  c.base_url = "http://127.0.0.1:1";  // nothing listens: connection refused, retried, then an error
  c.max_retries = 1;
  EXPECT_THROW(tsft::net::chat_complete_all(c, conversations(1)), tsft::Error);
}

TEST(EvalEndpoint, KeepFailuresRecordsTheReasonPerItemButStopsOnAuthOrModelErrors) {
  FakeServer fake({"500", "500", "400"});
  tsft::net::ChatClientConfig c;
  c.base_url = fake.url();
  c.model = "m";
  c.concurrency = 1;
  c.max_retries = 1;
  c.backoff_s = 0.01;
  c.keep_failures = true;
  auto res = tsft::net::chat_complete_all(c, conversations(3));
  ASSERT_EQ(res.size(), 3u);
  EXPECT_NE(res[0].error.find("HTTP 500"), std::string::npos) << res[0].error;
  EXPECT_NE(res[0].error.find("gave up after 2 attempts"), std::string::npos) << res[0].error;
  EXPECT_NE(res[1].error.find("not retried"), std::string::npos)
      << "a 400 is the item's failure: " << res[1].error;
  EXPECT_EQ(res[2].error, "");
  EXPECT_EQ(res[2].text, "\\boxed{3}");
  FakeServer unknown_model({"404"});
  c.base_url = unknown_model.url();
  EXPECT_THROW(tsft::net::chat_complete_all(c, conversations(2)), tsft::net::EndpointError)
      << "every item would fail alike: stop";
}

TEST(EvalEndpointE2E, CliEvalThroughFlakyServerAndResume) {
  TempDir t;
  write_problems(t / "p.jsonl", 4);
  FakeServer fake({"429", "500", "500"});
  std::string cmd = tsft_bin() + " eval --endpoint " + fake.url() + "/v1 --model fake --data " +
                    t / "p.jsonl" + " --out " + t / "ev" + " --concurrency 3 --backoff 0.01 --timeout 10 -q";
  auto r = run_cmd(cmd);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto m = json::parse(tsft::fs_read_text(t / "ev/metrics.json"));
  EXPECT_EQ(m["overall"]["n"], 8);
  EXPECT_EQ(m["overall"]["accuracy"], 1.0);
  EXPECT_EQ(m["model"], "fake");
  EXPECT_EQ(m["generation"]["new_tokens"], 32);
  auto g = json::parse(tsft::fs_read_text(t / "ev/generation.json"));  // this invocation's throughput
  EXPECT_EQ(g["new_tokens"], 32);
  EXPECT_EQ(g["prompt_tokens"], 80);
  EXPECT_EQ(g["endpoint"]["retries"], 3);
  EXPECT_EQ(m["pairs"]["P2"]["pairs"], 4);
  int before = fake.count;
  auto again = run_cmd(cmd);  // everything graded: no request goes out
  ASSERT_EQ(again.exit_code, 0) << again.output;
  EXPECT_EQ(fake.count, before);
  auto other = run_cmd(tsft_bin() + " eval --endpoint " + fake.url() + " --model other --data " +
                       t / "p.jsonl" + " --out " + t / "ev -q");
  EXPECT_EQ(other.exit_code, 2) << "results of another served model must not be mixed in: " << other.output;
}

TEST(EvalEndpointE2E, SameResultsFileAsLocalEvalThroughTsftServe) {
  TempDir t;
  write_serve_model(t / "model");
  write_problems(t / "p.jsonl", 6);
  auto local = run_cmd(tsft_bin() + " eval --model " + t / "model" + " --data " + t / "p.jsonl" + " --out " +
                       t / "local --max-new-tokens 24 --threads 1 -q");
  ASSERT_EQ(local.exit_code, 0) << local.output;
  Child srv({tsft_bin(), "serve", "--model", t / "model", "--port", "0", "--served-model-name", "tiny",
             "--max-batch", "4", "--threads", "1"},
            t / "serve.log");
  int port = srv.wait_port();
  ASSERT_GT(port, 0) << srv.read_log();
  auto remote = run_cmd(tsft_bin() + " eval --endpoint http://127.0.0.1:" + std::to_string(port) +
                        " --model tiny --data " + t / "p.jsonl" + " --out " +
                        t / "remote --max-new-tokens 24 "
                            "--concurrency 5 -q");
  ASSERT_EQ(remote.exit_code, 0) << remote.output << srv.read_log();
  EXPECT_EQ(tsft::fs_read_text(t / "remote/results.jsonl"), tsft::fs_read_text(t / "local/results.jsonl"));
  auto ml = json::parse(tsft::fs_read_text(t / "local/metrics.json"));
  auto mr = json::parse(tsft::fs_read_text(t / "remote/metrics.json"));
  EXPECT_EQ(ml["overall"]["n"], 12);
  EXPECT_GT(ml["generation"]["new_tokens"].get<int64_t>(), 12) << "the model should generate some text";
  EXPECT_EQ(mr["generation"]["new_tokens"], ml["generation"]["new_tokens"]);
  EXPECT_EQ(json::parse(tsft::fs_read_text(t / "remote/generation.json"))["prompt_tokens"],
            json::parse(tsft::fs_read_text(t / "local/generation.json"))["prompt_tokens"]);
  for (auto* j : {&ml, &mr}) {
    j->erase("model");
    j->erase("generation");
  }
  EXPECT_EQ(mr, ml);
  EXPECT_EQ(srv.terminate_and_wait(), 0);
}
