#include "eval/latex_node.hpp"

#include <string>

namespace tsft::eval {

Node node_num(const mpq_class& v, int dp) {
  Node n;
  n.k = NodeKind::Num;
  n.qp = std::make_shared<const mpq_class>(v);
  const mpz_class& a = v.get_num();
  const mpz_class& b = v.get_den();
  if (a.fits_slong_p() && b.fits_slong_p()) {
    n.qv = static_cast<long double>(a.get_si()) / static_cast<long double>(b.get_si());
  } else {
    n.qv = static_cast<long double>(v.get_d());
  }
  n.dp = dp;
  return n;
}
const mpq_class& Node::q() const {
  static const mpq_class zero(0);
  return qp ? *qp : zero;
}

Node node_sym(std::string name) {
  Node n;
  n.k = NodeKind::Sym;
  n.s = std::move(name);
  return n;
}
Node node_make(NodeKind k, std::vector<Node> kids) {
  Node n;
  n.k = k;
  n.c = std::move(kids);
  return n;
}

}  // namespace tsft::eval
