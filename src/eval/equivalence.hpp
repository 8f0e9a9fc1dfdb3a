// Answer equivalence without a CAS. Both answers are parsed (latex_parser.hpp) and compared structurally;
// scalars exactly (big rationals) when possible, else numerically at random points.
//
// Policies graders disagree on, with the defaults used by `tsft grade`:
//  percent    either  "50\%" equals 50 and 0.5 (strip: only 50, as hendrycks/PRM800K; divide: only 0.5,
//                     as Math-Verify)
//  unreduced  allowed "\frac{2}{4}" equals 1/2 (PRM800K rejects unreduced fractions)
//  decimal_comma off  "1,22" is the list {1, 22}; on: 1.22
//  tolerance  a decimal literal compared with an exact value (fraction, radical, pi) must be within
//             relative 1e-4 of it AND within one unit of its own last written place (0.0833 != 1/12,
//             2.6667 == 8/3, 1.414 != sqrt 2); decimals compared with decimals, and exact rationals,
//             must be equal exactly (1.5 == 1.50); other non-rational values: relative 1e-9
//  lists      bare comma lists and solution lists are unordered sets; tuples (..) are ordered;
//             interval brackets must match ([1,2) != (1,2))
// Not policies: equations compare as lhs-rhs up to a non-zero factor ("x = 3" against a non-equation is
// its value 3 when x names a quantity); inequalities up to a positive factor after flipping > to <;
// a relation in one variable against an interval/union by membership at every critical point.
#pragma once
#include <string>
#include <string_view>

#include "eval/latex_node.hpp"

namespace tsft::eval {

enum class PercentPolicy { Either, Strip, Divide };

struct EquivOptions {
  PercentPolicy percent = PercentPolicy::Either;
  bool allow_unreduced = true;
  bool decimal_comma = false;
  double decimal_rel_tol = 1e-4;
  double numeric_rel_tol = 1e-9;
  int random_points = 5;
  bool ordered_lists = false;
  bool strict_brackets = true;
};

// "either" | "strip" | "divide"; throws a usage error on anything else.
PercentPolicy percent_policy_parse(const std::string& s);

// The answers as strings (already extracted; delimiters like $..$ are tolerated).
bool equiv_strings(std::string_view gold, std::string_view pred, const EquivOptions& opt = {});
// The parsed trees.
bool equiv_nodes(const Node& gold, const Node& pred, const EquivOptions& opt = {});
// Presentation-insensitive normal form used for the string fallback (no spaces, \left/\right, \text{},
// \dfrac, ...): equal normal forms are equal answers whatever the parser says.
std::string equiv_normalize_text(std::string_view s);

}  // namespace tsft::eval
