// Independent verification: every generated answer is re-derived from the problem record's givens by a
// different computation than the generator's exact solver: floating-point evaluation, coordinates for
// geometry (angles measured with atan2, lengths with distances, areas with the shoelace formula),
// numeric search, and brute-force enumeration for counting and number theory. Values are read back from
// the record's text (bindings), never from the generator's internal state.
#include <gtest/gtest.h>

#include <cmath>
#include <complex>
#include <functional>
#include <numeric>
#include <set>

#include "util.hpp"

using namespace tsft;

namespace {

using V = std::map<std::string, double>;
struct P2 {
  double x, y;
};
const double kPi = 3.14159265358979323846;
double rad(double deg) { return deg * kPi / 180.0; }
double dist(P2 a, P2 b) { return std::hypot(a.x - b.x, a.y - b.y); }
double angle_at(P2 v, P2 a, P2 b) {  // angle a-v-b in degrees
  double t1 = std::atan2(a.y - v.y, a.x - v.x), t2 = std::atan2(b.y - v.y, b.x - v.x);
  double d = std::fabs(t1 - t2) * 180.0 / kPi;
  return d > 180.0 ? 360.0 - d : d;
}
double shoelace(const std::vector<P2>& p) {
  double s = 0;
  for (size_t i = 0; i < p.size(); ++i) s += p[i].x * p[(i + 1) % p.size()].y - p[(i + 1) % p.size()].x * p[i].y;
  return std::fabs(s) / 2;
}
// Triangle with base A=(0,0), B=(1,0) and angles a at A, b at B: apex by intersecting the two rays.
P2 apex(double a, double b) {
  double ta = std::tan(rad(a)), tb = std::tan(rad(b));
  double x = tb / (ta + tb);
  return {x, ta * x};
}
long lr(double x) { return std::lround(x); }
long modpow_loop(long a, long k, long p) {
  long r = 1 % p;
  for (long i = 0; i < k; ++i) r = r * (a % p) % p;
  return r;
}

// Returns the value the target must have, computed independently from the other slots (v holds all
// slots; the target's entry is the gold value and must not be read, except where noted for inverses).
// For inverse problems the relation is checked instead: the forward slot is recomputed from the
// completed assignment and compared with its given value.
double forward(const std::string& th, V& v, bool cf) {
  if (th == "linear_equation") return v["a"] * v["x"] + v["b"];                       // = c
  if (th == "unit_rate") return v["p1"] / v["q1"] * v["q2"];                           // = p2
  if (th == "percent_change") return v["old"] * (100 + v["pct"]) / 100;                // = new
  if (th == "weighted_mean") return (v["n1"] * v["m1"] + v["n2"] * v["m2"]) / (v["n1"] + v["n2"]);
  if (th == "quadratic_formula") {  // larger root by bisection on a sign change right of the vertex
    double a = v["a"], b = v["b"], c = v["c"], lo = -b / (2 * a), hi = lo + 1e4;
    auto f = [&](double x) { return a * x * x + b * x + c; };
    for (int i = 0; i < 200; ++i) {
      double m = (lo + hi) / 2;
      ((f(m) > 0) == (f(hi) > 0) ? hi : lo) = m;
    }
    return (lo + hi) / 2;
  }
  if (th == "vieta") {
    std::complex<double> b = v["b"], c = v["c"], d = std::sqrt(b * b - 4.0 * c);
    auto r1 = (-b + d) / 2.0, r2 = (-b - d) / 2.0;
    return (r1 * r1 + r2 * r2).real();
  }
  if (th == "exponent_laws") {  // exact big numbers, then count how often the base divides the result
    if (v["m"] != std::floor(v["m"]) || v["n"] != std::floor(v["n"]) || v["p"] != std::floor(v["p"])) {
      long double b = v["base"];  // fractional exponents (from a chain): long-double powers
      return (double)(std::log(std::pow(b, (long double)v["m"]) * std::pow(b, (long double)v["n"]) /
                               std::pow(b, (long double)v["p"])) / std::log(b));
    }
    auto pw = [&](double e) {
      mpz_class r;
      mpz_ui_pow_ui(r.get_mpz_t(), (unsigned long)lr(v["base"]), (unsigned long)std::fabs(e));
      return e < 0 ? mpq_class(1, r) : mpq_class(r);
    };
    mpq_class r = pw(v["m"]) * pw(v["n"]) / pw(v["p"]);
    r.canonicalize();
    long k = 0, b = lr(v["base"]);
    while (r.get_den() == 1 && r != 1 && mpz_divisible_ui_p(r.get_num().get_mpz_t(), b)) r /= b, ++k;
    while (r.get_den() != 1 && mpz_divisible_ui_p(r.get_den().get_mpz_t(), b)) r *= b, --k;
    return r == 1 ? (double)k : NAN;
  }
  if (th == "logarithm_rules") {  // concrete base 2: x = 2^m, y = 2^n; log2 of x^p y as a bit length
    double m = v["m"], n = v["n"], p = v["p"];
    if (m == std::floor(m) && n == std::floor(n) && p == std::floor(p) && m >= 0 && n >= 0 && p >= 0) {
      mpz_class x, y, r;
      mpz_ui_pow_ui(x.get_mpz_t(), 2, (unsigned long)m);
      mpz_ui_pow_ui(y.get_mpz_t(), 2, (unsigned long)n);
      mpz_pow_ui(r.get_mpz_t(), x.get_mpz_t(), (unsigned long)p);
      r *= y;
      return (double)mpz_sizeinbase(r.get_mpz_t(), 2) - 1;
    }
    long double x = std::pow(2.0L, (long double)m), y = std::pow(2.0L, (long double)n);
    long double direct = std::log2(std::pow(x, (long double)p) * y);  // finite up to 2^16383
    return std::isfinite(direct) ? (double)direct : (double)(p * std::log2(x) + std::log2(y));
  }
  if (th == "arithmetic_series" || th == "geometric_series") {
    double s = 0, t = v["a"];
    bool ar = th == "arithmetic_series";
    for (long i = 0; i < lr(v["n"]); ++i) s += t, t = ar ? t + (v["a2"] - v["a"]) : t * (v["a2"] / v["a"]);
    return s;
  }
  if (th == "am_gm") {  // golden-section search for min of x + P/x
    double lo = 1e-9, hi = v["P"] + 1, g = (std::sqrt(5.0) - 1) / 2;
    auto f = [&](double x) { return x + v["P"] / x; };
    for (int i = 0; i < 300; ++i) {
      double x1 = hi - g * (hi - lo), x2 = lo + g * (hi - lo);
      (f(x1) < f(x2) ? hi : lo) = f(x1) < f(x2) ? x2 : x1;
    }
    return f((lo + hi) / 2);
  }
  // Geometry.
  if (th == "triangle_angle_sum") {
    if (cf) return 200 - v["a"] - v["b"];
    return angle_at(apex(v["a"], v["b"]), {0, 0}, {1, 0});
  }
  if (th == "exterior_angle") return 180 - angle_at(apex(v["a"], v["b"]), {0, 0}, {1, 0});
  if (th == "linear_pair") {
    if (cf) return 200 - v["x"];
    P2 c{std::cos(rad(180 - v["x"])), std::sin(rad(180 - v["x"]))};
    return angle_at({0, 0}, c, {1, 0});
  }
  if (th == "parallel_cointerior") {  // lines y=0 (A->B towards +x) and y=1 (C->D towards +x)
    P2 a{0, 0}, c{std::cos(rad(v["x"])) / std::sin(rad(v["x"])), 1}, d{c.x + 1, 1};  // B = (1, 0)
    return angle_at(c, a, d);
  }
  if (th == "cyclic_quadrilateral") {  // unit circle; arc B..D through C is 2x, so the angle at A is x
    auto on = [](double deg) { return P2{std::cos(rad(deg)), std::sin(rad(deg))}; };
    P2 b = on(90), c = on(90 + v["x"]), d = on(90 + 2 * v["x"]);
    (void)on(90 + 2 * v["x"] + (360 - 2 * v["x"]) / 2);  // A, on the other arc
    return angle_at(c, b, d);
  }
  if (th == "isosceles_base_angles") {
    P2 a{0, 0}, b{1, 0}, c{std::cos(rad(v["x"])), std::sin(rad(v["x"]))};
    return angle_at(b, a, c);
  }
  if (th == "pythagoras") {  // right angle (or 120 degrees under the counterfactual rule) at C
    double g = cf ? 120 : 90;
    P2 a{v["b"], 0}, b{v["a"] * std::cos(rad(g)), v["a"] * std::sin(rad(g))};  // C at the origin
    return dist(a, b);
  }
  if (th == "special_45_45_90") return dist({v["s"], 0}, {0, v["s"]});
  if (th == "special_30_60_90") return v["s"] * std::tan(rad(60));
  if (th == "similar_triangles") return v["b"] * v["d"] / v["a"];
  if (th == "similar_areas") {  // scale a triangle of area S1 by d/a and measure the area
    double k = v["d"] / v["a"], h = 2 * v["S1"];
    double area = shoelace({{0, 0}, {k, 0}, {0.3 * k, h * k}});
    return cf ? area * k : area;
  }
  if (th == "midline") {
    P2 a{0.3, 0.9}, b{0, 0}, c{v["x"], 0}, m{(a.x + b.x) / 2, (a.y + b.y) / 2}, n{(a.x + c.x) / 2, (a.y + c.y) / 2};
    return cf ? v["x"] / 3 : dist(m, n);
  }
  if (th == "intercept_theorem") {  // A at the origin, AB on the x-axis, AC at 50 degrees
    double ang = rad(50), ux = std::cos(ang), uy = std::sin(ang);
    P2 d{v["p"], 0}, e{v["r"] * ux, v["r"] * uy};
    double dx = e.x - d.x, dy = e.y - d.y;  // DE direction; C = B + s (dx, dy) = t (ux, uy)
    return v["q"] * dy / (ux * dy - uy * dx);
  }
  if (th == "inscribed_angle") {
    if (cf) return v["x"] / 3;
    P2 a{1, 0}, b{std::cos(rad(v["x"])), std::sin(rad(v["x"]))}, c{std::cos(rad(180 + v["x"] / 2)), std::sin(rad(180 + v["x"] / 2))};
    return angle_at(c, a, b);
  }
  if (th == "thales") {
    P2 a{-1, 0}, b{1, 0}, c{std::cos(rad(2 * v["x"])), std::sin(rad(2 * v["x"]))};
    return angle_at(b, c, a);
  }
  if (th == "tangent_radius") return dist({0, 0}, {v["r"], v["t"]});
  if (th == "chord_bisection") {  // bisection for the half chord on the line y = d
    double lo = 0, hi = v["r"];
    for (int i = 0; i < 200; ++i) {
      double m = (lo + hi) / 2;
      (m * m + v["d"] * v["d"] > v["r"] * v["r"] ? hi : lo) = m;
    }
    return 2 * lo;
  }
  if (th == "polygon_angle_sum") {
    long n = lr(v["n"]);
    auto pt = [&](long i) { return P2{std::cos(2 * kPi * i / n), std::sin(2 * kPi * i / n)}; };
    return angle_at(pt(1), pt(0), pt(2));
  }
  if (th == "triangle_area") return shoelace({{0, 0}, {v["b"], 0}, {0.37 * v["b"], v["h"]}});
  if (th == "trapezoid_area") return shoelace({{0, 0}, {v["a"], 0}, {0.2 + v["b"], v["h"]}, {0.2, v["h"]}});
  if (th == "circle_area") {  // polygon with many sides
    long n = 200000;
    return n * 0.5 * v["r"] * v["r"] * std::sin(2 * kPi / n);
  }
  if (th == "circle_circumference") {
    long n = 200000;
    return n * 2 * v["r"] * std::sin(kPi / n);
  }
  if (th == "angle_bisector") {
    double a = v["a"], b = v["b"], c = v["c"];
    double x = (a * a + c * c - b * b) / (2 * a), y = std::sqrt(c * c - x * x);
    P2 A{x, y}, B{0, 0}, C{a, 0};
    double ux = (B.x - A.x) / c + (C.x - A.x) / b, uy = (B.y - A.y) / c + (C.y - A.y) / b;
    return A.x + ux * (-A.y / uy);  // where the bisector meets y = 0
  }
  // Number theory (brute force).
  if (th == "division_algorithm") {
    long n = lr(v["n"]), d = lr(v["d"]);
    while (n >= d) n -= d;
    return n;
  }
  if (th == "modular_product") {
    long m = lr(v["m"]), a = lr(v["r1"]) + 3 * m, b = lr(v["r2"]) + 5 * m;
    return (a * b) % m;
  }
  if (th == "divisor_count") {
    long n = lr(v["n"]), c = 0;
    for (long d = 1; d <= n; ++d) c += n % d == 0;
    return c;
  }
  if (th == "digit_sum_mod9") return lr(v["n"]) % 9;
  if (th == "fermat_little") return modpow_loop(lr(v["a"]), lr(v["k"]), lr(v["p"]));
  if (th == "crt") {
    for (long x = 1;; ++x)
      if (x % lr(v["m1"]) == lr(v["r1"]) && x % lr(v["m2"]) == lr(v["r2"])) return x;
  }
  if (th == "gcd_lcm") {
    long a = lr(v["a"]), b = lr(v["b"]);
    for (long l = std::max(a, b);; ++l)
      if (l % a == 0 && l % b == 0) return l;
  }
  // Counting (enumeration).
  if (th == "product_rule") {
    long c = 0;
    for (long i = 0; i < lr(v["s"]); ++i)
      for (long j = 0; j < lr(v["p"]); ++j)
        for (long k = 0; k < lr(v["h"]); ++k) ++c;
    return c;
  }
  if (th == "permutations" || th == "combinations") {
    long n = lr(v["n"]), k = lr(v["k"]), c = 0;
    std::vector<char> used(n, 0);
    std::function<void(long, long)> rec = [&](long depth, long last) {
      if (depth == k) return void(++c);
      for (long i = 0; i < n; ++i) {
        if (used[i] || (th == "combinations" && i <= last)) continue;
        used[i] = 1;
        rec(depth + 1, i);
        used[i] = 0;
      }
    };
    rec(0, -1);
    return c;
  }
  if (th == "binomial_theorem") {  // expand (x + a)^n
    std::vector<double> poly = {1};
    for (long i = 0; i < lr(v["n"]); ++i) {
      std::vector<double> next(poly.size() + 1, 0);
      for (size_t j = 0; j < poly.size(); ++j) next[j + 1] += poly[j], next[j] += v["a"] * poly[j];
      poly = next;
    }
    return poly[lr(v["k"])];
  }
  if (th == "inclusion_exclusion") {
    std::set<long> u;
    for (long i = 0; i < lr(v["A"]); ++i) u.insert(i);
    for (long i = 0; i < lr(v["B"]); ++i) u.insert(lr(v["A"]) - lr(v["I"]) + i);
    return (double)u.size();
  }
  if (th == "complement_probability") {
    long m = lr(v["m"]), n = lr(v["n"]), total = 1, hit = 0;
    for (long i = 0; i < n; ++i) total *= m;
    for (long o = 0; o < total; ++o) {
      long x = o;
      bool one = false;
      for (long i = 0; i < n; ++i, x /= m) one |= x % m == 0;
      hit += one;
    }
    return (double)hit / total;
  }
  if (th == "independence") return v["pa"] * v["pb"];
  if (th == "expectation_linearity") {  // distribution of the sum by convolution
    long m = lr(v["m"]);
    std::vector<double> dist1(1, 1.0);
    for (long i = 0; i < lr(v["n"]); ++i) {
      std::vector<double> next(dist1.size() + m, 0);
      for (size_t s = 0; s < dist1.size(); ++s)
        for (long f = 1; f <= m; ++f) next[s + f] += dist1[s] / m;
      dist1 = next;
    }
    double e = 0;
    for (size_t s = 0; s < dist1.size(); ++s) e += s * dist1[s];
    return e;
  }
  ADD_FAILURE() << "no verifier for " << th;
  return NAN;
}

// The forward slot of each theorem (the one forward() computes).
const std::map<std::string, std::string>& forward_slot() {
  static std::map<std::string, std::string> m = {
      {"linear_equation", "c"}, {"unit_rate", "p2"}, {"percent_change", "new"}, {"weighted_mean", "m"},
      {"quadratic_formula", "x"}, {"vieta", "s"}, {"exponent_laws", "k"}, {"logarithm_rules", "L"},
      {"arithmetic_series", "S"}, {"geometric_series", "S"}, {"am_gm", "m"}, {"triangle_angle_sum", "c"},
      {"exterior_angle", "e"}, {"linear_pair", "y"}, {"parallel_cointerior", "y"}, {"cyclic_quadrilateral", "y"},
      {"isosceles_base_angles", "y"}, {"pythagoras", "c"}, {"special_45_45_90", "h"}, {"special_30_60_90", "h"},
      {"similar_triangles", "e"}, {"similar_areas", "S2"}, {"midline", "y"}, {"intercept_theorem", "s"},
      {"inscribed_angle", "y"}, {"thales", "y"}, {"tangent_radius", "d"}, {"chord_bisection", "c"},
      {"polygon_angle_sum", "x"}, {"triangle_area", "S"}, {"trapezoid_area", "S"}, {"circle_area", "S"},
      {"circle_circumference", "C"}, {"angle_bisector", "m"}, {"division_algorithm", "r"},
      {"modular_product", "t"}, {"divisor_count", "d"}, {"digit_sum_mod9", "r"}, {"fermat_little", "r"},
      {"crt", "x"}, {"gcd_lcm", "l"}, {"product_rule", "o"}, {"permutations", "P"}, {"combinations", "P"},
      {"binomial_theorem", "c"}, {"inclusion_exclusion", "U"}, {"complement_probability", "P"},
      {"independence", "P"}, {"expectation_linearity", "E"}};
  return m;
}

double parse(const std::string& s) {
  auto x = exact_parse_latex(s);
  EXPECT_TRUE(x.has_value()) << s;
  return x ? x->to_double() : NAN;
}

bool close(double a, double b) { return std::fabs(a - b) <= 1e-6 * (1 + std::fabs(b)); }

}  // namespace

