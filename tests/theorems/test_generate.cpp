#include <gtest/gtest.h>
#include <omp.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "core/error.hpp"
#include "theorems/render.hpp"
#include "util.hpp"

using namespace tsft;
using tsft_test::Files;

namespace {

const Files& default_files() {
  static Files f = [] {
    GenConfig c = tsft_test::small_config();
    c.format = "mc";
    return tsft_test::generate(c);
  }();
  return f;
}

std::string read_all(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

TEST(Generate, DeterministicAcrossRunsAndThreadCounts) {
  GenConfig c = tsft_test::small_config(800, 100, 50);
  c.seed = 7;
  auto collect = [&](int threads) {
    omp_set_num_threads(threads);
    std::string all;
    World w(tsft_test::catalog(), c);
    gen_stream(w, [&](const std::string& f, const std::string& l) { all += f + "\t" + l + "\n"; });
    return all;
  };
  std::string a = collect(1), b = collect(2), d = collect(2);
  omp_set_num_threads(2);
  EXPECT_EQ(a, b);
  EXPECT_EQ(b, d);
  c.seed = 8;
  EXPECT_NE(collect(2), b);
}

TEST(Generate, OutputFilesByteIdentical) {
  namespace fs = std::filesystem;
  GenConfig c = tsft_test::small_config(500, 60, 30);
  auto run = [&](const std::string& name) {
    fs::path d = fs::temp_directory_path() / name;
    fs::remove_all(d);
    World w(tsft_test::catalog(), c);
    gen_run(w, d.string(), true);
    return d;
  };
  fs::path a = run("tsft_gen_a"), b = run("tsft_gen_b");
  int files = 0;
  for (auto& e : fs::recursive_directory_iterator(a)) {
    if (!e.is_regular_file()) continue;
    fs::path rel = fs::relative(e.path(), a);
    EXPECT_EQ(read_all(e.path().string()), read_all((b / rel).string())) << rel;
    ++files;
  }
  EXPECT_GE(files, 15);  // 4 splits + 11 probes (open format) + corpus + manifest
  auto man = nlohmann::json::parse(read_all((a / "manifest.json").string()));
  EXPECT_EQ(man["counts"]["train"]["total"], 500);
  EXPECT_EQ(man["catalog_hash"], tsft_test::catalog().hash);
  EXPECT_GT(man["corpus"]["documents"].get<long>(), 1000);
  fs::remove_all(a);
  fs::remove_all(b);
}

TEST(Generate, NoLeakageIntoEvaluationSplits) {
  const Files& f = default_files();
  std::set<std::string> train_text, train_values, train_families, train_persons;
  const auto& cat = tsft_test::catalog();
  for (auto& p : f.at("train")) {
    train_text.insert(p["question"]);
    train_values.insert(p["values_key"]);
    train_families.insert(p["family"]);
  }
  int checked = 0;
  for (auto& [name, items] : f) {
    if (name == "train") continue;
    for (auto& p : items) {
      ++checked;
      ASSERT_FALSE(train_text.count(p["question"])) << name << " " << p["id"];
      if (name == "probe_P2") {  // unseen numbers
        EXPECT_FALSE(train_values.count(p["values_key"])) << p["id"];
      }
      if (name == "compositional") {
        EXPECT_FALSE(train_families.count(p["family"])) << p["family"];
      }
      if (name == "probe_P1") {  // only held-out names
        for (auto& n : cat.train.persons)
          EXPECT_EQ(p["question"].get<std::string>().find(n + " "), std::string::npos);
      }
    }
  }
  EXPECT_GT(checked, 3000);
  // Compositional pairs exist and each probe item links to a real test parent.
  std::set<std::string> test_ids;
  for (auto& p : f.at("test")) test_ids.insert(p["id"]);
  for (auto& [name, items] : f)
    if (name.rfind("probe_", 0) == 0) {
      for (auto& p : items) ASSERT_TRUE(test_ids.count(p["parent_id"])) << p["id"];
    }
}

TEST(Generate, ProbesHaveTheirDefiningProperty) {
  const Files& f = default_files();
  std::map<std::string, nlohmann::json> test;
  for (auto& p : f.at("test")) test[p["id"]] = p;
  for (int k = 1; k <= 12; ++k) {
    std::string key = "probe_P" + std::to_string(k);
    ASSERT_TRUE(f.count(key)) << key;
    EXPECT_GT(f.at(key).size(), 20u) << key;
    for (auto& p : f.at(key)) {
      const auto& par = test.at(p["parent_id"]);
      EXPECT_EQ(p["perturbation"], "P" + std::to_string(k));
      if (k == 1 || k == 4 || k == 5 || k == 11) {
        EXPECT_EQ(p["answer_value"], par["answer_value"]) << p["id"];
      }
      if (k == 8 || k == 9) {
        EXPECT_EQ(p["answer_value"], kCannotBeDetermined) << p["id"];
      }
      if (k == 12) {
        EXPECT_NE(p["answer"], par["answer"]) << p["id"];
      }
      if (k == 6) {
        EXPECT_NE(p["bindings"].back()["target"], par["bindings"].back()["target"]);
      }
      if (k == 7) {
        EXPECT_NE(p["theorems"].size(), par["theorems"].size());
      }
      if (k == 10) {
        EXPECT_NE(p["answer_value"], par["answer_value"]) << p["id"];
      }
      if (k == 5) {
        EXPECT_TRUE(std::set<std::string>({"temperature", "page", "floor"}).count(p["distractor_kind"]));
      }
      if (k == 4) {
        EXPECT_TRUE(
            std::set<std::string>({"question_first", "setup_last", "swap_first_two"}).count(p["order_kind"]));
      }
    }
  }
  // Open format: no P12.
  GenConfig c = tsft_test::small_config(300, 40, 10);
  auto open = tsft_test::generate(c);
  EXPECT_FALSE(open.count("probe_P12"));
  EXPECT_FALSE(open.at("test")[0].contains("options"));
}

TEST(Generate, ArmInvariants) {
  const Files& f = default_files();
  long n = 0;
  for (auto& [name, items] : f) {
    for (auto& p : items) {
      std::string thm = render_target(p, Arm::kTheorem), van = render_target(p, Arm::kVanilla);
      std::string vm = render_target(p, Arm::kVanillaMatched), ao = render_target(p, Arm::kAnswerOnly);
      std::string box = render_box(p), exec = render_exec_block(p);
      // Same computation lines and the same final box.
      ASSERT_EQ(van, (exec.empty() ? "" : exec + "\n") + box);
      ASSERT_EQ(ao, box);
      ASSERT_EQ(thm.substr(thm.size() - box.size()), box);
      size_t pos = 0;
      for (auto& st : p["solution"]["steps"])
        for (auto& l : st["exec"]) {
          pos = thm.find(l.get<std::string>(), pos);
          ASSERT_NE(pos, std::string::npos) << p["id"];
        }
      ASSERT_EQ(vm.substr(vm.size() - van.size()), van);
      double a = render_token_count(thm), b = render_token_count(vm);
      ASSERT_LE(std::abs(a - b), 0.05 * a) << p["id"] << "\n" << thm << "\n----\n" << vm;
      ASSERT_NE(thm.find("Theorem: "), std::string::npos);
      if (!p["answer_value"].get<std::string>().empty() && p["answer_value"] != kCannotBeDetermined) {
        ASSERT_NE(thm.find("Map: "), std::string::npos);
      }
      // Same prompt and id in every arm.
      for (Arm arm : {Arm::kTheorem, Arm::kVanilla, Arm::kVanillaMatched, Arm::kAnswerOnly}) {
        auto chat = render_chat(p, arm);
        ASSERT_EQ(chat["id"], p["id"]);
        ASSERT_EQ(chat["messages"][0]["content"], p["question"]);
      }
      ++n;
    }
  }
  EXPECT_GT(n, 5000);
}

TEST(Generate, ConfigKnobs) {
  // Cue rate.
  for (double rate : {0.0, 1.0}) {
    GenConfig c = tsft_test::small_config(600, 50, 50);
    c.cue_rate = rate;
    World w(tsft_test::catalog(), c);
    auto f = tsft_test::generate(c);
    for (auto& p : f.at("train")) {
      int th = w.catalog().theorem_index(p["theorems"].back());
      bool home = p["cue"]["context"] == w.catalog().contexts[w.home_context(th)].id;
      EXPECT_EQ(home, rate == 1.0) << p["id"];
      EXPECT_EQ(p["cue"]["planted"].get<bool>(), rate == 1.0);
    }
    // Counterfactual: never the home context.
    for (auto& p : f.at("counterfactual")) {
      int th = w.catalog().theorem_index(p["theorems"].back());
      EXPECT_NE(p["cue"]["context"], w.catalog().contexts[w.home_context(th)].id) << p["id"];
    }
  }
  // Reorder / distractor fractions and held-out kinds.
  {
    GenConfig c = tsft_test::small_config(1000, 100, 20);
    c.reorder_fraction = 1.0;
    c.distractor_fraction = 0.5;
    c.order_kinds_train = {"reverse_givens"};
    c.order_kinds_heldout = {"question_first"};
    c.distractor_kinds_heldout = {"age", "bus"};
    auto f = tsft_test::generate(c);
    long distracted = 0;
    for (auto& p : f.at("train")) {
      EXPECT_EQ(p["order_kind"], "reverse_givens");
      std::string dk = p["distractor_kind"];
      EXPECT_TRUE(dk != "age" && dk != "bus");
      distracted += !dk.empty();
    }
    EXPECT_NEAR(distracted / 1000.0, 0.5, 0.06);
    for (auto& p : f.at("probe_P4")) EXPECT_EQ(p["order_kind"], "question_first");
    for (auto& p : f.at("probe_P5"))
      EXPECT_TRUE(p["distractor_kind"] == "age" || p["distractor_kind"] == "bus");
    c.reorder_fraction = 0.0;
    c.distractor_fraction = 0.0;
    auto plain = tsft_test::generate(c);
    for (auto& p : plain.at("train")) {
      EXPECT_EQ(p["order_kind"], "");
      EXPECT_EQ(p["distractor_kind"], "");
    }
  }
  // Number ranges: a per-theorem override and the global scale.
  {
    GenConfig c = tsft_test::small_config(400, 20, 10);
    c.theorems = {"pythagoras", "triangle_area"};
    c.ranges["pythagoras"]["a"] = {3, 3, 1};
    c.ranges["triangle_area"]["b"] = {4, 40, 4};
    c.chain_fraction = 0;
    c.unanswerable_fraction = c.violation_fraction = 0;
    auto f = tsft_test::generate(c);
    for (auto& p : f.at("train")) {
      auto& s = p["bindings"].at(0)["slots"];
      if (p["family"] == "pythagoras") {
        EXPECT_EQ(s["a"]["value"], "3");
      }
      if (p["family"] == "triangle_area") {
        long b = std::stol(s["b"]["value"].get<std::string>());
        EXPECT_TRUE(b % 4 == 0 && b >= 4 && b <= 40) << b;
      }
    }
    c.ranges.clear();
    c.range_scale = 3.0;
    long big = 0;
    auto scaled = tsft_test::generate(c);
    for (auto& p : scaled.at("train"))
      if (p["family"] == "triangle_area")
        big += std::stol(p["bindings"].at(0)["slots"]["b"]["value"].get<std::string>()) > 20;
    EXPECT_GT(big, 50);
  }
  // Per-split sizes and the theorem filter.
  {
    GenConfig c = tsft_test::small_config(123, 45, 6);
    c.sizes["compositional"] = 7;
    c.probe_parents = 10;
    nlohmann::json man;
    auto f = tsft_test::generate(c, &man);
    EXPECT_EQ(f.at("train").size(), 123u);
    EXPECT_EQ(f.at("test").size(), 45u);
    EXPECT_EQ(f.at("counterfactual").size(), 6u);
    EXPECT_EQ(f.at("compositional").size(), 7u);
    EXPECT_LE(f.at("probe_P1").size(), 10u);
    EXPECT_EQ(man["probe_parents"], 10);
  }
}

TEST(Generate, ConfigFileParsing) {
  std::string text = R"(
[experiment]
name = "x"
[gen]
seed = 5
format = "mc"
cue_rate = 1.0
reorder_fraction = 0.25
distractor_kinds_heldout = ["page"]
[gen.sizes]
train = 10
probe_parents = 3
[gen.ranges.pythagoras]
a = [2, 4]
[gen.corpus]
drill_max = 20
)";
  GenConfig c = gen_config_from_toml_text(text, "inline.toml");
  EXPECT_EQ(c.seed, 5u);
  EXPECT_EQ(c.format, "mc");
  EXPECT_EQ(c.sizes["train"], 10);
  EXPECT_EQ(c.probe_parents, 3);
  EXPECT_EQ(c.ranges["pythagoras"]["a"][1], 4);
  EXPECT_EQ(c.corpus_drill_max, 20);
  try {
    gen_config_from_toml_text("[gen]\ncue_rat = 0.5\n", "typo.toml");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cue_rat"), std::string::npos);
  }
  EXPECT_THROW(gen_config_from_toml_text("[gen]\ncue_rate = 1.5\n", "x.toml"), Error);
  EXPECT_THROW(gen_config_from_toml_text("[gen]\nprobes = [\"P13\"]\n", "x.toml"), Error);
  // The example configs in configs/ parse.
  for (auto name : {"gen_default.toml", "gen_smoke.toml", "gen_cue_test.toml"})
    EXPECT_NO_THROW(gen_config_load(std::string(TSFT_SOURCE_DIR) + "/configs/" + name)) << name;
}

TEST(Generate, AmbiguousPairsShareFrames) {
  // Confusable theorems share templates and differ in one structural word, so in the counterfactual
  // split only that word (not the context) identifies the theorem.
  const auto& cat = tsft_test::catalog();
  int pairs = 0;
  for (auto& th : cat.theorems) {
    if (th.confusable.empty()) continue;
    const auto& o = cat.theorems[cat.theorem_index(th.confusable)];
    EXPECT_EQ(o.confusable, th.id);
    EXPECT_NE(th.kind_word, o.kind_word);
    ++pairs;
    int shared = 0;
    for (auto& a : th.templates)
      for (auto& b : o.templates)
        shared +=
            a.setup == b.setup && a.ask == b.ask && (a.setup + a.ask).find("{kind}") != std::string::npos;
    EXPECT_GE(shared, 3) << th.id;
  }
  EXPECT_GE(pairs, 6);
}

TEST(GenE2E, CliGenShowRender) {
  namespace fs = std::filesystem;
  if (!fs::exists(TSFT_TSFT_BIN)) GTEST_SKIP() << "tsft binary not built";
  fs::path d = fs::temp_directory_path() / "tsft_cli_gen";
  fs::remove_all(d);
  std::string cfg = std::string(TSFT_SOURCE_DIR) + "/configs/gen_smoke.toml";
  std::string cmd =
      std::string(TSFT_TSFT_BIN) + " gen --config " + cfg + " --out " + d.string() + " --corpus > /dev/null";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  ASSERT_TRUE(fs::exists(d / "manifest.json"));
  ASSERT_TRUE(fs::exists(d / "corpus.jsonl"));
  for (const std::string& arm : render_arm_names()) {
    std::string out = (d / (arm + ".jsonl")).string();
    std::string r = std::string(TSFT_TSFT_BIN) + " render --in " + (d / "problems/train.jsonl").string() +
                    " --arm " + arm + " --out " + out + " > /dev/null";
    ASSERT_EQ(std::system(r.c_str()), 0) << arm;
    std::ifstream in(out);
    std::string line;
    std::getline(in, line);
    auto j = nlohmann::json::parse(line);
    EXPECT_EQ(j["messages"].size(), 2u);
  }
  std::string bad = std::string(TSFT_TSFT_BIN) + " render --in x --arm nope --out y > /dev/null 2>&1";
  EXPECT_EQ(WEXITSTATUS(std::system(bad.c_str())), 2);
  fs::remove_all(d);
}

// Step drills (configs/theorem_world.toml): the corpus teaches the arithmetic lines of exactly the
// computations the problems ask for. Two theorems with small value spaces (13 x 13 angle pairs,
// 5 x 5 x 4 outfit counts) and enough draws that every combination is hit: every arithmetic line of
// every test item and every P2 (held-out combination) item must be among the step drills, each once.
TEST(Generate, StepDrillsCoverEverySolutionLineOnce) {
  GenConfig c = tsft_test::small_config(300, 100, 0);
  c.theorems = {"triangle_angle_sum", "product_rule"};
  c.corpus_step_drills = 3000;
  c.corpus_drill_repeats = 0;
  c.corpus_examples_per_theorem = 5;
  World w(tsft_test::catalog(), c);
  auto step_lines = [](const std::string& corpus) {
    std::multiset<std::string> out;
    std::istringstream in(corpus);
    for (std::string line; std::getline(in, line);) {
      auto d = nlohmann::json::parse(line);
      if (d["kind"] != "step") continue;
      std::istringstream t(d["text"].get<std::string>());
      for (std::string s; std::getline(t, s);) out.insert(s);
    }
    return out;
  };
  std::multiset<std::string> steps;
  std::map<std::string, int> kinds;
  std::string corpus = gen_corpus(w);
  std::istringstream in(corpus);
  for (std::string line; std::getline(in, line);) {
    auto d = nlohmann::json::parse(line);
    std::string kind = d["kind"], text = d["text"];
    ++kinds[kind];
    if (kind == "example") {
      EXPECT_NE(text.find("Known: "), std::string::npos) << text;
    }  // restatement
    if (kind != "step") continue;
    std::istringstream t(text);
    for (std::string s; std::getline(t, s);) steps.insert(s);
  }
  EXPECT_EQ(kinds.count("drill"), 0u);  // drill_repeats = 0
  ASSERT_GT(kinds["step"], 0);
  for (auto& s : steps) EXPECT_EQ(steps.count(s), 1u) << s;
  EXPECT_EQ(step_lines(corpus), steps);
  {  // step_repeats: every fact that many times
    GenConfig c3 = c;
    c3.corpus_step_repeats = 3;
    auto again = step_lines(gen_corpus(World(tsft_test::catalog(), c3)));
    EXPECT_EQ(again.size(), 3 * steps.size());
    for (auto& s : steps) EXPECT_EQ(again.count(s), 3u) << s;
  }
  Files f = tsft_test::generate(c);
  long checked = 0;
  for (const char* name : {"test", "probe_P2"})
    for (auto& p : f[name])
      for (auto& st : p["solution"]["steps"])
        for (auto& e : st["exec"]) {
          std::string fact = exec_line_fact(e.get<std::string>());
          if (fact.empty()) continue;
          EXPECT_TRUE(steps.count(fact)) << name << " " << p["id"] << ": " << e;
          ++checked;
        }
  EXPECT_GT(checked, 150);
}

TEST(Generate, ExecLineFact) {
  EXPECT_EQ(exec_line_fact("\\angle N = 180 - 20 - 80 = 80"), "180 - 20 - 80 = 80");
  EXPECT_EQ(exec_line_fact("7 x = 26 - 19 = 7"), "26 - 19 = 7");
  EXPECT_EQ(exec_line_fact("67 = 6 \\times 11 + 1"), "67 = 6 \\times 11 + 1");
  EXPECT_EQ(exec_line_fact("N = 5 \\times 4 \\times 2 = 40"), "5 \\times 4 \\times 2 = 40");
  EXPECT_EQ(exec_line_fact("r = 1"), "");
  EXPECT_EQ(exec_line_fact("x = (c - b) / a"), "");
  EXPECT_EQ(exec_line_fact("The number of outfits cannot be computed: the number of shirts is not given."),
            "");
}
