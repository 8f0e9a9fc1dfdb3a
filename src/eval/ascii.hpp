// ASCII character classes of the answer parsers (extract.cpp, latex_lexer.cpp): locale-independent, so a
// grade never depends on the process locale.
#pragma once

namespace tsft::eval {

inline bool is_ascii_digit(char c) {
  return c >= '0' && c <= '9';
}
inline bool is_ascii_alpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

}  // namespace tsft::eval
