// Training of a byte-level BPE tokenizer (what `tsft tokenizer train` runs), written as a standard
// Hugging Face tokenizer.json that the `tokenizers` library loads and encodes identically.
//
// Layout of the result (the layout HF's BpeTrainer produces): special tokens take ids 0..k-1, the 256
// byte characters follow in code-point order, then one token per merge. Training counts the
// pre-tokens of the corpus (special tokens cut out first, NFC, the split regex of the chosen style),
// then repeatedly merges the most frequent adjacent pair (ties: the pair whose merged token string is
// smallest, then the smaller left id), until the vocabulary has vocab_size entries or no pair occurs at
// least min_frequency times. Pair counts are updated incrementally from an index of the words each
// pair occurs in, so a merge costs time in the words it touches, not in the corpus.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace tsft::tokenizer {

// Split regexes of the two supported styles ("qwen": single digits; "llama3": digit runs of <= 3).
const std::string& bpe_split_pattern(const std::string& style);

struct BpeTrainOptions {
  int32_t vocab_size = 8192;                // total, special tokens and the 256 bytes included
  std::vector<std::string> special_tokens;  // ids 0..k-1, in this order
  std::string style = "qwen";               // "qwen" or "llama3"
  int64_t min_frequency = 2;
  bool nfc = true;
};

struct BpeTrainStats {
  int64_t words = 0, distinct_words = 0, merges = 0;
  int32_t vocab_size = 0;
};

class BpeTrainer {
 public:
  explicit BpeTrainer(BpeTrainOptions opt);
  ~BpeTrainer();
  // Count the pre-tokens of one text (a document or a line; call repeatedly).
  void add_text(std::string_view text);
  // Run the merges; returns the tokenizer.json text.
  std::string train(BpeTrainStats* stats = nullptr);

 private:
  struct Impl;
  BpeTrainOptions opt_;
  Impl* impl_;
};

// The tokenizer_config.json written next to a trained tokenizer: eos/pad and a chat template chosen by
// the special tokens (ChatML with <|im_start|>/<|im_end|>, Llama-3 headers with <|start_header_id|>,
// <|end_header_id|>, <|eot_id|>); "" when the special tokens fit neither.
std::string bpe_trained_config_json(const BpeTrainOptions& opt);

}  // namespace tsft::tokenizer
