// A base that favours neither arm (issue 12 item 5): with [gen.corpus] restatement = false and
// theorem_names = false, and [instruct] style = "neutral", neither the pre-training corpus nor the
// instruction data contains an arm's target shape: no Theorem / Cond / Map line, no "Known: ... Asked:"
// restatement, no theorem named in a worked example, and no answer of the vanilla shape
// "lhs = rhs\n\boxed{rhs}" (no \boxed at all). The same detectors fire on the default (primed) settings,
// so the test can fail.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>

#include "core/fs.hpp"
#include "data/instruct.hpp"
#include "test_util.hpp"
#include "theorems/generate.hpp"

using namespace tsft_test;
using json = nlohmann::json;

namespace {

struct Streams {
  std::vector<json> corpus, chat;
  std::vector<std::string> names;  // the active theorems' names
};

Streams make(bool neutral, const TempDir& t) {
  tsft::GenConfig c = tsft::gen_config_load(std::string(TSFT_SOURCE_DIR) + "/configs/smoke.toml");
  c.corpus_restatement = c.corpus_theorem_names = !neutral;
  c.corpus_examples_per_theorem = 3;
  tsft::Catalog cat = tsft::catalog_load(tsft::catalog_default_dir());
  tsft::World w(cat, c);
  std::string dir = t / (neutral ? "neutral" : "primed");
  tsft::gen_run(w, dir, true);
  tsft::data::instruct_write(dir + "/corpus.jsonl", dir + "/chat.jsonl", 400, 1,
                             tsft::data::instruct_style_parse(neutral ? "neutral" : "vanilla"));
  Streams s;
  for (int i : w.active()) s.names.push_back(cat.theorems[i].name);
  for (const char* f : {"/corpus.jsonl", "/chat.jsonl"}) {
    std::ifstream in(dir + f);
    for (std::string line; std::getline(in, line);)
      (f[1] == 'c' && f[2] == 'o' ? s.corpus : s.chat).push_back(json::parse(line));
  }
  return s;
}

// What an arm's target shape leaves in a text: the first hit, or "".
std::string arm_shape(const std::string& text) {
  static const std::regex line_kind("(^|\n)(Theorem:|Cond|Map|Exec)");
  static const std::regex vanilla_answer("^[^\n]* = [^\n]*\n\\\\boxed\\{[^\n]*\\}$");
  std::smatch m;
  if (std::regex_search(text, m, line_kind)) return "a " + m[2].str() + " line";
  if (std::regex_match(text, vanilla_answer)) return "the vanilla answer shape";
  for (const char* s : {"\\boxed", "Known:", "Asked:"})
    if (text.find(s) != std::string::npos) return s;
  return "";
}

// Every hit of `s`: arm shapes in any corpus document or assistant answer, theorem names in examples.
std::vector<std::string> hits(const Streams& s) {
  std::vector<std::string> out;
  for (auto& d : s.corpus) {
    std::string text = d["text"], why = arm_shape(text);
    if (!why.empty()) out.push_back(why + " in corpus " + d["kind"].get<std::string>() + ": " + text);
    if (d["kind"] == "example")
      for (auto& n : s.names)
        if (text.find(n) != std::string::npos) out.push_back("theorem name '" + n + "' in example: " + text);
  }
  for (auto& c : s.chat) {
    std::string a = c["messages"][1]["content"], why = arm_shape(a);
    if (!why.empty()) out.push_back(why + " in instruct answer: " + a);
  }
  return out;
}

}  // namespace

TEST(NeutralBase, CorpusAndInstructDataCarryNeitherArmsShape) {
  TempDir t;
  Streams s = make(true, t);
  long examples = 0;
  for (auto& d : s.corpus) examples += d["kind"] == "example";
  ASSERT_GT(examples, 5);
  ASSERT_EQ(s.chat.size(), 400u);
  std::vector<std::string> h = hits(s);
  EXPECT_TRUE(h.empty()) << h.size() << " hits, first: " << h[0];
  for (auto& c : s.chat) {
    std::string a = c["messages"][1]["content"];
    EXPECT_TRUE(a.rfind("The answer is ", 0) == 0 || a.rfind("Here it is: ", 0) == 0) << a;
  }
}

TEST(NeutralBase, TheDetectorsFireOnThePrimedDefaults) {
  TempDir t;
  Streams s = make(false, t);
  std::vector<std::string> h = hits(s);
  auto any = [&](const std::string& part) {
    for (auto& x : h)
      if (x.find(part) != std::string::npos) return true;
    return false;
  };
  EXPECT_TRUE(any("Known: in corpus example"));
  EXPECT_TRUE(any("theorem name"));
  EXPECT_TRUE(any("the vanilla answer shape in instruct answer"));
  EXPECT_TRUE(any("\\boxed in instruct answer"));  // copy drills: \boxed{X}
}

TEST(NeutralBase, StyleNamesAreChecked) {
  EXPECT_EQ(tsft::data::instruct_style_parse("neutral"), tsft::data::InstructStyle::kNeutral);
  EXPECT_EQ(tsft::data::instruct_style_parse(tsft::data::kInstructStyleDefault),
            tsft::data::InstructStyle::kVanilla);
  EXPECT_THROW(tsft::data::instruct_style_parse("prose"), std::exception);
}
