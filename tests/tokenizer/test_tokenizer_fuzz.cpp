// tokenizer.json and chat-template reproducers found by fuzz/fuzz_tokenizer.cpp and fuzz/fuzz_chat.cpp.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "fuzz_regression.hpp"
#include "test_util.hpp"
#include "tokenizer/chat.hpp"
#include "tokenizer/text_util.hpp"
#include "tokenizer/tokenizer.hpp"

namespace tsft::tokenizer {
namespace {

// An invalid Split regex raised an error that named the regex but not the tokenizer file.
TEST(TokenizerFuzz, BadSplitRegexNamesTheFile) {
  const std::string bytes = test::fuzz_regression_bytes("tokenizer", "bad-split-regex.json");
  test::expect_clean_error([&] { Tokenizer::from_json_text(bytes, "repro/tokenizer.json"); },
                           {"repro/tokenizer.json", "split regex"});
}

// A value of the wrong type (json::type_error) escaped as a non-tsft exception.
TEST(TokenizerFuzz, WrongTypeNamesTheFile) {
  test::expect_clean_error([&] { Tokenizer::from_json_text(R"({"model": {"type": 5}})", "t.json"); },
                           {"t.json"});
}

// A Sequence pre-tokenizer without "pretokenizers" ("pretokenisrc/" in the reproducer) was read with
// const json::operator[]: an assertion in debug builds, undefined behaviour with NDEBUG.
TEST(TokenizerFuzz, MissingSequenceKeyNamesTheFile) {
  const std::string bytes = test::fuzz_regression_bytes("tokenizer", "missing-pretokenizers-key.json");
  test::expect_clean_error([&] { Tokenizer::from_json_text(bytes, "seq.json"); },
                           {"seq.json", "pretokenizers"});
}

// A vocabulary id of 2e9 made the loader allocate 2e9-entry tables (ASan: out of memory); ids beyond
// int32 wrapped silently (2^32 + 1 -> 1).
TEST(TokenizerFuzz, HugeTokenIdIsRefused) {
  const std::string bytes = test::fuzz_regression_bytes("tokenizer", "huge-vocab-id.json");
  test::expect_clean_error([&] { Tokenizer::from_json_text(bytes, "big.json"); },
                           {"big.json", "model.vocab[\"a\"]", "out of range"});
  test::expect_clean_error(
      [&] { Tokenizer::from_json_text(R"({"model":{"vocab":{"a":4294967297},"merges":[]}})", "wrap.json"); },
      {"wrap.json", "out of range"});
}

// fuzz/regressions/chat/truncated-utf8-strip: a message ending in a truncated UTF-8 sequence made
// text_next_cp step past the end, and py_strip's substr threw std::out_of_range (escaping the parser).
TEST(ChatFuzz, TruncatedUtf8NeverReadsPastTheEnd) {
  size_t i = 0;
  text_next_cp("\xd2", i);
  EXPECT_EQ(i, 1u);
  const std::string bad = "tail \xd2";
  for (const std::string& family : chat_template_names()) {
    ChatRendered r = chat_render_text(family, {{"user", "x", {}}, {"assistant", bad, "why \xe2\x88"}}, {});
    EXPECT_NE(r.text.find("tail"), std::string::npos) << family;
  }
}

// tokenizer_config.json's chat_template list was read with value() on each entry: an entry that was not an
// object, or a "name" that was not a string, escaped as nlohmann's bare type_error (no file named).
TEST(TokenizerFuzz, ChatTemplateListEntriesAreCheckedAndNameTheFile) {
  tsft_test::TempDir t;
  std::filesystem::copy_file(tsft_test::fixture("tokenizers/qwen3/tokenizer.json"), t / "tokenizer.json");
  auto with_config = [&](const std::string& cfg) {
    std::ofstream(t / "tokenizer_config.json") << cfg;
    return Tokenizer(t / "tokenizer.json");
  };
  EXPECT_EQ(with_config(R"({"chat_template": [{"name": "tool_use", "template": "T"},
                                              {"name": "default", "template": "D"}]})")
                .chat_template_source(),
            "D");
  EXPECT_EQ(with_config(R"({"chat_template": "S"})").chat_template_source(), "S");
  const std::string cfg = t / "tokenizer_config.json";
  test::expect_clean_error([&] { with_config(R"({"chat_template": [1]})"); }, {cfg, "every entry"});
  test::expect_clean_error([&] { with_config(R"({"chat_template": [{"name": 2, "template": "D"}]})"); },
                           {cfg, "every entry"});
  test::expect_clean_error([&] { with_config(R"({"chat_template": 7})"); }, {cfg, "chat_template must be"});
}

}  // namespace
}  // namespace tsft::tokenizer
