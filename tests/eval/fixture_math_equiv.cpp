// Agreement with the answer-equivalence fixture (../shared/fixtures/math_equiv/cases.jsonl): verdicts of
// public graders (Math-Verify, hendrycks MATH, PRM800K, Qwen2.5-Math, GSM8K). Rows with
// grader_specific=false must agree >= 97%; grader_specific rows are reported under our default policy.
// Every disagreement is written to <build>/tests/out/math_equiv_disagreements.jsonl.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "eval/grade.hpp"

namespace {

TEST(MathEquivFixture, AgreementWithPublicGraders) {
  const std::string path = std::string(TSFT_FIXTURES_DIR) + "/math_equiv/cases.jsonl";
  std::ifstream in(path);
  if (!in) GTEST_SKIP() << "fixture not found: " << path;
  std::filesystem::create_directories("tests/out");
  const std::string out_path = "tests/out/math_equiv_disagreements.jsonl";
  std::ofstream out(out_path);
  int n_std = 0, ok_std = 0, n_gs = 0, ok_gs = 0;
  std::map<std::string, std::pair<int, int>> by_cat;
  std::string line;
  int row = 0;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    auto j = nlohmann::json::parse(line);
    const bool expected = j["equal"].get<bool>();
    const bool gs = j["grader_specific"].get<bool>();
    auto r = tsft::eval::grade_pair(j["gold"].get<std::string>(), j["pred"].get<std::string>());
    const bool agree = r.equal == expected;
    (gs ? n_gs : n_std)++;
    (gs ? ok_gs : ok_std) += agree;
    auto& c = by_cat[j["category"].get<std::string>()];
    c.first += agree;
    c.second++;
    if (!agree) {
      nlohmann::json d = {{"row", row},
                          {"gold", j["gold"]},
                          {"pred", j["pred"]},
                          {"expected", expected},
                          {"got", r.equal},
                          {"category", j["category"]},
                          {"grader_specific", gs},
                          {"source", j["source"]},
                          {"gold_extracted", r.gold_answer},
                          {"pred_extracted", r.extracted},
                          {"rule", tsft::eval::extract_rule_name(r.rule)}};
      out << d.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    }
    ++row;
  }
  std::printf(
      "math_equiv: non-grader-specific agreement %d/%d = %.1f%%; grader-specific (default policy) %d/%d = "
      "%.1f%%\n",
      ok_std, n_std, 100.0 * ok_std / std::max(1, n_std), ok_gs, n_gs, 100.0 * ok_gs / std::max(1, n_gs));
  for (const auto& [cat, c] : by_cat) std::printf("  %-24s %3d/%3d\n", cat.c_str(), c.first, c.second);
  std::printf("disagreements: %s\n", std::filesystem::absolute(out_path).c_str());
  EXPECT_GE(ok_std, static_cast<int>(0.97 * n_std + 0.999)) << "see " << out_path;
}

}  // namespace
