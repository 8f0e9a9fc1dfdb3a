// Textual normalisation of answers (the cheap first comparison before parsing): spacing, $, braces,
// sizing/text commands and \dfrac-style aliases are dropped; trailing punctuation removed; pure words
// lower-cased.
#include <algorithm>
#include <cctype>
#include <cstring>
#include <string>
#include <string_view>

#include "eval/equivalence.hpp"

namespace tsft::eval {

std::string equiv_normalize_text(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  auto starts = [&](const char* w) { return s.compare(i, std::strlen(w), w) == 0; };
  while (i < s.size()) {
    char c = s[i];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '$' || c == '{' || c == '}' || c == '~') {
      ++i;
      continue;
    }
    if (c == '\\') {
      static const char* drop[] = {
          "\\left",         "\\right",      "\\!",      "\\,",      "\\;",    "\\:",      "\\ ",
          "\\displaystyle", "\\textnormal", "\\textbf", "\\textit", "\\text", "\\mathrm", "\\mbox",
          "\\mathbf",       "\\(",          "\\)",      "\\[",      "\\]",    "\\quad",   "\\qquad"};
      bool dropped = false;
      for (const char* d : drop)
        if (starts(d)) {
          i += std::strlen(d);
          dropped = true;
          break;
        }
      if (dropped) continue;
      if (starts("\\dfrac") || starts("\\tfrac") || starts("\\cfrac")) {
        out += "\\frac";
        i += 6;
        continue;
      }
    }
    out += c;
    ++i;
  }
  while (!out.empty() && (out.back() == '.' || out.back() == ',')) out.pop_back();
  bool words = !out.empty() && std::all_of(out.begin(), out.end(), [](char ch) {
    return std::isalpha(static_cast<unsigned char>(ch));
  });
  if (words && out.size() > 1)
    for (auto& ch : out) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return out;
}

}  // namespace tsft::eval
