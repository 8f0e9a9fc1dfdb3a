// tsft experiment on real data ([real_data]): a user's base model (a tiny fixture here), the two arms of a
// `tsft annotate` output directory (made here against the scripted teacher), eval files in adapter
// formats -> the same arms, evals and report.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <set>

#include "../train/train_fixture.hpp"
#include "annotate/teacher_server.hpp"
#include "core/fs.hpp"
#include "model/config.hpp"
#include "model/model.hpp"
#include "test_util.hpp"

using namespace tsft_test;
using json = nlohmann::json;
namespace fs = std::filesystem;

namespace {
// An annotate output directory, made by `tsft annotate` with the scripted teacher of tests/annotate
// (n GSM8K-style problems, every answer valid).
void write_annotated(const TempDir& t, const std::string& dir, int n) {
  std::vector<std::string> cases;
  for (int i = 0; i < n; i++) cases.push_back("valid" + std::to_string(i));
  tsft::fs_write_atomic(t / "train.jsonl", teacher_dataset(cases));
  TeacherServer teacher;
  auto r = run_cmd(tsft_bin() + " annotate --data " + t / "train.jsonl" + " --format gsm8k --endpoint " +
                   teacher.url() + " --model teacher -q --out " + dir);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  ASSERT_NE(r.output.find(std::to_string(n) + " accepted"), std::string::npos) << r.output;
}

void write_base_model(const std::string& dir) {
  write_byte_tokenizer(dir);
  tsft::ModelConfig c = tsft::config_make("llama", 259, 32, 88, 2, 4, 2, 8, 256);
  c.eos_token_ids = {258};
  tsft::Model m = tsft::model_create(c);
  tsft::model_init_weights(m, 7, 0.3);
  tsft::model_save(m, dir, dir);
}

std::string config(const TempDir& t, const std::string& extra = "") {
  std::string src = TSFT_SOURCE_DIR;
  return "[experiment]\narms = [\"theorem:all\", \"vanilla:all\", \"theorem:mlp\"]\nbudget = \"steps\"\n"
         "threads = 1\n[sft]\nsteps = 2\nmicro_batch = 2\nblock = 128\nlr = 1e-3\nwarmup = 0\nval_size = 2\n"
         "eval_every = 1\n[eval]\nmax_new_tokens = 6\nbatch = 4\ntrain_limit = 2\n[real_data]\nbase_model = "
         "\"" +
         t / "model" + "\"\nannotated = \"" + t / "ann" + "\"\neval_files = [\"" + src +
         "/tests/data/adapters/gsm8k.jsonl\", \"" + src + "/tests/data/adapters/math.jsonl\"]\n" +
         "eval_formats = [\"gsm8k\", \"math\"]\n" + extra;
}
}  // namespace

TEST(ExperimentRealE2E, UserModelAnnotatedArmsAdapterEvalSets) {
  TempDir t;
  write_base_model(t / "model");
  write_annotated(t, t / "ann", 8);
  ASSERT_FALSE(HasFatalFailure());
  tsft::fs_write_atomic(t / "real.toml", config(t));
  std::string cmd = tsft_bin() + " experiment " + t / "real.toml" + " --out " + t / "ex";
  auto r = run_cmd(cmd);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::string report = tsft::fs_read_text(t / "ex/report.md");
  EXPECT_NE(report.find("Real data: base model"), std::string::npos) << report.substr(0, 3000);
  if (getenv("TSFT_SHOW_REPORT")) std::cout << report;
  json ex = json::parse(tsft::fs_read_text(t / "ex/experiment.json"));
  std::set<std::string> names;
  for (auto& run : ex["runs"]) names.insert(run["name"]);
  for (const char* n : {"theorem-all-b1s1", "vanilla-all-b1s1", "theorem-mlp-b1s1",
                        "theorem-transplant_mlp-b1s1", "vanilla-transplant_attn-b1s1"})
    EXPECT_TRUE(names.count(n)) << n;
  json base = json::parse(tsft::fs_read_text(t / "ex/eval/base-b1/metrics.json"));
  EXPECT_EQ(base["overall"]["n"], 6) << "2 GSM8K + 2 MATH + 2 fit problems";
  json arm = json::parse(tsft::fs_read_text(t / "ex/eval/theorem-all-b1s1/metrics.json"));
  EXPECT_EQ(arm["overall"]["n"], 6);
  // The arms trained on the annotated files minus the 2 validation problems, in the same order.
  std::string thm = tsft::fs_read_text(t / "ex/render/theorem/sft_train_v2.jsonl");
  EXPECT_EQ(std::count(thm.begin(), thm.end(), '\n'), 6);
  std::string val = tsft::fs_read_text(t / "ex/eval-sets/val.jsonl");
  EXPECT_EQ(std::count(val.begin(), val.end(), '\n'), 2);
  // No eval_roles: every set is "other", so no claim has items, and the report says why.
  EXPECT_NE(report.find("not applicable"), std::string::npos);
  EXPECT_NE(report.find("no probe variants"), std::string::npos);
  EXPECT_NE(report.find("no in-distribution items"), std::string::npos);
  auto again = run_cmd(cmd);  // everything cached
  ASSERT_EQ(again.exit_code, 0) << again.output;
  EXPECT_EQ(again.output.find(": running"), std::string::npos) << again.output;
}

