// One test per equivalence category (equivalence.hpp), positive and negative cases, and the policies.
#include "eval/equivalence.hpp"

#include <gtest/gtest.h>

#include "eval/latex_parser.hpp"

using namespace tsft::eval;

#define EQ(g, p) EXPECT_TRUE(equiv_strings(g, p)) << (g) << "  vs  " << (p)
#define NE(g, p) EXPECT_FALSE(equiv_strings(g, p)) << (g) << "  vs  " << (p)

TEST(Equiv, Fractions) {
  EQ("\\frac{1}{2}", "\\frac12");
  EQ("\\frac{3}{4}", "\\dfrac34");
  EQ("1/3", "\\tfrac{1}{3}");
  EQ("\\frac{1}{2}", "0.5");
  EQ("-\\frac{1}{2}", "-1/2");
  EQ("\\frac{1}{2}", "\\frac{2}{4}");  // default policy: unreduced allowed
  EQ("1", "\\frac3{3}");
  NE("\\frac{1}{2}", "\\frac{1}{3}");
  EQ("7\\frac{3}{4}", "\\frac{31}{4}");  // mixed number
  EQ("\\frac{x+2}{7}", "\\frac{x}{7}+\\frac{2}{7}");
}

TEST(Equiv, UnreducedFractionPolicy) {
  EquivOptions strict;
  strict.allow_unreduced = false;
  EXPECT_FALSE(equiv_strings("\\frac{1}{2}", "\\frac{2}{4}", strict));
  EXPECT_TRUE(equiv_strings("\\frac{1}{2}", "\\frac{1}{2}", strict));
  EXPECT_TRUE(equiv_strings("\\frac{1}{2}", "0.5", strict));
}

TEST(Equiv, Radicals) {
  EQ("2\\sqrt{3}", "2 \\sqrt 3");
  EQ("2\\sqrt{2}", "\\sqrt{8}");
  EQ("\\frac{\\sqrt{2}}{2}", "\\frac{1}{\\sqrt{2}}");
  EQ("\\sqrt[3]{8}", "2");
  EQ("4.123105625617661", "\\sqrt{17}");
  NE("\\sqrt{2}", "1.414");  // 1.5e-4 relative: beyond the decimal tolerance
  NE("4", "4\\sqrt{2}");
}

TEST(Equiv, PowersAndImplicitMultiplication) {
  EQ("x^2+2x+1", "(x+1)^2");
  EQ("2^{10}", "1024");
  EQ("\\frac{1}{3x^{2/3}}", "\\frac{1}{3\\sqrt[3]{x}^2}");
  EQ("2ab", "2 \\cdot a \\cdot b");
  NE("x+2n+1", "x+1");
  NE("(a+5)(b+2)", "(+5)(b+2)");
}

TEST(Equiv, ConstantsAndComplex) {
  EQ("\\frac{9}{4}\\pi", "\\frac94\\pi");
  EQ("2\\pi", "6.2832");  // within 1e-4 relative and one unit in the 4th place
  NE("2\\pi", "6.28");    // 5e-4 relative
  EQ("e^{2}", "\\mathrm{e}^2");
  EQ("\\frac34i", "\\frac{3}{4}i");
  EQ("(1+i)^2", "2i");
  NE("1+i", "1-i");
}

TEST(Equiv, FunctionsAndIdentities) {
  EQ("\\tan^2(y)+1", "\\sec^2(y)");
  EQ("2 \\sin b \\cos a", "\\sin(a+b) - \\sin(a-b)");
  EQ("\\log_2 8", "3");
  NE("\\sin x", "\\cos x");
  NE("f(x)", "f(y)");
}

TEST(Equiv, DecimalsAndTolerance) {
  EQ("\\frac{1}{3}", "0.333333");
  NE("\\frac{1}{3}", "0.333");
  NE("\\frac{1}{12}", "0.0833");
  EQ("\\frac{8}{3}", "2.6667");
  EQ("1.5", "1.50");
  NE("16386.16", "16386.17");  // two decimals are compared exactly
  NE("10", "10.5");
  EQ("0.4", ".4");
  EquivOptions loose;
  loose.decimal_rel_tol = 1e-2;
  EXPECT_TRUE(equiv_strings("\\frac{1}{3}", "0.333", loose));
}

TEST(Equiv, NumberFormatting) {
  EQ("1000", "1,000");
  EQ("1000000", "1,000,000");
  EQ("11111111100", "11,\\! 111,\\! 111,\\! 100");
  EQ("14916", "14{,}916");
  EQ("1000", "1 000");
  EQ("-5", "- 5");
  EQ("2", "2.0");
  NE("32349", "32, 349");  // a list, not a thousands separator
}

TEST(Equiv, DecimalCommaPolicy) {
  NE("1.22", "1,22");
  EquivOptions dc;
  dc.decimal_comma = true;
  EXPECT_TRUE(equiv_strings("1.22", "1,22", dc));
  EXPECT_TRUE(equiv_strings("1000", "1,000", dc));  // a valid thousands group stays one
}

