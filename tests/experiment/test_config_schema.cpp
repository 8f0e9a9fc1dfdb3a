// Strict experiment configs (issue 16): every section and key is known, typed and in range before any
// stage runs; errors name the file, the line, section.key and the closest valid key.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <string>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "data/instruct.hpp"
#include "experiment/experiment_impl.hpp"
#include "test_util.hpp"
#include "train/train_schema.hpp"

using namespace tsft_test;
using namespace tsft::exp_detail;

namespace {

std::string smoke() {
  return tsft::fs_read_text(std::string(TSFT_SOURCE_DIR) + "/configs/smoke.toml");
}

// `line` (key = value) inserted right after the header `table`, replacing the key's own line in that
// table if it has one; returns the 1-based line of the insert.
int insert_after(std::string& cfg, const std::string& table, const std::string& line) {
  size_t at = cfg.find(table + "\n");
  EXPECT_NE(at, std::string::npos) << table;
  at += table.size() + 1;
  const std::string key = "\n" + line.substr(0, line.find(' ')) + " ";
  size_t end = cfg.find("\n[", at), old = cfg.find(key, at - 1);
  if (old != std::string::npos && old < end) cfg.erase(old + 1, cfg.find('\n', old + 1) - old);
  cfg.insert(at, line + "\n");
  return 1 + (int)std::count(cfg.begin(), cfg.begin() + at, '\n');
}

// The error message plan_parse gives for `cfg` ("" if it passes).
std::string error_of(const std::string& cfg, const TempDir& t) {
  tsft::fs_write_atomic(t / "c.toml", cfg);
  tsft::ExperimentOptions o;
  o.config_path = t / "c.toml";
  try {
    plan_parse(o, t / "out");
  } catch (const tsft::Error& e) {
    return e.what();
  }
  return "";
}

void expect_has(const std::string& msg, const std::string& part) {
  EXPECT_NE(msg.find(part), std::string::npos) << "missing '" << part << "' in: " << msg;
}

}  // namespace

TEST(ExperimentSchema, EveryShippedExperimentConfigValidates) {
  for (const char* name : {"smoke", "theorem_world", "full", "confirm", "sensitivity_restatement", "confirm_large",
                           "sensitivity_restatement_large", "sensitivity_restatement_default"}) {
    tsft::ExperimentOptions o;
    o.config_path = std::string(TSFT_SOURCE_DIR) + "/configs/" + name + ".toml";
    EXPECT_NO_THROW(plan_parse(o, "/nonexistent")) << name;
  }
}

TEST(ExperimentSchema, TypoNamesFileLineKeyAndSuggestion) {
  TempDir t;
  std::string cfg = smoke();
  int line = insert_after(cfg, "[sft]", "stesp = 900");
  std::string msg = error_of(cfg, t);
  expect_has(msg, (t / "c.toml") + ":" + std::to_string(line) + ": [sft] stesp: unknown key");
  expect_has(msg, "did you mean steps?");
}

// toml++ walks keys by name; the user gets every problem at once, in the order of the file.
TEST(ExperimentSchema, EveryProblemIsReportedInFileOrder) {
  TempDir t;
  std::string cfg = smoke();
  insert_after(cfg, "[instruct]", "stesp = 9");  // [pretrain] comes first in the file, [instruct] first by name
  insert_after(cfg, "[pretrain]", "lr = \"fast\"");
  insert_after(cfg, "[pretrain]", "blok = 64");
  auto line_of = [&](const std::string& text) {
    return std::to_string(1 + std::count(cfg.begin(), cfg.begin() + cfg.find(text), '\n'));
  };
  const std::string msg = error_of(cfg, t);
  expect_has(msg, (t / "c.toml") + ": 3 problems in the configuration:");
  const size_t a = msg.find(":" + line_of("blok = 64") + ": [pretrain] blok: unknown key (did you mean block?)");
  const size_t b = msg.find(":" + line_of("lr = \"fast\"") + ": [pretrain] lr: must be a number");
  const size_t c = msg.find(":" + line_of("stesp = 9") + ": [instruct] stesp: unknown key (did you mean steps?)");
  ASSERT_NE(a, std::string::npos) << msg;
  ASSERT_NE(b, std::string::npos) << msg;
  ASSERT_NE(c, std::string::npos) << msg;
  EXPECT_LT(a, b) << msg;
  EXPECT_LT(b, c) << msg;
  EXPECT_EQ(msg.find("[src/"), msg.rfind("[src/")) << "one source location, at the end: " << msg;
}

