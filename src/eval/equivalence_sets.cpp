// Sets of reals: relations as intervals, membership of a point, one-variable relations against
// intervals and unions.
#include <algorithm>
#include <cmath>
#include <set>

#include "eval/equivalence_impl.hpp"

namespace tsft::eval::equiv_detail {

// a < E < b  /  E > a  ->  interval (a, b) as a 2-tuple with brackets (for comparison with intervals).
bool Cmp::rel_as_interval(const Node& r0, Node& out) {
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
bool Cmp::is_real_set(const Node& n) const {
  if (n.k == NodeKind::Tuple) return n.c.size() == 2;
  if (n.k == NodeKind::Union || n.k == NodeKind::Set) {
    for (const auto& c : n.c)
      if (!(value_is_scalar(c) || is_real_set(c))) return false;
    return true;
  }
  return false;
}

// Is x in the set? nullopt when the set cannot be evaluated at x.
std::optional<bool> Cmp::member(const Node& n, long double x, const std::string* var) const {
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

void Cmp::constants(const Node& n, std::vector<long double>& out) {
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
bool Cmp::rel_vs_set(const Node& rel, const Node& set) const {
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

}  // namespace tsft::eval::equiv_detail
