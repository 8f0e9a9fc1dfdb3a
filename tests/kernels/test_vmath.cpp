// The vectorised float paths (vmath.hpp exp; SwiGLU, softmax and cross-entropy built on it; the
// residual add fused into RMSNorm) against scalar references: libm in double, and the unfused kernels.
#include <cmath>
#include <limits>

#include "core/error.hpp"
#include "kernel_test_util.hpp"
#include "kernels/cpu/vmath.hpp"

namespace tsft::kernels_testing {
namespace {

// Dense sweep of the whole finite range: relative error vs exp in double within 1.5e-7 (< 1.3 ulp;
// measured 7.7e-8 with FMA, 9.9e-8 without). The vector and its scalar wrapper agree lane by lane.
TEST(ExpVec, AccuracyOverTheFiniteRange) {
  double worst = 0;
  for (double x = -87.33; x <= 88.37; x += 3e-4) {
    const float xf = (float)x;
    const double ref = std::exp((double)xf);
    worst = std::max(worst, std::fabs(exp_vec(xf) - ref) / ref);
  }
  EXPECT_LE(worst, 1.5e-7);
  EXPECT_GT(worst, 0.0);  // the sweep did compare something
  // Exact points and lanes: exp(0) = 1, and each lane of a vector is computed independently.
  EXPECT_EQ(exp_vec(0.f), 1.f);
  float xs[kVecLanes], ys[kVecLanes];
  for (int i = 0; i < kVecLanes; i++) xs[i] = -3.f + 1.7f * i;
  fvec_store(ys, exp_fvec(fvec_load(xs)));
  for (int i = 0; i < kVecLanes; i++) EXPECT_EQ(ys[i], exp_vec(xs[i])) << i;
}

TEST(ExpVec, OutOfRangeAndSpecialValues) {
  const float inf = std::numeric_limits<float>::infinity();
  EXPECT_EQ(exp_vec(88.5f), inf);  // above 127.5 ln2: overflow to inf
  EXPECT_EQ(exp_vec(1e30f), inf);
  EXPECT_EQ(exp_vec(inf), inf);
  EXPECT_EQ(exp_vec(-87.5f), 0.f);  // below ln 2^-126: flushed to 0
  EXPECT_EQ(exp_vec(-1e30f), 0.f);
  EXPECT_EQ(exp_vec(-inf), 0.f);
  EXPECT_TRUE(std::isnan(exp_vec(std::numeric_limits<float>::quiet_NaN())));
  // Just inside the range: finite, normal and accurate.
  const float hi = 88.37f, lo = -87.33f;
  EXPECT_NEAR(exp_vec(hi) / std::exp((double)hi), 1.0, 1.5e-7);
  EXPECT_NEAR(exp_vec(lo) / std::exp((double)lo), 1.0, 1.5e-7);
  EXPECT_TRUE(std::isnormal(exp_vec(lo)));
}

// SwiGLU float (vectorised, padded tail) vs the same formula on libm expf per element. Gates include
// +-100 (s saturates to 0 / 1 without NaN) and n is not a multiple of the lane count.
TEST(VecKernels, SwigluMatchesScalarLibm) {
  ScopedThreads th(2);
  const size_t n = 3 * 4096 + 5;  // large enough to be split across threads
  auto gd = randn(n, 9100, 5.0), ud = randn(n, 9101), dyd = randn(n, 9102);
  gd[0] = 100, gd[1] = -100, gd[2] = 0, gd[n - 1] = -95;
  auto g = cast<float>(gd), up = cast<float>(ud), dy = cast<float>(dyd);
  std::vector<float> out(n), dg(n, 0.5f), du(n, -0.25f);
  swiglu_forward<float>(out.data(), g.data(), up.data(), n);
  swiglu_backward<float>(dg.data(), du.data(), dy.data(), g.data(), up.data(), n);
  const double u = std::numeric_limits<float>::epsilon() / 2;
  for (size_t i = 0; i < n; i++) {
    const float s = 1.f / (1.f + std::exp(-g[i]));
    const float ref_out = g[i] * s * up[i];
    const float ref_dg = 0.5f + dy[i] * up[i] * s * (1.f + g[i] * (1.f - s));
    const float ref_du = -0.25f + dy[i] * g[i] * s;
    ASSERT_TRUE(std::isfinite(out[i]) && std::isfinite(dg[i]) && std::isfinite(du[i])) << i;
    // s differs by <= ~3u relative between the two exps; products add a few u more.
    ASSERT_LE(std::fabs(out[i] - ref_out), 8 * u * std::fabs(ref_out) + 1e-30) << i;
    ASSERT_LE(std::fabs(dg[i] - ref_dg), 16 * u * (0.5 + std::fabs(dy[i] * up[i]) * (1 + std::fabs(g[i]))))
        << i;
    ASSERT_LE(std::fabs(du[i] - ref_du), 8 * u * (0.25 + std::fabs(dy[i] * g[i]))) << i;
  }
}

// Cross-entropy float (vectorised exp, V not a multiple of the lane count, large logits) vs the double
// reference: loss and gradient within a few float ulps of the row's scale.
TEST(VecKernels, CrossEntropyFloatMatchesDouble) {
  ScopedThreads th(2);
  const int N = 37, V = 301;
  auto zd = randn((size_t)N * V, 9200, 3.0);
  for (int j = 0; j < V; j++) zd[(size_t)5 * V + j] += 1000.0;  // shifted row: max subtraction
  zd[(size_t)7 * V + 3] = 60;                                   // one dominant logit
  auto y = rand_ids(N, V, 9201);
  y[2] = -100;
  auto zf = cast<float>(zd);
  std::vector<double> dd((size_t)N * V);
  std::vector<float> df((size_t)N * V);
  int64_t nd = 0, nf = 0;
  const double ld = crossentropy_forward_backward<double>(dd.data(), &nd, zd.data(), y.data(), N, V, 0.5);
  // The double reference on the float-rounded logits isolates the kernel's own error.
  std::vector<double> zr(zf.begin(), zf.end()), dr((size_t)N * V);
  const double lr = crossentropy_forward_backward<double>(dr.data(), nullptr, zr.data(), y.data(), N, V, 0.5);
  const double lf = crossentropy_forward_backward<float>(df.data(), &nf, zf.data(), y.data(), N, V, 0.5);
  EXPECT_EQ(nd, N - 1);
  EXPECT_EQ(nf, N - 1);
  EXPECT_NEAR(lf, lr, 1e-5 * std::fabs(lr));
  EXPECT_NEAR(ld, lr, 1e-3 * std::fabs(lr));  // float rounding of logits ~1000 moves the loss a little
  for (size_t i = 0; i < df.size(); i++) ASSERT_NEAR(df[i], dr[i], 2e-7) << i;
  for (int j = 0; j < V; j++) EXPECT_EQ(df[(size_t)2 * V + j], 0.f);  // ignored row
}

// Softmax inside attention: float (vectorised rows, packed documents masked lane-wise) vs double.
TEST(VecKernels, AttentionProbsFloatMatchDouble) {
  ScopedThreads th(2);
  const int B = 2, T = 70, H = 2, KV = 1, D = 8;  // 70: full vectors and a tail in every long row
  std::vector<int32_t> doc((size_t)B * T);
  for (int t = 0; t < T; t++) {
    doc[t] = t < 13 ? 0 : (t < 40 ? 1 : 2);
    doc[T + t] = 7;
  }
  auto q = randn((size_t)B * T * H * D, 9300, 2.0), k = randn((size_t)B * T * KV * D, 9301, 2.0),
       v = randn((size_t)B * T * KV * D, 9302);
  std::vector<double> od((size_t)B * T * H * D), pd((size_t)B * H * T * T);
  attention_forward<double>(od.data(), pd.data(), q.data(), k.data(), v.data(), doc.data(), B, T, H, KV, D);
  auto qf = cast<float>(q), kf = cast<float>(k), vf = cast<float>(v);
  std::vector<float> of(od.size()), pf(pd.size(), 123.f);  // garbage: masked entries must be written 0
  attention_forward<float>(of.data(), pf.data(), qf.data(), kf.data(), vf.data(), doc.data(), B, T, H, KV, D);
  // Bound per row (as FloatVsDouble.Attention): float scores carry dS <= (D+3) u scale sum_i |q_i k_i|
  // (plus u |S| from the max shift), log p moves by <= 2 max dS, exp and normalisation add <= 8u.
  const double u = std::numeric_limits<float>::epsilon() / 2, scale = 1 / std::sqrt((double)D);
  for (int b = 0; b < B; b++)
    for (int h = 0; h < H; h++)
      for (int t = 0; t < T; t++) {
        double ds = 0;
        for (int s2 = 0; s2 <= t; s2++) {
          double a = 0, sc = 0;
          for (int i = 0; i < D; i++) {
            const double qi = q[((size_t)b * T + t) * H * D + h * D + i],
                         ki = k[((size_t)b * T + s2) * D + i];
            a += std::fabs(qi * ki);
            sc += qi * ki;
          }
          ds = std::max(ds, (D + 3) * u * scale * a + u * std::fabs(scale * sc) * 2);
        }
        for (int s2 = 0; s2 < T; s2++) {
          const size_t i = (((size_t)b * H + h) * T + t) * T + s2;
          if (pd[i] == 0) {
            ASSERT_EQ(pf[i], 0.f) << i;
          }
          ASSERT_LE(std::fabs(pf[i] - pd[i]), (2 * ds + 8 * u) * pd[i] + 1e-30) << b << " " << h << " " << t;
        }
      }
  for (size_t i = 0; i < od.size(); i++) ASSERT_NEAR(of[i], od[i], 1e-5) << i;
}

// residual_rmsnorm_forward = add, then rmsnorm_forward (bit for bit), and its gradient through out
// (rmsnorm_backward on the sum, the sum's gradient going to both inputs) by finite differences.
TEST(VecKernels, ResidualRmsnormEqualsAddThenNorm) {
  ScopedThreads th(2);
  const int N = 300, C = 40;
  auto a = cast<float>(randn((size_t)N * C, 9400)), b = cast<float>(randn((size_t)N * C, 9401));
  auto w = cast<float>(randn(C, 9402, 0.3));
  std::vector<float> sum((size_t)N * C), out((size_t)N * C), rstd(N), sum2((size_t)N * C),
      out2((size_t)N * C), rstd2(N);
  residual_rmsnorm_forward<float>(sum.data(), out.data(), rstd.data(), a.data(), b.data(), w.data(), N, C,
                                  1e-5);
  for (size_t i = 0; i < sum2.size(); i++) sum2[i] = a[i] + b[i];
  rmsnorm_forward<float>(out2.data(), rstd2.data(), sum2.data(), w.data(), N, C, 1e-5);
  EXPECT_TRUE(bit_equal(sum, sum2));
  EXPECT_TRUE(bit_equal(out, out2));
  EXPECT_TRUE(bit_equal(rstd, rstd2));
}

TEST(GradCheck, ResidualRmsnorm) {
  ScopedThreads th(2);
  const int N = 7, C = 12;
  auto a = randn((size_t)N * C, 9500), b = randn((size_t)N * C, 9501), w = randn(C, 9502, 0.3);
  for (auto& x : w) x += 1.0;
  std::vector<double> sum((size_t)N * C), rstd(N);
  auto fwd = [&] {
    std::vector<double> out((size_t)N * C);
    residual_rmsnorm_forward<double>(sum.data(), out.data(), rstd.data(), a.data(), b.data(), w.data(), N, C,
                                     1e-5);
    return out;
  };
  auto bwd = [&](const std::vector<double>& dout, std::vector<std::vector<double>>& g) {
    std::vector<double> dsum((size_t)N * C, 0.0);
    rmsnorm_backward<double>(dsum.data(), g[2].data(), dout.data(), sum.data(), rstd.data(), w.data(), N, C);
    for (size_t i = 0; i < dsum.size(); i++) {
      g[0][i] += dsum[i];
      g[1][i] += dsum[i];
    }
  };
  EXPECT_GRAD_OK(grad_check({{"a", &a}, {"b", &b}, {"weight", &w}}, fwd, bwd, 9503));
}

}  // namespace
}  // namespace tsft::kernels_testing

