// A byte-level tokenizer (256 byte tokens, no merges, ChatML specials) and tiny models/data for the
// trainer tests.
#pragma once
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/fs.hpp"
#include "core/rng.hpp"
#include "model/model.hpp"
#include "model/transformer.hpp"
#include "test_util.hpp"
#include "tokenizer/tokenizer.hpp"
#include "train/data.hpp"
#include "train/trainer.hpp"

namespace tsft_test {

// GPT-2 bytes_to_unicode: printable bytes map to themselves, the rest to U+0100 + k.
inline std::string byte_char(int b) {
  auto printable = [](int c) {
    return (c >= 33 && c <= 126) || (c >= 161 && c <= 172) || (c >= 174 && c <= 255);
  };
  int cp = b;
  if (!printable(b)) {
    int k = 0;
    for (int c = 0; c < b; c++) k += !printable(c);
    cp = 256 + k;
  }
  std::string s;
  if (cp < 0x80)
    s += (char)cp;
  else {
    s += (char)(0xC0 | (cp >> 6));
    s += (char)(0x80 | (cp & 0x3F));
  }
  return s;
}

// Writes tokenizer.json + tokenizer_config.json into dir. Ids: bytes 0..255, <|endoftext|> 256,
// <|im_start|> 257, <|im_end|> 258.
inline void write_byte_tokenizer(const std::string& dir) {
  using json = nlohmann::json;
  json vocab = json::object();
  for (int b = 0; b < 256; b++) vocab[byte_char(b)] = b;
  json added = json::array();
  const char* specials[] = {"<|endoftext|>", "<|im_start|>", "<|im_end|>"};
  for (int i = 0; i < 3; i++)
    added.push_back({{"id", 256 + i},
                     {"content", specials[i]},
                     {"single_word", false},
                     {"lstrip", false},
                     {"rstrip", false},
                     {"normalized", false},
                     {"special", true}});
  json bl = {
      {"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", false}, {"use_regex", false}};
  json tok = {{"version", "1.0"},
              {"truncation", nullptr},
              {"padding", nullptr},
              {"added_tokens", added},
              {"normalizer", nullptr},
              {"pre_tokenizer",
               {{"type", "Sequence"},
                {"pretokenizers",
                 json::array({{{"type", "Split"},
                               {"pattern", {{"Regex", "\\p{N}| ?\\p{L}+| ?[^\\s\\p{L}\\p{N}]+|\\s+"}}},
                               {"behavior", "Isolated"},
                               {"invert", false}},
                              bl})}}},
              {"post_processor", bl},
              {"decoder", bl},
              {"model",
               {{"type", "BPE"},
                {"dropout", nullptr},
                {"unk_token", nullptr},
                {"continuing_subword_prefix", ""},
                {"end_of_word_suffix", ""},
                {"fuse_unk", false},
                {"byte_fallback", false},
                {"ignore_merges", false},
                {"vocab", vocab},
                {"merges", json::array()}}}};
  std::filesystem::create_directories(dir);
  tsft::fs_write_atomic(dir + "/tokenizer.json", tok.dump());
  json cfg = {
      {"bos_token", nullptr},
      {"eos_token", "<|im_end|>"},
      {"pad_token", "<|endoftext|>"},
      {"chat_template",
       "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + "
       "'<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}"
       "{% endif %}"}};
  tsft::fs_write_atomic(dir + "/tokenizer_config.json", cfg.dump());
}

// A tiny llama model with the byte tokenizer, saved to dir.
inline void write_tiny_model(const std::string& dir, int C = 64, int L = 2, uint64_t seed = 1) {
  write_byte_tokenizer(dir);
  tsft::ModelConfig c = tsft::config_make("llama", 259, C, C * 11 / 4, L, 4, 2, C / 4, 256);
  c.eos_token_ids = {258};
  tsft::Model m = tsft::model_create(c);
  tsft::model_init_weights(m, seed, 0.02);
  tsft::model_save(m, dir, dir);
}

// Reverse-a-digit-string chat data: n examples of `len` digits, JSONL at path.
inline void write_reverse_data(const std::string& path, int n, int len, uint64_t seed) {
  tsft::Xoshiro rng(seed);
  std::string out;
  for (int i = 0; i < n; i++) {
    std::string s;
    for (int k = 0; k < len; k++) s += (char)('0' + rng.below(10));
    std::string r(s.rbegin(), s.rend());
    nlohmann::json j = {
        {"id", "ex" + std::to_string(i)},
        {"messages", {{{"role", "user"}, {"content", s}}, {{"role", "assistant"}, {"content", r}}}}};
    out += j.dump() + "\n";
  }
  tsft::fs_write_atomic(path, out);
}

// The trainer settings the tests start from (tiny byte-level model, constant lr, 2 threads).
inline tsft::TrainConfig base_config(const TempDir& t, const std::string& out) {
  tsft::TrainConfig c;
  c.model_dir = t / "model";
  c.data_path = t / "train.jsonl";
  c.out_dir = t / out;
  c.chat_template = "chatml";
  c.block = 128;
  c.micro_batch = 4;
  c.adam.lr = 3e-3;
  c.adam.beta2 = 0.99;
  c.schedule = "constant";
  c.quiet = true;
  c.threads = 2;
  return c;
}

inline std::vector<std::string> read_lines(const std::string& p) {
  std::ifstream in(p);
  std::vector<std::string> v;
  std::string l;
  while (std::getline(in, l)) v.push_back(l);
  return v;
}

// Teacher-forced accuracy over the supervised tokens of a data file.
inline double token_accuracy(tsft::Model& m, const std::string& data, const tsft::tokenizer::Tokenizer& tok) {
  using namespace tsft;
  DataOptions o;
  o.block = 128;
  o.chat.template_name = "chatml";
  auto ex = data_load_sft(data, tok, o, nullptr);
  int64_t right = 0, total = 0;
  for (auto& e : ex) {
    int T = (int)e.ids.size();
    Activations a = activations_create(m.cfg, 1, T, false);
    std::vector<int32_t> pos(T);
    for (int t = 0; t < T; t++) pos[t] = t;
    std::vector<float> logits((size_t)T * m.cfg.V);
    Batch b{e.ids.data(), nullptr, pos.data(), nullptr, 1, T};
    model_forward(m, a, b, logits.data());
    for (int t = 0; t + 1 < T; t++) {
      if (!e.mask[t + 1]) continue;
      const float* z = logits.data() + (size_t)t * m.cfg.V;
      right += (std::max_element(z, z + m.cfg.V) - z) == e.ids[t + 1];
      total++;
    }
  }
  return (double)right / total;
}

}  // namespace tsft_test
