// Training budgets beside max_steps: equal supervised tokens and early stopping (validation loss or answer
// accuracy).
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <map>

#include "core/error.hpp"
#include "test_util.hpp"
#include "train/trainer.hpp"
#include "train_fixture.hpp"

using namespace tsft;
using namespace tsft_test;
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {
TrainConfig budget_config(const TempDir& t, const std::string& out) {
  TrainConfig c = base_config(t, out);
  c.micro_batch = 3;
  c.schedule = "cosine";
  return c;
}

}  // namespace

// The run stops at the first step whose cumulative supervised-token count reaches the budget,
// whatever the examples' lengths (the data mixes 3- and 9-digit targets, so steps differ in tokens).
TEST(Budget, StopsAtEqualSupervisedTokens) {
  TempDir t;
  write_tiny_model(t / "model", 32, 1, 5);
  {
    std::ofstream f(t / "train.jsonl");
    std::ifstream a, b;
    write_reverse_data(t / "a.jsonl", 30, 3, 1);
    write_reverse_data(t / "b.jsonl", 30, 9, 2);
    a.open(t / "a.jsonl");
    b.open(t / "b.jsonl");
    std::string la, lb;
    while (std::getline(a, la) && std::getline(b, lb)) f << la << "\n" << lb << "\n";
  }
  const int64_t budget = 700;
  TrainConfig c = budget_config(t, "run");
  c.max_supervised_tokens = budget;
  TrainResult r = train_run(c);
  auto lines = read_jsonl(t / "run/metrics.jsonl");
  int64_t cum = 0, prev = 0;
  for (auto& l : lines) {
    prev = cum;
    cum += l["supervised_tokens"].get<int64_t>();
  }
  EXPECT_GE(cum, budget);
  EXPECT_LT(prev, budget) << "the run went on after reaching the budget";
  EXPECT_EQ(r.supervised_tokens, cum);
  EXPECT_EQ(r.stop_reason, "tokens");
  EXPECT_EQ(r.steps, (int64_t)lines.size());
  auto summary = json::parse(fs_read_text(t / "run/summary.json"));
  EXPECT_EQ(summary["supervised_tokens"].get<int64_t>(), cum);
  EXPECT_EQ(summary["stop_reason"], "tokens");

  // Resuming from a mid-run checkpoint stops at the same step with the same weights.
  TrainConfig s = c;
  s.out_dir = t / "split";
  s.save_every = 3;
  s.stop_after = 3;
  train_run(s);
  s.stop_after = 0;
  s.resume_dir = t / "split/checkpoint-000003";
  TrainResult r2 = train_run(s);
  EXPECT_EQ(r2.steps, r.steps);
  EXPECT_EQ(r2.supervised_tokens, r.supervised_tokens);
  Model ma = model_load(t / "run/final"), mb = model_load(t / "split/final");
  EXPECT_EQ(0, std::memcmp(ma.params.data(), mb.params.data(), ma.params.size() * 4));
}

// Early stopping: with an improvement threshold no later validation can meet, the run stops after
// `patience` further validations and final/ holds the weights of the first (best) validation.
TEST(Budget, EarlyStoppingKeepsBestValidationWeights) {
  TempDir t;
  write_tiny_model(t / "model", 32, 1, 6);
  write_reverse_data(t / "train.jsonl", 40, 4, 3);
  write_reverse_data(t / "val.jsonl", 12, 4, 4);
  TrainConfig c = budget_config(t, "run");
  c.val_path = t / "val.jsonl";
  c.max_steps = 50;
  c.eval_every = 2;
  c.save_every = 2;
  c.keep_last = 10;
  c.early_stop_patience = 2;
  c.early_stop_min_delta = 1e9;
  TrainResult r = train_run(c);
  EXPECT_EQ(r.stop_reason, "early_stop");
  EXPECT_EQ(r.steps, 6);  // validations at 2 (best), 4 and 6 (two without improvement)
  EXPECT_EQ(r.best_step, 2);
  Model fin = model_load(t / "run/final"), at2 = model_load(t / "run/checkpoint-000002"),
        at6 = model_load(t / "run/checkpoint-000006");
  EXPECT_EQ(0, std::memcmp(fin.params.data(), at2.params.data(), fin.params.size() * 4));
  EXPECT_NE(0, std::memcmp(fin.params.data(), at6.params.data(), fin.params.size() * 4));
  EXPECT_FALSE(fs::exists(t / "run/checkpoint-000008"));

  // A real threshold (0): validation loss falls on this learnable task, so no early stop happens in
  // 8 steps and final/ is the best = last validation.
  TrainConfig d = c;
  d.out_dir = t / "run2";
  d.max_steps = 8;
  d.early_stop_min_delta = 0;
  TrainResult r2 = train_run(d);
  EXPECT_EQ(r2.stop_reason, "steps");
  EXPECT_EQ(r2.steps, 8);
  EXPECT_EQ(r2.best_step, 8);
}

