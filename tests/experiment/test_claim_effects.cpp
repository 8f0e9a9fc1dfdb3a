// The claims decided on a synthetic experiment directory (graded items written as the eval stage writes
// them): three runs (base seeds) are the unit -- every effect has three per-run values and a t-interval
// over them, verdicts are not exploratory -- and the numbers come out where the synthetic accuracies
// put them.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/fs.hpp"
#include "eval/run_eval.hpp"
#include "report/claim_effects.hpp"
#include "report/report.hpp"
#include "test_util.hpp"

using namespace tsft;
using json = nlohmann::json;
namespace fs = std::filesystem;

namespace {

// Percent of items right per split for one arm; `jitter` shifts the pattern between runs.
struct Arm {
  std::string name;
  int test, variant, train;
};

void write_eval(const std::string& dir, const std::string& name, const Arm& a, int b) {
  std::vector<eval::ItemResult> items;
  auto right = [&](int i, int pct, int salt) { return (i * 37 + b * 11 + salt) % 100 < pct + (b - 2) * 2; };
  for (int i = 0; i < 100; i++) {
    eval::ItemResult t;
    t.id = fmt::format("test-{:07d}", i), t.split = "test", t.family = "product_rule";
    t.correct = right(i, a.test, 0);
    items.push_back(t);
    eval::ItemResult v = t;
    v.id = t.id + "-P1", v.split = "probe/P1", v.probe = "P1", v.parent_id = t.id;
    v.correct = t.correct && right(i, a.variant * 100 / std::max(1, a.test), 5);
    items.push_back(v);
    eval::ItemResult f;
    f.id = fmt::format("train-{:07d}", i), f.split = "train", f.family = "product_rule";
    f.correct = right(i, a.train, 9);
    items.push_back(f);
  }
  std::string ev = dir + "/eval/" + name;
  fs::create_directories(ev);
  std::string lines;
  for (auto& x : items) lines += eval::item_to_json(x).dump() + "\n";
  fs_write_atomic(ev + "/results.jsonl", lines);
  fs_write_atomic(ev + "/metrics.json", eval::eval_metrics(items).dump());
}

std::string make_experiment(const tsft_test::TempDir& t) {
  std::string dir = t / "ex";
  fs::create_directories(dir + "/gen/problems");
  fs_write_atomic(dir + "/config.toml", "[gen]\nseed = 1\ntheorems = [\"product_rule\"]\n");
  std::string test;
  for (int i = 0; i < 100; i++)
    test += json{{"id", fmt::format("test-{:07d}", i)}, {"values_seen_in_train", i % 2 == 0}}.dump() + "\n";
  fs_write_atomic(dir + "/gen/problems/test.jsonl", test);
  const std::vector<Arm> arms = {{"theorem-all", 90, 85, 95},
                                 {"vanilla-all", 90, 45, 95},
                                 {"theorem-mlp", 88, 80, 93},
                                 {"theorem-attn", 50, 40, 60}};
  json runs = json::array(), bases = json::array();
  for (int b = 1; b <= 3; b++) {
    write_eval(dir, fmt::format("base-b{}", b), {"base", 0, 0, 0}, b);
    bases.push_back({{"name", fmt::format("base-b{}", b)}, {"base_seed", b}});
    for (auto& a : arms) {
      std::string name = fmt::format("{}-b{}s1", a.name, b);
      write_eval(dir, name, a, b);
      size_t dash = a.name.find('-');
      runs.push_back({{"name", name},
                      {"supervision", a.name.substr(0, dash)},
                      {"trainable", a.name.substr(dash + 1)},
                      {"base_seed", b},
                      {"sft_seed", 1}});
    }
  }
  json ex = {{"budget", "steps"},
             {"config", {{"gen", {{"seed", 1}}}}},
             {"runs", runs},
             {"bases", bases},
             {"base_seeds", {1, 2, 3}},
             {"sft_seeds", {1}},
             {"timings", json::object()}};
  fs_write_atomic(dir + "/experiment.json", ex.dump());
  return dir;
}

const ClaimResult& claim(const std::vector<ClaimResult>& v, const std::string& id) {
  for (auto& c : v)
    if (c.id == id) return c;
  throw std::runtime_error("no claim " + id);
}

}  // namespace

TEST(ClaimEffects, ThreeRunsAreTheUnitOfAnalysis) {
  tsft_test::TempDir t;
  ReportData d = report_load(make_experiment(t));
  ASSERT_EQ(d.run_keys().size(), 3u);
  auto claims = claims_decide(d);
  for (auto& c : claims) {
    EXPECT_FALSE(c.decision.exploratory) << c.id;
    for (auto& r : c.rows) EXPECT_EQ(r.e.runs, 3) << r.label;
    EXPECT_EQ(c.rows[0].per_run.size(), 3u) << c.id;
  }
  // C1: vanilla loses about half of its right parents on P1 (45 of 90 kept).
  const ClaimResult& c1 = claim(claims, "C1");
  EXPECT_NEAR(c1.rows[0].e.est, 0.5, 0.1);
  EXPECT_EQ(c1.decision.label, "supported") << c1.decision.reason;
  // C2a: equal i.i.d. accuracy, equal fit -> non-inferior; the seen / unseen halves are both measured.
  const ClaimResult& c2a = claim(claims, "C2a");
  EXPECT_NEAR(c2a.rows[0].e.est, 0.0, 1e-9);
  EXPECT_EQ(c2a.decision.label, "supported") << c2a.decision.reason;
  EXPECT_GT(c2a.rows[1].e.n_items, 0);
  EXPECT_GT(c2a.rows[2].e.n_items, 0);
  // C2b: theorem keeps ~40 points more variants.
  const ClaimResult& c2b = claim(claims, "C2b");
  EXPECT_GT(c2b.rows[0].e.lo, 0.3);
  EXPECT_EQ(c2b.decision.label, "supported") << c2b.decision.reason;
  // C3: the base knows nothing, theorem:mlp recovers most of theorem:all's gain, attention-only less.
  const ClaimResult& c3 = claim(claims, "C3");
  EXPECT_GT(c3.rows[0].e.est, 0.85);
  EXPECT_LT(c3.rows[1].e.est, 0.6);
  EXPECT_EQ(c3.decision.label, "supported") << c3.decision.reason;
  // The per-run table has one row per run and a value for every effect.
  auto rows = run_table(d, claims);
  ASSERT_EQ(rows.size(), 3u);
  for (auto& r : rows)
    for (double v : r.values) EXPECT_TRUE(std::isfinite(v));
}

TEST(ClaimEffects, ReportWritesEveryClaimAndTheForestPlot) {
  tsft_test::TempDir t;
  std::string dir = make_experiment(t);
  report_write(dir);
  std::string md = fs_read_text(dir + "/report.md"), html = fs_read_text(dir + "/report.html");
  EXPECT_NE(md.find("| b3 s1 |"), std::string::npos);
  EXPECT_EQ(md.find(" - exploratory (1 run)"), std::string::npos);  // 3 runs: no verdict is exploratory
  EXPECT_NE(html.find("Every claim's effect"), std::string::npos);
  EXPECT_NE(html.find("run x split / probe"), std::string::npos);
}
