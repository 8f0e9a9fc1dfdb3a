// Op harness: every CUDA kernel against the CPU reference kernel (kernels/cpu, run in double on exactly the
// values the device sees, i.e. inputs already rounded to the storage type), forward and backward, in fp32
// mode and bf16-storage mode. Backward buffers start from random values to check the += convention.
//
// Tolerance model, used by every check below. The device does its arithmetic in fp32 (unit roundoff
// u32 = 2^-24) and stores results in T (u_T = 2^-24 for fp32, 2^-8 for bf16). Storing a result costs one
// rounding: relative error u_T per element ("rel"). A reduction of L terms in fp32, in any order, has an
// error of at most ~L u32 sum|terms| (Higham, Thm 3.1), so "abs" = c * u32 * L * scale, with scale the
// largest magnitude of the exact result (or of its increment for += outputs) and c a small safety factor
// (c = 8 unless stated). For random N(0,1) data this allowance exceeds the typical error (~u32 sqrt(L)
// |result|) by ~sqrt(L), so checks are not flaky, while an indexing or masking bug errs by O(scale).
#include <gtest/gtest.h>

#include <numeric>

#include "core/error.hpp"
#include "harness.hpp"
#include "kernels/cpu/kernels.hpp"
#include "model/rope.hpp"

namespace tsft::cuda::test {
namespace {

template <typename T>
class CudaOps : public ::testing::Test {};
TYPED_TEST_SUITE(CudaOps, StorageTypes);


TYPED_TEST(CudaOps, Embedding) {
  using T = TypeParam;
  TSFT_REQUIRE_GPU();
  cuda_set_sync_debug(true);
  const int N = 300, C = 72, V = 50;
  std::mt19937 rng(1);
  auto table = random_data<T>((size_t)V * C, rng);
  std::vector<int32_t> ids(N);
  for (auto& i : ids) i = rng() % V;  // many repeats: exercises the ordered accumulation
  Dev<T> dtab(table.store), dout_(N * C);
  Dev<int32_t> dids(ids);
  embedding_forward<T>(dout_.p, dids.p, dtab.p, N, C, V, nullptr);
  std::vector<double> ref(N * C);
  tsft::embedding_forward<double>(ref.data(), ids.data(), table.ref.data(), N, C, V);
  // A copy: bit-exact.
  EXPECT_TRUE(close("embedding fwd", to_double(dout_.download()), ref, 0, 0));

  auto g = random_data<T>((size_t)N * C, rng);
  auto init = random_data<float>((size_t)V * C, rng);
  Dev<T> dg(g.store);
  Dev<float> ddt(init.store);
  embedding_backward<T>(ddt.p, dg.p, dids.p, N, C, V, nullptr);
  std::vector<double> rdt = init.ref;
  tsft::embedding_backward<double>(rdt.data(), g.ref.data(), ids.data(), N, C);
  // fp32 sums of up to N rows per table row (dtable is fp32 in both modes): abs = c u32 N max|g|.
  EXPECT_TRUE(close("embedding bwd dtable", to_double(ddt.download()), rdt, kU32, kC * kU32 * N * max_abs(g.ref)));

  // An id outside [0, V) is reported by embedding_check_ids (and only once).
  embedding_check_ids(nullptr);
  ids[17] = V + 3;
  dids.upload(ids);
  embedding_forward<T>(dout_.p, dids.p, dtab.p, N, C, V, nullptr);
  EXPECT_THROW(embedding_check_ids(nullptr), Error);
  EXPECT_NO_THROW(embedding_check_ids(nullptr));
}

TYPED_TEST(CudaOps, RmsNorm) {
  using T = TypeParam;
  TSFT_REQUIRE_GPU();
  cuda_set_sync_debug(true);
  const int N = 67, C = 320;
  const double eps = 1e-5;
  std::mt19937 rng(2);
  auto x = random_data<T>((size_t)N * C, rng, 2.0), w = random_data<T>(C, rng);
  Dev<T> dx(x.store), dw(w.store), dout_(N * C);
  Dev<float> drstd(N);
  rmsnorm_forward<T>(dout_.p, drstd.p, dx.p, dw.p, N, C, eps, nullptr);
  std::vector<double> ref(N * C), rstd(N);
  tsft::rmsnorm_forward<double>(ref.data(), rstd.data(), x.ref.data(), w.ref.data(), N, C, eps);
  // rstd: a sum of C squares in fp32 (relative error <= C u32), then a square root: rel = c u32 C.
  EXPECT_TRUE(close("rmsnorm rstd", to_double(drstd.download()), rstd, kC * kU32 * C, 0));
  // out = w x rstd: a product, so relative per element: the rstd error plus one rounding to T.
  EXPECT_TRUE(close("rmsnorm out", to_double(dout_.download()), ref, kC * kU32 * C + 2 * u_store<T>, 0));

  for (bool frozen : {false, true}) {
    auto dy = random_data<T>((size_t)N * C, rng);
    auto dinit = random_data<T>((size_t)N * C, rng);
    auto winit = random_data<float>(C, rng);
    Dev<T> ddy(dy.store), ddx(dinit.store);
    Dev<float> ddw(winit.store);
    rmsnorm_backward<T>(ddx.p, frozen ? nullptr : ddw.p, ddy.p, dx.p, drstd.p, dw.p, N, C, nullptr, nullptr);
    std::vector<double> rdx = dinit.ref, rdw = winit.ref, zero(N * C, 0.0), rdx_inc(N * C, 0.0);
    tsft::rmsnorm_backward<double>(rdx.data(), frozen ? nullptr : rdw.data(), dy.ref.data(), x.ref.data(), rstd.data(),
                             w.ref.data(), N, C);
    tsft::rmsnorm_backward<double>(rdx_inc.data(), nullptr, dy.ref.data(), x.ref.data(), rstd.data(), w.ref.data(), N, C);
    // dx: a C-term dot product per row (L = C), the saved rstd (rel C u32), one rounding to T.
    EXPECT_TRUE(close("rmsnorm dx", to_double(ddx.download()), rdx, u_store<T>,
                      kC * kU32 * 2 * C * max_abs(rdx_inc)));
    // dw: fp32 sum over N rows (L = N) of dy x rstd; rstd carries rel C u32.
    std::vector<double> dw_inc(C);
    for (int c = 0; c < C; c++) dw_inc[c] = rdw[c] - winit.ref[c];
    EXPECT_TRUE(close(frozen ? "rmsnorm dw frozen (untouched)" : "rmsnorm dw", to_double(ddw.download()), rdw,
                      kU32, kC * kU32 * (N + C) * std::max(max_abs(dw_inc), 1e-30)));
  }
}

TYPED_TEST(CudaOps, RopeLlama3) {
  using T = TypeParam;
  TSFT_REQUIRE_GPU();
  cuda_set_sync_debug(true);
  const int N = 50, nh = 3, D = 64, max_pos = 4096;
  RopeConfig rc;
  rc.type = RopeType::llama3;
  rc.theta = 500000.0;
  rc.factor = 32.0;
  rc.low_freq_factor = 1.0;
  rc.high_freq_factor = 4.0;
  rc.original_max_position = 8192;
  std::vector<double> inv(D / 2);
  tsft::rope_inv_freq(inv.data(), D, rc);
  std::vector<float> cf((size_t)max_pos * D / 2), sf(cf.size());
  std::vector<double> cd(cf.size()), sd(cf.size());
  tsft::rope_tables<float>(cf.data(), sf.data(), inv.data(), max_pos, D);  // what the engine uploads
  tsft::rope_tables<double>(cd.data(), sd.data(), inv.data(), max_pos, D);
  std::mt19937 rng(3);
  std::vector<int32_t> pos(N);
  for (auto& p : pos) p = rng() % max_pos;
  auto x = random_data<T>((size_t)N * nh * D, rng);
  Dev<T> dx(x.store);
  Dev<float> dc(cf), ds(sf);
  Dev<int32_t> dp(pos);
  rope_forward<T>(dx.p, dp.p, dc.p, ds.p, N, nh, D, nullptr);
  std::vector<double> ref = x.ref;
  tsft::rope_forward<double>(ref.data(), pos.data(), cd.data(), sd.data(), N, nh, D);
  // x' = a c - b s: fp32 tables (rel u32 each), two products and a sum that can cancel: abs = c u32 max|x|,
  // plus one rounding to T.
  EXPECT_TRUE(close("rope fwd", to_double(dx.download()), ref, u_store<T>, kC * kU32 * max_abs(ref)));
  rope_backward<T>(dx.p, dp.p, dc.p, ds.p, N, nh, D, nullptr);
  std::vector<double> back = ref;
  tsft::rope_backward<double>(back.data(), pos.data(), cd.data(), sd.data(), N, nh, D);
  // The backward is the inverse rotation: applied to the forward output it must return x (two roundings).
  EXPECT_TRUE(close("rope bwd(fwd(x))", to_double(dx.download()), back, 2 * u_store<T>,
                    2 * kC * kU32 * max_abs(back)));
}

TYPED_TEST(CudaOps, SwiGlu) {
  using T = TypeParam;
  TSFT_REQUIRE_GPU();
  cuda_set_sync_debug(true);
  const size_t n = 100003;
  std::mt19937 rng(4);
  auto g = random_data<T>(n, rng, 3.0), u = random_data<T>(n, rng), dy = random_data<T>(n, rng);
  auto gi = random_data<T>(n, rng), ui = random_data<T>(n, rng);
  Dev<T> dg(g.store), du(u.store), dout_(n), ddy(dy.store), ddg(gi.store), ddu(ui.store);
  swiglu_forward<T>(dout_.p, dg.p, du.p, n, nullptr);
  std::vector<double> ref(n), rdg = gi.ref, rdu = ui.ref;
  tsft::swiglu_forward<double>(ref.data(), g.ref.data(), u.ref.data(), n);
  // Elementwise: expf (<= 2 ulp) and a handful of fp32 operations, one rounding to T; the derivative
  // 1 + g(1 - s) cancels near g = -1.28, hence an absolute part relative to the largest value.
  EXPECT_TRUE(close("swiglu fwd", to_double(dout_.download()), ref, u_store<T> + kC * kU32,
                    kC * kU32 * max_abs(ref)));
  swiglu_backward<T>(ddg.p, ddu.p, ddy.p, dg.p, du.p, n, nullptr);
  tsft::swiglu_backward<double>(rdg.data(), rdu.data(), dy.ref.data(), g.ref.data(), u.ref.data(), n);
  EXPECT_TRUE(close("swiglu dgate", to_double(ddg.download()), rdg, u_store<T>, 2 * kC * kU32 * max_abs(rdg)));
  EXPECT_TRUE(close("swiglu dup", to_double(ddu.download()), rdu, u_store<T>, 2 * kC * kU32 * max_abs(rdu)));
}

// Attention: packed rows (several documents per row, one row with a non-contiguous document id pattern),
// GQA, T not a multiple of the 32-row tiles, head dims 16 / 64 / 128.
struct AttnCase {
  int B, T, H, KV, D;
  bool packed;
};

template <typename T>
void run_attention_case(const AttnCase& c, uint32_t seed) {
  const int B = c.B, T_ = c.T, H = c.H, KV = c.KV, D = c.D, N = B * T_;
  SCOPED_TRACE(::testing::Message() << "B " << B << " T " << T_ << " H " << H << " KV " << KV << " D " << D
                                    << (c.packed ? " packed" : " one doc per row"));
  std::mt19937 rng(seed);
  auto q = random_data<T>((size_t)N * H * D, rng), k = random_data<T>((size_t)N * KV * D, rng),
       v = random_data<T>((size_t)N * KV * D, rng);
  std::vector<int32_t> doc(N);
  for (int b = 0; b < B; b++)
    for (int t = 0; t < T_; t++) {
      int& d = doc[(size_t)b * T_ + t];
      if (b == 1) d = (t / 5) % 3;             // interleaved, non-contiguous documents
      else d = t < T_ / 3 ? 0 : (t < T_ / 2 ? 1 : 2 + (t > T_ - 4));  // contiguous documents, a tiny last one
    }
  const int32_t* hdoc = c.packed ? doc.data() : nullptr;
  Dev<T> dq(q.store), dk(k.store), dv(v.store), dout_((size_t)N * H * D);
  Dev<float> dlse((size_t)B * H * T_);
  Dev<int32_t> ddoc(doc);
  const int32_t* gdoc = c.packed ? ddoc.p : nullptr;
  attention_forward<T>(dout_.p, dlse.p, dq.p, dk.p, dv.p, gdoc, B, T_, H, KV, D, nullptr);
  std::vector<double> ref((size_t)N * H * D), probs((size_t)B * H * T_ * T_);
  tsft::attention_forward<double>(ref.data(), probs.data(), q.ref.data(), k.ref.data(), v.ref.data(), hdoc, B, T_, H, KV,
                            D);
  // Scores: D-term dots; softmax: sums over <= T keys; output: T-term weighted sums. L = T + D.
  const double L = T_ + D;
  EXPECT_TRUE(close("attention out", to_double(dout_.download()), ref, u_store<T>, kC * kU32 * L * max_abs(ref)));
  // lse = log sum_s exp(score): compare exp-consistency through the CPU probabilities instead of a second
  // implementation: for every query, sum_s p_s = 1 with p_s = exp(score_s - lse).
  {
    auto lse = to_double(dlse.download());
    const double scale = 1.0 / std::sqrt((double)D);
    double worst = 0;
    for (int b = 0; b < B; b++)
      for (int h = 0; h < H; h++)
        for (int t = 0; t < T_; t++) {
          const int kh = h / (H / KV);
          double sum = 0;
          for (int s = 0; s <= t; s++) {
            if (hdoc && doc[(size_t)b * T_ + s] != doc[(size_t)b * T_ + t]) continue;
            double dot = 0;
            for (int d = 0; d < D; d++)
              dot += q.ref[((size_t)b * T_ + t) * H * D + h * D + d] * k.ref[((size_t)b * T_ + s) * KV * D + kh * D + d];
            sum += std::exp(dot * scale - lse[((size_t)b * H + h) * T_ + t]);
          }
          worst = std::max(worst, std::fabs(sum - 1.0));
        }
    // lse carries the fp32 score and sum errors: |sum p - 1| <= c u32 L (scores are O(1) here).
    EXPECT_LE(worst, kC * kU32 * L * 10) << "attention lse: max |sum_s exp(score - lse) - 1|";
  }

  auto g = random_data<T>((size_t)N * H * D, rng);
  auto iq = random_data<T>(q.ref.size(), rng), ik = random_data<T>(k.ref.size(), rng),
       iv = random_data<T>(v.ref.size(), rng);
  Dev<T> dg(g.store), gq(iq.store), gk(ik.store), gv(iv.store);
  attention_backward<T>(gq.p, gk.p, gv.p, nullptr, dg.p, dout_.p, dlse.p, dq.p, dk.p, dv.p, gdoc, B, T_, H, KV, D,
                        nullptr);
  std::vector<double> rq(q.ref.size(), 0.0), rk(k.ref.size(), 0.0), rv(v.ref.size(), 0.0);
  tsft::attention_backward<double>(rq.data(), rk.data(), rv.data(), nullptr, g.ref.data(), probs.data(), q.ref.data(),
                             k.ref.data(), v.ref.data(), hdoc, B, T_, H, KV, D);
  auto check = [&](const char* name, const Dev<T>& got, const Data<T>& init, const std::vector<double>& inc) {
    std::vector<double> want(inc.size());
    for (size_t i = 0; i < inc.size(); i++) want[i] = init.ref[i] + inc[i];
    // As the forward, plus: the backward uses the saved out (rounded to T: rel u_T in delta = rowsum(dO O))
    // and accumulates over the G heads of a group (L = G (T + D)).
    const double Lb = (H / KV) * L;
    EXPECT_TRUE(close(name, to_double(got.download()), want, u_store<T>,
                      (kC * kU32 * Lb + 4 * u_store<T>) * max_abs(inc)));
  };
  check("attention dq", gq, iq, rq);
  check("attention dk", gk, ik, rk);
  check("attention dv", gv, iv, rv);

  // Deterministic: a second backward from the same start is bit-identical.
  Dev<T> gq2(iq.store), gk2(ik.store), gv2(iv.store);
  attention_backward<T>(gq2.p, gk2.p, gv2.p, nullptr, dg.p, dout_.p, dlse.p, dq.p, dk.p, dv.p, gdoc, B, T_, H, KV,
                        D, nullptr);
  EXPECT_TRUE(close("attention dk rerun (bitwise)", to_double(gk2.download()), to_double(gk.download()), 0, 0));
}

TYPED_TEST(CudaOps, Attention) {
  TSFT_REQUIRE_GPU();
  cuda_set_sync_debug(true);
  const AttnCase cases[] = {{2, 70, 4, 2, 16, true}, {2, 70, 4, 2, 16, false}, {3, 97, 8, 2, 64, true},
                            {2, 64, 4, 4, 128, true}, {1, 33, 6, 1, 40, false}};
  uint32_t seed = 10;
  for (const auto& c : cases) run_attention_case<TypeParam>(c, seed++);
}

}  // namespace
}  // namespace tsft::cuda::test
