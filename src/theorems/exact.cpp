#include "theorems/exact.hpp"

#include <cctype>
#include <cmath>
#include <numbers>

#include "core/error.hpp"

namespace tsft {

std::pair<mpz_class, mpz_class> exact_split_square(const mpz_class& n) {
  TSFT_CHECK(n > 0, "exact_split_square: {} is not positive", n.get_str());
  mpz_class k = 1, m = n;
  // Trial division: generator values are small; the loop stops at sqrt(remaining).
  for (mpz_class p = 2; p * p <= m; ++p) {
    mpz_class pp = p * p;
    while (mpz_divisible_p(m.get_mpz_t(), pp.get_mpz_t())) {
      m /= pp;
      k *= p;
    }
  }
  return {k, m};
}

Exact::Exact(mpq_class q, const mpz_class& rad, int pi_pow) : coef_(std::move(q)), rad_(rad), pi_pow_(pi_pow) {
  coef_.canonicalize();
  normalize();
}

Exact Exact::frac(long num, long den) {
  TSFT_CHECK(den != 0, "Exact::frac: zero denominator");
  mpq_class q(num, den);
  q.canonicalize();
  return Exact(q);
}

void Exact::normalize() {
  TSFT_CHECK(rad_ > 0, "Exact: radicand {} must be positive", rad_.get_str());
  if (rad_ != 1) {
    auto [k, m] = exact_split_square(rad_);
    coef_ *= k;
    rad_ = m;
  }
  if (coef_ == 0) {
    rad_ = 1;
    pi_pow_ = 0;
  }
}

Exact Exact::sqrt_of(const Exact& x) {
  TSFT_CHECK(x.rad_ == 1 && x.pi_pow_ == 0, "Exact::sqrt_of: {} is not rational", exact_to_latex(x));
  TSFT_CHECK(x.coef_ >= 0, "Exact::sqrt_of: {} is negative", exact_to_latex(x));
  if (x.coef_ == 0) return Exact();
  // sqrt(p/q) = sqrt(p*q)/q
  mpz_class p = x.coef_.get_num(), q = x.coef_.get_den();
  return Exact(mpq_class(mpz_class(1), q), p * q, 0);
}

long Exact::to_long() const {
  TSFT_CHECK(is_integer() && coef_.get_num().fits_slong_p(), "Exact: {} is not a machine integer",
             exact_to_latex(*this));
  return coef_.get_num().get_si();
}

double Exact::to_double() const {
  return coef_.get_d() * std::sqrt(rad_.get_d()) * std::pow(std::numbers::pi, pi_pow_);
}

Exact Exact::operator-() const {
  Exact r = *this;
  r.coef_ = -r.coef_;
  return r;
}

Exact operator+(const Exact& a, const Exact& b) {
  if (a.is_zero()) return b;
  if (b.is_zero()) return a;
  TSFT_CHECK(a.rad_ == b.rad_ && a.pi_pow_ == b.pi_pow_, "Exact: cannot add unlike terms {} and {}",
             exact_to_latex(a), exact_to_latex(b));
  Exact r = a;
  r.coef_ += b.coef_;
  r.normalize();
  return r;
}

Exact operator*(const Exact& a, const Exact& b) {
  Exact r;
  r.coef_ = a.coef_ * b.coef_;
  r.rad_ = a.rad_ * b.rad_;
  r.pi_pow_ = a.pi_pow_ + b.pi_pow_;
  r.normalize();
  return r;
}

Exact operator/(const Exact& a, const Exact& b) {
  TSFT_CHECK(!b.is_zero(), "Exact: division by zero");
  // q1 sqrt(r1) / (q2 sqrt(r2)) = q1/(q2 r2) * sqrt(r1 r2)
  Exact r;
  r.coef_ = a.coef_ / (b.coef_ * mpq_class(b.rad_));
  r.rad_ = a.rad_ * b.rad_;
  r.pi_pow_ = a.pi_pow_ - b.pi_pow_;
  r.normalize();
  return r;
}

bool operator==(const Exact& a, const Exact& b) {
  return a.coef_ == b.coef_ && a.rad_ == b.rad_ && a.pi_pow_ == b.pi_pow_;
}

bool operator<(const Exact& a, const Exact& b) {
  if (a.rad_ == b.rad_ && a.pi_pow_ == b.pi_pow_) return a.coef_ < b.coef_;
  if (a.pi_pow_ == b.pi_pow_) {
    // Compare signed squares: s*q^2*r is monotone in q*sqrt(r).
    int sa = a.sign(), sb = b.sign();
    if (sa != sb) return sa < sb;
    mpq_class va = a.coef_ * a.coef_ * mpq_class(a.rad_), vb = b.coef_ * b.coef_ * mpq_class(b.rad_);
    return sa >= 0 ? va < vb : va > vb;
  }
  return a.to_double() < b.to_double();  // pi against no pi: transcendental, never equal
}

Exact exact_pow(const Exact& x, int n) {
  TSFT_CHECK(n >= 0, "exact_pow: negative exponent {}", n);
  Exact r(1);
  for (int i = 0; i < n; ++i) r = r * x;
  return r;
}

std::string exact_to_latex(const Exact& x) {
  if (x.is_zero()) return "0";
  if (x.is_integer() && x.coef().get_num().fits_slong_p()) return std::to_string(x.coef().get_num().get_si());
  std::string core;
  if (x.rad() != 1) core += "\\sqrt{" + x.rad().get_str() + "}";
  int pp = x.pi_pow();
  if (pp > 0) core += pp == 1 ? "\\pi" : "\\pi^{" + std::to_string(pp) + "}";
  mpz_class num = abs(x.coef().get_num()), den = x.coef().get_den();
  std::string den_s = den.get_str();
  if (pp < 0) den_s = (den == 1 ? std::string() : den_s) + (pp == -1 ? "\\pi" : "\\pi^{" + std::to_string(-pp) + "}");
  std::string num_s = core.empty() ? num.get_str() : (num == 1 ? core : num.get_str() + core);
  std::string body = (den == 1 && pp >= 0) ? num_s : "\\frac{" + num_s + "}{" + den_s + "}";
  return (x.sign() < 0 ? "-" : "") + body;
}

std::string exact_to_text(const Exact& x) {
  if (x.is_rational() && x.coef().get_den() != 1) {
    mpz_class den = x.coef().get_den(), d = den;
    int twos = 0, fives = 0;
    while (mpz_divisible_ui_p(d.get_mpz_t(), 2)) d /= 2, ++twos;
    while (mpz_divisible_ui_p(d.get_mpz_t(), 5)) d /= 5, ++fives;
    int places = std::max(twos, fives);
    if (d == 1 && places <= 3) {
      mpz_class scale;
      mpz_ui_pow_ui(scale.get_mpz_t(), 10, places);
      mpq_class scaled = x.coef() * mpq_class(scale);
      mpz_class v = abs(scaled.get_num());
      std::string digits = v.get_str();
      while ((int)digits.size() <= places) digits = "0" + digits;
      std::string s = digits.substr(0, digits.size() - places) + "." + digits.substr(digits.size() - places);
      return (x.sign() < 0 ? "-" : "") + s;
    }
  }
  return exact_to_latex(x);
}

std::string exact_kind(const Exact& x) {
  if (x.pi_pow() != 0) return "pi";
  if (x.rad() != 1) return "radical";
  return x.coef().get_den() == 1 ? "integer" : "rational";
}

namespace {

// Recursive-descent reader for the canonical forms and their common variants.
struct LatexReader {
  std::string s;
  size_t i = 0;
  void ws() {
    while (i < s.size() && s[i] == ' ') ++i;
  }
  bool eat(std::string_view t) {
    ws();
    if (s.compare(i, t.size(), t) == 0) {
      i += t.size();
      return true;
    }
    return false;
  }
  std::optional<Exact> number() {
    ws();
    size_t j = i;
    while (j < s.size() && std::isdigit((unsigned char)s[j])) ++j;
    if (j == i) return std::nullopt;
    std::string ip = s.substr(i, j - i), fp;
    i = j;
    if (i < s.size() && s[i] == '.') {
      size_t k = i + 1;
      while (k < s.size() && std::isdigit((unsigned char)s[k])) ++k;
      fp = s.substr(i + 1, k - i - 1);
      i = k;
    }
    mpz_class scale;
    mpz_ui_pow_ui(scale.get_mpz_t(), 10, fp.size());
    return Exact(mpq_class(mpz_class(ip + fp, 10), scale));  // base 10: "0125" is not octal
  }
  std::optional<Exact> braced() {
    if (!eat("{")) return std::nullopt;
    auto v = expr();
    if (!v || !eat("}")) return std::nullopt;
    return v;
  }
  // factor: number | \sqrt{expr} | \sqrt d | \pi | \frac{expr}{expr} | (expr) | {expr}
  std::optional<Exact> factor() {
    ws();
    if (eat("\\frac") || eat("\\dfrac") || eat("\\tfrac")) {
      auto a = braced();
      auto b = braced();
      if (!a || !b || b->is_zero()) return std::nullopt;
      return *a / *b;
    }
    if (eat("\\sqrt")) {
      std::optional<Exact> a = (ws(), i < s.size() && s[i] == '{') ? braced() : number();
      if (!a || !a->is_rational() || a->sign() < 0) return std::nullopt;
      return Exact::sqrt_of(*a);
    }
    if (eat("\\pi")) return Exact::pi();
    if (eat("(")) {
      auto v = expr();
      if (!v || !eat(")")) return std::nullopt;
      return v;
    }
    if (i < s.size() && s[i] == '{') return braced();
    return number();
  }
  // power: factor (^ integer)?  -- the exponent binds to the factor just read (64\pi^{3} = 64 pi^3)
  std::optional<Exact> power() {
    auto v = factor();
    if (!v) return std::nullopt;
    if (eat("^")) {
      auto e = (ws(), i < s.size() && s[i] == '{') ? braced() : number();
      if (!e || !e->is_integer() || e->to_long() < 0 || e->to_long() > 64) return std::nullopt;
      v = exact_pow(*v, (int)e->to_long());
    }
    return v;
  }
  // product: power ((\cdot|*)? power)* (/ power)*
  std::optional<Exact> product() {
    auto v = power();
    if (!v) return std::nullopt;
    while (true) {
      eat("\\cdot") || eat("*");
      ws();
      if (i >= s.size() || s[i] == '}' || s[i] == ')' || s[i] == '+' || s[i] == '-' || s[i] == '/') break;
      auto f = power();
      if (!f) return std::nullopt;
      v = *v * *f;
    }
    while (eat("/")) {
      auto f = power();
      if (!f || f->is_zero()) return std::nullopt;
      v = *v / *f;
    }
    return v;
  }
  std::optional<Exact> expr() {
    bool neg = false;
    while (true) {
      if (eat("-")) neg = !neg;
      else if (!eat("+")) break;
    }
    auto v = product();
    if (!v) return std::nullopt;
    if (neg) v = -*v;
    return v;
  }
};

}  // namespace

std::optional<Exact> exact_parse_latex(std::string_view text) {
  LatexReader r{std::string(text)};
  try {
    auto v = r.expr();
    r.ws();
    if (!v || r.i != r.s.size()) return std::nullopt;
    return v;
  } catch (const std::exception&) {  // tsft::Error (e.g. unlike terms) or a GMP parse error
    return std::nullopt;
  }
}

}  // namespace tsft
