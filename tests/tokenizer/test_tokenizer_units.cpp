// Unit tests of the tokenizer pieces: NFC, lossy UTF-8, the regex rewrite, the BPE merge order on long
// words (heap path vs a naive reference), and added-token options / TemplateProcessing checked against
// Hugging Face on a synthetic tokenizer.json.
#include <utf8proc.h>

#include <chrono>
#include <cstdlib>
#include <thread>

#include "core/error.hpp"
#include "tok_test_util.hpp"
#include "tokenizer/bpe.hpp"
#include "tokenizer/pretokenizer.hpp"

namespace tsft::tokenizer::testing {
namespace {

std::string utf8proc_nfc_reference(const std::string& s) {
  char* out = reinterpret_cast<char*>(utf8proc_NFC(reinterpret_cast<const utf8proc_uint8_t*>(s.c_str())));
  std::string r(out);
  std::free(out);
  return r;
}

TEST(TextUtil, ChunkedNfcEqualsWholeStringNfc) {
  RandomText gen(3);
  const std::vector<std::string> extra = {"e\xCC\x81",
                                          "\xE2\x84\xAB",
                                          "\xE1\x84\x80\xE1\x85\xA1\xE1\x86\xA8",
                                          "\xEA\xB0\x80\xE1\x86\xA8",
                                          "\xE3\x81\x8B\xE3\x82\x99",
                                          "A\xCC\xA3\xCC\x80",
                                          "\xEF\xA4\x80",
                                          ">\xCC\xB8"};
  int changed = 0;
  for (int i = 0; i < 5000; ++i) {
    std::string s = gen.next(30);
    for (int k = 0, n = static_cast<int>(gen.below(3)); k < n; ++k)
      s += extra[gen.below(extra.size())] + gen.next(3);
    if (s.find('\0') != std::string::npos) continue;
    std::string want = utf8proc_nfc_reference(s);
    ASSERT_EQ(text_nfc(s), want) << nlohmann::json(s).dump();
    changed += want != s;
  }
  EXPECT_GT(changed, 500);  // the strings do exercise composition
}

TEST(TextUtil, LossyUtf8ReplacesMaximalSubparts) {
  const std::string R = "\xEF\xBF\xBD";
  EXPECT_EQ(text_utf8_lossy("ok"), "ok");
  EXPECT_EQ(text_utf8_lossy("\xF0\x9F\x98\x80"), "\xF0\x9F\x98\x80");
  EXPECT_EQ(text_utf8_lossy("\xF0\x9F"), R);  // truncated sequence: one replacement
  EXPECT_EQ(text_utf8_lossy("\xF0\x9F"
                            "a"),
            R + "a");
  EXPECT_EQ(text_utf8_lossy("\xC0\x80"), R + R);          // overlong lead byte: each byte
  EXPECT_EQ(text_utf8_lossy("\xED\xA0\x80"), R + R + R);  // surrogate: each byte
  EXPECT_EQ(text_utf8_lossy("\xE2\x82"), R);
  EXPECT_EQ(text_utf8_lossy("\x80\xBF"), R + R);
}

TEST(TextUtil, ByteLevelMappingRoundTrips) {
  std::string all;
  for (int b = 0; b < 256; ++b) all.push_back(static_cast<char>(b));
  std::string mapped = text_bytes_to_bytelevel(all), back;
  EXPECT_EQ(text_bytes_to_bytelevel(" "), "\xC4\xA0");   // 'Ġ'
  EXPECT_EQ(text_bytes_to_bytelevel("\n"), "\xC4\x8A");  // 'Ċ'
  ASSERT_TRUE(text_bytelevel_to_bytes(mapped, back));
  EXPECT_EQ(back, all);
  EXPECT_FALSE(text_bytelevel_to_bytes("\xE4\xB8\x80", back));  // '一' is not a byte character
}

TEST(Pretokenizer, WhitespaceClassFollowsOniguruma) {
  std::string p = pretok_translate_pattern("\\s+(?!\\S)|[^\\s\\p{L}]");
  EXPECT_EQ(p.find("\\s"), std::string::npos);
  EXPECT_EQ(p.find("\\S"), std::string::npos);
  SplitRegex re("\\s+");
  std::vector<std::pair<uint32_t, uint32_t>> out;
  re.split(
      "a\xC2\x85"
      "b\xEF\xBB\xBF"
      "c",
      out);  // U+0085 is \s (Oniguruma), U+FEFF is not
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[1], std::make_pair(1u, 3u));
}

// Naive reference: repeatedly merge the lowest-ranked pair, leftmost first.
std::vector<int32_t> naive_bpe(std::vector<int32_t> s, const MergeTable& m) {
  for (;;) {
    int32_t best = INT32_MAX, merged = -1;
    size_t pos = 0;
    for (size_t i = 0; i + 1 < s.size(); ++i) {
      int32_t r, id;
      if (m.find(s[i], s[i + 1], r, id) && r < best) best = r, merged = id, pos = i;
    }
    if (merged < 0) return s;
    s[pos] = merged;
    s.erase(s.begin() + pos + 1);
  }
}

TEST(Bpe, HeapPathEqualsNaiveOrderOnLongWordsAndIsNotQuadratic) {
  // Vocab over {a,b,c}: bytes, then merges of random pairs of existing tokens.
  BytesToId vocab;
  std::vector<std::string> toks = {"a", "b", "c"};
  for (int i = 0; i < 3; ++i) vocab.emplace(toks[i], i);
  std::vector<std::pair<std::string, std::string>> merges;
  std::mt19937_64 rng(5);
  while (merges.size() < 60) {
    const std::string& l = toks[rng() % toks.size()];
    const std::string& r = toks[rng() % toks.size()];
    if (l.size() + r.size() > 8 || vocab.count(l + r)) continue;
    merges.emplace_back(l, r);
    vocab.emplace(l + r, static_cast<int32_t>(toks.size()));
    toks.push_back(l + r);
  }
  BpeModel model(vocab, merges, false);
  for (int t = 0; t < 300; ++t) {
    std::string w;
    for (size_t n = 1 + rng() % 200; w.size() < n;) w.push_back("abc"[rng() % 3]);
    std::vector<int32_t> init;
    for (char ch : w) init.push_back(ch - 'a');
    std::vector<int32_t> got;
    model.encode_word(w, got);
    ASSERT_EQ(got, naive_bpe(init, model.merges())) << w;
  }
  // A 300 KB single word: the heap path is O(n log n); the bound is loose for sanitizer builds.
  std::string big;
  while (big.size() < 300000) big.push_back("abc"[rng() % 3]);
  auto t0 = std::chrono::steady_clock::now();
  std::vector<int32_t> out;
  model.encode_word(big, out);
  double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_LT(dt, 15.0);  // ~0.3 s in Release; a quadratic merge loop would take minutes
  std::string back;
  for (int32_t id : out) back += toks[id];
  EXPECT_EQ(back, big);
}

TEST(Bpe, IgnoreMergesTakesWholeWordFromVocab) {
  BytesToId vocab = {{"a", 0}, {"b", 1}, {"c", 2}, {"ab", 3}, {"abc", 4}, {"bc", 5}};
  std::vector<std::pair<std::string, std::string>> merges = {{"b", "c"}, {"a", "b"}};
  std::vector<int32_t> out;
  BpeModel(vocab, merges, false).encode_word("abc", out);
  EXPECT_EQ(out, (std::vector<int32_t>{0, 5}));  // "a" + "bc": no merge makes "abc"
  out.clear();
  BpeModel(vocab, merges, true).encode_word("abc", out);
  EXPECT_EQ(out, (std::vector<int32_t>{4}));
  EXPECT_THROW(BpeModel(vocab, {{"a", "c"}}, false), tsft::Error);  // "ac" not in vocab
}

TEST(Tokenizer, RejectsInvalidInputAndUnsupportedFiles) {
  const Tokenizer& tok = fixture_tokenizer("hf-qwen2");
  EXPECT_THROW(tok.encode("bad \xC3"), tsft::Error);
  EXPECT_THROW(tok.decode(std::vector<int32_t>{1 << 30}), tsft::Error);
  EXPECT_EQ(tok.token_to_id("no such token"), -1);
  EXPECT_THROW(Tokenizer::from_json_text(R"({"model": {"type": "WordPiece", "vocab": {}}})", "x.json"),
               tsft::Error);
  EXPECT_THROW(Tokenizer::from_json_text("{", "y.json"), tsft::Error);
}

// TemplateProcessing ids are checked against the vocabulary at load, before narrowing: 2^32 + 1 is not 1.
TEST(Tokenizer, TemplateProcessingIdsOutsideTheVocabularyAreRefused) {
  auto j = nlohmann::json::parse(std::ifstream(tokenizer_path("hf-qwen2")));
  for (nlohmann::json id :
       {nlohmann::json(4294967297LL), nlohmann::json(-1), nlohmann::json(1u << 30), nlohmann::json("1")}) {
    j["post_processor"] = {
        {"type", "TemplateProcessing"},
        {"single",
         {{{"SpecialToken", {{"id", "<s>"}, {"type_id", 0}}}},
          {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}}},
        {"special_tokens", {{"<s>", {{"id", "<s>"}, {"ids", {id}}, {"tokens", {"<s>"}}}}}}};
    try {
      Tokenizer::from_json_text(j.dump(), "t.json");
      ADD_FAILURE() << "accepted id " << id.dump();
    } catch (const tsft::Error& e) {
      EXPECT_NE(
          std::string(e.what()).find("t.json: post_processor special token \"<s>\" has id " + id.dump()),
          std::string::npos)
          << e.what();
    }
  }
}

// A synthetic tokenizer.json exercising lstrip / rstrip / single_word / normalized added tokens and a
// Sequence[ByteLevel, TemplateProcessing] post-processor (the Llama-3.1 layout), compared with HF.
TEST(Tokenizer, AddedTokenOptionsAndTemplateProcessingMatchHuggingFace) {
  auto j = nlohmann::json::parse(std::ifstream(tokenizer_path("hf-qwen2")));
  // "a b" merge strings instead of pairs (both encodings are accepted).
  for (auto& m : j["model"]["merges"]) m = m[0].get<std::string>() + " " + m[1].get<std::string>();
  int next = 500;
  auto add = [&](const std::string& content, bool special, bool normalized, bool l, bool r, bool single) {
    j["added_tokens"].push_back({{"id", next++},
                                 {"content", content},
                                 {"single_word", single},
                                 {"lstrip", l},
                                 {"rstrip", r},
                                 {"normalized", normalized},
                                 {"special", special}});
  };
  add("<tool>", false, false, true, false, false);
  add("</tool>", true, false, false, true, false);
  add("word", false, true, false, false, true);
  add("\xC3\xA9t\xC3\xA9", false, true, false, false, false);  // "été", matched after NFC
  j["post_processor"] = nlohmann::json::parse(R"({"type": "Sequence", "processors": [
      {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": false, "use_regex": false},
      {"type": "TemplateProcessing",
       "single": [{"SpecialToken": {"id": "<|im_start|>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                  {"SpecialToken": {"id": "<|im_end|>", "type_id": 0}}],
       "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}],
       "special_tokens": {"<|im_start|>": {"id": "<|im_start|>", "ids": [1], "tokens": ["<|im_start|>"]},
                          "<|im_end|>": {"id": "<|im_end|>", "ids": [2], "tokens": ["<|im_end|>"]}}}]})");
  std::string dir = ::testing::TempDir() + "/tsft_tok_synth_" + std::to_string(::getpid());
  std::filesystem::create_directories(dir);
  std::string path = dir + "/tokenizer.json";
  std::ofstream(path) << j.dump();
  Tokenizer tok(path);
  EXPECT_EQ(tok.encode("x", true), (std::vector<int32_t>{1, tok.encode("x")[0], 2}));
  EXPECT_EQ(tok.encode("a   <tool>b"), tok.encode("a<tool>b"));  // lstrip eats the spaces before
  RandomText gen(11);
  const std::vector<std::string> frags = {"<tool>",
                                          "</tool>",
                                          "word",
                                          "swordfish",
                                          " word ",
                                          "word_",
                                          "\xC3\xA9t\xC3\xA9",
                                          "e\xCC\x81te\xCC\x81",
                                          "  ",
                                          "\n",
                                          "\xE3\x80\x80"};
  std::vector<std::string> texts;
  std::vector<nlohmann::json> in;
  for (int i = 0; i < 3000; ++i) {
    std::string s;
    for (int k = 0, n = 1 + static_cast<int>(gen.below(6)); k < n; ++k)
      s += gen.below(2) ? frags[gen.below(frags.size())] : gen.next(4);
    texts.push_back(s);
    in.push_back({{"text", s}});
  }
  if (std::string why = node_peer_unavailable_reason(); !why.empty()) GTEST_SKIP() << "SKIPPED: " << why;
  std::vector<nlohmann::json> req = in;
  for (const auto& t : texts) req.push_back({{"text", t}, {"special", true}});
  auto peer = run_node_peer(path, req);
  ASSERT_EQ(peer.size(), req.size());
  int bad = 0;
  for (size_t i = 0; i < req.size(); ++i) {
    bool special = i >= texts.size();
    const std::string& text = texts[i % texts.size()];
    auto want = peer[i]["ids"].get<std::vector<int32_t>>();
    auto got = tok.encode(text, special);
    if (got != want && ++bad <= 5)
      ADD_FAILURE() << (special ? "special " : "") << nlohmann::json(text).dump() << "\n ours "
                    << nlohmann::json(got).dump() << "\n  hf  " << nlohmann::json(want).dump();
  }
  EXPECT_EQ(bad, 0);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace tsft::tokenizer::testing

namespace tsft::tokenizer::testing {
namespace {

TEST(Tokenizer, ConcurrentEncodeMatchesSerial) {
  const Tokenizer& tok = fixture_tokenizer("qwen3");
  RandomText gen(21);
  std::vector<std::string> texts;
  for (int i = 0; i < 2000; ++i) texts.push_back(gen.next(40));
  std::vector<std::vector<int32_t>> serial;
  for (const auto& t : texts) serial.push_back(tok.encode(t));
  std::vector<std::vector<int32_t>> par(texts.size());
  std::vector<std::thread> threads;
  for (int w = 0; w < 4; ++w)
    threads.emplace_back([&, w] {
      for (size_t i = w; i < texts.size(); i += 4) par[i] = tok.encode(texts[i]);
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(par, serial);
}

}  // namespace
}  // namespace tsft::tokenizer::testing