namespace tsft::kernels_testing {
namespace {

// The fused optimizer pass: several tensors (sizes around the chunk grain, one empty, different weight
// decays) in one adamw_update_segments call equal adamw_update per tensor bit for bit, over 3 steps.
TEST(AdamW, SegmentsEqualPerTensorUpdates) {
  ScopedThreads th(2);
  const std::vector<size_t> sizes = {5000, 1, 0, 70000, 4096, 333};
  const std::vector<double> wds = {0.1, 0.0, 0.1, 0.0, 0.05, 0.1};
  std::vector<std::vector<float>> p1, g, m1, v1;
  for (size_t s = 0; s < sizes.size(); s++) {
    p1.push_back(cast<float>(randn(sizes[s], 9600 + s, 0.02)));
    g.push_back(cast<float>(randn(sizes[s], 9700 + s)));
    m1.emplace_back(sizes[s], 0.f);
    v1.emplace_back(sizes[s], 0.f);
  }
  auto p2 = p1, m2 = m1, v2 = v1;
  for (int64_t t = 1; t <= 3; t++) {
    std::vector<AdamwSegment> segs;
    for (size_t s = 0; s < sizes.size(); s++) {
      adamw_update(p1[s].data(), g[s].data(), m1[s].data(), v1[s].data(), sizes[s], 1e-3, 0.9, 0.999, 1e-8,
                   wds[s], t);
      segs.push_back({p2[s].data(), g[s].data(), m2[s].data(), v2[s].data(), sizes[s], wds[s]});
    }
    adamw_update_segments(segs.data(), (int)segs.size(), 1e-3, 0.9, 0.999, 1e-8, t);
  }
  for (size_t s = 0; s < sizes.size(); s++) {
    EXPECT_TRUE(bit_equal(p1[s], p2[s])) << s;
    EXPECT_TRUE(bit_equal(m1[s], m2[s])) << s;
    EXPECT_TRUE(bit_equal(v1[s], v2[s])) << s;
  }
  EXPECT_THROW(adamw_update_segments(nullptr, 0, 1e-3, 0.9, 0.999, 1e-8, 0), tsft::Error);
}

// Chunked sum of squares (clip norm) vs a double loop; repeatable bit for bit.
TEST(Clip, SumSquaresAndScale) {
  ScopedThreads th(2);
  auto gd = randn(300001, 9800);
  auto g = cast<float>(gd);
  double ref = 0;
  for (float x : g) ref += (double)x * x;
  const double s = sum_squares(g.data(), g.size());
  EXPECT_NEAR(s, ref, 1e-12 * ref);
  EXPECT_EQ(s, sum_squares(g.data(), g.size()));
  auto h = g;
  scale_inplace(h.data(), h.size(), 0.25f);
  for (size_t i = 0; i < g.size(); i++) ASSERT_EQ(h[i], g[i] * 0.25f) << i;
}

}  // namespace
}  // namespace tsft::kernels_testing
