// tsft eval --format F: a native dataset file read through its adapter gives the same results file as
// `tsft convert` + `tsft eval` (locally, and through `tsft serve` with --endpoint); bad records are
// errors naming file:line and field. --endpoint failures: an item whose request fails for good is not
// graded (failed.jsonl, "failed_not_graded" in metrics), the exit code says the run is incomplete, and a
// rerun asks only those items again.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>

#include <atomic>
#include <filesystem>
#include <set>

#include "core/fs.hpp"
#include "serve_test_util.hpp"
#include "spawn_util.hpp"

using namespace tsft_test;
using nlohmann::json;

namespace {
std::string adapters_dir() {
  return std::string(TSFT_SOURCE_DIR) + "/tests/data/adapters";
}

std::string question_text(bool flaky, int i) {
  std::string q = flaky ? "flaky: " : "";
  q += "What is 3+4? #";
  q += std::to_string(i);
  return q;
}

// Answers "\boxed{7}" to every question; requests whose question contains a word in `fail` get HTTP 500
// while `failing` is set. Counts requests per question.
struct ScriptedServer {
  httplib::Server http;
  std::thread th;
  int port = 0;
  std::atomic<bool> failing{true};
  std::atomic<double> delay_s{0};
  std::string fail;
  std::mutex mu;
  std::map<std::string, int> asked;
  explicit ScriptedServer(std::string f) : fail(std::move(f)) {
    http.Post("/v1/chat/completions", [this](const httplib::Request& req, httplib::Response& res) {
      json b = json::parse(req.body);
      std::string q = b["messages"].back()["content"];
      {
        std::lock_guard<std::mutex> lk(mu);
        asked[q]++;
      }
      if (delay_s > 0) std::this_thread::sleep_for(std::chrono::duration<double>(delay_s.load()));
      if (failing && q.find(fail) != std::string::npos)
        return res.status = 500, res.set_content(R"({"error":{"message":"boom"}})", "application/json");
      json r = {{"id", "x"},
                {"object", "chat.completion"},
                {"model", b["model"]},
                {"choices",
                 {{{"index", 0},
                   {"message", {{"role", "assistant"}, {"content", "\\boxed{7}"}}},
                   {"finish_reason", "stop"}}}},
                {"usage", {{"prompt_tokens", 10}, {"completion_tokens", 4}, {"total_tokens", 14}}}};
      res.set_content(r.dump(), "application/json");
    });
    port = http.bind_to_any_port("127.0.0.1");
    th = std::thread([this] { http.listen_after_bind(); });
  }
  ~ScriptedServer() {
    http.stop();
    th.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port) + "/v1"; }
  int total() {
    std::lock_guard<std::mutex> lk(mu);
    int n = 0;
    for (auto& [q, k] : asked) n += k;
    return n;
  }
};
}  // namespace

TEST(EvalFormatE2E, SameResultsAsConvertThenEvalLocallyAndThroughServe) {
  TempDir t;
  write_serve_model(t / "model");
  const std::string eval_opts = " --max-new-tokens 16 --threads 1 -q";
  for (std::string fmt : {"gsm8k", "math", "gsm_plus"}) {
    SCOPED_TRACE(fmt);
    std::string data = adapters_dir() + "/" + fmt + ".jsonl";
    auto conv = run_cmd(tsft_bin() + " convert --format " + fmt + " --data " + data + " --out " +
                        t / (fmt + ".problems.jsonl"));
    ASSERT_EQ(conv.exit_code, 0) << conv.output;
    auto a = run_cmd(tsft_bin() + " eval --model " + t / "model" + " --data " +
                     t / (fmt + ".problems.jsonl") + " --out " + t / (fmt + "_converted") + eval_opts);
    ASSERT_EQ(a.exit_code, 0) << a.output;
    auto b = run_cmd(tsft_bin() + " eval --model " + t / "model" + " --format " + fmt + " --data " + data +
                     " --out " + t / (fmt + "_direct") + eval_opts);
    ASSERT_EQ(b.exit_code, 0) << b.output;
    std::string ra = tsft::fs_read_text(t / (fmt + "_converted/results.jsonl"));
    EXPECT_EQ(read_jsonl_complete(t / (fmt + "_converted/results.jsonl")).size(), 2u);
    EXPECT_EQ(tsft::fs_read_text(t / (fmt + "_direct/results.jsonl")), ra);
    EXPECT_EQ(tsft::fs_read_text(t / (fmt + "_direct/metrics.json")),
              tsft::fs_read_text(t / (fmt + "_converted/metrics.json")));
  }
  auto plus =
      read_jsonl_complete(t / "gsm_plus_direct/results.jsonl");  // GSM-Plus records keep their probe kind
  EXPECT_FALSE(plus[0]["probe"].get<std::string>().empty());
  EXPECT_FALSE(plus[0]["parent_id"].get<std::string>().empty());

  Child srv({tsft_bin(), "serve", "--model", t / "model", "--port", "0", "--served-model-name", "tiny",
             "--max-batch", "4", "--threads", "1"},
            t / "serve.log");
  int port = srv.wait_port();
  ASSERT_GT(port, 0) << srv.read_log();
  auto remote = run_cmd(tsft_bin() + " eval --endpoint http://127.0.0.1:" + std::to_string(port) +
                        " --model tiny --format gsm8k --data " + adapters_dir() + "/gsm8k.jsonl --out " +
                        t / "remote --max-new-tokens 16 --concurrency 2 -q");
  ASSERT_EQ(remote.exit_code, 0) << remote.output << srv.read_log();
  EXPECT_EQ(tsft::fs_read_text(t / "remote/results.jsonl"),
            tsft::fs_read_text(t / "gsm8k_direct/results.jsonl"));
  EXPECT_EQ(srv.terminate_and_wait(), 0);
}

