// The answer AST: what a LaTeX (or plain-text) final answer parses into. Scalars are expression trees
// evaluated exactly (big rationals) or numerically (complex long double at random points); structures
// (tuples, sets, intervals, unions, matrices, relations, text) are compared element by element.
#pragma once
#include <gmpxx.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace tsft::eval {

enum class NodeKind : uint8_t {
  Num,  // q = exact value; dp = decimal places written (-1: integer or fraction literal)
  Sym,  // s = name ("x", "a_{3}", "alpha", "204_5")
  Pi,
  Euler,
  Imag,
  Inf,
  Add,        // c = terms
  Mul,        // c = factors
  Neg,        // c[0]
  Div,        // c[0] / c[1]
  Pow,        // c[0] ^ c[1]
  Func,       // s = name, c = args ("sin", "sqrt", "root" (c[0]=radicand, c[1]=index), "log", "abs", ...)
  PlusMinus,  // c[0] +- c[1]; c[0] may be an empty Num 0 for a leading \pm; flag = 1 for \mp
  Percent,    // c[0] followed by % (value c[0]/100 or c[0], by policy)
  Tuple,      // ordered, lb/rb = bracket chars: '(' '[' ')' ']'; a 2-tuple may be an interval
  Set,        // \{...\}: unordered, duplicates ignored
  List,       // bare comma / "and" / "or" list: unordered by default (policy)
  Union,      // c = sets / intervals joined by \cup
  Matrix,     // c = rows (each a Tuple of cells)
  Rel,        // c = operands (n+1), ops = relation codes (n)
  Ratio,      // a:b(:c): ordered
  Text,       // s = normalised text (lower case, single spaces)
};

enum RelOp : uint8_t { REL_EQ, REL_LT, REL_LE, REL_GT, REL_GE, REL_NE, REL_APPROX, REL_IN };

struct Node {
  NodeKind k = NodeKind::Num;
  uint8_t flag = 0;
  char lb = 0, rb = 0;
  int dp = -1;
  std::string s;
  std::vector<Node> c;
  std::vector<uint8_t> ops;
  std::shared_ptr<const mpq_class> qp;  // Num value: shared and immutable, so copying trees never touches GMP
  long double qv = 0;                   // the same value rounded to long double
  const mpq_class& q() const;
};

Node node_num(const mpq_class& v, int dp = -1);
Node node_sym(std::string name);
Node node_make(NodeKind k, std::vector<Node> kids);
// node_of(kind, a, b, ...): children moved (or copied) in, never through an initializer_list copy.
template <class... Ts>
Node node_of(NodeKind k, Ts&&... kids) {
  Node n;
  n.k = k;
  n.c.reserve(sizeof...(kids));
  (n.c.push_back(std::forward<Ts>(kids)), ...);
  return n;
}

}  // namespace tsft::eval
