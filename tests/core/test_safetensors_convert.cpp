// bf16 / f16 <-> f32 conversions against independent references (exact formulas in double, nearest
// neighbour search with ties to even), exhaustively where the domain is 2^16.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "core/safetensors.hpp"
#include "st_test_util.hpp"

namespace tsft {
namespace {

uint32_t bits(float f) {
  return std::bit_cast<uint32_t>(f);
}
float from_bits(uint32_t u) {
  return std::bit_cast<float>(u);
}

// f16 value by its definition: (-1)^s x 2^(e-15) x 1.m, or 2^-14 x 0.m for e == 0.
double f16_reference(uint16_t h) {
  int s = h >> 15, e = (h >> 10) & 0x1F, m = h & 0x3FF;
  double v;
  if (e == 31)
    v = m ? NAN : INFINITY;
  else if (e == 0)
    v = std::ldexp(m, -24);
  else
    v = std::ldexp(1024 + m, e - 25);
  return s ? -v : v;
}

// Nearest value among sorted non-negative finite candidates (code, value), ties to the even code;
// `overflow` is the first magnitude that rounds to infinity (`inf_code`).
uint16_t nearest(double a, const std::vector<std::pair<uint16_t, double>>& cand, double overflow,
                 uint16_t inf_code) {
  if (a >= overflow) return inf_code;
  auto it =
      std::lower_bound(cand.begin(), cand.end(), a, [](const auto& c, double x) { return c.second < x; });
  if (it == cand.end()) return cand.back().first;
  if (it->second == a || it == cand.begin()) return it->first;
  auto lo = it - 1;
  double dlo = a - lo->second, dhi = it->second - a;
  if (dlo < dhi) return lo->first;
  if (dhi < dlo) return it->first;
  return (lo->first & 1) ? it->first : lo->first;
}

const std::vector<std::pair<uint16_t, double>>& f16_table() {
  static std::vector<std::pair<uint16_t, double>> t = [] {
    std::vector<std::pair<uint16_t, double>> v;
    for (uint32_t h = 0; h < 0x7C00; ++h) v.push_back({static_cast<uint16_t>(h), f16_reference(h)});
    return v;
  }();
  return t;
}

const std::vector<std::pair<uint16_t, double>>& bf16_table() {
  static std::vector<std::pair<uint16_t, double>> t = [] {
    std::vector<std::pair<uint16_t, double>> v;
    for (uint32_t h = 0; h < 0x7F80; ++h) v.push_back({static_cast<uint16_t>(h), double(from_bits(h << 16))});
    return v;
  }();
  return t;
}

uint16_t f16_round_reference(float f) {
  uint16_t sign = std::signbit(f) ? 0x8000 : 0;
  // 65520 = max f16 (65504) + half its ulp: the tie rounds to even, i.e. up to 2^16 = inf.
  return sign | nearest(std::fabs(double(f)), f16_table(), 65520.0, 0x7C00);
}

uint16_t bf16_round_reference(float f) {
  uint16_t sign = std::signbit(f) ? 0x8000 : 0;
  double max = from_bits(0x7F7F0000u), ulp = std::ldexp(1.0, 127 - 7);
  return sign | nearest(std::fabs(double(f)), bf16_table(), max + ulp / 2, 0x7F80);
}

TEST(Bf16, WideningIsExactForAllCodes) {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    float f = bf16_to_f32(static_cast<uint16_t>(h));
    ASSERT_EQ(bits(f), h << 16) << h;
  }
}

TEST(Bf16, NarrowingRoundTripsEveryCodeAndKeepsNaN) {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    float f = bf16_to_f32(static_cast<uint16_t>(h));
    uint16_t back = f32_to_bf16(f);
    if (std::isnan(f)) {
      ASSERT_TRUE(std::isnan(bf16_to_f32(back))) << h;
      ASSERT_EQ(back & 0x8000, h & 0x8000) << "sign of NaN " << h;
    } else {
      ASSERT_EQ(back, h);
    }
  }
}

