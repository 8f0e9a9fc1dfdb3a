#include "theorems/kernels.hpp"

#include <cmath>

#include "core/error.hpp"

namespace tsft {

uint64_t rng_mix(uint64_t a, uint64_t b) {
  Rng r(a ^ (b * 0x9e3779b97f4a7c15ull + 0x632be59bd9b4e019ull));
  r.next();
  return r.next();
}

Exact Gen::pick(const std::string& slot) {
  auto f = fixed.find(slot);
  if (f != fixed.end()) {
    vals[slot] = f->second;
    return f->second;
  }
  const SlotSpec& s = th->slot(slot);
  TSFT_CHECK(s.hi >= s.lo && s.hi != 0, "{}: theorem '{}': slot '{}' has no range but is sampled", th->file, th->id,
             slot);
  if (magnitude && !s.scale && s.kind == "angle") {
    long k = rng->range(0, 2 * ((s.hi - s.lo) / s.step));
    vals[slot] = Exact(s.lo) + Exact::frac(k * s.step, 2);
    return vals[slot];
  }
  long hi = s.hi;
  if (s.scale && scale != 1.0) hi = s.lo + (long)std::llround((s.hi - s.lo + 1) * scale) - 1;
  long n = (hi - s.lo) / s.step;
  long v = s.lo + s.step * rng->range(0, n);
  vals[slot] = Exact(v);
  return Exact(v);
}

long Gen::pick_int(const std::string& slot) {
  Exact x = pick(slot);
  if (!x.is_integer()) {
    reject = true;
    return 1;
  }
  return x.to_long();
}

long Gen::pick_in(const std::string& slot, long lo, long hi, long step) {
  auto f = fixed.find(slot);
  if (f != fixed.end()) {
    vals[slot] = f->second;
    if (!f->second.is_integer()) {
      reject = true;
      return lo;
    }
    return f->second.to_long();
  }
  long v = lo + step * rng->range(0, (hi - lo) / step);
  vals[slot] = Exact(v);
  return v;
}

Exact& Gen::v(const std::string& slot) {
  auto it = vals.find(slot);
  TSFT_CHECK(it != vals.end(), "theorem '{}': slot '{}' read before it was set", th->id, slot);
  return it->second;
}

std::string Gen::S(const std::string& slot) const {
  auto it = syms.find(slot);
  return it == syms.end() ? slot : it->second;
}

std::string tex_sqrt(const Exact& x) { return "\\sqrt{" + exact_to_text(x) + "}"; }

Exact ex_factorial(long n) {
  Exact r(1);
  for (long k = 2; k <= n; ++k) r = r * Exact(k);
  return r;
}

Exact ex_binom(long n, long k) {
  if (k < 0 || k > n) return Exact(0);
  mpz_class r;
  mpz_bin_uiui(r.get_mpz_t(), (unsigned long)n, (unsigned long)k);
  return Exact(mpq_class(r));
}

namespace {
std::vector<Kernel> build_table() {
  std::vector<Kernel> t;
  kernels_add_algebra(t);
  kernels_add_geometry(t);
  kernels_add_number(t);
  kernels_add_counting(t);
  return t;
}
const std::vector<Kernel>& table() {
  static const std::vector<Kernel> t = build_table();
  return t;
}
}  // namespace

const Kernel* kernel_find(const std::string& id) {
  for (auto& k : table())
    if (id == k.id) return &k;
  return nullptr;
}

std::vector<std::string> kernel_ids() {
  std::vector<std::string> out;
  for (auto& k : table()) out.push_back(k.id);
  return out;
}

}  // namespace tsft
