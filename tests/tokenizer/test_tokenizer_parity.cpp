// Parity with Hugging Face's own tokenizers library (npm `tokenizers`, native binding; tests/node) on
// 10,000 random strings per tokenizer: encode ids (without special tokens, and with them for a subset)
// and decode text (of those ids and of random id sequences, with and without skipping specials) must
// agree exactly. All requests of one tokenizer go to a single node process.
#include "tok_test_util.hpp"

namespace tsft::tokenizer::testing {
namespace {

constexpr int kStrings = 10000;
constexpr int kWithSpecials = 500;
constexpr int kRandomIdSeqs = 2000;

class Parity : public ::testing::TestWithParam<std::string> {};

TEST_P(Parity, RandomStringsEncodeAndDecodeLikeHuggingFace) {
  if (std::string why = node_peer_unavailable_reason(); !why.empty()) GTEST_SKIP() << "SKIPPED: " << why;
  const std::string name = GetParam();
  const Tokenizer& tok = fixture_tokenizer(name);
  RandomText gen(0x5eed0000 + std::hash<std::string>{}(name) % 1000);
  std::vector<std::string> texts;
  for (int i = 0; i < kStrings; ++i) texts.push_back(gen.next(i % 10 == 0 ? 200 : 24));
  // Decoding inputs: our own encodings (checked equal to HF's below) and random id sequences (byte
  // fragments, special and added tokens: lossy UTF-8 and skip_special paths).
  std::vector<std::vector<int32_t>> id_seqs;
  for (const auto& t : texts) id_seqs.push_back(tok.encode(t));
  RandomText ids_gen(42);
  for (int i = 0; i < kRandomIdSeqs; ++i) {
    std::vector<int32_t> ids;
    for (uint64_t k = 0, n = ids_gen.below(12); k < n; ++k) {
      int32_t id = static_cast<int32_t>(ids_gen.below(tok.vocab_size()));
      if (tok.token_bytes(id).empty() && tok.id_to_token(id).empty()) continue;
      ids.push_back(id);
    }
    id_seqs.push_back(ids);
  }
  std::vector<nlohmann::json> req;
  for (const auto& t : texts) req.push_back({{"text", t}});
  for (int i = 0; i < kWithSpecials; ++i) req.push_back({{"text", texts[i]}, {"special", true}});
  for (const auto& ids : id_seqs) req.push_back({{"ids", ids}});
  for (const auto& ids : id_seqs) req.push_back({{"ids", ids}, {"skip_special", true}});
  auto peer = run_node_peer(tokenizer_path(name), req);
  ASSERT_EQ(peer.size(), req.size());

  int enc_bad = 0, dec_bad = 0;
  size_t r = 0;
  auto report = [&](int& bad, const std::string& what, const nlohmann::json& input,
                    const nlohmann::json& ours, const nlohmann::json& hf) {
    if (++bad <= 10)
      ADD_FAILURE() << name << " " << what << " " << input.dump() << "\n ours " << ours.dump() << "\n  hf  "
                    << hf.dump();
  };
  for (int i = 0; i < kStrings; ++i, ++r)
    if (id_seqs[i] != peer[r]["ids"].get<std::vector<int32_t>>())
      report(enc_bad, "encode", texts[i], id_seqs[i], peer[r]["ids"]);
  for (int i = 0; i < kWithSpecials; ++i, ++r) {
    auto got = tok.encode(texts[i], true);
    if (got != peer[r]["ids"].get<std::vector<int32_t>>())
      report(enc_bad, "encode+special", texts[i], got, peer[r]["ids"]);
  }
  for (bool skip : {false, true})
    for (size_t i = 0; i < id_seqs.size(); ++i, ++r) {
      std::string got = tok.decode(id_seqs[i], skip);
      if (got != peer[r]["text"].get<std::string>())
        report(dec_bad, skip ? "decode(skip)" : "decode", id_seqs[i], got, peer[r]["text"]);
    }
  std::printf(
      "[%s] %d strings (+%d with specials): %d encode mismatches; %zu id sequences x2: %d decode "
      "mismatches\n",
      name.c_str(), kStrings, kWithSpecials, enc_bad, id_seqs.size(), dec_bad);
  EXPECT_EQ(enc_bad, 0);
  EXPECT_EQ(dec_bad, 0);
}

INSTANTIATE_TEST_SUITE_P(Tokenizers, Parity, ::testing::Values("qwen3", "llama3", "hf-qwen2", "hf-llama3"),
                         [](const auto& info) {
                           std::string s = info.param;
                           for (char& ch : s)
                             if (ch == '-') ch = '_';
                           return s;
                         });

}  // namespace
}  // namespace tsft::tokenizer::testing
