// Every decision rule of the pre-declared claims on synthetic numbers, degenerate cases included.
#include <gtest/gtest.h>

#include <cmath>

#include "report/claims.hpp"

using namespace tsft;

namespace {
Effect E(double est, double lo, double hi, int runs = 3, long n = 300) {
  return {est, lo, hi, runs, n};
}
Guards fair() {
  Guards g;
  g.fit_measured = true;
  g.fit = E(0.01, -0.04, 0.05);
  g.min_fit_items = 50;
  return g;
}
}  // namespace

TEST(ClaimRules, ExceedsNeedsTheWholeIntervalBeyondTheMargin) {
  EXPECT_EQ(rule_exceeds(E(0.12, 0.08, 0.16), 0.05, "d").label, "supported");
  // Above 0 but inside the margin: not supported (no relevant gain).
  Decision in = rule_exceeds(E(0.03, 0.01, 0.045), 0.05, "d");
  EXPECT_EQ(in.label, "not supported");
  EXPECT_NE(in.reason.find("no gain beyond"), std::string::npos) << in.reason;
  // Above 0, reaching past the margin: not yet supported.
  EXPECT_EQ(rule_exceeds(E(0.06, 0.01, 0.11), 0.05, "d").label, "inconclusive");
  EXPECT_EQ(rule_exceeds(E(0.0, -0.1, 0.1), 0.05, "d").label, "inconclusive");
  Decision opp = rule_exceeds(E(-0.2, -0.3, -0.1), 0.05, "d");
  EXPECT_EQ(opp.label, "not supported");
  EXPECT_NE(opp.reason.find("opposite"), std::string::npos);
  // Boundary: lo exactly at the margin is not "beyond" it.
  EXPECT_EQ(rule_exceeds(E(0.1, 0.05, 0.15), 0.05, "d").label, "inconclusive");
}

TEST(ClaimRules, MarginsAreSymmetric) {
  // The same distances from the margin give mirrored answers for non-inferiority (-m) and superiority (+m).
  EXPECT_EQ(rule_not_worse(E(0.0, -0.04, 0.04), 0.05, "d").label, "supported");
  EXPECT_EQ(rule_not_worse(E(-0.1, -0.14, -0.06), 0.05, "d").label, "not supported");
  EXPECT_EQ(rule_not_worse(E(-0.05, -0.09, -0.01), 0.05, "d").label, "inconclusive");
  EXPECT_EQ(rule_exceeds(E(0.1, 0.06, 0.14), 0.05, "d").label, "supported");
  EXPECT_EQ(rule_exceeds(E(0.0, -0.04, 0.04), 0.05, "d").label, "not supported");
  EXPECT_EQ(rule_exceeds(E(0.05, 0.01, 0.09), 0.05, "d").label, "inconclusive");
}

TEST(ClaimRules, NoItemsIsInconclusive) {
  EXPECT_EQ(rule_exceeds(E(0, 0, 0, 3, 0), 0.05, "d").label, "inconclusive");
  EXPECT_EQ(rule_not_worse(E(0, 0, 0, 0, 100), 0.05, "d").label, "inconclusive");
  Effect nan = E(std::nan(""), std::nan(""), std::nan(""));
  EXPECT_EQ(rule_exceeds(nan, 0.05, "d").label, "inconclusive");
  EXPECT_NE(rule_exceeds(E(0, 0, 0, 3, 0), 0.05, "d").reason.find("not measured"), std::string::npos);
}

TEST(ClaimRules, AllZeroIsNeverSupported) {
  // Nothing learned: every accuracy 0, every difference 0 with a zero-width interval.
  Effect z = E(0, 0, 0);
  EXPECT_EQ(rule_exceeds(z, 0.05, "d").label, "not supported");
  EXPECT_EQ(rule_exceeds(z, 0.0, "d").label, "not supported");
  Decision c3 = rule_recovers(z, z, 0.05, 0.8, "fraction");
  EXPECT_EQ(c3.label, "inconclusive");
  EXPECT_NE(c3.reason.find("no gain to recover"), std::string::npos);
}

TEST(ClaimRules, RecoversNeedsAGainAboveTheFloor) {
  EXPECT_EQ(rule_recovers(E(0.02, -0.01, 0.05), E(1, 0.9, 1.1), 0.05, 0.8, "f").label, "inconclusive");
  EXPECT_EQ(rule_recovers(E(0.3, 0.25, 0.35), E(0.95, 0.85, 1.05), 0.05, 0.8, "f").label, "supported");
  EXPECT_EQ(rule_recovers(E(0.3, 0.25, 0.35), E(0.4, 0.3, 0.5), 0.05, 0.8, "f").label, "not supported");
  EXPECT_EQ(rule_recovers(E(0.3, 0.25, 0.35), E(0.8, 0.6, 1.0), 0.05, 0.8, "f").label, "inconclusive");
  EXPECT_EQ(rule_recovers(E(0.3, 0.25, 0.35), E(0, 0, 0, 0, 0), 0.05, 0.8, "f").label, "inconclusive");
}

