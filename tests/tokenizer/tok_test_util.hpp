// Shared helpers of the tokenizer tests: fixture paths, JSONL reading, tokenizers loaded once.
#pragma once
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tokenizer/tokenizer.hpp"

namespace tsft::tokenizer::testing {

inline std::string fixtures_dir() {
  return std::string(TSFT_FIXTURES_DIR) + "/tokenizers";
}

inline std::vector<nlohmann::json> read_jsonl(const std::string& path) {
  std::ifstream f(path);
  EXPECT_TRUE(f.good()) << "cannot open " << path;
  std::vector<nlohmann::json> out;
  std::string line;
  while (std::getline(f, line))
    if (!line.empty()) out.push_back(nlohmann::json::parse(line));
  return out;
}

// Tokenizer fixtures by short name: qwen3, llama3, hf-qwen2, hf-llama3. Loaded once per process.
inline std::string tokenizer_path(const std::string& name) {
  if (name == "qwen3" || name == "llama3") return fixtures_dir() + "/" + name + "/tokenizer.json";
  if (name == "hf-qwen2") return fixtures_dir() + "/hf-trained/qwen2-bpe1500.tokenizer.json";
  if (name == "hf-llama3") return fixtures_dir() + "/hf-trained/llama3-bpe1500.tokenizer.json";
  return name;
}
inline std::string cases_path(const std::string& name) {
  if (name == "qwen3" || name == "llama3") return fixtures_dir() + "/" + name + "/cases.jsonl";
  if (name == "hf-qwen2") return fixtures_dir() + "/hf-trained/qwen2-bpe1500.cases.jsonl";
  return fixtures_dir() + "/hf-trained/llama3-bpe1500.cases.jsonl";
}
inline const Tokenizer& fixture_tokenizer(const std::string& name) {
  static std::map<std::string, std::unique_ptr<Tokenizer>> cache;
  auto& slot = cache[name];
  if (!slot) slot = std::make_unique<Tokenizer>(tokenizer_path(name));
  return *slot;
}

}  // namespace tsft::tokenizer::testing

namespace tsft::tokenizer::testing {

// The npm peer (Hugging Face `tokenizers`, native binding) in tests/node, installed by scripts/setup.sh.
// Returns "" when usable, else why not (the tests then skip with that message).
inline std::string node_peer_unavailable_reason() {
  std::string mod = std::string(TSFT_SOURCE_DIR) + "/tests/node/node_modules/tokenizers/package.json";
  if (std::system("node --version > /dev/null 2>&1") != 0) return "node is not installed";
  if (!std::ifstream(mod).good())
    return "npm package `tokenizers` is not installed in tests/node (run scripts/setup.sh; npm unreachable?)";
  return "";
}

// Run tests/node/tok_peer.js over `requests` (see there: {"text"[, "special"]} or {"ids"[, "skip_special"]})
// in one node process; returns one answer per request.
inline std::vector<nlohmann::json> run_node_peer(const std::string& tokenizer_json,
                                                 const std::vector<nlohmann::json>& requests) {
  static int counter = 0;
  std::string stem =
      ::testing::TempDir() + "/tsft_tok_peer_" + std::to_string(::getpid()) + "_" + std::to_string(counter++);
  std::string in = stem + "_in.jsonl", out = stem + "_out.jsonl";
  {
    std::ofstream f(in, std::ios::binary);
    for (const auto& l : requests)
      f << l.dump(-1, ' ', false, nlohmann::json::error_handler_t::strict) << "\n";
  }
  std::string cmd = "node '" + std::string(TSFT_SOURCE_DIR) + "/tests/node/tok_peer.js' '" + tokenizer_json +
                    "' '" + in + "' '" + out + "'";
  int rc = std::system(cmd.c_str());
  EXPECT_EQ(rc, 0) << cmd;
  auto res = rc == 0 ? read_jsonl(out) : std::vector<nlohmann::json>{};
  EXPECT_EQ(res.size(), requests.size());
  std::remove(in.c_str());
  std::remove(out.c_str());
  return res;
}

}  // namespace tsft::tokenizer::testing