TEST(ExperimentRealE2E, DeclaredRolesGiveTheClaimsTheirItems) {
  TempDir t;
  write_base_model(t / "model");
  write_annotated(t, t / "ann", 8);
  ASSERT_FALSE(HasFatalFailure());
  // GSM-Plus variants: two of the GSM8K fixture's questions (one twice), one of a question not evaluated.
  auto plus = [](const std::string& type, const std::string& seed, const std::string& q) {
    return json{{"question", q},         {"solution", "s"},   {"answer", "7"}, {"perturbation_type", type},
                {"seed_question", seed}, {"seed_answer", "1"}}
               .dump() +
           "\n";
  };
  std::string baker = "A baker fills 6 trays with 14 rolls each and sells 50 rolls. How many rolls are left?";
  std::string bike = "A bike costs $1,200 and a helmet costs $85. What do both cost?";
  tsft::fs_write_atomic(t / "plus.jsonl", plus("numerical substitution", baker, "A baker fills 7 trays?") +
                                              plus("distractor insertion", bike, "A bike, and a dog?") +
                                              plus("critical thinking", baker, "A baker fills trays?") +
                                              plus("numerical substitution", "Elsewhere.", "Elsewhere 2?"));
  std::string c = config(t, "eval_roles = [\"in_distribution\", \"other\", \"probes\"]\n");
  c.replace(c.find("/tests/data/adapters/math.jsonl\"]"), 33,
            "/tests/data/adapters/math.jsonl\", \"" + t / "plus.jsonl" + "\"]");
  c.replace(c.find("eval_formats = [\"gsm8k\", \"math\"]"), 32,
            "eval_formats = [\"gsm8k\", \"math\", \"gsm_plus\"]");
  tsft::fs_write_atomic(t / "real.toml", c);
  auto r = run_cmd(tsft_bin() + " experiment " + t / "real.toml" + " --out " + t / "ex");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  json roles = json::parse(tsft::fs_read_text(t / "ex/eval-sets/roles.json"));
  EXPECT_EQ(roles["in_distribution_items"], 2);
  EXPECT_EQ(roles["probe_variants"], 4);
  EXPECT_EQ(roles["variants_with_parent"], 3);
  json base = json::parse(tsft::fs_read_text(t / "ex/eval/base-b1/metrics.json"));
  EXPECT_EQ(base["overall"]["n"], 2 + 2 + 4 + 2);
  EXPECT_EQ(base["by_split"]["test"]["n"], 2) << "the in-distribution set is the i.i.d. test";
  EXPECT_EQ(base["pairs"]["P2"]["pairs"], 1);
  EXPECT_EQ(base["pairs"]["P5"]["pairs"], 1);
  EXPECT_EQ(base["pairs"]["P9"]["pairs"], 1) << "paired, but reported apart (not in the claim pool)";
  std::string report = tsft::fs_read_text(t / "ex/report.md");
  if (getenv("TSFT_SHOW_REPORT")) std::cout << report;
  EXPECT_EQ(report.find("no probe variants"), std::string::npos) << "C1/C2b have pairs (P2, P5)";
  EXPECT_EQ(report.find("no in-distribution items"), std::string::npos) << "C2a/C3 have the GSM8K set";
  EXPECT_NE(report.find("with the roles [\"in_distribution\",\"other\",\"probes\"]"), std::string::npos);
  EXPECT_NE(report.find("C2a theorem - vanilla, i.i.d. test"), std::string::npos);

  std::string bad = c;  // probes need an in-distribution set to find their originals in
  const std::string declared = "\"in_distribution\", \"other\"";
  bad.replace(bad.find(declared), declared.size(), "\"other\", \"other\"");
  tsft::fs_write_atomic(t / "bad.toml", bad);
  auto b = run_cmd(tsft_bin() + " experiment " + t / "bad.toml" + " --out " + t / "ex2");
  EXPECT_NE(b.exit_code, 0);
  EXPECT_NE(b.output.find("declare one"), std::string::npos) << b.output;
}

TEST(ExperimentRealE2E, ConfigErrorsBeforeAnyStage) {
  TempDir t;
  write_base_model(t / "model");
  write_annotated(t, t / "ann", 4);
  auto err = [&](const std::string& text) {
    tsft::fs_write_atomic(t / "c.toml", text);
    return run_cmd(tsft_bin() + " experiment " + t / "c.toml" + " --out " + t / "ex");
  };
  auto r = err(config(t, "[gen]\nseed = 1\n"));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("[gen] is not used by a [real_data] experiment"), std::string::npos) << r.output;
  r = err(config(t, "eval_fromats = [\"x\"]\n"));
  EXPECT_NE(r.output.find("did you mean eval_formats"), std::string::npos) << r.output;
  std::string c = config(t);
  c.replace(c.find("eval_formats = [\"gsm8k\", \"math\"]"), 32, "eval_formats = [\"gsm8k\"]");
  r = err(c);
  EXPECT_NE(r.output.find("the same length"), std::string::npos) << r.output;
  c = config(t);
  c.replace(c.find("\"theorem:mlp\""), 13, "\"answer-only:all\"");
  r = err(c);
  EXPECT_NE(r.output.find("theorem and vanilla supervisions only"), std::string::npos) << r.output;
}
