// Exact answers of the theorem world: one term  coef * sqrt(rad) * pi^pi_pow  with
//   coef    a rational (GMP mpq_class, always canonical: reduced, positive denominator),
//   rad     a square-free positive integer (1 = no radical),
//   pi_pow  an integer power of pi (0 = none; negative powers appear only in intermediate quotients).
// This covers every answer the generators produce: integers (7), rationals (\frac{7}{3}), radicals
// (5\sqrt{2}, \frac{\sqrt{3}}{2}) and multiples of pi (12\pi, \frac{3\pi}{2}). Sums are exact only
// between like terms (same rad and pi_pow, or one side zero); anything else throws tsft::Error, so a
// generator can never silently round.
//
// Canonical LaTeX (exact_to_latex) is the single spelling used by targets and gold answers:
//   -\frac{7}{3}   5\sqrt{2}   \frac{5\sqrt{2}}{3}   \sqrt{2}   12\pi   \frac{3\pi}{2}   \pi   0
// i.e. sign first, then \frac{N}{D} when D != 1, where N = [|num| unless it is 1 and a core follows]
// followed by the core \sqrt{rad}\pi. exact_parse_latex reads that form back (and simple variants:
// \dfrac, a/b, decimals, spaces, \cdot), so the grader can compare answers as values, not strings.
// The unanswerable gold string is a text answer, not an Exact: see kCannotBeDetermined.
#pragma once
#include <gmpxx.h>

#include <optional>
#include <string>
#include <string_view>

namespace tsft {

// Gold answer of every "cannot be determined" item (P8 premise violations that leave the target
// undetermined, P9 unanswerable). The grader recognises exactly this string.
inline constexpr const char* kCannotBeDetermined = "\\text{cannot be determined}";

class Exact {
 public:
  Exact() = default;
  Exact(long v) : coef_(v) {}  // NOLINT: integers convert implicitly
  explicit Exact(mpq_class q, const mpz_class& rad = 1, int pi_pow = 0);
  static Exact frac(long num, long den);
  static Exact sqrt_of(const Exact& x);  // x rational >= 0 (no pi) -> k*sqrt(m), m square-free
  static Exact pi(long k = 1) { return Exact(mpq_class(k), 1, 1); }

  const mpq_class& coef() const { return coef_; }
  const mpz_class& rad() const { return rad_; }
  int pi_pow() const { return pi_pow_; }
  bool is_zero() const { return coef_ == 0; }
  bool is_rational() const { return rad_ == 1 && pi_pow_ == 0; }
  bool is_integer() const { return is_rational() && coef_.get_den() == 1; }
  long to_long() const;  // throws unless is_integer() and it fits
  double to_double() const;
  int sign() const { return sgn(coef_); }

  Exact operator-() const;
  friend Exact operator+(const Exact& a, const Exact& b);
  friend Exact operator-(const Exact& a, const Exact& b) { return a + (-b); }
  friend Exact operator*(const Exact& a, const Exact& b);
  friend Exact operator/(const Exact& a, const Exact& b);
  friend bool operator==(const Exact& a, const Exact& b);
  friend bool operator!=(const Exact& a, const Exact& b) { return !(a == b); }
  // Order by value (exact for rationals; for mixed kinds through the value's square, so still exact).
  friend bool operator<(const Exact& a, const Exact& b);
  friend bool operator>(const Exact& a, const Exact& b) { return b < a; }
  friend bool operator<=(const Exact& a, const Exact& b) { return !(b < a); }
  friend bool operator>=(const Exact& a, const Exact& b) { return !(a < b); }

 private:
  mpq_class coef_{0};
  mpz_class rad_{1};
  int pi_pow_ = 0;
  void normalize();
};

Exact exact_pow(const Exact& x, int n);  // n >= 0
std::string exact_to_latex(const Exact& x);
// A given value as it appears in problem text: integers and terminating decimals with <= 3 places
// as decimals ("2.5"), anything else as canonical LaTeX.
std::string exact_to_text(const Exact& x);
// Kind of an answer for answer_type: "integer", "rational", "radical", "pi".
std::string exact_kind(const Exact& x);
std::optional<Exact> exact_parse_latex(std::string_view s);
// Largest square-free part: n = k^2 * m with m square-free (n > 0); returns {k, m}.
std::pair<mpz_class, mpz_class> exact_split_square(const mpz_class& n);

}  // namespace tsft
