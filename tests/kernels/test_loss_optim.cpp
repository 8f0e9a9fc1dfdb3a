// Cross-entropy (ignore index, in-place alias), the fused LM head + cross-entropy against the composed
// matmul + cross-entropy, and AdamW against a double implementation of torch.optim.AdamW.
#include "core/error.hpp"
#include "kernel_test_util.hpp"

namespace tsft::kernels_testing {
namespace {

// ---- cross-entropy ----
// Reference: loss_n = log sum_j exp(z_nj) - z_n,y (log-sum-exp shifted by the row max), summed over
// rows with y != -100; dz = (softmax - onehot) * gs on valid rows, 0 on ignored ones.
double ce_reference(const std::vector<double>& z, const std::vector<int32_t>& y, int N, int V, double gs,
                    std::vector<double>* dz, int64_t* n_valid) {
  double loss = 0;
  *n_valid = 0;
  dz->assign((size_t)N * V, 0.0);
  for (int n = 0; n < N; n++) {
    if (y[n] == -100) continue;
    const double* r = &z[(size_t)n * V];
    double mx = *std::max_element(r, r + V), s = 0;
    for (int j = 0; j < V; j++) s += std::exp(r[j] - mx);
    double lse = mx + std::log(s);
    loss += lse - r[y[n]];
    ++*n_valid;
    for (int j = 0; j < V; j++) (*dz)[(size_t)n * V + j] = (std::exp(r[j] - lse) - (j == y[n])) * gs;
  }
  return loss;
}

const std::vector<int32_t> kTargets = {3, -100, 0, 10, 5, -100, 5, 1, 7, -100};

TEST(CrossEntropy, MatchesReference) {
  ScopedThreads th(2);
  const int N = 10, V = 11;
  const double gs = 0.37;
  auto z = randn((size_t)N * V, 2000, 3.0);
  std::vector<double> dz_ref, dz((size_t)N * V, 99.0);  // ignored rows must be overwritten with 0
  int64_t nv_ref = 0, nv = -1;
  double loss_ref = ce_reference(z, kTargets, N, V, gs, &dz_ref, &nv_ref);
  double loss = crossentropy_forward_backward<double>(dz.data(), &nv, z.data(), kTargets.data(), N, V, gs);
  EXPECT_EQ(nv, 7);
  EXPECT_EQ(nv, nv_ref);
  EXPECT_NEAR(loss, loss_ref, 1e-13 * std::fabs(loss_ref));
  for (size_t i = 0; i < dz.size(); i++) ASSERT_NEAR(dz[i], dz_ref[i], 1e-15) << i;
  for (int n : {1, 5, 9})
    for (int j = 0; j < V; j++) EXPECT_EQ(dz[(size_t)n * V + j], 0.0);
  // Forward only: same loss and count, no gradient buffer.
  int64_t nv2 = -1;
  EXPECT_EQ(crossentropy_forward_backward<double>(nullptr, &nv2, z.data(), kTargets.data(), N, V, gs), loss);
  EXPECT_EQ(nv2, 7);
}

// dlogits == logits (in place) must give exactly what a separate output buffer gives.
template <typename T>
void check_in_place() {
  ScopedThreads th(2);
  const int N = 10, V = 37;
  auto z = cast<T>(randn((size_t)N * V, 2100, 4.0));
  std::vector<T> dz((size_t)N * V);
  int64_t nv = 0, nv_alias = 0;
  double loss = crossentropy_forward_backward<T>(dz.data(), &nv, z.data(), kTargets.data(), N, V, 0.5);
  std::vector<T> buf = z;
  double loss_alias =
      crossentropy_forward_backward<T>(buf.data(), &nv_alias, buf.data(), kTargets.data(), N, V, 0.5);
  EXPECT_EQ(loss_alias, loss);
  EXPECT_EQ(nv_alias, nv);
  EXPECT_TRUE(bit_equal(buf, dz));
}
TEST(CrossEntropy, InPlaceAliasFloat) {
  check_in_place<float>();
}
TEST(CrossEntropy, InPlaceAliasDouble) {
  check_in_place<double>();
}

// Logits of magnitude 1e4 (exp would overflow without the max shift) in float.
TEST(CrossEntropy, LargeLogitsStable) {
  const int N = 4, V = 9;
  auto z = randn((size_t)N * V, 2200, 1e4);
  std::vector<int32_t> y = {0, 8, 4, 2};
  std::vector<double> dz_ref;
  int64_t nv_ref;
  double ref = ce_reference(z, y, N, V, 1.0, &dz_ref, &nv_ref);
  auto zf = cast<float>(z);
  std::vector<float> dz((size_t)N * V);
  double loss = crossentropy_forward_backward<float>(dz.data(), nullptr, zf.data(), y.data(), N, V, 1.0);
  ASSERT_TRUE(std::isfinite(loss));
  // Float error: only z_j - max is rounded (|err| <= u |z_j - max| <= u * 2e5 per row, see
  // FloatVsDouble.CrossEntropy); 4 rows.
  EXPECT_NEAR(loss, ref, 4 * kU32 * 2 * max_abs(z) + 1e-9 * ref);
  for (float g : dz) ASSERT_TRUE(std::isfinite(g));
}

TEST(CrossEntropy, AllIgnored) {
  const int N = 3, V = 5;
  auto z = randn((size_t)N * V, 2300);
  std::vector<int32_t> y(N, -100);
  std::vector<double> dz((size_t)N * V, 1.0);
  int64_t nv = -1;
  EXPECT_EQ(crossentropy_forward_backward<double>(dz.data(), &nv, z.data(), y.data(), N, V, 1.0), 0.0);
  EXPECT_EQ(nv, 0);
  for (double g : dz) EXPECT_EQ(g, 0.0);
}

// A target outside [0, V) other than -100 would index outside the row: it must be an error.
TEST(CrossEntropy, TargetOutOfRangeThrows) {
  const int N = 3, V = 5;
  auto z = randn((size_t)N * V, 2400);
  std::vector<double> dz((size_t)N * V);
  for (int32_t bad : {5, -1, 1000}) {
    std::vector<int32_t> y = {0, bad, 4};
    EXPECT_THROW(crossentropy_forward_backward<double>(dz.data(), nullptr, z.data(), y.data(), N, V, 1.0),
                 tsft::Error)
        << "target " << bad;
    const int C = 4;
    auto x = randn((size_t)N * C, 2401), W = randn((size_t)V * C, 2402);
    EXPECT_THROW(lm_head_ce_forward_backward<double>(nullptr, nullptr, nullptr, nullptr, 2, x.data(),
                                                     W.data(), y.data(), N, C, V, 1.0),
                 tsft::Error)
        << "target " << bad;
  }
}

// ---- fused LM head + cross-entropy vs matmul + cross-entropy composed ----
struct LmHeadCase {
  int N = 11, C = 6, V = 13;
  std::vector<double> x = randn((size_t)N * C, 2500), W = randn((size_t)V * C, 2501, 0.6);
  std::vector<int32_t> y = {4, -100, 12, 0, -100, 7, 7, 3, 9, -100, 1};  // 8 valid rows
  // Gradients start non-zero: both paths must accumulate on top of them.
  std::vector<double> dx0 = randn((size_t)N * C, 2502), dW0 = randn((size_t)V * C, 2503);
};

TEST(LmHead, EqualsComposedMatmulCrossEntropy) {
  ScopedThreads th(2);
  LmHeadCase c;
  const double gs = 1.0 / 8;
  std::vector<double> logits((size_t)c.N * c.V), dl((size_t)c.N * c.V), dx_ref = c.dx0, dW_ref = c.dW0;
  matmul_forward<double>(logits.data(), c.x.data(), c.W.data(), nullptr, c.N, c.C, c.V);
  int64_t nv_ref = 0;
  double loss_ref =
      crossentropy_forward_backward<double>(dl.data(), &nv_ref, logits.data(), c.y.data(), c.N, c.V, gs);
  matmul_backward<double>(dx_ref.data(), dW_ref.data(), nullptr, dl.data(), c.x.data(), c.W.data(), c.N, c.C,
                          c.V);
  ASSERT_EQ(nv_ref, 8);
  // chunk_rows 1 and 3 run several chunks (8 valid rows), 8 exactly one, 64 one partial chunk.
  for (int chunk : {1, 3, 8, 64}) {
    std::vector<double> dx = c.dx0, dW = c.dW0, scratch(lm_head_ce_scratch_size(chunk, c.C, c.V, true));
    int64_t nv = -1;
    double loss =
        lm_head_ce_forward_backward<double>(dx.data(), dW.data(), &nv, chunk == 3 ? nullptr : scratch.data(),
                                            chunk, c.x.data(), c.W.data(), c.y.data(), c.N, c.C, c.V, gs);
    EXPECT_EQ(nv, 8) << "chunk " << chunk;
    EXPECT_NEAR(loss, loss_ref, 1e-13 * loss_ref) << "chunk " << chunk;
    for (size_t i = 0; i < dx.size(); i++)
      ASSERT_NEAR(dx[i], dx_ref[i], 1e-14) << "chunk " << chunk << " dx " << i;
    for (size_t i = 0; i < dW.size(); i++)
      ASSERT_NEAR(dW[i], dW_ref[i], 1e-14) << "chunk " << chunk << " dW " << i;
    // Ignored rows get no input gradient.
    for (int n : {1, 4, 9})
      for (int j = 0; j < c.C; j++) EXPECT_EQ(dx[(size_t)n * c.C + j], c.dx0[(size_t)n * c.C + j]);
  }
}

// dx only / dW only / forward only give the corresponding parts of the full call.
TEST(LmHead, PartialGradients) {
  ScopedThreads th(2);
  LmHeadCase c;
  std::vector<double> dx_full = c.dx0, dW_full = c.dW0, dx = c.dx0, dW = c.dW0;
  double l_full = lm_head_ce_forward_backward<double>(dx_full.data(), dW_full.data(), nullptr, nullptr, 3,
                                                      c.x.data(), c.W.data(), c.y.data(), c.N, c.C, c.V, 0.5);
  double l_dx = lm_head_ce_forward_backward<double>(dx.data(), nullptr, nullptr, nullptr, 3, c.x.data(),
                                                    c.W.data(), c.y.data(), c.N, c.C, c.V, 0.5);
  double l_dW = lm_head_ce_forward_backward<double>(nullptr, dW.data(), nullptr, nullptr, 3, c.x.data(),
                                                    c.W.data(), c.y.data(), c.N, c.C, c.V, 0.5);
  int64_t nv = -1;
  double l_fwd = lm_head_ce_forward_backward<double>(nullptr, nullptr, &nv, nullptr, 3, c.x.data(),
                                                     c.W.data(), c.y.data(), c.N, c.C, c.V, 0.5);
  EXPECT_EQ(l_dx, l_full);
  EXPECT_EQ(l_dW, l_full);
  EXPECT_EQ(l_fwd, l_full);
  EXPECT_EQ(nv, 8);
  EXPECT_TRUE(bit_equal(dx, dx_full));
  EXPECT_TRUE(bit_equal(dW, dW_full));
}

TEST(LmHead, AllIgnoredTouchesNothing) {
  LmHeadCase c;
  std::vector<int32_t> y(c.N, -100);
  std::vector<double> dx = c.dx0, dW = c.dW0;
  int64_t nv = -1;
  EXPECT_EQ(lm_head_ce_forward_backward<double>(dx.data(), dW.data(), &nv, nullptr, 4, c.x.data(), c.W.data(),
                                                y.data(), c.N, c.C, c.V, 1.0),
            0.0);
  EXPECT_EQ(nv, 0);
  EXPECT_TRUE(bit_equal(dx, c.dx0));
  EXPECT_TRUE(bit_equal(dW, c.dW0));
}

// ---- AdamW vs torch.optim.AdamW (single tensor, foreach=False), evaluated in double ----
// torch: p *= 1 - lr wd; m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2; bc1 = 1 - b1^t; bc2 = 1 - b2^t;
//        p -= (lr / bc1) * m / (sqrt(v) / sqrt(bc2) + eps)
struct AdamHyper {
  double lr, b1, b2, eps, wd;
};
struct AdamState {
  std::vector<double> p, m, v;
  // First-order error bounds of a float implementation relative to this double one (see adam_step).
  std::vector<double> ep, em, ev;
};
// One reference step. With float unit roundoff u, the float kernel's rounding errors (each op and each
// constant rounded to float contributes <= u relative, to first order) are bounded by:
//   m = b1 m + (1-b1) g:           3u (b1|m| + (1-b1)|g|)            [constants, 2 products, 1 sum]
//   v = b2 v + (1-b2) g^2:         4u (b2 v + (1-b2) g^2)            [constants, 3 products, 1 sum]
//   p*(1-lr wd):                   2u |p|                            [constant, product]
//   upd = (lr/bc1) m / (sqrt(v)/sqrt(bc2) + eps): 7u |upd| from its 7 roundings (2 constants, sqrt,
//         3 products/quotients, + eps), 2u |upd| from v's 4u through the sqrt, and (lr/bc1) |dm| / den
//         from m's error (m may cancel, so it is not relative to |m|);
//   p - upd:                       u |p_new|.
// Errors carried in from previous steps (em, ev, ep) propagate linearly: m and v through b1, b2, the
// update through d upd/dm = (lr/bc1)/den and |d upd/dv| = |upd| sqrt(v/bc2) / (2 v den).
void adam_step(AdamState& s, const std::vector<double>& g, const AdamHyper& h, int64_t t) {
  const double u = kU32;
  const double bc1 = 1 - std::pow(h.b1, (double)t), bc2 = 1 - std::pow(h.b2, (double)t);
  for (size_t i = 0; i < s.p.size(); i++) {
    double p0 = s.p[i] * (1 - h.lr * h.wd);
    double m_abs = h.b1 * std::fabs(s.m[i]) + (1 - h.b1) * std::fabs(g[i]);
    double v_abs = h.b2 * s.v[i] + (1 - h.b2) * g[i] * g[i];
    s.m[i] = h.b1 * s.m[i] + (1 - h.b1) * g[i];
    s.v[i] = h.b2 * s.v[i] + (1 - h.b2) * g[i] * g[i];
    s.em[i] = h.b1 * s.em[i] + 3 * u * m_abs;
    s.ev[i] = h.b2 * s.ev[i] + 4 * u * v_abs;
    double den = std::sqrt(s.v[i]) / std::sqrt(bc2) + h.eps;
    double upd = (h.lr / bc1) * s.m[i] / den;
    double dupd_dv = s.v[i] > 0 ? std::fabs(upd) * std::sqrt(s.v[i] / bc2) / (2 * s.v[i] * den) : 0;
    double p1 = p0 - upd;
    s.ep[i] = s.ep[i] * (1 - h.lr * h.wd) + 2 * u * std::fabs(s.p[i]) + 9 * u * std::fabs(upd) +
              (h.lr / bc1) * s.em[i] / den + dupd_dv * s.ev[i] + u * std::fabs(p1);
    s.p[i] = p1;
  }
}

struct AdamCase {
  size_t n = 4096;
  AdamHyper h{1e-3, 0.9, 0.999, 1e-8, 0.1};
  std::vector<float> p, m, v;
  AdamState ref;
  explicit AdamCase(uint64_t seed) {
    ref.p = randn(n, seed, 0.02);
    ref.m.assign(n, 0.0);
    ref.v.assign(n, 0.0);
    ref.ep.assign(n, 0.0), ref.em.assign(n, 0.0), ref.ev.assign(n, 0.0);
    p = cast<float>(ref.p), m = cast<float>(ref.m), v = cast<float>(ref.v);
  }
  // Gradients of varied scale, with some exact zeros.
  std::vector<double> grad(uint64_t seed) const {
    auto g = randn(n, seed);
    for (size_t i = 0; i < n; i++) g[i] *= i % 7 == 0 ? 0.0 : std::pow(10.0, (double)(i % 5) - 3);
    return cast<double>(cast<float>(g));
  }
  void kernel_step(const std::vector<double>& g, int64_t t) {
    auto gf = cast<float>(g);
    adamw_update(p.data(), gf.data(), m.data(), v.data(), n, h.lr, h.b1, h.b2, h.eps, h.wd, t);
  }
  void expect_within_bounds(const std::string& what) const {
    for (size_t i = 0; i < n; i++) {
      ASSERT_LE(std::fabs(m[i] - ref.m[i]), ref.em[i]) << what << " m[" << i << "]";
      ASSERT_LE(std::fabs(v[i] - ref.v[i]), ref.ev[i]) << what << " v[" << i << "]";
      ASSERT_LE(std::fabs(p[i] - ref.p[i]), ref.ep[i]) << what << " p[" << i << "]";
    }
  }
  void resync() {  // restart the reference from the kernel's float state (bounds back to 0)
    ref.p = cast<double>(p), ref.m = cast<double>(m), ref.v = cast<double>(v);
    std::fill(ref.ep.begin(), ref.ep.end(), 0.0), std::fill(ref.em.begin(), ref.em.end(), 0.0);
    std::fill(ref.ev.begin(), ref.ev.end(), 0.0);
  }
};

TEST(AdamW, OneStepMatchesTorchFormula) {
  ScopedThreads th(2);
  AdamCase c(2600);
  auto g = c.grad(2601);
  c.kernel_step(g, 1);
  adam_step(c.ref, g, c.h, 1);
  c.expect_within_bounds("step 1");
  // Independent sanity of the formula at step 1: m_hat = g and v_hat = g^2, so
  // p_new = p (1 - lr wd) - lr g / (|g| + eps), a move of ~lr against the sign of g.
  // Tolerance: a handful of float roundings of |p| and of the ~lr update (8u each, generous).
  const auto p_init = randn(c.n, 2600, 0.02);
  for (size_t i = 0; i < c.n; i++) {
    double gi = g[i];
    double expect = p_init[i] * (1 - c.h.lr * c.h.wd) - c.h.lr * gi / (std::fabs(gi) + c.h.eps);
    ASSERT_NEAR(c.p[i], expect, 8 * kU32 * (std::fabs(p_init[i]) + c.h.lr)) << i;
  }
}

// Several steps with a changing learning rate: (a) per step, from the kernel's own state (tight bound
// each step, exercises the bias corrections at t = 1..10); (b) the whole run against an independent
// double run, with the propagated bounds.
TEST(AdamW, SeveralStepsMatchTorchFormula) {
  ScopedThreads th(2);
  AdamCase per(2700), whole(2700);
  for (int64_t t = 1; t <= 10; t++) {
    auto g = per.grad(2800 + t);
    per.h.lr = whole.h.lr = 1e-3 * (1.0 - 0.05 * (double)t);
    per.resync();
    per.kernel_step(g, t);
    adam_step(per.ref, g, per.h, t);
    per.expect_within_bounds("step " + std::to_string(t) + " (resynced)");
    whole.kernel_step(g, t);
    adam_step(whole.ref, g, whole.h, t);
  }
  whole.expect_within_bounds("after 10 steps");
}

// Zero gradient at step 1: m = v = 0, so only the decoupled decay acts: p *= 1 - lr wd exactly as a
// float product.
TEST(AdamW, ZeroGradientOnlyDecays) {
  std::vector<float> p = cast<float>(randn(64, 2900)), p0 = p, g(64, 0.0f), m(64, 0.0f), v(64, 0.0f);
  adamw_update(p.data(), g.data(), m.data(), v.data(), p.size(), 1e-2, 0.9, 0.95, 1e-8, 0.1, 1);
  for (size_t i = 0; i < p.size(); i++) EXPECT_EQ(p[i], p0[i] * (float)(1.0 - 1e-2 * 0.1));
}

// Step counts from 1 (bias corrections divide by 1 - beta^step): step 0 is an error, not NaN weights.
TEST(AdamW, StepZeroThrows) {
  std::vector<float> p(4, 1.0f), g(4, 1.0f), m(4, 0.0f), v(4, 0.0f);
  EXPECT_THROW(adamw_update(p.data(), g.data(), m.data(), v.data(), 4, 1e-3, 0.9, 0.999, 1e-8, 0.0, 0),
               tsft::Error);
}

TEST(LmHead, NonPositiveChunkThrows) {
  LmHeadCase c;
  EXPECT_THROW(lm_head_ce_forward_backward<double>(nullptr, nullptr, nullptr, nullptr, 0, c.x.data(),
                                                   c.W.data(), c.y.data(), c.N, c.C, c.V, 1.0),
               tsft::Error);
}

}  // namespace
}  // namespace tsft::kernels_testing
