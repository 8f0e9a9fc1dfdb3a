// problem_write_json (the fast writer gen uses) must give exactly problem_to_json(p).dump(): every
// split and probe type, both formats, plus strings that need escaping.
#include <gtest/gtest.h>

#include "util.hpp"

using namespace tsft;

namespace {

void expect_same(const Problem& p) {
  std::string fast;
  problem_write_json(p, fast);
  ASSERT_EQ(fast, problem_to_json(p).dump()) << p.id;
}

}  // namespace

TEST(ProblemJson, WriterMatchesNlohmannDump) {
  for (const char* format : {"open", "mc"}) {
    GenConfig c = tsft_test::small_config(300, 80, 40);
    c.format = format;
    c.inversion_fraction = 0.2;
    World w(tsft_test::catalog(), c);
    long n = 0;
    for (const char* split : {"train", "test", "counterfactual", "compositional"})
      for (long i = 0; i < 80; ++i) {
        Recipe r = w.draw(split, i, 0);
        Problem p = w.realize(r);
        p.id = std::string(split) + "-" + std::to_string(i);
        p.split = split;
        if (std::string(split) == "test") p.values_seen_in_train = (int)(i % 2);  // both values of the field
        expect_same(p);
        ++n;
        if (std::string(split) != "test") continue;
        for (auto& type : c.probes) {
          Recipe pr;
          for (int a = 0; a < 24; ++a)
            if (w.probe(r, type, a, pr)) {
              Problem q = w.realize(pr);
              q.parent_id = p.id;
              q.perturbation = type;
              expect_same(q);
              ++n;
              break;
            }
        }
      }
    EXPECT_GT(n, 800);
  }
  // Escapes: quotes, backslashes, named and numeric control characters, 0x7f and UTF-8 verbatim.
  Problem p;
  p.id = "x\"y\\z";
  p.question = std::string("a\b\f\n\r\t\x01\x1f\x7f end ") + "\xc3\xa9\xe2\x88\x9a";
  p.steps.push_back({"t", "n\n", "s", {"c1", "c\"2"}, {}, {"e"}});
  p.givens.push_back({"a", "AB", "3", "t", 1});
  p.bindings.push_back({"t", "c", "", {{"zeta", "r", "o", "", false}, {"alpha", "r2", "o2", "v", true}}});
  p.options = {"1", "2"};
  p.parent_id = "par";
  expect_same(p);
}
