#include "eval/extract.hpp"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <vector>

#include "eval/ascii.hpp"

namespace tsft::eval {
namespace {

struct Span {
  size_t begin, end;  // the whole match [begin, end)
  std::string content;
};

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

std::string trim(std::string_view s, const char* chars = " \t\r\n") {
  size_t a = s.find_first_not_of(chars);
  if (a == std::string_view::npos) return "";
  size_t b = s.find_last_not_of(chars);
  return std::string(s.substr(a, b - a + 1));
}

std::string to_lower(std::string_view s) {
  std::string o(s);
  for (auto& c : o) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return o;
}

// Position just past the brace group starting at s[open] == '{', or npos if unbalanced.
size_t match_brace(std::string_view s, size_t open) {
  int depth = 0;
  for (size_t i = open; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size() && (s[i + 1] == '{' || s[i + 1] == '}')) {
      ++i;
      continue;
    }
    if (s[i] == '{')
      ++depth;
    else if (s[i] == '}' && --depth == 0)
      return i + 1;
  }
  return std::string_view::npos;
}

std::vector<Span> find_boxes(std::string_view s) {
  std::vector<Span> out;
  size_t i = 0;
  while (i < s.size()) {
    size_t p = s.find('\\', i);
    if (p == std::string_view::npos) break;
    size_t name_len = 0;
    if (s.compare(p, 6, "\\boxed") == 0)
      name_len = 6;
    else if (s.compare(p, 5, "\\fbox") == 0)
      name_len = 5;
    if (!name_len || (p + name_len < s.size() && is_ascii_alpha(s[p + name_len]) && s[p + name_len] != ' ')) {
      i = p + 1;
      continue;
    }
    size_t q = p + name_len;
    if (q < s.size() && s[q] == '{') {
      size_t e = match_brace(s, q);
      if (e == std::string_view::npos) {
        i = q;
        continue;
      }
      out.push_back({p, e, std::string(s.substr(q + 1, e - q - 2))});
      i = e;
    } else if (q < s.size() && s[q] == ' ') {  // \boxed 4
      size_t a = q;
      while (a < s.size() && s[a] == ' ') ++a;
      size_t e = a;
      while (e < s.size() && !is_space(s[e]) && s[e] != '$' &&
             !(s[e] == '.' && (e + 1 == s.size() || is_space(s[e + 1]))))
        ++e;
      if (e > a) out.push_back({p, e, std::string(s.substr(a, e - a))});
      i = e > q ? e : q + 1;
    } else {
      i = q;
    }
  }
  return out;
}

// Math segments: $$..$$, $..$ (one line), \(..\), \[..\].
std::vector<Span> find_math(std::string_view s) {
  std::vector<Span> out;
  size_t i = 0;
  while (i < s.size()) {
    char c = s[i];
    if (c == '\\' && i + 1 < s.size() && s[i + 1] == '$') {
      i += 2;
      continue;
    }
    if (c == '$') {
      bool dbl = i + 1 < s.size() && s[i + 1] == '$';
      size_t a = i + (dbl ? 2 : 1);
      size_t e = a;
      bool found = false;
      while (e < s.size()) {
        if (s[e] == '\\' && e + 1 < s.size()) {
          e += 2;
          continue;
        }
        if (!dbl && s[e] == '\n') break;
        if (s[e] == '$') {
          if (dbl && !(e + 1 < s.size() && s[e + 1] == '$')) {
            ++e;
            continue;
          }
          found = true;
          break;
        }
        ++e;
      }
      if (!found) {
        i = a;
        continue;
      }
      out.push_back({i, e + (dbl ? 2 : 1), std::string(s.substr(a, e - a))});
      i = e + (dbl ? 2 : 1);
      continue;
    }
    if (c == '\\' && i + 1 < s.size() && (s[i + 1] == '(' || s[i + 1] == '[')) {
      const char* close = s[i + 1] == '(' ? "\\)" : "\\]";
      size_t e = s.find(close, i + 2);
      if (e == std::string_view::npos) {
        i += 2;
        continue;
      }
      out.push_back({i, e + 2, std::string(s.substr(i + 2, e - i - 2))});
      i = e + 2;
      continue;
    }
    ++i;
  }
  return out;
}

// A gap between two answers that joins them into one set: empty, ",", or short text with "and"/"or".
size_t rfind_ci_slow(std::string_view s, std::string_view needle);
size_t rfind_ci(std::string_view s, std::string_view needle);

bool gap_joins(std::string_view gap) {
  std::string g;
  for (size_t i = 0; i < gap.size(); ++i) {
    if (gap.compare(i, 6, "\\text{") == 0) {
      i += 5;
      continue;
    }
    for (const char* cmd : {"\\quad", "\\qquad", "\\,", "\\;", "\\(", "\\)", "\\[", "\\]"}) {
      size_t n = std::strlen(cmd);
      if (gap.compare(i, n, cmd) == 0) {
        i += n;
        break;
      }
    }
    if (i < gap.size()) g += gap[i];
  }
  std::string t = trim(g, " \t\r\n$}{");
  if (t.empty() || t == "," || t == ";") return true;
  if (t.size() > 40) return false;
  std::string l = " " + to_lower(t) + " ";
  for (auto& c : l)
    if (!is_ascii_alpha(c)) c = ' ';
  return l.find(" and ") != std::string::npos || l.find(" or ") != std::string::npos;
}

// Last span plus the preceding ones joined to it.
Extraction join_last(std::string_view s, const std::vector<Span>& spans, ExtractRule one, ExtractRule many) {
  size_t k = spans.size() - 1;
  size_t first = k;
  while (first > 0 && gap_joins(s.substr(spans[first - 1].end, spans[first].begin - spans[first - 1].end)))
    --first;
  if (first == k) return {trim(spans[k].content), one};
  std::string joined;
  for (size_t j = first; j <= k; ++j) {
    std::string c = trim(spans[j].content);
    if (c.empty()) continue;
    joined += (joined.empty() ? "" : ", ") + c;
  }
  return {joined, many};
}

// Case-insensitive rfind (needle in lower case).
size_t rfind_ci(std::string_view s, std::string_view needle) {
  if (needle.size() > s.size()) return std::string_view::npos;
  // cheap reject: the needle's first letter must occur in either case
  const char c0 = needle[0];
  const char c1 = static_cast<char>(std::toupper(static_cast<unsigned char>(c0)));
  if (s.find(c0) == std::string_view::npos && s.find(c1) == std::string_view::npos)
    return std::string_view::npos;
  return rfind_ci_slow(s, needle);
}

size_t rfind_ci_slow(std::string_view s, std::string_view needle) {
  if (needle.size() > s.size()) return std::string_view::npos;
  for (size_t i = s.size() - needle.size() + 1; i-- > 0;) {
    bool ok = true;
    for (size_t j = 0; j < needle.size() && ok; ++j)
      ok = std::tolower(static_cast<unsigned char>(s[i + j])) == needle[j];
    if (ok) return i;
  }
  return std::string_view::npos;
}

std::string last_number(std::string_view s, size_t* pos = nullptr) {
  std::string best;
  size_t i = 0;
  while (i < s.size()) {
    if (!is_ascii_digit(s[i])) {
      ++i;
      continue;
    }
    size_t a = i;
    while (i < s.size() && is_ascii_digit(s[i])) ++i;
    // thousands groups: ,ddd
    while (i + 3 < s.size() && s[i] == ',' && is_ascii_digit(s[i + 1]) && is_ascii_digit(s[i + 2]) &&
           is_ascii_digit(s[i + 3]) && (i + 4 >= s.size() || !is_ascii_digit(s[i + 4])))
      i += 4;
    if (i + 1 < s.size() && s[i] == '.' && is_ascii_digit(s[i + 1])) {
      ++i;
      while (i < s.size() && is_ascii_digit(s[i])) ++i;
    }
    // a plain fraction a/b and a trailing percent sign belong to the number
    if (i + 1 < s.size() && s[i] == '/' && is_ascii_digit(s[i + 1])) {
      ++i;
      while (i < s.size() && is_ascii_digit(s[i])) ++i;
    }
    if (i < s.size() && s[i] == '%') ++i;
    bool neg =
        a > 0 && s[a - 1] == '-' && (a < 2 || (!is_ascii_alpha(s[a - 2]) && !is_ascii_digit(s[a - 2])));
    best = (neg ? "-" : "") + std::string(s.substr(a, i - a));
    if (pos) *pos = a;
  }
  return best;
}

std::string first_number(std::string_view s) {
  for (size_t i = 0; i < s.size(); ++i) {
    if (!is_ascii_digit(s[i])) continue;
    size_t e = i;
    while (e < s.size() && (is_ascii_digit(s[e]) ||
                            ((s[e] == ',' || s[e] == '.') && e + 1 < s.size() && is_ascii_digit(s[e + 1]))))
      ++e;
    bool neg = i > 0 && s[i - 1] == '-';
    return (neg ? "-" : "") + std::string(s.substr(i, e - i));
  }
  return "";
}

// At most one ordinary word (units, "and"/"or", \commands and \text{} contents do not count).
bool looks_bare(std::string_view s) {
  if (s.size() > 200) return false;
  int words = 0;
  size_t i = 0;
  while (i < s.size()) {
    if (s[i] == '\\') {
      size_t j = i + 1;
      while (j < s.size() && is_ascii_alpha(s[j])) ++j;
      std::string_view cmd = s.substr(i + 1, j - i - 1);
      if ((cmd == "text" || cmd == "mbox" || cmd == "textbf" || cmd == "mathrm" || cmd == "begin" ||
           cmd == "end") &&
          j < s.size() && s[j] == '{') {
        size_t e = match_brace(s, j);
        i = e == std::string_view::npos ? s.size() : e;
      } else {
        i = std::max(j, i + 2);
      }
      continue;
    }
    if (is_ascii_alpha(s[i])) {
      size_t j = i;
      while (j < s.size() && is_ascii_alpha(s[j])) ++j;
      std::string w = to_lower(s.substr(i, j - i));
      static const char* ok[] = {
          "and",   "or",      "cm",     "m",    "km",     "mm",    "degrees", "degree",  "percent",   "pct",
          "units", "dollars", "inches", "feet", "meters", "miles", "hours",   "minutes", "seconds",   "days",
          "years", "sin",     "cos",    "tan",  "log",    "ln",    "pi",      "sqrt",    "percentage"};
      bool skip =
          w.size() < 2 || std::any_of(std::begin(ok), std::end(ok), [&](const char* o) { return w == o; });
      if (!skip) ++words;
      i = j;
      continue;
    }
    ++i;
  }
  return words <= 1;
}

std::string strip_specials(std::string_view text) {
  size_t cut = text.size();
  for (const char* tok : {"<|im_end|>", "<|im_start|>", "<|eot_id|>", "<|endoftext|>", "</s>"}) {
    size_t p = text.find(tok);
    if (p != std::string_view::npos) cut = std::min(cut, p);
  }
  return std::string(text.substr(0, cut));
}

// Content after an anchor: up to the end of the line (and "I hope"), math preferred.
Extraction from_anchor_content(std::string_view content, ExtractRule rule, bool take_after_is) {
  std::string c(content);
  size_t hope = rfind_ci(c, "i hope");
  if (hope != std::string::npos) c = c.substr(0, hope);
  if (take_after_is) {
    size_t is = rfind_ci(c, " is ");
    if (is != std::string::npos) c = c.substr(is + 4);
  }
  auto math = find_math(c);
  if (!math.empty()) {
    Extraction e = join_last(c, math, rule, rule);
    return e;
  }
  size_t nl = c.find('\n');
  if (nl != std::string::npos && trim(c.substr(0, nl)).size() > 0) c = c.substr(0, nl);
  // end of sentence: ". " followed by more text (after a digit too: "is 5. So ..." ends at 5; a
  // decimal point is never followed by a space)
  for (size_t i = 0; i + 1 < c.size(); ++i)
    if (c[i] == '.' && is_space(c[i + 1])) {
      c = c.substr(0, i);
      break;
    }
  std::string t = trim(c, " \t\r\n.:\"'*$");
  if (!looks_bare(t)) {
    std::string n = first_number(t);
    if (!n.empty()) return {n, rule};
  }
  return {t, rule};
}

}  // namespace