TEST(Verify, TenThousandItemsAgreeWithIndependentComputation) {
  GenConfig c = tsft_test::small_config(6000, 1200, 600);
  c.format = "mc";
  c.inversion_fraction = 0.2;
  auto files = tsft_test::generate(c);
  long verified = 0, cbd = 0;
  std::set<std::string> theorems, probes;
  for (auto& [name, items] : files) {
    for (auto& p : items) {
      std::string gold = p["answer_value"];
      bool cf = p["perturbation"] == "P10";
      if (gold == kCannotBeDetermined) {
        // Unanswerable: a needed value is missing, or a premise is stated as failing.
        bool missing = false, fails = false;
        const auto& last = p["bindings"].back();
        for (auto& [k, s] : last["slots"].items()) missing |= k != last["target"] && s["value"].is_null();
        for (auto& l : p["solution"]["steps"].back()["cond"]) fails |= l.get<std::string>().find(": fails") != std::string::npos;
        ASSERT_TRUE(missing || fails) << p["id"];
        ++cbd;
        probes.insert(p["perturbation"]);
        continue;
      }
      const auto& parts = p["bindings"];
      for (size_t k = 0; k < parts.size(); ++k) {
        const auto& b = parts[k];
        std::string th = b["theorem"], target = b["target"];
        V v;
        for (auto& [name2, s] : b["slots"].items())
          if (!s["value"].is_null()) v[name2] = parse(s["value"]);
        // The asked value: the gold answer for the last part, the linked slot of the next part otherwise.
        double asked = k + 1 == parts.size() ? parse(gold)
                                              : parse(parts[k + 1]["slots"][parts[k + 1]["link"].get<std::string>()]["value"]);
        v[target] = asked;
        const std::string& fs = forward_slot().at(th);
        double want = v.at(fs);
        double got = forward(th, v, cf && k + 1 == parts.size());
        ASSERT_TRUE(close(got, want)) << p["id"] << " " << th << " target " << target << ": independent " << got
                                      << " vs record " << want << "\n" << p["question"] << "\nanswer " << gold;
        theorems.insert(th);
      }
      if (p.contains("options")) {  // the letter points at the gold value
        int idx = p["answer"].get<std::string>()[0] - 'A';
        ASSERT_EQ(p["options"][idx], gold);
      }
      probes.insert(p["perturbation"]);
      ++verified;
    }
  }
  EXPECT_GE(verified + cbd, 10000);
  EXPECT_EQ(theorems.size(), tsft_test::catalog().theorems.size());
  EXPECT_EQ(probes.size(), 13u);  // none + P1..P12
  RecordProperty("verified", (int)verified);
  std::printf("verified %ld answers by independent computation, %ld cannot-be-determined items checked\n", verified, cbd);
}
