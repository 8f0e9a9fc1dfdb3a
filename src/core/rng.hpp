// Seeded, platform-independent random numbers (xoshiro256** seeded by splitmix64). The standard
// library's distributions are implementation-defined, so results here are computed by hand.
#pragma once
#include <cmath>
#include <cstdint>

namespace tsft {

// Named Xoshiro, not Rng: theorems/kernels.hpp defines its own splitmix tsft::Rng, and two classes of
// one name linked into one binary violate the one-definition rule.
struct Xoshiro {
  uint64_t s[4];
  explicit Xoshiro(uint64_t seed = 0) { reseed(seed); }
  void reseed(uint64_t seed) {
    uint64_t x = seed;
    for (auto& w : s) {  // splitmix64
      x += 0x9e3779b97f4a7c15ULL;
      uint64_t z = x;
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
      z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
      w = z ^ (z >> 31);
    }
  }
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t next_u64() {
    uint64_t r = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return r;
  }
  double uniform() { return (next_u64() >> 11) * 0x1.0p-53; }  // [0, 1)
  // Unbiased integer in [0, n) (Lemire's rejection).
  uint64_t below(uint64_t n) {
    if (n <= 1) return 0;
    uint64_t thresh = (0 - n) % n, r;
    do r = next_u64();
    while (r < thresh);
    return r % n;
  }
  double normal() {  // Box-Muller, one value per call (deterministic, no cached state)
    double u1 = 1.0 - uniform(), u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }
};

}  // namespace tsft
