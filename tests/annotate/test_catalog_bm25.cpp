// The competition-math catalog (strict loading, coverage of MATH's subjects and GSM8K rules) and BM25
// retrieval of candidate theorems on hand-made problems.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <regex>

#include "annotate/bm25.hpp"
#include "annotate/math_catalog.hpp"
#include "catalog_fixture.hpp"
#include "core/error.hpp"
#include "core/fs.hpp"
#include "test_util.hpp"

using namespace tsft::annotate;
using tsft_test::TempDir;

namespace {
std::string error_of(const std::string& toml_text) {
  TempDir t;
  tsft::fs_write_atomic(t / "c.toml", toml_text);
  try {
    math_catalog_load(t / "c.toml");
  } catch (const tsft::Error& e) {
    return e.what();
  }
  return "";
}
const char* kEntry = R"([[theorem]]
id = "a"
name = "Alpha rule"
domain = "algebra"
statement = "s."
premises = ["p"]
variables = ["x: y"]
)";
}  // namespace

TEST(MathCatalog, CoversEverySubjectWithSixtyOrMoreEntries) {
  const auto& c = tsft_test::default_math_catalog();
  EXPECT_GE(c.theorems.size(), 60u);
  std::map<std::string, int> by_domain;
  for (auto& t : c.theorems) by_domain[t.domain]++;
  for (auto& d : math_catalog_domains()) EXPECT_GE(by_domain[d], 5) << d;
  EXPECT_EQ(c.hash.size(), 16u);
  EXPECT_GE(c.find("pythagorean THEOREM"), 0);
  EXPECT_EQ(c.find("pythagorean_theorem"), c.find("Pythagorean theorem"));
  EXPECT_EQ(c.find("Pythagoras"), -1);
}

TEST(MathCatalog, StrictLoadingNamesFileLineAndKey) {
  EXPECT_EQ(error_of(kEntry), "");
  std::string e = error_of(std::string(kEntry) + "premise = [\"q\"]\n");
  EXPECT_NE(e.find("c.toml:8"), std::string::npos) << e;  // the line of the unknown key
  EXPECT_NE(e.find("unknown key 'premise'"), std::string::npos) << e;
  EXPECT_NE(e.find("did you mean premises"), std::string::npos) << e;
  e = error_of(std::string(kEntry) + "\n" + kEntry);
  EXPECT_NE(e.find("duplicate id 'a'"), std::string::npos) << e;
  EXPECT_NE(e.find("c.toml:9"), std::string::npos) << e;
  e = error_of(std::regex_replace(std::string(kEntry), std::regex("algebra"), "algebr"));
  EXPECT_NE(e.find("unknown domain 'algebr' (did you mean algebra?)"), std::string::npos) << e;
  e = error_of(std::regex_replace(std::string(kEntry), std::regex("premises = \\[\"p\"\\]"), "premises = 3"));
  EXPECT_NE(e.find("'premises' must be a non-empty array"), std::string::npos) << e;
  e = error_of(std::regex_replace(std::string(kEntry), std::regex("Alpha rule"), "Alpha. rule"));
  EXPECT_NE(e.find("contains '.'"), std::string::npos) << e;
  e = error_of("[other]\nx = 1\n");
  EXPECT_NE(e.find("unknown key 'other'"), std::string::npos) << e;
  e = error_of("[[theorem]]\nid = \"a\"\n");
  EXPECT_NE(e.find("missing 'name'"), std::string::npos) << e;
}

TEST(Bm25, TokensAndHandComputedScore) {
  EXPECT_EQ(bm25_tokens("The Roots of x^2-7x, boxes!"),
            (std::vector<std::string>{"root", "x", "power", "2", "7x", "boxe"}));
  // Two documents; query "cat": df = 1, N = 2 -> idf = ln(1 + 1.5 / 1.5) = ln 2; doc 0 has tf 2, length 3,
  // average length 2.5 -> score = ln2 * 2 * 2.2 / (2 + 1.2 * (0.25 + 0.75 * 3 / 2.5)).
  Bm25 b({"cat cat dog", "dog bird"});
  auto s = b.scores("cat");
  double want = std::log(2.0) * 2 * 2.2 / (2 + 1.2 * (0.25 + 0.75 * 3 / 2.5));
  EXPECT_NEAR(s[0], want, 1e-12);
  EXPECT_EQ(s[1], 0.0);
  auto top = b.top_k("dog bird", 5);
  ASSERT_EQ(top.size(), 2u);
  EXPECT_EQ(top[0].first, 1);
  EXPECT_TRUE(b.top_k("zebra", 5).empty());
}

// Hand-made problems, one or more per subject: the theorem a solver needs is among the top 5 candidates
// (annotate offers the teacher 8 by default).
TEST(Bm25, RetrievesTheNeededTheoremForHandMadeProblems) {
  const auto& c = tsft_test::default_math_catalog();
  Bm25 idx = catalog_index(c);
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"A right triangle has legs 5 and 12. What is the length of its hypotenuse?", "pythagorean_theorem"},
      {"How many ways can a committee of 3 be chosen from 8 people?", "combinations"},
      {"What is the remainder when 2^100 is divided by 7?", "modular_arithmetic|fermat_little"},
      {"Find the sum of the roots of the quadratic 2x^2 - 7x + 3 = 0.", "vieta_quadratic"},
      {"A bag has 4 red and 6 blue marbles. A marble is chosen at random. What is the probability it is red?",
       "classical_probability"},
      {"Janet buys 3 pounds of apples at $2 per pound. How much does she pay?", "unit_rate_cost"},
      {"A car travels at 60 miles per hour for 3 hours. How far does it go?", "distance_rate_time"},
      {"What is the least common multiple of 12 and 18 given their greatest common divisor is 6?",
       "gcd_lcm_product"},
      {"Compute the determinant of the matrix with rows (2, 3) and (1, 4).", "determinant_2x2"},
      {"What is the area of a circle with radius 4?", "circle_area_circumference"},
      {"Find the 20th term of the arithmetic sequence 2, 5, 8, ...", "arithmetic_sequence"},
      {"How many positive divisors does 72 have?", "prime_factorization_divisors"},
      {"What is the units digit of 7^2023?", "units_digit_cycle"},
      {"A shirt costs $40 and is on sale at 25 percent off. What is the sale price?", "percent_change"},
      {"Each interior angle of a regular hexagon measures how many degrees?", "polygon_angle_sum"},
  };
  int hits = 0;
  for (auto& [q, want] : cases) {
    auto top = idx.top_k(q, 5);
    bool hit = false;
    for (auto& [d, s] : top)  // `want`: the theorems that solve it, '|'-separated
      hit |= ("|" + want + "|").find("|" + c.theorems[d].id + "|") != std::string::npos;
    hits += hit;
    std::string got;
    for (auto& [d, s] : top) got += c.theorems[d].id + " ";
    EXPECT_TRUE(hit) << q << " -> top: " << got;
  }
  EXPECT_EQ(hits, (int)cases.size());
}
