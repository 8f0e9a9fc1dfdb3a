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