const char* extract_rule_name(ExtractRule r) {
  switch (r) {
    case ExtractRule::None:
      return "none";
    case ExtractRule::Boxed:
      return "boxed";
    case ExtractRule::BoxedMulti:
      return "boxed_multi";
    case ExtractRule::FinalAnswer:
      return "final_answer";
    case ExtractRule::Gsm8k:
      return "gsm8k";
    case ExtractRule::AnswerIs:
      return "answer_is";
    case ExtractRule::CannotDetermine:
      return "cannot_determine";
    case ExtractRule::InlineMath:
      return "inline_math";
    case ExtractRule::Whole:
      return "whole";
    case ExtractRule::LastNumber:
      return "last_number";
    case ExtractRule::Choice:
      return "choice";
  }
  return "none";
}

bool extract_is_cannot_determine(std::string_view text) {
  const char* hints = "cCnNiIuU";  // every phrase below starts with one of these letters
  if (text.find_first_of(hints) == std::string_view::npos) return false;
  std::string l = to_lower(text);
  static const char* phrases[] = {"cannot be determined",
                                  "can't be determined",
                                  "can not be determined",
                                  "cannot determine",
                                  "not enough information",
                                  "insufficient information",
                                  "not sufficient information",
                                  "information is insufficient",
                                  "information is not sufficient",
                                  "impossible to determine",
                                  "not possible to determine",
                                  "undeterminable",
                                  "cannot be uniquely determined",
                                  "not uniquely determined",
                                  "no unique answer",
                                  "not enough data",
                                  "insufficient data",
                                  "cannot be computed from the given"};
  for (const char* p : phrases)
    if (l.find(p) != std::string::npos) return true;
  return false;
}