TEST(Bf16, TiesToEvenAndEdgeCases) {
  EXPECT_EQ(f32_to_bf16(from_bits(0x3F808000u)), 0x3F80);  // 1 + 2^-8: tie, keep even 1.0
  EXPECT_EQ(f32_to_bf16(from_bits(0x3F818000u)), 0x3F82);  // tie between 0x3F81 and 0x3F82 -> even
  EXPECT_EQ(f32_to_bf16(from_bits(0x3F808001u)), 0x3F81);  // just above the tie
  EXPECT_EQ(f32_to_bf16(from_bits(0x3F807FFFu)), 0x3F80);  // just below
  EXPECT_EQ(f32_to_bf16(from_bits(0xBF818000u)), 0xBF82);  // negative tie
  EXPECT_EQ(f32_to_bf16(from_bits(0x00008000u)), 0x0000);  // subnormal tie -> 0
  EXPECT_EQ(f32_to_bf16(from_bits(0x00018000u)), 0x0002);  // subnormal tie -> even 2
  EXPECT_EQ(f32_to_bf16(from_bits(0x00008001u)), 0x0001);  // subnormal above tie
  EXPECT_EQ(f32_to_bf16(from_bits(0x007FFFFFu)), 0x0080);  // largest subnormal rounds to smallest normal
  EXPECT_EQ(f32_to_bf16(from_bits(0x7F7F7FFFu)), 0x7F7F);  // below the overflow tie
  EXPECT_EQ(f32_to_bf16(from_bits(0x7F7F8000u)), 0x7F80);  // overflow tie: odd max -> even inf
  EXPECT_EQ(f32_to_bf16(from_bits(0x7F7FFFFFu)), 0x7F80);  // FLT_MAX -> inf
  EXPECT_EQ(f32_to_bf16(INFINITY), 0x7F80);
  EXPECT_EQ(f32_to_bf16(-INFINITY), 0xFF80);
  EXPECT_EQ(f32_to_bf16(-0.0f), 0x8000);
  // NaNs whose payload sits only in the dropped bits must not turn into inf.
  for (uint32_t nan : {0x7F800001u, 0xFF800001u, 0x7FC00000u, 0x7F80FFFFu, 0xFFFFFFFFu}) {
    uint16_t h = f32_to_bf16(from_bits(nan));
    EXPECT_TRUE(std::isnan(bf16_to_f32(h))) << std::hex << nan;
    EXPECT_EQ(h >> 15, nan >> 31) << std::hex << nan;
  }
}

TEST(Bf16, NarrowingMatchesNearestEvenReference) {
  // Every midpoint between neighbouring bf16 values (exact in f32), a hair either side, and random bits.
  std::vector<float> xs;
  for (uint32_t h = 0; h < 0x7F80; ++h) {
    uint32_t mid = (h << 16) | 0x8000u;
    for (uint32_t d : {mid - 1, mid, mid + 1}) {
      xs.push_back(from_bits(d));
      xs.push_back(from_bits(d | 0x80000000u));
    }
  }
  std::mt19937 rng(7);
  for (int i = 0; i < 200000; ++i) {
    float f = from_bits(rng());
    if (!std::isnan(f)) xs.push_back(f);
  }
  for (float f : xs) ASSERT_EQ(f32_to_bf16(f), bf16_round_reference(f)) << std::hex << bits(f);
}

TEST(F16, WideningMatchesDefinitionForAllCodes) {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    float f = f16_to_f32(static_cast<uint16_t>(h));
    double ref = f16_reference(static_cast<uint16_t>(h));
    if (std::isnan(ref)) {
      ASSERT_TRUE(std::isnan(f)) << h;
      ASSERT_EQ(std::signbit(f), (h & 0x8000) != 0) << h;
    } else {
      ASSERT_EQ(double(f), ref) << h;
      ASSERT_EQ(std::signbit(f), (h & 0x8000) != 0) << h;  // -0 stays -0
    }
  }
}

TEST(F16, NarrowingRoundTripsEveryCodeAndKeepsNaN) {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    float f = f16_to_f32(static_cast<uint16_t>(h));
    uint16_t back = f32_to_f16(f);
    if (std::isnan(f)) {
      ASSERT_TRUE(std::isnan(f16_to_f32(back))) << h;
      ASSERT_EQ(back & 0x8000, h & 0x8000);
    } else {
      ASSERT_EQ(back, h);
    }
  }
}

