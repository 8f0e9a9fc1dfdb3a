// Attention semantics: forward against a naive reference (GQA head mapping, causal + document mask),
// saved probabilities, the masking invariances, and "packed rows == documents run alone".
#include "kernel_test_util.hpp"

namespace tsft::kernels_testing {
namespace {

struct Dims {
  int B, T, H, KV, D;
  int N() const { return B * T; }
};

// out[b,t,h,:] = sum_s p_ts v[b,s,h/G,:], p = softmax over allowed s of q.k / sqrt(D), straight from the
// definition (one query at a time, no BLAS).
std::vector<double> attention_reference(const std::vector<double>& q, const std::vector<double>& k,
                                        const std::vector<double>& v, const int32_t* doc, const Dims& d) {
  const int G = d.H / d.KV;
  std::vector<double> out((size_t)d.N() * d.H * d.D, 0.0);
  for (int b = 0; b < d.B; b++)
    for (int h = 0; h < d.H; h++)
      for (int t = 0; t < d.T; t++) {
        const int kh = h / G;
        const double* qt = &q[((size_t)(b * d.T + t) * d.H + h) * d.D];
        std::vector<double> score(d.T, -INFINITY);
        double mx = -INFINITY;
        for (int s = 0; s <= t; s++) {
          if (doc && doc[b * d.T + s] != doc[b * d.T + t]) continue;
          const double* ks = &k[((size_t)(b * d.T + s) * d.KV + kh) * d.D];
          double acc = 0;
          for (int i = 0; i < d.D; i++) acc += qt[i] * ks[i];
          score[s] = acc / std::sqrt((double)d.D);
          mx = std::max(mx, score[s]);
        }
        double z = 0;
        for (int s = 0; s < d.T; s++) z += std::isinf(score[s]) ? 0.0 : std::exp(score[s] - mx);
        double* o = &out[((size_t)(b * d.T + t) * d.H + h) * d.D];
        for (int s = 0; s < d.T; s++) {
          if (std::isinf(score[s])) continue;
          double p = std::exp(score[s] - mx) / z;
          const double* vs = &v[((size_t)(b * d.T + s) * d.KV + kh) * d.D];
          for (int i = 0; i < d.D; i++) o[i] += p * vs[i];
        }
      }
  return out;
}

template <typename T>
std::vector<T> run_attention(const std::vector<T>& q, const std::vector<T>& k, const std::vector<T>& v,
                             const int32_t* doc, const Dims& d, std::vector<T>* probs_out = nullptr) {
  std::vector<T> out((size_t)d.N() * d.H * d.D), probs((size_t)d.B * d.H * d.T * d.T, T(-1));
  attention_forward<T>(out.data(), probs.data(), q.data(), k.data(), v.data(), doc, d.B, d.T, d.H, d.KV, d.D);
  if (probs_out) *probs_out = probs;
  return out;
}

const Dims kDims{2, 5, 4, 2, 8};
const std::vector<int32_t> kDocs = {0, 0, 1, 1, 1, /*row 1*/ 7, 8, 8, 9, 9};

void check_against_reference(const int32_t* doc, uint64_t seed) {
  const Dims& d = kDims;
  auto q = randn((size_t)d.N() * d.H * d.D, seed), k = randn((size_t)d.N() * d.KV * d.D, seed + 1),
       v = randn((size_t)d.N() * d.KV * d.D, seed + 2);
  std::vector<double> probs;
  auto out = run_attention(q, k, v, doc, d, &probs);
  auto ref = attention_reference(q, k, v, doc, d);
  for (size_t i = 0; i < out.size(); i++) ASSERT_NEAR(out[i], ref[i], 1e-13) << "element " << i;
  // probs[B,H,T,T]: allowed entries form a distribution, masked ones are exactly 0.
  for (int b = 0; b < d.B; b++)
    for (int h = 0; h < d.H; h++)
      for (int t = 0; t < d.T; t++) {
        double sum = 0;
        for (int s = 0; s < d.T; s++) {
          double p = probs[(((size_t)b * d.H + h) * d.T + t) * d.T + s];
          bool allowed = s <= t && (!doc || doc[b * d.T + s] == doc[b * d.T + t]);
          if (allowed)
            EXPECT_GT(p, 0.0);
          else
            EXPECT_EQ(p, 0.0) << "b" << b << " h" << h << " t" << t << " s" << s;
          sum += p;
        }
        EXPECT_NEAR(sum, 1.0, 1e-14);
      }
}

TEST(Attention, ForwardMatchesReferencePacked) {
  ScopedThreads th(2);
  check_against_reference(kDocs.data(), 1000);
}
TEST(Attention, ForwardMatchesReferenceNoDoc) {
  ScopedThreads th(2);
  check_against_reference(nullptr, 1010);
}
// doc = nullptr means one document per row: identical to all-equal ids.
TEST(Attention, NullDocEqualsSingleDocIds) {
  const Dims& d = kDims;
  auto q = cast<float>(randn((size_t)d.N() * d.H * d.D, 1020)),
       k = cast<float>(randn((size_t)d.N() * d.KV * d.D, 1021)),
       v = cast<float>(randn((size_t)d.N() * d.KV * d.D, 1022));
  std::vector<int32_t> same(d.N(), 42);
  EXPECT_TRUE(bit_equal(run_attention(q, k, v, nullptr, d), run_attention(q, k, v, same.data(), d)));
}

// Perturbing q/k/v of every token that (b, t) must not see (later tokens, other documents of the row,
// the other row) leaves out[b, t] bit-identical; perturbing a token it does see changes it (so the
// comparison is not vacuous).
void check_masking(const int32_t* doc) {
  ScopedThreads th(2);
  const Dims& d = kDims;
  const int qs = d.H * d.D, ks = d.KV * d.D;
  auto q = cast<float>(randn((size_t)d.N() * qs, 1100)), k = cast<float>(randn((size_t)d.N() * ks, 1101)),
       v = cast<float>(randn((size_t)d.N() * ks, 1102));
  auto base = run_attention(q, k, v, doc, d);
  auto sees = [&](int b, int t, int b2, int s) {
    return b == b2 && s <= t && (!doc || doc[b * d.T + s] == doc[b * d.T + t]);
  };
  int n_invisible = 0, n_visible = 0;
  for (int b = 0; b < d.B; b++)
    for (int t = 0; t < d.T; t++) {
      auto q2 = q, k2 = k, v2 = v;
      for (int b2 = 0; b2 < d.B; b2++)
        for (int s = 0; s < d.T; s++) {
          if (sees(b, t, b2, s) || (b2 == b && s == t)) continue;
          size_t n = (size_t)b2 * d.T + s;
          for (int i = 0; i < qs; i++) q2[n * qs + i] += 3.0f;
          for (int i = 0; i < ks; i++) k2[n * ks + i] = -5.0f * k2[n * ks + i] + 1.0f;
          for (int i = 0; i < ks; i++) v2[n * ks + i] += 7.0f;
          n_invisible++;
        }
      auto out = run_attention(q2, k2, v2, doc, d);
      size_t row = (size_t)b * d.T + t;
      for (int i = 0; i < qs; i++)
        ASSERT_EQ(out[row * qs + i], base[row * qs + i])
            << "token b" << b << " t" << t << " sees a masked token";
      // A visible earlier token of the same document must matter.
      for (int s = 0; s < t; s++) {
        if (!sees(b, t, b, s)) continue;
        auto v3 = v;
        for (int i = 0; i < ks; i++) v3[((size_t)b * d.T + s) * ks + i] += 7.0f;
        auto out3 = run_attention(q, k, v3, doc, d);
        bool changed = false;
        for (int i = 0; i < qs; i++) changed |= out3[row * qs + i] != base[row * qs + i];
        EXPECT_TRUE(changed) << "token b" << b << " t" << t << " ignores visible token s" << s;
        n_visible++;
      }
    }
  EXPECT_GT(n_invisible, 0);
  EXPECT_GT(n_visible, 0);
}
TEST(Attention, MaskingOtherDocumentsAndFuture) {
  check_masking(kDocs.data());
}
TEST(Attention, MaskingFutureNoDoc) {
  check_masking(nullptr);
}

// Packing documents [A | B | C] into one row gives, token for token, the outputs of running each
// document alone in its own row (attention alone: no positions involved).
TEST(Attention, PackedEqualsSeparate) {
  ScopedThreads th(2);
  const int H = 4, KV = 2, D = 8, T = 7;
  const std::vector<int> lens = {2, 3, 2};
  std::vector<int32_t> doc;
  for (size_t i = 0; i < lens.size(); i++) doc.insert(doc.end(), lens[i], (int32_t)(10 + i));
  auto q = randn((size_t)T * H * D, 1200), k = randn((size_t)T * KV * D, 1201),
       v = randn((size_t)T * KV * D, 1202);
  auto packed = run_attention(q, k, v, doc.data(), Dims{1, T, H, KV, D});
  int start = 0;
  for (int len : lens) {
    auto slice = [&](const std::vector<double>& x, int width) {
      return std::vector<double>(x.begin() + (size_t)start * width,
                                 x.begin() + (size_t)(start + len) * width);
    };
    auto alone =
        run_attention(slice(q, H * D), slice(k, KV * D), slice(v, KV * D), nullptr, Dims{1, len, H, KV, D});
    for (int t = 0; t < len; t++)
      for (int i = 0; i < H * D; i++)
        ASSERT_NEAR(packed[((size_t)start + t) * H * D + i], alone[(size_t)t * H * D + i], 1e-14)
            << "doc starting at " << start << ", token " << t;
    start += len;
  }
}

// Multi-query attention (KV = 1, all query heads share one kv head) with three rows.
TEST(Attention, ForwardMatchesReferenceMqa) {
  ScopedThreads th(2);
  const Dims d{3, 4, 4, 1, 8};
  auto q = randn((size_t)d.N() * d.H * d.D, 1300), k = randn((size_t)d.N() * d.KV * d.D, 1301),
       v = randn((size_t)d.N() * d.KV * d.D, 1302);
  auto all = run_attention(q, k, v, nullptr, d);
  auto ref = attention_reference(q, k, v, nullptr, d);
  for (size_t i = 0; i < all.size(); i++) ASSERT_NEAR(all[i], ref[i], 1e-13);
}

}  // namespace
}  // namespace tsft::kernels_testing
