// The attention core in float against the same computation in double, within derived fp32 bounds:
// the plain kernel (tsft::gemm) and the GemmOps variants (kernels.hpp attention_forward(GemmOps&, ...),
// fp32 kinds), forward and backward, on packed rows longer than one 64-query block (documents that
// start inside a block exercise the GemmOps key alignment: keys of other documents are multiplied
// and must get p = 0).
#include "kernel_test_util.hpp"
#include "kernels/cpu/gemm_ops.hpp"

namespace tsft::kernels_testing {
namespace {

double gamma(double n) {
  return n * u / (1 - n * u);
}

struct Case {
  int B, T, H, KV, D;
  std::vector<int32_t> doc;  // [B*T]
  std::vector<double> q, k, v, dout;
};
// Row 0: documents [0,41) [41,101) [101,T); row 1: [0,70) [70,T) (block 64..127 starts mid-document).
// interleaved: row 0 instead holds document 0 in two runs, [0,30) and [50,90), with [30,50) and [90,T)
// other documents (ids that reappear: the fused kernel's masked path).
Case make_case(int T, uint64_t seed, int D = 16, bool interleaved = false) {
  Case c{2, T, 4, 2, D, {}, {}, {}, {}, {}};
  for (int t = 0; t < T; t++)
    c.doc.push_back(interleaved ? (t < 30 ? 0 : t < 50 ? 1 : t < 90 ? 0 : 2) : t < 41 ? 0 : t < 101 ? 1 : 2);
  for (int t = 0; t < T; t++) c.doc.push_back(t < 70 ? 5 : 6);
  const size_t nq = (size_t)c.B * T * c.H * c.D, nk = (size_t)c.B * T * c.KV * c.D;
  c.q = randn(nq, seed), c.k = randn(nk, seed + 1), c.v = randn(nk, seed + 2), c.dout = randn(nq, seed + 3);
  return c;
}

// The float variants under test: the plain kernel, a GemmOps kind, or the fused AVX-512 kernel.
struct Variant {
  const char* name;
  GemmOps* ops;  // null: the plain kernel (or the fused one)
  bool fused = false;
};
void fwd(const Variant& w, float* out, float* probs, const Case& c, const float* q, const float* k,
         const float* v) {
  if (w.fused)
    attention_forward_fused(out, probs, q, k, v, c.doc.data(), c.B, c.T, c.H, c.KV, c.D);
  else if (w.ops)
    attention_forward(*w.ops, out, probs, q, k, v, c.doc.data(), c.B, c.T, c.H, c.KV, c.D);
  else
    attention_forward<float>(out, probs, q, k, v, c.doc.data(), c.B, c.T, c.H, c.KV, c.D);
}

// Forward, per query row t: scores S = scale (q.k) carry dS <= (D+3) u scale sum|q||k| (dot product
// gamma_D, alpha product, scale = 1/sqrt(D) rounded twice), plus u |S - max| from the shift. Softmax is
// 2-Lipschitz in max-norm for log p, expf/normalisation add ~6u, and O = P V adds gamma_T:
// |dO| <= (2 dS_max + (T + 6) u) sum_s p_s |v_s|. (Any summation order: oneDNN's blocking is covered.)
void check_forward(const Variant& w, const Case& c) {
  SCOPED_TRACE(w.name);
  const int B = c.B, T = c.T, H = c.H, KV = c.KV, D = c.D, G = H / KV;
  auto qf = cast<float>(c.q), kf = cast<float>(c.k), vf = cast<float>(c.v);
  std::vector<double> od(c.q.size()), pd((size_t)B * H * T * T);
  std::vector<float> of(c.q.size(), NAN), pf(pd.size(), NAN);
  attention_forward<double>(od.data(), pd.data(), c.q.data(), c.k.data(), c.v.data(), c.doc.data(), B, T, H,
                            KV, D);
  fwd(w, of.data(), pf.data(), c, qf.data(), kf.data(), vf.data());
  const double scale = 1 / std::sqrt((double)D);
  for (int b = 0; b < B; b++)
    for (int h = 0; h < H; h++)
      for (int t = 0; t < T; t++) {
        const double* qt = &c.q[((size_t)(b * T + t) * H + h) * D];
        const double* P = &pd[(((size_t)b * H + h) * T + t) * T];
        const float* Pf = &pf[(((size_t)b * H + h) * T + t) * T];
        double ds = 0, smax = -INFINITY, smin = INFINITY;
        std::vector<double> vmag(D, 0.0);
        for (int s = 0; s < T; s++) {
          if (s > t || c.doc[b * T + s] != c.doc[b * T + t]) {
            // The fused kernel writes only its block's key range (kernels.hpp): other masked entries
            // keep the NaN they were given.
            if (!(w.fused && std::isnan(Pf[s]))) {
              ASSERT_EQ(Pf[s], 0.f) << "masked p, b" << b << " h" << h << " t" << t << " s" << s;
            }
            continue;
          }
          ASSERT_FALSE(std::isnan(Pf[s]))
              << "visible p not written, b" << b << " h" << h << " t" << t << " s" << s;
          const double* ks = &c.k[((size_t)(b * T + s) * KV + h / G) * D];
          double dotp = 0, mag = 0;
          for (int i = 0; i < D; i++) dotp += qt[i] * ks[i], mag += std::fabs(qt[i] * ks[i]);
          ds = std::max(ds, (D + 3) * u * scale * mag);
          smax = std::max(smax, scale * dotp), smin = std::min(smin, scale * dotp);
          const double* vs = &c.v[((size_t)(b * T + s) * KV + h / G) * D];
          for (int i = 0; i < D; i++) vmag[i] += P[s] * std::fabs(vs[i]);
        }
        ds += u * (smax - smin);
        for (int i = 0; i < D; i++) {
          size_t o = ((size_t)(b * T + t) * H + h) * D + i;
          ASSERT_LE(std::fabs(of[o] - od[o]), (2 * ds + (T + 6) * u) * vmag[i]) << b << " " << h << " " << t;
        }
      }
}

// Backward with the same (fp32) saved probabilities P on both sides, by a running-error argument: every
// float result is a sum of products whose roundings compound to at most gamma_n relative along its
// longest chain, applied to the same computation on absolute values ("bar" quantities):
//   dV_s  = sum_t P_ts dO_t                          bar: sum_t P_ts |dO_t|
//   dP_ts = dO_t . V_s  (D terms)                    bar: A_ts = sum_i |dO_ti||V_si|
//   dot_t = sum_s P_ts dP_ts                         bar: Dt = sum_s P_ts A_ts
//   dS_ts = P_ts (dP_ts - dot_t)                     bar: Sb_ts = P_ts (A_ts + Dt)
//   dQ_t  = scale sum_s dS_ts K_s ; dK_s = scale sum_t dS_ts Q_t   bar: scale sum Sb |K| / |Q|
// The longest chain: D (dP) + T (dot) + 5 (dot rounding, subtraction, product with P) + T (dQ/dK sum)
// + 2 (scale rounded, product) + G (query heads of one kv head) + T/64 (query blocks accumulated into
// dk/dv): n = D + 2T + G + T/64 + 8 <= D + 2T + 16 here. A wrong mask, index or factor moves results by
// O(1) relative; the bound is ~1e-5 relative.
void check_backward(const Variant& w, const Case& c) {
  SCOPED_TRACE(w.name);
  const int B = c.B, T = c.T, H = c.H, KV = c.KV, D = c.D, G = H / KV, qs = H * D, ks = KV * D;
  auto qf = cast<float>(c.q), kf = cast<float>(c.k), vf = cast<float>(c.v), df = cast<float>(c.dout);
  // The fused kernel runs its own forward into a NaN-filled buffer: its backward must read only what
  // its forward wrote (the unwritten entries are masked ones, p = 0 for the double reference).
  std::vector<float> of(c.q.size()), pf((size_t)B * H * T * T, w.fused ? NAN : 0.f);
  if (w.fused)
    attention_forward_fused(of.data(), pf.data(), qf.data(), kf.data(), vf.data(), c.doc.data(), B, T, H, KV,
                            D);
  else
    attention_forward<float>(of.data(), pf.data(), qf.data(), kf.data(), vf.data(), c.doc.data(), B, T, H, KV,
                             D);
  std::vector<double> P = cast<double>(pf);
  for (double& x : P)
    if (std::isnan(x)) x = 0;
  std::vector<double> gq(c.q.size()), gk(c.k.size()), gv(c.v.size());
  attention_backward<double>(gq.data(), gk.data(), gv.data(), nullptr, c.dout.data(), P.data(), c.q.data(),
                             c.k.data(), c.v.data(), c.doc.data(), B, T, H, KV, D);
  std::vector<float> fq(gq.size(), 0.f), fk(gk.size(), 0.f), fv(gv.size(), 0.f);
  if (w.fused)
    attention_backward_fused(fq.data(), fk.data(), fv.data(), df.data(), pf.data(), qf.data(), kf.data(),
                             vf.data(), c.doc.data(), B, T, H, KV, D);
  else if (w.ops)
    attention_backward(*w.ops, fq.data(), fk.data(), fv.data(), nullptr, df.data(), pf.data(), qf.data(),
                       kf.data(), vf.data(), c.doc.data(), B, T, H, KV, D);
  else
    attention_backward<float>(fq.data(), fk.data(), fv.data(), nullptr, df.data(), pf.data(), qf.data(),
                              kf.data(), vf.data(), c.doc.data(), B, T, H, KV, D);
  const double scale = 1 / std::sqrt((double)D);
  std::vector<double> bq(gq.size(), 0.0), bk(gk.size(), 0.0), bv(gv.size(), 0.0), A(T), Sb(T);
  for (int b = 0; b < B; b++)
    for (int h = 0; h < H; h++)
      for (int t = 0; t < T; t++) {
        const int kh = h / G;
        const double* Pt = &P[(((size_t)b * H + h) * T + t) * T];
        const double* dO = &c.dout[(size_t)(b * T + t) * qs + h * D];
        double Dt = 0;
        for (int s = 0; s < T; s++) {
          const double* V = &c.v[(size_t)(b * T + s) * ks + kh * D];
          A[s] = 0;
          for (int i = 0; i < D; i++) A[s] += std::fabs(dO[i] * V[i]);
          Dt += Pt[s] * A[s];
        }
        for (int s = 0; s < T; s++) {
          Sb[s] = Pt[s] * (A[s] + Dt);
          const size_t so = (size_t)(b * T + s) * ks + kh * D, to = (size_t)(b * T + t) * qs + h * D;
          for (int i = 0; i < D; i++) {
            bv[so + i] += Pt[s] * std::fabs(dO[i]);
            bq[to + i] += scale * Sb[s] * std::fabs(c.k[so + i]);
            bk[so + i] += scale * Sb[s] * std::fabs(c.q[to + i]);
          }
        }
      }
  const double g = gamma(D + 2.0 * T + 16);
  auto expect_within = [&](const std::vector<float>& f, const std::vector<double>& d,
                           const std::vector<double>& bar, const char* what) {
    double worst = 0, mx = 0;
    for (size_t i = 0; i < f.size(); i++) {
      ASSERT_LE(std::fabs(f[i] - d[i]), g * bar[i] + 1e-30) << what << "[" << i << "]";
      worst = std::max(worst, std::fabs(f[i] - d[i]) / (g * bar[i] + 1e-30));
      mx = std::max(mx, std::fabs(d[i]));
    }
    EXPECT_GT(mx, 0.0) << what;  // not vacuous
    std::printf("[ attn     ] %-14s %s: worst |err| / bound %.3f\n", w.name, what, worst);
  };
  expect_within(fq, gq, bq, "dq");
  expect_within(fk, gk, bk, "dk");
  expect_within(fv, gv, bv, "dv");
}

TEST(AttentionNumerics, FloatForwardAndBackwardWithinFp32Bounds) {
  ScopedThreads th(2);
  const Case small = make_case(9, 4500), long_rows = make_case(150, 4510);
  auto ref = make_gemm_ops(GemmKind::reference), dnnl = make_gemm_ops(GemmKind::dnnl_fp32);
  for (const Variant& w :
       {Variant{"plain", nullptr}, Variant{"gemmops-ref", ref.get()}, Variant{"gemmops-fp32", dnnl.get()}}) {
    for (const Case* c : {&small, &long_rows}) {
      SCOPED_TRACE("T " + std::to_string(c->T));
      check_forward(w, *c);
      check_backward(w, *c);
    }
  }
}

// The fused kernel (AVX-512 tiles, blocks cut at document starts) within the same bounds: contiguous
// documents, reappearing ids (masked path), D = 16 and D = 80 (one 64-wide and one 16-wide column
// chunk), rows shorter than one block and longer than two.
TEST(AttentionNumerics, FusedForwardAndBackwardWithinFp32Bounds) {
  if (!attention_fused_supported(16)) GTEST_SKIP() << "no AVX-512 on this CPU: the fused kernel is not used";
  ScopedThreads th(2);
  const Variant w{"fused", nullptr, true};
  for (const Case& c : {make_case(9, 4530), make_case(150, 4531), make_case(150, 4532, 16, true),
                        make_case(150, 4533, 80), make_case(37, 4534, 80, true)}) {
    SCOPED_TRACE("T " + std::to_string(c.T) + " D " + std::to_string(c.D));
    check_forward(w, c);
    check_backward(w, c);
  }
}

// A GemmOps run repeats bit for bit (oneDNN's chunks are fixed by the shapes and the thread count).
TEST(AttentionNumerics, GemmOpsRepeatBitIdentical) {
  ScopedThreads th(2);
  const Case c = make_case(150, 4520);
  auto ops = make_gemm_ops(GemmKind::dnnl_fp32);
  auto qf = cast<float>(c.q), kf = cast<float>(c.k), vf = cast<float>(c.v), df = cast<float>(c.dout);
  auto run = [&] {
    std::vector<float> o(qf.size()), p((size_t)c.B * c.H * c.T * c.T), gq(qf.size(), 0.f), gk(kf.size(), 0.f),
        gv(vf.size(), 0.f);
    attention_forward(*ops, o.data(), p.data(), qf.data(), kf.data(), vf.data(), c.doc.data(), c.B, c.T, c.H,
                      c.KV, c.D);
    attention_backward(*ops, gq.data(), gk.data(), gv.data(), nullptr, df.data(), p.data(), qf.data(),
                       kf.data(), vf.data(), c.doc.data(), c.B, c.T, c.H, c.KV, c.D);
    o.insert(o.end(), gq.begin(), gq.end());
    o.insert(o.end(), gk.begin(), gk.end());
    o.insert(o.end(), gv.begin(), gv.end());
    return o;
  };
  auto a = run(), b = run();
  EXPECT_TRUE(bit_equal(a, b));
}

}  // namespace
}  // namespace tsft::kernels_testing