TEST(ClaimRules, BothRequiresBoth) {
  Decision s{"supported", "a"}, n{"not supported", "b"}, i{"inconclusive", "c"};
  EXPECT_EQ(rule_both(s, s).label, "supported");
  EXPECT_EQ(rule_both(s, i).label, "inconclusive");
  EXPECT_EQ(rule_both(i, n).label, "not supported");
  EXPECT_EQ(rule_both(s, n).label, "not supported");
}

TEST(ClaimGuards, CappedWhileImprovingIsInconclusive) {
  Guards g = fair();
  g.capped_improving = {"theorem:mlp (seed 1)"};
  Decision d = apply_guards({"supported", "x"}, g, 0.10, 3);
  EXPECT_EQ(d.label, "inconclusive");
  EXPECT_NE(d.reason.find("still improving"), std::string::npos);
}

TEST(ClaimGuards, EveryFailingGuardIsNamed) {
  // An arm still improving at the cap AND an unequal fit: the reason names both (the cap alone hid the fit).
  Guards g = fair();
  g.capped_improving = {"vanilla-all-b2s1"};
  g.fit = E(-0.17, -0.27, -0.07);
  Decision d = apply_guards({"not supported", "x"}, g, 0.10, 5);
  EXPECT_EQ(d.label, "inconclusive");
  EXPECT_NE(d.reason.find("still improving"), std::string::npos) << d.reason;
  EXPECT_NE(d.reason.find("; and the training-problem accuracy difference"), std::string::npos) << d.reason;
  EXPECT_NE(d.reason.find("unequal fit"), std::string::npos) << d.reason;
  // An equal fit beside a capped arm is stated, and does not rescue the verdict.
  g.fit = E(0.01, -0.03, 0.05);
  d = apply_guards({"supported", "x"}, g, 0.10, 5);
  EXPECT_EQ(d.label, "inconclusive");
  EXPECT_NE(d.reason.find("(equal fit); but vanilla-all-b2s1 stopped"), std::string::npos) << d.reason;
}

TEST(ClaimGuards, FitMismatchIsIntervalBased) {
  Guards g = fair();
  EXPECT_EQ(apply_guards({"supported", "x"}, g, 0.10, 3).label, "supported");
  g.fit = E(-0.08, -0.15, -0.02);  // the round-1 case that passed the old gate
  Decision d = apply_guards({"supported", "x"}, g, 0.10, 3);
  EXPECT_EQ(d.label, "inconclusive");
  EXPECT_NE(d.reason.find("unequal fit"), std::string::npos);
  g.fit = E(0.0, -0.2, 0.2);  // too few fit items: wider than the margin
  d = apply_guards({"not supported", "x"}, g, 0.10, 3);
  EXPECT_EQ(d.label, "inconclusive");
  EXPECT_NE(d.reason.find("too few fit items"), std::string::npos);
  g.fit = E(0.05, -0.03, 0.13);  // narrower than the margin, straddles 0, pokes out: not shown equal
  d = apply_guards({"supported", "x"}, g, 0.10, 3);
  EXPECT_EQ(d.label, "inconclusive");
  EXPECT_NE(d.reason.find("equal fit not shown"), std::string::npos) << d.reason;
  g.fit = E(-0.17, -0.28, -0.06);  // wider than the margin but excluding 0: unequal, not "too few"
  d = apply_guards({"supported", "x"}, g, 0.10, 3);
  EXPECT_NE(d.reason.find("excludes 0 (unequal fit)"), std::string::npos) << d.reason;
  g.fit_measured = false;
  EXPECT_EQ(apply_guards({"supported", "x"}, g, 0.10, 3).label, "inconclusive");
}

TEST(ClaimGuards, ArmsThatDidNotLearnAreNotCompared) {
  // All-zero smoke case: 0 vs 0 is "non-inferior" by the numbers, but neither arm learned anything.
  Guards g = fair();
  g.fit = E(0, 0, 0);
  g.unfit = {"theorem:all (0%)", "vanilla:all (0%)"};
  Decision d = apply_guards(rule_not_worse(E(0, 0, 0), 0.05, "d"), g, 0.10, 1);
  EXPECT_EQ(d.label, "inconclusive");
  EXPECT_NE(d.reason.find("did not learn"), std::string::npos);
  // Too few fit items: a zero-width interval from 4 items does not show equal fit.
  g = fair();
  g.fit = E(0, 0, 0, 1, 4);
  d = apply_guards({"supported", "x"}, g, 0.10, 1);
  EXPECT_EQ(d.label, "inconclusive");
  EXPECT_NE(d.reason.find("too few"), std::string::npos);
}

