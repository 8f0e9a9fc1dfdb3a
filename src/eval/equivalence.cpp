#include "eval/equivalence.hpp"

#include "core/error.hpp"
#include "eval/equivalence_impl.hpp"
#include "eval/latex_parser.hpp"
#include "eval/latex_value.hpp"

namespace tsft::eval {
namespace equiv_detail {

bool Cmp::unordered_eq(const std::vector<Node>& a, const std::vector<Node>& b) const {
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

bool Cmp::needs_canon(const Node& n) {
  return n.k == NodeKind::List || n.k == NodeKind::Set || is_rel(n) || has_matrix(n) || count_pm(n) > 0;
}

bool Cmp::eq(const Node& a0, const Node& b0) const {
  if (!needs_canon(a0) && !needs_canon(b0)) return eq_canon(a0, b0);
  return eq_canon(needs_canon(a0) ? canon(a0) : a0, needs_canon(b0) ? canon(b0) : b0);
}

bool Cmp::eq_canon(const Node& a, const Node& b) const {
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

}  // namespace equiv_detail

using equiv_detail::Cmp;

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
