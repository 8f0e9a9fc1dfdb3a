#include "eval/equivalence.hpp"

#include <algorithm>
#include <cmath>
#include <optional>
#include <set>

#include "core/error.hpp"
#include "eval/latex_parser.hpp"
#include "eval/latex_value.hpp"

namespace tsft::eval {
namespace {

bool is_rel(const Node& n) {
  return n.k == NodeKind::Rel;
}
bool is_collection(const Node& n) {
  return n.k == NodeKind::List || n.k == NodeKind::Set;
}

// lhs shapes that name a quantity rather than constrain one: x, a_3, f(x), |AB|, NO/BO, A:B, (p,q).
bool name_like(const Node& n) {
  switch (n.k) {
    case NodeKind::Sym:
    case NodeKind::Pi:
    case NodeKind::Euler:
    case NodeKind::Imag:
      return n.k == NodeKind::Sym || true;
    case NodeKind::Mul:
    case NodeKind::Div:
    case NodeKind::Ratio:
    case NodeKind::Tuple: {
      bool any_sym = false;
      for (const auto& c : n.c) {
        if (c.k == NodeKind::Num) return false;
        if (!name_like(c)) return false;
        any_sym = true;
      }
      return any_sym;
    }
    case NodeKind::Pow:
      return name_like(n.c[0]);
    case NodeKind::Func:
      return n.c.size() == 1 && (name_like(n.c[0]) || n.s.rfind("op_", 0) == 0);
    default:
      return false;
  }
}

// Replace every PlusMinus by + (bit 0) or - (bit 1) according to mask (one bit per occurrence).
Node expand_pm(const Node& n, unsigned mask, int& idx) {
  if (n.k == NodeKind::PlusMinus) {
    bool minus = ((mask >> idx++) & 1) != (n.flag != 0);
    Node t = expand_pm(n.c[1], mask, idx);
    if (minus) t = node_of(NodeKind::Neg, std::move(t));
    if (n.c[0].k == NodeKind::Num && n.c[0].q() == 0) return t;
    return node_of(NodeKind::Add, expand_pm(n.c[0], mask, idx), std::move(t));
  }
  Node out = n;
  for (size_t i = 0; i < out.c.size(); ++i) out.c[i] = expand_pm(n.c[i], mask, idx);
  return out;
}

int count_pm(const Node& n) {
  int k = n.k == NodeKind::PlusMinus;
  for (const auto& c : n.c) k += count_pm(c);
  return k;
}

// A scalar or relation with k \pm signs -> its 2^k alternatives (k <= 4).
void alternatives(const Node& n, std::vector<Node>& out) {
  int k = (value_is_scalar(n) || is_rel(n)) ? count_pm(n) : 0;
  if (k == 0 || k > 4) {
    out.push_back(n);
    return;
  }
  for (unsigned m = 0; m < (1u << k); ++m) {
    int idx = 0;
    out.push_back(expand_pm(n, m, idx));
  }
}

bool has_matrix(const Node& n) {
  if (n.k == NodeKind::Matrix) return true;
  if (n.k != NodeKind::Add && n.k != NodeKind::Mul && n.k != NodeKind::Neg) return false;
  for (const auto& c : n.c)
    if (has_matrix(c)) return true;
  return false;
}

// Sums, negations and products of matrices (and scalar multiples) -> one Matrix of cell expressions.
bool matrix_fold(const Node& n, Node& out) {
  if (n.k == NodeKind::Matrix) return out = n, true;
  if (n.k == NodeKind::Neg) {
    if (!matrix_fold(n.c[0], out)) return false;
    for (auto& row : out.c)
      for (auto& cell : row.c) cell = node_of(NodeKind::Neg, std::move(cell));
    return true;
  }
  if (n.k == NodeKind::Add) {
    if (!matrix_fold(n.c[0], out)) return false;
    for (size_t t = 1; t < n.c.size(); ++t) {
      Node m;
      if (!matrix_fold(n.c[t], m) || m.c.size() != out.c.size() || m.c[0].c.size() != out.c[0].c.size())
        return false;
      for (size_t i = 0; i < out.c.size(); ++i)
        for (size_t j = 0; j < out.c[i].c.size(); ++j)
          out.c[i].c[j] = node_of(NodeKind::Add, std::move(out.c[i].c[j]), std::move(m.c[i].c[j]));
    }
    return true;
  }
  if (n.k == NodeKind::Mul) {
    bool have = false;
    Node scalar = node_num(1);
    for (const auto& f : n.c) {
      if (!has_matrix(f)) {
        scalar = node_of(NodeKind::Mul, std::move(scalar), f);
        continue;
      }
      Node m;
      if (!matrix_fold(f, m)) return false;
      if (!have) {
        out = std::move(m);
        have = true;
        continue;
      }
      const size_t r = out.c.size(), inner = out.c[0].c.size(), cols = m.c[0].c.size();
      if (m.c.size() != inner) return false;
      Node prod = node_make(NodeKind::Matrix, {});
      for (size_t i = 0; i < r; ++i) {
        Node row = node_make(NodeKind::Tuple, {});
        for (size_t j = 0; j < cols; ++j) {
          Node sum = node_make(NodeKind::Add, {});
          for (size_t k = 0; k < inner; ++k)
            sum.c.push_back(node_of(NodeKind::Mul, out.c[i].c[k], m.c[k].c[j]));
          row.c.push_back(std::move(sum));
        }
        prod.c.push_back(std::move(row));
      }
      out = std::move(prod);
    }
    if (!have) return false;
    for (auto& row : out.c)
      for (auto& cell : row.c) cell = node_of(NodeKind::Mul, scalar, std::move(cell));
    return true;
  }
  return false;
}

// Canonical form for comparison: single-item lists unwrapped, \pm expanded into sets, "x \in S" -> S,
// assignment chains x = a = b -> x = b.
Node canon(const Node& n0) {
  Node n = n0;
  if (n.k == NodeKind::List && n.c.size() == 1) return canon(n.c[0]);
  if (n.k != NodeKind::Matrix && has_matrix(n)) {
    Node m;
    if (matrix_fold(n, m)) return m;
  }
  if (is_rel(n)) {
    if (n.ops.size() == 1 && n.ops[0] == REL_IN) return canon(n.c[1]);
    bool all_eq = std::all_of(n.ops.begin(), n.ops.end(), [](uint8_t o) { return o == REL_EQ; });
    if (all_eq) {  // a computation "1/2 = 10/9" or "5+5+1 = 11" stands for its last value
      std::set<std::string> syms;
      for (const auto& c : n.c) value_symbols(c, syms);
      bool scalars = std::all_of(n.c.begin(), n.c.end(), [](const Node& c) { return value_is_scalar(c); });
      if (syms.empty() && scalars) return canon(n.c.back());
    }
    if (all_eq && n.ops.size() > 1 && name_like(n.c[0])) {
      Node r = node_of(NodeKind::Rel, n.c.front(), n.c.back());
      r.ops = {REL_EQ};
      n = std::move(r);
    }
  }
  if ((value_is_scalar(n) || is_rel(n)) && count_pm(n) > 0) {
    std::vector<Node> alts;
    alternatives(n, alts);
    if (alts.size() > 1) return node_make(NodeKind::Set, std::move(alts));
  }
  if (is_collection(n)) {  // flatten \pm alternatives of members into the collection
    std::vector<Node> flat;
    for (const auto& c : n.c) {
      Node cc = canon(c);
      if (cc.k == NodeKind::Set && (value_is_scalar(c) || is_rel(c)) && count_pm(c) > 0) {
        for (auto& a : cc.c) flat.push_back(std::move(a));
      } else {
        flat.push_back(std::move(cc));
      }
    }
    n.c = std::move(flat);
  }
  return n;
}

bool is_assignment(const Node& n) {
  return is_rel(n) && n.ops.size() == 1 && n.ops[0] == REL_EQ && name_like(n.c[0]);
}

struct Cmp {
  const EquivOptions& opt;
  bool percent_divide = true;

