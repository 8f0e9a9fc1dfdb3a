// Scalars (exact rationals, decimal tolerance, numeric at sample points) and relations compared as
// lhs - rhs up to a constant factor.
#include <algorithm>
#include <cmath>
#include <set>

#include "eval/equivalence_impl.hpp"

namespace tsft::eval::equiv_detail {

bool Cmp::within_decimal_tol(const mpq_class& dec, const mpq_class& exact, int dp) const {
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

bool Cmp::close(const cplx& a, const cplx& b, long double rel) {
  if (std::isinf(a.real()) || std::isinf(b.real())) return a == b;
  long double scale = std::max({std::abs(a), std::abs(b), 1e-30L});
  return std::abs(a - b) <= rel * scale;
}

bool Cmp::scalar_eq(const Node& a, const Node& b) const {
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
Node Cmp::difference(const Node& rel) {
  return node_of(NodeKind::Add, rel.c[0], node_make(NodeKind::Neg, {rel.c[1]}));
}

// d1 = c * d2 for a constant c != 0 (sign > 0 required when `positive`); tested at sample points.
bool Cmp::proportional(const Node& d1, const Node& d2, bool positive) const {
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

void Cmp::flip(Node& rel) {  // a > b  ->  b < a (single relation)
  uint8_t& o = rel.ops[0];
  if (o == REL_GT || o == REL_GE) {
    std::swap(rel.c[0], rel.c[1]);
    o = o == REL_GT ? REL_LT : REL_LE;
  }
}

bool Cmp::rel_eq(const Node& a0, const Node& b0) const {
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
        for (auto& o : r->ops) o = o == REL_GT ? uint8_t(REL_LT) : o == REL_GE ? uint8_t(REL_LE) : o;
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

}  // namespace tsft::eval::equiv_detail
