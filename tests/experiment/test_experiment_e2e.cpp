// The smoke experiment end to end through the CLI: every report section present and non-empty, and a
// re-run after an interruption redoes only unfinished stages.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/fs.hpp"
#include "test_util.hpp"

using namespace tsft_test;
namespace fs = std::filesystem;

TEST(ExperimentE2E, SmokeRunsReportsAndResumes) {
  TempDir t;
  std::string cfg = std::string(TSFT_SOURCE_DIR) + "/configs/smoke.toml";
  CmdResult r = run_cmd(tsft_bin() + " experiment " + cfg + " --out " + t / "ex");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::string md = tsft::fs_read_text(t / "ex/report.md");
  for (const char* sec : {"## Question and claims", "## Verdicts", "## Accuracy by split", "## Probe drops",
                          "## Theorem vs vanilla", "## All layers vs MLP-only", "## Training curves", "## Setup"}) {
    size_t at = md.find(sec);
    ASSERT_NE(at, std::string::npos) << sec;
    size_t next = md.find("\n## ", at + 3);
    std::string body = md.substr(at, next == std::string::npos ? std::string::npos : next - at);
    EXPECT_GT(body.size(), std::string(sec).size() + 40) << sec << " is empty";
  }
  for (const char* claim : {"1. vanilla", "2. Theorem-SFT", "3. MLP-only"}) EXPECT_NE(md.find(claim), std::string::npos);
  std::string html = tsft::fs_read_text(t / "ex/report.html");
  EXPECT_NE(html.find("<svg"), std::string::npos);
  EXPECT_NE(html.find("<table>"), std::string::npos);

  // Interrupt: drop the marker of one late stage and the report; the re-run redoes exactly that stage.
  fs::remove(t / "ex/eval/answer-only-all-s1/.stage.json");
  fs::remove(t / "ex/report.md");
  CmdResult again = run_cmd(tsft_bin() + " experiment " + cfg + " --out " + t / "ex");
  ASSERT_EQ(again.exit_code, 0) << again.output;
  EXPECT_NE(again.output.find("stage gen: cached"), std::string::npos);
  EXPECT_NE(again.output.find("stage train/theorem-all-s1: cached"), std::string::npos);
  EXPECT_NE(again.output.find("stage eval/answer-only-all-s1: running"), std::string::npos);
  EXPECT_TRUE(fs::exists(t / "ex/report.md"));
}