Extraction extract_answer(std::string_view text0) {
  const std::string text = strip_specials(text0);
  std::string_view s = text;
  size_t fa = rfind_ci(s, "final answer is");
  if (fa != std::string_view::npos) {
    Extraction e = from_anchor_content(s.substr(fa + 15), ExtractRule::FinalAnswer, false);
    if (!e.answer.empty()) return e;
  }
  auto boxes = find_boxes(s);
  if (!boxes.empty()) return join_last(s, boxes, ExtractRule::Boxed, ExtractRule::BoxedMulti);
  fa = rfind_ci(s, "final answer:");
  if (fa != std::string_view::npos)
    return from_anchor_content(s.substr(fa + 13), ExtractRule::FinalAnswer, true);
  size_t hash = s.rfind("####");
  if (hash != std::string_view::npos) {
    std::string_view rest = s.substr(hash + 4);
    size_t nl = rest.find('\n');
    std::string a = trim(rest.substr(0, nl), " \t\r\n.");
    if (!a.empty()) return {a, ExtractRule::Gsm8k};
  }
  size_t ai = rfind_ci(s, "answer is");
  size_t ac = rfind_ci(s, "answer:");
  size_t al = std::string_view::npos;  // a line "A: ..."
  for (size_t p = s.find("A:"); p != std::string_view::npos; p = s.find("A:", p + 1))
    if (p == 0 || s[p - 1] == '\n') al = p;
  size_t best = std::string_view::npos, len = 0;
  for (auto [pos, l] : {std::pair{ai, size_t(9)}, std::pair{ac, size_t(7)}, std::pair{al, size_t(2)}})
    if (pos != std::string_view::npos && (best == std::string_view::npos || pos > best)) best = pos, len = l;
  if (best != std::string_view::npos) {
    Extraction e = from_anchor_content(s.substr(best + len), ExtractRule::AnswerIs, false);
    if (!e.answer.empty()) return e;
  }
  if (extract_is_cannot_determine(s)) return {kCannotDetermine, ExtractRule::CannotDetermine};
  auto math = find_math(s);
  size_t num_pos = 0;
  std::string n = last_number(s, &num_pos);
  // The rightmost candidate wins: a plain number after the last math segment ("... is 2/3.") beats it.
  if (!math.empty() && !(num_pos >= math.back().end && !n.empty())) {
    Extraction e = join_last(s, math, ExtractRule::InlineMath, ExtractRule::InlineMath);
    if (!e.answer.empty()) return e;
  }
  std::string t = trim(s, " \t\r\n");
  while (!t.empty() && t.back() == '.') t.pop_back();
  if (!t.empty() && math.empty() && looks_bare(t)) return {t, ExtractRule::Whole};
  if (!n.empty()) return {n, ExtractRule::LastNumber};
  return {"", ExtractRule::None};
}

