// Counting / probability kernels (exact rationals for probabilities).
#include <fmt/format.h>

#include <cmath>

#include "core/error.hpp"
#include "theorems/kernels.hpp"

namespace tsft {
namespace {

using E = Exact;
using fmt::format;
using kernel_shorthand::no;
using kernel_shorthand::T;

// product rule: o = s p h
bool prod_sample(Gen& g) {
  long s = g.pick_int("s"), p = g.pick_int("p"), h = g.pick_int("h");
  return s >= 1 && p >= 1 && h >= 1 && s <= 100 && p <= 100 && h <= 100;
}
void prod_solve(Gen& g, const std::string& t) {
  E sp = g.v("s") * g.v("p");
  if (t == "o") {
    g.line(format("{} = {} \\times {} \\times {} = {}", g.S("o"), T(g.v("s")), T(g.v("p")), T(g.v("h")), T(sp * g.v("h"))));
    g.ans(sp * g.v("h"));
  } else if (t == "h") {
    g.line(format("{} \\times {} = {}", T(g.v("s")), T(g.v("p")), T(sp)));
    g.line(format("{} = {} / {} = {}", g.S("h"), T(g.v("o")), T(sp), T(g.v("o") / sp)));
    g.ans(g.v("o") / sp);
  } else no("product_rule", t);
}

// permutations n!/(n-k)! and combinations n!/(k!(n-k)!)
bool choose_sample(Gen& g) {
  long n = g.pick_int("n"), k = g.pick_int("k");
  // Chains may feed larger counts; keep them small enough to enumerate (n^k <= 10^6).
  return k >= 1 && k <= 4 && k < n && std::pow((double)n, (double)k) <= 1e6;
}
void perm_solve(Gen& g, const std::string& t) {
  if (t != "P") no("permutations", t);
  long n = g.i("n"), k = g.i("k");
  std::string f;
  E v(1);
  for (long j = 0; j < k; ++j) {
    f += format("{}{}", j ? " \\times " : "", n - j);
    v = v * E(n - j);
  }
  g.line(format("{} = {}! / ({} - {})! = {} = {}", g.S("P"), n, n, k, f, T(v)));
  g.ans(v);
}
void comb_solve(Gen& g, const std::string& t) {
  if (t != "P") no("combinations", t);
  long n = g.i("n"), k = g.i("k");
  std::string f;
  E v(1);
  for (long j = 0; j < k; ++j) {
    f += format("{}{}", j ? " \\times " : "", n - j);
    v = v * E(n - j);
  }
  g.line(format("{} = {}", f, T(v)));
  g.line(format("{}! = {}", k, T(ex_factorial(k))));
  g.line(format("{} = {} / {} = {}", g.S("P"), T(v), T(ex_factorial(k)), T(v / ex_factorial(k))));
  g.ans(v / ex_factorial(k));
}

// binomial theorem: coefficient of x^k in (x + a)^n is C(n, k) a^(n-k)
bool binom_sample(Gen& g) {
  long n = g.pick_int("n");
  g.pick("a");
  long k = g.pick_in("k", 0, std::max(0L, n));
  return n >= 2 && n <= 12 && k <= n;
}
void binom_solve(Gen& g, const std::string& t) {
  if (t != "c") no("binomial_theorem", t);
  long n = g.i("n"), k = g.i("k");
  E a = g.v("a"), c = ex_binom(n, k), p = exact_pow(a, (int)(n - k));
  g.line(format("C({}, {}) = {}", n, k, T(c)));
  g.line(format("{}^{{{}}} = {}", T(a), n - k, T(p)));
  g.line(format("{} = {} \\times {} = {}", g.S("c"), T(c), T(p), T(c * p)));
  g.ans(c * p);
}

// inclusion-exclusion: |A u B| = |A| + |B| - |A n B|
bool ie_sample(Gen& g) {
  E a = g.pick("A"), b = g.pick("B"), i = g.pick("I");
  return a.is_integer() && b.is_integer() && i.is_integer() && i < a && i < b && i.sign() > 0 && a <= E(100000) &&
         b <= E(100000);
}
void ie_solve(Gen& g, const std::string& t) {
  E a = g.v("A"), b = g.v("B");
  if (t == "U") {
    g.line(format("{} = {} + {} - {} = {}", g.S("U"), T(a), T(b), T(g.v("I")), T(a + b - g.v("I"))));
    g.ans(a + b - g.v("I"));
  } else if (t == "I") {
    g.line(format("{} = {} + {} - {} = {}", g.S("I"), T(a), T(b), T(g.v("U")), T(a + b - g.v("U"))));
    g.ans(a + b - g.v("U"));
  } else no("inclusion_exclusion", t);
}

// complement: P(at least one success in n independent trials, each 1/m) = 1 - ((m-1)/m)^n
bool compl_sample(Gen& g) {
  g.pick("m"), g.pick("n");
  return g.v("m").is_integer() && g.v("n").is_integer() && g.v("m") > E(1) && g.v("m") <= E(12) &&
         g.v("n") >= E(1) && g.v("n") <= E(6);
}
void compl_solve(Gen& g, const std::string& t) {
  if (t != "P") no("complement_probability", t);
  E m = g.v("m"), q = (m - E(1)) / m;
  long n = g.i("n");
  E qn = exact_pow(q, (int)n);
  g.line(format("P(no success in one trial) = 1 - 1/{} = {}", T(m), exact_to_latex(q)));
  g.line(format("P(no success in {} trials) = ({})^{{{}}} = {}", n, exact_to_latex(q), n, exact_to_latex(qn)));
  g.line(format("{} = 1 - {} = {}", g.S("P"), exact_to_latex(qn), exact_to_latex(E(1) - qn)));
  g.ans(E(1) - qn);
}

// independence: P(A and B) = P(A) P(B)
bool indep_sample(Gen& g) {
  long da = g.pick_in("_da", 2, 6), na = g.pick_in("_na", 1, da - 1);
  long db = g.pick_in("_db", 2, 6), nb = g.pick_in("_nb", 1, db - 1);
  g.vals["pa"] = E::frac(na, da);
  g.vals["pb"] = E::frac(nb, db);
  return true;
}
void indep_solve(Gen& g, const std::string& t) {
  E pa = g.v("pa");
  if (t == "P") {
    E pb = g.v("pb");
    g.line(format("{} = {} \\times {} = {}", g.S("P"), exact_to_latex(pa), exact_to_latex(pb), exact_to_latex(pa * pb)));
    g.ans(pa * pb);
  } else if (t == "pb") {
    E p = g.v("P");
    g.line(format("{} = {} / {} = {}", g.S("pb"), exact_to_latex(p), exact_to_latex(pa), exact_to_latex(p / pa)));
    g.ans(p / pa);
  } else no("independence", t);
}

// linearity of expectation: E[sum of n fair m-sided dice] = n (m + 1) / 2
bool exp_sample(Gen& g) {
  long n = g.pick_int("n"), m = g.pick_int("m");
  return n >= 1 && n <= 1000 && m >= 2 && m <= 100;
}
void exp_solve(Gen& g, const std::string& t) {
  E m = g.v("m"), e1 = (m + E(1)) / E(2);
  g.line(format("E(one die) = ({} + 1) / 2 = {}", T(m), T(e1)));
  if (t == "E") {
    g.line(format("{} = {} \\times {} = {}", g.S("E"), T(g.v("n")), T(e1), T(g.v("n") * e1)));
    g.ans(g.v("n") * e1);
  } else if (t == "n") {
    g.line(format("{} = {} / {} = {}", g.S("n"), T(g.v("E")), T(e1), T(g.v("E") / e1)));
    g.ans(g.v("E") / e1);
  } else no("expectation_linearity", t);
}

}  // namespace

void kernels_add_counting(std::vector<Kernel>& out) {
  out.push_back({"product_rule", prod_sample, prod_solve});
  out.push_back({"permutations", choose_sample, perm_solve});
  out.push_back({"combinations", choose_sample, comb_solve});
  out.push_back({"binomial_theorem", binom_sample, binom_solve});
  out.push_back({"inclusion_exclusion", ie_sample, ie_solve});
  out.push_back({"complement_probability", compl_sample, compl_solve});
  out.push_back({"independence", indep_sample, indep_solve});
  out.push_back({"expectation_linearity", exp_sample, exp_solve});
}

}  // namespace tsft
