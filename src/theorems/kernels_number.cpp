// Number-theory kernels (integers only; a chain that feeds a non-integer is rejected by pick_int).
#include <fmt/format.h>

#include <numeric>

#include "core/error.hpp"
#include "theorems/kernels.hpp"

namespace tsft {
namespace {

using E = Exact;
using fmt::format;
using kernel_shorthand::no;

long mod(long a, long m) { return ((a % m) + m) % m; }

// division algorithm: n = q d + r, 0 <= r < d
bool div_sample(Gen& g) {
  long d = g.pick_int("d");
  long q = g.pick_in("_q", 1, 20), r = g.pick_in("_r", 0, d - 1);
  g.vals["n"] = E(q * d + r);
  return d >= 2 && d <= 100000;
}
void div_solve(Gen& g, const std::string& t) {
  if (t != "r") no("division_algorithm", t);
  long n = g.i("n"), d = g.i("d");
  if (n < 0 || d < 2) return void(g.reject = true);
  long q = n / d;
  g.line(format("{} = {} \\times {} + {}", n, d, q, n - q * d));
  g.line(format("{} = {}", g.S("r"), n - q * d));
  g.ans(E(n - q * d));
}

// (a b) mod m from a mod m and b mod m
bool modp_sample(Gen& g) {
  long m = g.pick_int("m");
  g.pick_in("r1", 1, m - 1), g.pick_in("r2", 1, m - 1);
  return m >= 3 && g.i("r1") < m && g.i("r2") < m && g.i("r1") >= 0;
}
void modp_solve(Gen& g, const std::string& t) {
  if (t != "t") no("modular_product", t);
  long m = g.i("m"), a = g.i("r1"), b = g.i("r2");
  g.line(format("{} \\times {} = {}", a, b, a * b));
  g.line(format("{} = {} \\times {} + {}", a * b, m, a * b / m, mod(a * b, m)));
  g.line(format("{} = {}", g.S("t"), mod(a * b, m)));
  g.ans(E(mod(a * b, m)));
}

// number of divisors from the prime factorization
bool ndiv_sample(Gen& g) {
  long n = g.pick_int("n");
  return n >= 2 && n <= 100000;
}
void ndiv_solve(Gen& g, const std::string& t) {
  if (t != "d") no("divisor_count", t);
  long n = g.i("n"), m = n, count = 1;
  std::string fac, prod;
  for (long p = 2; p * p <= m || (m > 1 && p <= m); ++p) {
    int e = 0;
    while (m % p == 0) m /= p, ++e;
    if (!e) continue;
    fac += format("{}{}^{}", fac.empty() ? "" : " \\times ", p, e);
    prod += format("{}({} + 1)", prod.empty() ? "" : " \\times ", e);
    count *= e + 1;
  }
  g.line(format("{} = {}", n, fac));
  g.line(format("{} = {} = {}", g.S("d"), prod, count));
  g.ans(E(count));
}

// remainder mod 9 equals the digit sum mod 9
bool dsum_sample(Gen& g) {
  long n = g.pick_int("n");
  return n >= 10 && n <= 100000000;
}
void dsum_solve(Gen& g, const std::string& t) {
  if (t != "r") no("digit_sum_mod9", t);
  long n = g.i("n"), s = 0;
  std::string digits = std::to_string(n), sum;
  for (char c : digits) {
    s += c - '0';
    sum += format("{}{}", sum.empty() ? "" : " + ", c);
  }
  g.line(format("digit sum = {} = {}", sum, s));
  g.line(format("{} = {} \\times 9 + {}", s, s / 9, s % 9));
  g.line(format("{} = {}", g.S("r"), s % 9));
  g.ans(E(s % 9));
}

// Fermat: a^k mod p = a^(k mod (p-1)) mod p for prime p not dividing a
bool fermat_sample(Gen& g) {
  static const long primes[] = {3, 5, 7, 11, 13};
  long p = g.pick_in("_pi", 0, 4);
  p = primes[p];
  g.vals["p"] = E(p);
  long a = g.pick_in("a", 2, p - 1);
  g.pick("k");
  return a % p != 0 && g.i("k") >= p && g.i("k") <= 1000000;
}
void fermat_solve(Gen& g, const std::string& t) {
  if (t != "r") no("fermat_little", t);
  long p = g.i("p"), a = g.i("a"), k = g.i("k"), e = k % (p - 1);
  mpz_class v;
  mpz_ui_pow_ui(v.get_mpz_t(), (unsigned long)a, (unsigned long)e);
  long r = mpz_fdiv_ui(v.get_mpz_t(), (unsigned long)p);
  g.line(format("{}^{{{}}} \\equiv 1 \\pmod{{{}}}", a, p - 1, p));
  g.line(format("{} = {} \\times {} + {}", k, p - 1, k / (p - 1), e));
  g.line(format("{}^{{{}}} = {}", a, e, v.get_str()));
  g.line(format("{} = {} \\bmod {} = {}", g.S("r"), v.get_str(), p, r));
  g.ans(E(r));
}

// CRT: smallest positive x with x = r1 (mod m1), x = r2 (mod m2), gcd(m1, m2) = 1
bool crt_sample(Gen& g) {
  long m1 = g.pick_int("m1"), m2 = g.pick_int("m2");
  if (std::gcd(m1, m2) != 1 || m1 == m2) return false;
  long r1 = g.pick_in("r1", 0, m1 - 1), r2 = g.pick_in("r2", 0, m2 - 1);
  return m1 >= 2 && m2 >= 2 && r1 >= 0 && r1 < m1 && r2 >= 0 && r2 < m2 && m1 * m2 <= 10000;
}
void crt_solve(Gen& g, const std::string& t) {
  long m1 = g.i("m1"), m2 = g.i("m2"), r1 = g.i("r1");
  if (t == "x") {
    long r2 = g.i("r2");
    std::string tried;
    for (long k = 0; k < m2; ++k) {
      long x = r1 + m1 * k;
      if (x == 0) x = m1 * m2;
      tried += format("{}{}", tried.empty() ? "" : ", ", x);
      if (mod(x, m2) == r2) {
        g.line(format("numbers with remainder {} mod {}: {}", r1, m1, tried));
        g.line(format("{} = {} \\times {} + {}", x, m2, x / m2, r2));
        g.line(format("{} = {}", g.S("x"), x));
        g.ans(E(x));
        return;
      }
    }
    g.reject = true;
  } else if (t == "r2") {
    long x = g.i("x");
    g.line(format("{} = {} \\times {} + {}", x, m2, x / m2, mod(x, m2)));
    g.line(format("{} = {}", g.S("r2"), mod(x, m2)));
    g.ans(E(mod(x, m2)));
  } else no("crt", t);
}

// gcd(a, b) * lcm(a, b) = a b
bool gl_sample(Gen& g) {
  long gg = g.pick_int("g");
  long u = g.pick_in("_u", 1, 6), w = g.pick_in("_w", 1, 6);
  if (std::gcd(u, w) != 1 || u == w || gg < 1 || gg > 1000) return false;
  g.vals["a"] = E(gg * u);
  g.vals["b"] = E(gg * w);
  return true;
}
void gl_solve(Gen& g, const std::string& t) {
  E a = g.v("a"), b = g.v("b");
  g.line(format("{} \\times {} = {}", Gen::T(a), Gen::T(b), Gen::T(a * b)));
  if (t == "l") {
    g.line(format("{} = {} / {} = {}", g.S("l"), Gen::T(a * b), Gen::T(g.v("g")), Gen::T(a * b / g.v("g"))));
    g.ans(a * b / g.v("g"));
  } else if (t == "g") {
    g.line(format("{} = {} / {} = {}", g.S("g"), Gen::T(a * b), Gen::T(g.v("l")), Gen::T(a * b / g.v("l"))));
    g.ans(a * b / g.v("l"));
  } else no("gcd_lcm", t);
}

}  // namespace

void kernels_add_number(std::vector<Kernel>& out) {
  out.push_back({"division_algorithm", div_sample, div_solve});
  out.push_back({"modular_product", modp_sample, modp_solve});
  out.push_back({"divisor_count", ndiv_sample, ndiv_solve});
  out.push_back({"digit_sum_mod9", dsum_sample, dsum_solve});
  out.push_back({"fermat_little", fermat_sample, fermat_solve});
  out.push_back({"crt", crt_sample, crt_solve});
  out.push_back({"gcd_lcm", gl_sample, gl_solve});
}

}  // namespace tsft
