// Numeric guards of the trainer (train/guard.hpp). Non-finite values are injected honestly: a
// learning rate so large that the first update overflows the next forward, or an embedding row of
// +inf in the model directory for a token that only some examples contain.
#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "model/model.hpp"
#include "test_util.hpp"
#include "train/trainer.hpp"
#include "train_fixture.hpp"

using namespace tsft;
using namespace tsft_test;
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

constexpr int kPoison = 'Z';  // byte token whose embedding row is +inf in the poisoned model

std::string train_error(const TrainConfig& c) {
  try {
    train_run(c);
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

// n reverse-digit examples; example `bad` contains the poisoned token in its prompt and answer.
void write_poisoned_data(const std::string& path, int n, int bad) {
  write_reverse_data(path, n, 4, 11);
  std::vector<std::string> lines = read_lines(path);
  lines[bad] = json{{"id", "bad"},
                    {"messages",
                     {{{"role", "user"}, {"content", "12Z4"}}, {{"role", "assistant"}, {"content", "4Z21"}}}}}
                   .dump();
  std::string out;
  for (auto& l : lines) out += l + "\n";
  fs_write_atomic(path, out);
}

// A tiny model whose embedding row of kPoison is +inf (every other value finite).
void write_poisoned_model(const std::string& dir) {
  write_tiny_model(dir, 32, 1, 5);
  Model m = model_load(dir);
  float* row = m.param("model.embed_tokens.weight") + (size_t)kPoison * m.cfg.C;
  for (int i = 0; i < m.cfg.C; i++) row[i] = INFINITY;
  model_save(m, dir, dir);
}

// One example per row and per micro-batch, only the MLPs trained: a step is non-finite exactly when
// its micro-batches hold the poisoned example.
TrainConfig poisoned_config(const TempDir& t) {
  TrainConfig c = base_config(t, "run");
  c.packing = false;
  c.micro_batch = 1;
  c.trainable = "mlp";
  c.nonfinite = "skip";
  return c;
}

json read_json(const std::string& p) {
  return json::parse(fs_read_text(p));
}

}  // namespace

// lr 1e37: the first AdamW update moves weights by ~1e37 (finite; step size lr / (1 - beta1) = 1e38), the
// second forward overflows. The run stops at step 2 naming the micro-batch and tensor, writes the diagnostic,
// and the checkpoint of step 1 (keep_last 1, so a bad save would have pruned it) stays byte-identical.
TEST(TrainGuard, OverflowStopsNamingStepAndTensorAndKeepsCheckpoint) {
  TempDir t;
  write_tiny_model(t / "model", 32, 1, 3);
  write_reverse_data(t / "train.jsonl", 40, 4, 7);
  TrainConfig c = base_config(t, "run");
  c.adam.lr = 1e37;
  c.micro_batch = 2;
  c.grad_accum = 2;
  c.max_steps = 4;
  c.save_every = 1;
  c.keep_last = 1;
  c.stop_after = 1;
  train_run(c);
  const std::string ck = t / "run/checkpoint-000001";
  ASSERT_TRUE(fs::exists(ck + "/trainer_state.json"));
  auto before = dir_snapshot(ck);
  c.stop_after = 0;
  c.resume_dir = ck;
  std::string err = train_error(c);
  ASSERT_FALSE(err.empty()) << "training with lr 1e37 did not fail";
  EXPECT_NE(err.find("step 2, micro-batch 1 of 2"), std::string::npos) << err;
  json d = read_json(t / "run/nonfinite-step-000002.json");
  EXPECT_EQ(d["step"], 2);
  EXPECT_EQ(d["lr"].get<double>(), 1e37);
  EXPECT_EQ(d["micro_batch"], 0);
  EXPECT_EQ(d["policy"], "stop");
  const std::string first = d["first_nonfinite_grad"];
  ASSERT_FALSE(first.empty());
  EXPECT_NE(err.find("first non-finite gradient: " + first), std::string::npos) << err;
  EXPECT_NE(err.find(ck), std::string::npos) << "the error names the last good checkpoint: " << err;
  ASSERT_FALSE(d["tensors"].empty());
  EXPECT_EQ(d["tensors"][0]["name"], first);  // HF order: the first listed tensor with a bad gradient
  EXPECT_GT(d["tensors"][0]["grad_nonfinite"].get<int64_t>(), 0);
  EXPECT_TRUE(d["loss"].is_string() || d["grad_norm"].is_string()) << d.dump();
  EXPECT_EQ(dir_snapshot(ck), before);
  EXPECT_FALSE(fs::exists(t / "run/checkpoint-000002"));
  EXPECT_FALSE(fs::exists(t / "run/final"));
}

// The same through the CLI: a non-zero exit with the step, the tensor and the diagnostic's path.
TEST(TrainGuard, CliReportsNonFiniteStep) {
  TempDir t;
  write_tiny_model(t / "model", 32, 1, 3);
  write_reverse_data(t / "train.jsonl", 20, 4, 7);
  CmdResult r =
      run_cmd(tsft_bin() + " train -q --model " + t / "model" + " --data " + t / "train.jsonl" + " --out " +
              t / "run" + " --steps 3 --lr 1e38 --micro-batch 2 --block 64 --chat-template chatml");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("step 2"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("first non-finite gradient: model."), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("nonfinite-step-000002.json"), std::string::npos) << r.output;
  EXPECT_TRUE(fs::exists(t / "run/nonfinite-step-000002.json"));
}

// An update that makes a trainable weight non-finite (lr beyond float range) is never saved.
TEST(TrainGuard, NonFiniteWeightsAreNeverCheckpointed) {
  TempDir t;
  write_tiny_model(t / "model", 32, 1, 3);
  write_reverse_data(t / "train.jsonl", 20, 4, 7);
  TrainConfig c = base_config(t, "run");
  c.adam.lr = 1e39;  // > FLT_MAX: w - lr * ~1 is -inf/+inf in fp32
  c.max_steps = 1;
  std::string err = train_error(c);
  EXPECT_NE(err.find("step 1:"), std::string::npos) << err;
  EXPECT_NE(err.find("are not finite after the update"), std::string::npos) << err;
  EXPECT_NE(err.find("last good checkpoint: none"), std::string::npos) << err;
  EXPECT_FALSE(fs::exists(t / "run/checkpoint-000001"));
  EXPECT_FALSE(fs::exists(t / "run/final"));
}

// Skip policy: exactly the steps that see the poisoned example (once per epoch) are skipped; they
// change neither weights nor optimizer state; the rest trains and the count is reported.
TEST(TrainGuard, SkipPolicySkipsOnlyBadStepsAndCountsThem) {
  TempDir t;
  write_poisoned_model(t / "model");
  write_poisoned_data(t / "train.jsonl", 6, 4);
  TrainConfig c = poisoned_config(t);
  c.max_steps = 12;  // two epochs of 6 rows
  c.save_every = 1;
  c.keep_last = 0;
  TrainResult r = train_run(c);
  EXPECT_EQ(r.skipped_steps, 2);
  EXPECT_EQ(r.steps, 12);
  EXPECT_EQ(read_json(t / "run/summary.json")["skipped_steps"], 2);
  std::vector<int64_t> skipped;
  for (auto& l : read_lines(t / "run/metrics.jsonl")) {
    json j = json::parse(l);
    if (!j.contains("loss")) continue;
    if (j.value("skipped", false))
      skipped.push_back(j["step"]);
    else
      EXPECT_TRUE(j["loss"].is_number()) << l;
  }
  ASSERT_EQ(skipped.size(), 2u);
  EXPECT_LE(skipped[0], 6);
  EXPECT_GT(skipped[1], 6);
  for (int64_t s : skipped) {
    json d = read_json(t / fmt::format("run/nonfinite-step-{:06d}.json", s));
    EXPECT_EQ(d["rows"], json::array({4})) << d.dump();
    EXPECT_EQ(d["skipped"], true);
    EXPECT_NE(d["first_nonfinite_grad"].get<std::string>().find("mlp"), std::string::npos) << d.dump();
    bool embed_named = false;
    for (auto& tj : d["tensors"])
      if (tj["name"] == "model.embed_tokens.weight") embed_named = tj["weight_nonfinite"] == 32;
    EXPECT_TRUE(embed_named) << "the diagnostic names the +inf embedding row: " << d.dump();
    if (s == 1) continue;
    // A skipped step made no update: its checkpoint's weights and moments equal the step before's.
    std::string now = t / fmt::format("run/checkpoint-{:06d}", s),
                prev = t / fmt::format("run/checkpoint-{:06d}", s - 1);
    EXPECT_EQ(fs_read_text(now + "/model.safetensors"), fs_read_text(prev + "/model.safetensors")) << s;
    EXPECT_EQ(fs_read_text(now + "/optimizer.safetensors"), fs_read_text(prev + "/optimizer.safetensors"))
        << s;
  }
  EXPECT_TRUE(fs::exists(t / "run/final/model.safetensors"));
}

// More skips than --max-skips stops as the stop policy does, naming the micro-batch that holds the
// poisoned example (grad_accum 2: one of two).
TEST(TrainGuard, MaxSkipsExceededStops) {
  TempDir t;
  write_poisoned_model(t / "model");
  write_poisoned_data(t / "train.jsonl", 6, 4);
  TrainConfig c = poisoned_config(t);
  c.grad_accum = 2;
  c.max_steps = 6;  // two epochs of 3 steps
  c.max_skips = 1;
  std::string err = train_error(c);
  ASSERT_FALSE(err.empty());
  EXPECT_NE(err.find("1 steps already skipped (--max-skips 1)"), std::string::npos) << err;
  std::vector<json> diags;
  for (auto& p : fs::directory_iterator(t / "run"))
    if (p.path().filename().string().rfind("nonfinite-step-", 0) == 0)
      diags.push_back(read_json(p.path().string()));
  ASSERT_EQ(diags.size(), 2u);
  std::sort(diags.begin(), diags.end(), [](const json& a, const json& b) { return a["step"] < b["step"]; });
  EXPECT_EQ(diags[0]["skipped"], true);
  EXPECT_EQ(diags[1]["skipped"], false);
  int64_t step = diags[1]["step"];
  int mb = diags[1]["micro_batch"];
  EXPECT_NE(err.find(fmt::format("step {}, micro-batch {} of 2", step, mb + 1)), std::string::npos) << err;
  EXPECT_EQ(diags[1]["rows"], json::array({4}));
  EXPECT_FALSE(fs::exists(t / "run/summary.json"));
}

TEST(TrainGuard, BadPolicyIsAUsageError) {
  TempDir t;
  TrainConfig c = base_config(t, "run");
  c.nonfinite = "ignore";
  EXPECT_THROW(train_run(c), UsageError);
}

// Skips are part of the resumable state: a skip run interrupted after step 7 (one skip behind it,
// one ahead) and resumed ends bit-identical to the uninterrupted run, with the same count.
TEST(TrainGuard, SkipCountAndOptimizerStepSurviveResume) {
  TempDir t;
  write_poisoned_model(t / "model");
  write_poisoned_data(t / "train.jsonl", 6, 4);
  TrainConfig a = poisoned_config(t);
  a.max_steps = 12;
  TrainResult ra = train_run(a);
  ASSERT_EQ(ra.skipped_steps, 2);
  TrainConfig b = a;
  b.out_dir = t / "split";
  b.save_every = 7;
  b.stop_after = 7;
  train_run(b);
  EXPECT_EQ(read_json(t / "split/checkpoint-000007/trainer_state.json")["skipped_steps"], 1);
  b.stop_after = 0;
  b.resume_dir = t / "split/checkpoint-000007";
  TrainResult rb = train_run(b);
  EXPECT_EQ(rb.skipped_steps, 2);
  EXPECT_EQ(fs_read_text(t / "run/final/model.safetensors"),
            fs_read_text(t / "split/final/model.safetensors"));
}