  bool within_decimal_tol(const mpq_class& dec, const mpq_class& exact, int dp) const {
    mpq_class diff = abs(dec - exact);
    if (diff == 0) return true;
    mpq_class rel = mpq_class(opt.decimal_rel_tol) * abs(exact);
    if (diff > rel) return false;
    if (dp >= 0) {
      mpz_class pw;
      mpz_ui_pow_ui(pw.get_mpz_t(), 10, static_cast<unsigned long>(dp));
      if (diff > mpq_class(1, pw)) return false;
    }
    return true;
  }

  static bool close(const cplx& a, const cplx& b, long double rel) {
    if (std::isinf(a.real()) || std::isinf(b.real())) return a == b;
    long double scale = std::max({std::abs(a), std::abs(b), 1e-30L});
    return std::abs(a - b) <= rel * scale;
  }

  bool scalar_eq(const Node& a, const Node& b) const {
    ValueContext ctx{percent_divide, 0};
    const bool da = value_has_decimal(a), db = value_has_decimal(b);
    const bool mixed = da != db;  // exactly one side written with decimals
    mpq_class qa, qb;
    if (value_exact(a, ctx, qa) && value_exact(b, ctx, qb)) {
      if (qa == qb) {
        if (!opt.allow_unreduced && value_has_unreduced_fraction(b) != value_has_unreduced_fraction(a))
          return false;
        return true;
      }
      if (!mixed) return false;
      return da ? within_decimal_tol(qa, qb, value_literal_dp(a))
                : within_decimal_tol(qb, qa, value_literal_dp(b));
    }
    std::set<std::string> syms;
    value_symbols(a, syms);
    value_symbols(b, syms);
    const int points = syms.empty() ? 1 : opt.random_points;
    const long double rel = mixed ? opt.decimal_rel_tol : opt.numeric_rel_tol;
    int compared = 0;
    for (int k = 0; k < points; ++k) {
      ctx.point = static_cast<uint64_t>(k);
      cplx va, vb;
      bool oa = value_numeric(a, ctx, va), ob = value_numeric(b, ctx, vb);
      if (!oa && !ob) continue;
      if (oa != ob) return false;
      if (!close(va, vb, rel)) return false;
      if (mixed && syms.empty()) {  // one unit in the last written place of a decimal literal
        int dp = da ? value_literal_dp(a) : value_literal_dp(b);
        if (dp >= 0 && std::abs(va - vb) > std::pow(10.0L, -dp) * (1 + 1e-12L)) return false;
      }
      ++compared;
    }
    return compared > 0;
  }

