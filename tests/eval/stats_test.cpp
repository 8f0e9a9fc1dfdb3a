// Metrics against hand-computed values.
#include "eval/stats.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "core/error.hpp"

using namespace tsft::eval;

TEST(Stats, WilsonMatchesHandComputedValues) {
  // 8/10: centre (0.8 + z^2/20)/(1 + z^2/10), half-width z sqrt(0.016 + z^2/400)/(1 + z^2/10)
  Interval a = stats_wilson(8, 10);
  EXPECT_DOUBLE_EQ(a.estimate, 0.8);
  EXPECT_NEAR(a.lo, 0.4901624715, 1e-9);
  EXPECT_NEAR(a.hi, 0.9433178485, 1e-9);
  Interval b = stats_wilson(0, 10);  // the interval stays inside [0, 1] and is not degenerate
  EXPECT_NEAR(b.lo, 0.0, 1e-12);
  EXPECT_NEAR(b.hi, 0.2775327999, 1e-9);
  Interval c = stats_wilson(45, 100);
  EXPECT_NEAR(c.lo, 0.3561453798, 1e-9);
  EXPECT_NEAR(c.hi, 0.5475539700, 1e-9);
  Interval e = stats_wilson(0, 0);
  EXPECT_EQ(e.lo, 0);
  EXPECT_EQ(e.hi, 1);
  EXPECT_THROW(stats_wilson(3, 2), tsft::Error);
}

TEST(Stats, McNemarExactBinomial) {
  // b=1, c=7: n=8, P[X<=1] = (1 + 8)/256, two-sided p = 18/256
  EXPECT_NEAR(stats_mcnemar_exact(1, 7), 18.0 / 256.0, 1e-12);
  EXPECT_NEAR(stats_mcnemar_exact(7, 1), 18.0 / 256.0, 1e-12);
  // b=0, c=6: 2 / 64
  EXPECT_NEAR(stats_mcnemar_exact(0, 6), 2.0 / 64.0, 1e-12);
  EXPECT_DOUBLE_EQ(stats_mcnemar_exact(5, 5), 1.0);  // capped at 1
  EXPECT_DOUBLE_EQ(stats_mcnemar_exact(0, 0), 1.0);
  // b=2, c=10: n=12, P[X<=2] = (1 + 12 + 66)/4096
  EXPECT_NEAR(stats_mcnemar_exact(2, 10), 2 * 79.0 / 4096.0, 1e-12);
  McNemar m = stats_mcnemar({1, 1, 0, 0, 1}, {0, 1, 1, 0, 0});
  EXPECT_EQ(m.b, 2);
  EXPECT_EQ(m.c, 1);
  EXPECT_NEAR(m.p_value, 1.0, 1e-12);  // 2 * P[X<=1 | n=3] = 2 * 4/8
  EXPECT_THROW(stats_mcnemar({1}, {1, 0}), tsft::Error);
}

TEST(Stats, PairedBootstrapIsSeededAndBracketsTheDifference) {
  std::vector<uint8_t> a, b;
  for (int i = 0; i < 200; ++i) {
    a.push_back(i % 4 != 0);  // 75%
    b.push_back(i % 2 == 0);  // 50%
  }
  Interval r1 = stats_paired_bootstrap_diff(a, b, 2000, 7);
  Interval r2 = stats_paired_bootstrap_diff(a, b, 2000, 7);
  bool seed_matters = false;  // quantiles move in steps of 1/200, so compare several seeds
  for (uint64_t seed = 8; seed < 14; ++seed) {
    Interval r3 = stats_paired_bootstrap_diff(a, b, 2000, seed);
    seed_matters |= r3.lo != r1.lo || r3.hi != r1.hi;
  }
  EXPECT_DOUBLE_EQ(r1.estimate, 0.25);
  EXPECT_EQ(r1.lo, r2.lo);
  EXPECT_EQ(r1.hi, r2.hi);
  EXPECT_TRUE(seed_matters);
  EXPECT_LT(r1.lo, 0.25);
  EXPECT_GT(r1.hi, 0.25);
  // per-item differences have sd 0.8312 here; the 95% half-width is about 1.96*0.8312/sqrt(200) = 0.1152
  EXPECT_NEAR(r1.hi - r1.lo, 2 * 0.1152, 0.03);
  Interval same = stats_paired_bootstrap_diff(a, a, 500, 1);
  EXPECT_EQ(same.lo, 0);
  EXPECT_EQ(same.hi, 0);
}

TEST(Stats, MeanTIntervalAcrossSeeds) {
  Interval r = stats_mean_t_interval({0.5, 0.6, 0.7});
  EXPECT_NEAR(r.estimate, 0.6, 1e-12);
  EXPECT_NEAR(r.hi - r.estimate, 4.302652730 * 0.1 / std::sqrt(3.0), 1e-9);
  EXPECT_NEAR(r.estimate - r.lo, 0.2484137712, 1e-9);
  Interval one = stats_mean_t_interval({0.42});
  EXPECT_EQ(one.lo, 0.42);
  EXPECT_EQ(one.hi, 0.42);
  EXPECT_NEAR(stats_t_quantile_975(1), 12.706204736, 1e-8);
  EXPECT_NEAR(stats_t_quantile_975(60), 2.000297822, 1e-5);
  EXPECT_NEAR(stats_t_quantile_975(1000000), 1.9599663568, 1e-7);  // z + (z^3+z)/(4 df) + ...
}

TEST(Stats, DropRateAndPairConsistency) {
  PairStats s = stats_pairs({1, 1, 1, 1, 0}, {1, 0, 0, 1, 0});
  EXPECT_EQ(s.pairs, 5);
  EXPECT_DOUBLE_EQ(s.parent_acc, 0.8);
  EXPECT_DOUBLE_EQ(s.variant_acc, 0.4);
  EXPECT_NEAR(s.drop, 0.4, 1e-12);
  EXPECT_NEAR(s.relative_drop, 0.5, 1e-12);
  EXPECT_NEAR(s.conditional_drop, 0.5, 1e-12);  // 2 of the 4 right parents lost
  EXPECT_NEAR(s.consistency, 0.4, 1e-12);       // both right in 2 of 5 pairs
  PairStats g = stats_pairs({0, 0}, {1, 1});    // variants can beat parents: negative drop
  EXPECT_DOUBLE_EQ(g.drop, -1.0);
  EXPECT_DOUBLE_EQ(g.relative_drop, 0.0);
  EXPECT_THROW(stats_pairs({1}, {}), tsft::Error);
}

TEST(Stats, CopyRateCountsOnlyVariantsWithADifferentGold) {
  Interval r = stats_copy_rate({1, 0, 1, 0}, {1, 1, 0, 1});
  EXPECT_NEAR(r.estimate, 1.0 / 3.0, 1e-12);  // item 2 is excluded: its gold equals the parent's
  Interval w = stats_wilson(1, 3);
  EXPECT_DOUBLE_EQ(r.lo, w.lo);
  EXPECT_DOUBLE_EQ(r.hi, w.hi);
}

TEST(Stats, PremiseFlagRate) {
  Interval r = stats_flag_rate({1, 1, 0, 1});
  EXPECT_DOUBLE_EQ(r.estimate, 0.75);
  EXPECT_DOUBLE_EQ(r.lo, stats_wilson(3, 4).lo);
}
