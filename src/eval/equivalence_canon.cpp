// Canonical forms of parsed answers, and the shape predicates the comparisons share.
#include <algorithm>
#include <set>

#include "eval/equivalence_impl.hpp"

namespace tsft::eval::equiv_detail {

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
      return true;
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

namespace {
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
}  // namespace

int count_pm(const Node& n) {
  int k = n.k == NodeKind::PlusMinus;
  for (const auto& c : n.c) k += count_pm(c);
  return k;
}

namespace {
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
}  // namespace

bool has_matrix(const Node& n) {
  if (n.k == NodeKind::Matrix) return true;
  if (n.k != NodeKind::Add && n.k != NodeKind::Mul && n.k != NodeKind::Neg) return false;
  for (const auto& c : n.c)
    if (has_matrix(c)) return true;
  return false;
}

namespace {
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
}  // namespace

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

}  // namespace tsft::eval::equiv_detail
