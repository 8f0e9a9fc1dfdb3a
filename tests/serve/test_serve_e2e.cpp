// The tsft binary: `tsft serve` as a process, checked by the official openai npm client (tests/node),
// against offline `tsft generate`; SIGTERM drains an in-flight request and exits 0.
#include <fcntl.h>
#include <gtest/gtest.h>

#include <future>
#include <map>

#include "core/fs.hpp"
#include "serve_test_util.hpp"
#include "spawn_util.hpp"

using namespace tsft_test;
using nlohmann::json;

namespace {
std::string node_openai_unavailable() {
  std::string mod = std::string(TSFT_SOURCE_DIR) + "/tests/node/node_modules/openai/package.json";
  if (std::system("node --version > /dev/null 2>&1") != 0) return "node is not installed";
  if (!std::ifstream(mod).good())
    return "npm package `openai` is not installed in tests/node (run scripts/setup.sh; npm unreachable?)";
  return "";
}

}  // namespace

TEST(ServeE2E, OpenAiNpmClientMatchesOfflineGenerate) {
  if (std::string why = node_openai_unavailable(); !why.empty()) GTEST_SKIP() << "SKIPPED: " << why;
  TempDir t;
  write_serve_model(t / "model");
  std::string prompts;
  for (int i = 0; i < 4; i++)
    prompts +=
        json{{"id", std::to_string(i)}, {"prompt", "Sum " + std::to_string(i) + " and 3"}}.dump() + "\n";
  tsft::fs_write_atomic(t / "prompts.jsonl", prompts);
  auto gen = run_cmd(tsft_bin() + " generate --model " + t / "model" + " --input " + t / "prompts.jsonl" +
                     " --max-new-tokens 30 --threads 1 --out " + t / "offline.jsonl");
  ASSERT_EQ(gen.exit_code, 0) << gen.output;
  setenv("TSFT_E2E_KEY", "k-123", 1);
  Child srv({tsft_bin(), "serve", "--model", t / "model", "--port", "0", "--api-key-env", "TSFT_E2E_KEY",
             "--served-model-name", "tiny", "--max-context", "256", "--threads", "1"},
            t / "serve.log");
  int port = srv.wait_port();
  ASSERT_GT(port, 0) << srv.read_log();
  std::string base = "http://127.0.0.1:" + std::to_string(port) + "/v1";
  auto node = run_cmd("node " + std::string(TSFT_SOURCE_DIR) + "/tests/node/openai_client.js " + base +
                      " k-123 tiny " + t / "prompts.jsonl" + " " + t / "node.json");
  ASSERT_EQ(node.exit_code, 0) << node.output << srv.read_log();
  json out = json::parse(tsft::fs_read_text(t / "node.json"));
  EXPECT_EQ(out["models"], json::array({"tiny"}));
  auto offline = read_jsonl(t / "offline.jsonl");
  ASSERT_EQ(out["items"].size(), offline.size());
  for (size_t i = 0; i < offline.size(); i++) {
    auto& it = out["items"][i];
    EXPECT_EQ(it["chat"], offline[i]["completion"]) << "prompt " << i;
    EXPECT_EQ(it["streamed"], offline[i]["completion"]) << "prompt " << i;
    EXPECT_EQ(it["usage"]["completion_tokens"], offline[i]["n_tokens"]);
    EXPECT_EQ(it["finish"], offline[i]["finish_reason"] == "length" ? "length" : "stop");
    EXPECT_EQ(it["streamFinish"], it["finish"]);
  }
  EXPECT_EQ(out["errors"]["bad_param"]["status"], 400);
  EXPECT_EQ(out["errors"]["bad_param"]["kind"], "BadRequestError");
  EXPECT_EQ(out["errors"]["bad_param"]["param"], "temperature");
  EXPECT_EQ(out["errors"]["unknown_model"]["status"], 404);
  EXPECT_EQ(out["errors"]["unknown_model"]["code"], "model_not_found");
  EXPECT_EQ(out["errors"]["wrong_key"]["status"], 401);
  EXPECT_EQ(out["errors"]["wrong_key"]["kind"], "AuthenticationError");
  EXPECT_EQ(srv.terminate_and_wait(), 0) << srv.read_log();
}

TEST(ServeE2E, SigtermDrainsInFlightRequestsAndExitsZero) {
  TempDir t;
  write_slow_model(t / "model");
  Child srv({tsft_bin(), "serve", "--model", t / "model", "--port", "0", "--max-batch", "1", "--threads", "1",
             "--max-context", "512"},
            t / "serve.log");
  int port = srv.wait_port();
  ASSERT_GT(port, 0) << srv.read_log();
  std::string url = "http://127.0.0.1:" + std::to_string(port) + "/v1/completions";
  json b = {{"model", "model"}, {"prompt", "go"}, {"max_tokens", 200}, {"temperature", 0}};
  std::vector<std::future<tsft::net::HttpResponse>> fs;
  for (int i = 0; i < 3; i++)
    fs.push_back(std::async(std::launch::async, [&] { return post(url, b.dump()); }));
  for (int i = 0; i < 3000; i++) {  // until all three are admitted (one running, two queued)
    auto h = json::parse(get("http://127.0.0.1:" + std::to_string(port) + "/health").body);
    if (h["jobs"] == 3) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(srv.terminate_and_wait(), 0) << srv.read_log();
  double drain_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  for (auto& f : fs) {
    auto r = f.get();  // admitted before SIGTERM: each finishes in full, none is dropped
    EXPECT_EQ(r.status, 200) << r.error;
    EXPECT_EQ(json::parse(r.body)["usage"]["completion_tokens"], 200);
  }
  EXPECT_GT(drain_s, 0.05) << "the server exited without waiting for its requests";
  EXPECT_NE(srv.read_log().find("draining"), std::string::npos);
}
