// Every forward run in float and in double on the same (float-representable) inputs: the difference
// must stay within a first-order fp32 rounding bound derived per kernel from u = 2^-24 (the double
// run's own error, ~1e-16 relative, is negligible). And the same float inputs give bit-identical
// outputs (forward and backward) on repeated calls at a fixed thread count.
#include "kernel_test_util.hpp"
#include "model/rope.hpp"

namespace tsft::kernels_testing {
namespace {

// matmul: out = b + sum_i x_i w_i has I products and I additions; the standard dot-product bound gives
// |fl(out) - out| <= gamma_{I+1} (|b| + sum_i |x_i w_i|), gamma_n = n u / (1 - n u).
TEST(FloatVsDouble, Matmul) {
  ScopedThreads th(2);
  const int N = 12, I = 48, O = 70;
  auto x = randn((size_t)N * I, 4000), w = randn((size_t)O * I, 4001), b = randn(O, 4002);
  std::vector<double> od((size_t)N * O);
  std::vector<float> of((size_t)N * O);
  auto xf = cast<float>(x), wf = cast<float>(w), bf = cast<float>(b);
  matmul_forward<double>(od.data(), x.data(), w.data(), b.data(), N, I, O);
  matmul_forward<float>(of.data(), xf.data(), wf.data(), bf.data(), N, I, O);
  const double gamma = (I + 1) * u / (1 - (I + 1) * u);
  for (int n = 0; n < N; n++)
    for (int o = 0; o < O; o++) {
      double mag = std::fabs(b[o]);
      for (int i = 0; i < I; i++) mag += std::fabs(x[(size_t)n * I + i] * w[(size_t)o * I + i]);
      ASSERT_LE(std::fabs(of[(size_t)n * O + o] - od[(size_t)n * O + o]), gamma * mag) << n << "," << o;
    }
}

TEST(FloatVsDouble, EmbeddingExact) {
  const int N = 6, C = 5, V = 9;
  auto t = randn((size_t)V * C, 4100);
  auto tf = cast<float>(t);
  auto ids = rand_ids(N, V, 4101);
  std::vector<double> od((size_t)N * C);
  std::vector<float> of((size_t)N * C);
  embedding_forward<double>(od.data(), ids.data(), t.data(), N, C, V);
  embedding_forward<float>(of.data(), ids.data(), tf.data(), N, C, V);
  EXPECT_EQ(cast<double>(of), od);
}

// rmsnorm: sum x^2 is accumulated in double from exact float products, so r is rounded once (u);
// y = w (x r) adds two roundings: |dy| <= 3u |y|, |dr| <= u r.
TEST(FloatVsDouble, Rmsnorm) {
  ScopedThreads th(2);
  const int N = 24, C = 64;
  auto x = randn((size_t)N * C, 4200), w = randn(C, 4201);
  auto xf = cast<float>(x), wf = cast<float>(w);
  std::vector<double> yd(x.size()), rd(N);
  std::vector<float> yf(x.size()), rf(N);
  rmsnorm_forward<double>(yd.data(), rd.data(), x.data(), w.data(), N, C, 1e-6);
  rmsnorm_forward<float>(yf.data(), rf.data(), xf.data(), wf.data(), N, C, 1e-6);
  for (int n = 0; n < N; n++) ASSERT_LE(std::fabs(rf[n] - rd[n]), u * rd[n] * (1 + 1e-9));
  for (size_t i = 0; i < yd.size(); i++)
    ASSERT_LE(std::fabs(yf[i] - yd[i]), 3 * u * std::fabs(yd[i]) + 1e-300);
}

// rope: cos/sin tables rounded once each (u), the two products (u) and the sum (u):
// |dx'_i| <= 3u (|a c| + |b s|), |dx'_{i+D/2}| <= 3u (|b c| + |a s|).
TEST(FloatVsDouble, Rope) {
  const int N = 6, nh = 3, D = 16, P = 4096, half = D / 2;
  std::vector<int32_t> pos = {0, 3, 64, 511, 2048, 4095};
  RopeConfig cfg;
  std::vector<double> inv(half), cd((size_t)P * half), sd(cd.size());
  std::vector<float> cf(cd.size()), sf(cd.size());
  rope_inv_freq(inv.data(), D, cfg);
  rope_tables<double>(cd.data(), sd.data(), inv.data(), P, D);
  rope_tables<float>(cf.data(), sf.data(), inv.data(), P, D);
  auto x = randn((size_t)N * nh * D, 4300);
  auto xd = x;
  auto xf = cast<float>(x);
  rope_forward<double>(xd.data(), pos.data(), cd.data(), sd.data(), N, nh, D);
  rope_forward<float>(xf.data(), pos.data(), cf.data(), sf.data(), N, nh, D);
  for (int n = 0; n < N; n++)
    for (int h = 0; h < nh; h++)
      for (int i = 0; i < half; i++) {
        size_t o = ((size_t)n * nh + h) * D;
        double c = cd[(size_t)pos[n] * half + i], s = sd[(size_t)pos[n] * half + i];
        double a = x[o + i], b = x[o + i + half];
        ASSERT_LE(std::fabs(xf[o + i] - xd[o + i]), 3 * u * (std::fabs(a * c) + std::fabs(b * s)));
        ASSERT_LE(std::fabs(xf[o + i + half] - xd[o + i + half]),
                  3 * u * (std::fabs(b * c) + std::fabs(a * s)));
      }
}

// swiglu: expf is within 1 ulp (2u), 1 + e and the reciprocal add u each (so s carries <= 4u), then
// g s and (g s) up add u each: |dout| <= 6u |out|.
TEST(FloatVsDouble, Swiglu) {
  const size_t n = 4096;
  auto g = randn(n, 4400, 4.0), up = randn(n, 4401);
  auto gf = cast<float>(g), uf = cast<float>(up);
  std::vector<double> od(n);
  std::vector<float> of(n);
  swiglu_forward<double>(od.data(), g.data(), up.data(), n);
  swiglu_forward<float>(of.data(), gf.data(), uf.data(), n);
  for (size_t i = 0; i < n; i++) ASSERT_LE(std::fabs(of[i] - od[i]), 6 * u * std::fabs(od[i])) << i;
}

// attention: tests/kernels/test_attention_numerics.cpp (the plain float kernel and every GemmOps kind).

// cross-entropy: max, z[y] are exact; only z_j - max is rounded in float (u |z_j - max|), which moves
// log-sum-exp by <= u max_j |z_j - max|: per valid row |dloss| <= u max_j |z_j - max|.
// lm_head: the float logits carry dz <= gamma_C sum|x||w| each (matmul bound) and the loss is
// 2-Lipschitz in max-norm of the logits (its gradient is p - onehot): add 2 max_j dz_j per row.
TEST(FloatVsDouble, CrossEntropyAndLmHead) {
  ScopedThreads th(2);
  const int N = 16, C = 24, V = 50;
  auto x = randn((size_t)N * C, 4600), W = randn((size_t)V * C, 4601, 0.5),
       z = randn((size_t)N * V, 4602, 3.0);
  auto y = rand_ids(N, V, 4603);
  y[2] = y[9] = -100;
  auto zf = cast<float>(z), xf = cast<float>(x), Wf = cast<float>(W);
  double ld = crossentropy_forward_backward<double>(nullptr, nullptr, z.data(), y.data(), N, V, 1.0);
  double lf = crossentropy_forward_backward<float>(nullptr, nullptr, zf.data(), y.data(), N, V, 1.0);
  double bound = 0, bound_lm = 0;
  std::vector<double> logits((size_t)N * V);
  matmul_forward<double>(logits.data(), x.data(), W.data(), nullptr, N, C, V);
  const double gamma = C * u / (1 - C * u);
  for (int n = 0; n < N; n++) {
    if (y[n] == -100) continue;
    const double* r = &z[(size_t)n * V];
    const double* l = &logits[(size_t)n * V];
    double mx = *std::max_element(r, r + V), mn = *std::min_element(r, r + V);
    double lmx = *std::max_element(l, l + V), lmn = *std::min_element(l, l + V), dz = 0;
    for (int j = 0; j < V; j++) {
      double mag = 0;
      for (int c = 0; c < C; c++) mag += std::fabs(x[(size_t)n * C + c] * W[(size_t)j * C + c]);
      dz = std::max(dz, gamma * mag);
    }
    bound += u * (mx - mn);
    bound_lm += u * (lmx - lmn + 2 * dz) + 2 * dz;
  }
  EXPECT_LE(std::fabs(lf - ld), bound + 1e-14 * ld);
  double lmd = lm_head_ce_forward_backward<double>(nullptr, nullptr, nullptr, nullptr, 5, x.data(), W.data(),
                                                   y.data(), N, C, V, 1.0);
  double lmf = lm_head_ce_forward_backward<float>(nullptr, nullptr, nullptr, nullptr, 5, xf.data(), Wf.data(),
                                                  y.data(), N, C, V, 1.0);
  EXPECT_LE(std::fabs(lmf - lmd), bound_lm + 1e-14 * lmd);
  std::printf("[ fp32     ] CE |dloss| %.2e (bound %.2e); LM head |dloss| %.2e (bound %.2e)\n",
              std::fabs(lf - ld), bound, std::fabs(lmf - lmd), bound_lm);
}

// ---- determinism: repeated float calls are bit-identical (2 threads, parallel paths engaged) ----
template <typename Fn>
void expect_repeatable(const char* what, Fn&& run) {
  auto a = run(), b = run(), c = run();
  EXPECT_TRUE(bit_equal(a, b)) << what;
  EXPECT_TRUE(bit_equal(a, c)) << what;
}
TEST(Determinism, FloatKernelsRepeatBitIdentical) {
  ScopedThreads th(2);
  const int N = 40, C = 64, O = 80, V = 100, B = 2, T = 20, H = 4, KV = 2, D = 16;
  auto x = cast<float>(randn((size_t)N * C, 4700)), w = cast<float>(randn((size_t)O * C, 4701)),
       bias = cast<float>(randn(O, 4702)), dout = cast<float>(randn((size_t)N * O, 4703)),
       wn = cast<float>(randn(C, 4704)), dx = cast<float>(randn((size_t)N * C, 4705)),
       Wv = cast<float>(randn((size_t)V * C, 4706));
  auto ids = rand_ids(N, V, 4707), tg = rand_ids(N, V, 4708);
  for (int n = 0; n < N; n += 3) tg[n] = -100;
  auto cat = [](std::vector<std::vector<float>> parts) {
    std::vector<float> all;
    for (auto& p : parts) all.insert(all.end(), p.begin(), p.end());
    return all;
  };
  expect_repeatable("matmul", [&] {
    std::vector<float> o((size_t)N * O), gi(x.size()), gw(w.size()), gb(O), o_few(3 * O);
    matmul_forward<float>(o.data(), x.data(), w.data(), bias.data(), N, C, O);
    matmul_forward<float>(o_few.data(), x.data(), w.data(), bias.data(), 3, C, O);
    matmul_backward<float>(gi.data(), gw.data(), gb.data(), dout.data(), x.data(), w.data(), N, C, O);
    return cat({o, o_few, gi, gw, gb});
  });
  expect_repeatable("embedding", [&] {
    std::vector<float> o((size_t)N * C), g((size_t)V * C);
    embedding_forward<float>(o.data(), ids.data(), Wv.data(), N, C, V);
    embedding_backward<float>(g.data(), dx.data(), ids.data(), N, C);
    return cat({o, g});
  });
  expect_repeatable("rmsnorm", [&] {
    std::vector<float> o(x.size()), r(N), gx(x.size()), gw(C);
    rmsnorm_forward<float>(o.data(), r.data(), x.data(), wn.data(), N, C, 1e-6);
    rmsnorm_backward<float>(gx.data(), gw.data(), dx.data(), x.data(), r.data(), wn.data(), N, C);
    return cat({o, r, gx, gw});
  });
  expect_repeatable("rope", [&] {
    const int P = 64;
    std::vector<double> inv(D / 2);
    rope_inv_freq(inv.data(), D, RopeConfig{});
    std::vector<float> cs((size_t)P * D / 2), sn(cs.size()), y = x, g = dx;
    rope_tables<float>(cs.data(), sn.data(), inv.data(), P, D);
    std::vector<int32_t> pos(N);
    for (int n = 0; n < N; n++) pos[n] = (n * 7) % P;
    rope_forward<float>(y.data(), pos.data(), cs.data(), sn.data(), N, C / D, D);
    rope_backward<float>(g.data(), pos.data(), cs.data(), sn.data(), N, C / D, D);
    return cat({y, g});
  });
  expect_repeatable("swiglu", [&] {
    std::vector<float> o(x.size()), gg(x.size()), gu(x.size());
    swiglu_forward<float>(o.data(), x.data(), dx.data(), x.size());
    swiglu_backward<float>(gg.data(), gu.data(), dx.data(), x.data(), dx.data(), x.size());
    return cat({o, gg, gu});
  });
  auto q = cast<float>(randn((size_t)B * T * H * D, 4710)),
       k = cast<float>(randn((size_t)B * T * KV * D, 4711)),
       v = cast<float>(randn((size_t)B * T * KV * D, 4712)), da = cast<float>(randn(q.size(), 4713));
  std::vector<int32_t> doc(B * T);
  for (int i = 0; i < B * T; i++) doc[i] = i / 7;
  expect_repeatable("attention", [&] {
    std::vector<float> o(q.size()), p((size_t)B * H * T * T), gq(q.size()), gk(k.size()), gv(v.size());
    attention_forward<float>(o.data(), p.data(), q.data(), k.data(), v.data(), doc.data(), B, T, H, KV, D);
    attention_backward<float>(gq.data(), gk.data(), gv.data(), nullptr, da.data(), p.data(), q.data(),
                              k.data(), v.data(), doc.data(), B, T, H, KV, D);
    return cat({o, p, gq, gk, gv});
  });
  expect_repeatable("crossentropy + lm_head", [&] {
    std::vector<float> logits((size_t)N * V), dl(logits.size()), gx(x.size()), gW(Wv.size());
    matmul_forward<float>(logits.data(), x.data(), Wv.data(), nullptr, N, C, V);
    double l[2];
    l[0] = crossentropy_forward_backward<float>(dl.data(), nullptr, logits.data(), tg.data(), N, V, 0.1);
    l[1] = lm_head_ce_forward_backward<float>(gx.data(), gW.data(), nullptr, nullptr, 7, x.data(), Wv.data(),
                                              tg.data(), N, C, V, 0.1);
    std::vector<float> lbits(4);  // the double losses, bit for bit
    std::memcpy(lbits.data(), l, sizeof l);
    return cat({dl, gx, gW, lbits});
  });
  expect_repeatable("adamw", [&] {
    std::vector<float> p = x, m(x.size(), 0.0f), vv(x.size(), 0.0f);
    for (int t = 1; t <= 3; t++)
      adamw_update(p.data(), dx.data(), m.data(), vv.data(), p.size(), 1e-3, 0.9, 0.95, 1e-8, 0.1, t);
    return cat({p, m, vv});
  });
}

}  // namespace
}  // namespace tsft::kernels_testing
