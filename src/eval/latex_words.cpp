// Word-level normalisation of answer tokens: unit words, number words, function names, and \text{}
// groups (separators, units after a value, single words re-lexed, free text).
#include "eval/latex_words.hpp"

#include <cctype>
#include <unordered_set>

#include "eval/latex_node.hpp"

namespace tsft::eval {
namespace {

std::string lower(std::string s) {
  for (auto& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return s;
}

std::string trim(const std::string& s) {
  size_t a = s.find_first_not_of(" \t\n\r,.");
  size_t b = s.find_last_not_of(" \t\n\r,.");
  return a == std::string::npos ? "" : s.substr(a, b - a + 1);
}

bool ends_value(const Token& t) {
  return t.t == Tok::Num || t.t == Tok::Letters || t.t == Tok::Percent || t.t == Tok::Degree ||
         (t.t == Tok::Op && (t.text == ")" || t.text == "]" || t.text == "}" || t.text == "|")) ||
         t.t == Tok::RSet || (t.t == Tok::Cmd && (t.text == "pi" || t.text == "infty"));
}

}  // namespace

bool word_is_unit(const std::string& w0) {
  static const std::unordered_set<std::string> units = {
      "cm",         "mm",          "km",         "m",           "meter",     "meters",     "metre",  "metres",
      "centimeter", "centimeters", "millimeter", "millimeters", "kilometer", "kilometers", "inch",   "inches",
      "in",         "foot",        "feet",       "ft",          "yard",      "yards",      "yd",     "mile",
      "miles",      "mi",          "second",     "seconds",     "s",         "sec",        "secs",   "minute",
      "minutes",    "min",         "mins",       "hour",        "hours",     "hr",         "hrs",    "h",
      "day",        "days",        "week",       "weeks",       "month",     "months",     "year",   "years",
      "dollar",     "dollars",     "cent",       "cents",       "yuan",      "euro",       "euros",  "kg",
      "g",          "gram",        "grams",      "kilogram",    "kilograms", "lb",         "lbs",    "pound",
      "pounds",     "oz",          "ounce",      "ounces",      "l",         "liter",      "liters", "litre",
      "litres",     "ml",          "unit",       "units",       "sq",        "square",     "cubic",  "mph",
      "kmh",        "rad",         "radians",    "radian",      "people",    "students",   "points", "ways",
      "times",      "cookies",     "apples",     "pages",       "items",     "marbles",    "balls",  "rs",
      "usd",        "mol"};
  if (w0.size() > 12) return false;
  std::string w = w0;
  for (auto& ch : w) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return units.count(w) > 0;
}

// "three" -> 3 (whole words only; answers like \text{three} ways).
int word_number(const std::string& w0) {
  static const char* words[] = {"zero",     "one",      "two",      "three",   "four",    "five",
                                "six",      "seven",    "eight",    "nine",    "ten",     "eleven",
                                "twelve",   "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
                                "eighteen", "nineteen", "twenty"};
  std::string w = w0;
  for (auto& ch : w) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  for (int i = 0; i <= 20; ++i)
    if (w == words[i]) return i;
  static const char* tens[] = {"thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety", "hundred"};
  for (int i = 0; i < 8; ++i)
    if (w == tens[i]) return i == 7 ? 100 : 30 + 10 * i;
  return -1;
}

bool word_is_function(const std::string& w) {
  static const std::unordered_set<std::string> f = {
      "sin",    "cos",    "tan",  "sec", "csc", "cot", "arcsin", "arccos", "arctan",
      "sinh",   "cosh",   "tanh", "log", "ln",  "exp", "sqrt",   "lg",     "arcsec",
      "arccsc", "arccot", "gcd",  "lcm", "det", "max", "min"};
  return w.size() <= 6 && f.count(w) > 0;
}

// \text{..} groups: separators, units after a value, single words (re-lexed), or free text.
void tokens_resolve_text(std::vector<Token>& in, const LexOptions& opt) {
  std::vector<Token> out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    Token& t = in[i];
    if (t.t == Tok::Letters && !out.empty() && ends_value(out.back()) && out.back().t != Tok::Letters &&
        word_is_unit(t.text)) {
      if (i + 2 < in.size() && in[i + 1].t == Tok::Op && in[i + 1].text == "^" && in[i + 2].t == Tok::Num)
        i += 2;
      continue;  // unit word after a value
    }
    if (t.t == Tok::Letters && t.text.size() > 2) {
      int v = word_number(t.text);
      if (v >= 0) {
        out.push_back(Token{Tok::Num, 0, std::to_string(v)});
        continue;
      }
    }
    if (t.t != Tok::Text) {
      out.push_back(std::move(t));
      continue;
    }
    std::string c = trim(t.text);
    std::string lc = lower(c);
    if (c.empty()) continue;
    if (lc == "and" || lc == "or" || lc == "," || lc == "and also") {
      out.push_back(Token{Tok::Op, 0, ","});
      continue;
    }
    bool after_value = !out.empty() && ends_value(out.back());
    bool has_space = c.find(' ') != std::string::npos;
    if (after_value && (has_space || c.find_first_of("0123456789") == std::string::npos)) {
      // a unit: drop it and a following power (\mbox{ cm}^2), never the final Eof (a trailing "^" stays
      // and fails the parse: the parser relies on Eof being last)
      if (i + 2 < in.size() && in[i + 1].t == Tok::Op && in[i + 1].text == "^" && in[i + 2].t != Tok::Eof)
        i += 2;
      continue;
    }
    if (!has_space) {
      std::vector<Token> sub;
      if (latex_lex(c, opt, sub)) {
        sub.pop_back();  // Eof
        for (auto& s : sub) {
          if (s.t == Tok::Letters && word_number(s.text) >= 0)
            s = Token{Tok::Num, 0, std::to_string(word_number(s.text))};
          out.push_back(std::move(s));
        }
        continue;
      }
    }
    Token tt{Tok::Text, 0, lc};
    out.push_back(std::move(tt));
  }
  in.swap(out);
}

}  // namespace tsft::eval
