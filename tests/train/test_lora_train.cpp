// LoRA training: checkpoints hold the adapter only (PEFT layout), resume is bit-identical (dropout
// included), the base stays bit-identical, and the adapter learns.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include "core/error.hpp"
#include "core/safetensors.hpp"
#include "model/lora.hpp"
#include "test_util.hpp"
#include "train/trainer.hpp"
#include "train_fixture.hpp"

using namespace tsft;
using namespace tsft_test;
namespace fs = std::filesystem;

namespace {
TrainConfig lora_config(const TempDir& t, const std::string& out) {
  TrainConfig c = base_config(t, out);
  c.lora.rank = 4;
  c.lora.alpha = 8;
  c.lora.dropout = 0.1;
  c.lora.targets = "all";
  return c;
}
}  // namespace

TEST(LoraTrain, ResumeIsBitIdenticalAndCheckpointIsAdapterOnly) {
  TempDir t;
  write_tiny_model(t / "model", 32, 2, 8);
  write_reverse_data(t / "train.jsonl", 60, 4, 3);
  TrainConfig a = lora_config(t, "straight");
  a.max_steps = 12;
  a.micro_batch = 3;
  a.grad_accum = 2;
  a.schedule = "cosine";
  a.warmup = 2;
  train_run(a);
  TrainConfig b = a;
  b.out_dir = t / "split";
  b.save_every = 6;
  b.stop_after = 6;
  train_run(b);
  const std::string ck = t / "split/checkpoint-000006";
  for (const char* f :
       {"adapter_config.json", "adapter_model.safetensors", "optimizer.safetensors", "trainer_state.json"})
    EXPECT_TRUE(fs::exists(ck + "/" + f)) << f;
  EXPECT_FALSE(fs::exists(ck + "/model.safetensors")) << "a LoRA checkpoint holds the adapter only";
  // optimizer state: the two moments of each of the 2 x 7 x 2 adapter tensors, nothing of the base
  EXPECT_EQ(SafetensorsFile::open(ck + "/optimizer.safetensors")->tensors().size(), 2u * 28u);
  b.stop_after = 0;
  b.resume_dir = ck;
  train_run(b);
  auto la = read_jsonl(t / "straight/metrics.jsonl"), lb = read_jsonl(t / "split/metrics.jsonl");
  ASSERT_EQ(la.size(), 12u);
  ASSERT_EQ(lb.size(), 12u);
  for (size_t i = 0; i < la.size(); i++) {
    EXPECT_EQ(la[i]["loss"].get<double>(), lb[i]["loss"].get<double>()) << "step " << i + 1;
    EXPECT_EQ(la[i]["grad_norm"].get<double>(), lb[i]["grad_norm"].get<double>()) << "step " << i + 1;
  }
  Model ma = model_load_adapted(t / "model", t / "straight/final");
  Model mb = model_load_adapted(t / "model", t / "split/final");
  ASSERT_EQ(ma.params.size(), mb.params.size());
  EXPECT_EQ(0, std::memcmp(ma.params.data(), mb.params.data(), ma.params.size() * 4));
  // the adapter moved, the base did not (frozen: no gradient, no update)
  Model base = model_load(t / "model");
  EXPECT_EQ(0, std::memcmp(base.params.data(), ma.params.data(), base.params.size() * 4));
  double b2 = 0;
  for_each_tensor(ma, [&](const TensorEntry& e, TensorRef<float> r) {
    if (e.name.find("lora_B") != std::string::npos)
      for (size_t i = 0; i < e.numel; i++) b2 += (double)r.w[i] * r.w[i];
  });
  EXPECT_GT(b2, 0.0);
  // a different LoRA setting cannot resume this checkpoint
  TrainConfig c = b;
  c.out_dir = t / "other";
  c.lora.alpha = 16;
  try {
    train_run(c);
    ADD_FAILURE() << "resume with other LoRA options must fail";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("LoRA options"), std::string::npos) << e.what();
  }
}

