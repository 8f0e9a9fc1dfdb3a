#include "eval/latex_value.hpp"

#include <cmath>
#include <cstring>

namespace tsft::eval {
namespace {

uint64_t mix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}
uint64_t hash_str(const std::string& s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}
long double unit_random(uint64_t h) {
  return static_cast<long double>(h >> 11) / 9007199254740992.0L;
}

bool pow_exact(const mpq_class& b, const mpq_class& e, mpq_class& out) {
  if (e.get_den() != 1) {
    if (b == 0 && e > 0) return out = 0, true;
    if (b == 1) return out = 1, true;
    return false;
  }
  const mpz_class& ez = e.get_num();
  if (!ez.fits_slong_p()) return false;
  long k = ez.get_si();
  if (b == 0) {
    if (k <= 0) return false;
    return out = 0, true;
  }
  unsigned long ak = static_cast<unsigned long>(std::labs(k));
  size_t bits = mpz_sizeinbase(b.get_num().get_mpz_t(), 2) + mpz_sizeinbase(b.get_den().get_mpz_t(), 2);
  if (ak > 4096 || bits * ak > 200000) return false;
  mpz_class n, d;
  mpz_pow_ui(n.get_mpz_t(), b.get_num().get_mpz_t(), ak);
  mpz_pow_ui(d.get_mpz_t(), b.get_den().get_mpz_t(), ak);
  out = k >= 0 ? mpq_class(n, d) : mpq_class(d, n);
  out.canonicalize();
  return true;
}

cplx opaque_function(const std::string& name, const std::vector<cplx>& args) {
  uint64_t h = hash_str(name);
  cplx acc = static_cast<long double>(0.3 + unit_random(mix64(h)));
  for (size_t i = 0; i < args.size(); ++i) {
    long double w = 0.5L + unit_random(mix64(h + 17 * (i + 1)));
    acc +=
        std::sin(args[i] * w + static_cast<long double>(i + 1)) * (1.0L + 0.1L * static_cast<long double>(i));
  }
  return acc;
}

// Plain complex products/quotients: std::complex's operators go through __mulxc3/__divxc3 (C99 Annex G
// inf/nan recovery), several times slower; sample points are finite so the textbook formulas suffice.
inline cplx cmul(const cplx& a, const cplx& b) {
  return {a.real() * b.real() - a.imag() * b.imag(), a.real() * b.imag() + a.imag() * b.real()};
}
inline cplx cdiv(const cplx& a, const cplx& b) {
  if (b.imag() == 0) return {a.real() / b.real(), a.imag() / b.real()};
  long double d = b.real() * b.real() + b.imag() * b.imag();
  return {(a.real() * b.real() + a.imag() * b.imag()) / d, (a.imag() * b.real() - a.real() * b.imag()) / d};
}

}  // namespace

bool value_exact(const Node& n, const ValueContext& ctx, mpq_class& out) {
  switch (n.k) {
    case NodeKind::Num:
      out = n.q();
      return true;
    case NodeKind::Add: {
      mpq_class s = 0, t;
      for (const auto& c : n.c) {
        if (!value_exact(c, ctx, t)) return false;
        s += t;
      }
      out = s;
      return true;
    }
    case NodeKind::Mul: {
      mpq_class s = 1, t;
      for (const auto& c : n.c) {
        if (!value_exact(c, ctx, t)) return false;
        s *= t;
      }
      out = s;
      return true;
    }
    case NodeKind::Neg:
      if (!value_exact(n.c[0], ctx, out)) return false;
      out = -out;
      return true;
    case NodeKind::Div: {
      mpq_class a, b;
      if (!value_exact(n.c[0], ctx, a) || !value_exact(n.c[1], ctx, b) || b == 0) return false;
      out = a / b;
      return true;
    }
    case NodeKind::Pow: {
      mpq_class a, b;
      if (!value_exact(n.c[0], ctx, a) || !value_exact(n.c[1], ctx, b)) return false;
      return pow_exact(a, b, out);
    }
    case NodeKind::Percent:
      if (!value_exact(n.c[0], ctx, out)) return false;
      if (ctx.percent_divide) out /= 100;
      return true;
    case NodeKind::Func: {
      if (n.c.size() != 1 && n.s != "binom") return false;
      mpq_class a;
      if (!value_exact(n.c[0], ctx, a)) return false;
      if (n.s == "abs") return out = abs(a), true;
      if (n.s == "sqrt") {
        if (a < 0) return false;
        if (!mpz_perfect_square_p(a.get_num().get_mpz_t()) || !mpz_perfect_square_p(a.get_den().get_mpz_t()))
          return false;
        mpz_class r = sqrt(a.get_num()), s = sqrt(a.get_den());
        out = mpq_class(r, s);
        return true;
      }
      if (n.s == "fact") {
        if (a.get_den() != 1 || a < 0 || a > 1000) return false;
        mpz_class f;
        mpz_fac_ui(f.get_mpz_t(), a.get_num().get_ui());
        return out = f, true;
      }
      if (n.s == "binom") {
        mpq_class b;
        if (n.c.size() != 2 || !value_exact(n.c[1], ctx, b)) return false;
        if (a.get_den() != 1 || b.get_den() != 1 || a < 0 || a > 100000 || b < 0) return false;
        mpz_class r;
        mpz_bin_uiui(r.get_mpz_t(), a.get_num().get_ui(), b.get_num().get_ui());
        return out = r, true;
      }
      if (n.s == "floor" || n.s == "ceil") {
        mpz_class r;
        if (n.s == "floor")
          mpz_fdiv_q(r.get_mpz_t(), a.get_num_mpz_t(), a.get_den_mpz_t());
        else
          mpz_cdiv_q(r.get_mpz_t(), a.get_num_mpz_t(), a.get_den_mpz_t());
        return out = r, true;
      }
      return false;
    }
    default:
      return false;
  }
}

