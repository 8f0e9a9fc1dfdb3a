#include "tokenizer/added_tokens.hpp"

#include <utf8proc.h>

#include <algorithm>
#include <map>

#include "tokenizer/text_util.hpp"

namespace tsft::tokenizer {

namespace {
// HF decides single_word with the Rust regexes `\w$` / `^\w`: Unicode \w = Alphabetic, marks,
// decimal digits, connector punctuation, ZWNJ/ZWJ. Alphabetic = letters, Nl and Other_Alphabetic (the
// latter is marks, covered, plus the circled/squared Latin letters listed here).
bool is_word_char(char32_t c) {
  if (c == 0x200C || c == 0x200D || (c >= 0x24B6 && c <= 0x24E9) || (c >= 0x1F130 && c <= 0x1F149) ||
      (c >= 0x1F150 && c <= 0x1F169) || (c >= 0x1F170 && c <= 0x1F189))
    return true;
  switch (utf8proc_category(static_cast<utf8proc_int32_t>(c))) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO:
    case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_MN:
    case UTF8PROC_CATEGORY_MC:
    case UTF8PROC_CATEGORY_ME:
    case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_PC:
      return true;
    default:
      return false;
  }
}
bool is_space(char32_t c) {  // Rust regex \s (Unicode White_Space), used by lstrip/rstrip
  return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F ||
         c == 0x3000;
}
// Code point ending right before byte position `pos`.
char32_t cp_before(std::string_view s, size_t pos, size_t& start) {
  start = pos - 1;
  while (start > 0 && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80) --start;
  size_t i = start;
  return text_next_cp(s, i);
}
}  // namespace

AddedTokenMatcher::AddedTokenMatcher(std::vector<AddedToken> tokens) : tokens_(std::move(tokens)) {
  // Build the trie breadth-agnostically with std::map children, then flatten it.
  struct TmpNode {
    std::map<unsigned char, int> kids;
    int token = -1;
  };
  std::vector<TmpNode> tmp(1);
  for (size_t t = 0; t < tokens_.size(); ++t) {
    const std::string& s = tokens_[t].content;
    if (s.empty()) continue;
    first_byte_[static_cast<unsigned char>(s[0])] = true;
    int node = 0;
    for (unsigned char c : s) {
      auto it = tmp[node].kids.find(c);
      if (it == tmp[node].kids.end()) {
        tmp.emplace_back();
        it = tmp[node].kids.emplace(c, static_cast<int>(tmp.size()) - 1).first;
      }
      node = it->second;
    }
    if (tmp[node].token < 0) tmp[node].token = static_cast<int>(t);
  }
  nodes_.resize(tmp.size());
  for (size_t n = 0; n < tmp.size(); ++n) {
    nodes_[n].token = tmp[n].token;
    nodes_[n].child_begin = static_cast<int32_t>(edges_.size());
    for (auto& [c, k] : tmp[n].kids) edges_.push_back({c, k});
    nodes_[n].child_end = static_cast<int32_t>(edges_.size());
  }
}

int AddedTokenMatcher::longest_match(std::string_view text, size_t pos) const {
  int node = 0, best = -1;
  for (size_t i = pos; i < text.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    const Node& nd = nodes_[node];
    int next = -1;
    for (int32_t e = nd.child_begin; e < nd.child_end; ++e)
      if (edges_[e].byte == c) {
        next = edges_[e].node;
        break;
      }
    if (next < 0) break;
    node = next;
    if (nodes_[node].token >= 0) best = nodes_[node].token;
  }
  return best;
}

void AddedTokenMatcher::split(std::string_view text, uint32_t base, std::vector<TextSegment>& out) const {
  size_t start_offset = 0, pos = 0;
  while (pos < text.size()) {
    if (!first_byte_[static_cast<unsigned char>(text[pos])]) {
      ++pos;
      continue;
    }
    int t = longest_match(text, pos);
    if (t < 0) {
      ++pos;
      continue;
    }
    const AddedToken& tok = tokens_[t];
    size_t start = pos, stop = pos + tok.content.size();
    pos = stop;  // the next search starts after this match, even when it is discarded below
    if (tok.single_word) {
      size_t s0;
      bool start_ok = start == 0 || !is_word_char(cp_before(text, start, s0));
      size_t i = stop;
      bool stop_ok = stop == text.size() || !is_word_char(text_next_cp(text, i));
      if (!start_ok || !stop_ok) continue;
    }
    if (tok.lstrip) {
      while (start > start_offset) {
        size_t s0;
        if (!is_space(cp_before(text, start, s0))) break;
        start = s0;
      }
    }
    if (tok.rstrip) {
      while (stop < text.size()) {
        size_t i = stop;
        if (!is_space(text_next_cp(text, i))) break;
        stop = i;
      }
      pos = stop;
    }
    if (start_offset < start)
      out.push_back({base + static_cast<uint32_t>(start_offset), base + static_cast<uint32_t>(start), -1});
    out.push_back({base + static_cast<uint32_t>(start), base + static_cast<uint32_t>(stop), tok.id});
    start_offset = stop;
  }
  if (start_offset < text.size())
    out.push_back(
        {base + static_cast<uint32_t>(start_offset), base + static_cast<uint32_t>(text.size()), -1});
}

}  // namespace tsft::tokenizer
