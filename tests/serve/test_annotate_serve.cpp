// tsft annotate with `tsft serve` of a tiny fixture model as the teacher: its answers are not annotations,
// so every problem must be rejected with a reason, and nothing may crash.
#include <gtest/gtest.h>

#include <set>
#include <sstream>

#include "core/fs.hpp"
#include "serve_test_util.hpp"
#include "spawn_util.hpp"

using namespace tsft_test;
using nlohmann::json;

TEST(AnnotateServeE2E, FixtureModelAnswersAreRejectedWithReasons) {
  TempDir t;
  write_serve_model(t / "model");
  Child srv({tsft_bin(), "serve", "--model", t / "model", "--port", "0", "--served-model-name", "tiny",
             "--max-batch", "4", "--threads", "1"},
            t / "serve.log");
  int port = srv.wait_port();
  ASSERT_GT(port, 0) << srv.read_log();
  std::string data = std::string(TSFT_SOURCE_DIR) + "/tests/data/adapters/math.jsonl";
  // The fixture model's context is 256 byte-level tokens: a one-theorem catalog and a terse template
  // (both are data: --catalog, --prompt) keep the prompt inside it.
  tsft::fs_write_atomic(t / "cat.toml",
                        "[[theorem]]\nid = \"add\"\nname = \"Sum\"\ndomain = \"algebra\"\n"
                        "statement = \"a+b.\"\npremises = [\"p\"]\nvariables = [\"a\"]\n");
  tsft::fs_write_atomic(t / "prompt.toml", "user = \"{{theorems}} {{problem}}\"\nretry = \"{{reason}}\"\n");
  auto r = run_cmd(tsft_bin() + " annotate --data " + data +
                   " --format math --endpoint http://127.0.0.1:" + std::to_string(port) +
                   "/v1 --model tiny --out " + t / "out" + " --catalog " + t / "cat.toml" + " --prompt " +
                   t / "prompt.toml" + " --max-tokens 24 --retries 1 --concurrency 2 --timeout 60 -q");
  ASSERT_EQ(r.exit_code, 0) << r.output << srv.read_log();
  json s = json::parse(tsft::fs_read_text(t / "out/summary.json"));
  int64_t n = s["problems"];
  EXPECT_GE(n, 2);
  EXPECT_EQ(s["accepted"], 0);
  EXPECT_EQ(s["rejected"]["total"], n);
  EXPECT_EQ(s["not_annotated"]["endpoint_error"], 0) << r.output;  // a too-long prompt would be a 400 here
  EXPECT_GT(s["tokens"]["completion"].get<int64_t>(), 0);
  const std::set<std::string> reasons = {"unparsable", "unknown_theorem", "map_value_not_found",
                                         "wrong_answer"};
  std::istringstream rej(tsft::fs_read_text(t / "out/rejected.jsonl"));
  int lines = 0;
  for (std::string l; std::getline(rej, l); lines++) {
    json j = json::parse(l);
    EXPECT_TRUE(reasons.count(j["reason"])) << l;
    EXPECT_FALSE(j["message"].get<std::string>().empty()) << l;
    EXPECT_EQ(j["attempts"], 2) << "re-asked once with the validator's message";
  }
  EXPECT_EQ(lines, n);
  EXPECT_EQ(tsft::fs_read_text(t / "out/theorem.jsonl"), "");
  EXPECT_EQ(tsft::fs_read_text(t / "out/vanilla.jsonl"), "");
  EXPECT_EQ(srv.terminate_and_wait(), 0);
}
