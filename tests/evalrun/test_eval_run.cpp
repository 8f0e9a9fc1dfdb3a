// tsft eval end to end on a tiny model and a generated problem file: results, metrics, resume.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "../train/train_fixture.hpp"
#include "core/error.hpp"
#include "core/fs.hpp"
#include "eval/run_eval.hpp"
#include "model/model.hpp"
#include "test_util.hpp"

using namespace tsft;
using namespace tsft_test;
using nlohmann::json;

namespace {
void write_problems(const std::string& path) {
  std::string s;
  for (int i = 0; i < 6; i++) {
    s += json{{"id", "t" + std::to_string(i)},
              {"split", "test"},
              {"question", "What is " + std::to_string(i) + "+1?"},
              {"answer", std::to_string(i + 1)},
              {"theorems", {"add"}},
              {"perturbation", "none"},
              {"parent_id", ""}}
             .dump() +
         "\n";
    s += json{{"id", "t" + std::to_string(i) + "-P2"},
              {"split", "probe/P2"},
              {"question", "What is " + std::to_string(i + 2) + "+1?"},
              {"answer", std::to_string(i + 3)},
              {"theorems", {"add"}},
              {"perturbation", "P2"},
              {"parent_id", "t" + std::to_string(i)}}
             .dump() +
         "\n";
  }
  fs_write_atomic(path, s);
}

// The evaluation every test here runs: the tiny model on t/p.jsonl, chatml, quiet, into t/out.
eval::EvalConfig tiny_eval(const TempDir& t, const std::string& out, int max_new_tokens) {
  eval::EvalConfig c;
  c.model_dir = t / "model";
  c.data = {t / "p.jsonl"};
  c.out_dir = t / out;
  c.chat_template = "chatml";
  c.max_new_tokens = max_new_tokens;
  c.quiet = true;
  return c;
}
}  // namespace

TEST(EvalRun, EndToEndAndResumable) {
  TempDir t;
  write_tiny_model(t / "model", 32, 1, 2);
  write_problems(t / "p.jsonl");
  eval::EvalConfig c = tiny_eval(t, "ev", 8);
  c.limit = 5;
  c.chunk = 2;
  auto s1 = eval::eval_run(c);
  EXPECT_EQ(s1.items, 5);
  c.limit = 0;
  auto s2 = eval::eval_run(c);
  EXPECT_EQ(s2.items, 12);
  auto rs = eval::eval_read_results(t / "ev/results.jsonl");
  ASSERT_EQ(rs.size(), 12u);
  std::set<std::string> ids;
  for (auto& r : rs) ids.insert(r.id);
  EXPECT_EQ(ids.size(), 12u) << "resume must not redo or duplicate items";
  auto m = json::parse(fs_read_text(t / "ev/metrics.json"));
  EXPECT_EQ(m["overall"]["n"], 12);
  EXPECT_EQ(m["by_split"]["test"]["n"], 6);
  EXPECT_EQ(m["by_probe"]["P2"]["n"], 6);
  EXPECT_EQ(m["pairs"]["P2"]["pairs"], 6);
  // a torn last line (crash mid-write) is dropped and redone
  std::string text = fs_read_text(t / "ev/results.jsonl");
  fs_write_atomic(t / "ev/results.jsonl", text.substr(0, text.size() - 20));
  auto s3 = eval::eval_run(c);
  EXPECT_EQ(s3.items, 12);
  EXPECT_EQ(eval::eval_read_results(t / "ev/results.jsonl").size(), 12u);
  // Never resume another evaluation's items: other generation settings, or other weights.
  auto error_of = [&](const eval::EvalConfig& cc) -> std::string {
    try {
      eval::eval_run(cc);
    } catch (const tsft::Error& e) {
      return e.what();
    }
    return "";
  };
  eval::EvalConfig longer = c;
  longer.max_new_tokens = 9;
  EXPECT_NE(error_of(longer).find("max_new_tokens changed"), std::string::npos) << error_of(longer);
  std::filesystem::last_write_time(
      t / "model/model.safetensors",
      std::filesystem::last_write_time(t / "model/model.safetensors") + std::chrono::seconds(5));
  std::string e = error_of(c);
  EXPECT_NE(e.find("model_files changed"), std::string::npos) << e;
  EXPECT_NE(e.find("new --out"), std::string::npos) << e;
  std::filesystem::remove(t / "ev/eval_run.json");  // results of unknown origin
  EXPECT_NE(error_of(c).find("no eval_run.json"), std::string::npos);
}

// An evaluation resumed in pieces writes the same results.jsonl and metrics.json bytes as one run (the
// metrics once carried the last invocation's token counts and seconds; those are in generation.json),
// and a killed run's temp files are removed.
TEST(EvalRun, ResumedInPiecesEqualsOneRun) {
  TempDir t;
  write_tiny_model(t / "model", 32, 1, 2);
  write_problems(t / "p.jsonl");
  eval::EvalConfig c = tiny_eval(t, "one", 8);
  c.chunk = 3;
  eval::eval_run(c);
  c.out_dir = t / "pieces";
  for (int64_t limit : {2, 5, 0}) {
    c.limit = limit;
    eval::eval_run(c);
    fs_write_atomic(t / "pieces/.results.jsonl.tsft-tmp-99999-0", "{\"id\"");
  }
  eval::eval_run(c);
  EXPECT_FALSE(std::filesystem::exists(t / "pieces/.results.jsonl.tsft-tmp-99999-0"));
  for (const char* f : {"results.jsonl", "metrics.json"})
    EXPECT_EQ(fs_read_text(t / (std::string("pieces/") + f)), fs_read_text(t / (std::string("one/") + f)))
        << f;
  auto g = json::parse(fs_read_text(t / "pieces/generation.json"));
  EXPECT_EQ(g["items_generated"], 0) << "the last invocation had nothing left to do";
}

