#include "eval/latex_lexer.hpp"

#include <cctype>
#include <cstring>
#include <unordered_set>

#include "eval/ascii.hpp"
#include "eval/latex_node.hpp"

namespace tsft::eval {
namespace {

// Commands that only style or space: dropped.
bool cmd_is_noise(std::string_view n) {
  static const std::unordered_set<std::string_view> k = {
      "left",         "right",     "big",         "Big",    "bigl",     "bigr",    "Bigl",
      "Bigr",         "bigg",      "Bigg",        "biggl",  "biggr",    "quad",    "qquad",
      "displaystyle", "textstyle", "scriptstyle", "limits", "nolimits", "middle",  "mathrm",
      "mathbf",       "mathit",    "boldsymbol",  "bm",     "mathsf",   "mathcal", "operatorname",
      "rm",           "bf",        "it",          "hspace", "vspace",   "phantom", "cdotp",
      "ensuremath",   "mathnormal"};
  return k.count(n) > 0;
}

bool cmd_is_text(std::string_view n) {
  return n == "text" || n == "textbf" || n == "textnormal" || n == "mbox" || n == "textit" || n == "textrm" ||
         n == "texttt" || n == "textsf" || n == "textup" || n == "emph" || n == "hbox";
}

struct Lexer {
  std::string_view s;
  const LexOptions& opt;
  std::vector<Token>& out;
  size_t i = 0;

  void push(Tok t, std::string text = {}, int aux = 0) { out.push_back(Token{t, aux, std::move(text)}); }
  void push_op(char c) { push(Tok::Op, std::string(1, c)); }

  // Read a brace group starting at s[p] == '{'; returns content, sets p past '}'. false if unbalanced.
  bool read_group(size_t& p, std::string& content) {
    int depth = 0;
    for (size_t j = p; j < s.size(); ++j) {
      if (s[j] == '\\' && j + 1 < s.size()) {
        ++j;
        continue;
      }
      if (s[j] == '{') ++depth;
      if (s[j] == '}' && --depth == 0) {
        content.assign(s.substr(p + 1, j - p - 1));
        p = j + 1;
        return true;
      }
    }
    return false;
  }

  size_t skip_spaces(size_t p) const {
    while (p < s.size() && (s[p] == ' ' || s[p] == '\t' || s[p] == '\n' || s[p] == '\r')) ++p;
    return p;
  }

  // Length of a thousands separator at p followed by exactly three digits (and then no digit), else 0.
  size_t thousands_sep(size_t p) const {
    size_t q = 0;
    if (s.compare(p, 3, "{,}") == 0)
      q = p + 3;
    else if (s.compare(p, 3, ",\\!") == 0)
      q = skip_spaces(p + 3);
    else if (s.compare(p, 2, "\\,") == 0)
      q = p + 2;
    else if (s.compare(p, 2, "\\ ") == 0)
      q = p + 2;
    else if (p < s.size() && (s[p] == ',' || s[p] == ' '))
      q = p + 1;
    else
      return 0;
    if (q + 3 > s.size() || !is_ascii_digit(s[q]) || !is_ascii_digit(s[q + 1]) || !is_ascii_digit(s[q + 2]))
      return 0;
    if (q + 3 < s.size() && (is_ascii_digit(s[q + 3]))) return 0;
    if (q + 3 < s.size() && s[p] == ' ' && s[q + 3] == '.') return 0;
    return q - p;
  }

  void lex_number() {
    std::string digits;
    while (i < s.size() && is_ascii_digit(s[i])) digits += s[i++];
    // Thousands groups only after a first group of 1-3 digits (so "1000,99" is never thousands).
    if (!digits.empty() && digits.size() <= 3) {
      for (;;) {
        size_t n = thousands_sep(i);
        if (!n) break;
        i += n;
        digits.append(s.substr(i, 3));
        i += 3;
      }
    }
    if (i + 1 < s.size() && s[i] == '.' && is_ascii_digit(s[i + 1])) {
      digits += '.';
      ++i;
      while (i < s.size() && is_ascii_digit(s[i])) digits += s[i++];
    } else if (opt.decimal_comma && i + 1 < s.size() && s[i] == ',' && is_ascii_digit(s[i + 1]) &&
               digits.find('.') == std::string::npos) {
      digits += '.';
      ++i;
      while (i < s.size() && is_ascii_digit(s[i])) digits += s[i++];
    }
    int exp10 = 0;
    // 1.5e-3 / 2E5 (plain-text scientific notation), only when digits follow the e directly.
    if (i + 1 < s.size() && (s[i] == 'e' || s[i] == 'E')) {
      size_t q = i + 1;
      bool neg = false;
      if (q < s.size() && (s[q] == '-' || s[q] == '+')) neg = s[q++] == '-';
      if (q < s.size() && is_ascii_digit(s[q]) && !(q + 1 < s.size() && is_ascii_alpha(s[q + 1]))) {
        int e = 0;
        while (q < s.size() && is_ascii_digit(s[q]) && e < 100000) e = e * 10 + (s[q++] - '0');
        exp10 = neg ? -e : e;
        i = q;
      }
    }
    push(Tok::Num, digits, exp10);
  }

