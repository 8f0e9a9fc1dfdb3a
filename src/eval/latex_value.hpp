// Evaluating scalar answer trees.
//  - exact: big rationals (GMP mpq) for + - * /, integer powers, perfect-square roots, %, |.|, n!;
//  - numeric: complex long double (~19 significant digits) for everything else; free symbols take
//    pseudo-random values in [0.6, 2.4] seeded by (name, point), unknown functions and opaque operators
//    (\sum, \int, ...) are name-seeded pseudo-random functions of their arguments, so two expressions
//    are identified only if they agree at every sample point (polynomial identity testing).
#pragma once
#include <complex>
#include <set>
#include <string>

#include "eval/latex_node.hpp"

namespace tsft::eval {

using cplx = std::complex<long double>;

struct ValueContext {
  bool percent_divide = true;              // X% -> X/100 (else X)
  uint64_t point = 0;                      // sample-point index for free symbols
  const std::string* bind_name = nullptr;  // optional: this symbol takes bind_value instead
  long double bind_value = 0;
};

bool value_exact(const Node& n, const ValueContext& ctx, mpq_class& out);
bool value_numeric(const Node& n, const ValueContext& ctx, cplx& out);
void value_symbols(const Node& n, std::set<std::string>& out);
bool value_has_decimal(const Node& n);  // any decimal literal with digits after the point
bool value_has_percent(const Node& n);
bool value_is_scalar(const Node& n);  // an expression tree (no tuple/set/relation/text/...)
// Decimal places of a bare decimal literal (possibly negated), -1 otherwise.
int value_literal_dp(const Node& n);
// Fractions written unreduced (\frac{2}{4}, 6/8) anywhere in n.
bool value_has_unreduced_fraction(const Node& n);

}  // namespace tsft::eval
