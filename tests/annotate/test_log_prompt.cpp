// The kill-9-safe JSONL log and the strict prompt template.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "annotate/prompt.hpp"
#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/jsonl_log.hpp"
#include "net/openai_client.hpp"
#include "test_util.hpp"

using nlohmann::json;
using tsft_test::TempDir;

TEST(JsonlLog, DropsATornTailAndAppendsOnAFreshLine) {
  TempDir t;
  tsft::fs_write_atomic(t / "log.jsonl", "{\"a\":1}\n\n{\"a\":2}\n{\"a\":");
  std::vector<json> recs;
  {
    tsft::JsonlLog log(t / "log.jsonl", &recs);
    EXPECT_TRUE(log.had_torn_tail());
    ASSERT_EQ(recs.size(), 2u);
    EXPECT_EQ(recs[1]["a"], 2);
    log.append({{"a", 3}});
  }
  EXPECT_EQ(tsft::fs_read_text(t / "log.jsonl"), "{\"a\":1}\n\n{\"a\":2}\n{\"a\":3}\n");
  recs.clear();
  tsft::JsonlLog again(t / "log.jsonl", &recs);
  EXPECT_FALSE(again.had_torn_tail());
  EXPECT_EQ(recs.size(), 3u);
}

TEST(JsonlLog, ACorruptCompleteLineIsAnErrorWithFileAndLine) {
  TempDir t;
  tsft::fs_write_atomic(t / "log.jsonl", "{\"a\":1}\nnot json\n{\"a\":2}\n");
  try {
    tsft::JsonlLog log(t / "log.jsonl", nullptr);
    FAIL();
  } catch (const tsft::Error& e) {
    EXPECT_NE(std::string(e.what()).find("log.jsonl:2: invalid JSON"), std::string::npos) << e.what();
  }
}

namespace {
std::string prompt_error(const std::string& text) {
  TempDir t;
  tsft::fs_write_atomic(t / "p.toml", text);
  try {
    tsft::annotate::prompt_load(t / "p.toml");
  } catch (const tsft::Error& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST(Prompt, StrictTemplate) {
  auto p = tsft::annotate::prompt_load(tsft::annotate::prompt_default_path());
  EXPECT_EQ(p.hash.size(), 16u);
  auto m = tsft::annotate::prompt_messages(
      p, {{"problem", "PROB {{x}}"}, {"theorems", "THMS"}, {"solution", "S"}, {"answer", "A"}});
  ASSERT_EQ(m.size(), 2u);
  std::string u = m[1]["content"];
  EXPECT_NE(u.find("Problem:\nPROB {{x}}\n"), std::string::npos) << "values are not re-expanded: " << u;
  EXPECT_NE(u.find("\\boxed{<final answer>}"), std::string::npos) << u;
  EXPECT_EQ(u.find("{{"), u.find("{{x}}"));
  const std::string ok = "user = \"{{problem}} {{theorems}}\"\nretry = \"{{reason}}\"\n";
  EXPECT_EQ(prompt_error(ok), "");
  std::string e = prompt_error(ok + "sytem = \"x\"\n");
  EXPECT_NE(e.find("p.toml:3"), std::string::npos) << e;
  EXPECT_NE(e.find("did you mean system"), std::string::npos) << e;
  e = prompt_error("user = \"{{problem}} {{theorem}}\"\nretry = \"{{reason}}\"\n");
  EXPECT_NE(e.find("p.toml:1: 'user' uses unknown placeholder {{theorem}} (did you mean theorems?)"),
            std::string::npos)
      << e;
  e = prompt_error("user = \"{{problem}}\"\nretry = \"{{reason}}\"\n");
  EXPECT_NE(e.find("must use the placeholder {{theorems}}"), std::string::npos) << e;
}

// --rate: request starts are spaced by at least 1 / rate across threads (a lower bound: sleeping never
// wakes early, so this cannot flake on a slow machine).
TEST(RateLimiter, SpacesStartsAcrossThreads) {
  tsft::net::RateLimiter lim(50.0);
  auto t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> th;
  for (int k = 0; k < 3; k++)
    th.emplace_back([&] {
      for (int i = 0; i < 2; i++) lim.wait();
    });
  for (auto& t : th) t.join();
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_GE(s, 5 * 0.02 - 1e-3) << "6 starts at 50/s span at least 5 intervals";
  tsft::net::RateLimiter none(0);
  auto t1 = std::chrono::steady_clock::now();
  for (int i = 0; i < 100; i++) none.wait();
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count(), 0.5);
}
