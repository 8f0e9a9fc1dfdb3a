// Per-theorem C++: a sampler of free slot values and an exact solver for any askable slot.
// Contract (checked by the generator on every item):
//   sample(g)      picks the free slots with g.pick() (range from the catalog, scaled, honouring values
//                  fixed by a chain link) and returns false to reject an unusable draw;
//   solve(g, t)    computes slot t from the other slots only (t is erased from g.vals before the call),
//                  writes the computation lines with g.line() and the result with g.ans(); under g.cf it
//                  applies the catalog's counterfactual rule (cf_rule) instead of the real one.
// The generator derives the forward target by solve(target), then for inversions (P6) solves the asked
// slot back from the others and checks it equals the sampled value: two computations per item.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "theorems/catalog.hpp"
#include "theorems/exact.hpp"

namespace tsft {

// splitmix64: tiny, fast, and identical on every platform (std:: distributions are not).
struct Rng {
  uint64_t s;
  explicit Rng(uint64_t seed) : s(seed) {}
  uint64_t next() {
    uint64_t z = (s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  uint64_t below(uint64_t n) { return n ? next() % n : 0; }
  long range(long lo, long hi) { return lo + (long)below((uint64_t)(hi - lo + 1)); }
  double unit() { return (next() >> 11) * 0x1.0p-53; }
  bool chance(double p) { return unit() < p; }
};
uint64_t rng_mix(uint64_t a, uint64_t b);

struct Gen {
  const TheoremSpec* th = nullptr;
  Rng* rng = nullptr;
  double scale = 1.0;  // multiplies the hi end of every scalable slot range (P3 magnitude)
  bool cf = false;     // counterfactual rule (P10)
  bool magnitude = false;  // P3: angle slots that do not scale are drawn on a half-step grid (decimals)
  bool reject = false;
  std::map<std::string, Exact> vals, fixed;
  std::map<std::string, std::string> syms;  // slot -> realized object name ("PQ")
  std::vector<std::string> exec;
  Exact answer;
  bool answered = false;

  Exact pick(const std::string& slot);               // random in the slot's range, or its fixed value
  long pick_int(const std::string& slot);            // same, rejects a fixed non-integer
  long pick_in(const std::string& slot, long lo, long hi, long step = 1);  // explicit range, no scaling
  Exact& v(const std::string& slot);                 // value (throws if unset)
  long i(const std::string& slot) { return v(slot).to_long(); }
  bool has(const std::string& slot) const { return vals.count(slot) > 0; }
  std::string S(const std::string& slot) const;      // object/symbol of the slot in this problem
  static std::string T(const Exact& x) { return exact_to_text(x); }
  static std::string P(const Exact& x) { return x.sign() < 0 ? "(" + exact_to_text(x) + ")" : exact_to_text(x); }
  void line(std::string s) { exec.push_back(std::move(s)); }
  void ans(const Exact& x) {
    answer = x;
    answered = true;
  }
};

// Shorthands of the kernel files (kernels_*.cpp; `using kernel_shorthand::T;` in each): an exact value as
// solution text, and the failure of a solver asked for a target it cannot solve for.
namespace kernel_shorthand {
inline std::string T(const Exact& x) {
  return Gen::T(x);
}
[[noreturn]] inline void no(const char* theorem, const std::string& target) {
  TSFT_FAIL("{}: cannot solve for {}", theorem, target);
}
}  // namespace kernel_shorthand

struct Kernel {
  const char* id;
  bool (*sample)(Gen&);
  void (*solve)(Gen&, const std::string& target);
};

const Kernel* kernel_find(const std::string& id);  // nullptr if no C++ for that catalog id
std::vector<std::string> kernel_ids();

// Registration per domain file (explicit calls: static-library objects are not linked by side effect).
void kernels_add_algebra(std::vector<Kernel>& out);
void kernels_add_geometry(std::vector<Kernel>& out);
void kernels_add_number(std::vector<Kernel>& out);
void kernels_add_counting(std::vector<Kernel>& out);

// Shared helpers for kernel code.
std::string tex_sqrt(const Exact& x);  // "\sqrt{x}"
Exact ex_binom(long n, long k);
Exact ex_factorial(long n);

}  // namespace tsft
