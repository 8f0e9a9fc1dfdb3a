// The `Split` pre-tokenizer of Hugging Face tokenizers (behavior "Isolated", invert false): the text is
// cut into the regex matches and the gaps between them, in order. Patterns are Oniguruma syntax in the
// tokenizer.json; they run here with PCRE2 (UTF + UCP, JIT). The only construct whose meaning differs
// between the two engines in the patterns used by byte-level BPE files is `\s`: it is rewritten to the
// explicit class Oniguruma uses (Unicode White_Space), see pretok_translate_pattern.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tsft::tokenizer {

// Oniguruma-syntax pattern -> equivalent PCRE2 pattern (`\s`/`\S` made explicit).
std::string pretok_translate_pattern(std::string_view onig_pattern);

class SplitRegex {
 public:
  explicit SplitRegex(const std::string& onig_pattern);
  ~SplitRegex();
  SplitRegex(const SplitRegex&) = delete;
  SplitRegex& operator=(const SplitRegex&) = delete;

  // Append the [begin, end) byte ranges of the pieces of `text` (matches and gaps, none empty) to `out`.
  void split(std::string_view text, std::vector<std::pair<uint32_t, uint32_t>>& out) const;
  const std::string& pattern() const { return pattern_; }

 private:
  std::string pattern_;
  void* code_ = nullptr;  // pcre2_code_8*
};

}  // namespace tsft::tokenizer