namespace {
// a^b: integer exponents |b| <= 64 by repeated multiplication (exact for rationals, 0^-k undefined), a
// positive real base by the real power, anything else by the complex principal value.
bool numeric_pow(const cplx& a, const cplx& b, cplx& out) {
  if (b.imag() == 0 && b.real() == std::floor(b.real()) && std::fabs(b.real()) <= 64) {
    long k = static_cast<long>(b.real());
    if (k < 0 && a == cplx(0)) return false;
    cplx r = 1, base = k < 0 ? cdiv(cplx(1), a) : a;
    for (long j = 0; j < std::labs(k); ++j) r = cmul(r, base);
    out = r;
    return true;
  }
  if (a.imag() == 0 && a.real() > 0 && b.imag() == 0) {
    out = std::pow(a.real(), b.real());
    return true;
  }
  out = std::pow(a, b);
  return true;
}

// A named function of evaluated arguments; an unknown name is an opaque (but deterministic) function.
// False where undefined or not finite.
bool numeric_function(const std::string& f, const std::vector<cplx>& a, cplx& out) {
  if (a.empty()) return false;
  const cplx x = a[0];
  if (f == "sqrt")
    out = x.imag() == 0 && x.real() >= 0 ? cplx(std::sqrt(x.real())) : std::sqrt(x);
  else if (f == "root") {
    if (a.size() < 2) return false;
    long double k = a[1].real();
    if (x.imag() == 0 && x.real() < 0 && std::fmod(k, 2.0L) == 1)
      out = -std::pow(-x.real(), 1 / k);
    else
      out = std::pow(x, 1.0L / a[1]);
  } else if (f == "sin")
    out = std::sin(x);
  else if (f == "cos")
    out = std::cos(x);
  else if (f == "tan")
    out = std::tan(x);
  else if (f == "sec")
    out = 1.0L / std::cos(x);
  else if (f == "csc")
    out = 1.0L / std::sin(x);
  else if (f == "cot")
    out = 1.0L / std::tan(x);
  else if (f == "arcsin")
    out = std::asin(x);
  else if (f == "arccos")
    out = std::acos(x);
  else if (f == "arctan")
    out = std::atan(x);
  else if (f == "sinh")
    out = std::sinh(x);
  else if (f == "cosh")
    out = std::cosh(x);
  else if (f == "tanh")
    out = std::tanh(x);
  else if (f == "exp")
    out = std::exp(x);
  else if (f == "ln")
    out = std::log(x);
  else if (f == "log")
    out = a.size() == 2 ? std::log(x) / std::log(a[1]) : std::log(x);
  else if (f == "log10")
    out = std::log10(x);
  else if (f == "abs")
    out = std::abs(x);
  else if (f == "floor")
    out = std::floor(x.real());
  else if (f == "ceil")
    out = std::ceil(x.real());
  else if (f == "fact") {
    if (x.imag() != 0 || x.real() < 0 || x.real() > 1700) return false;
    out = std::tgamma(x.real() + 1);
  } else if (f == "binom") {
    if (a.size() != 2) return false;
    out =
        std::tgamma(x.real() + 1) / (std::tgamma(a[1].real() + 1) * std::tgamma(x.real() - a[1].real() + 1));
  } else
    out = opaque_function(f, a);
  return std::isfinite(out.real()) && std::isfinite(out.imag());
}
}  // namespace

