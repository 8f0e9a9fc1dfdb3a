// Validation of teacher annotations: the theorem-arm form, catalog names, Map values, the answer.
#include <gtest/gtest.h>

#include "annotate/validate.hpp"
#include "catalog_fixture.hpp"

using namespace tsft::annotate;

namespace {
const std::string kProblem =
    "A baker fills 6 trays with 14 rolls each and sells 50 rolls. How many rolls are left?";
const std::string kValid = R"(Step 1.
Theorem: Total of equal groups. anything the teacher wrote
Cond: every tray holds the same number of rolls: holds.
Map: n = number of trays = 6
Map: k = rolls per tray = 14
6 * 14 = 84 rolls.
Step 2.
Theorem: remainder after removal.
Cond: 50 is at most 84: holds.
Map: T = 84 (from step 1)
Map: r = 50
84 - 50 = 34 rolls are left.
\boxed{34})";

AnnotationCheck check(const std::string& text, const std::string& gold = "34") {
  return validate_annotation(text, kProblem, gold, tsft_test::default_math_catalog());
}
std::string replace(std::string s, const std::string& a, const std::string& b) {
  return s.replace(s.find(a), a.size(), b);
}
}  // namespace

TEST(Validate, AcceptsAndNormalizesTheTheoremLines) {
  auto c = check(kValid);
  ASSERT_TRUE(c.ok) << c.reason << ": " << c.message;
  EXPECT_EQ(c.theorems, (std::vector<std::string>{"total_from_groups", "remaining_after_removal"}));
  EXPECT_NE(c.target.find("Theorem: Total of equal groups. If there are n groups with k items in each group"),
            std::string::npos)
      << c.target;
  EXPECT_EQ(c.target.find("anything the teacher wrote"), std::string::npos);
  EXPECT_EQ(c.target.substr(c.target.size() - 10), "\\boxed{34}");
  EXPECT_TRUE(check("```\n" + kValid + "\n```").ok) << "code fences are dropped";
  EXPECT_TRUE(check(replace(kValid, "\\boxed{34}", "$\\boxed{34}$.")).ok);
  EXPECT_TRUE(
      check(replace(kValid, "Total of equal groups.", "total of equal groups: if there are n groups")).ok)
      << "a ':' after the name, any case";
  EXPECT_EQ(check(replace(kValid, "Total of equal groups.", "Total of equal groupsX.")).reason,
            "unknown_theorem");
}

TEST(Validate, RejectsEachFailureWithItsReason) {
  auto c = check(kValid, "35");
  EXPECT_EQ(c.reason, "wrong_answer");
  EXPECT_NE(c.message.find("'34'"), std::string::npos) << c.message;
  c = check(replace(kValid, "Total of equal groups", "Grouping lemma"));
  EXPECT_EQ(c.reason, "unknown_theorem");
  EXPECT_NE(c.message.find("line 2: 'Grouping lemma'"), std::string::npos) << c.message;
  c = check(replace(kValid, "= 14", "= 15"));
  EXPECT_EQ(c.reason, "map_value_not_found");
  EXPECT_NE(c.message.find("'15'"), std::string::npos) << c.message;
  c = check(replace(kValid, "T = 84 (from step 1)", "T = 85 (from step 1)"));
  EXPECT_EQ(c.reason, "map_value_not_found") << "85 is in no earlier line";
  EXPECT_EQ(check("The answer is 34.").reason, "unparsable");
  EXPECT_EQ(check("6 * 14 = 84\n\\boxed{34}").reason, "unparsable");
  EXPECT_EQ(check(replace(kValid, "\\boxed{34}", "So the answer is \\boxed{34}")).reason, "unparsable");
  EXPECT_EQ(check(replace(kValid, "Cond: 50 is at most 84: holds.\n", "")).reason, "unparsable");
  EXPECT_EQ(check(replace(kValid, "Map: T = 84 (from step 1)\nMap: r = 50\n", "")).reason, "unparsable")
      << "a step needs a Map line";
  EXPECT_EQ(check(replace(kValid, "84 - 50 = 34 rolls are left.\n", "")).reason, "unparsable")
      << "a step needs a computation line";
}

TEST(Validate, MapValuesMatchNumbersByValueAndTextAfterSquashing) {
  EXPECT_TRUE(value_occurs("1200", "A bike costs $1,200."));
  EXPECT_TRUE(value_occurs("3.50", "it costs 3.5 dollars"));
  EXPECT_TRUE(value_occurs("12", "twelve eggs"));
  EXPECT_TRUE(value_occurs("12 dollars", "costs $12"));
  EXPECT_FALSE(value_occurs("5", "15 apples"));
  EXPECT_TRUE(value_occurs("x^2 - 7x + 10", "Find the root of $x^2-7x+10=0$."));
  EXPECT_TRUE(value_occurs("\\dfrac{3}{4}", "What is $\\frac{3}{4}+1$?"));
  EXPECT_FALSE(value_occurs("x^3", "Find the root of $x^2-7x+10=0$."));
}