#include <random>

#include "tokenizer/text_util.hpp"

namespace tsft::tokenizer::testing {

// Random test strings: runs of code points drawn from classes that stress the split regex, NFC and the
// added-token matcher (whitespace incl. U+0085/U+FEFF/U+3000, digits, letters of several scripts,
// combining marks, CJK, Hangul, emoji with ZWJ, contractions, special-token substrings).
class RandomText {
 public:
  explicit RandomText(uint64_t seed) : rng_(seed) {}
  uint64_t below(uint64_t n) { return rng_() % n; }

  std::string next(size_t max_units = 24) {
    static const std::vector<std::string> kFragments = {"<|im_start|>",
                                                        "<|im_end|>",
                                                        "<|endoftext|>",
                                                        "<think>",
                                                        "</think>",
                                                        "<|begin_of_text|>",
                                                        "<|eot_id|>",
                                                        "<|start_header_id|>",
                                                        "<|im_",
                                                        "|>",
                                                        "<|",
                                                        "'s",
                                                        "'S",
                                                        "'ll",
                                                        "'LL",
                                                        "'re",
                                                        "'ve",
                                                        "'d",
                                                        "'m",
                                                        "'t",
                                                        "\r\n",
                                                        "\n\n",
                                                        "  ",
                                                        "\\boxed{",
                                                        "\\frac{1}{2}",
                                                        "x^2",
                                                        "...",
                                                        "://",
                                                        "1234567",
                                                        "ſ",
                                                        "K",
                                                        "Å",
                                                        "e\xCC\x81",
                                                        "\xE1\x84\x80\xE1\x85\xA1"};
    static const std::vector<char32_t> kSpaces = {
        0x09,   0x0A,   0x0B,   0x0C,   0x0D,   0x20,   0x20,   0x20,   0x85,   0xA0,   0x1680, 0x180E,
        0x2000, 0x2007, 0x200A, 0x200B, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000, 0xFEFF, 0x1C};
    std::string s;
    size_t units = below(max_units + 1);
    for (size_t u = 0; u < units; ++u) {
      switch (below(16)) {
        case 0:
          s += kFragments[below(kFragments.size())];
          break;
        case 1:
        case 2:
          text_append_utf8(s, kSpaces[below(kSpaces.size())]);
          break;
        case 3:
          text_append_utf8(s, U'0' + below(10));
          break;
        case 4:
        case 5:
        case 6:
          text_append_utf8(s, 0x20 + below(0x5F));
          break;  // printable ASCII
        case 7:
          text_append_utf8(s, 0xA0 + below(0x250 - 0xA0));
          break;  // Latin-1 + extended
        case 8:
          text_append_utf8(s, 0x300 + below(0x70));
          break;  // combining marks
        case 9:
          text_append_utf8(s, 0x391 + below(0x450 - 0x391));
          break;  // Greek, Cyrillic
        case 10:
          text_append_utf8(s, 0x4E00 + below(0x5000));
          break;  // CJK
        case 11:
          text_append_utf8(s, 0xAC00 + below(0x2BA4));
          break;    // Hangul syllables
        case 12: {  // emoji (+ ZWJ, VS16)
          text_append_utf8(s, 0x1F300 + below(0x350));
          if (below(3) == 0) text_append_utf8(s, below(2) ? 0x200D : 0xFE0F);
          break;
        }
        case 13:
          text_append_utf8(s, 0x600 + below(0x100));
          break;  // Arabic
        case 14:
          text_append_utf8(s, 0x900 + below(0x80));
          break;  // Devanagari
        default:
          text_append_utf8(s, 0x2000 + below(0x1000));
          break;  // punctuation, symbols
      }
    }
    return s;
  }

 private:
  std::mt19937_64 rng_;
};

}  // namespace tsft::tokenizer::testing
