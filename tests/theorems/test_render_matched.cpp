// vanilla-matched (issue 12, neutral control): the padding is the problem's own question text (nothing
// beyond the prompt; never the "Known: ... Asked: ..." restatement, which is the theorem arm's bindings
// without role names), and its length is counted by the counter given (the run's tokenizer in an
// experiment), reaching the theorem target's count without passing it.
#include <gtest/gtest.h>

#include <sstream>

#include "theorems/render.hpp"
#include "util.hpp"

using namespace tsft;

TEST(RenderMatched, PadsWithTheQuestionToTheTheoremLengthUnderTheGivenCounter) {
  tsft::GenConfig c = tsft_test::small_config(50, 0, 0);
  c.theorems = {"linear_equation", "product_rule", "triangle_angle_sum"};
  World w(tsft_test::catalog(), c);
  // A word counter: unlike bytes / 4, so the test shows the counter is the one used.
  TokenCount words = [](std::string_view t) {
    std::istringstream in{std::string(t)};
    size_t n = 0;
    for (std::string x; in >> x;) n++;
    return n;
  };
  int checked = 0;
  for (long i = 0; i < 50; i++) {
    Problem p = w.realize(w.draw("train", i, 0));
    nlohmann::json j = problem_to_json(p);
    std::string m = render_target(j, Arm::kVanillaMatched, words),
                van = render_target(j, Arm::kVanilla, words);
    std::string thm = render_target(j, Arm::kTheorem, words);
    ASSERT_GE(m.size(), van.size());
    ASSERT_EQ(m.substr(m.size() - van.size()), van);
    EXPECT_EQ(m.find("Known:"), std::string::npos) << m;
    if (m.size() == van.size()) continue;  // vanilla already as long as the theorem target
    std::string pad = m.substr(0, m.size() - van.size() - 1);
    std::istringstream in(pad), q(j["question"].get<std::string>());
    std::set<std::string> qwords;
    for (std::string x; q >> x;) qwords.insert(x);
    for (std::string x; in >> x;) {
      bool prefix = false;  // the last word may be cut to land on the goal
      for (auto& qw : qwords) prefix |= qw.rfind(x, 0) == 0;
      EXPECT_TRUE(qwords.count(x) || prefix) << x;
    }
    EXPECT_LE(words(m), words(thm));
    EXPECT_GE(words(m) + 1, words(thm));
    checked++;
  }
  EXPECT_GT(checked, 20);
}