  // lhs - rhs of a relation as one scalar tree.
  static Node difference(const Node& rel) {
    return node_of(NodeKind::Add, rel.c[0], node_make(NodeKind::Neg, {rel.c[1]}));
  }

  // d1 = c * d2 for a constant c != 0 (sign > 0 required when `positive`); tested at sample points.
  bool proportional(const Node& d1, const Node& d2, bool positive) const {
    std::set<std::string> syms;
    value_symbols(d1, syms);
    value_symbols(d2, syms);
    if (syms.empty()) return false;
    ValueContext ctx{percent_divide, 0};
    cplx ratio;
    bool have = false;
    int zeros = 0;
    for (int k = 0; k < opt.random_points + 2; ++k) {
      ctx.point = static_cast<uint64_t>(k) + 101;
      cplx a, b;
      if (!value_numeric(d1, ctx, a) || !value_numeric(d2, ctx, b)) return false;
      bool za = std::abs(a) < 1e-12L, zb = std::abs(b) < 1e-12L;
      if (za && zb) {
        ++zeros;
        continue;
      }
      if (za != zb) return false;
      cplx r = a / b;
      if (!have) {
        ratio = r;
        have = true;
        if (positive && !(r.real() > 0 && std::fabs(r.imag()) < 1e-12L)) return false;
      } else if (!close(r, ratio, 1e-7L)) {
        return false;
      }
    }
    return have || zeros > 0;
  }

  static void flip(Node& rel) {  // a > b  ->  b < a (single relation)
    uint8_t& o = rel.ops[0];
    if (o == REL_GT || o == REL_GE) {
      std::swap(rel.c[0], rel.c[1]);
      o = o == REL_GT ? REL_LT : REL_LE;
    }
  }

