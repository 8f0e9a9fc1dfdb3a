// Vectorised float exp for the elementwise kernels (SwiGLU, softmax, cross-entropy): kVecLanes lanes
// at a time in GCC vector extensions (8 with AVX, 4 otherwise; plain
// loops with a clamp do not auto-vectorise under the default -ftrapping-math), where libm's expf is
// one call per element.
//
// exp(x) = 2^k * exp(r), k = round(x / ln2), r = x - k ln2 (Cody-Waite: ln2 split in a high part with
// trailing zero bits, so k * ln2_hi is exact for |k| <= 128), |r| <= ln2/2 = 0.347. exp(r) is the
// degree-7 Taylor polynomial (truncation r^8/8! < 5.3e-9 relative), evaluated by Horner with fused
// multiply-adds where the target has them; 2^k is built in the exponent bits.
// Accuracy: max relative error vs exp in double 7.7e-8 (with FMA contraction, -march=native) / 9.9e-8
// (without) on [-87.33, 88.37], i.e. within 1 ulp; tests/kernels/test_vmath.cpp sweeps the range
// densely against std::exp in double and asserts <= 1.5e-7. Out of range: x > 88.37 (= 127.5 ln2) gives +inf
// (true exp overflows float from 88.72, so 2.4e38 .. 3.4e38 are returned as inf), x < -87.33 (= ln 2^-126)
// gives 0 (no denormal results; the true value is below 1.2e-38). NaN gives NaN.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>

namespace tsft {

// 8 lanes (AVX) where the target has 256-bit vectors, else 4 (SSE2 / NEON); generic vectors wider than
// the target are split by GCC into slow scalar code, and change the ABI (-Wpsabi).
#if defined(__AVX__)
constexpr int kVecLanes = 8;
#else
constexpr int kVecLanes = 4;
#endif
using fvec = float __attribute__((vector_size(4 * kVecLanes)));
using ivec = int32_t __attribute__((vector_size(4 * kVecLanes)));

inline fvec fvec_load(const float* p) {
  fvec v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void fvec_store(float* p, fvec v) {
  std::memcpy(p, &v, sizeof v);
}
inline fvec fvec_splat(float x) {
  return fvec{} + x;
}
// First n < kVecLanes lanes from p, the others `fill`; and the store of the first n lanes.
inline fvec fvec_load_part(const float* p, long n, float fill) {
  fvec v = fvec_splat(fill);
  std::memcpy(&v, p, (size_t)n * sizeof(float));
  return v;
}
inline void fvec_store_part(float* p, fvec v, long n) {
  std::memcpy(p, &v, (size_t)n * sizeof(float));
}
inline double fvec_sum_double(fvec v) {  // lanes added in a fixed order
  double s = 0;
  for (int i = 0; i < kVecLanes; i++) s += (double)v[i];
  return s;
}
inline float fvec_max(fvec v) {
  float m = v[0];
  for (int i = 1; i < kVecLanes; i++) m = v[i] > m ? v[i] : m;
  return m;
}

inline fvec exp_fvec(fvec x) {
  constexpr float kLog2e = 1.44269504088896341f;
  constexpr float kLn2Hi = 0.693359375f;     // 355/512: k * kLn2Hi is exact for |k| < 2^15
  constexpr float kLn2Lo = -2.12194440e-4f;  // ln2 - kLn2Hi
  constexpr float kHi = 88.3762626647949f, kLo = -87.3365447505531f;
  constexpr float kShift = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer (nearest even)
  const ivec over = x > kHi, under = x < kLo;
  fvec xc = over ? fvec_splat(kHi) : x;
  xc = under ? fvec_splat(kLo) : xc;
  fvec kf = xc * kLog2e + kShift;
  kf -= kShift;
  const fvec r = (xc - kf * kLn2Hi) - kf * kLn2Lo;
  fvec p = fvec_splat(1.f / 5040.f);
  p = p * r + 1.f / 720.f;
  p = p * r + 1.f / 120.f;
  p = p * r + 1.f / 24.f;
  p = p * r + 1.f / 6.f;
  p = p * r + 0.5f;
  p = p * r + 1.f;
  p = p * r + 1.f;
  // k in [-126, 127]. A NaN lane's kf is NaN, and converting NaN to int is undefined behaviour (clang's
  // UBSan flags it; clang -O1 folded exp(NaN) to 0 through it): such lanes convert 0 instead.
  const ivec k = __builtin_convertvector(kf == kf ? kf : fvec{}, ivec);
  const fvec scale = (fvec)((k + 127) << 23);
  fvec y = p * scale;
  y = over ? fvec_splat(INFINITY) : y;
  y = under ? fvec_splat(0.f) : y;
  return y;  // NaN lanes: both comparisons false, and NaN propagates through the polynomial
}

// Scalar exp with exactly the lanes' arithmetic (for single values and tests).
inline float exp_vec(float x) {
  return exp_fvec(fvec_splat(x))[0];
}

}  // namespace tsft