TEST(Budget, EarlyStoppingWithoutValidationIsAUsageError) {
  TempDir t;
  write_tiny_model(t / "model", 32, 1, 7);
  write_reverse_data(t / "train.jsonl", 10, 4, 3);
  TrainConfig c = budget_config(t, "run");
  c.max_steps = 2;
  c.early_stop_patience = 2;
  EXPECT_THROW(train_run(c), UsageError);
}

// Early stopping on validation answer accuracy (issue 12: the rule of model selection, the same for
// every arm): the scorer sees the current weights; a tie is no improvement (the earliest best step is
// kept); the run stops after `patience` evaluations without a higher accuracy although the validation
// loss still falls, and final/ holds the best-accuracy weights.
TEST(Budget, EarlyStoppingOnValidationAccuracy) {
  TempDir t;
  write_tiny_model(t / "model", 32, 1, 6);
  write_reverse_data(t / "train.jsonl", 40, 4, 3);
  write_reverse_data(t / "val.jsonl", 12, 4, 4);
  TrainConfig c = budget_config(t, "run");
  c.val_path = t / "val.jsonl";
  c.max_steps = 50;
  c.eval_every = 2;
  c.save_every = 2;
  c.keep_last = 10;
  c.early_stop_patience = 2;
  c.early_stop_metric = "accuracy";
  const std::map<int64_t, double> acc = {{2, 0.2}, {4, 0.5}, {6, 0.5}, {8, 0.4}, {10, 0.9}};
  std::vector<float> seen_at4;
  ValScorer score = [&](const std::string& dir, int64_t step) {
    if (step == 4) seen_at4 = model_load(dir).params;
    return acc.at(step);
  };
  TrainResult r = train_run(c, score);
  EXPECT_EQ(r.stop_reason, "early_stop");
  EXPECT_EQ(r.steps, 8);  // 6 ties 4, 8 is lower: two evaluations without improvement
  EXPECT_EQ(r.best_step, 4);
  EXPECT_DOUBLE_EQ(r.best_val_accuracy, 0.5);
  Model fin = model_load(t / "run/final"), at4 = model_load(t / "run/checkpoint-000004");
  EXPECT_EQ(0, std::memcmp(fin.params.data(), at4.params.data(), fin.params.size() * 4));
  ASSERT_EQ(seen_at4.size(), at4.params.size());
  EXPECT_EQ(0, std::memcmp(seen_at4.data(), at4.params.data(), seen_at4.size() * 4))
      << "scored other weights";
  std::vector<double> losses;
  for (auto& l : read_jsonl(t / "run/metrics.jsonl"))
    if (l.contains("val_accuracy")) {
      EXPECT_DOUBLE_EQ(l["val_accuracy"].get<double>(), acc.at(l["step"].get<int64_t>()));
      losses.push_back(l["val_loss"].get<double>());
    }
  ASSERT_EQ(losses.size(), 4u);
  EXPECT_LT(losses.back(), losses[1]) << "the loss still fell: a loss rule would not have stopped here";
  auto summary = json::parse(fs_read_text(t / "run/summary.json"));
  EXPECT_EQ(summary["early_stop_metric"], "accuracy");
  EXPECT_DOUBLE_EQ(summary["best_val_accuracy"].get<double>(), 0.5);

  TrainConfig d = c;  // accuracy without a scorer, or an unknown metric: usage errors
  d.out_dir = t / "run2";
  EXPECT_THROW(train_run(d), UsageError);
  d.early_stop_metric = "f1";
  EXPECT_THROW(train_run(d, score), UsageError);
}
