// Primaries of the answer grammar (latex_parser.hpp): numbers, symbols, functions, brackets,
// matrices and LaTeX commands.
#include <algorithm>
#include <cstring>

#include "eval/latex_parser_impl.hpp"
#include "eval/latex_words.hpp"

namespace tsft::eval::detail {

Node Parser::letter_node(const std::string& l) {
  if (l == "e") return node_make(NodeKind::Euler, {});
  if (l == "i") return node_make(NodeKind::Imag, {});
  return node_sym(l);
}

std::string Parser::raw_until_group_end() {
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

Node Parser::parse_func(const std::string& name) {
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

Node Parser::parse_bracket(char open) {
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

Node Parser::parse_matrix() {
  std::string env = peek().text;
  ++p;
  static const char* envs[] = {"pmatrix", "bmatrix", "Bmatrix", "vmatrix", "matrix", "smallmatrix", "array"};
  if (std::none_of(std::begin(envs), std::end(envs), [&](const char* e) { return env == e; })) return fail();
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

Node Parser::parse_primary() {
  if (++depth > 200) return fail();
  Node n = parse_primary_inner();
  --depth;
  return n;
}

Node Parser::parse_primary_inner() {
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

Node Parser::parse_command() {
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

}  // namespace tsft::eval::detail
