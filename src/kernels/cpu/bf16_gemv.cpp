// See bf16_gemv.hpp.
#include "kernels/cpu/bf16_gemv.hpp"

#include <immintrin.h>

#include "kernels/cpu/blas.hpp"

namespace tsft {

namespace {

#define TSFT_BF16_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))

// out[n*O + o] for n in [n0, n0 + R), R <= 4 rows: one pass over the weight row w, 32 bf16 per step,
// the tail masked (masked-off lanes load 0 and add nothing).
template <int R>
TSFT_BF16_TARGET void dot_rows(float* out, const bf16_t* xb, const bf16_t* w, float b, int n0, int I, int O,
                               long o) {
  __m512 acc[R];
  for (int r = 0; r < R; r++) acc[r] = _mm512_setzero_ps();
  for (int i = 0; i < I; i += 32) {
    const int m = I - i < 32 ? I - i : 32;
    const __mmask32 k = m == 32 ? ~0u : (__mmask32)((1u << m) - 1u);
    const __m512bh wv = (__m512bh)_mm512_maskz_loadu_epi16(k, w + i);
    for (int r = 0; r < R; r++) {
      const __m512bh xv = (__m512bh)_mm512_maskz_loadu_epi16(k, xb + (size_t)(n0 + r) * I + i);
      acc[r] = _mm512_dpbf16_ps(acc[r], xv, wv);
    }
  }
  for (int r = 0; r < R; r++) out[(size_t)(n0 + r) * O + o] = b + _mm512_reduce_add_ps(acc[r]);
}

TSFT_BF16_TARGET void block_avx512(float* out, const bf16_t* xb, const bf16_t* Wb, const float* bias, int N,
                                   int I, int O, long o0, long o1) {
  for (long o = o0; o < o1; o++) {
    const bf16_t* w = Wb + (size_t)o * I;
    const float b = bias ? bias[o] : 0.f;
    int n = 0;
    for (; n + 4 <= N; n += 4) dot_rows<4>(out, xb, w, b, n, I, O, o);
    for (; n < N; n++) dot_rows<1>(out, xb, w, b, n, I, O, o);
  }
}

void block_scalar(float* out, const bf16_t* xb, const bf16_t* Wb, const float* bias, int N, int I, int O,
                  long o0, long o1) {
  for (long o = o0; o < o1; o++)
    for (int n = 0; n < N; n++) {
      float a = 0;
      for (int i = 0; i < I; i++)
        a += bf16_to_f32(xb[(size_t)n * I + i]) * bf16_to_f32(Wb[(size_t)o * I + i]);
      out[(size_t)n * O + o] = (bias ? bias[o] : 0.f) + a;
    }
}

}  // namespace

void bf16_few_rows_forward(float* out, const bf16_t* xb, const bf16_t* Wb, const float* bias, int N, int I,
                           int O) {
  const bool vec = cpu_has_avx512_bf16();
  parallel_blocks(
      O, 16,
      [&](long o0, long o1, int) {
        if (vec)
          block_avx512(out, xb, Wb, bias, N, I, O, o0, o1);
        else
          block_scalar(out, xb, Wb, bias, N, I, O, o0, o1);
      },
      2.0 * I * N);
}

void bf16_few_rows_forward_scalar(float* out, const bf16_t* xb, const bf16_t* Wb, const float* bias, int N,
                                  int I, int O) {
  block_scalar(out, xb, Wb, bias, N, I, O, 0, O);
}

}  // namespace tsft