TEST(ExperimentSchema, WrongTypeAndOutOfRange) {
  TempDir t;
  std::string cfg = smoke();
  int line = insert_after(cfg, "[model]", "layers = \"four\"");
  std::string msg = error_of(cfg, t);
  expect_has(msg, ":" + std::to_string(line) + ": [model] layers: must be an integer");
  cfg = smoke();
  line = insert_after(cfg, "[sft]", "micro_batch = 0");
  msg = error_of(cfg, t);
  expect_has(msg, ":" + std::to_string(line) + ": [sft] micro_batch: 0 is out of range");
  cfg = smoke();
  insert_after(cfg, "[pretrain]", "lr = -0.1");
  expect_has(error_of(cfg, t), "[pretrain] lr: -0.1 is out of range");
  cfg = smoke();
  insert_after(cfg, "[experiment]", "sft_seeds = [1, \"2\"]");
  expect_has(error_of(cfg, t), "[experiment] sft_seeds item: must be a list of integers");
}

TEST(ExperimentSchema, ChoicesSuggestTheClosestWord) {
  TempDir t;
  std::string cfg = smoke();
  size_t at = cfg.find("budget = \"converged\"");
  ASSERT_NE(at, std::string::npos);
  cfg.replace(at, 20, "budget = \"convergd\"");
  std::string msg = error_of(cfg, t);
  expect_has(msg, "[experiment] budget: 'convergd' is not one of");
  expect_has(msg, "did you mean converged?");
}

TEST(ExperimentSchema, UnknownSectionAndGenSubsections) {
  TempDir t;
  std::string cfg = smoke() + "\n[sfft]\nsteps = 3\n";
  std::string msg = error_of(cfg, t);
  expect_has(msg, "unknown section [sfft]");
  expect_has(msg, "did you mean sft?");
  cfg = smoke();
  int line = insert_after(cfg, "[gen.sizes]", "trian = 10");
  msg = error_of(cfg, t);
  expect_has(msg, ":" + std::to_string(line) + ": [gen.sizes] trian: unknown key");
  expect_has(msg, "did you mean train?");
  cfg = smoke();
  insert_after(cfg, "[gen]", "cue_rate = 1.5");
  expect_has(error_of(cfg, t), "[gen] cue_rate: 1.5 is out of range [0, 1]");
}

TEST(ExperimentSchema, ClaimsAndLrGridKeepTheirOwnRules) {
  TempDir t;
  std::string cfg = smoke() + "\n[claims]\nc1_margn = 0.1\n";
  std::string msg = error_of(cfg, t);
  expect_has(msg, "[claims] c1_margn: unknown key");
  expect_has(msg, "did you mean c1_margin?");
  cfg = smoke() + "\n[claims]\nc1_margin = 5\n";
  expect_has(error_of(cfg, t), "[claims] c1_margin: 5 is outside [0, 1]");
  cfg = smoke() + "\n[sft.lr_grid]\nmlp = [1e-3, 3e-3]\nffn = [1e-3]\n";
  expect_has(error_of(cfg, t), "[sft.lr_grid] ffn: no arm trains 'ffn'");
  cfg = smoke() + "\n[sft.lr_grid]\nmlp = [1e-3, 3e-3]\n";
  EXPECT_EQ(error_of(cfg, t), "");
}

TEST(ExperimentSchema, StageArgumentsTakeTheSchemaDefaults) {
  TempDir t;
  std::string cfg = smoke();
  // Drop [sft] steps / micro_batch: the arguments come from the schema's defaults.
  for (const char* k : {"\nsteps = ", "\nmicro_batch = "}) {
    size_t sft = cfg.find("[sft]");
    size_t at = cfg.find(k, sft);
    ASSERT_NE(at, std::string::npos);
    cfg.erase(at + 1, cfg.find('\n', at + 1) - at);
  }
  tsft::fs_write_atomic(t / "c.toml", cfg);
  tsft::ExperimentOptions o;
  o.config_path = t / "c.toml";
  Plan p = plan_parse(o, t / "out");
  auto a = sft_args(p, "base", "train.jsonl", "", "out", "all", 1);
  auto arg = [&](const std::string& flag) { return *(std::find(a.begin(), a.end(), flag) + 1); };
  EXPECT_EQ(arg("--steps"), s(tsft::schema::key(experiment_schema(), "sft", "steps").def));
  EXPECT_EQ(arg("--micro-batch"), "8");
  EXPECT_EQ(arg("--block"), s(p.cfg["sft"]["block"]));  // a key that is set wins
}

