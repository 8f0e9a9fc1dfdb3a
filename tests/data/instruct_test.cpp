// The generic instruction stage's data (tsft instruct): chat examples from the corpus's arithmetic
// facts (drill and step kinds) and copy drills; never a problem, theorem or arm target format.
#include "data/instruct.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "core/error.hpp"
#include "test_util.hpp"

using namespace tsft::data;

namespace {

void write(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

}  // namespace

TEST(Instruct, FactsFromDrillAndStepLinesCopiesFromCopyDrills) {
  tsft_test::TempDir d;
  std::string corpus = d / "corpus.jsonl", out = d / "instruct.jsonl";
  write(corpus,
        R"({"kind":"statement","text":"Triangle angle sum. The angles add up to 180 degrees."}
{"kind":"drill","text":"2 + 3 = 5\n7 \\times 6 = 42"}
{"kind":"step","text":"180 - 20 - 35 = 125\n67 = 6 \\times 11 + 1"}
{"kind":"copy","text":"Copy: AB 12\nAB 12"}
{"kind":"example","text":"Consider the equation ... The result is 4."}
)");
  InstructStats st = instruct_write(corpus, out, 400, 3);
  EXPECT_EQ(st.written, 400);
  EXPECT_EQ(st.facts + st.copies, 400);
  EXPECT_GT(st.copies, 50);  // 1 in 4 on average
  std::set<std::string> answers;
  std::ifstream in(out);
  for (std::string line; std::getline(in, line);) {
    auto j = nlohmann::json::parse(line);
    ASSERT_EQ(j["messages"].size(), 2u);
    std::string user = j["messages"][0]["content"], reply = j["messages"][1]["content"];
    EXPECT_EQ(user.find("Triangle"), std::string::npos);
    EXPECT_EQ(user.find("equation"), std::string::npos);
    answers.insert(reply.substr(reply.rfind("\\boxed{")));
  }
  // Every fact whose right side is a number, and the copy; never the decomposition's right side.
  EXPECT_EQ(answers, (std::set<std::string>{"\\boxed{5}", "\\boxed{42}", "\\boxed{125}", "\\boxed{AB 12}"}));
}

TEST(Instruct, ErrorsNameTheCorpusAndLine) {
  tsft_test::TempDir d;
  std::string corpus = d / "corpus.jsonl", out = d / "instruct.jsonl";
  write(corpus, "{\"kind\":\"copy\",\"text\":\"Copy: A\\nA\"}\n{\"kind\":\"drill\",\"text\":\"no equals sign\"}\n");
  try {
    instruct_write(corpus, out, 10, 1);
    FAIL() << "expected an error";
  } catch (const tsft::Error& e) {
    EXPECT_NE(std::string(e.what()).find("corpus.jsonl:2"), std::string::npos) << e.what();
  }
  write(corpus, "{\"kind\":\"copy\",\"text\":\"Copy: A\\nA\"}\n");
  EXPECT_THROW(instruct_write(corpus, out, 10, 1), tsft::Error);  // no facts at all
  EXPECT_FALSE(std::ifstream(out).good());                       // nothing written on failure
}