  bool rel_eq(const Node& a0, const Node& b0) const {
    if (a0.ops.size() != b0.ops.size()) return false;
    if (a0.ops == b0.ops) {  // same shape: operand by operand
      bool all = true;
      for (size_t i = 0; i < a0.c.size() && all; ++i) all = eq(a0.c[i], b0.c[i]);
      if (all) return true;
    }
    if (a0.ops.size() > 1) {  // chains: compare in the < direction
      Node a = a0, b = b0;
      for (Node* r : {&a, &b}) {
        if (r->ops[0] == REL_GT || r->ops[0] == REL_GE) {
          std::reverse(r->c.begin(), r->c.end());
          std::reverse(r->ops.begin(), r->ops.end());
          for (auto& o : r->ops) o = o == REL_GT ? REL_LT : o == REL_GE ? REL_LE : o;
        }
      }
      if (a.ops != b.ops) return false;
      for (size_t i = 0; i < a.c.size(); ++i)
        if (!eq(a.c[i], b.c[i])) return false;
      return true;
    }
    Node a = a0, b = b0;
    flip(a);
    flip(b);
    if (a.ops[0] != b.ops[0]) return false;
    if (!value_is_scalar(a.c[0]) || !value_is_scalar(a.c[1]) || !value_is_scalar(b.c[0]) ||
        !value_is_scalar(b.c[1]))
      return false;
    const bool ordered = a.ops[0] == REL_LT || a.ops[0] == REL_LE;
    return proportional(difference(a), difference(b), ordered);
  }

  // a < E < b  /  E > a  ->  interval (a, b) as a 2-tuple with brackets (for comparison with intervals).
  static bool rel_as_interval(const Node& r0, Node& out) {
    Node r = r0;
    if (r.ops.size() == 2) {
      bool up = (r.ops[0] == REL_LT || r.ops[0] == REL_LE) && (r.ops[1] == REL_LT || r.ops[1] == REL_LE);
      bool down = (r.ops[0] == REL_GT || r.ops[0] == REL_GE) && (r.ops[1] == REL_GT || r.ops[1] == REL_GE);
      if (!up && !down) return false;
      if (down) {
        std::reverse(r.c.begin(), r.c.end());
        std::reverse(r.ops.begin(), r.ops.end());
      }
      out = node_of(NodeKind::Tuple, r.c[0], r.c[2]);
      out.lb = (r.ops[0] == REL_LT || r.ops[0] == REL_GT) ? '(' : '[';
      out.rb = (r.ops[1] == REL_LT || r.ops[1] == REL_GT) ? ')' : ']';
      return true;
    }
    if (r.ops.size() == 1 && r.ops[0] != REL_EQ && r.ops[0] != REL_NE && r.ops[0] != REL_IN) {
      flip(r);  // now lhs < rhs or lhs <= rhs
      bool strict = r.ops[0] == REL_LT;
      Node inf = node_make(NodeKind::Inf, {});
      if (name_like(r.c[0]) && !name_like(r.c[1])) {  // x < b -> (-inf, b)
        out = node_of(NodeKind::Tuple, node_make(NodeKind::Neg, {inf}), r.c[1]);
        out.lb = '(';
        out.rb = strict ? ')' : ']';
        return true;
      }
      if (name_like(r.c[1]) && !name_like(r.c[0])) {  // a < x -> (a, inf)
        out = node_of(NodeKind::Tuple, r.c[0], inf);
        out.lb = strict ? '(' : '[';
        out.rb = ')';
        return true;
      }
    }
    return false;
  }

  // Sets of reals: intervals (2-tuples), unions, finite sets, and relations in one variable.
  bool is_real_set(const Node& n) const {
    if (n.k == NodeKind::Tuple) return n.c.size() == 2;
    if (n.k == NodeKind::Union || n.k == NodeKind::Set) {
      for (const auto& c : n.c)
        if (!(value_is_scalar(c) || is_real_set(c))) return false;
      return true;
    }
    return false;
  }

