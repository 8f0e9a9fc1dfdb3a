// Fixture cases: every {text, ids} line of the Qwen3, Llama-3 and HF-trained tokenizers' cases.jsonl
// (produced by Hugging Face tokenizers) encodes to exactly the given ids and decodes back.
#include "tok_test_util.hpp"

namespace tsft::tokenizer::testing {
namespace {

class FixtureCases : public ::testing::TestWithParam<std::string> {};

TEST_P(FixtureCases, EncodeAndDecodeEveryLine) {
  const Tokenizer& tok = fixture_tokenizer(GetParam());
  auto cases = read_jsonl(cases_path(GetParam()));
  ASSERT_GT(cases.size(), 10u);
  int enc_ok = 0, dec_ok = 0;
  for (size_t i = 0; i < cases.size(); ++i) {
    const auto& c = cases[i];
    std::string text = c["text"].get<std::string>();
    auto want = c["ids"].get<std::vector<int32_t>>();
    auto got = tok.encode(text, false);
    EXPECT_EQ(got, want) << GetParam() << " line " << i + 1 << " text " << nlohmann::json(text).dump();
    enc_ok += got == want;
    // Decoding gives the (normalized) text back; the HF-trained cases state the decoding explicitly.
    std::string want_text = c.contains("decoded") ? c["decoded"].get<std::string>() : tok.normalize(text);
    std::string dec = tok.decode(want, false);
    EXPECT_EQ(dec, want_text) << GetParam() << " line " << i + 1;
    dec_ok += dec == want_text;
  }
  std::printf("[%s] %d/%zu encode, %d/%zu decode\n", GetParam().c_str(), enc_ok, cases.size(), dec_ok,
              cases.size());
}

TEST_P(FixtureCases, OffsetsCoverTheText) {
  const Tokenizer& tok = fixture_tokenizer(GetParam());
  for (const auto& c : read_jsonl(cases_path(GetParam()))) {
    std::string text = c["text"].get<std::string>();
    std::vector<TokenOffsets> off;
    auto ids = tok.encode_with_offsets(text, off);
    ASSERT_EQ(ids, tok.encode(text));
    ASSERT_EQ(off.size(), ids.size());
    if (tok.normalize(text) != text) continue;  // NFC changed the text: offsets are approximate
    uint32_t pos = 0;
    for (size_t k = 0; k < ids.size(); ++k) {  // contiguous, in order, each exactly the token's bytes
      EXPECT_EQ(off[k].first, pos);
      EXPECT_EQ(text.substr(off[k].first, off[k].second - off[k].first), tok.token_bytes(ids[k]));
      pos = off[k].second;
    }
    EXPECT_EQ(pos, text.size());
  }
}

INSTANTIATE_TEST_SUITE_P(Tokenizers, FixtureCases,
                         ::testing::Values("qwen3", "llama3", "hf-qwen2", "hf-llama3"), [](const auto& info) {
                           std::string s = info.param;
                           for (char& ch : s)
                             if (ch == '-') ch = '_';
                           return s;
                         });

}  // namespace
}  // namespace tsft::tokenizer::testing
