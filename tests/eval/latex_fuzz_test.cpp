// LaTeX answer reproducers found by fuzz/fuzz_latex.cpp: malformed answers are never equal and never throw.
#include <gtest/gtest.h>

#include "eval/equivalence.hpp"
#include "eval/latex_parser.hpp"
#include "fuzz_regression.hpp"

namespace tsft::eval {
namespace {

// "\frac.2}{4}": a script argument starting with a number token ".2" was split as mpq_class("."), which
// threw std::invalid_argument out of the parser (and out of `tsft grade`).
TEST(LatexFuzz, FracOfLeadingDotNumber) {
  const std::string bytes = test::fuzz_regression_bytes("latex", "frac-dot-digit");
  const size_t nl = bytes.find('\n');
  ASSERT_NE(nl, std::string::npos);
  const std::string gold = bytes.substr(0, nl), pred = bytes.substr(nl + 1);
  EXPECT_NO_THROW(latex_parse("\\frac.2}{4}"));
  EXPECT_NO_THROW(latex_parse("\\frac.2{4}"));
  EXPECT_FALSE(equiv_strings(gold, pred));
  EXPECT_FALSE(equiv_strings("0.05", "\\frac.2{4}"));
}

// "2\n;;;;0\x7f\x7f\text{\tex}^" (out of memory; minimised by hand to ";0\text{x}^"): a unit in \text after a
// value is dropped with a following power, and a trailing "^" made that skip the final Eof. The parser
// then never saw the end (peek() clamps to the last token, here a number) and pushed factors forever.
TEST(LatexFuzz, UnitPowerAtTheEndKeepsEof) {
  for (const char* name : {"oom-text-power-drops-eof", "text-unit-power-at-end"}) {
    const std::string bytes = test::fuzz_regression_bytes("latex", name);
    const size_t nl = bytes.find('\n');
    ASSERT_NE(nl, std::string::npos);
    const std::string gold = bytes.substr(0, nl), pred = bytes.substr(nl + 1);
    EXPECT_FALSE(latex_parse(pred).has_value()) << name;
    EXPECT_FALSE(equiv_strings(gold, pred)) << name;
  }
  EXPECT_FALSE(latex_parse("0\\text{ cm}^").has_value());  // the "^" stays, so the parse fails
  EXPECT_TRUE(equiv_strings("3", "3\\text{ cm}^2"));       // the unit and its power are still dropped
  EXPECT_TRUE(equiv_strings("3, 4", "3\\text{ cm}^2, 4"));
}

}  // namespace
}  // namespace tsft::eval