TEST(ExperimentSchema, EditDistance) {
  using tsft::schema::closest;
  EXPECT_EQ(tsft::schema::edit_distance("stesp", "steps"), 2u);
  EXPECT_EQ(closest("stesp", {"warmup", "steps", "lr"}), "steps");
  EXPECT_EQ(closest("zzzzzzzz", {"lr", "steps"}), "");
}

TEST(ExperimentSchema, ArmsAreKnownSupervisionTrainablePairs) {
  TempDir t;
  std::string cfg = smoke();
  insert_after(cfg, "[experiment]",
               "arms = [\"theorem:all\", \"theorem-no-map:all\", \"theorem-no-stmt:all\"]");
  std::string msg = error_of(cfg, t);
  expect_has(msg, "theorem-no-stmt:all");
  expect_has(msg, "theorem-no-statement");  // the known names are listed
  cfg = smoke();
  insert_after(cfg, "[experiment]", "arms = [\"theorem\"]");
  expect_has(error_of(cfg, t), "must be supervision:trainable");
  cfg = smoke();
  insert_after(cfg, "[experiment]", "arms = [\"vanilla:all\", \"vanilla:all\"]");
  expect_has(error_of(cfg, t), "listed twice");
  cfg = smoke();
  insert_after(cfg, "[experiment]",
               "arms = [\"theorem-no-statement:all\", \"theorem-no-cond:mlp\", \"answer-only:attn\"]");
  EXPECT_EQ(error_of(cfg, t), "");
}

TEST(ExperimentSchema, NeutralBaseKnobs) {
  TempDir t;
  std::string cfg = smoke();
  insert_after(cfg, "[instruct]", "style = \"neutral\"");
  insert_after(cfg, "[gen.corpus]", "restatement = false");
  insert_after(cfg, "[gen.corpus]", "theorem_names = false");
  EXPECT_EQ(error_of(cfg, t), "");
  cfg = smoke();
  insert_after(cfg, "[instruct]", "style = \"prose\"");
  std::string msg = error_of(cfg, t);
  expect_has(msg, "[instruct] style");
  expect_has(msg, "neutral");
  cfg = smoke();
  insert_after(cfg, "[gen.corpus]", "restatement = 1");
  expect_has(error_of(cfg, t), "restatement");
  // The stage argument defaults come from the one declaration of each default.
  EXPECT_EQ(cfg_arg(json::object(), "instruct", "style"), tsft::data::kInstructStyleDefault);
}

// The [pretrain] / [instruct] / [sft] keys each stage hands to `tsft train` take their type, range,
// choices and help text from the train schema (experiment_schema.cpp: from_train), only their defaults
// being the experiment's own: the same help text (an experiment note may follow after "; "), never a
// range wider than `tsft train` accepts, only choices it accepts.
TEST(ConfigSchema, TrainingKeysAgreeWithTheTrainSchema) {
  const std::map<std::string, std::string> train_name = {{"patience", "early_stop_patience"},
                                                         {"min_delta", "early_stop_min_delta"}};
  int checked = 0;
  for (const char* sec : {"pretrain", "instruct", "sft"}) {
    const tsft::schema::Section* s = tsft::schema::find_section(experiment_schema(), sec);
    ASSERT_NE(s, nullptr) << sec;
    for (const auto& k : s->keys) {
      const std::string tn = train_name.count(k.name) ? train_name.at(k.name) : k.name;
      const tsft::schema::Key* tk = nullptr;
      for (const auto& x : tsft::train_schema().keys)
        if (x.name == tn) tk = &x;
      if (!tk) continue;  // the experiment's own key (examples, style, select, lora_rank, ...)
      checked++;
      const std::string where = std::string("[") + sec + "] " + k.name;
      EXPECT_EQ(k.type, tk->type) << where;
      EXPECT_EQ(k.help.substr(0, tk->help.size()), tk->help) << where;
      EXPECT_TRUE(k.help.size() == tk->help.size() || k.help.compare(tk->help.size(), 2, "; ") == 0) << where;
      EXPECT_GE(k.lo, tk->lo) << where;
      EXPECT_LE(k.hi, tk->hi) << where;
      EXPECT_EQ(k.choices.empty(), tk->choices.empty()) << where;
      for (const auto& c : k.choices)
        EXPECT_NE(std::find(tk->choices.begin(), tk->choices.end(), c), tk->choices.end())
            << where << " " << c;
      EXPECT_FALSE(k.def.is_null()) << where << ": the experiment's default";
    }
  }
  EXPECT_EQ(checked, 3 * 5 + 4)
      << "steps, micro_batch, block, lr, warmup per stage; sft's schedule, eval_every, "
         "patience, min_delta";
}