TEST(EvalRun, MetricsFromHandMadeResults) {
  auto item = [](std::string id, std::string probe, std::string parent, std::string gold, std::string out,
                 bool ok) {
    eval::ItemResult r;
    r.id = id;
    r.split = probe.empty() ? "test" : "probe/" + probe;
    r.probe = probe;
    r.parent_id = parent;
    r.gold = gold;
    r.output = out;
    r.correct = ok;
    r.theorems = {"pyth"};
    return r;
  };
  std::vector<eval::ItemResult> rs = {
      item("a", "", "", "5", "\\boxed{5}", true),
      item("b", "", "", "7", "\\boxed{7}", true),
      item("c", "", "", "9", "\\boxed{1}", false),
      item("d", "", "", "4", "\\boxed{4}", true),
      item("a2", "P2", "a", "6", "\\boxed{5}", false),  // copies the parent's gold
      item("b2", "P2", "b", "8", "\\boxed{8}", true),
      item("c2", "P2", "c", "10", "\\boxed{10}", true),
      item("d2", "P2", "d", "3", "\\boxed{2}", false),
      item("a9", "P9", "a", "\\text{cannot be determined}", "It cannot be determined.", true)};
  json m = eval::eval_metrics(rs);
  EXPECT_EQ(m["overall"]["n"], 9);
  EXPECT_EQ(m["by_theorem"]["pyth"]["correct"], 6);
  json p = m["pairs"]["P2"];
  EXPECT_EQ(p["pairs"], 4);
  EXPECT_DOUBLE_EQ(p["parent_accuracy"].get<double>(), 0.75);
  EXPECT_DOUBLE_EQ(p["variant_accuracy"].get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(p["drop"].get<double>(), 0.25);
  EXPECT_DOUBLE_EQ(p["pair_consistency"].get<double>(), 0.25);  // only b/b2 both right
  EXPECT_DOUBLE_EQ(p["answer_copy_rate"].get<double>(), 0.25);  // a2 output = parent gold 5
  EXPECT_DOUBLE_EQ(m["pairs"]["P9"]["premise_flag_rate"].get<double>(), 1.0);
}

// results.jsonl is read back on resume and by report/compare: a hand-edited line with a field of the wrong
// type is refused naming file, line and field (it used to escape as a bare nlohmann type_error).
TEST(EvalRun, MistypedResultFieldsNameFileLineAndField) {
  TempDir t;
  const std::string p = t / "r.jsonl";
  const std::string good = R"({"id":"a","correct":true,"new_tokens":3,"theorems":["T1"]})";
  fs_write_atomic(p, good + "\n");
  ASSERT_EQ(eval::eval_read_results(p).size(), 1u);
  const std::vector<std::pair<std::string, std::string>> bad = {
      {R"({"id":7,"correct":true})", "field 'id' must be a string"},
      {R"({"id":"b","correct":"yes"})", "field 'correct' must be true or false"},
      {R"({"id":"b","correct":true,"gold":5})", "field 'gold' must be a string"},
      {R"({"id":"b","correct":true,"new_tokens":-1})", "field 'new_tokens' must be a non-negative integer"},
      {R"({"id":"b","correct":true,"new_tokens":"3"})", "field 'new_tokens' must be a non-negative integer"},
      {R"({"id":"b","correct":true,"theorems":[1]})", "field 'theorems' must be a list of strings"},
  };
  for (auto& [line, msg] : bad) {
    fs_write_atomic(p, good + "\n" + line + "\n");
    try {
      eval::eval_read_results(p);
      ADD_FAILURE() << line;
    } catch (const tsft::Error& e) {
      EXPECT_NE(std::string(e.what()).find(p + ":2: " + msg), std::string::npos) << e.what();
    }
  }
}

// The JSONL readers of tsft eval (the shared core/jsonl.hpp reader): results.jsonl drops only a torn last
// line (a kill mid-append) and names file:line for anything else; a problem file is strict, and --limit
// stops reading at the limit (a bad line after it is never read).
TEST(EvalRun, ReadersDropOnlyATornTailAndNameFileAndLine) {
  TempDir t;
  EXPECT_TRUE(eval::eval_read_results(t / "none.jsonl").empty()) << "no results yet";
  std::string good = R"({"id":"a","correct":true})";
  fs_write_atomic(t / "r.jsonl", good + "\n" + R"({"id":"b","corr)");
  EXPECT_EQ(eval::eval_read_results(t / "r.jsonl").size(), 1u);
  fs_write_atomic(t / "r.jsonl", good + "\n" + R"({"id":"b","corr)" + "\n" + good + "\n");
  try {
    eval::eval_read_results(t / "r.jsonl");
    ADD_FAILURE() << "a bad line before the last is corruption, not a torn tail";
  } catch (const tsft::Error& e) {
    EXPECT_NE(std::string(e.what()).find(t / "r.jsonl" + ":2: invalid JSON"), std::string::npos) << e.what();
  }

  write_tiny_model(t / "model", 32, 1, 2);
  write_problems(t / "p.jsonl");
  fs_write_atomic(t / "p.jsonl", fs_read_text(t / "p.jsonl") + "{\"id\": \"bad\", \n");
  eval::EvalConfig c = tiny_eval(t, "ev", 4);
  c.limit = 2;
  EXPECT_EQ(eval::eval_run(c).items, 2);
  c.limit = 0;
  try {
    eval::eval_run(c);
    ADD_FAILURE() << "the bad last line of a problem file is an error";
  } catch (const tsft::Error& e) {
    EXPECT_NE(std::string(e.what()).find(t / "p.jsonl" + ":13: invalid JSON"), std::string::npos) << e.what();
  }
}