  // Is x in the set? nullopt when the set cannot be evaluated at x.
  std::optional<bool> member(const Node& n, long double x, const std::string* var) const {
    ValueContext ctx{percent_divide, 0, var, x};
    auto val = [&](const Node& e, long double& out) {
      cplx v;
      if (!value_numeric(e, ctx, v) || std::fabs(v.imag()) > 1e-12L) return false;
      out = v.real();
      return true;
    };
    switch (n.k) {
      case NodeKind::Tuple: {
        long double lo, hi;
        if (!val(n.c[0], lo) || !val(n.c[1], hi)) return std::nullopt;
        return (n.lb == '[' ? x >= lo : x > lo) && (n.rb == ']' ? x <= hi : x < hi);
      }
      case NodeKind::Union:
      case NodeKind::Set: {
        for (const auto& c : n.c) {
          if (value_is_scalar(c)) {
            long double v;
            if (!val(c, v)) return std::nullopt;
            if (std::fabs(v - x) <= 1e-12L * std::max(1.0L, std::fabs(x))) return true;
            continue;
          }
          auto m = member(c, x, var);
          if (!m) return std::nullopt;
          if (*m) return true;
        }
        return false;
      }
      case NodeKind::Rel: {
        std::vector<long double> v(n.c.size());
        for (size_t i = 0; i < n.c.size(); ++i)
          if (!val(n.c[i], v[i])) return std::nullopt;
        for (size_t i = 0; i < n.ops.size(); ++i) {
          const long double l = v[i], r = v[i + 1];
          bool ok = n.ops[i] == REL_LT   ? l < r
                    : n.ops[i] == REL_LE ? l <= r
                    : n.ops[i] == REL_GT ? l > r
                    : n.ops[i] == REL_GE ? l >= r
                    : n.ops[i] == REL_NE ? l != r
                                         : std::fabs(l - r) <= 1e-12L;
          if (!ok) return false;
        }
        return true;
      }
      default:
        return std::nullopt;
    }
  }

  static void constants(const Node& n, std::vector<long double>& out) {
    std::set<std::string> syms;
    value_symbols(n, syms);
    if (syms.empty() && value_is_scalar(n)) {
      cplx v;
      if (value_numeric(n, ValueContext{}, v) && std::isfinite(v.real())) out.push_back(v.real());
      return;
    }
    for (const auto& c : n.c) constants(c, out);
  }

  // A relation in one variable (1 <= |z| <= 3/2) against a set of reals: same membership at every
  // critical point (each constant, its negative, +-eps around it), between them and far out.
  bool rel_vs_set(const Node& rel, const Node& set) const {
    std::set<std::string> syms;
    value_symbols(rel, syms);
    std::set<std::string> set_syms;
    value_symbols(set, set_syms);
    if (syms.size() != 1 || !set_syms.empty()) return false;
    const std::string var = *syms.begin();
    std::vector<long double> crit;
    constants(rel, crit);
    constants(set, crit);
    for (size_t i = 0, n = crit.size(); i < n; ++i) crit.push_back(-crit[i]);
    std::sort(crit.begin(), crit.end());
    std::vector<long double> pts = {-1e6L, 1e6L};
    for (size_t i = 0; i < crit.size(); ++i) {
      const long double c = crit[i], eps = 1e-7L * std::max(1.0L, std::fabs(c));
      pts.insert(pts.end(), {c, c - eps, c + eps});
      if (i + 1 < crit.size()) pts.push_back((c + crit[i + 1]) / 2);
    }
    for (long double x : pts) {
      auto a = member(rel, x, &var), b = member(set, x, &var);
      if (!a || !b || *a != *b) return false;
    }
    return true;
  }

  bool unordered_eq(const std::vector<Node>& a, const std::vector<Node>& b) const {
    auto covered = [&](const std::vector<Node>& x, const std::vector<Node>& y) {
      for (const auto& e : x) {
        bool found = false;
        for (const auto& f : y)
          if (eq(e, f)) {
            found = true;
            break;
          }
        if (!found) return false;
      }
      return true;
    };
    if (a.empty() || b.empty()) return a.empty() && b.empty();
    return covered(a, b) && covered(b, a);
  }

  static bool needs_canon(const Node& n) {
    return n.k == NodeKind::List || n.k == NodeKind::Set || is_rel(n) || has_matrix(n) || count_pm(n) > 0;
  }

  bool eq(const Node& a0, const Node& b0) const {
    if (!needs_canon(a0) && !needs_canon(b0)) return eq_canon(a0, b0);
    return eq_canon(needs_canon(a0) ? canon(a0) : a0, needs_canon(b0) ? canon(b0) : b0);
  }