TEST(Equiv, ScientificNotation) {
  EQ("2500", "2.5\\times10^{3}");
  EQ("3\\times10^{8}", "300000000");
  EQ("1.5\\times10^{-3}", "0.0015");
  EQ("6.02\\times10^{23}", "6.02\\cdot10^{23}");
  EQ("0.0015", "1.5e-3");
  NE("2500", "2.5\\times10^{4}");
}

TEST(Equiv, PercentPolicies) {
  EQ("50\\%", "0.5");
  EQ("50\\%", "50");  // default "either"
  EQ("28\\%", "28 percent");
  EQ("28\\%", "28 pct");
  EquivOptions divide;
  divide.percent = PercentPolicy::Divide;
  EXPECT_FALSE(equiv_strings("50\\%", "50", divide));
  EXPECT_TRUE(equiv_strings("50\\%", "0.5", divide));
  EquivOptions strip;
  strip.percent = PercentPolicy::Strip;
  EXPECT_TRUE(equiv_strings("50\\%", "50", strip));
  EXPECT_FALSE(equiv_strings("50\\%", "0.5", strip));
}

TEST(Equiv, DegreesUnitsAndText) {
  EQ("90", "90^\\circ");
  EQ("90", "90^{\\circ}");
  EQ("90", "90 degrees");
  NE("\\frac{\\pi}{2}", "90^\\circ");
  EQ("10", "10\\text{ cm}");
  EQ("15", "15\\mbox{ cm}^2");
  EQ("125", "125\\textnormal{ miles}");
  EQ("5.50", "\\$5.50");
  EQ("\\text{Evelyn}", "Evelyn");
  EQ("\\text{yes}", "Yes");
  NE("d", "\\text{E}");
  EQ("3", "\\text{three}");
}

TEST(Equiv, Intervals) {
  EQ("[1,2)", "[1, 2)");
  NE("[1,2)", "(1,2)");
  NE("(1,2)", "[1,2]");
  EQ("(-\\infty, 3]", "(-\\infty,3]");
  EQ("(\\frac{3}{5},\\frac{8}{3}]", "(0.6,2.6667]");
  EQ("[-1, -\\frac{1}{2}) \\cup (0, 1)", "(0,1) \\cup [-1, -\\tfrac12)");
  NE("[-3,2]", "(-\\infty, -3] \\cup [2, \\infty)");
  EQ("(-\\infty,\\infty)", "\\mathbb{R}");
  EQ("[-2,7]", "x \\in [-2,7]");
  EQ("-2 \\le x \\le 7", "x \\in [-2,7]");
  EQ("0<f(x)<1", "(0,1)");
  EQ("x > 5", "(5, \\infty)");
  // a relation in one variable against a union: membership at the critical points
  EQ("1\\leq|z|\\leq \\frac{3}{2}", "z \\in \\left[-\\frac{3}{2}, -1\\right] \\cup \\left[1, \\frac{3}{2}\\right]");
  NE("1\\leq|z|\\leq \\frac{3}{2}", "[-\\frac{3}{2}, -1) \\cup [1, \\frac{3}{2}]");
  EQ("x^2 < 4", "(-2, 2)");
  EQ("x^2 \\geq 4", "(-\\infty, -2] \\cup [2, \\infty)");
  NE("x^2 > 4", "(-\\infty, -2] \\cup [2, \\infty)");
}

TEST(Equiv, TuplesAreOrderedSetsAreNot) {
  EQ("(1,2)", "\\left( 1, 2 \\right)");
  NE("(1,2)", "(2,1)");
  NE("(1,2,3)", "(1,2)");
  EQ("(1,\\frac{9}{2})", "(1,4.5)");
  EQ("\\{1,2\\}", "\\{2,1\\}");
  EQ("\\{1\\pm\\sqrt{5},-2\\}", "\\{-2, 1+\\sqrt5, 1-\\sqrt5\\}");
  EQ("(37,3,3,13),(17,3,3,7)", "(17,3,3,7), (37,3,3,13), (17,3,3,7)");
  NE("(37,3,3),(17,3,3,7)", "(17,3,3,7), (37,3,3,13)");
}

TEST(Equiv, SolutionLists) {
  EQ("1, 2", "1 and 2");
  EQ("1, 2", "1 or 2");
  EQ("-2,1", "1,-2");  // unordered by default
  EQ("6 \\text{ and } 8", "6,8");
  EQ("p=5,q=2;p=7,q=2", "(5,2),(7,2)");
  EQ("a_3 = 2, a_{37} = 19", "a_{37} = 19, \\quad a_3 = 2");
  EQ("x = -5,\\ p = \\frac{14}{3}", "-5, \\frac{14}{3}");
  EQ("-12;-11;-10", "\\{-10, -11, -12\\}");
  NE("19, 46, 82", "21, 36, 82");
  EquivOptions ordered;
  ordered.ordered_lists = true;
  EXPECT_FALSE(equiv_strings("10, 4, -2", "4, 10, -2", ordered));
}

