// tokenizer.json (Tokenizer::from_json_text: model vocab/merges, added tokens, normalizer,
// pre-tokenizer regex, post-processor). A tokenizer that loads encodes and decodes a fixed text.
#include <vector>

#include "tokenizer/tokenizer.hpp"
#include "util.hpp"

namespace {
constexpr const char* kText =
    "Hello, world! 12345 <|im_start|>user\n  caf\xc3\xa9 \xe2\x88\x9a"
    "2 <|endoftext|>";
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tsft;
  const std::string origin = "fuzz/tokenizer.json";
  fuzz::expect_clean(origin, [&] {
    auto tok = tokenizer::Tokenizer::from_json_text(std::string(fuzz::bytes(data, size)), origin);
    std::vector<tokenizer::TokenOffsets> offsets;
    std::vector<int32_t> ids = tok.encode_with_offsets(kText, offsets);
    std::vector<int32_t> with_special = tok.encode(kText, true);
    std::string text = tok.decode(ids) + tok.decode(with_special, true);
    if (offsets.size() != ids.size()) fuzz::finding("offsets and ids differ in length", "");
  });
  return 0;
}
