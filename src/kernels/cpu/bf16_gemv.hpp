// Decode-sized linear layers in bf16: out[N,O] = bf16(x)[N,I] @ Wb[O,I]^T + bias, fp32 accumulation,
// for few rows (N <= 16: generation, short prompts), where a GEMM library spends its time packing W.
// Each bf16 weight row is read once (half the bytes of fp32: decoding is bandwidth-bound) and dotted
// with up to 4 rows at a time with AVX512-BF16 vdpbf16ps (exact bf16 products, fp32 adds); without
// AVX512-BF16 the same sums are computed in scalar fp32 (results agree within the bf16 bound, not bitwise).
#pragma once
#include "kernels/cpu/bf16.hpp"

namespace tsft {

// xb[N,I] bf16 inputs, Wb[O,I] bf16 weights, bias[O] fp32 or null; out[N,O] overwritten. Splits the
// output features over the engine's pool.
void bf16_few_rows_forward(float* out, const bf16_t* xb, const bf16_t* Wb, const float* bias, int N, int I,
                           int O);
// The scalar path (the fallback without AVX512-BF16; also tested on CPUs that have it).
void bf16_few_rows_forward_scalar(float* out, const bf16_t* xb, const bf16_t* Wb, const float* bias, int N,
                                  int I, int O);

}  // namespace tsft