TEST(LoraTrain, TrainableAndLoraExcludeEachOther) {
  TempDir t;
  write_tiny_model(t / "model", 32, 1, 8);
  write_reverse_data(t / "train.jsonl", 8, 4, 3);
  TrainConfig c = lora_config(t, "run");
  c.trainable = "mlp";
  c.max_steps = 1;
  EXPECT_THROW(train_run(c), UsageError);
  c.trainable = "all";
  c.lora.targets = "head";
  EXPECT_THROW(train_run(c), UsageError);
}

// The learning test. Setting (declared before any result): a tiny llama (C 64, L 2) is first fully
// fine-tuned on reversing 4-digit strings (task A, 350 steps, as TrainSlow.TinyModelLearnsToReverseDigits).
// Task B = reverse AND add 1 (mod 10) to every digit. From the task-A model, two arms train 250 steps on
// 3000 task-B examples: full fine-tuning (lr 4e-3) and LoRA r 8, alpha 16 on all linear layers
// (lr 1e-2, PEFT-typical: the adapter's update is low-rank, so a larger step). Metric: teacher-forced
// token accuracy on 200 held-out task-B strings. Decision rule: LoRA passes when its accuracy is at least
// full FT's minus 5 points (and full FT itself reaches >= 90%, else the comparison is void).
TEST(TrainSlow, LoraReachesFullFineTuningAccuracy) {
  TempDir t;
  write_tiny_model(t / "model", 64, 2, 7);
  write_reverse_data(t / "a.jsonl", 3000, 4, 1);
  auto write_b = [](const std::string& path, int n, uint64_t seed) {
    Xoshiro rng(seed);
    std::string out;
    for (int i = 0; i < n; i++) {
      std::string s, r;
      for (int k = 0; k < 4; k++) s += (char)('0' + rng.below(10));
      for (int k = 3; k >= 0; k--) r += (char)('0' + (s[k] - '0' + 1) % 10);
      nlohmann::json j = {
          {"id", "b" + std::to_string(i)},
          {"messages", {{{"role", "user"}, {"content", s}}, {{"role", "assistant"}, {"content", r}}}}};
      out += j.dump() + "\n";
    }
    fs_write_atomic(path, out);
  };
  write_b(t / "b.jsonl", 3000, 2);
  write_b(t / "b_test.jsonl", 200, 999);
  TrainConfig a = base_config(t, "task_a");
  a.data_path = t / "a.jsonl";
  a.micro_batch = 8;
  a.max_steps = 350;
  a.warmup = 30;
  a.schedule = "cosine";
  a.adam.lr = 4e-3;
  const std::string base = train_run(a).final_dir;
  auto arm = [&](const std::string& name, bool lora, double lr) {
    TrainConfig c = base_config(t, name);
    c.model_dir = base;
    c.data_path = t / "b.jsonl";
    c.micro_batch = 8;
    c.max_steps = 250;
    c.warmup = 20;
    c.schedule = "cosine";
    c.adam.lr = lr;
    if (lora) {
      c.lora.rank = 8;
      c.lora.alpha = 16;
    }
    TrainResult r = train_run(c);
    Model m = lora ? model_load_adapted(base, r.final_dir) : model_load(r.final_dir);
    tokenizer::Tokenizer tok(t / "model/tokenizer.json");
    return token_accuracy(m, t / "b_test.jsonl", tok);
  };
  Model base_model = model_load(base);
  const double before =
      token_accuracy(base_model, t / "b_test.jsonl", tokenizer::Tokenizer(t / "model/tokenizer.json"));
  const double full = arm("full", false, 4e-3), lora = arm("lora", true, 1e-2);
  std::printf(
      "[learn] task B (reverse +1) held-out token accuracy: task-A model %.2f%%, full FT %.2f%%, "
      "LoRA r8 %.2f%%\n",
      100 * before, 100 * full, 100 * lora);
  EXPECT_LT(before, 0.6) << "task B must be new to the task-A model";
  ASSERT_GE(full, 0.90) << "full fine-tuning did not learn task B: the comparison is void";
  EXPECT_GE(lora, full - 0.05);
}
