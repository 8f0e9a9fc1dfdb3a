// fp32 <-> bf16 casts: the scalar reference against an independent nearest-even search, special
// values (ties, NaN, Inf, overflow, denormals), and the vector path bit-identical to the reference.
#include <cmath>
#include <cstring>
#include <limits>

#include "core/rng.hpp"
#include "kernel_test_util.hpp"
#include "kernels/cpu/bf16.hpp"

namespace tsft::kernels_testing {
namespace {

uint32_t bits_of(float f) {
  uint32_t b;
  std::memcpy(&b, &f, 4);
  return b;
}
float from_bits(uint32_t b) {
  float f;
  std::memcpy(&f, &b, 4);
  return f;
}

// Independent RNE for finite normal x: the two bf16 neighbours by truncation, pick the nearer in
// double, ties to the even significand. IEEE rounds as if the exponent were unbounded, so a neighbour
// that is Inf counts as +-2^128 (values from max + half an ulp up overflow to Inf).
bf16_t rne_by_search(float x) {
  const uint32_t b = bits_of(x);
  const bf16_t lo = (bf16_t)(b >> 16), hi = (bf16_t)(lo + 1);  // |hi| > |lo| (same sign)
  auto value = [](bf16_t h) {
    double v = bf16_to_f32(h);
    return std::isinf(v) ? std::copysign(0x1.0p128, v) : v;
  };
  const double dl = std::fabs(value(lo) - x), dh = std::fabs(value(hi) - x);
  if (dl < dh) return lo;
  if (dh < dl) return hi;
  return (lo & 1) ? hi : lo;
}

TEST(Bf16, ReferenceMatchesNearestEvenSearch) {
  Xoshiro rng(7);
  for (int i = 0; i < 200000; i++) {
    uint32_t b = (uint32_t)rng.below(1ull << 32);
    const uint32_t exp = (b >> 23) & 0xff;
    if (exp == 0 || exp == 0xff) continue;  // finite normal only (specials tested below)
    float x = from_bits(b);
    ASSERT_EQ(f32_to_bf16_ref(x), rne_by_search(x)) << std::hexfloat << x;
  }
}

TEST(Bf16, TiesNaNInfDenormals) {
  // Halfway cases round to the even significand: 1 + 2^-8 -> 1, 1 + 3*2^-8 -> 1 + 2^-6 (0x3f82).
  EXPECT_EQ(f32_to_bf16_ref(from_bits(0x3f808000u)), 0x3f80);
  EXPECT_EQ(f32_to_bf16_ref(from_bits(0x3f818000u)), 0x3f82);
  EXPECT_EQ(f32_to_bf16_ref(from_bits(0xbf808000u)), 0xbf80);  // sign symmetric
  EXPECT_EQ(f32_to_bf16_ref(from_bits(0x3f808001u)), 0x3f81);  // just above the tie rounds up
  const float inf = std::numeric_limits<float>::infinity();
  EXPECT_EQ(f32_to_bf16_ref(inf), 0x7f80);
  EXPECT_EQ(f32_to_bf16_ref(-inf), 0xff80);
  EXPECT_EQ(f32_to_bf16_ref(std::numeric_limits<float>::max()), 0x7f80);  // overflow rounds to Inf
  EXPECT_EQ(f32_to_bf16_ref(from_bits(0x7f7f7fffu)), 0x7f7f);             // largest that stays finite
  // NaN stays NaN (quiet), sign kept; a NaN whose payload lives in the low bits must not become Inf.
  EXPECT_TRUE(std::isnan(round_bf16(std::numeric_limits<float>::quiet_NaN())));
  EXPECT_EQ(f32_to_bf16_ref(from_bits(0x7f800001u)), 0x7fc0);
  EXPECT_EQ(f32_to_bf16_ref(from_bits(0xff800001u)), 0xffc0);
  // Denormal inputs become signed zero (VCVTNE2PS2BF16 semantics); the smallest normal survives.
  EXPECT_EQ(f32_to_bf16_ref(from_bits(0x00000001u)), 0x0000);
  EXPECT_EQ(f32_to_bf16_ref(from_bits(0x807fffffu)), 0x8000);
  EXPECT_EQ(f32_to_bf16_ref(from_bits(0x00800000u)), 0x0080);
  EXPECT_EQ(f32_to_bf16_ref(-0.0f), 0x8000);
  for (uint32_t h : {0x0000u, 0x3f80u, 0xc2f7u, 0x7f80u, 0x0080u})
    EXPECT_EQ(f32_to_bf16_ref(bf16_to_f32(h)), h);
}

// Every length 0..99 (vector body + masked tail) and random bit patterns (all classes included): the
// dispatched cast equals the scalar reference bit for bit, whichever path this CPU takes.
TEST(Bf16, VectorPathEqualsReference) {
  std::printf("[ info     ] avx512_bf16: %s\n", cpu_has_avx512_bf16() ? "yes" : "no (scalar path)");
  Xoshiro rng(9);
  std::vector<float> src(100000);
  for (auto& x : src) x = from_bits((uint32_t)rng.below(1ull << 32));
  const uint32_t specials[] = {0x3f808000u, 0x3f818000u, 0x7f800001u, 0x00000001u, 0x7f7fffffu, 0xff800000u};
  for (size_t i = 0; i < 6; i++) src[i * 7] = from_bits(specials[i]);
  std::vector<bf16_t> got(src.size()), want(src.size());
  for (size_t n = 0; n < 100; n++) {
    std::fill(got.begin(), got.end(), 0xdead);
    f32_to_bf16(got.data(), src.data(), n);
    f32_to_bf16_scalar(want.data(), src.data(), n);
    for (size_t i = 0; i < n; i++) ASSERT_EQ(got[i], want[i]) << "n " << n << " i " << i;
    EXPECT_EQ(got[n], 0xdead) << "wrote past the end, n " << n;
  }
  f32_to_bf16(got.data(), src.data(), src.size());
  f32_to_bf16_scalar(want.data(), src.data(), src.size());
  EXPECT_TRUE(bit_equal(got, want));
  std::vector<float> back(src.size());
  bf16_to_f32(back.data(), got.data(), got.size());
  for (size_t i = 0; i < got.size(); i++) ASSERT_EQ(bits_of(back[i]), (uint32_t)got[i] << 16);
}

TEST(Bf16, ParallelAndStridedRowsCasts) {
  ScopedThreads th(2);
  auto src = cast<float>(randn(3 * 50000 + 17, 5));
  std::vector<bf16_t> a(src.size()), b(src.size());
  f32_to_bf16_parallel(a.data(), src.data(), src.size());
  f32_to_bf16_scalar(b.data(), src.data(), src.size());
  EXPECT_TRUE(bit_equal(a, b));
  const long rows = 37, cols = 300, ld = 311;
  std::vector<bf16_t> packed(rows * cols);
  f32_to_bf16_rows(packed.data(), src.data(), rows, cols, ld);
  for (long r = 0; r < rows; r++)
    for (long c = 0; c < cols; c++) ASSERT_EQ(packed[r * cols + c], f32_to_bf16_ref(src[r * ld + c]));
}

}  // namespace
}  // namespace tsft::kernels_testing
