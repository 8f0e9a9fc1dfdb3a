// Decoding attention over a KV cache against the training kernel (attention_forward in double, one
// document per row): prefill of a whole prompt, then one decoded token per sequence, with the batch rows
// mapped to cache slots out of order. Head sizes 16, 32 and 80 and prompts of 6 and 45 tokens cover the
// vectorised variant (AVX-512 CPUs: 16-float vectors, 128-float output chunks) and the scalar one.
#include "kernel_test_util.hpp"

namespace tsft::kernels_testing {
namespace {

constexpr int H = 4, KV = 2, G = H / KV, S = 3;

// Float error bound of one attention output (see FloatVsDouble.Attention for the derivation), taken with
// the maxima over the row: |dO| <= (2 dS + (T + 6) u) max|v|, dS = (D + 3) u scale max sum|q||k| + u
// range(S).
double attention_bound(const std::vector<double>& q, const std::vector<double>& k,
                       const std::vector<double>& v, int T, int D) {
  const double u = kU32, scale = 1 / std::sqrt((double)D);
  double mag = 0, smax = 0;
  for (int t = 0; t < T; t++)
    for (int h = 0; h < H; h++)
      for (int s = 0; s < T; s++) {
        double m = 0, d = 0;
        for (int i = 0; i < D; i++) {
          double a = q[((size_t)t * H + h) * D + i], b = k[((size_t)s * KV + h / G) * D + i];
          m += std::fabs(a * b), d += a * b;
        }
        mag = std::max(mag, m), smax = std::max(smax, std::fabs(scale * d));
      }
  double ds = (D + 3) * u * scale * mag + 2 * u * smax;
  return (2 * ds + (T + 6) * u) * max_abs(v);
}

void check_prefill_then_decode(int D, int T0) {  // T0: prompt length; then one more token per row
  SCOPED_TRACE("D " + std::to_string(D) + " prompt " + std::to_string(T0));
  const int B = 2, P = T0 + 10;
  const std::vector<int32_t> slot = {2, 0};  // row b -> cache slot
  std::vector<float> kc((size_t)S * P * KV * D, NAN), vc(kc.size(), NAN);  // unused slots stay NaN
  for (int b = 0; b < B; b++) {
    // Full sequence of T0 + 1 tokens for row b (double, float-representable).
    const int T = T0 + 1;
    auto q = randn((size_t)T * H * D, 5000 + b), k = randn((size_t)T * KV * D, 5010 + b),
         v = randn((size_t)T * KV * D, 5020 + b);
    std::vector<double> ref((size_t)T * H * D), probs((size_t)H * T * T);
    attention_forward<double>(ref.data(), probs.data(), q.data(), k.data(), v.data(), nullptr, 1, T, H, KV,
                              D);
    const double tol = attention_bound(q, k, v, T, D);
    auto qf = cast<float>(q), kf = cast<float>(k), vf = cast<float>(v);
    // Prefill: tokens 0..T0-1 at positions 0..T0-1 of this row's slot.
    std::vector<int32_t> pos(T0), sl = {slot[b]};
    for (int t = 0; t < T0; t++) pos[t] = t;
    kv_cache_store(kc.data(), vc.data(), kf.data(), vf.data(), sl.data(), pos.data(), 1, T0, KV * D, P);
    std::vector<float> out((size_t)T0 * H * D);
    attention_cached_forward(out.data(), qf.data(), kc.data(), vc.data(), sl.data(), pos.data(), 1, T0, H, KV,
                             D, P);
    for (size_t i = 0; i < out.size(); i++)
      ASSERT_NEAR(out[i], ref[i], tol) << "prefill row " << b << " elem " << i;
  }
  // Decode: both rows at once (B = 2), token T0 at position T0 of its slot.
  std::vector<float> qd((size_t)B * H * D), kd((size_t)B * KV * D), vd(kd.size());
  std::vector<std::vector<double>> ref(B);
  std::vector<double> tol(B);
  for (int b = 0; b < B; b++) {
    const int T = T0 + 1;
    auto q = randn((size_t)T * H * D, 5000 + b), k = randn((size_t)T * KV * D, 5010 + b),
         v = randn((size_t)T * KV * D, 5020 + b);
    std::vector<double> out((size_t)T * H * D), probs((size_t)H * T * T);
    attention_forward<double>(out.data(), probs.data(), q.data(), k.data(), v.data(), nullptr, 1, T, H, KV,
                              D);
    ref[b].assign(out.begin() + (size_t)T0 * H * D, out.end());
    tol[b] = attention_bound(q, k, v, T, D);
    std::copy_n(q.begin() + (size_t)T0 * H * D, H * D, qd.begin() + (size_t)b * H * D);
    std::copy_n(k.begin() + (size_t)T0 * KV * D, KV * D, kd.begin() + (size_t)b * KV * D);
    std::copy_n(v.begin() + (size_t)T0 * KV * D, KV * D, vd.begin() + (size_t)b * KV * D);
  }
  std::vector<int32_t> pos = {T0, T0};
  kv_cache_store(kc.data(), vc.data(), kd.data(), vd.data(), slot.data(), pos.data(), B, 1, KV * D, P);
  std::vector<float> out((size_t)B * H * D);
  attention_cached_forward(out.data(), qd.data(), kc.data(), vc.data(), slot.data(), pos.data(), B, 1, H, KV,
                           D, P);
  for (int b = 0; b < B; b++)
    for (int i = 0; i < H * D; i++)
      ASSERT_NEAR(out[(size_t)b * H * D + i], ref[b][i], tol[b]) << "decode row " << b << " elem " << i;
}

TEST(AttentionCached, PrefillThenDecodeMatchesTrainingKernel) {
  ScopedThreads th(2);
  for (int D : {16, 32, 80})
    for (int T0 : {6, 45}) check_prefill_then_decode(D, T0);
}

}  // namespace
}  // namespace tsft::kernels_testing
