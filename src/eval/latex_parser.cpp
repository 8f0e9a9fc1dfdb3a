#include "eval/latex_parser.hpp"

#include <algorithm>
#include <cstring>

#include "core/error.hpp"
#include "eval/latex_parser_impl.hpp"
#include "eval/latex_words.hpp"

namespace tsft::eval {

namespace detail {

Node Parser::fail() {
  ok = false;
  return Node{};
}

bool Parser::at_sep() const {
  const Token& k = peek();
  if (k.t == Tok::Op && (k.text == "," || k.text == ";")) return true;
  return k.t == Tok::Letters && (k.text == "and" || k.text == "or");
}

// answer := group (';' group)*
Node Parser::parse_answer() {
  std::vector<Node> items;
  std::vector<char> seps;
  parse_items(items, seps, /*close=*/0);
  if (!ok) return Node{};
  if (peek().t != Tok::Eof) return fail();
  bool semi = std::count(seps.begin(), seps.end(), ';') > 0;
  bool comma = std::count(seps.begin(), seps.end(), ',') > 0;
  if (semi && comma) {  // "p=5,q=2;p=7,q=2": ';' separates groups, ',' the members of a group
    std::vector<Node> groups, cur;
    for (size_t i = 0; i < items.size(); ++i) {
      cur.push_back(std::move(items[i]));
      if (i == seps.size() || seps[i] == ';') {
        if (cur.size() == 1)
          groups.push_back(std::move(cur[0]));
        else {
          Node tup = node_make(NodeKind::Tuple, std::move(cur));
          tup.lb = '(';
          tup.rb = ')';
          groups.push_back(std::move(tup));
        }
        cur.clear();
      }
    }
    items.swap(groups);
  }
  if (items.size() == 1) return std::move(items[0]);
  return node_make(NodeKind::List, std::move(items));
}

// items separated by , ; and or, until Eof or a closing bracket (not consumed). seps[i] is between i, i+1.
void Parser::parse_items(std::vector<Node>& items, std::vector<char>& seps, int close) {
  for (;;) {
    while (at_sep() && items.empty()) ++p;  // leading separators
    if (peek().t == Tok::Eof || is_close()) break;
    items.push_back(parse_item());
    if (!ok) return;
    if (!at_sep()) break;
    char sep = peek().t == Tok::Op ? peek().text[0] : ',';
    while (at_sep()) ++p;
    if (peek().t == Tok::Eof || is_close()) break;  // trailing separator
    seps.push_back(sep);
  }
}

Node Parser::parse_item() {
  Node first = parse_ratio();
  if (!ok || peek().t != Tok::Rel) return first;
  Node rel = node_make(NodeKind::Rel, {});
  rel.c.push_back(std::move(first));
  while (peek().t == Tok::Rel) {
    rel.ops.push_back(static_cast<uint8_t>(peek().aux));
    ++p;
    rel.c.push_back(parse_ratio());
    if (!ok) return Node{};
  }
  // x = 5+5+1 = 1/3 \approx 0.33: the value stated before the first approximation is the answer.
  auto eq = std::find(rel.ops.begin(), rel.ops.end(), REL_EQ);
  auto ap = std::find(rel.ops.begin(), rel.ops.end(), REL_APPROX);
  if (ap != rel.ops.end() && eq != rel.ops.end() && eq < ap) {
    size_t k = static_cast<size_t>(ap - rel.ops.begin());
    rel.ops.resize(k);
    rel.c.resize(k + 1);
  }
  for (auto& o : rel.ops)
    if (o == REL_APPROX) o = REL_EQ;
  return rel;
}

Node Parser::parse_ratio() {
  Node a = parse_union();
  if (!ok || !op(':')) return a;
  Node r = node_make(NodeKind::Ratio, {});
  r.c.push_back(std::move(a));
  while (op(':')) {
    ++p;
    r.c.push_back(parse_union());
    if (!ok) return Node{};
  }
  return r;
}

Node Parser::parse_union() {
  Node a = parse_sum();
  if (!ok || !cmd("cup")) return a;
  Node u = node_make(NodeKind::Union, {});
  u.c.push_back(std::move(a));
  while (cmd("cup")) {
    ++p;
    u.c.push_back(parse_sum());
    if (!ok) return Node{};
  }
  return u;
}

Node Parser::parse_sum() {
  std::vector<Node> terms;
  bool first = true;
  for (;;) {
    int sign = 1;  // 1 +, -1 -, 2 pm, 3 mp
    bool had_op = false;
    for (;;) {
      if (op('+')) {
        ++p;
        had_op = true;
      } else if (op('-')) {
        sign = sign == 1 ? -1 : sign == -1 ? 1 : sign;
        ++p;
        had_op = true;
      } else if (cmd("pm")) {
        sign = 2;
        ++p;
        had_op = true;
      } else if (cmd("mp")) {
        sign = 3;
        ++p;
        had_op = true;
      } else
        break;
    }
    if (!first && !had_op) break;
    Node term = parse_term();
    if (!ok) return Node{};
    if (sign == -1)
      term = node_of(NodeKind::Neg, std::move(term));
    else if (sign >= 2) {
      Node pm = node_of(NodeKind::PlusMinus, node_num(0), std::move(term));
      pm.flag = sign == 3;
      term = std::move(pm);
    }
    terms.push_back(std::move(term));
    first = false;
    if (!(op('+') || op('-') || cmd("pm") || cmd("mp"))) break;
  }
  if (terms.size() == 1) return std::move(terms[0]);
  return node_make(NodeKind::Add, std::move(terms));
}

bool Parser::starts_primary() const {
  const Token& k = peek();
  switch (k.t) {
    case Tok::Num:
    case Tok::Text:
    case Tok::LSet:
    case Tok::Begin:
      return true;
    case Tok::Letters:
      return k.text != "and" && k.text != "or";
    case Tok::Cmd:
      return k.text != "cup" && k.text != "pm" && k.text != "mp" && k.text != "rfloor" && k.text != "rceil";
    case Tok::Op:
      return k.text == "(" || k.text == "[" || k.text == "{" || (k.text == "|" && abs_depth == 0);
    default:
      return false;
  }
}

Node Parser::parse_term() {
  std::vector<Node> factors;
  factors.push_back(parse_power());
  if (!ok) return Node{};
  for (;;) {
    if (op('*')) {
      ++p;
      factors.push_back(parse_power());
    } else if (op('/')) {
      ++p;
      Node den = parse_power();
      if (!ok) return Node{};
      Node num = factors.size() == 1 ? std::move(factors[0]) : node_make(NodeKind::Mul, std::move(factors));
      factors.clear();
      factors.push_back(node_of(NodeKind::Div, std::move(num), std::move(den)));
    } else if (starts_primary()) {
      const bool mixed_candidate =
          factors.size() == 1 && factors[0].k == NodeKind::Num && factors[0].dp < 0 && peek().t == Tok::Cmd &&
          (peek().text == "frac" || peek().text == "dfrac" || peek().text == "tfrac");
      Node f = parse_power();
      if (mixed_candidate && ok && f.k == NodeKind::Div && f.c[0].k == NodeKind::Num &&
          f.c[1].k == NodeKind::Num && f.c[0].dp < 0 && f.c[1].dp < 0 && f.c[0].q() < f.c[1].q()) {
        // mixed number 7\frac{3}{4} = 7 + 3/4 (a proper fraction right after an integer)
        factors[0] = node_of(NodeKind::Add, std::move(factors[0]), std::move(f));
        continue;
      }
      factors.push_back(std::move(f));
    } else {
      break;
    }
    if (!ok) return Node{};
  }
  if (factors.size() == 1) return std::move(factors[0]);
  return node_make(NodeKind::Mul, std::move(factors));
}

Node Parser::parse_power() {
  Node base = parse_postfix(parse_primary());
  if (!ok) return Node{};
  if (op('^')) {
    ++p;
    Node e = parse_script_arg();
    if (!ok) return Node{};
    base = parse_postfix(node_of(NodeKind::Pow, std::move(base), std::move(e)));
  }
  return base;
}

Node Parser::parse_postfix(Node n) {
  for (;;) {
    if (op('!')) {
      ++p;
      Node f = node_of(NodeKind::Func, std::move(n));
      f.s = "fact";
      n = std::move(f);
    } else if (peek().t == Tok::Percent) {
      ++p;
      n = node_of(NodeKind::Percent, std::move(n));
    } else if (peek().t == Tok::Degree) {
      ++p;  // degrees are dropped: 90^\circ == 90
    } else if (op('\'')) {
      ++p;
      if (n.k == NodeKind::Sym) n.s += "'";
    } else {
      return n;
    }
  }
}

// Argument of ^ _ \frac \sqrt: a braced group, or one digit / letter / command.
Node Parser::parse_script_arg() {
  const Token& k = peek();
  if (k.t == Tok::Op && k.text == "{") return parse_primary();
  if (k.t == Tok::Num && k.text.size() > 1 && k.aux == 0) {
    if (k.text[0] == '.') return fail();  // "\frac.2" (mpq_class(".") would throw)
    Node d = node_num(mpq_class(k.text.substr(0, 1)));
    t[p].text.erase(0, 1);
    if (t[p].text[0] == '.') return fail();
    return d;
  }
  if (k.t == Tok::Letters && k.text.size() > 1) {
    Node s = letter_node(k.text.substr(0, 1));
    t[p].text.erase(0, 1);
    return s;
  }
  if (op('-')) {
    ++p;
    return node_of(NodeKind::Neg, parse_script_arg());
  }
  return parse_primary();
}

}  // namespace detail

std::optional<Node> latex_parse(std::string_view text, const LexOptions& opt) {
  std::vector<Token> toks;
  if (!latex_lex(text, opt, toks)) return std::nullopt;
  tokens_resolve_text(toks, opt);
  // The parser stops at Eof (peek() clamps to the last token): without it a loop would never end.
  TSFT_CHECK(!toks.empty() && toks.back().t == Tok::Eof, "latex_parse: token stream lost its Eof");
  if (toks.size() == 1) return std::nullopt;  // nothing but Eof
  detail::Parser ps{toks};
  Node n = ps.parse_answer();
  if (!ps.ok) return std::nullopt;
  return n;
}

}  // namespace tsft::eval
