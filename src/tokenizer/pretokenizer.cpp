#define PCRE2_CODE_UNIT_WIDTH 8
#include "tokenizer/pretokenizer.hpp"

#include <pcre2.h>

#include "core/error.hpp"

namespace tsft::tokenizer {

namespace {
// Oniguruma's \s for UTF-8 (Unicode White_Space). PCRE2's UCP \s differs on U+0085 and similar.
constexpr const char* kSpaceClass =
    "\\t\\n\\x{0B}\\f\\r\\x{20}\\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}"
    "\\x{205F}\\x{3000}";

struct MatchData {
  pcre2_match_data* md;
  MatchData() : md(pcre2_match_data_create(4, nullptr)) {}
  ~MatchData() { pcre2_match_data_free(md); }
};
}  // namespace

std::string pretok_translate_pattern(std::string_view p) {
  std::string out;
  bool in_class = false;
  for (size_t i = 0; i < p.size(); ++i) {
    char c = p[i];
    if (c == '\\' && i + 1 < p.size()) {
      char n = p[i + 1];
      if (n == 's') {
        out += in_class ? std::string(kSpaceClass) : "[" + std::string(kSpaceClass) + "]";
      } else if (n == 'S') {
        TSFT_CHECK(!in_class, "split regex: \\S inside a character class is not supported: {}", p);
        out += "[^" + std::string(kSpaceClass) + "]";
      } else {
        out += c;
        out += n;
      }
      ++i;
      continue;
    }
    if (!in_class && c == '[') {
      in_class = true;
      out += c;
      // A ']' right after '[' or '[^' is a literal.
      if (i + 1 < p.size() && p[i + 1] == '^') out += p[++i];
      if (i + 1 < p.size() && p[i + 1] == ']') out += p[++i];
      continue;
    }
    if (in_class && c == ']') in_class = false;
    out += c;
  }
  return out;
}

SplitRegex::SplitRegex(const std::string& onig_pattern) : pattern_(pretok_translate_pattern(onig_pattern)) {
  int err = 0;
  PCRE2_SIZE off = 0;
  auto* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern_.data()), pattern_.size(),
                             PCRE2_UTF | PCRE2_UCP | PCRE2_NO_UTF_CHECK, &err, &off, nullptr);
  if (!code) {
    PCRE2_UCHAR buf[256];
    pcre2_get_error_message(err, buf, sizeof buf);
    TSFT_FAIL("split regex {:?}: {} at offset {}", onig_pattern, reinterpret_cast<const char*>(buf), off);
  }
  pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);  // falls back to the interpreter when JIT is unavailable
  code_ = code;
}

SplitRegex::~SplitRegex() {
  pcre2_code_free(static_cast<pcre2_code*>(code_));
}

void SplitRegex::split(std::string_view text, std::vector<std::pair<uint32_t, uint32_t>>& out) const {
  thread_local MatchData md;
  auto* code = static_cast<pcre2_code*>(code_);
  auto subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  size_t pos = 0, gap = 0;
  while (pos <= text.size()) {
    int rc = pcre2_match(code, subject, text.size(), pos, PCRE2_NO_UTF_CHECK, md.md, nullptr);
    if (rc == PCRE2_ERROR_NOMATCH) break;
    TSFT_CHECK(rc >= 0, "split regex: PCRE2 match error {}", rc);
    PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md.md);
    size_t b = ov[0], e = ov[1];
    if (e == b) {  // an empty match cuts nothing: step one code point forward
      pos = e + 1;
      while (pos < text.size() && (static_cast<unsigned char>(text[pos]) & 0xC0) == 0x80) ++pos;
      continue;
    }
    if (b > gap) out.emplace_back(static_cast<uint32_t>(gap), static_cast<uint32_t>(b));
    out.emplace_back(static_cast<uint32_t>(b), static_cast<uint32_t>(e));
    pos = gap = e;
  }
  if (gap < text.size()) out.emplace_back(static_cast<uint32_t>(gap), static_cast<uint32_t>(text.size()));
}

}  // namespace tsft::tokenizer
