// Regression tests for bugs the kill -9 test (tests/reliability/test_kill_anywhere.cpp) found in resume.
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "test_util.hpp"
#include "train/guard.hpp"
#include "train/run_dir.hpp"
#include "train/trainer.hpp"
#include "train_fixture.hpp"

using namespace tsft;
using namespace tsft_test;
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

TrainConfig small_run(const TempDir& t, const std::string& out) {
  TrainConfig c = base_config(t, out);
  c.max_steps = 6;
  c.micro_batch = 2;
  c.save_every = 1;
  c.threads = 1;
  return c;
}

json without_wall_times(const std::string& path) {
  json j = json::parse(fs_read_text(path));
  for (const char* k : {"tokens_per_s", "gflops"}) j.erase(k);
  return j;
}

}  // namespace

// Resuming from a checkpoint that --keep-last later prunes: every later save still carries the
// tokenizer (it was copied from the resumed checkpoint, deleted by then), and final/ is bit-identical.
TEST(TrainResume, PruningTheResumedCheckpointKeepsTheTokenizerInLaterSaves) {
  TempDir t;
  write_tiny_model(t / "model", 32, 1, 3);
  write_reverse_data(t / "train.jsonl", 24, 4, 5);
  TrainConfig a = small_run(t, "straight");
  a.keep_last = 1;
  train_run(a);
  TrainConfig b = small_run(t, "split");
  b.keep_last = 1;
  b.stop_after = 2;
  train_run(b);
  b.stop_after = 0;
  b.model_dir.clear();
  b.resume_dir = t / "split/checkpoint-000002";
  train_run(b);
  EXPECT_FALSE(fs::exists(t / "split/checkpoint-000002")) << "pruned (keep_last 1)";
  for (const char* d : {"checkpoint-000006", "final"})
    EXPECT_TRUE(fs::exists(t / (std::string("split/") + d + "/tokenizer.json"))) << d;
  EXPECT_EQ(fs_read_text(t / "split/final/model.safetensors"),
            fs_read_text(t / "straight/final/model.safetensors"));
}

// A run killed while writing final/ resumes from its last checkpoint (the final step): config.json
// still names the base model, and summary.json reports the same losses and stop reason.
TEST(TrainResume, ResumingAtTheLastStepWritesTheSameConfigAndSummary) {
  TempDir t;
  write_tiny_model(t / "model", 32, 1, 4);
  write_reverse_data(t / "train.jsonl", 24, 4, 6);
  write_reverse_data(t / "val.jsonl", 6, 4, 7);
  TrainConfig c = small_run(t, "run");
  c.val_path = t / "val.jsonl";
  c.eval_every = 2;
  c.early_stop_patience = 1;     // with an unreachable min_delta: stops at the second validation (step 4);
  c.early_stop_min_delta = 100;  // the stop reason must survive the resume too
  train_run(c);
  std::string config = fs_read_text(t / "run/config.json");
  json summary = without_wall_times(t / "run/summary.json");
  ASSERT_EQ(summary["stop_reason"], "early_stop") << summary.dump();
  std::string final_weights = fs_read_text(t / "run/final/model.safetensors");
  fs::remove_all(t / "run/final");
  fs::remove(t / "run/summary.json");
  TrainConfig r = c;
  r.model_dir.clear();
  r.resume_dir = last_checkpoint(t / "run");
  train_run(r);
  EXPECT_EQ(fs_read_text(t / "run/config.json"), config);
  EXPECT_EQ(without_wall_times(t / "run/summary.json"), summary);
  EXPECT_EQ(fs_read_text(t / "run/final/model.safetensors"), final_weights);
}

// What a killed run left half-written in its directory is removed when the next run starts.
TEST(TrainResume, StaleTempFilesOfAKilledRunAreRemoved) {
  TempDir t;
  write_tiny_model(t / "model", 32, 1, 5);
  write_reverse_data(t / "train.jsonl", 12, 4, 8);
  TrainConfig c = small_run(t, "run");
  c.max_steps = 2;
  fs::create_directories(t / "run/.checkpoint-000002.tsft-tmp-XyZ123");
  fs_write_atomic(t / "run/.metrics.jsonl.tsft-tmp-99999-0", "{\"step\": 1, \"lo");
  train_run(c);
  for (auto& e : fs::directory_iterator(t / "run"))
    EXPECT_EQ(e.path().filename().string().find(".tsft-tmp"), std::string::npos) << e.path();
}

// trainer_state.json is ours (written atomically), but a hand-edited one must be refused by file and key
// before anything is resumed, not escape as nlohmann's bare type_error / out_of_range.
TEST(TrainResume, AnEditedTrainerStateIsRefusedByFileAndKey) {
  TempDir t;
  write_tiny_model(t / "model", 32, 1, 4);
  write_reverse_data(t / "train.jsonl", 24, 4, 6);
  TrainConfig c = small_run(t, "run");
  c.max_steps = 2;
  train_run(c);
  const std::string ck = t / "run/checkpoint-000001", path = ck + "/trainer_state.json";
  const json good = json::parse(fs_read_text(path));
  EXPECT_EQ(trainer_state_read(ck), good);
  const std::vector<std::pair<std::function<void(json&)>, std::string>> edits = {
      {[](json& s) { s.erase("rows"); }, "missing key 'rows'"},
      {[](json& s) { s["step"] = "1"; }, "key 'step' = \"1\" must be a non-negative integer"},
      {[](json& s) { s["step"] = -1; }, "key 'step' = -1 must be a non-negative integer"},
      {[](json& s) { s["best_val_loss"] = nullptr; }, "key 'best_val_loss' = null must be a number"},
      {[](json& s) { s["finished"] = 1; }, "key 'finished' = 1 must be true or false"},
      {[](json& s) { s["stop_reason"] = 3; }, "key 'stop_reason' = 3 must be a string"},
      {[](json& s) { s["config"]["model"] = 3; }, "key 'config.model' must be a string"},
  };
  TrainConfig r = c;
  r.model_dir.clear();
  r.resume_dir = ck;
  for (auto& [edit, msg] : edits) {
    json bad = good;
    edit(bad);
    fs_write_atomic(path, bad.dump(2));
    try {
      train_run(r);
      ADD_FAILURE() << msg;
    } catch (const tsft::Error& e) {
      EXPECT_NE(std::string(e.what()).find(path + ": " + msg), std::string::npos) << e.what();
    }
  }
  fs_write_atomic(path, "{\"step\": 1,");
  try {
    train_run(r);
    ADD_FAILURE() << "torn trainer_state.json";
  } catch (const tsft::Error& e) {
    EXPECT_NE(std::string(e.what()).find(path + ": invalid JSON"), std::string::npos) << e.what();
  }
}
