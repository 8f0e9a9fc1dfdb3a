// Double-precision GEMM reference and the error bounds of each GemmKind (shared by the GemmOps tests).
//
// Bounds, for one output element c = alpha sum_k a_k b_k + beta c0 (+ bias), with u = 2^-24 (fp32 unit
// roundoff) and mag = |alpha| sum_k |a_k||b_k| + |beta c0| + |bias|:
//  - fp32 (reference OpenBLAS and oneDNN): each product and each of the K - 1 additions, the alpha
//    scaling and the beta/bias addition round once (FMA only removes roundings), so for ANY summation
//    order |c - c_exact| <= gamma_{K+2} mag with gamma_n = n u / (1 - n u) (Higham, Thm 3.1 / 4.3).
//  - bf16 inputs: a' = bf16(a) = a (1 + d), |d| <= 2^-8 (8-bit significand, RNE), so
//    a'b' = ab (1 + e) with |e| <= 2^-7 + 2^-16; the product of two bf16 values has <= 16 significant
//    bits and is exact in fp32, and the accumulation is fp32 (vdpbf16ps rounds each add to fp32), so
//      |c - c_exact| <= (2^-7 + 2^-16) mag + gamma_{K+2} (1 + 2^-7 + 2^-16) mag.
//    Tighter and specific to bf16: against the exact sum of the ROUNDED inputs, c'_exact,
//      |c - c'_exact| <= gamma_{K+2} mag'   (mag' the same sum over rounded inputs).
//    An fp32 result generally fails this tight bound (its inputs were not rounded), so it checks that
//    the inputs really are bf16. (vdpbf16ps flushes denormals; inputs here are O(1), none are denormal.)
#pragma once
#include <cmath>
#include <vector>

#include "kernels/cpu/bf16.hpp"

namespace tsft::kernels_testing {

constexpr double kU = 0x1.0p-24;
inline double gamma_n(double n) {
  return n * kU / (1 - n * kU);
}
inline double bf16_product_rel() {
  return 0x1.0p-7 + 0x1.0p-16;
}

struct GemmRef {
  std::vector<double> val, mag;  // exact value and the magnitude sum `mag` of each element of C
};

// C[M,N] = alpha op(A) op(B) + beta C0 + bias (bias[N] per column, may be empty), inputs optionally
// rounded through bf16 first. Leading dims as in cblas row-major; C0 has leading dim ldc.
inline GemmRef gemm_ref(bool ta, bool tb, int M, int N, int K, double alpha, const std::vector<float>& A,
                        int lda, const std::vector<float>& B, int ldb, double beta,
                        const std::vector<float>& C0, int ldc, const std::vector<float>& bias,
                        bool round_inputs) {
  auto rd = [&](float x) { return round_inputs ? (double)round_bf16(x) : (double)x; };
  GemmRef r{std::vector<double>((size_t)M * N), std::vector<double>((size_t)M * N)};
  for (int m = 0; m < M; m++)
    for (int n = 0; n < N; n++) {
      double s = 0, g = 0;
      for (int k = 0; k < K; k++) {
        double a = rd(ta ? A[(size_t)k * lda + m] : A[(size_t)m * lda + k]);
        double b = rd(tb ? B[(size_t)n * ldb + k] : B[(size_t)k * ldb + n]);
        s += a * b;
        g += std::fabs(a * b);
      }
      double v = alpha * s, mg = std::fabs(alpha) * g;
      if (beta != 0) v += beta * C0[(size_t)m * ldc + n], mg += std::fabs(beta * C0[(size_t)m * ldc + n]);
      if (!bias.empty()) v += bias[n], mg += std::fabs(bias[n]);
      r.val[(size_t)m * N + n] = v;
      r.mag[(size_t)m * N + n] = mg;
    }
  return r;
}

// Largest |got - ref| / bound over the elements of C (<= 1 passes); `got` has leading dim ldc.
inline double worst_ratio(const std::vector<float>& got, int ldc, const GemmRef& ref, int M, int N,
                          double rel_mag, int* worst_at = nullptr) {
  double worst = 0;
  for (int m = 0; m < M; m++)
    for (int n = 0; n < N; n++) {
      size_t i = (size_t)m * N + n;
      double err = std::fabs((double)got[(size_t)m * ldc + n] - ref.val[i]);
      double bound = rel_mag * ref.mag[i] + 1e-30;  // 1e-30: an exact 0 == 0 passes
      double q = std::isnan(err) ? INFINITY : err / bound;
      if (q > worst) {
        worst = q;
        if (worst_at) *worst_at = (int)i;
      }
    }
  return worst;
}

}  // namespace tsft::kernels_testing