TEST(EvalFormatE2E, BadRecordNamesFileLineAndField) {
  TempDir t;
  auto r = run_cmd(tsft_bin() + " eval --model " + t / "nomodel" + " --format gsm8k --data " +
                   adapters_dir() + "/gsm8k_bad.jsonl --out " + t / "ev -q");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("gsm8k_bad.jsonl:3: invalid JSON"), std::string::npos) << r.output;
  tsft::fs_write_atomic(t / "g.jsonl", json{{"question", "Q?"}, {"answer", "5\n#### 5"}}.dump() + "\n" +
                                           json{{"question", "R?"}, {"answer", "no final line"}}.dump() +
                                           "\n");
  auto f = run_cmd(tsft_bin() + " eval --model " + t / "nomodel" + " --format gsm8k --data " + t / "g.jsonl" +
                   " --out " + t / "ev -q");
  EXPECT_EQ(f.exit_code, 1) << f.output;
  EXPECT_NE(f.output.find("g.jsonl:2: field 'answer' has no '#### <number>' final line"), std::string::npos)
      << f.output;
  auto u = run_cmd(tsft_bin() + " eval --model m --format nope --data x --out " + t / "ev2 -q");
  EXPECT_EQ(u.exit_code, 2) << u.output;
}

TEST(EvalEndpointE2E, FailedRequestsAreNotGradedAndRetriedOnRerun) {
  TempDir t;
  std::string data;
  for (int i = 0; i < 6; i++)
    data += json{{"id", fmt::format("q{}", i)},
                 {"question", question_text(i % 3 == 1, i)},
                 {"answer", i == 4 ? "8" : "7"}}
                .dump() +
            "\n";
  tsft::fs_write_atomic(t / "p.jsonl", data);
  ScriptedServer srv("flaky");
  std::string cmd = tsft_bin() + " eval --endpoint " + srv.url() + " --model m --data " + t / "p.jsonl" +
                    " --out " + t / "ev --retries 2 --backoff 0.01 --concurrency 2 -q";
  auto r = run_cmd(cmd);
  EXPECT_EQ(r.exit_code, 1) << "an incomplete evaluation is not a success: " << r.output;
  EXPECT_NE(r.output.find("2 items failed at the endpoint and are not graded"), std::string::npos)
      << r.output;
  EXPECT_EQ(srv.total(), 4 + 2 * 3) << "4 answered, 2 failing items x (1 + --retries 2)";
  auto failed = read_jsonl_complete(t / "ev/failed.jsonl");
  ASSERT_EQ(failed.size(), 2u);
  EXPECT_EQ(failed[0]["id"], "q1");
  EXPECT_EQ(failed[1]["id"], "q4");
  EXPECT_NE(failed[0]["error"].get<std::string>().find("HTTP 500"), std::string::npos) << failed[0];
  EXPECT_NE(failed[0]["error"].get<std::string>().find("gave up after 3 attempts"), std::string::npos);
  auto m = json::parse(tsft::fs_read_text(t / "ev/metrics.json"));
  EXPECT_EQ(m["overall"]["n"], 4) << "failed items are not graded (neither right nor wrong)";
  EXPECT_EQ(m["overall"]["accuracy"], 1.0);
  EXPECT_EQ(m["failed_not_graded"], 2);
  EXPECT_EQ(read_jsonl_complete(t / "ev/results.jsonl").size(), 4u);

  auto again = run_cmd(cmd);  // still failing: only the two failed items are asked again
  EXPECT_EQ(again.exit_code, 1) << again.output;
  EXPECT_EQ(srv.total(), 10 + 2 * 3);

  srv.failing = false;  // the endpoint recovers: the rerun asks exactly the failed items, once each
  auto fixed = run_cmd(cmd);
  ASSERT_EQ(fixed.exit_code, 0) << fixed.output;
  EXPECT_EQ(srv.total(), 16 + 2);
  EXPECT_EQ(tsft::fs_read_text(t / "ev/failed.jsonl"), "");
  auto m2 = json::parse(tsft::fs_read_text(t / "ev/metrics.json"));
  EXPECT_EQ(m2["overall"]["n"], 6);
  EXPECT_EQ(m2["overall"]["correct"], 5);  // q4's gold is 8
  EXPECT_EQ(m2["failed_not_graded"], 0);
  {  // the same metrics as a run that never failed
    ScriptedServer clean("never");
    auto c = run_cmd(tsft_bin() + " eval --endpoint " + clean.url() + " --model m --data " + t / "p.jsonl" +
                     " --out " + t / "clean -q");
    ASSERT_EQ(c.exit_code, 0) << c.output;
    auto mc = json::parse(tsft::fs_read_text(t / "clean/metrics.json"));
    EXPECT_EQ(m2, mc);
  }

  // Nothing listening: every item fails (connection refused), nothing is graded, nothing aborts.
  auto down = run_cmd(tsft_bin() + " eval --endpoint http://127.0.0.1:1/v1 --model m --data " +
                      t / "p.jsonl" + " --out " + t / "down --retries 1 --backoff 0.01 -q");
  EXPECT_EQ(down.exit_code, 1) << down.output;
  EXPECT_EQ(read_jsonl_complete(t / "down/failed.jsonl").size(), 6u);
  EXPECT_EQ(json::parse(tsft::fs_read_text(t / "down/metrics.json"))["overall"]["n"], 0);
}