TEST(Equiv, PlusMinus) {
  EQ("1 \\pm \\sqrt{19}", "1+\\sqrt{19}, 1-\\sqrt{19}");
  EQ("\\pm 2021", "\\{-2021, 2021\\}");
  NE("\\pm 2021", "2021");
  EQ("x = \\frac{-1 \\pm \\sqrt{13}}{4}", "\\frac{-1+\\sqrt{13}}{4}, \\frac{-1-\\sqrt{13}}{4}");
}

TEST(Equiv, Matrices) {
  EQ("\\begin{pmatrix}1 & 2 \\\\ 3 & 4\\end{pmatrix}",
     "\\left[\\begin{array}{cc}1 & 2 \\\\3 & 4\\end{array}\\right]");
  EQ("\\begin{pmatrix}1\\\\2\\end{pmatrix}", "\\begin{bmatrix}1\\\\2\\end{bmatrix}");
  NE("\\begin{pmatrix}1 & 2 \\\\ 3 & 4\\end{pmatrix}", "\\begin{pmatrix}1 & 2 \\\\ 3 & 5\\end{pmatrix}");
  NE("\\begin{pmatrix}1 & 2\\end{pmatrix}", "\\begin{pmatrix}1 \\\\ 2\\end{pmatrix}");
  EQ("\\begin{pmatrix}6 & 8 \\\\ 10 & 12\\end{pmatrix}",
     "\\begin{pmatrix}1 & 2 \\\\ 3 & 4\\end{pmatrix} + \\begin{pmatrix}5 & 6 \\\\ 7 & 8\\end{pmatrix}");
  EQ("\\begin{pmatrix}7 & 10 \\\\ 15 & 22\\end{pmatrix}",
     "\\begin{pmatrix}1 & 2 \\\\ 3 & 4\\end{pmatrix}\\begin{pmatrix}1 & 2 \\\\ 3 & 4\\end{pmatrix}");
  EQ("\\begin{pmatrix}2 & 4\\end{pmatrix}", "2\\begin{pmatrix}1 & 2\\end{pmatrix}");
}

TEST(Equiv, Equations) {
  EQ("3", "x=3");
  EQ("k=1", "1");
  EQ("f(x)=1", "1");
  EQ("\\frac{NO}{BO}=\\frac{1}{\\sqrt{6}}", "\\frac{1}{\\sqrt{6}}");
  NE("7 = 11a+c", "11a+c");
  NE("a + 3z = 0", "0");
  EQ("34x+45y-20z+100=0", "-34x-45y+20z-100=0");
  EQ("2x+4y-3=0", "y=-\\frac{1}{2}x+\\frac{3}{4}");
  EQ("x^2/4 + y^2/3 = 1", "x^2/16 + y^2/12 = 1/4");
  NE("5x - 7y + 11z + 4 = 0", "x + y - z + 2 = 0");
  EQ("(p,q)=(3,2)", "(3,2)");
  EQ("x = 11", "x = 5+5+1 = 7 = 11");
  EQ("11", "x \\approx 11");
  EQ("\\frac{10}{9}", "\\frac{1}{2} \\$ = \\frac{10}{9}");
}

TEST(Equiv, InequalitiesIncludingFlippedDirection) {
  EQ("x >= 5", "x \\geq 5");
  EQ("x \\leq 5", "5 \\geq x");
  EQ("x < 1", "-x > -1");
  EQ("x <= 1", "-x >= -1");
  EQ("x != 3", "x \\neq 3");
  NE("x > 5", "x < 5");
  NE("x \\geq 5", "x \\leq 5");
  NE("x < 1", "x > -1");
  EQ("f(2) < f(1) < f(4)", "f(2) < f(1) < f(4)");
  EQ("a > b > c", "c < b < a");
}

TEST(Equiv, RatiosBaseNAndOpaqueOperators) {
  EQ("7:32", "S_{MBCN}:S=7:32");
  NE("12:00", "1:00");
  EQ("204_5", "204_5");
  NE("1112112_3", "1112122_3");
  EQ("F_n = \\sum_{k=0}^{n-1} F_k F_{n-k-1}", "F_n = \\sum_{k=0}^{n-1} F_{n-k-1} F_k");
  NE("F_n = \\sum_{k=0}^{n-1} F_k F_{n-k-1}", "F_n = \\sum_{k=0}^{n-2} F_k F_{n-k-2}");
}

TEST(Equiv, UnparseableFallsBackToNormalisedText) {
  EQ("\\text{The midpoints form a regular hexagon}", "\\text{The midpoints form a regular hexagon}");
  NE("", "");
  EXPECT_FALSE(latex_parse("\\frac{1}{").has_value());
  EXPECT_FALSE(latex_parse("(1,2").has_value());
  EXPECT_EQ(equiv_normalize_text("\\left( \\dfrac{1}{2} \\right)"), "(\\frac12)");
}
