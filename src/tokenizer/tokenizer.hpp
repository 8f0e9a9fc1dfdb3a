// Tokenizer: a byte-level BPE tokenizer loaded from a Hugging Face tokenizer.json (Qwen2/2.5/3,
// Llama-3.x, and the files `tsft tokenizer train` writes), encoding exactly as the `tokenizers` library.
//
// Pipeline of encode(text):
//   1. added tokens (special or not) with normalized=false are cut out of the raw text;
//   2. each remaining piece is normalized (NFC via utf8proc, or nothing), then added tokens with
//      normalized=true are cut out of it;
//   3. pre-tokenization: the `Split` regex (PCRE2, see pretokenizer.hpp) or the GPT-2 ByteLevel regex;
//   4. each pre-token's bytes go through the BPE model (bpe.hpp; memoized per thread);
//   5. with add_special_tokens, the TemplateProcessing post-processor adds its special tokens (e.g. the
//      BOS of Llama-3.1/3.2). ByteLevel post-processing only trims offsets and changes no id.
// decode(ids) maps tokens back to bytes (ByteLevel decoder) and replaces invalid UTF-8 with U+FFFD.
//
// Thread safety: a loaded Tokenizer is immutable; encode/decode may run concurrently (caches are per
// thread).
#pragma once
#include <cstdint>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "tokenizer/added_tokens.hpp"

namespace tsft::tokenizer {

class BpeModel;
class SplitRegex;

// [begin, end) byte offsets of one token in the encoded text (see Tokenizer::encode_with_offsets).
using TokenOffsets = std::pair<uint32_t, uint32_t>;

class Tokenizer {
 public:
  // Load `tokenizer_json`. When a tokenizer_config.json (and/or chat_template.jinja) sits in the same
  // directory, it supplies bos/eos tokens and the chat template; a missing config is not an error.
  explicit Tokenizer(const std::string& tokenizer_json);
  // Build from an already parsed tokenizer.json text (no config). `origin` names it in error messages.
  static Tokenizer from_json_text(const std::string& json_text, const std::string& origin);
  ~Tokenizer();
  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;

  // Token ids of `text` (valid UTF-8, else throws). add_special_tokens applies the post-processor's
  // template (BOS for Llama-3.1/3.2 files; nothing for Qwen or Llama-3.0 files).
  std::vector<int32_t> encode(std::string_view text, bool add_special_tokens = false) const;
  // Same ids (never special tokens added), plus each token's byte range in `text`. Ranges are exact when
  // normalization leaves the text unchanged (always true for NFC text); inside a piece that NFC changes,
  // ranges refer to the normalized piece, shifted to the piece's start and clamped to its end.
  std::vector<int32_t> encode_with_offsets(std::string_view text, std::vector<TokenOffsets>& offsets) const;
  // Text of `ids` (ByteLevel decoding, invalid UTF-8 -> U+FFFD). Unknown ids throw.
  std::string decode(std::span<const int32_t> ids, bool skip_special_tokens = false) const;

  // Vocabulary lookups, over model tokens and added tokens. Token strings are as in tokenizer.json
  // (byte characters, e.g. "Ġthe"). token_to_id returns -1 when absent; id_to_token throws when absent.
  int32_t token_to_id(std::string_view token) const;
  const std::string& id_to_token(int32_t id) const;
  bool is_special(int32_t id) const;
  // The bytes token `id` stands for in decoded text (added tokens: their content). Throws when absent.
  const std::string& token_bytes(int32_t id) const;
  // The tokenizer's normalizer applied to `text` (NFC or identity), as encode sees plain text.
  std::string normalize(std::string_view text) const;
  // Number of embedding rows the ids need: 1 + the largest id of the model vocab and added tokens.
  int32_t vocab_size() const { return vocab_size_; }

  // Special ids (-1 when the tokenizer has none). bos/eos come from tokenizer_config.json when present
  // (else well-known token names); end_of_turn is the token closing an assistant turn in the chat
  // template (<|im_end|> for ChatML, <|eot_id|> for Llama-3), falling back to eos.
  int32_t bos_id() const { return bos_id_; }
  int32_t eos_id() const { return eos_id_; }
  int32_t end_of_turn_id() const { return eot_id_; }
  // Chat template text from tokenizer_config.json / chat_template.jinja ("" when none).
  const std::string& chat_template_source() const { return chat_template_; }
  const std::string& path() const { return path_; }

 private:
  Tokenizer();
  void load_json(const std::string& json_text, const std::string& origin);
  void load_config(const std::string& dir);
  // load_json's sections of tokenizer.json
  void load_bpe(const nlohmann::json& model, const std::string& origin);
  void load_added_tokens(const nlohmann::json& j, const std::string& origin);
  void load_normalizer(const nlohmann::json& n, const std::string& origin);
  void load_pre_tokenizer(const nlohmann::json& p, const std::string& origin, std::string& pattern);
  void load_post_processor(const nlohmann::json& p, const std::string& origin);
  void encode_impl(std::string_view text, std::vector<int32_t>& ids,
                   std::vector<TokenOffsets>* offsets) const;
  void encode_plain(std::string_view piece, uint32_t base, std::vector<int32_t>& ids,
                    std::vector<TokenOffsets>* offsets) const;

  std::string path_;
  std::unique_ptr<BpeModel> model_;
  std::unique_ptr<SplitRegex> split_;  // null: no regex split (whole pieces go to BPE)
  bool nfc_ = false;
  bool prefix_space_ = false;  // ByteLevel add_prefix_space
  AddedTokenMatcher raw_matcher_, normalized_matcher_;
  std::vector<int32_t> template_prefix_, template_suffix_;  // post-processor specials around the text
  bool byte_level_decoder_ = true;

  std::vector<std::string> id_to_token_;  // "" for ids without a token
  std::vector<std::string> id_to_bytes_;  // decoded bytes of each token (ByteLevel mapping undone)
  std::vector<char> special_;             // per id
  std::unordered_map<std::string, int32_t> token_to_id_;
  int32_t vocab_size_ = 0;

  int32_t bos_id_ = -1, eos_id_ = -1, eot_id_ = -1;
  std::string chat_template_;
};

}  // namespace tsft::tokenizer