TEST(EvalEndpointE2E, Kill9MidRunThenResumeAsksNoGradedItemAgain) {
  TempDir t;
  std::string data;
  for (int i = 0; i < 12; i++)
    data +=
        json{{"id", fmt::format("k{}", i)}, {"question", question_text(i == 5, i)}, {"answer", "7"}}.dump() +
        "\n";
  tsft::fs_write_atomic(t / "p.jsonl", data);
  ScriptedServer srv("flaky");
  srv.delay_s = 0.1;
  std::vector<std::string> argv = {tsft_bin(),      "eval",        "--endpoint", srv.url(), "--model", "m",
                                   "--data",        t / "p.jsonl", "--out",      t / "ev",  "--chunk", "1",
                                   "--concurrency", "1",           "--retries",  "0",       "-q"};
  {
    Child c(argv, t / "run1.log");
    ASSERT_GT(c.pid, 0);
    for (int k = 0; k < 3000 && read_jsonl_complete(t / "ev/results.jsonl").size() < 7; k++)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    kill(c.pid, SIGKILL);
  }
  auto graded = read_jsonl_complete(t / "ev/results.jsonl");
  ASSERT_GE(graded.size(), 7u);
  ASSERT_LT(graded.size(), 11u) << "killed before the end";
  auto failed = read_jsonl_complete(t / "ev/failed.jsonl");
  ASSERT_EQ(failed.size(), 1u) << "k5 failed before the kill and is on record";
  EXPECT_EQ(failed[0]["id"], "k5");
  srv.failing = false;
  srv.delay_s = 0;
  std::string cmd;
  for (auto& a : argv) cmd += a + " ";
  auto r = run_cmd(cmd);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::set<std::string> before;  // questions graded before the kill
  for (auto& g : graded) before.insert("What is 3+4? #" + g["id"].get<std::string>().substr(1));
  std::lock_guard<std::mutex> lk(srv.mu);
  EXPECT_EQ(srv.asked.size(), 12u);
  int twice = 0;
  for (auto& [q, k] : srv.asked) {
    if (before.count(q)) {
      EXPECT_EQ(k, 1) << q << ": graded before the kill, asked again";
    }
    if (q.rfind("flaky", 0) == 0) {
      EXPECT_EQ(k, 2) << "failed once, asked again on resume";
    }
    if (!before.count(q) && q.rfind("flaky", 0) != 0) {
      EXPECT_LE(k, 2) << q;
      twice += k == 2;  // the request in flight at the kill (answered, not yet written) is lost
    }
  }
  EXPECT_LE(twice, 1);
  auto m = json::parse(tsft::fs_read_text(t / "ev/metrics.json"));
  EXPECT_EQ(m["overall"]["n"], 12);
  EXPECT_EQ(m["failed_not_graded"], 0);
}