  bool lex_command() {
    // s[i] == '\\'
    if (i + 1 >= s.size()) return false;
    char c = s[i + 1];
    if (c == '\\' && i + 2 < s.size() && is_ascii_alpha(s[i + 2])) {
      ++i;  // "\\frac": a doubled backslash before a command name (escaped source) is one backslash
      c = s[i + 1];
    }
    if (!is_ascii_alpha(c)) {
      i += 2;
      switch (c) {
        case '{':
          push(Tok::LSet);
          return true;
        case '}':
          push(Tok::RSet);
          return true;
        case '\\':
          push(Tok::RowSep);
          return true;
        case '%':
          push(Tok::Percent);
          return true;
        case '(':
        case ')':
        case '[':
        case ']':
          return true;  // math delimiters
        case ',':
        case ';':
        case ':':
        case '!':
        case ' ':
        case '$':
        case '>':
        case '&':
        case '\n':
        case '\t':
          return true;
        case '|':
          push_op('|');
          return true;
        case '#':
        case '_':
          return true;
        default:
          return false;
      }
    }
    size_t j = i + 1;
    while (j < s.size() && is_ascii_alpha(s[j])) ++j;
    std::string_view name = s.substr(i + 1, j - i - 1);
    i = j;
    if (cmd_is_noise(name)) return true;
    if (cmd_is_text(name)) {
      size_t p = skip_spaces(i);
      if (p >= s.size() || s[p] != '{') return true;  // \text without a group: ignore
      std::string content;
      if (!read_group(p, content)) return false;
      i = p;
      push(Tok::Text, content);
      return true;
    }
    if (name == "begin" || name == "end") {
      size_t p = skip_spaces(i);
      std::string env;
      if (p < s.size() && s[p] == '{' && read_group(p, env)) {
        i = p;
        if (!env.empty() && env.back() == '*') env.pop_back();
        if (name == "begin" && env == "array") {  // column spec {cc|c}
          size_t q = skip_spaces(i);
          std::string spec;
          if (q < s.size() && s[q] == '{' && read_group(q, spec)) i = q;
        }
        push(name == "begin" ? Tok::Begin : Tok::End, env);
        return true;
      }
      return false;
    }
    if (name == "le" || name == "leq" || name == "leqslant") return push(Tok::Rel, "", REL_LE), true;
    if (name == "ge" || name == "geq" || name == "geqslant") return push(Tok::Rel, "", REL_GE), true;
    if (name == "lt") return push(Tok::Rel, "", REL_LT), true;
    if (name == "gt") return push(Tok::Rel, "", REL_GT), true;
    if (name == "ne" || name == "neq") return push(Tok::Rel, "", REL_NE), true;
    if (name == "approx" || name == "simeq" || name == "sim" || name == "cong" || name == "equiv")
      return push(Tok::Rel, "", name == "approx" ? REL_APPROX : REL_EQ), true;
    if (name == "in") return push(Tok::Rel, "", REL_IN), true;
    if (name == "circ" || name == "degree") return push(Tok::Degree), true;
    if (name == "percent") return push(Tok::Percent), true;
    if (name == "lbrace") return push(Tok::LSet), true;
    if (name == "rbrace") return push(Tok::RSet), true;
    if (name == "lvert" || name == "rvert" || name == "vert" || name == "mid") return push_op('|'), true;
    if (name == "cdot" || name == "times" || name == "ast") return push_op('*'), true;
    if (name == "div") return push_op('/'), true;
    if (name == "colon") return push_op(':'), true;
    if (name == "langle") return push_op('('), true;
    if (name == "rangle") return push_op(')'), true;
    if (name == "dots" || name == "ldots" || name == "cdots") return push(Tok::Cmd, "dots"), true;
    push(Tok::Cmd, std::string(name));
    return true;
  }

