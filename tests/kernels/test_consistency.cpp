// Conventions and numerics shared by all kernels: forwards against naive double references, the
// "backward accumulates" and "null parameter gradient = frozen" conventions, embedding id errors, RoPE
// (formula, transpose, inv_freq), float vs double forwards within fp32 error bounds, determinism.
#include "core/error.hpp"
#include "kernel_test_util.hpp"
#include "model/rope.hpp"

namespace tsft::kernels_testing {
namespace {

// ---- forwards against naive references (double) ----
TEST(Reference, MatmulRmsnormSwiglu) {
  ScopedThreads th(2);
  const int N = 9, I = 7, O = 5;
  auto x = randn((size_t)N * I, 3000), w = randn((size_t)O * I, 3001), b = randn(O, 3002);
  std::vector<double> out((size_t)N * O);
  matmul_forward<double>(out.data(), x.data(), w.data(), b.data(), N, I, O);
  for (int n = 0; n < N; n++)
    for (int o = 0; o < O; o++) {
      double ref = b[o];
      for (int i = 0; i < I; i++) ref += x[(size_t)n * I + i] * w[(size_t)o * I + i];
      EXPECT_NEAR(out[(size_t)n * O + o], ref, 1e-14);
    }
  std::vector<double> y((size_t)N * I), rstd(N);
  auto wn = randn(I, 3003);
  rmsnorm_forward<double>(y.data(), rstd.data(), x.data(), wn.data(), N, I, 1e-5);
  for (int n = 0; n < N; n++) {
    double ms = 0;
    for (int i = 0; i < I; i++) ms += x[(size_t)n * I + i] * x[(size_t)n * I + i] / I;
    double r = 1 / std::sqrt(ms + 1e-5);
    EXPECT_NEAR(rstd[n], r, 1e-14 * r);
    for (int i = 0; i < I; i++) EXPECT_NEAR(y[(size_t)n * I + i], wn[i] * x[(size_t)n * I + i] * r, 1e-14);
  }
  std::vector<double> s(x.size());
  swiglu_forward<double>(s.data(), x.data(), y.data(), x.size());
  for (size_t i = 0; i < x.size(); i++) EXPECT_NEAR(s[i], x[i] / (1 + std::exp(-x[i])) * y[i], 1e-15);
}

// ---- embedding ids ----
TEST(Embedding, ForwardCopiesRowsAndRejectsBadIds) {
  const int C = 3, V = 4;
  auto table = randn((size_t)V * C, 3100);
  std::vector<double> out(3 * C);
  std::vector<int32_t> ids = {2, 0, 2};
  embedding_forward<double>(out.data(), ids.data(), table.data(), 3, C, V);
  for (int n = 0; n < 3; n++)
    for (int c = 0; c < C; c++) EXPECT_EQ(out[(size_t)n * C + c], table[(size_t)ids[n] * C + c]);
  for (int32_t bad : {V, -1, 1 << 30}) {
    std::vector<int32_t> b = {1, 0, bad};
    try {
      embedding_forward<double>(out.data(), b.data(), table.data(), 3, C, V);
      ADD_FAILURE() << "id " << bad << " accepted";
    } catch (const tsft::Error& e) {
      EXPECT_NE(std::string(e.what()).find(std::to_string(bad)), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("position 2"), std::string::npos) << e.what();
    }
  }
}

// ---- backward accumulates (+=); a null parameter gradient freezes that parameter only ----
void expect_doubled(const std::vector<double>& once, const std::vector<double>& twice, const char* what) {
  ASSERT_EQ(once.size(), twice.size());
  EXPECT_GT(max_abs(once), 0.0) << what;
  for (size_t i = 0; i < once.size(); i++)
    ASSERT_NEAR(twice[i], 2 * once[i], 1e-14 * max_abs(once)) << what << "[" << i << "]";
}
TEST(Accumulate, BackwardTwiceDoublesGradients) {
  ScopedThreads th(2);
  const int N = 10, I = 6, O = 9, V = 7;
  auto x = randn((size_t)N * I, 3200), w = randn((size_t)O * I, 3201), dout = randn((size_t)N * O, 3202);
  auto run2 = [](auto&& f, std::vector<std::vector<double>> sizes) {  // f(grads) once and twice
    auto once = sizes, twice = sizes;
    f(once);
    f(twice);
    f(twice);
    return std::make_pair(once, twice);
  };
  // matmul
  auto [m1, m2] = run2(
      [&](auto& g) {
        matmul_backward<double>(g[0].data(), g[1].data(), g[2].data(), dout.data(), x.data(), w.data(), N, I,
                                O);
      },
      {std::vector<double>(x.size()), std::vector<double>(w.size()), std::vector<double>(O)});
  for (int i = 0; i < 3; i++) expect_doubled(m1[i], m2[i], "matmul");
  // frozen weight/bias: dinp unchanged
  std::vector<double> dinp(x.size());
  matmul_backward<double>(dinp.data(), nullptr, nullptr, dout.data(), x.data(), w.data(), N, I, O);
  EXPECT_TRUE(bit_equal(dinp, m1[0]));
  // embedding
  std::vector<int32_t> ids = {1, 1, 3, 0, 1, 6, 6, 2, 0, 1};
  auto [e1, e2] = run2([&](auto& g) { embedding_backward<double>(g[0].data(), x.data(), ids.data(), N, I); },
                       {std::vector<double>((size_t)V * I)});
  expect_doubled(e1[0], e2[0], "embedding");
  // rmsnorm
  auto wn = randn(I, 3203), dy = randn(x.size(), 3204);
  std::vector<double> y(x.size()), rstd(N);
  rmsnorm_forward<double>(y.data(), rstd.data(), x.data(), wn.data(), N, I, 1e-6);
  auto [r1, r2] = run2(
      [&](auto& g) {
        rmsnorm_backward<double>(g[0].data(), g[1].data(), dy.data(), x.data(), rstd.data(), wn.data(), N, I);
      },
      {std::vector<double>(x.size()), std::vector<double>(I)});
  for (int i = 0; i < 2; i++) expect_doubled(r1[i], r2[i], "rmsnorm");
  std::vector<double> dx_frozen(x.size());
  rmsnorm_backward<double>(dx_frozen.data(), nullptr, dy.data(), x.data(), rstd.data(), wn.data(), N, I);
  EXPECT_TRUE(bit_equal(dx_frozen, r1[0]));
  // swiglu
  auto [s1, s2] = run2(
      [&](auto& g) {
        swiglu_backward<double>(g[0].data(), g[1].data(), dy.data(), x.data(), y.data(), x.size());
      },
      {std::vector<double>(x.size()), std::vector<double>(x.size())});
  for (int i = 0; i < 2; i++) expect_doubled(s1[i], s2[i], "swiglu");
  // attention (B=2, T=5, H=4, KV=2, D=8 with packed documents)
  const int B = 2, T = 5, H = 4, KV = 2, D = 8;
  std::vector<int32_t> doc = {0, 0, 1, 1, 1, 7, 8, 8, 9, 9};
  auto q = randn((size_t)B * T * H * D, 3205), k = randn((size_t)B * T * KV * D, 3206),
       v = randn((size_t)B * T * KV * D, 3207), da = randn(q.size(), 3208);
  std::vector<double> ao(q.size()), probs((size_t)B * H * T * T);
  attention_forward<double>(ao.data(), probs.data(), q.data(), k.data(), v.data(), doc.data(), B, T, H, KV,
                            D);
  auto [a1, a2] = run2(
      [&](auto& g) {
        attention_backward<double>(g[0].data(), g[1].data(), g[2].data(), nullptr, da.data(), probs.data(),
                                   q.data(), k.data(), v.data(), doc.data(), B, T, H, KV, D);
      },
      {std::vector<double>(q.size()), std::vector<double>(k.size()), std::vector<double>(v.size())});
  for (int i = 0; i < 3; i++) expect_doubled(a1[i], a2[i], "attention");
  // fused LM head + CE (x as [N, I] hidden, w as [O, I] vocabulary projection)
  std::vector<int32_t> tg = {0, -100, 8, 3, 3, -100, 1, 2, 5, 4};
  auto [l1, l2] = run2(
      [&](auto& g) {
        lm_head_ce_forward_backward<double>(g[0].data(), g[1].data(), nullptr, nullptr, 3, x.data(), w.data(),
                                            tg.data(), N, I, O, 0.25);
      },
      {std::vector<double>(x.size()), std::vector<double>(w.size())});
  for (int i = 0; i < 2; i++) expect_doubled(l1[i], l2[i], "lm_head");
}

// ---- RoPE ----
struct RopeSetup {
  int N = 6, nh = 2, D = 16, max_pos = 4096;
  std::vector<int32_t> pos = {0, 1, 7, 100, 2047, 4095};
  std::vector<double> inv, cs, sn;
  explicit RopeSetup(const RopeConfig& cfg) : inv(D / 2), cs((size_t)max_pos * D / 2), sn(cs.size()) {
    rope_inv_freq(inv.data(), D, cfg);
    rope_tables<double>(cs.data(), sn.data(), inv.data(), max_pos, D);
  }
};
TEST(Rope, ForwardFormulaAndTranspose) {
  RopeSetup r{RopeConfig{}};
  const int half = r.D / 2;
  auto x = randn((size_t)r.N * r.nh * r.D, 3300), y = randn(x.size(), 3301);
  auto rx = x;
  rope_forward<double>(rx.data(), r.pos.data(), r.cs.data(), r.sn.data(), r.N, r.nh, r.D);
  for (int n = 0; n < r.N; n++)
    for (int h = 0; h < r.nh; h++)
      for (int i = 0; i < half; i++) {
        size_t o = ((size_t)n * r.nh + h) * r.D;
        double a = r.pos[n] * r.inv[i], c = std::cos(a), s = std::sin(a);
        EXPECT_EQ(r.cs[(size_t)r.pos[n] * half + i], c);
        EXPECT_NEAR(rx[o + i], x[o + i] * c - x[o + i + half] * s, 1e-14);
        EXPECT_NEAR(rx[o + i + half], x[o + i + half] * c + x[o + i] * s, 1e-14);
      }
  // <R x, y> == <x, R^T y>
  auto rty = y;
  rope_backward<double>(rty.data(), r.pos.data(), r.cs.data(), r.sn.data(), r.N, r.nh, r.D);
  EXPECT_NEAR(dot(rx, y), dot(x, rty), 1e-13);
  // R^T R = I
  rope_backward<double>(rx.data(), r.pos.data(), r.cs.data(), r.sn.data(), r.N, r.nh, r.D);
  for (size_t i = 0; i < x.size(); i++) EXPECT_NEAR(rx[i], x[i], 1e-14);
}

// inv_freq: standard theta^(-2i/D) (computed in float32 like transformers: the exponent's rounding is
// amplified by ln(theta), so allow (ln(theta) + 4) u relative); llama3 (Llama 3.1: theta 5e5, factor 8,
// low 1, high 4, original 8192): wavelength < 8192/4 kept, > 8192 divided by 8, in between
// interpolated with s = (8192/wavelen - 1) / (4 - 1).
TEST(Rope, InvFreqStandardAndLlama3) {
  const int D = 128;
  RopeConfig std_cfg;
  std_cfg.theta = 500000.0;
  RopeConfig l3 = std_cfg;
  l3.type = RopeType::llama3, l3.factor = 8, l3.low_freq_factor = 1, l3.high_freq_factor = 4;
  l3.original_max_position = 8192;
  std::vector<double> f(D / 2), g(D / 2);
  rope_inv_freq(f.data(), D, std_cfg);
  rope_inv_freq(g.data(), D, l3);
  const double tol = (std::log(500000.0) + 4) * kU32;
  int n_high = 0, n_low = 0, n_mid = 0;
  for (int i = 0; i < D / 2; i++) {
    double exact = std::pow(500000.0, -2.0 * i / D);
    EXPECT_NEAR(f[i], exact, tol * exact) << i;
    double wavelen = 2 * M_PI / exact;
    if (wavelen < 8192 / 4.0 * (1 - 1e-5)) {
      EXPECT_EQ(g[i], f[i]) << i;
      n_high++;
    } else if (wavelen > 8192 * (1 + 1e-5)) {
      EXPECT_NEAR(g[i], exact / 8, tol * exact / 8) << i;
      n_low++;
    } else if (wavelen > 8192 / 4.0 * (1 + 1e-5) && wavelen < 8192 * (1 - 1e-5)) {
      double s = (8192 / wavelen - 1) / 3;
      double expect = (1 - s) * exact / 8 + s * exact;
      EXPECT_NEAR(g[i], expect, 8 * tol * exact) << i;
      n_mid++;
    }
  }
  EXPECT_GT(n_high, 0);
  EXPECT_GT(n_low, 0);
  EXPECT_GT(n_mid, 0);
}

}  // namespace
}  // namespace tsft::kernels_testing
