// bfloat16 (1 sign, 8 exponent, 7 mantissa bits: the top half of an fp32) stored as raw uint16_t bits.
//
// fp32 -> bf16 is round-to-nearest-even with the semantics of the AVX512-BF16 instruction
// VCVTNE2PS2BF16, so the vector path and the scalar reference are bit-identical on every CPU:
//   NaN -> quiet NaN with the same sign and top payload bits ((bits >> 16) | 0x0040);
//   fp32 denormal inputs -> signed zero (the instruction treats them as zero);
//   otherwise RNE on the low 16 bits (overflow rounds to +-Inf; +-Inf stays +-Inf).
// bf16 -> fp32 is exact (bits << 16).
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace tsft {

using bf16_t = uint16_t;

inline bf16_t f32_to_bf16_ref(float f) {
  uint32_t b;
  std::memcpy(&b, &f, 4);
  const uint32_t exp = b & 0x7f800000u, man = b & 0x007fffffu;
  if (exp == 0x7f800000u && man) return (bf16_t)((b >> 16) | 0x0040u);  // NaN: quiet it
  if (exp == 0) return (bf16_t)((b >> 16) & 0x8000u);                   // zero / denormal -> +-0
  return (bf16_t)((b + 0x7fffu + ((b >> 16) & 1u)) >> 16);              // RNE
}
inline float bf16_to_f32(bf16_t h) {
  uint32_t b = (uint32_t)h << 16;
  float f;
  std::memcpy(&f, &b, 4);
  return f;
}
// x rounded through bf16 (for references and tests).
inline float round_bf16(float x) {
  return bf16_to_f32(f32_to_bf16_ref(x));
}

// True when the CPU executes AVX512-BF16 (checked once at run time).
bool cpu_has_avx512_bf16();

// Array casts: AVX512-BF16 / AVX-512 when the CPU has them, else the scalar reference (identical
// results). Single-threaded; callers split large arrays themselves (see f32_to_bf16_parallel).
void f32_to_bf16(bf16_t* dst, const float* src, size_t n);
void bf16_to_f32(float* dst, const bf16_t* src, size_t n);
void f32_to_bf16_scalar(bf16_t* dst, const float* src, size_t n);
// The same cast split over the engine's thread pool (single-threaded inside a pool task).
void f32_to_bf16_parallel(bf16_t* dst, const float* src, size_t n);
// dst[r, 0:cols] = bf16(src[r*ld + 0:cols]) for r < rows: packs a strided fp32 matrix densely.
void f32_to_bf16_rows(bf16_t* dst, const float* src, long rows, long cols, long ld);

}  // namespace tsft
