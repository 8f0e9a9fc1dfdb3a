#include <gtest/gtest.h>

#include "report/verdict.hpp"

using namespace tsft;

TEST(Verdict, ImprovesOnSyntheticNumbers) {
  EXPECT_EQ(verdict_improves(0.08, 0.03, 0.13, 0.02, "d").label, "supported");
  EXPECT_EQ(verdict_improves(-0.08, -0.13, -0.03, 0.02, "d").label, "not supported");
  EXPECT_EQ(verdict_improves(0.0, -0.01, 0.015, 0.02, "d").label, "not supported");  // precise null
  EXPECT_EQ(verdict_improves(0.02, -0.04, 0.08, 0.02, "d").label, "inconclusive");
  EXPECT_NE(verdict_improves(0.08, 0.03, 0.13, 0.02, "theorem - vanilla").reason.find("+8.0"), std::string::npos);
}

TEST(Verdict, EquivalenceOnSyntheticNumbers) {
  EXPECT_EQ(verdict_equivalent(0.01, -0.02, 0.03, 0.05, "d").label, "supported");
  EXPECT_EQ(verdict_equivalent(-0.2, -0.3, -0.1, 0.05, "d").label, "not supported");
  EXPECT_EQ(verdict_equivalent(-0.04, -0.09, 0.01, 0.05, "d").label, "inconclusive");
}

TEST(Verdict, UnequalTrainingFitMakesAComparisonInconclusive) {
  Verdict v = verdict_improves(0.08, 0.03, 0.13, 0.02, "d");
  EXPECT_EQ(verdict_require_equal_fit(v, 0.02, -0.03, 0.07, 0.10).label, "supported");   // fit alike
  EXPECT_EQ(verdict_require_equal_fit(v, -0.25, -0.35, -0.15, 0.10).label, "inconclusive");  // theorem fits worse
  EXPECT_EQ(verdict_require_equal_fit(v, 0.25, 0.15, 0.35, 0.10).label, "inconclusive");  // theorem fits better
  EXPECT_EQ(verdict_require_equal_fit(v, -0.08, -0.20, 0.04, 0.10).label, "supported");  // not clearly unequal
  Verdict n = verdict_improves(-0.08, -0.13, -0.03, 0.02, "d");
  EXPECT_EQ(verdict_require_equal_fit(n, -0.3, -0.4, -0.2, 0.10).label, "inconclusive");
  EXPECT_NE(verdict_require_equal_fit(n, -0.3, -0.4, -0.2, 0.10).reason.find("unequally"), std::string::npos);
}
