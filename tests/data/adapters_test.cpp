// Dataset adapters load their sample files (tests/data/adapters/, invented problems in each dataset's
// native field layout) into the common problem schema; malformed input names the file and line.
#include "data/adapters.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/error.hpp"
#include "data/problem.hpp"
#include "test_util.hpp"

using tsft_test::error_of;

using namespace tsft::data;

namespace {

std::string sample(const std::string& name) {
  return std::string(TSFT_SOURCE_DIR) + "/tests/data/adapters/" + name;
}

}  // namespace

TEST(Adapters, MathAnswerFromLastBoxOrAnswerField) {
  auto ps = adapter_load("math", sample("math.jsonl"));
  ASSERT_EQ(ps.size(), 2u);
  EXPECT_EQ(ps[0].answer, "\\frac{7}{8}");  // nested braces inside \boxed{}
  EXPECT_EQ(ps[0].id, "math/1");
  EXPECT_EQ(ps[0].family, "math");
  EXPECT_EQ(ps[0].extra["subject"], "Prealgebra");
  EXPECT_EQ(ps[1].answer, "5");
  auto m5 = adapter_load("math", sample("math500.jsonl"));
  ASSERT_EQ(m5.size(), 1u);
  EXPECT_EQ(m5[0].answer, "3\\sqrt{2}");
  EXPECT_EQ(m5[0].id, "math/test/algebra/9001.json");
  EXPECT_EQ(m5[0].extra["level"], "2");
}

TEST(Adapters, Gsm8kAndGsm1k) {
  auto ps = adapter_load("gsm8k", sample("gsm8k.jsonl"), "train");
  ASSERT_EQ(ps.size(), 2u);
  EXPECT_EQ(ps[0].answer, "34");
  EXPECT_EQ(ps[1].answer, "1285");  // thousands separator removed
  EXPECT_EQ(ps[0].split, "train");
  EXPECT_EQ(ps[0].answer_type, "number");
  auto g1 = adapter_load("gsm1k", sample("gsm1k.jsonl"));
  ASSERT_EQ(g1.size(), 2u);
  EXPECT_EQ(g1[0].answer, "7");  // integer-typed native answer
  EXPECT_EQ(g1[1].answer, "135");
}

TEST(Adapters, GsmPlusLinksVariantsToTheirSeed) {
  auto ps = adapter_load("gsm_plus", sample("gsm_plus.jsonl"));
  ASSERT_EQ(ps.size(), 2u);
  EXPECT_EQ(ps[0].perturbation, "numerical substitution");
  EXPECT_EQ(ps[1].perturbation, "distractor insertion");
  EXPECT_EQ(ps[0].answer, "90");
  EXPECT_FALSE(ps[0].parent_id.empty());
  EXPECT_EQ(ps[0].parent_id, ps[1].parent_id);  // same seed question
  EXPECT_EQ(ps[0].extra["seed_answer"], "80");
}

TEST(Adapters, GeoQaAndUniGeoChoices) {
  auto ps = adapter_load("geoqa", sample("geoqa.json"));  // one pretty-printed record per file
  ASSERT_EQ(ps.size(), 1u);
  EXPECT_EQ(ps[0].answer, "B");
  EXPECT_EQ(ps[0].answer_type, "choice");
  EXPECT_EQ(ps[0].id, "geoqa/17");
  EXPECT_NE(ps[0].question.find("(B) 70°"), std::string::npos) << ps[0].question;
  EXPECT_EQ(ps[0].extra["choices"].size(), 4u);
  // the second UniGeo record has label 7 for 4 choices
  std::string err = error_of([] { adapter_load("unigeo", sample("unigeo.jsonl")); });
  EXPECT_NE(err.find("unigeo.jsonl:2"), std::string::npos) << err;
  EXPECT_NE(err.find("label"), std::string::npos) << err;
}

TEST(Adapters, TheoremQaTypesAndTheorem) {
  auto ps = adapter_load("theoremqa", sample("theoremqa.json"));  // a JSON array
  ASSERT_EQ(ps.size(), 3u);
  EXPECT_EQ(ps[0].answer, "15");
  EXPECT_EQ(ps[0].theorems, std::vector<std::string>{"Pythagorean theorem"});
  EXPECT_EQ(ps[1].answer, "(2, 3)");
  EXPECT_EQ(ps[1].answer_type, "list of integer");
  EXPECT_EQ(ps[2].answer, "False");
  EXPECT_EQ(ps[2].id, "theoremqa/prime_3");
}

