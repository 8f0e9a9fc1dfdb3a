// Roles of a real-data experiment's eval sets (experiment/real_roles.hpp): the declared GSM-Plus
// perturbation -> probe map, and the pairing of variants with their originals among in-distribution items.
#include <gtest/gtest.h>

#include <map>

#include "core/error.hpp"
#include "experiment/real_roles.hpp"
#include "report/claim_effects.hpp"

using tsft::exp_detail::gsm_plus_probe;
using tsft::exp_detail::real_apply_roles;

namespace {
tsft::data::Problem item(const std::string& id, const std::string& q) {
  tsft::data::Problem p;
  p.id = id;
  p.question = q;
  p.split = "gsm8k_test";
  return p;
}
tsft::data::Problem variant(const std::string& id, const std::string& type, const std::string& seed) {
  tsft::data::Problem p = item(id, "varied: " + seed);
  p.perturbation = type;
  p.parent_id = "gsm_plus/seed-x";
  p.extra["seed_question"] = seed;
  return p;
}
}  // namespace

TEST(RealRoles, GsmPlusPerturbationsMapToTheProbesTheyTest) {
  EXPECT_EQ(gsm_plus_probe("numerical substitution", "f"), "P2");
  EXPECT_EQ(gsm_plus_probe("problem understanding", "f"), "P4");
  EXPECT_EQ(gsm_plus_probe("distractor insertion", "f"), "P5");
  EXPECT_EQ(gsm_plus_probe("reversing operation", "f"), "P6");
  EXPECT_EQ(gsm_plus_probe("adding operation", "f"), "P7");
  EXPECT_EQ(gsm_plus_probe("integer-decimal-fraction conversion", "f"), "P12");
  EXPECT_EQ(gsm_plus_probe("digit expansion", "f"), "P3");
  EXPECT_EQ(gsm_plus_probe("critical thinking", "f"), "P9");
  try {
    gsm_plus_probe("typo substitution", "plus.jsonl: record 3");
    FAIL() << "an undeclared perturbation type must be an error";
  } catch (const tsft::Error& e) {
    EXPECT_NE(
        std::string(e.what()).find("plus.jsonl: record 3: GSM-Plus perturbation_type 'typo substitution'"),
        std::string::npos)
        << e.what();
  }
}

TEST(RealRoles, VariantsPairWithInDistributionOriginalsOnly) {
  std::vector<std::vector<tsft::data::Problem>> sets = {
      {item("gsm8k/1", "A baker has 6 trays.  How many?"), item("gsm8k/2", "A bike costs $5.")},
      {variant("gsm_plus/1", "numerical substitution", "A baker has 6 trays. How many?"),
       variant("gsm_plus/2", "critical thinking", "A bike costs $5."),
       variant("gsm_plus/3", "distractor insertion", "Not in the eval data.")},
      {item("math/1", "x+1=2")}};
  auto st = real_apply_roles(sets, {"in_distribution", "probes", "other"}, {"gsm8k", "gsm_plus", "math"},
                             {"a.jsonl", "b.jsonl", "c.jsonl"});
  EXPECT_EQ(st.in_distribution, 2);
  EXPECT_EQ(st.variants, 3);
  EXPECT_EQ(st.linked, 2);
  EXPECT_EQ(sets[0][0].split, "test") << "in-distribution items are the i.i.d. test of C2a / C3";
  EXPECT_EQ(sets[2][0].split, "gsm8k_test") << "other sets keep their split";
  EXPECT_EQ(sets[1][0].parent_id, "gsm8k/1") << "whitespace-insensitive match of the seed question";
  EXPECT_EQ(sets[1][0].perturbation, "P2");
  EXPECT_EQ(sets[1][1].parent_id, "gsm8k/2");
  EXPECT_EQ(sets[1][1].perturbation, "P9");
  EXPECT_EQ(sets[1][2].parent_id, "") << "no original among the eval items: not a pair";
  EXPECT_EQ(sets[1][2].perturbation, "P5");

  // probes without an in-distribution set: no pairs
  std::vector<std::vector<tsft::data::Problem>> only = {
      {variant("gsm_plus/1", "numerical substitution", "A baker has 6 trays. How many?")}};
  EXPECT_EQ(real_apply_roles(only, {"probes"}, {"gsm_plus"}, {"b.jsonl"}).linked, 0);
  std::vector<std::vector<tsft::data::Problem>> wrong = {{item("math/1", "x")}};
  EXPECT_THROW(real_apply_roles(wrong, {"probes"}, {"math"}, {"c.jsonl"}), tsft::Error);
}

// The report's side: on real data a claim with no items from the declared roles is "not applicable" with
// its reason; pairs outside the claim pool (P9) do not make C1/C2b applicable.
namespace {
tsft::ReportData real_data(const std::vector<tsft::eval::ItemResult>& items) {
  tsft::ReportData d;
  d.real = true;
  d.c1_pool = d.c2b_pool = {"P2"};
  for (const char* arm : {"theorem:all", "vanilla:all", "theorem:mlp", "base"}) {
    tsft::ReportRun r;
    std::string a = arm;
    r.sup = a == "base" ? "base" : a.substr(0, a.find(':'));
    r.trainable = a == "base" ? "none" : a.substr(a.find(':') + 1);
    r.name = a;
    r.base_seed = 1;
    r.sft_seed = a == "base" ? 0 : 1;
    r.items = items;
    r.metrics = tsft::eval::eval_metrics(items);
    d.runs.push_back(std::move(r));
  }
  for (auto& r : d.runs)
    for (auto& x : r.items) r.by_id[x.id] = &x;
  return d;
}
tsft::eval::ItemResult res(const std::string& id, const std::string& split, const std::string& probe = "",
                           const std::string& parent = "") {
  tsft::eval::ItemResult x;
  x.id = id, x.split = split, x.probe = probe, x.parent_id = parent;
  return x;
}
std::map<std::string, std::string> labels(const tsft::ReportData& d) {
  std::map<std::string, std::string> out;
  for (auto& c : tsft::claims_decide(d)) out[c.id] = c.decision.label;
  return out;
}
}  // namespace

TEST(RealRoles, ClaimsWithoutDeclaredItemsAreNotApplicable) {
  auto none = labels(real_data({res("m1", "math_test")}));
  for (const char* c : {"C1", "C2a", "C2b", "C3"}) EXPECT_EQ(none[c], "not applicable") << c;
  auto both = labels(real_data({res("g1", "test"), res("v1", "plus", "P2", "g1")}));
  for (const char* c : {"C1", "C2a", "C2b", "C3"}) EXPECT_NE(both[c], "not applicable") << c;
  auto p9 = labels(real_data({res("g1", "test"), res("v1", "plus", "P9", "g1")}));
  EXPECT_EQ(p9["C1"], "not applicable");
  EXPECT_EQ(p9["C2b"], "not applicable");
  EXPECT_NE(p9["C2a"], "not applicable");
  auto orphan = labels(real_data({res("g1", "test"), res("v1", "plus", "P2", "gsm8k/elsewhere")}));
  EXPECT_EQ(orphan["C1"], "not applicable") << "a variant whose parent is not evaluated is not a pair";
}