  bool eq_canon(const Node& a, const Node& b) const {
    // Assignments stand for their value against a non-relation: "x = 3" vs "3".
    if (is_assignment(a) && !is_rel(b)) return eq(a.c[1], b);
    if (is_assignment(b) && !is_rel(a)) return eq(a, b.c[1]);
    if (is_assignment(a) && is_assignment(b) && eq(a.c[0], b.c[0])) return eq(a.c[1], b.c[1]);
    if (is_rel(a) && is_rel(b)) return rel_eq(a, b);
    Node iv;
    if (is_rel(a) && b.k == NodeKind::Tuple && b.c.size() == 2 && rel_as_interval(a, iv) && eq(iv, b))
      return true;
    if (is_rel(b) && a.k == NodeKind::Tuple && a.c.size() == 2 && rel_as_interval(b, iv) && eq(a, iv))
      return true;
    if (is_rel(a) && is_real_set(b) && b.k != NodeKind::Set) return rel_vs_set(a, b);
    if (is_rel(b) && is_real_set(a) && a.k != NodeKind::Set) return rel_vs_set(b, a);
    if (is_collection(a) && is_collection(b)) {
      if (a.k == NodeKind::List && b.k == NodeKind::List && opt.ordered_lists) {
        if (a.c.size() != b.c.size()) return false;
        for (size_t i = 0; i < a.c.size(); ++i)
          if (!eq(a.c[i], b.c[i])) return false;
        return true;
      }
      return unordered_eq(a.c, b.c);
    }
    if (a.k != b.k) {
      if (value_is_scalar(a) && value_is_scalar(b)) return scalar_eq(a, b);
      return false;
    }
    switch (a.k) {
      case NodeKind::Tuple:
        if (opt.strict_brackets && (a.lb != b.lb || a.rb != b.rb)) return false;
        [[fallthrough]];
      case NodeKind::Ratio:
        if (a.c.size() != b.c.size()) return false;
        for (size_t i = 0; i < a.c.size(); ++i)
          if (!eq(a.c[i], b.c[i])) return false;
        return true;
      case NodeKind::Union:
        return unordered_eq(a.c, b.c);
      case NodeKind::Matrix:
        if (a.c.size() != b.c.size()) return false;
        for (size_t i = 0; i < a.c.size(); ++i) {
          if (a.c[i].c.size() != b.c[i].c.size()) return false;
          for (size_t j = 0; j < a.c[i].c.size(); ++j)
            if (!eq(a.c[i].c[j], b.c[i].c[j])) return false;
        }
        return true;
      case NodeKind::Text:
        return a.s == b.s;
      default:
        return value_is_scalar(a) && value_is_scalar(b) && scalar_eq(a, b);
    }
  }
};

}  // namespace

PercentPolicy percent_policy_parse(const std::string& s) {
  if (s == "either") return PercentPolicy::Either;
  if (s == "strip") return PercentPolicy::Strip;
  if (s == "divide") return PercentPolicy::Divide;
  TSFT_USAGE_CHECK(false, "percent policy must be either|strip|divide, got '{}'", s);
  return PercentPolicy::Either;
}

bool equiv_nodes(const Node& gold, const Node& pred, const EquivOptions& opt) {
  Cmp c{opt, true};
  if (opt.percent == PercentPolicy::Strip) c.percent_divide = false;
  if (c.eq(gold, pred)) return true;
  if (opt.percent == PercentPolicy::Either && (value_has_percent(gold) || value_has_percent(pred))) {
    c.percent_divide = false;
    return c.eq(gold, pred);
  }
  return false;
}

bool equiv_strings(std::string_view gold, std::string_view pred, const EquivOptions& opt) {
  std::string ng = equiv_normalize_text(gold), np = equiv_normalize_text(pred);
  if (ng.empty() || np.empty()) return false;
  if (ng == np) return true;
  LexOptions lo;
  lo.decimal_comma = opt.decimal_comma;
  auto g = latex_parse(gold, lo);
  auto p = latex_parse(pred, lo);
  if (!g || !p) return false;
  return equiv_nodes(*g, *p, opt);
}

}  // namespace tsft::eval
