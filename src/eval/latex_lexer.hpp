// LaTeX / plain-text tokenizer for final answers. Presentation-only commands (\left, \right, \!, \quad,
// \displaystyle, \mathrm{}, ...) vanish here; thousands separators (1,000 / 1{,}000 / 1,\!000 / 1 000)
// are folded into the number; \text{}-like groups become one TEXT token.
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace tsft::eval {

enum class Tok : uint8_t {
  Num,      // text = digits with '.' (separators removed); exp10 = scientific exponent if any
  Letters,  // a run of ASCII letters
  Cmd,      // text = command name without backslash ("frac", "pi", "cup", ...)
  Text,     // text = content of \text{..}/\mbox{..}/...
  Op,       // text = one char: + - * / ^ _ ( ) [ ] { } , ; : | = < > ! & '
  Rel,      // aux = RelOp
  LSet,     // \{
  RSet,     // \}
  RowSep,   // \\ (matrix row separator)
  Percent,  // \% or % or "percent"
  Degree,   // ^\circ, ^{\circ}, \degree, the degree sign
  Begin,    // text = environment name (pmatrix, bmatrix, array, ...)
  End,      // text = environment name
  Eof,
};

struct Token {
  Tok t = Tok::Eof;
  int aux = 0;
  std::string text;
};

struct LexOptions {
  bool decimal_comma = false;  // "1,22" -> 1.22 when the comma cannot be a thousands separator
};

// Returns false on an unbalanced \text{ group or a stray backslash sequence it cannot read.
bool latex_lex(std::string_view src, const LexOptions& opt, std::vector<Token>& out);

}  // namespace tsft::eval