  // A few UTF-8 symbols models emit. Returns bytes consumed (0 if not recognised).
  size_t lex_utf8() {
    struct M {
      const char* u;
      Tok t;
      const char* text;
      int aux;
    };
    static const M m[] = {{"\xE2\x88\x92", Tok::Op, "-", 0},
                          {"\xC3\x97", Tok::Op, "*", 0},
                          {"\xC2\xB7", Tok::Op, "*", 0},
                          {"\xE2\x8B\x85", Tok::Op, "*", 0},
                          {"\xC3\xB7", Tok::Op, "/", 0},
                          {"\xE2\x89\xA4", Tok::Rel, "", REL_LE},
                          {"\xE2\x89\xA5", Tok::Rel, "", REL_GE},
                          {"\xE2\x89\xA0", Tok::Rel, "", REL_NE},
                          {"\xE2\x89\x88", Tok::Rel, "", REL_APPROX},
                          {"\xE2\x88\x88", Tok::Rel, "", REL_IN},
                          {"\xC2\xB0", Tok::Degree, "", 0},
                          {"\xCF\x80", Tok::Cmd, "pi", 0},
                          {"\xE2\x88\x9E", Tok::Cmd, "infty", 0},
                          {"\xE2\x88\x9A", Tok::Cmd, "sqrt", 0},
                          {"\xC2\xB1", Tok::Cmd, "pm", 0},
                          {"\xE2\x88\xAA", Tok::Cmd, "cup", 0},
                          {"\xC2\xB2", Tok::Text, "^2", 0},
                          {"\xC2\xB3", Tok::Text, "^3", 0},
                          {"\xE2\x82\xAC", Tok::Text, "", 0},
                          {"\xC2\xA3", Tok::Text, "", 0},
                          {"\xC2\xA0", Tok::Text, "", 0}};
    for (const auto& e : m) {
      size_t n = std::strlen(e.u);
      if (s.compare(i, n, e.u) == 0) {
        if (e.t == Tok::Text) {
          if (e.text[0] == '^') {  // superscript digit: ^d
            push_op('^');
            push(Tok::Num, std::string(1, e.text[1]));
          }
        } else {
          push(e.t, e.text, e.aux);
        }
        return n;
      }
    }
    return 0;
  }

  bool run() {
    while (i < s.size()) {
      char c = s[i];
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '$' || c == '~' || c == '"') {
        ++i;
        continue;
      }
      if (is_ascii_digit(c) || (c == '.' && i + 1 < s.size() && is_ascii_digit(s[i + 1]))) {
        if (c == '.') {  // ".5"
          out.push_back(Token{Tok::Num, 0, "0"});
          std::string d = ".";
          ++i;
          while (i < s.size() && is_ascii_digit(s[i])) d += s[i++];
          out.back().text += d;
          continue;
        }
        lex_number();
        continue;
      }
      if (is_ascii_alpha(c)) {
        size_t j = i;
        while (j < s.size() && is_ascii_alpha(s[j])) ++j;
        std::string w(s.substr(i, j - i));
        i = j;
        if (w == "percent" || w == "pct" || w == "percentage")
          push(Tok::Percent);
        else if (w == "degrees" || w == "degree")
          push(Tok::Degree);
        else
          push(Tok::Letters, w);
        continue;
      }
      if (c == '\\') {
        if (!lex_command()) return false;
        continue;
      }
      if (c == '^') {
        // ^\circ and ^{\circ} are degrees
        size_t p = skip_spaces(i + 1);
        if (s.compare(p, 5, "\\circ") == 0) {
          i = p + 5;
          push(Tok::Degree);
          continue;
        }
        if (s.compare(p, 7, "{\\circ}") == 0) {
          i = p + 7;
          push(Tok::Degree);
          continue;
        }
        push_op('^');
        ++i;
        continue;
      }
      if (c == '%') {
        push(Tok::Percent);
        ++i;
        continue;
      }
      if (c == '<' || c == '>' || c == '!' || c == '=') {
        char d = i + 1 < s.size() ? s[i + 1] : 0;
        if (c == '<' && d == '=') {
          push(Tok::Rel, "", REL_LE);
          i += 2;
          continue;
        }
        if (c == '>' && d == '=') {
          push(Tok::Rel, "", REL_GE);
          i += 2;
          continue;
        }
        if (c == '!' && d == '=') {
          push(Tok::Rel, "", REL_NE);
          i += 2;
          continue;
        }
        if (c == '=' && d == '=') {
          push(Tok::Rel, "", REL_EQ);
          i += 2;
          continue;
        }
        if (c == '<') {
          push(Tok::Rel, "", REL_LT);
          ++i;
          continue;
        }
        if (c == '>') {
          push(Tok::Rel, "", REL_GT);
          ++i;
          continue;
        }
        if (c == '=') {
          push(Tok::Rel, "", REL_EQ);
          ++i;
          continue;
        }
        push_op('!');
        ++i;
        continue;
      }
      if (std::strchr("+-*/_()[]{},;:|&'", c)) {
        push_op(c);
        ++i;
        continue;
      }
      if (static_cast<unsigned char>(c) >= 0x80) {
        size_t n = lex_utf8();
        if (n) {
          i += n;
          continue;
        }
        // any other non-ASCII character (currency, letters with accents): skip one UTF-8 sequence
        ++i;
        while (i < s.size() && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) ++i;
        continue;
      }
      if (c == '?' || c == '@' || c == '#' || c == '`') return false;
      ++i;  // '.' not starting a number (sentence end), and other punctuation
    }
    push(Tok::Eof);
    return true;
  }
};

}  // namespace

bool latex_lex(std::string_view src, const LexOptions& opt, std::vector<Token>& out) {
  out.clear();
  Lexer lx{src, opt, out};
  return lx.run();
}

}  // namespace tsft::eval
