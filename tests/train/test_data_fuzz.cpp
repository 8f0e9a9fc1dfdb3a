// Training-data JSONL reproducers (fuzz/regressions/jsonl, replayed by fuzz/fuzz_jsonl.cpp).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "fuzz_regression.hpp"
#include "train/data.hpp"

namespace tsft {
namespace {

// A number beyond double range (1e999) made nlohmann throw out_of_range, which the SFT reader did not
// catch (it caught only parse_error). Byte 0 of the reproducer is the fuzz target's reader selector.
TEST(DataFuzz, NumberOverflowIsAJsonError) {
  const std::string bytes = test::fuzz_regression_bytes("jsonl", "sft-number-overflow");
  const std::string path = ::testing::TempDir() + "sft-overflow-" + std::to_string(getpid()) + ".jsonl";
  std::ofstream(path, std::ios::binary) << bytes.substr(1);
  tokenizer::Tokenizer tok(std::string(TSFT_SOURCE_DIR) + "/fuzz/data/chat_tokenizer.json");
  DataOptions opt;
  opt.chat.template_name = "chatml";
  test::expect_clean_error([&] { data_load_sft(path, tok, opt, nullptr); }, {path + ":1", "invalid JSON"});
  std::remove(path.c_str());
}

}  // namespace
}  // namespace tsft
