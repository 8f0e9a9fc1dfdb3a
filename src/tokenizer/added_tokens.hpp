// Added tokens of a tokenizer.json ("added_tokens"): matched in the text before pre-tokenization, as
// Hugging Face's AddedVocabulary does: leftmost-longest over all contents (a byte trie here, where HF
// uses Aho-Corasick with LeftmostLongest; both give the same matches), honouring single_word, lstrip
// and rstrip. Tokens with normalized=false are matched on the raw text, the others on normalized text.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tsft::tokenizer {

struct AddedToken {
  int32_t id = -1;
  std::string content;
  bool special = false, normalized = false, lstrip = false, rstrip = false, single_word = false;
};

// A piece of text: either plain text [begin, end) or an added token occupying [begin, end).
struct TextSegment {
  uint32_t begin = 0, end = 0;
  int32_t token_id = -1;  // -1: plain text
};

class AddedTokenMatcher {
 public:
  AddedTokenMatcher() = default;
  explicit AddedTokenMatcher(std::vector<AddedToken> tokens);
  bool empty() const { return tokens_.empty(); }
  // Cut `text` into plain pieces and added-token matches, in order; offsets are relative to `text`
  // plus `base`.
  void split(std::string_view text, uint32_t base, std::vector<TextSegment>& out) const;

 private:
  struct Node {
    int32_t child_begin = 0;  // children are edges_[child_begin, child_end)
    int32_t child_end = 0;
    int32_t token = -1;  // index into tokens_ when a token ends here
  };
  struct Edge {
    unsigned char byte;
    int32_t node;
  };
  int longest_match(std::string_view text, size_t pos) const;  // index into tokens_ or -1; length known

  std::vector<AddedToken> tokens_;
  std::vector<Node> nodes_;
  std::vector<Edge> edges_;
  bool first_byte_[256] = {};
};

}  // namespace tsft::tokenizer
