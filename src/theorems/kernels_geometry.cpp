// Geometry kernels. Angles are in degrees (exact rationals); lengths may be radicals; areas may carry pi.
#include <fmt/format.h>

#include "core/error.hpp"
#include "theorems/kernels.hpp"

namespace tsft {
namespace {

using E = Exact;
using fmt::format;
using kernel_shorthand::no;
using kernel_shorthand::T;

// c = S - a - b (S = 180; 200 under the counterfactual rule)
bool tri_sample(Gen& g) {
  E a = g.pick("a"), b = g.pick("b");
  return a + b < E(g.cf ? 200 : 180) && a.sign() > 0 && b.sign() > 0;
}
void tri_solve(Gen& g, const std::string& t) {
  E s(g.cf ? 200 : 180);
  if (t == "c") {
    E c = s - g.v("a") - g.v("b");
    g.line(format("{} = {} - {} - {} = {}", g.S("c"), T(s), T(g.v("a")), T(g.v("b")), T(c)));
    g.ans(c);
  } else if (t == "a") {
    E a = s - g.v("b") - g.v("c");
    g.line(format("{} = {} - {} - {} = {}", g.S("a"), T(s), T(g.v("b")), T(g.v("c")), T(a)));
    g.ans(a);
  } else no("triangle_angle_sum", t);
}

// e = a + b (exterior angle equals the sum of the two remote interior angles)
bool ext_sample(Gen& g) {
  E a = g.pick("a"), b = g.pick("b");
  return a + b < E(180) && a.sign() > 0;
}
void ext_solve(Gen& g, const std::string& t) {
  if (t == "e") {
    g.line(format("{} = {} + {} = {}", g.S("e"), T(g.v("a")), T(g.v("b")), T(g.v("a") + g.v("b"))));
    g.ans(g.v("a") + g.v("b"));
  } else if (t == "a") {
    g.line(format("{} = {} - {} = {}", g.S("a"), T(g.v("e")), T(g.v("b")), T(g.v("e") - g.v("b"))));
    g.ans(g.v("e") - g.v("b"));
  } else no("exterior_angle", t);
}

// y = S - x: linear pair, co-interior angles, opposite angles of a cyclic quadrilateral
bool supp_sample(Gen& g) {
  E x = g.pick("x");
  return x.sign() > 0 && x < E(180);
}
void supp_solve(Gen& g, const std::string& t) {
  E s(g.cf ? 200 : 180);
  const std::string o = t == "y" ? "x" : "y";
  TSFT_CHECK(t == "x" || t == "y", "supplementary: cannot solve for {}", t);
  g.line(format("{} = {} - {} = {}", g.S(t), T(s), T(g.v(o)), T(s - g.v(o))));
  g.ans(s - g.v(o));
}

// isosceles: base angle y = (180 - x) / 2
bool iso_sample(Gen& g) {
  E x = g.pick("x");
  return x.sign() > 0 && x < E(180);
}
void iso_solve(Gen& g, const std::string& t) {
  if (t == "y") {
    E r = E(180) - g.v("x");
    g.line(format("2 \\times {} = 180 - {} = {}", g.S("y"), T(g.v("x")), T(r)));
    g.line(format("{} = {} / 2 = {}", g.S("y"), T(r), T(r / E(2))));
    g.ans(r / E(2));
  } else if (t == "x") {
    E x = E(180) - E(2) * g.v("y");
    g.line(format("{} = 180 - 2 \\times {} = {}", g.S("x"), T(g.v("y")), T(x)));
    g.ans(x);
  } else no("isosceles_base_angles", t);
}

// c^2 = a^2 + b^2  (counterfactual rule: c^2 = a^2 + b^2 + a b)
bool pyth_sample(Gen& g) {
  g.pick("a"), g.pick("b");
  return true;
}
void pyth_solve(Gen& g, const std::string& t) {
  if (t == "c") {
    E a = g.v("a"), b = g.v("b"), s = a * a + b * b + (g.cf ? a * b : E(0));
    if (g.cf)
      g.line(format("{}^2 = {}^2 + {}^2 + {} \\times {} = {} + {} + {} = {}", g.S("c"), T(a), T(b), T(a), T(b), T(a * a),
                    T(b * b), T(a * b), T(s)));
    else
      g.line(format("{}^2 = {}^2 + {}^2 = {} + {} = {}", g.S("c"), T(a), T(b), T(a * a), T(b * b), T(s)));
    g.line(format("{} = {} = {}", g.S("c"), tex_sqrt(s), T(E::sqrt_of(s))));
    g.ans(E::sqrt_of(s));
  } else if (t == "a") {
    E b = g.v("b"), c = g.v("c"), s = c * c - b * b;
    g.line(format("{}^2 = {}^2 - {}^2 = {} - {} = {}", g.S("a"), T(c), T(b), T(c * c), T(b * b), T(s)));
    if (s.sign() <= 0) {
      g.reject = true;
      return;
    }
    g.line(format("{} = {} = {}", g.S("a"), tex_sqrt(s), T(E::sqrt_of(s))));
    g.ans(E::sqrt_of(s));
  } else no("pythagoras", t);
}

// special right triangles: h = s * sqrt(2) (45-45-90), L = s * sqrt(3) (30-60-90)
template <long R>
bool special_sample(Gen& g) {
  return g.pick("s").sign() > 0;
}
template <long R>
void special_solve(Gen& g, const std::string& t) {
  E k = E::sqrt_of(E(R));
  if (t == "s") {
    g.line(format("{} = {} / {} = {}", g.S("s"), T(g.v("h")), T(k), T(g.v("h") / k)));
    g.ans(g.v("h") / k);
  } else if (t == "h") {
    g.line(format("{} = {} \\times {} = {}", g.S("h"), T(g.v("s")), T(k), T(g.v("s") * k)));
    g.ans(g.v("s") * k);
  } else no("special right triangle", t);
}

// similar triangles: e / b = d / a
bool sim_sample(Gen& g) {
  E a = g.pick("a"), d = g.pick("d");
  g.pick("b");
  return a != d && a.sign() > 0;
}
void sim_solve(Gen& g, const std::string& t) {
  if (t == "e") {
    E k = g.v("d") / g.v("a");
    g.line(format("k = {} / {} = {}", T(g.v("d")), T(g.v("a")), T(k)));
    g.line(format("{} = {} \\times {} = {}", g.S("e"), T(g.v("b")), T(k), T(g.v("b") * k)));
    g.ans(g.v("b") * k);
  } else if (t == "d") {
    E k = g.v("e") / g.v("b");
    g.line(format("k = {} / {} = {}", T(g.v("e")), T(g.v("b")), T(k)));
    g.line(format("{} = {} \\times {} = {}", g.S("d"), T(g.v("a")), T(k), T(g.v("a") * k)));
    g.ans(g.v("a") * k);
  } else no("similar_triangles", t);
}

// similar areas: S2 = S1 k^2 (counterfactual rule: k^3)
bool sima_sample(Gen& g) {
  E a = g.pick("a"), d = g.pick("d");
  g.pick("S1");
  return a != d && a.sign() > 0;
}
void sima_solve(Gen& g, const std::string& t) {
  E k = g.v("d") / g.v("a");
  int p = g.cf ? 3 : 2;
  E kp = exact_pow(k, p);
  g.line(format("k = {} / {} = {}", T(g.v("d")), T(g.v("a")), T(k)));
  g.line(format("k^{} = {}", p, T(kp)));
  if (t == "S2") {
    g.line(format("{} = {} \\times {} = {}", g.S("S2"), T(g.v("S1")), T(kp), T(g.v("S1") * kp)));
    g.ans(g.v("S1") * kp);
  } else if (t == "S1") {
    g.line(format("{} = {} / {} = {}", g.S("S1"), T(g.v("S2")), T(kp), T(g.v("S2") / kp)));
    g.ans(g.v("S2") / kp);
  } else no("similar_areas", t);
}

// y = x / q: midline (q = 2; counterfactual 3), inscribed angle (q = 2; counterfactual 3)
bool half_sample(Gen& g) { return g.pick("x").sign() > 0; }
void half_solve(Gen& g, const std::string& t) {
  E q(g.cf ? 3 : 2);
  if (t == "y") {
    g.line(format("{} = {} / {} = {}", g.S("y"), T(g.v("x")), T(q), T(g.v("x") / q)));
    g.ans(g.v("x") / q);
  } else if (t == "x") {
    g.line(format("{} = {} \\times {} = {}", g.S("x"), T(q), T(g.v("y")), T(q * g.v("y"))));
    g.ans(q * g.v("y"));
  } else no("half rule", t);
}

// intercept theorem: AD / AB = AE / AC
bool icpt_sample(Gen& g) {
  E p = g.pick("p"), q = g.pick("q");
  g.pick("r");
  return p < q;
}
void icpt_solve(Gen& g, const std::string& t) {
  if (t == "s") {
    E k = g.v("q") / g.v("p");
    g.line(format("{} / {} = {} / {}", g.S("s"), g.S("r"), g.S("q"), g.S("p")));
    g.line(format("{} = {} \\times {} / {} = {}", g.S("s"), T(g.v("r")), T(g.v("q")), T(g.v("p")), T(g.v("r") * k)));
    g.ans(g.v("r") * k);
  } else if (t == "r") {
    g.line(format("{} / {} = {} / {}", g.S("r"), g.S("s"), g.S("p"), g.S("q")));
    E r = g.v("s") * g.v("p") / g.v("q");
    g.line(format("{} = {} \\times {} / {} = {}", g.S("r"), T(g.v("s")), T(g.v("p")), T(g.v("q")), T(r)));
    g.ans(r);
  } else no("intercept_theorem", t);
}

// Thales: y = 90 - x
bool thales_sample(Gen& g) {
  E x = g.pick("x");
  return x.sign() > 0 && x < E(90);
}
void thales_solve(Gen& g, const std::string& t) {
  const std::string o = t == "y" ? "x" : "y";
  TSFT_CHECK(t == "x" || t == "y", "thales: cannot solve for {}", t);
  g.line(format("{} = 90 - {} = {}", g.S(t), T(g.v(o)), T(E(90) - g.v(o))));
  g.ans(E(90) - g.v(o));
}

// hypotenuse-type: d = sqrt(r^2 + t^2) (tangent-radius), inverse t = sqrt(d^2 - r^2)
bool tan_sample(Gen& g) {
  g.pick("r"), g.pick("t");
  return true;
}
void tan_solve(Gen& g, const std::string& t) {
  E r = g.v("r");
  if (t == "d") {
    E s = r * r + g.v("t") * g.v("t");
    g.line(format("{}^2 = {}^2 + {}^2 = {}", g.S("d"), T(r), T(g.v("t")), T(s)));
    g.line(format("{} = {} = {}", g.S("d"), tex_sqrt(s), T(E::sqrt_of(s))));
    g.ans(E::sqrt_of(s));
  } else if (t == "t") {
    E s = g.v("d") * g.v("d") - r * r;
    if (s.sign() <= 0) return void(g.reject = true);
    g.line(format("{}^2 = {}^2 - {}^2 = {}", g.S("t"), T(g.v("d")), T(r), T(s)));
    g.line(format("{} = {} = {}", g.S("t"), tex_sqrt(s), T(E::sqrt_of(s))));
    g.ans(E::sqrt_of(s));
  } else no("tangent_radius", t);
}

// chord: c = 2 sqrt(r^2 - d^2)
bool chord_sample(Gen& g) {
  E r = g.pick("r"), d = g.pick("d");
  return d < r && d.sign() > 0;
}
void chord_solve(Gen& g, const std::string& t) {
  E r = g.v("r");
  if (t == "c") {
    E s = r * r - g.v("d") * g.v("d");
    if (s.sign() <= 0) return void(g.reject = true);
    g.line(format("(half chord)^2 = {}^2 - {}^2 = {}", T(r), T(g.v("d")), T(s)));
    g.line(format("half chord = {} = {}", tex_sqrt(s), T(E::sqrt_of(s))));
    g.line(format("{} = 2 \\times {} = {}", g.S("c"), T(E::sqrt_of(s)), T(E(2) * E::sqrt_of(s))));
    g.ans(E(2) * E::sqrt_of(s));
  } else if (t == "d") {
    E h = g.v("c") / E(2), s = r * r - h * h;
    if (s.sign() <= 0) return void(g.reject = true);
    g.line(format("half chord = {} / 2 = {}", T(g.v("c")), T(h)));
    g.line(format("{}^2 = {}^2 - {}^2 = {}", g.S("d"), T(r), T(h), T(s)));
    g.line(format("{} = {} = {}", g.S("d"), tex_sqrt(s), T(E::sqrt_of(s))));
    g.ans(E::sqrt_of(s));
  } else no("chord_bisection", t);
}

// regular polygon: interior angle = (n - 2) 180 / n
bool poly_sample(Gen& g) { return g.pick_int("n") >= 3; }
void poly_solve(Gen& g, const std::string& t) {
  if (t == "x") {
    E n = g.v("n"), s = (n - E(2)) * E(180);
    g.line(format("sum of angles = ({} - 2) \\times 180 = {}", T(n), T(s)));
    g.line(format("{} = {} / {} = {}", g.S("x"), T(s), T(n), T(s / n)));
    g.ans(s / n);
  } else if (t == "n") {
    E e = E(180) - g.v("x");
    if (e.sign() <= 0) return void(g.reject = true);
    g.line(format("exterior angle = 180 - {} = {}", T(g.v("x")), T(e)));
    g.line(format("{} = 360 / {} = {}", g.S("n"), T(e), T(E(360) / e)));
    g.ans(E(360) / e);
  } else no("polygon_angle_sum", t);
}

// triangle area = b h / 2
bool tarea_sample(Gen& g) {
  g.pick("b"), g.pick("h");
  return true;
}
void tarea_solve(Gen& g, const std::string& t) {
  if (t == "S") {
    E a = g.v("b") * g.v("h") / E(2);
    g.line(format("{} = {} \\times {} / 2 = {}", g.S("S"), T(g.v("b")), T(g.v("h")), T(a)));
    g.ans(a);
  } else if (t == "h") {
    E h = E(2) * g.v("S") / g.v("b");
    g.line(format("{} = 2 \\times {} / {} = {}", g.S("h"), T(g.v("S")), T(g.v("b")), T(h)));
    g.ans(h);
  } else no("triangle_area", t);
}

// circle: A = pi r^2, C = 2 pi r
bool circ_sample(Gen& g) { return g.pick("r").sign() > 0; }
void carea_solve(Gen& g, const std::string& t) {
  if (t == "S") {
    E r = g.v("r");
    g.line(format("{} = \\pi \\times {}^2 = {}", g.S("S"), T(r), T(E::pi() * r * r)));
    g.ans(E::pi() * r * r);
  } else if (t == "r") {
    E q = g.v("S") / E::pi();
    if (!q.is_rational() || q.sign() <= 0) return void(g.reject = true);
    g.line(format("{}^2 = {} / \\pi = {}", g.S("r"), T(g.v("S")), T(q)));
    g.line(format("{} = {} = {}", g.S("r"), tex_sqrt(q), T(E::sqrt_of(q))));
    g.ans(E::sqrt_of(q));
  } else no("circle_area", t);
}
void ccirc_solve(Gen& g, const std::string& t) {
  if (t == "C") {
    E r = g.v("r");
    g.line(format("{} = 2 \\pi \\times {} = {}", g.S("C"), T(r), T(E::pi(2) * r)));
    g.ans(E::pi(2) * r);
  } else if (t == "r") {
    g.line(format("{} = {} / (2\\pi) = {}", g.S("r"), T(g.v("C")), T(g.v("C") / E::pi(2))));
    g.ans(g.v("C") / E::pi(2));
  } else no("circle_circumference", t);
}

// trapezoid area = (a + b) h / 2
bool trap_sample(Gen& g) {
  g.pick("a"), g.pick("b"), g.pick("h");
  return g.v("a") != g.v("b");
}
void trap_solve(Gen& g, const std::string& t) {
  E s = g.v("a") + g.v("b");
  g.line(format("{} + {} = {}", T(g.v("a")), T(g.v("b")), T(s)));
  if (t == "S") {
    g.line(format("{} = {} \\times {} / 2 = {}", g.S("S"), T(s), T(g.v("h")), T(s * g.v("h") / E(2))));
    g.ans(s * g.v("h") / E(2));
  } else if (t == "h") {
    g.line(format("{} = 2 \\times {} / {} = {}", g.S("h"), T(g.v("S")), T(s), T(E(2) * g.v("S") / s)));
    g.ans(E(2) * g.v("S") / s);
  } else no("trapezoid_area", t);
}

// angle bisector: BD / DC = AB / AC, so BD = BC * AB / (AB + AC)
bool bis_sample(Gen& g) {
  E c = g.pick("c"), b = g.pick("b"), a = g.pick("a");
  E lo = b < c ? c - b : b - c;
  return lo < a && a < b + c && b != c;
}
void bis_solve(Gen& g, const std::string& t) {
  E b = g.v("b"), c = g.v("c"), s = b + c;
  if (t == "m") {
    E m = g.v("a") * c / s;
    g.line(format("{} / {} = {} / {}", g.S("m"), g.S("a"), g.S("c"), "(" + g.S("c") + " + " + g.S("b") + ")"));
    g.line(format("{} = {} \\times {} / ({} + {}) = {}", g.S("m"), T(g.v("a")), T(c), T(c), T(b), T(m)));
    g.ans(m);
  } else if (t == "a") {
    E a = g.v("m") * s / c;
    g.line(format("{} = {} \\times ({} + {}) / {} = {}", g.S("a"), T(g.v("m")), T(c), T(b), T(c), T(a)));
    g.ans(a);
  } else no("angle_bisector", t);
}

}  // namespace

void kernels_add_geometry(std::vector<Kernel>& out) {
  out.push_back({"triangle_angle_sum", tri_sample, tri_solve});
  out.push_back({"exterior_angle", ext_sample, ext_solve});
  out.push_back({"linear_pair", supp_sample, supp_solve});
  out.push_back({"parallel_cointerior", supp_sample, supp_solve});
  out.push_back({"cyclic_quadrilateral", supp_sample, supp_solve});
  out.push_back({"isosceles_base_angles", iso_sample, iso_solve});
  out.push_back({"pythagoras", pyth_sample, pyth_solve});
  out.push_back({"special_45_45_90", special_sample<2>, special_solve<2>});
  out.push_back({"special_30_60_90", special_sample<3>, special_solve<3>});
  out.push_back({"similar_triangles", sim_sample, sim_solve});
  out.push_back({"similar_areas", sima_sample, sima_solve});
  out.push_back({"midline", half_sample, half_solve});
  out.push_back({"intercept_theorem", icpt_sample, icpt_solve});
  out.push_back({"inscribed_angle", half_sample, half_solve});
  out.push_back({"thales", thales_sample, thales_solve});
  out.push_back({"tangent_radius", tan_sample, tan_solve});
  out.push_back({"chord_bisection", chord_sample, chord_solve});
  out.push_back({"polygon_angle_sum", poly_sample, poly_solve});
  out.push_back({"triangle_area", tarea_sample, tarea_solve});
  out.push_back({"circle_area", circ_sample, carea_solve});
  out.push_back({"circle_circumference", circ_sample, ccirc_solve});
  out.push_back({"trapezoid_area", trap_sample, trap_solve});
  out.push_back({"angle_bisector", bis_sample, bis_solve});
}

}  // namespace tsft
