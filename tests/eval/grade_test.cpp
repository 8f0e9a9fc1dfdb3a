// grade_pair / grade_jsonl_line and the `tsft grade` command.
#include "eval/grade.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/error.hpp"

using namespace tsft::eval;

TEST(Grade, FullOutputsAgainstBareAndSolutionGolds) {
  GradeResult r = grade_pair("\\frac{1}{2}", "So the probability is $\\boxed{\\frac12}$.");
  EXPECT_TRUE(r.equal);
  EXPECT_EQ(r.extracted, "\\frac12");
  EXPECT_EQ(r.rule, ExtractRule::Boxed);
  // a GSM8K reference solution as gold
  r = grade_pair("Natalia sold 48/2 = <<48/2=24>>24 clips.\n#### 72", "She sold 24 in May.\n#### 72");
  EXPECT_TRUE(r.equal);
  EXPECT_EQ(r.gold_answer, "72");
  EXPECT_FALSE(grade_pair("#### 72", "#### 27").equal);
}

TEST(Grade, MultipleChoiceGoldIsComparedAsALetter) {
  GradeResult r = grade_pair("C", "Let's compute... so the answer is (C).");
  EXPECT_TRUE(r.equal);
  EXPECT_EQ(r.extracted, "C");
  EXPECT_EQ(r.rule, ExtractRule::Choice);
  EXPECT_FALSE(grade_pair("A", "The answer is C, not A.").equal);
  EXPECT_TRUE(grade_pair("\\text{(C)}", "(c)").equal);
}

TEST(Grade, CannotBeDeterminedGoldOfProbeP9) {
  const char* gold = "\\text{cannot be determined}";
  for (const char* p : {"The length cannot be determined.", "There is not enough information to answer.",
                        "Insufficient information is given.", "$\\boxed{\\text{Cannot be determined}}$"})
    EXPECT_TRUE(grade_pair(gold, p).equal) << p;
  EXPECT_FALSE(grade_pair(gold, "The answer is $\\boxed{12}$.").equal);
  // and a numeric gold is not matched by a refusal
  EXPECT_FALSE(grade_pair("12", "It cannot be determined.").equal);
}

TEST(Grade, JsonlLineKeepsFieldsAndAddsVerdict) {
  GradeSummary s;
  std::string out = grade_jsonl_line(R"({"id": "q1", "gold": "1000", "pred": "The answer is $1,000$."})",
                                     "f:1", EquivOptions{}, s);
  auto j = nlohmann::json::parse(out);
  EXPECT_EQ(j["id"], "q1");
  EXPECT_EQ(j["extracted"], "1,000");
  EXPECT_EQ(j["equal"], true);
  EXPECT_EQ(j["rule"], "answer_is");
  // numbers are accepted as gold; re-grading a graded line rewrites the verdict
  out = grade_jsonl_line(R"({"gold": 5, "pred": "4", "equal": true})", "f:2", EquivOptions{}, s);
  j = nlohmann::json::parse(out);
  EXPECT_EQ(j["equal"], false);
  EXPECT_EQ(s.total, 2);
  EXPECT_EQ(s.equal, 1);
  auto sum = grade_summary_json(s);
  EXPECT_DOUBLE_EQ(sum["accuracy"].get<double>(), 0.5);
}

TEST(Grade, JsonlErrorsNameFileAndLine) {
  GradeSummary s;
  try {
    grade_jsonl_line(R"({"gold": "1"})", "preds.jsonl:7", EquivOptions{}, s);
    FAIL() << "expected an error";
  } catch (const tsft::Error& e) {
    EXPECT_NE(std::string(e.what()).find("preds.jsonl:7"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("pred"), std::string::npos) << e.what();
  }
  EXPECT_THROW(grade_jsonl_line("{not json", "preds.jsonl:9", EquivOptions{}, s), tsft::Error);
  EXPECT_THROW(grade_jsonl_line(R"({"gold": [1], "pred": "1"})", "p:1", EquivOptions{}, s), tsft::Error);
}

TEST(GradeCli, GradesAFileAndReportsASummary) {
  const std::string bin = TSFT_TSFT_BIN;
  if (!std::filesystem::exists(bin)) GTEST_SKIP() << "tsft binary not built: " << bin;
  const auto dir = std::filesystem::temp_directory_path() / "tsft_grade_cli_test";
  std::filesystem::create_directories(dir);
  const auto in = dir / "in.jsonl", out = dir / "out.jsonl", sum = dir / "summary.json";
  {
    std::ofstream f(in);
    f << R"({"gold": "\\frac{1}{2}", "pred": "\\boxed{0.5}"})"
      << "\n"
      << R"({"gold": "50\\%", "pred": "50"})"
      << "\n\n"
      << R"J({"gold": "[1,2)", "pred": "(1,2)"})J"
      << "\n";
  }
  std::string cmd = bin + " grade --in " + in.string() + " --out " + out.string() + " > " + sum.string();
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  std::ifstream g(out);
  std::vector<nlohmann::json> rows;
  for (std::string l; std::getline(g, l);) rows.push_back(nlohmann::json::parse(l));
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_TRUE(rows[0]["equal"].get<bool>());
  EXPECT_TRUE(rows[1]["equal"].get<bool>());
  EXPECT_FALSE(rows[2]["equal"].get<bool>());
  std::ifstream sf(sum);
  std::stringstream ss;
  ss << sf.rdbuf();
  auto s = nlohmann::json::parse(ss.str());
  EXPECT_EQ(s["total"], 3);
  EXPECT_EQ(s["equal"], 2);
  // policy switch: percent divide makes 50% != 50
  cmd = bin + " grade --percent divide --in " + in.string() + " --out " + out.string() + " > " + sum.string();
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  std::ifstream g2(out);
  std::string l0, l1;
  std::getline(g2, l0);
  std::getline(g2, l1);
  EXPECT_FALSE(nlohmann::json::parse(l1)["equal"].get<bool>());
  // a malformed line: exit code 1 and the file:line in the message
  {
    std::ofstream f(in, std::ios::app);
    f << "{\"gold\": \"1\"}\n";
  }
  cmd = bin + " grade --in " + in.string() + " --out " + out.string() + " 2> " + sum.string();
  int rc = std::system(cmd.c_str());
  EXPECT_EQ(WEXITSTATUS(rc), 1);
  std::ifstream ef(sum);
  std::stringstream es;
  es << ef.rdbuf();
  EXPECT_NE(es.str().find("in.jsonl:5"), std::string::npos) << es.str();
  cmd = bin + " grade --percent sometimes --in " + in.string() + " > /dev/null 2>&1";
  EXPECT_EQ(WEXITSTATUS(std::system(cmd.c_str())), 2);
}