char extract_gold_choice(std::string_view gold) {
  std::string g;
  std::string_view s = gold;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s.compare(i, 5, "\\text") == 0 || s.compare(i, 7, "\\mathrm") == 0 ||
        s.compare(i, 7, "\\textbf") == 0 || s.compare(i, 6, "\\boxed") == 0) {
      while (i < s.size() && s[i] != '{') ++i;
      continue;
    }
    char c = s[i];
    if (c == '$' || c == '{' || c == '}' || c == '(' || c == ')' || is_space(c) || c == '.') continue;
    g += c;
  }
  if (g.size() == 1 && g[0] >= 'A' && g[0] <= 'Z') return g[0];
  return 0;
}

char extract_choice(std::string_view text0) {
  const std::string text = strip_specials(text0);
  std::string_view s = text;
  auto boxes = find_boxes(s);
  if (!boxes.empty()) {
    char c = extract_gold_choice(boxes.back().content);
    if (c) return c;
    std::string b = boxes.back().content;
    if (b.size() == 1 && b[0] >= 'a' && b[0] <= 'z') return static_cast<char>(b[0] - 32);
  }
  std::string whole = trim(s, " \t\r\n.$");
  if (char c = extract_gold_choice(whole)) return c;
  if (whole.size() == 3 && whole[0] == '(' && whole[2] == ')' && whole[1] >= 'a' && whole[1] <= 'z')
    return static_cast<char>(whole[1] - 32);
  // "A." / "A)" / "(A)" at the very start
  if (whole.size() >= 2 && whole[0] >= 'A' && whole[0] <= 'Z' &&
      (whole[1] == '.' || whole[1] == ')' || whole[1] == ':'))
    return whole[0];
  if (whole.size() >= 3 && whole[0] == '(' && whole[1] >= 'A' && whole[1] <= 'Z' && whole[2] == ')')
    return whole[1];
  for (const char* anchor : {"answer is", "answer:", "option", "choice"}) {
    size_t p = rfind_ci(s, anchor);
    if (p == std::string_view::npos) continue;
    size_t i = p + std::strlen(anchor);
    bool paren = false;
    while (i < s.size() &&
           (is_space(s[i]) || s[i] == ':' || s[i] == '$' || s[i] == '(' || s[i] == '{' || s[i] == '*')) {
      paren |= s[i] == '(';
      ++i;
    }
    if (s.compare(i, 6, "\\text{") == 0) i += 6;
    if (i < s.size() && (i + 1 == s.size() || !is_ascii_alpha(s[i + 1]))) {
      char c = s[i];
      if (c >= 'A' && c <= 'Z') return c;
      if (paren && c >= 'a' && c <= 'z') return static_cast<char>(c - 32);
    }
  }
  char last = 0;
  for (size_t i = 0; i + 2 < s.size(); ++i)
    if (s[i] == '(' && s[i + 1] >= 'A' && s[i + 1] <= 'Z' && s[i + 2] == ')') last = s[i + 1];
  if (last) return last;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c < 'A' || c > 'Z' || c == 'I') continue;
    if (i > 0 && (is_ascii_alpha(s[i - 1]) || s[i - 1] == '\\')) continue;
    if (i + 1 < s.size() && is_ascii_alpha(s[i + 1])) continue;
    if (c == 'A' && i + 2 < s.size() && s[i + 1] == ' ' && std::islower(static_cast<unsigned char>(s[i + 2])))
      continue;  // the article "A"
    last = c;
  }
  return last;
}

}  // namespace tsft::eval