TEST(F16, TiesToEvenSubnormalsAndOverflow) {
  EXPECT_EQ(f32_to_f16(1.0f + std::ldexp(1.0f, -11)), 0x3C00);      // tie -> even 1.0
  EXPECT_EQ(f32_to_f16(1.0f + 3 * std::ldexp(1.0f, -11)), 0x3C02);  // tie -> even mantissa 2
  EXPECT_EQ(f32_to_f16(std::ldexp(1.0f, -24)), 0x0001);             // smallest subnormal
  EXPECT_EQ(f32_to_f16(std::ldexp(1.0f, -25)), 0x0000);             // half of it: tie -> 0
  EXPECT_EQ(f32_to_f16(std::nextafter(std::ldexp(1.0f, -25), 1.0f)), 0x0001);
  EXPECT_EQ(f32_to_f16(3 * std::ldexp(1.0f, -25)), 0x0002);                      // 1.5 ulp: tie -> 2
  EXPECT_EQ(f32_to_f16(std::ldexp(1.0f, -14)), 0x0400);                          // smallest normal
  EXPECT_EQ(f32_to_f16(std::ldexp(1.0f, -14) - std::ldexp(1.0f, -25)), 0x0400);  // tie 0x3FF|0x400 -> even
  EXPECT_EQ(f32_to_f16(std::ldexp(1.0f, -14) - 3 * std::ldexp(1.0f, -25)), 0x03FE);  // tie 0x3FE|0x3FF
  EXPECT_EQ(f32_to_f16(1e-30f), 0x0000);
  EXPECT_EQ(f32_to_f16(-1e-30f), 0x8000);
  EXPECT_EQ(f32_to_f16(65504.0f), 0x7BFF);
  EXPECT_EQ(f32_to_f16(65519.99f), 0x7BFF);
  EXPECT_EQ(f32_to_f16(65520.0f), 0x7C00);  // tie with odd max -> inf
  EXPECT_EQ(f32_to_f16(1e10f), 0x7C00);
  EXPECT_EQ(f32_to_f16(-1e10f), 0xFC00);
  EXPECT_EQ(f32_to_f16(-INFINITY), 0xFC00);
  for (uint32_t nan : {0x7F800001u, 0xFF800001u, 0x7FC00000u, 0x7F801FFFu}) {
    uint16_t h = f32_to_f16(from_bits(nan));
    EXPECT_TRUE(std::isnan(f16_to_f32(h))) << std::hex << nan;
    EXPECT_EQ(h >> 15, nan >> 31);
  }
}

TEST(F16, NarrowingMatchesNearestEvenReference) {
  std::vector<float> xs;
  const auto& tab = f16_table();
  for (size_t i = 0; i + 1 < tab.size(); ++i) {
    float mid = static_cast<float>((tab[i].second + tab[i + 1].second) / 2);  // exact: 12 significant bits
    ASSERT_EQ(double(mid), (tab[i].second + tab[i + 1].second) / 2);
    for (float f : {std::nextafter(mid, 0.0f), mid, std::nextafter(mid, INFINITY)}) {
      xs.push_back(f);
      xs.push_back(-f);
    }
  }
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> mag(-30.0f, 17.0f);
  for (int i = 0; i < 200000; ++i) {
    float f = std::exp2(mag(rng)) * ((rng() & 1) ? 1.0f : -1.0f);
    xs.push_back(f);
    xs.push_back(from_bits(rng()));
  }
  for (float f : xs) {
    if (std::isnan(f)) continue;
    ASSERT_EQ(f32_to_f16(f), f16_round_reference(f)) << std::hex << bits(f) << " " << f;
  }
}

