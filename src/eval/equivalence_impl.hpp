// Internals of answer equivalence (equivalence.hpp), one file per kind of comparison:
//   equivalence_canon.cpp   canonical forms: single-item lists, \pm alternatives, folded matrix
//                           expressions, "x \in S", assignment chains
//   equivalence_scalar.cpp  scalars (exact rationals, decimal tolerance, numeric at sample points) and
//                           relations (lhs - rhs up to a constant factor)
//   equivalence_sets.cpp    sets of reals: intervals, unions, one-variable relations by membership
//   equivalence.cpp         the structural dispatch (Cmp::eq) and the public entry points
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "eval/equivalence.hpp"
#include "eval/latex_value.hpp"

namespace tsft::eval::equiv_detail {

// Shapes (equivalence_canon.cpp).
bool is_rel(const Node& n);
bool is_collection(const Node& n);
bool name_like(const Node& n);  // lhs shapes that name a quantity rather than constrain one
int count_pm(const Node& n);    // \pm signs in the tree
bool has_matrix(const Node& n);
Node canon(const Node& n0);  // canonical form for comparison
bool is_assignment(const Node& n);

// One comparison under one set of options; percent_divide is the reading of "%" being tried.
struct Cmp {
  const EquivOptions& opt;
  bool percent_divide = true;

  // Scalars and relations (equivalence_scalar.cpp).
  bool within_decimal_tol(const mpq_class& dec, const mpq_class& exact, int dp) const;
  static bool close(const cplx& a, const cplx& b, long double rel);
  bool scalar_eq(const Node& a, const Node& b) const;
  static Node difference(const Node& rel);
  bool proportional(const Node& d1, const Node& d2, bool positive) const;
  static void flip(Node& rel);  // a > b  ->  b < a (single relation)
  bool rel_eq(const Node& a0, const Node& b0) const;

  // Sets of reals (equivalence_sets.cpp).
  static bool rel_as_interval(const Node& r0, Node& out);
  bool is_real_set(const Node& n) const;
  std::optional<bool> member(const Node& n, long double x, const std::string* var) const;
  static void constants(const Node& n, std::vector<long double>& out);
  bool rel_vs_set(const Node& rel, const Node& set) const;

  // Structural dispatch (equivalence.cpp).
  bool unordered_eq(const std::vector<Node>& a, const std::vector<Node>& b) const;
  static bool needs_canon(const Node& n);
  bool eq(const Node& a0, const Node& b0) const;
  bool eq_canon(const Node& a, const Node& b) const;
};

}  // namespace tsft::eval::equiv_detail