TEST(Adapters, AgiEvalChoiceAndCloze) {
  auto ps = adapter_load("agieval", sample("agieval_math.jsonl"));
  ASSERT_EQ(ps.size(), 2u);
  EXPECT_EQ(ps[0].answer, "B");
  EXPECT_EQ(ps[0].answer_type, "choice");
  EXPECT_EQ(ps[1].answer, "720");
  EXPECT_EQ(ps[1].answer_type, "expression");
}

TEST(Adapters, OmniMath) {
  auto ps = adapter_load("omni_math", sample("omni_math.jsonl"));
  ASSERT_EQ(ps.size(), 1u);
  EXPECT_EQ(ps[0].answer, "15");
  EXPECT_EQ(ps[0].extra["difficulty"], "3.5");
  EXPECT_EQ(ps[0].extra["domain"][0], "Mathematics -> Number Theory -> Divisibility");
}

TEST(Adapters, MalformedLinesNameFileAndLine) {
  // line 3 (after a blank line 2) is truncated JSON
  std::string err = error_of([] { adapter_load("gsm8k", sample("gsm8k_bad.jsonl")); });
  EXPECT_NE(err.find("gsm8k_bad.jsonl:3"), std::string::npos) << err;
  EXPECT_NE(err.find("invalid JSON"), std::string::npos) << err;
  // line 2 parses but has no "#### N" final answer
  err = error_of([] { adapter_load("gsm8k", sample("gsm8k_noanswer.jsonl")); });
  EXPECT_NE(err.find("gsm8k_noanswer.jsonl:2"), std::string::npos) << err;
  EXPECT_NE(err.find("####"), std::string::npos) << err;
  // a record of the wrong dataset: the missing field is named
  err = error_of([] { adapter_load("theoremqa", sample("gsm1k.jsonl")); });
  EXPECT_NE(err.find("gsm1k.jsonl:1"), std::string::npos) << err;
  EXPECT_NE(err.find("Question"), std::string::npos) << err;
  EXPECT_THROW(adapter_load("nope", sample("gsm1k.jsonl")), tsft::UsageError);
  EXPECT_THROW(adapter_load("gsm8k", sample("does_not_exist.jsonl")), tsft::Error);
}

TEST(Problem, JsonlRoundTripAndErrors) {
  auto ps = adapter_load("gsm_plus", sample("gsm_plus.jsonl"));
  ps[0].theorems = {"multiplication"};
  ps[0].bindings = {{"rows", 8}};
  ps[0].cue = "context";
  ps[0].template_id = "t3";
  const auto path = (std::filesystem::temp_directory_path() / "tsft_problems_roundtrip.jsonl").string();
  problems_write_jsonl(path, ps);
  auto back = problems_read_jsonl(path);
  ASSERT_EQ(back.size(), ps.size());
  EXPECT_EQ(problem_to_json(back[0]), problem_to_json(ps[0]));
  EXPECT_EQ(problem_to_json(back[0])["template"], "t3");
  {
    std::ofstream f(path);
    f << R"({"id": "a", "question": "q", "answer": "1"})"
      << "\n"
      << R"({"id": "b", "theorems": "x"})"
      << "\n";
  }
  std::string err = error_of([&] { problems_read_jsonl(path); });
  EXPECT_NE(err.find(":2"), std::string::npos) << err;
  EXPECT_NE(err.find("theorems"), std::string::npos) << err;
  // extra.solution is text (annotate reads it as the reference solution); a number is refused by line.
  {
    std::ofstream f(path);
    f << R"({"id": "a", "question": "q", "answer": "1", "extra": {"solution": "s", "n": 3}})"
      << "\n"
      << R"({"id": "b", "question": "q", "answer": "1", "extra": {"solution": 42}})"
      << "\n";
  }
  err = error_of([&] { problems_read_jsonl(path); });
  EXPECT_NE(err.find(":2: field 'extra.solution' must be a string, got number"), std::string::npos) << err;
}
