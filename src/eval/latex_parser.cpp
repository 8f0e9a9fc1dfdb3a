#include "eval/latex_parser.hpp"

#include <algorithm>
#include <cstring>

#include "eval/latex_words.hpp"

namespace tsft::eval {

namespace {

struct Parser {
  std::vector<Token>& t;
  size_t p = 0;
  int abs_depth = 0;
  int depth = 0;
  bool ok = true;

  const Token& peek(size_t k = 0) const { return t[std::min(p + k, t.size() - 1)]; }
  bool op(char c, size_t k = 0) const { return peek(k).t == Tok::Op && peek(k).text[0] == c; }
  bool cmd(const char* name, size_t k = 0) const { return peek(k).t == Tok::Cmd && peek(k).text == name; }
  Node fail() {
    ok = false;
    return Node{};
  }
  bool at_sep() const {
    const Token& k = peek();
    if (k.t == Tok::Op && (k.text == "," || k.text == ";")) return true;
    return k.t == Tok::Letters && (k.text == "and" || k.text == "or");
  }

  // answer := group (';' group)*
  Node parse_answer() {
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
  void parse_items(std::vector<Node>& items, std::vector<char>& seps, int close) {
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
  bool is_close() const { return op(')') || op(']') || op('}') || peek().t == Tok::RSet; }

  Node parse_item() {
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

  Node parse_ratio() {
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

  Node parse_union() {
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

  Node parse_sum() {
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

  bool starts_primary() const {
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

  Node parse_term() {
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
            factors.size() == 1 && factors[0].k == NodeKind::Num && factors[0].dp < 0 &&
            peek().t == Tok::Cmd &&
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

  Node parse_power() {
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

  Node parse_postfix(Node n) {
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
  Node parse_script_arg() {
    const Token& k = peek();
    if (k.t == Tok::Op && k.text == "{") return parse_primary();
    if (k.t == Tok::Num && k.text.size() > 1 && k.aux == 0) {
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

  Node letter_node(const std::string& l) {
    if (l == "e") return node_make(NodeKind::Euler, {});
    if (l == "i") return node_make(NodeKind::Imag, {});
    return node_sym(l);
  }

  std::string raw_until_group_end() {  // raw text of a subscript argument, for symbol names
    std::string s;
    if (op('{')) {
      int d = 0;
      do {
        const Token& k = peek();
        if (k.t == Tok::Eof) return ok = false, "";
        if (k.t == Tok::Op && k.text == "{") ++d;
        if (k.t == Tok::Op && k.text == "}") --d;
        s += k.t == Tok::Cmd ? "\\" + k.text : k.text;
        ++p;
      } while (d > 0);
      return s;
    }
    const Token& k = peek();
    if (k.t == Tok::Eof) return ok = false, "";
    std::string one = k.t == Tok::Cmd ? "\\" + k.text : k.text.substr(0, 1);
    if ((k.t == Tok::Num || k.t == Tok::Letters) && k.text.size() > 1)
      t[p].text.erase(0, 1);
    else
      ++p;
    return one;
  }

  Node parse_func(const std::string& name) {
    Node base;  // optional \log_b
    bool has_base = false;
    Node power;
    bool has_power = false;
    for (int k = 0; k < 2; ++k) {
      if (op('_')) {
        ++p;
        base = parse_script_arg();
        has_base = true;
      } else if (op('^')) {
        ++p;
        power = parse_script_arg();
        has_power = true;
      }
    }
    if (!ok) return Node{};
    Node arg;
    if (op('(')) {
      arg = parse_primary();
    } else {
      // \sin 2x, \sin b \cos a: an implicit product of plain factors
      std::vector<Node> f;
      f.push_back(parse_power());
      while (ok && (peek().t == Tok::Num ||
                    (peek().t == Tok::Letters && !word_is_function(peek().text) && peek().text != "and" &&
                     peek().text != "or") ||
                    (peek().t == Tok::Cmd &&
                     (peek().text == "pi" || peek().text == "alpha" || peek().text == "theta"))))
        f.push_back(parse_power());
      arg = f.size() == 1 ? std::move(f[0]) : node_make(NodeKind::Mul, std::move(f));
    }
    if (!ok) return Node{};
    Node fn = node_of(NodeKind::Func, std::move(arg));
    fn.s = name == "lg" ? "log10" : name;
    if (has_base) fn.c.push_back(std::move(base));
    if (has_power) {
      if (power.k == NodeKind::Neg && power.c[0].k == NodeKind::Num && power.c[0].q() == 1) {
        fn.s = "arc" + fn.s;  // \sin^{-1}
        return fn;
      }
      return node_of(NodeKind::Pow, std::move(fn), std::move(power));
    }
    return fn;
  }

  Node parse_bracket(char open) {
    if (++depth > 200) return fail();
    std::vector<Node> items;
    std::vector<char> seps;
    parse_items(items, seps, 1);
    if (!ok) return Node{};
    if (!is_close()) return fail();
    char close = peek().t == Tok::RSet ? '}' : peek().text[0];
    ++p;
    --depth;
    if (open == '{') {
      if (close != '}') return fail();
      if (items.size() == 1 && seps.empty()) return std::move(items[0]);
      return node_make(NodeKind::Set, std::move(items));
    }
    if (open == 'S') {  // \{ ... \}
      if (close != '}') return fail();
      return node_make(NodeKind::Set, std::move(items));
    }
    if (close == '}') return fail();
    if (items.size() == 1 && seps.empty()) {
      if (items[0].k == NodeKind::Matrix || open == close - 1 || (open == '[' && close == ']'))
        return std::move(items[0]);
    }
    if (items.empty()) return fail();
    Node tup = node_make(NodeKind::Tuple, std::move(items));
    tup.lb = open;
    tup.rb = close;
    return tup;
  }

  Node parse_matrix() {
    std::string env = peek().text;
    ++p;
    static const char* envs[] = {"pmatrix", "bmatrix",     "Bmatrix", "vmatrix",
                                 "matrix",  "smallmatrix", "array"};
    if (std::none_of(std::begin(envs), std::end(envs), [&](const char* e) { return env == e; }))
      return fail();
    Node m = node_make(NodeKind::Matrix, {});
    Node row = node_make(NodeKind::Tuple, {});
    for (;;) {
      if (peek().t == Tok::End || peek().t == Tok::RowSep) {
        bool end = peek().t == Tok::End;
        ++p;
        if (!row.c.empty()) m.c.push_back(std::move(row));
        row = node_make(NodeKind::Tuple, {});
        if (end) break;
        continue;
      }
      if (peek().t == Tok::Eof) return fail();
      row.c.push_back(parse_item());
      if (!ok) return Node{};
      if (op('&'))
        ++p;
      else if (peek().t != Tok::End && peek().t != Tok::RowSep)
        return fail();
    }
    if (m.c.empty()) return fail();
    for (auto& r : m.c)
      if (r.c.size() != m.c[0].c.size()) return fail();
    return m;
  }

  Node parse_primary() {
    if (++depth > 200) return fail();
    Node n = parse_primary_inner();
    --depth;
    return n;
  }

  Node parse_primary_inner() {
    const Token& k = peek();
    switch (k.t) {
      case Tok::Num: {
        ++p;
        std::string digits = k.text;
        int dp = -1;
        size_t dot = digits.find('.');
        if (dot != std::string::npos) {
          dp = static_cast<int>(digits.size() - dot - 1);
          digits.erase(dot, 1);
        }
        mpz_class z(digits.empty() ? "0" : digits, 10);
        mpq_class v(z);
        int e = (dp > 0 ? -dp : 0) + k.aux;
        if (e != 0) {
          mpz_class pw;
          mpz_ui_pow_ui(pw.get_mpz_t(), 10, static_cast<unsigned long>(std::abs(e)));
          if (e < 0)
            v /= pw;
          else
            v *= pw;
          v.canonicalize();
        }
        if (k.aux != 0) dp = std::max(0, (dp < 0 ? 0 : dp) - k.aux);
        Node num = node_num(v, dp);
        if (op('_')) {  // base-n numeral 204_5: an opaque name
          ++p;
          return node_sym(k.text + "_" + raw_until_group_end());
        }
        return num;
      }
      case Tok::Letters: {
        const std::string& w = k.text;
        if (word_is_function(w)) {
          ++p;
          return parse_func(w);
        }
        if (w == "pi") return ++p, node_make(NodeKind::Pi, {});
        if (w == "inf" || w == "infty" || w == "infinity") return ++p, node_make(NodeKind::Inf, {});
        Node s = letter_node(w.substr(0, 1));
        if (w.size() > 1)
          t[p].text.erase(0, 1);
        else
          ++p;
        if (s.k == NodeKind::Sym && op('_')) {
          ++p;
          s.s += "_" + raw_until_group_end();
        }
        return s;
      }
      case Tok::Text:
        ++p;
        {
          Node n;
          n.k = NodeKind::Text;
          n.s = k.text;
          return n;
        }
      case Tok::LSet:
        ++p;
        return parse_bracket('S');
      case Tok::Begin:
        return parse_matrix();
      case Tok::Op: {
        char c = k.text[0];
        if (c == '(' || c == '[' || c == '{') {
          ++p;
          return parse_bracket(c);
        }
        if (c == '|') {
          ++p;
          ++abs_depth;
          Node e = parse_sum();
          --abs_depth;
          if (!ok || !op('|')) return fail();
          ++p;
          Node f = node_of(NodeKind::Func, std::move(e));
          f.s = "abs";
          return f;
        }
        if (c == '-') {  // a sign inside a product: 2 \cdot -3
          ++p;
          return node_of(NodeKind::Neg, parse_power());
        }
        return fail();
      }
      case Tok::Cmd:
        return parse_command();
      default:
        return fail();
    }
  }

  Node parse_command() {
    const std::string name = peek().text;
    ++p;
    if (name == "frac" || name == "dfrac" || name == "tfrac" || name == "cfrac") {
      Node a = parse_script_arg();
      Node b = parse_script_arg();
      if (!ok) return Node{};
      Node d = node_of(NodeKind::Div, std::move(a), std::move(b));
      d.flag = 1;  // written as a fraction (for the unreduced-fraction policy)
      return d;
    }
    if (name == "binom" || name == "dbinom" || name == "tbinom") {
      Node a = parse_script_arg();
      Node b = parse_script_arg();
      Node f = node_of(NodeKind::Func, std::move(a), std::move(b));
      f.s = "binom";
      return f;
    }
    if (name == "sqrt") {
      Node idx;
      bool has_idx = false;
      if (op('[')) {
        ++p;
        idx = parse_sum();
        if (!ok || !op(']')) return fail();
        ++p;
        has_idx = true;
      }
      Node rad = parse_script_arg();
      if (!ok) return Node{};
      Node f = node_of(NodeKind::Func, std::move(rad));
      f.s = "sqrt";
      if (has_idx) {
        f.s = "root";
        f.c.push_back(std::move(idx));
      }
      return f;
    }
    if (name == "pi") return node_make(NodeKind::Pi, {});
    if (name == "infty" || name == "infin") return node_make(NodeKind::Inf, {});
    if (name == "emptyset" || name == "varnothing") return node_make(NodeKind::Set, {});
    if (name == "mathbb") {
      std::string r = raw_until_group_end();
      if (r == "{R}" || r == "R") {
        Node tup = node_of(NodeKind::Tuple, node_make(NodeKind::Neg, {node_make(NodeKind::Inf, {})}),
                           node_make(NodeKind::Inf, {}));
        tup.lb = '(';
        tup.rb = ')';
        return tup;
      }
      return node_sym("mathbb" + r);
    }
    if (name == "lfloor" || name == "lceil") {
      Node e = parse_sum();
      if (!ok || !cmd(name == "lfloor" ? "rfloor" : "rceil")) return fail();
      ++p;
      Node f = node_of(NodeKind::Func, std::move(e));
      f.s = name == "lfloor" ? "floor" : "ceil";
      return f;
    }
    if (word_is_function(name) || name == "arcsin" || name == "arccos" || name == "arctan")
      return parse_func(name);
    if (name == "sum" || name == "prod" || name == "int" || name == "lim") {
      // Opaque: f(lower, upper, body) with a name-seeded random function (equal only when written alike).
      Node f = node_make(NodeKind::Func, {});
      f.s = "op_" + name;
      for (int k = 0; k < 2; ++k) {
        if (op('_') || op('^')) {
          ++p;
          f.c.push_back(node_sym(raw_until_group_end()));
        }
      }
      f.c.push_back(parse_term());
      return f;
    }
    if (name == "overline" || name == "vec" || name == "hat" || name == "bar" || name == "widehat" ||
        name == "overrightarrow" || name == "tilde" || name == "dot") {
      return node_sym(name + raw_until_group_end());
    }
    if (name == "dots" || name == "not" || name == "neg" || name == "to" || name == "rightarrow" ||
        name == "Rightarrow" || name == "implies" || name == "iff" || name == "cap" || name == "setminus" ||
        name == "subset" || name == "subseteq" || name == "forall" || name == "exists" || name == "boxed")
      return fail();
    // Greek letters and other named symbols.
    Node s = node_sym(name);
    if (op('_')) {
      ++p;
      s.s += "_" + raw_until_group_end();
    }
    return s;
  }
};

}  // namespace

std::optional<Node> latex_parse(std::string_view text, const LexOptions& opt) {
  std::vector<Token> toks;
  if (!latex_lex(text, opt, toks)) return std::nullopt;
  tokens_resolve_text(toks, opt);
  if (toks.size() == 1) return std::nullopt;  // nothing but Eof
  Parser ps{toks};
  Node n = ps.parse_answer();
  if (!ps.ok) return std::nullopt;
  return n;
}

}  // namespace tsft::eval
