#include <gtest/gtest.h>

#include <cmath>

#include "core/error.hpp"
#include "theorems/exact.hpp"

using tsft::Exact;
using tsft::exact_parse_latex;
using tsft::exact_to_latex;

TEST(Exact, CanonicalLatex) {
  EXPECT_EQ(exact_to_latex(Exact(7)), "7");
  EXPECT_EQ(exact_to_latex(Exact(0)), "0");
  EXPECT_EQ(exact_to_latex(Exact(-4)), "-4");
  EXPECT_EQ(exact_to_latex(Exact::frac(14, 6)), "\\frac{7}{3}");
  EXPECT_EQ(exact_to_latex(Exact::frac(-7, 3)), "-\\frac{7}{3}");
  EXPECT_EQ(exact_to_latex(Exact::sqrt_of(Exact(50))), "5\\sqrt{2}");
  EXPECT_EQ(exact_to_latex(Exact::sqrt_of(Exact(2))), "\\sqrt{2}");
  EXPECT_EQ(exact_to_latex(Exact::sqrt_of(Exact::frac(3, 4))), "\\frac{\\sqrt{3}}{2}");
  EXPECT_EQ(exact_to_latex(Exact::sqrt_of(Exact::frac(2, 9)) * Exact(5)), "\\frac{5\\sqrt{2}}{3}");
  EXPECT_EQ(exact_to_latex(Exact::pi(12)), "12\\pi");
  EXPECT_EQ(exact_to_latex(Exact::pi()), "\\pi");
  EXPECT_EQ(exact_to_latex(Exact::pi(3) / Exact(2)), "\\frac{3\\pi}{2}");
  EXPECT_EQ(exact_to_latex(Exact(5) / Exact::pi()), "\\frac{5}{\\pi}");
  EXPECT_EQ(exact_to_latex(Exact::sqrt_of(Exact(49))), "7");
}

TEST(Exact, Arithmetic) {
  Exact r2 = Exact::sqrt_of(Exact(2)), r3 = Exact::sqrt_of(Exact(3));
  EXPECT_EQ(r2 * r2, Exact(2));
  EXPECT_EQ(r2 * r3, Exact::sqrt_of(Exact(6)));
  EXPECT_EQ(Exact(6) / r3, Exact(2) * r3);  // rationalised
  EXPECT_EQ(r2 + r2, Exact::sqrt_of(Exact(8)));
  EXPECT_EQ(r2 - r2, Exact(0));
  EXPECT_THROW(r2 + Exact(1), tsft::Error);  // unlike terms never round silently
  EXPECT_THROW(Exact(1) / Exact(0), tsft::Error);
  EXPECT_THROW(Exact::sqrt_of(Exact(-4)), tsft::Error);
  EXPECT_EQ(tsft::exact_pow(Exact::frac(2, 3), 3), Exact::frac(8, 27));
  EXPECT_NEAR((Exact::pi(2) * Exact(3)).to_double(), 6 * M_PI, 1e-12);
  EXPECT_NEAR((Exact(5) * r2).to_double(), 5 * std::sqrt(2.0), 1e-12);
  auto [k, m] = tsft::exact_split_square(mpz_class(72));
  EXPECT_EQ(k, 6);
  EXPECT_EQ(m, 2);
}

TEST(Exact, OrderingIsExact) {
  Exact a = Exact::sqrt_of(Exact(50)), b = Exact(7);  // 7.071 > 7
  EXPECT_TRUE(b < a);
  EXPECT_FALSE(a < b);
  EXPECT_TRUE(-a < -b);
  EXPECT_TRUE(Exact::frac(1, 3) < Exact::frac(1, 2));
  EXPECT_TRUE(Exact(3) < Exact::pi());
}

TEST(Exact, TextForm) {
  EXPECT_EQ(tsft::exact_to_text(Exact::frac(5, 2)), "2.5");
  EXPECT_EQ(tsft::exact_to_text(Exact::frac(-1, 8)), "-0.125");
  EXPECT_EQ(tsft::exact_to_text(Exact::frac(1, 3)), "\\frac{1}{3}");
  EXPECT_EQ(tsft::exact_to_text(Exact::frac(1, 16)), "\\frac{1}{16}");  // 4 places: kept as a fraction
  EXPECT_EQ(tsft::exact_to_text(Exact(12)), "12");
  EXPECT_EQ(tsft::exact_kind(Exact::pi(3)), "pi");
  EXPECT_EQ(tsft::exact_kind(Exact::sqrt_of(Exact(8))), "radical");
  EXPECT_EQ(tsft::exact_kind(Exact::frac(1, 2)), "rational");
  EXPECT_EQ(tsft::exact_kind(Exact(3)), "integer");
}

TEST(Exact, ParseRoundTripAndVariants) {
  std::vector<Exact> xs = {Exact(7), Exact(-3), Exact::frac(7, 3), Exact::frac(-7, 3), Exact::sqrt_of(Exact(50)),
                           Exact::sqrt_of(Exact::frac(3, 4)), Exact::pi(12), Exact::pi(3) / Exact(2),
                           Exact::sqrt_of(Exact::frac(2, 9)) * Exact(5), Exact(5) / Exact::pi(), Exact::pi()};
  for (auto& x : xs) {
    auto y = exact_parse_latex(exact_to_latex(x));
    ASSERT_TRUE(y.has_value()) << exact_to_latex(x);
    EXPECT_EQ(*y, x) << exact_to_latex(x);
  }
  EXPECT_EQ(*exact_parse_latex("\\dfrac{14}{6}"), Exact::frac(7, 3));
  EXPECT_EQ(*exact_parse_latex("2.5"), Exact::frac(5, 2));
  EXPECT_EQ(*exact_parse_latex("0.08"), Exact::frac(2, 25));  // leading zeros are decimal, not octal
  EXPECT_EQ(*exact_parse_latex("09"), Exact(9));
  EXPECT_EQ(*exact_parse_latex("64\\pi^{3}"), Exact::pi(64) * Exact::pi() * Exact::pi());  // exponent on pi only
  EXPECT_EQ(*exact_parse_latex("7/3"), Exact::frac(7, 3));
  EXPECT_EQ(*exact_parse_latex("5 \\sqrt 2"), Exact::sqrt_of(Exact(50)));
  EXPECT_EQ(*exact_parse_latex("2\\cdot 3"), Exact(6));
  EXPECT_EQ(*exact_parse_latex("\\sqrt{8}"), Exact::sqrt_of(Exact(8)));
  EXPECT_FALSE(exact_parse_latex("").has_value());
  EXPECT_FALSE(exact_parse_latex("\\text{cannot be determined}").has_value());
  EXPECT_FALSE(exact_parse_latex("1 + \\sqrt{2}").has_value());  // not a single term
  EXPECT_FALSE(exact_parse_latex("\\frac{1}{0}").has_value());
  EXPECT_STREQ(tsft::kCannotBeDetermined, "\\text{cannot be determined}");
}
