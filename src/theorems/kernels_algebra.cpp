// Algebra / arithmetic kernels. Each solver computes the asked slot from the others only.
#include <fmt/format.h>

#include "core/error.hpp"
#include "theorems/kernels.hpp"

namespace tsft {
namespace {

using E = Exact;
using kernel_shorthand::T;

// a x + b = c
bool lin_sample(Gen& g) {
  long a = g.pick_int("a"), x = g.pick_int("x"), b = g.pick_int("b");
  g.vals["c"] = E(a * x + b);
  return a != 0;
}
void lin_solve(Gen& g, const std::string& t) {
  E a = g.has("a") ? g.v("a") : E(), x = g.has("x") ? g.v("x") : E(), b = g.has("b") ? g.v("b") : E(),
    c = g.has("c") ? g.v("c") : E();
  if (t == "x") {
    g.line(fmt::format("{} {} = {} - {} = {}", T(a), g.S("x"), T(c), T(b), T(c - b)));
    g.line(fmt::format("{} = {} / {} = {}", g.S("x"), T(c - b), T(a), T((c - b) / a)));
    g.ans((c - b) / a);
  } else if (t == "b") {
    g.line(fmt::format("{} = {} - {} \\times {} = {} - {} = {}", g.S("b"), T(c), T(a), T(x), T(c), T(a * x), T(c - a * x)));
    g.ans(c - a * x);
  } else if (t == "a") {
    g.line(fmt::format("{} = ({} - {}) / {} = {} / {} = {}", g.S("a"), T(c), T(b), T(x), T(c - b), T(x), T((c - b) / x)));
    g.ans((c - b) / x);
  } else TSFT_FAIL("linear_equation: cannot solve for {}", t);
}

// unit rate: q1 items cost p1; q2 items cost p2
bool rate_sample(Gen& g) {
  long q1 = g.pick_int("q1"), q2 = g.pick_int("q2");
  long u = g.pick_in("_u", 2, 9);
  g.vals["p1"] = E(u * q1);
  return q1 != q2 && q1 >= 1 && q2 >= 1;
}
void rate_solve(Gen& g, const std::string& t) {
  E u = g.v("p1") / g.v("q1");
  g.line(fmt::format("unit rate = {} / {} = {}", T(g.v("p1")), T(g.v("q1")), T(u)));
  if (t == "p2") {
    g.line(fmt::format("{} = {} \\times {} = {}", g.S("p2"), T(u), T(g.v("q2")), T(u * g.v("q2"))));
    g.ans(u * g.v("q2"));
  } else if (t == "q2") {
    g.line(fmt::format("{} = {} / {} = {}", g.S("q2"), T(g.v("p2")), T(u), T(g.v("p2") / u)));
    g.ans(g.v("p2") / u);
  } else TSFT_FAIL("unit_rate: cannot solve for {}", t);
}

// new = old * (1 + pct/100)
bool pct_sample(Gen& g) {
  g.pick("old");
  g.pick("pct");
  return true;
}
void pct_solve(Gen& g, const std::string& t) {
  if (t == "new") {
    E f = E(1) + g.v("pct") / E(100);
    g.line(fmt::format("1 + {}/100 = {}", T(g.v("pct")), T(f)));
    g.line(fmt::format("{} = {} \\times {} = {}", g.S("new"), T(g.v("old")), T(f), T(g.v("old") * f)));
    g.ans(g.v("old") * f);
  } else if (t == "old") {
    E f = E(1) + g.v("pct") / E(100);
    g.line(fmt::format("1 + {}/100 = {}", T(g.v("pct")), T(f)));
    g.line(fmt::format("{} = {} / {} = {}", g.S("old"), T(g.v("new")), T(f), T(g.v("new") / f)));
    g.ans(g.v("new") / f);
  } else if (t == "pct") {
    E d = g.v("new") - g.v("old");
    g.line(fmt::format("{} - {} = {}", T(g.v("new")), T(g.v("old")), T(d)));
    g.line(fmt::format("{} = {} / {} \\times 100 = {}", g.S("pct"), T(d), T(g.v("old")), T(d / g.v("old") * E(100))));
    g.ans(d / g.v("old") * E(100));
  } else TSFT_FAIL("percent_change: cannot solve for {}", t);
}

// m = (n1 m1 + n2 m2) / (n1 + n2)
bool wmean_sample(Gen& g) {
  g.pick("m1"), g.pick("m2");
  long n1 = g.pick_int("n1"), n2 = g.pick_int("n2");
  return g.v("m1") != g.v("m2") && n1 >= 1 && n2 >= 1;
}
void wmean_solve(Gen& g, const std::string& t) {
  E n1 = g.v("n1"), n2 = g.v("n2"), m1 = g.v("m1"), n = n1 + n2;
  if (t == "m") {
    E m2 = g.v("m2"), tot = n1 * m1 + n2 * m2;
    g.line(fmt::format("{} \\times {} + {} \\times {} = {} + {} = {}", T(n1), T(m1), T(n2), T(m2), T(n1 * m1), T(n2 * m2), T(tot)));
    g.line(fmt::format("{} = {} / ({} + {}) = {} / {} = {}", g.S("m"), T(tot), T(n1), T(n2), T(tot), T(n), T(tot / n)));
    g.ans(tot / n);
  } else if (t == "m2") {
    E m = g.v("m"), tot = m * n;
    g.line(fmt::format("{} \\times ({} + {}) = {}", T(m), T(n1), T(n2), T(tot)));
    g.line(fmt::format("{} = ({} - {} \\times {}) / {} = {} / {} = {}", g.S("m2"), T(tot), T(n1), T(m1), T(n2), T(tot - n1 * m1),
                       T(n2), T((tot - n1 * m1) / n2)));
    g.ans((tot - n1 * m1) / n2);
  } else TSFT_FAIL("weighted_mean: cannot solve for {}", t);
}

// a x^2 + b x + c = 0 with integer roots; x = larger root
bool quad_sample(Gen& g) {
  long a = g.pick_int("a");
  long r1 = g.pick_in("_r1", -9, 9), r2 = g.pick_in("_r2", -9, 9);
  g.vals["b"] = E(-a * (r1 + r2));
  g.vals["c"] = E(a * r1 * r2);
  g.vals["x"] = E(std::max(r1, r2));
  return r1 != r2 && a >= 1;  // a > 0: (-b + sqrt(D)) / 2a is the larger root
}
void quad_solve(Gen& g, const std::string& t) {
  TSFT_CHECK(t == "x", "quadratic_formula: cannot solve for {}", t);
  E a = g.v("a"), b = g.v("b"), c = g.v("c");
  E d = b * b - E(4) * a * c;
  g.line(fmt::format("D = {}^2 - 4 \\times {} \\times {} = {}", Gen::P(b), T(a), Gen::P(c), T(d)));
  if (d.sign() < 0) {
    g.reject = true;
    return;
  }
  E sd = E::sqrt_of(d);
  g.line(fmt::format("\\sqrt{{D}} = {}", T(sd)));
  E x = (-b + sd) / (E(2) * a);
  g.line(fmt::format("{} = ({} + {}) / (2 \\times {}) = {}", g.S("x"), T(-b), T(sd), T(a), T(x)));
  g.ans(x);
}

// x^2 + b x + c = 0: r1^2 + r2^2 = (r1 + r2)^2 - 2 r1 r2 = b^2 - 2c
bool vieta_sample(Gen& g) {
  g.pick("b"), g.pick("c");
  return !g.v("b").is_zero() && !g.v("c").is_zero();
}
void vieta_solve(Gen& g, const std::string& t) {
  E b = g.v("b");
  g.line(fmt::format("r_1 + r_2 = {}", T(-b)));
  if (t == "s") {
    E c = g.v("c"), s = b * b - E(2) * c;
    g.line(fmt::format("r_1 r_2 = {}", T(c)));
    g.line(fmt::format("r_1^2 + r_2^2 = {}^2 - 2 \\times {} = {} - {} = {}", Gen::P(-b), Gen::P(c), T(b * b), Gen::P(E(2) * c), T(s)));
    g.ans(s);
  } else if (t == "c") {
    E s = g.v("s"), c = (b * b - s) / E(2);
    g.line(fmt::format("2 r_1 r_2 = {}^2 - {} = {}", Gen::P(-b), Gen::P(s), T(b * b - s)));
    g.line(fmt::format("{} = r_1 r_2 = {} / 2 = {}", g.S("c"), T(b * b - s), T(c)));
    g.ans(c);
  } else TSFT_FAIL("vieta: cannot solve for {}", t);
}

// a^m * a^n / a^p = a^k, k = m + n - p
bool expo_sample(Gen& g) {
  g.pick("m"), g.pick("n"), g.pick("p");
  return g.pick_int("base") >= 2;  // base 0 or 1 would not determine the exponent
}
void expo_solve(Gen& g, const std::string& t) {
  if (t == "k") {
    E k = g.v("m") + g.v("n") - g.v("p");
    g.line(fmt::format("{} = {} + {} - {} = {}", g.S("k"), T(g.v("m")), T(g.v("n")), T(g.v("p")), T(k)));
    g.ans(k);
  } else if (t == "n") {
    E n = g.v("k") - g.v("m") + g.v("p");
    g.line(fmt::format("{} = {} - {} + {} = {}", g.S("n"), T(g.v("k")), T(g.v("m")), T(g.v("p")), T(n)));
    g.ans(n);
  } else TSFT_FAIL("exponent_laws: cannot solve for {}", t);
}

// log_b(x^p y) = p log_b x + log_b y
bool log_sample(Gen& g) {
  g.pick("m"), g.pick("n"), g.pick("p");
  return true;
}
void log_solve(Gen& g, const std::string& t) {
  E m = g.v("m"), p = g.v("p");
  if (t == "L") {
    E n = g.v("n"), l = p * m + n;
    g.line(fmt::format("{} = {} \\times {} + {} = {} + {} = {}", g.S("L"), T(p), T(m), T(n), T(p * m), T(n), T(l)));
    g.ans(l);
  } else if (t == "n") {
    E l = g.v("L"), n = l - p * m;
    g.line(fmt::format("{} = {} - {} \\times {} = {} - {} = {}", g.S("n"), T(l), T(p), T(m), T(l), T(p * m), T(n)));
    g.ans(n);
  } else TSFT_FAIL("logarithm_rules: cannot solve for {}", t);
}

// arithmetic: d = a2 - a, S = n (2a + (n-1) d) / 2
bool arith_sample(Gen& g) {
  long a = g.pick_int("a"), d = g.pick_in("_d", 1, 6);
  g.vals["a2"] = E(a + d);
  long n = g.pick_int("n");
  return n >= 2 && n <= 60;
}
void arith_solve(Gen& g, const std::string& t) {
  E a = g.v("a"), n = g.v("n");
  if (t == "S") {
    E d = g.v("a2") - a;
    g.line(fmt::format("d = {} - {} = {}", T(g.v("a2")), T(a), T(d)));
    E last = a + (n - E(1)) * d;
    g.line(fmt::format("a_{{{}}} = {} + ({} - 1) \\times {} = {}", T(n), T(a), T(n), T(d), T(last)));
    E s = n * (a + last) / E(2);
    g.line(fmt::format("{} = {} \\times ({} + {}) / 2 = {}", g.S("S"), T(n), T(a), T(last), T(s)));
    g.ans(s);
  } else if (t == "a2") {
    E s = g.v("S"), last = E(2) * s / n - a;
    g.line(fmt::format("a_{{{}}} = 2 \\times {} / {} - {} = {}", T(n), T(s), T(n), T(a), T(last)));
    E d = (last - a) / (n - E(1));
    g.line(fmt::format("d = ({} - {}) / ({} - 1) = {}", T(last), T(a), T(n), T(d)));
    g.line(fmt::format("{} = {} + {} = {}", g.S("a2"), T(a), T(d), T(a + d)));
    g.ans(a + d);
  } else TSFT_FAIL("arithmetic_series: cannot solve for {}", t);
}

// geometric: r = a2 / a, S = a (r^n - 1) / (r - 1)
bool geo_sample(Gen& g) {
  long a = g.pick_int("a"), r = g.pick_in("_r", 2, 3);
  g.vals["a2"] = E(a * r);
  long n = g.pick_int("n");
  return a != 0 && n >= 2 && n <= 12;
}
void geo_solve(Gen& g, const std::string& t) {
  TSFT_CHECK(t == "S", "geometric_series: cannot solve for {}", t);
  E a = g.v("a"), r = g.v("a2") / a;
  long n = g.i("n");
  g.line(fmt::format("r = {} / {} = {}", T(g.v("a2")), T(a), T(r)));
  E rn = exact_pow(r, (int)n);
  g.line(fmt::format("r^{{{}}} = {}", n, T(rn)));
  E s = a * (rn - E(1)) / (r - E(1));
  g.line(fmt::format("{} = {} \\times ({} - 1) / ({} - 1) = {}", g.S("S"), T(a), T(rn), T(r), T(s)));
  g.ans(s);
}

// x, y > 0, xy = P: min (x + y) = 2 sqrt(P)
bool amgm_sample(Gen& g) { return g.pick("P").sign() > 0; }
void amgm_solve(Gen& g, const std::string& t) {
  if (t == "m") {
    E p = g.v("P"), r = E::sqrt_of(p);
    g.line(fmt::format("x + y \\ge 2\\sqrt{{xy}} = 2 {}", tex_sqrt(p)));
    g.line(fmt::format("{} = 2 \\times {} = {}", g.S("m"), T(r), T(E(2) * r)));
    g.ans(E(2) * r);
  } else if (t == "P") {
    E m = g.v("m"), h = m / E(2);
    g.line(fmt::format("\\sqrt{{xy}} = {} / 2 = {}", T(m), T(h)));
    g.line(fmt::format("{} = ({})^2 = {}", g.S("P"), T(h), T(h * h)));
    g.ans(h * h);
  } else TSFT_FAIL("am_gm: cannot solve for {}", t);
}

#undef T
}  // namespace

void kernels_add_algebra(std::vector<Kernel>& out) {
  out.push_back({"linear_equation", lin_sample, lin_solve});
  out.push_back({"unit_rate", rate_sample, rate_solve});
  out.push_back({"percent_change", pct_sample, pct_solve});
  out.push_back({"weighted_mean", wmean_sample, wmean_solve});
  out.push_back({"quadratic_formula", quad_sample, quad_solve});
  out.push_back({"vieta", vieta_sample, vieta_solve});
  out.push_back({"exponent_laws", expo_sample, expo_solve});
  out.push_back({"logarithm_rules", log_sample, log_solve});
  out.push_back({"arithmetic_series", arith_sample, arith_solve});
  out.push_back({"geometric_series", geo_sample, geo_solve});
  out.push_back({"am_gm", amgm_sample, amgm_solve});
}

}  // namespace tsft