TEST(ClaimGuards, OneRunIsExploratory) {
  Decision d = apply_guards({"supported", "x"}, fair(), 0.10, 1);
  EXPECT_TRUE(d.exploratory);
  EXPECT_EQ(d.shown(), "supported - exploratory (1 run)");
  EXPECT_FALSE(apply_guards({"supported", "x"}, fair(), 0.10, 3).exploratory);
  EXPECT_TRUE(apply_guards({"supported", "x"}, fair(), 0.10, 0).exploratory);
}

TEST(ClaimStats, RunsAreTheUnit) {
  // Three runs: Student-t over the per-run effects (the within-run interval is not used).
  Effect e = summarize_runs({0.1, 0.2, 0.3}, E(0.2, 0.19, 0.21, 1), 300);
  EXPECT_NEAR(e.est, 0.2, 1e-12);
  EXPECT_NEAR(e.hi - e.est, 4.302652729911275 * 0.1 / std::sqrt(3.0), 1e-9);
  EXPECT_EQ(e.runs, 3);
  // One run: that run's clustered bootstrap interval.
  Effect one = summarize_runs({0.2}, E(0.2, 0.1, 0.3, 1), 100);
  EXPECT_EQ(one.runs, 1);
  EXPECT_DOUBLE_EQ(one.lo, 0.1);
  EXPECT_FALSE(summarize_runs({}, E(0, 0, 0, 1), 0).defined());
}

namespace {
double acc_diff(const std::vector<double>& s) {
  return s[2] > 0 ? (s[0] - s[1]) / s[2] : std::nan("");
}
}  // namespace

TEST(ClaimStats, ClusterBootstrapIsWiderThanTheItemBootstrapForCorrelatedVariants) {
  // 40 parents with 5 identical variants each (A right, B wrong on half the parents): resampling
  // parents sees 40 independent units, resampling items would see 200.
  Clustered by_parent, by_item;
  for (int p = 0; p < 40; p++) {
    double a = p % 2;
    by_parent.rows.push_back({5 * a, 0, 5});
    for (int k = 0; k < 5; k++) by_item.rows.push_back({a, 0, 1});
  }
  Effect c = cluster_bootstrap(by_parent, acc_diff, 2000, 1),
         i = cluster_bootstrap(by_item, acc_diff, 2000, 1);
  EXPECT_NEAR(c.est, 0.5, 1e-12);
  EXPECT_GT(c.hi - c.lo, 1.8 * (i.hi - i.lo));
  // Degenerate: no clusters, a statistic undefined everywhere.
  EXPECT_FALSE(cluster_bootstrap(Clustered{}, acc_diff, 100, 1).defined());
  Clustered empty_den;
  empty_den.rows = {{0, 0, 0}};
  EXPECT_FALSE(cluster_bootstrap(empty_den, acc_diff, 100, 1).defined());
}

TEST(ClaimsConfig, DefaultsAndErrors) {
  ClaimsConfig d = claims_from_json(nullptr, "x.toml");
  EXPECT_EQ(d.pool, (std::vector<std::string>{"P1", "P2", "P4", "P5", "P6", "P7", "P11", "P12"}));
  ClaimsConfig c = claims_from_json({{"c1_margin", 0.2}, {"pool", {"P1", "P2"}}}, "x.toml");
  EXPECT_DOUBLE_EQ(c.c1_margin, 0.2);
  EXPECT_EQ(c.pool.size(), 2u);
  EXPECT_THROW(claims_from_json({{"c1_margn", 0.2}}, "x.toml"), std::exception);
  EXPECT_THROW(claims_from_json({{"c1_margin", 5}}, "x.toml"), std::exception);  // points, not a proportion
  EXPECT_THROW(claims_from_json({{"pool", {"P8"}}}, "x.toml"), std::exception);
  EXPECT_THROW(claims_from_json({{"pool", {"P13"}}}, "x.toml"), std::exception);
  std::string text = claims_declaration(d, {"P1", "P2"}, {"P1"});
  for (const char* s : {"C1 brittleness", "C2a in-distribution", "C2b generalization", "C3 localization",
                        "10.0 points", "exploratory (1 run)"})
    EXPECT_NE(text.find(s), std::string::npos) << s;
}
