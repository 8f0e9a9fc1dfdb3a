// `tsft tokenizer train`: the written tokenizer.json loads in Hugging Face tokenizers (npm) and encodes
// identically there; layout, determinism, merge order and the CLI.
#include <filesystem>

#include "core/error.hpp"
#include "tok_test_util.hpp"
#include "tokenizer/bpe_trainer.hpp"
#include "tokenizer/chat.hpp"

namespace tsft::tokenizer::testing {
namespace {

std::string temp_dir(const std::string& name) {
  std::string d = ::testing::TempDir() + "/tsft_tok_train_" + std::to_string(::getpid()) + "_" + name;
  std::filesystem::create_directories(d);
  return d;
}

void write_file(const std::string& path, const std::string& s) {
  std::ofstream(path, std::ios::binary) << s;
}

// Training corpus: the fixture texts (English, math, code, many scripts) and random strings.
std::vector<std::string> corpus() {
  std::vector<std::string> docs;
  for (const char* n : {"qwen3", "llama3"})
    for (const auto& c : read_jsonl(cases_path(n))) docs.push_back(c["text"].get<std::string>());
  for (const auto& c : read_jsonl(fixtures_dir() + "/qwen3/chat_cases.jsonl"))
    docs.push_back(c["text"].get<std::string>());
  RandomText gen(7);
  for (int i = 0; i < 3000; ++i) docs.push_back(gen.next(40));
  return docs;
}

std::string train(const std::string& style, int32_t vocab, const std::vector<std::string>& specials,
                  BpeTrainStats* stats = nullptr) {
  BpeTrainOptions opt;
  opt.vocab_size = vocab;
  opt.style = style;
  opt.special_tokens = specials;
  BpeTrainer t(opt);
  for (const auto& d : corpus()) t.add_text(d);
  return t.train(stats);
}

const std::vector<std::string> kSpecials = {"<|endoftext|>", "<|im_start|>", "<|im_end|>"};

class TrainParity : public ::testing::TestWithParam<std::string> {};

TEST_P(TrainParity, TrainedTokenizerEncodesLikeHuggingFace) {
  BpeTrainStats st;
  std::string json = train(GetParam(), 2000, kSpecials, &st);
  EXPECT_EQ(st.vocab_size, 2000);
  std::string dir = temp_dir(GetParam());
  std::string path = dir + "/tokenizer.json";
  write_file(path, json);
  Tokenizer tok(path);
  EXPECT_EQ(tok.vocab_size(), 2000);
  for (size_t i = 0; i < kSpecials.size(); ++i) {
    EXPECT_EQ(tok.token_to_id(kSpecials[i]), static_cast<int32_t>(i));
    EXPECT_TRUE(tok.is_special(static_cast<int32_t>(i)));
  }
  // Corpus lines and fresh random strings (another seed), all in one node call.
  std::vector<std::string> texts = corpus();
  RandomText gen(99);
  for (int i = 0; i < 10000; ++i) texts.push_back(gen.next(i % 10 == 0 ? 120 : 24));
  // Round trip on NFC text (elsewhere NFC runs per piece between special tokens, as in HF, so the
  // decoded text need not equal NFC of the whole).
  for (const auto& t : texts)
    if (tok.normalize(t) == t) {
      EXPECT_EQ(tok.decode(tok.encode(t)), t);
    }
  if (std::string why = node_peer_unavailable_reason(); !why.empty()) GTEST_SKIP() << "SKIPPED: " << why;
  std::vector<nlohmann::json> in;
  for (const auto& t : texts) in.push_back({{"text", t}});
  auto peer = run_node_peer(path, in);
  ASSERT_EQ(peer.size(), texts.size());
  int mismatches = 0;
  for (size_t i = 0; i < texts.size(); ++i) {
    auto want = peer[i]["ids"].get<std::vector<int32_t>>();
    auto got = tok.encode(texts[i]);
    if (got != want && ++mismatches <= 5)
      ADD_FAILURE() << nlohmann::json(texts[i]).dump() << "\n ours " << nlohmann::json(got).dump()
                    << "\n  hf  " << nlohmann::json(want).dump();
  }
  std::printf("[trained %s] %zu strings: %d mismatches vs HF\n", GetParam().c_str(), texts.size(),
              mismatches);
  EXPECT_EQ(mismatches, 0);
}

INSTANTIATE_TEST_SUITE_P(Styles, TrainParity, ::testing::Values("qwen", "llama3"));

TEST(BpeTrain, DeterministicAndMergesMostFrequentPairFirst) {
  EXPECT_EQ(train("qwen", 600, kSpecials), train("qwen", 600, kSpecials));
  BpeTrainOptions opt;
  opt.vocab_size = 256 + 3;
  opt.min_frequency = 1;
  BpeTrainer t(opt);
  // Pre-tokens: "xyz" x3, "xy" x2: the pair (x, y) occurs 5 times, then (xy, z) 3 times.
  for (const char* s : {"xyz", "xyz", "xyz", "xy", "xy"}) t.add_text(s);
  auto j = nlohmann::json::parse(t.train());
  ASSERT_EQ(j["model"]["merges"].size(), 2u);
  EXPECT_EQ(j["model"]["merges"][0], nlohmann::json::array({"x", "y"}));
  EXPECT_EQ(j["model"]["merges"][1], nlohmann::json::array({"xy", "z"}));
  EXPECT_EQ(j["model"]["vocab"]["xy"], 256);  // no special tokens: bytes take ids 0..255
  EXPECT_EQ(j["model"]["vocab"]["xyz"], 257);
  // min_frequency stops training early.
  BpeTrainOptions strict = opt;
  strict.vocab_size = 1000;
  strict.min_frequency = 4;
  BpeTrainer t2(strict);
  for (const char* s : {"xyz", "xyz", "xyz", "xy", "xy"}) t2.add_text(s);
  EXPECT_EQ(nlohmann::json::parse(t2.train())["model"]["merges"].size(), 1u);
}

TEST(BpeTrain, RejectsBadOptions) {
  BpeTrainOptions opt;
  opt.vocab_size = 100;
  EXPECT_THROW(BpeTrainer{opt}, tsft::Error);
  opt.vocab_size = 1000;
  opt.special_tokens = {"<a>", "<a>"};
  EXPECT_THROW(BpeTrainer{opt}, tsft::Error);
  EXPECT_THROW(bpe_split_pattern("gpt9"), tsft::Error);
}

TEST(BpeTrain, ConfigGivesChatTemplateAndMask) {
  std::string dir = temp_dir("chat");
  BpeTrainOptions opt;
  opt.vocab_size = 800;
  opt.special_tokens = kSpecials;
  write_file(dir + "/tokenizer.json", train("qwen", 800, kSpecials));
  write_file(dir + "/tokenizer_config.json", bpe_trained_config_json(opt));
  Tokenizer tok(dir + "/tokenizer.json");
  EXPECT_EQ(tok.eos_id(), 2);
  EXPECT_EQ(tok.end_of_turn_id(), 2);
  ChatRendered r = chat_render(tok, {{"user", "1+1?", {}}, {"assistant", "2", {}}}, {});
  EXPECT_EQ(r.text, "<|im_start|>user\n1+1?<|im_end|>\n<|im_start|>assistant\n2<|im_end|>\n");
  std::vector<int32_t> sup;
  for (size_t k = 0; k < r.ids.size(); ++k)
    if (r.assistant_mask[k]) sup.push_back(r.ids[k]);
  EXPECT_EQ(tok.decode(sup), "2<|im_end|>");
}

TEST(TokenizerCli, TrainThenTokenizeRoundTrip) {
  if (!std::filesystem::exists(TSFT_TSFT_BIN))
    GTEST_SKIP() << "SKIPPED: tsft binary not built (" << TSFT_TSFT_BIN << ")";
  std::string dir = temp_dir("cli");
  {
    std::ofstream f(dir + "/corpus.jsonl");
    for (const auto& d : corpus()) f << nlohmann::json{{"text", d}}.dump() << "\n";
  }
  std::string bin = TSFT_TSFT_BIN;
  std::string cmd =
      bin + " tokenizer train --corpus " + dir + "/corpus.jsonl --vocab-size 700 --style llama3 " +
      "--special-tokens '<|begin_of_text|>,<|start_header_id|>,<|end_header_id|>,<|eot_id|>' --out " + dir +
      "/tokenizer.json 2>/dev/null";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  Tokenizer tok(dir + "/tokenizer.json");
  EXPECT_EQ(tok.vocab_size(), 700);
  EXPECT_EQ(tok.bos_id(), 0);
  EXPECT_EQ(tok.end_of_turn_id(), 3);
  write_file(dir + "/in.jsonl", "{\"text\": \"Let x = 12345.\"}\n{\"text\": \"<|eot_id|>ok\"}\n");
  cmd =
      bin + " tokenize --tokenizer " + dir + "/tokenizer.json < " + dir + "/in.jsonl > " + dir + "/ids.jsonl";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  auto enc = read_jsonl(dir + "/ids.jsonl");
  ASSERT_EQ(enc.size(), 2u);
  EXPECT_EQ(enc[0]["ids"].get<std::vector<int32_t>>(), tok.encode("Let x = 12345."));
  EXPECT_EQ(enc[1]["ids"][0], 3);
  cmd = bin + " tokenize --decode --tokenizer " + dir + "/tokenizer.json < " + dir + "/ids.jsonl > " + dir +
        "/dec.jsonl";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  auto dec = read_jsonl(dir + "/dec.jsonl");
  ASSERT_EQ(dec.size(), 2u);
  EXPECT_EQ(dec[0]["text"], "Let x = 12345.");
  EXPECT_EQ(dec[1]["text"], "<|eot_id|>ok");
  // Bad input: exit 1 with the line named.
  write_file(dir + "/bad.jsonl", "{\"text\": \"fine\"}\n{\"txt\": 1}\n");
  cmd = bin + " tokenize --tokenizer " + dir + "/tokenizer.json < " + dir + "/bad.jsonl > /dev/null 2> " +
        dir + "/err.txt";
  EXPECT_EQ(WEXITSTATUS(std::system(cmd.c_str())), 1);
  std::ifstream ef(dir + "/err.txt");
  std::string err((std::istreambuf_iterator<char>(ef)), std::istreambuf_iterator<char>());
  EXPECT_NE(err.find("stdin line 2"), std::string::npos) << err;
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace tsft::tokenizer::testing