TEST(Encode, MatchesScalarConversions) {
  std::vector<float> v = {0.0f, -0.0f, 1.0f, -2.5f, 3.14159f, 1e-6f, 65504.0f, 1e30f, INFINITY, NAN};
  auto f32 = safetensors_encode_f32(v.data(), v.size(), DType::F32);
  auto f64 = safetensors_encode_f32(v.data(), v.size(), DType::F64);
  auto b16 = safetensors_encode_f32(v.data(), v.size(), DType::BF16);
  auto h16 = safetensors_encode_f32(v.data(), v.size(), DType::F16);
  ASSERT_EQ(f32.size(), 4 * v.size());
  ASSERT_EQ(f64.size(), 8 * v.size());
  ASSERT_EQ(b16.size(), 2 * v.size());
  ASSERT_EQ(h16.size(), 2 * v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    float a;
    double d;
    uint16_t b, h;
    std::memcpy(&a, &f32[4 * i], 4);
    std::memcpy(&d, &f64[8 * i], 8);
    std::memcpy(&b, &b16[2 * i], 2);
    std::memcpy(&h, &h16[2 * i], 2);
    EXPECT_EQ(bits(a), bits(v[i]));
    if (std::isnan(v[i]))
      EXPECT_TRUE(std::isnan(d));
    else
      EXPECT_EQ(d, double(v[i]));
    EXPECT_EQ(b, f32_to_bf16(v[i]));
    EXPECT_EQ(h, f32_to_f16(v[i]));
  }
  EXPECT_TRUE(safetensors_encode_f32(nullptr, 0, DType::BF16).empty());
  test::expect_error([&] { safetensors_encode_f32(v.data(), v.size(), DType::I32); }, {"I32"});
}

// Bulk reads (table / loop paths) agree bit for bit with the scalar conversions on every 16-bit code.
TEST(BulkRead, EveryHalfCodeThroughAFile) {
  test::TempDir tmp;
  std::vector<uint8_t> codes(2 * 65536);
  for (uint32_t h = 0; h < 65536; ++h) {
    uint16_t c = static_cast<uint16_t>(h);
    std::memcpy(&codes[2 * h], &c, 2);
  }
  std::string path = tmp / "codes.safetensors";
  safetensors_write(path, {{"h", DType::F16, {256, 256}, codes}, {"b", DType::BF16, {65536}, codes}});
  auto f = SafetensorsFile::open(path);
  std::vector<float> h = f->to_f32("h"), b = f->to_f32("b");
  std::vector<double> hd = f->to_f64("h"), bd = f->to_f64("b");
  for (uint32_t c = 0; c < 65536; ++c) {
    float hr = f16_to_f32(static_cast<uint16_t>(c)), br = bf16_to_f32(static_cast<uint16_t>(c));
    ASSERT_EQ(bits(h[c]), bits(hr)) << c;
    ASSERT_EQ(bits(b[c]), bits(br)) << c;
    if (std::isnan(hr))
      ASSERT_TRUE(std::isnan(hd[c]));
    else
      ASSERT_EQ(hd[c], double(hr));
    if (std::isnan(br))
      ASSERT_TRUE(std::isnan(bd[c]));
    else
      ASSERT_EQ(bd[c], double(br));
  }
}

TEST(DTypeTable, NamesSizesAndParse) {
  for (DType dt : {DType::F64, DType::F32, DType::BF16, DType::F16, DType::I64, DType::I32, DType::I16,
                   DType::I8, DType::U8, DType::BOOL}) {
    EXPECT_EQ(dtype_parse(dtype_name(dt), "ctx"), dt);
  }
  EXPECT_EQ(dtype_size(DType::F64), 8u);
  EXPECT_EQ(dtype_size(DType::BF16), 2u);
  EXPECT_EQ(dtype_size(DType::BOOL), 1u);
  EXPECT_EQ(dtype_size(DType::I32), 4u);
  EXPECT_TRUE(dtype_is_float(DType::BF16));
  EXPECT_FALSE(dtype_is_float(DType::I64));
  test::expect_error([] { dtype_parse("float32", "my.safetensors: tensor 'w'"); },
                     {"my.safetensors: tensor 'w'", "unknown dtype 'float32'"});
  test::expect_error([] { dtype_parse("U32", "f: tensor 'w'"); }, {"f: tensor 'w'", "'U32'", "not support"});
}

}  // namespace
}  // namespace tsft
