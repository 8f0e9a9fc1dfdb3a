// The kernels only fork threads above a work threshold (blas.hpp kParallelMinWork), so the small
// finite-difference problems run serially. Here every kernel runs at sizes well above the thresholds
// (>= 10x) with 2 threads and with 1 thread, in double: results must agree to round-off (1e-13 relative
// to the tensor's scale; BLAS on different sub-blocks may round differently), and the per-element
// kernels must agree bit for bit. Together with the serial FD checks this covers the threaded
// partitions (row split, output-feature split, per-thread dW partials, per-(row, kv head) attention).
#include "kernel_test_util.hpp"
#include "model/rope.hpp"

namespace tsft::kernels_testing {
namespace {

using Outs = std::vector<std::vector<double>>;

// Runs fn() with 1 and with 2 threads and compares every returned tensor.
template <typename Fn>
void expect_thread_invariant(const char* what, Fn&& fn, bool bitwise) {
  Outs one, two;
  {
    ScopedThreads th(1);
    one = fn();
  }
  {
    ScopedThreads th(2);
    two = fn();
  }
  ASSERT_EQ(one.size(), two.size());
  for (size_t t = 0; t < one.size(); t++) {
    double scale = max_abs(one[t]);
    EXPECT_GT(scale, 0.0) << what << " output " << t << " is all zero";
    if (bitwise) {
      EXPECT_TRUE(bit_equal(one[t], two[t])) << what << " output " << t;
    } else {
      for (size_t i = 0; i < one[t].size(); i++)
        ASSERT_NEAR(two[t][i], one[t][i], 1e-13 * scale) << what << " output " << t << "[" << i << "]";
    }
  }
}

TEST(ThreadSplit, Matmul) {
  for (int N : {3, 64}) {  // 3 < 4*2: output-feature split; 64: row split
    const int I = 256, O = 256;
    auto x = randn((size_t)N * I, 6000), w = randn((size_t)O * I, 6001), b = randn(O, 6002),
         dout = randn((size_t)N * O, 6003);
    expect_thread_invariant(
        N == 3 ? "matmul few rows" : "matmul many rows",
        [&] {
          std::vector<double> out((size_t)N * O), dx(x.size()), dw(w.size()), db(O);
          matmul_forward<double>(out.data(), x.data(), w.data(), b.data(), N, I, O);
          matmul_backward<double>(dx.data(), dw.data(), db.data(), dout.data(), x.data(), w.data(), N, I, O);
          return Outs{out, dx, dw, db};
        },
        false);
  }
}

TEST(ThreadSplit, EmbeddingRmsnormRopeSwiglu) {
  const int N = 256, C = 128, V = 50, nh = 8, D = 16, P = 512;
  auto table = randn((size_t)V * C, 6100), x = randn((size_t)N * C, 6101), w = randn(C, 6102),
       dy = randn((size_t)N * C, 6103);
  auto ids = rand_ids(N, V, 6104);
  std::vector<int32_t> pos(N);
  for (int n = 0; n < N; n++) pos[n] = (n * 37) % P;
  std::vector<double> inv(D / 2), cs((size_t)P * D / 2), sn(cs.size());
  rope_inv_freq(inv.data(), D, RopeConfig{});
  rope_tables<double>(cs.data(), sn.data(), inv.data(), P, D);
  expect_thread_invariant(
      "embedding/rope/swiglu/rmsnorm forward",
      [&] {
        std::vector<double> e(x.size()), de(table.size()), r = x, dr = dy, s(x.size()), ds(x.size()),
                                                           du(x.size()), y(x.size()), rstd(N);
        embedding_forward<double>(e.data(), ids.data(), table.data(), N, C, V);
        embedding_backward<double>(de.data(), dy.data(), ids.data(), N, C);
        rope_forward<double>(r.data(), pos.data(), cs.data(), sn.data(), N, nh, D);
        rope_backward<double>(dr.data(), pos.data(), cs.data(), sn.data(), N, nh, D);
        swiglu_forward<double>(s.data(), x.data(), dy.data(), x.size());
        swiglu_backward<double>(ds.data(), du.data(), e.data(), x.data(), dy.data(), x.size());
        rmsnorm_forward<double>(y.data(), rstd.data(), x.data(), w.data(), N, C, 1e-6);
        return Outs{e, de, r, dr, s, ds, du, y, rstd};
      },
      true);
  // rmsnorm backward: dx is per row (bitwise), dw sums per-thread partials (round-off).
  expect_thread_invariant(
      "rmsnorm backward",
      [&] {
        std::vector<double> y(x.size()), rstd(N), dx(x.size()), dw(C);
        rmsnorm_forward<double>(y.data(), rstd.data(), x.data(), w.data(), N, C, 1e-6);
        rmsnorm_backward<double>(dx.data(), dw.data(), dy.data(), x.data(), rstd.data(), w.data(), N, C);
        return Outs{dx, dw};
      },
      false);
}

TEST(ThreadSplit, Attention) {
  const int B = 2, T = 32, H = 4, KV = 2, D = 16;
  std::vector<int32_t> doc(B * T);
  for (int i = 0; i < B * T; i++) doc[i] = i / 11;
  auto q = randn((size_t)B * T * H * D, 6200), k = randn((size_t)B * T * KV * D, 6201),
       v = randn((size_t)B * T * KV * D, 6202), dout = randn(q.size(), 6203);
  expect_thread_invariant(
      "attention",
      [&] {
        std::vector<double> out(q.size()), probs((size_t)B * H * T * T), dq(q.size()), dk(k.size()),
            dv(v.size());
        attention_forward<double>(out.data(), probs.data(), q.data(), k.data(), v.data(), doc.data(), B, T, H,
                                  KV, D);
        attention_backward<double>(dq.data(), dk.data(), dv.data(), nullptr, dout.data(), probs.data(),
                                   q.data(), k.data(), v.data(), doc.data(), B, T, H, KV, D);
        return Outs{out, probs, dq, dk, dv};
      },
      false);
}

TEST(ThreadSplit, LossesAndAdamW) {
  const int N = 128, C = 64, V = 300;
  auto x = randn((size_t)N * C, 6300), W = randn((size_t)V * C, 6301, 0.3), z = randn((size_t)N * V, 6302);
  auto y = rand_ids(N, V, 6303);
  for (int n = 0; n < N; n += 5) y[n] = -100;
  expect_thread_invariant(
      "crossentropy",
      [&] {
        std::vector<double> dz(z.size());
        double l = crossentropy_forward_backward<double>(dz.data(), nullptr, z.data(), y.data(), N, V, 0.5);
        return Outs{dz, {l}};
      },
      true);
  expect_thread_invariant(
      "lm_head",
      [&] {
        std::vector<double> dx(x.size()), dW(W.size());
        double l = lm_head_ce_forward_backward<double>(dx.data(), dW.data(), nullptr, nullptr, 48, x.data(),
                                                       W.data(), y.data(), N, C, V, 0.5);
        return Outs{dx, dW, {l}};
      },
      false);
  auto g = cast<float>(randn(1 << 15, 6304)), p0 = cast<float>(randn(1 << 15, 6305));
  expect_thread_invariant(
      "adamw",
      [&] {
        std::vector<float> p = p0, m(p.size(), 0.0f), v(p.size(), 0.0f);
        for (int t = 1; t <= 3; t++)
          adamw_update(p.data(), g.data(), m.data(), v.data(), p.size(), 1e-3, 0.9, 0.999, 1e-8, 0.1, t);
        return Outs{cast<double>(p), cast<double>(m), cast<double>(v)};
      },
      true);
}

}  // namespace
}  // namespace tsft::kernels_testing
