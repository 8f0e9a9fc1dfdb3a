// Defaults in one place: the options of tsft train / tsft pretrain show the schema's defaults and help
// text (train/train_schema.cpp), TrainConfig starts from them, and the schema's ranges and choices are
// enforced by the CLI.
#include <gtest/gtest.h>

#include <regex>
#include <sstream>

#include "test_util.hpp"
#include "train/train_schema.hpp"
#include "train/trainer.hpp"

using namespace tsft;
using namespace tsft_test;

namespace {

// "--flag TYPE=VALUE   help" lines of `tsft CMD --help` (TYPE:{choices}, and the help on the next line
// when the first is long): flag -> (value, help).
std::map<std::string, std::pair<std::string, std::string>> help_defaults(const std::string& cmd) {
  CmdResult r = run_cmd(tsft_bin() + " " + cmd + " --help");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  std::map<std::string, std::pair<std::string, std::string>> out;
  std::istringstream in(r.output);
  std::string line;
  std::regex re(R"(^\s+(--[a-z0-9-]+) [A-Z]+(?::\{[^}]*\})?=(\S+)\s*(.*)$)");
  std::smatch m;
  std::string pending;
  while (std::getline(in, line)) {
    if (!pending.empty()) out[pending].second = line.substr(line.find_first_not_of(' '));
    pending.clear();
    if (!std::regex_match(line, m, re)) continue;
    out[m[1]] = {m[2], m[3]};
    if (m[3].str().empty()) pending = m[1];
  }
  return out;
}

std::string flag_of(const std::string& key) {
  std::string f = "--" + key;
  for (auto& ch : f)
    if (ch == '_') ch = '-';
  return f;
}

}  // namespace

TEST(TrainSchema, CliDefaultsAndHelpAreTheSchemas) {
  for (bool pretrain : {false, true}) {
    auto shown = help_defaults(pretrain ? "pretrain" : "train");
    for (const schema::Key& k : train_schema(pretrain).keys) {
      if (pretrain && k.name == "early_stop_metric") continue;  // SFT only (needs decoded problems)
      std::string flag = flag_of(k.name);
      ASSERT_TRUE(shown.count(flag)) << flag << " has no default in --help (pretrain " << pretrain << ")";
      auto [value, help] = shown[flag];
      EXPECT_NE(help.find(k.help.substr(0, 30)), std::string::npos) << flag << ": help is not the schema's";
      if (k.type == schema::Type::String)
        EXPECT_EQ(value, k.def.get<std::string>()) << flag;
      else  // printed by CLI11 from the variable: compare as numbers
        EXPECT_DOUBLE_EQ(std::stod(value), k.def.get<double>()) << flag << " (pretrain " << pretrain << ")";
    }
  }
  EXPECT_DOUBLE_EQ(train_key("lr", true).def.get<double>(), 1e-3);  // pre-training's own rate
}

TEST(TrainSchema, TrainConfigStartsFromTheSchema) {
  TrainConfig c;
  EXPECT_EQ(c.block, train_default<int>("block"));
  EXPECT_EQ(c.max_steps, train_default<int64_t>("steps"));
  EXPECT_EQ(c.schedule, train_default<std::string>("schedule"));
  EXPECT_EQ(c.adam.lr, train_default<double>("lr"));
  EXPECT_EQ(c.adam.clip, train_default<double>("clip"));
  EXPECT_EQ(c.keep_last, train_default<int>("keep_last"));
  EXPECT_EQ(c.nonfinite, train_default<std::string>("nonfinite"));
}

TEST(TrainSchema, CliEnforcesRangesAndChoices) {
  for (const char* bad :
       {"--lr -1", "--micro-batch 0", "--beta2 1.5", "--schedule cosin", "--nonfinite ignore"}) {
    CmdResult r = run_cmd(tsft_bin() + " train --data x --out y " + bad);
    EXPECT_EQ(r.exit_code, 2) << bad << ": " << r.output;
    std::string flag = std::string(bad).substr(0, std::string(bad).find(' '));
    EXPECT_NE(r.output.find(flag), std::string::npos) << bad << ": " << r.output;
  }
}
