// fp32 <-> bf16 casts: AVX512-BF16 vector path with a run-time CPU check, scalar reference otherwise.
#include "kernels/cpu/bf16.hpp"

#include <immintrin.h>

#include "kernels/cpu/blas.hpp"

namespace tsft {

#define TSFT_BF16_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))

bool cpu_has_avx512_bf16() {
  static const bool has = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                          __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bf16");
  return has;
}
void f32_to_bf16_scalar(bf16_t* dst, const float* src, size_t n) {
  for (size_t i = 0; i < n; i++) dst[i] = f32_to_bf16_ref(src[i]);
}

// 32 floats per step (two cvtne2ps -> one 512-bit store); the tail converts 16 at a time masked.
TSFT_BF16_TARGET static void f32_to_bf16_avx512bf16(bf16_t* dst, const float* src, size_t n) {
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    __m512 lo = _mm512_loadu_ps(src + i), hi = _mm512_loadu_ps(src + i + 16);
    _mm512_storeu_si512(dst + i, (__m512i)_mm512_cvtne2ps_pbh(hi, lo));
  }
  for (; i < n; i += 16) {
    const size_t m = n - i < 16 ? n - i : 16;
    const __mmask16 k = (__mmask16)((1u << m) - 1u);
    __m512 x = _mm512_maskz_loadu_ps(k, src + i);
    _mm256_mask_storeu_epi16(dst + i, k, (__m256i)_mm512_cvtneps_pbh(x));
  }
}

void f32_to_bf16(bf16_t* dst, const float* src, size_t n) {
  if (cpu_has_avx512_bf16())
    f32_to_bf16_avx512bf16(dst, src, n);
  else
    f32_to_bf16_scalar(dst, src, n);
}

// Exact widening (a shift); the compiler vectorises the loop for the target.
void bf16_to_f32(float* dst, const bf16_t* src, size_t n) {
  for (size_t i = 0; i < n; i++) dst[i] = bf16_to_f32(src[i]);
}

void f32_to_bf16_parallel(bf16_t* dst, const float* src, size_t n) {
  // A cast is ~1 op per element but memory-bound; split only large arrays (grain 4096 elements).
  parallel_blocks((long)n, 4096, [&](long b0, long b1, int) { f32_to_bf16(dst + b0, src + b0, b1 - b0); },
                  8.0);
}

void f32_to_bf16_rows(bf16_t* dst, const float* src, long rows, long cols, long ld) {
  if (ld == cols) return f32_to_bf16_parallel(dst, src, (size_t)(rows * cols));
  parallel_blocks(
      rows, 1,
      [&](long r0, long r1, int) {
        for (long r = r0; r < r1; r++) f32_to_bf16(dst + r * cols, src + r * ld, (size_t)cols);
      },
      8.0 * cols);
}

}  // namespace tsft
