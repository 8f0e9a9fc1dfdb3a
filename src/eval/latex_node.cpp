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

std::string node_debug(const Node& n) {
  static const char* names[] = {"num",  "sym",   "pi",     "e",   "i",     "inf", "+",     "*",
                                "neg",  "/",     "^",      "fn",  "pm",    "%",   "tuple", "set",
                                "list", "union", "matrix", "rel", "ratio", "text"};
  std::string out;
  switch (n.k) {
    case NodeKind::Num:
      return n.q().get_str();
    case NodeKind::Sym:
      return n.s;
    case NodeKind::Text:
      return "\"" + n.s + "\"";
    case NodeKind::Pi:
    case NodeKind::Euler:
    case NodeKind::Imag:
    case NodeKind::Inf:
      return names[static_cast<int>(n.k)];
    default:
      break;
  }
  out = "(" + std::string(names[static_cast<int>(n.k)]);
  if (n.k == NodeKind::Func) out += " " + n.s;
  if (n.k == NodeKind::Tuple) out += std::string(" ") + n.lb + n.rb;
  for (size_t i = 0; i < n.c.size(); ++i) {
    out += " " + node_debug(n.c[i]);
    if (n.k == NodeKind::Rel && i < n.ops.size())
      out += " " + std::string("=,<,<=,>,>=,!=,~,in").substr(0, 0) +
             std::vector<std::string>{"=", "<", "<=", ">", ">=", "!=", "~", "in"}[n.ops[i]];
  }
  return out + ")";
}

}  // namespace tsft::eval