bool value_numeric(const Node& n, const ValueContext& ctx, cplx& out) {
  constexpr long double kPi = 3.141592653589793238462643383279502884L;
  constexpr long double kE = 2.718281828459045235360287471352662498L;
  switch (n.k) {
    case NodeKind::Num:
      out = cplx(n.qv, 0);
      return true;
    case NodeKind::Sym: {
      if (ctx.bind_name && n.s == *ctx.bind_name) {
        out = ctx.bind_value;
        return true;
      }
      uint64_t h = mix64(hash_str(n.s) ^ mix64(ctx.point + 1));
      out = cplx(0.6L + 1.8L * unit_random(h), 0);
      return true;
    }
    case NodeKind::Pi:
      out = kPi;
      return true;
    case NodeKind::Euler:
      out = kE;
      return true;
    case NodeKind::Imag:
      out = cplx(0, 1);
      return true;
    case NodeKind::Inf:
      out = cplx(INFINITY, 0);
      return true;
    case NodeKind::Add: {
      cplx s = 0, t;
      for (const auto& c : n.c) {
        if (!value_numeric(c, ctx, t)) return false;
        s += t;
      }
      out = s;
      return true;
    }
    case NodeKind::Mul: {
      cplx s = 1, t;
      for (const auto& c : n.c) {
        if (!value_numeric(c, ctx, t)) return false;
        s = cmul(s, t);
      }
      out = s;
      return true;
    }
    case NodeKind::Neg:
      if (!value_numeric(n.c[0], ctx, out)) return false;
      out = std::isinf(out.real()) && out.imag() == 0 ? cplx(-out.real(), 0) : -out;
      return true;
    case NodeKind::Div: {
      cplx a, b;
      if (!value_numeric(n.c[0], ctx, a) || !value_numeric(n.c[1], ctx, b) || b == cplx(0)) return false;
      out = cdiv(a, b);
      return true;
    }
    case NodeKind::Pow: {
      cplx a, b;
      if (!value_numeric(n.c[0], ctx, a) || !value_numeric(n.c[1], ctx, b)) return false;
      return numeric_pow(a, b, out);
    }
    case NodeKind::Percent:
      if (!value_numeric(n.c[0], ctx, out)) return false;
      if (ctx.percent_divide) out /= 100.0L;
      return true;
    case NodeKind::Func: {
      std::vector<cplx> a(n.c.size());
      for (size_t i = 0; i < n.c.size(); ++i)
        if (!value_numeric(n.c[i], ctx, a[i])) return false;
      return numeric_function(n.s, a, out);
    }
    default:
      return false;  // structures are not scalars; PlusMinus must be expanded first
  }
}

void value_symbols(const Node& n, std::set<std::string>& out) {
  if (n.k == NodeKind::Sym) out.insert(n.s);
  for (const auto& c : n.c) value_symbols(c, out);
}

bool value_has_decimal(const Node& n) {
  if (n.k == NodeKind::Num) return n.dp > 0;
  for (const auto& c : n.c)
    if (value_has_decimal(c)) return true;
  return false;
}

bool value_has_percent(const Node& n) {
  if (n.k == NodeKind::Percent) return true;
  for (const auto& c : n.c)
    if (value_has_percent(c)) return true;
  return false;
}

bool value_is_scalar(const Node& n) {
  switch (n.k) {
    case NodeKind::Tuple:
    case NodeKind::Set:
    case NodeKind::List:
    case NodeKind::Union:
    case NodeKind::Matrix:
    case NodeKind::Rel:
    case NodeKind::Ratio:
    case NodeKind::Text:
      return false;
    default:
      for (const auto& c : n.c)
        if (!value_is_scalar(c)) return false;
      return true;
  }
}

int value_literal_dp(const Node& n) {
  if (n.k == NodeKind::Num) return n.dp;
  if (n.k == NodeKind::Neg) return value_literal_dp(n.c[0]);
  return -1;
}

bool value_has_unreduced_fraction(const Node& n) {
  if (n.k == NodeKind::Div && n.c[0].k == NodeKind::Num && n.c[1].k == NodeKind::Num && n.c[0].dp < 0 &&
      n.c[1].dp < 0) {
    mpz_class g;
    mpz_gcd(g.get_mpz_t(), n.c[0].q().get_num_mpz_t(), n.c[1].q().get_num_mpz_t());
    if (g > 1) return true;
  }
  for (const auto& c : n.c)
    if (value_has_unreduced_fraction(c)) return true;
  return false;
}

}  // namespace tsft::eval
