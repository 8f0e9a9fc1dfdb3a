// Packed documents: two documents in one row (doc ids + restarted positions) give the same logits and
// gradients as each document run alone. Also a whole-model finite-difference check for every
// architecture (qwen3's q_norm/k_norm included, which has no HF golden in the repo).
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>

#include "core/rng.hpp"
#include "model/parity.hpp"
#include "model/transformer.hpp"
#include "test_util.hpp"

using namespace tsft;

namespace {
Model tiny(const std::string& arch, uint64_t seed) {
  ModelConfig c = config_make(arch, 61, 32, 48, 2, 4, 2, 8, 64);
  if (arch == "llama") {
    c.qkv_bias = c.o_bias = true;  // exercise every bias path
    c.mlp_bias = true;
    c.rope.type = RopeType::llama3;
    c.rope.factor = 8;
    c.rope.low_freq_factor = 1;
    c.rope.high_freq_factor = 4;
    c.rope.original_max_position = 16;
  }
  Model m = model_create(c);
  model_init_weights(m, seed, 0.2);
  // norms and biases away from their init values so their gradients are exercised
  Xoshiro rng(seed + 7);
  for (auto& e : m.table.entries)
    if (e.shape.size() == 1)
      for (size_t i = 0; i < e.numel; i++) m.params[e.offset + i] += (float)(0.3 * rng.normal());
  m.set_trainable([](const TensorEntry&) { return true; });  // gradient memory (binds)
  return m;
}

struct Doc {
  std::vector<int32_t> ids, targets;
};
Doc make_doc(int len, uint64_t seed, int V) {
  Xoshiro rng(seed);
  Doc d;
  for (int i = 0; i < len; i++) d.ids.push_back((int32_t)rng.below(V));
  for (int i = 0; i < len; i++) d.targets.push_back(i + 1 < len && i % 3 != 1 ? d.ids[i + 1] : -100);
  return d;
}

// Runs forward+backward over rows; returns logits, loss sum; grads left in m.
std::vector<float> run(Model& m, const std::vector<int32_t>& ids, const std::vector<int32_t>& tg,
                       const std::vector<int32_t>& pos, const std::vector<int32_t>* doc, int B, int T,
                       double scale, double* loss) {
  Activations a = activations_create(m.cfg, B, T, true);
  std::vector<float> logits((size_t)B * T * m.cfg.V);
  Batch b{ids.data(), tg.data(), pos.data(), doc ? doc->data() : nullptr, B, T};
  ForwardResult r = model_forward(m, a, b, logits.data(), true, scale);
  model_backward(m, a, b);
  *loss = r.loss_sum;
  return logits;
}
}  // namespace

class PackingTest : public ::testing::TestWithParam<std::string> {};

TEST_P(PackingTest, TwoDocumentsPackedEqualEachAlone) {
  Model m = tiny(GetParam(), 3);
  const int V = m.cfg.V;
  Doc a = make_doc(7, 11, V), b = make_doc(9, 12, V);
  int64_t n_valid = count_valid_targets(a.targets.data(), a.targets.size()) +
                    count_valid_targets(b.targets.data(), b.targets.size());
  double scale = 1.0 / n_valid;
  // alone
  m.zero_grads();
  std::vector<int32_t> pa(7), pb(9);
  std::iota(pa.begin(), pa.end(), 0);
  std::iota(pb.begin(), pb.end(), 0);
  double la, lb;
  std::vector<float> za = run(m, a.ids, a.targets, pa, nullptr, 1, 7, scale, &la);
  std::vector<float> zb = run(m, b.ids, b.targets, pb, nullptr, 1, 9, scale, &lb);
  std::vector<float> g_alone = m.grads;
  // packed in one row of 16 + in a second row after 2 pad-like tokens of a third document
  std::vector<int32_t> ids = a.ids, tg = a.targets, pos = pa, doc(7, 0);
  ids.insert(ids.end(), b.ids.begin(), b.ids.end());
  tg.insert(tg.end(), b.targets.begin(), b.targets.end());
  pos.insert(pos.end(), pb.begin(), pb.end());
  doc.insert(doc.end(), 9, 1);
  m.zero_grads();
  double lp;
  std::vector<float> zp = run(m, ids, tg, pos, &doc, 1, 16, scale, &lp);
  // logits: same math, different GEMM sizes -> fp32 round-off only
  for (size_t i = 0; i < za.size(); i++) ASSERT_NEAR(zp[i], za[i], 2e-5 * (1 + std::fabs(za[i])));
  for (size_t i = 0; i < zb.size(); i++) ASSERT_NEAR(zp[za.size() + i], zb[i], 2e-5 * (1 + std::fabs(zb[i])));
  EXPECT_NEAR(lp, la + lb, 1e-5 * (la + lb));
  double num = 0, den = 0;
  for (size_t i = 0; i < g_alone.size(); i++) {
    num += (m.grads[i] - g_alone[i]) * (double)(m.grads[i] - g_alone[i]);
    den += (double)g_alone[i] * g_alone[i];
  }
  EXPECT_LE(std::sqrt(num / den), 1e-5) << "packed gradients differ from the sum of separate runs";

  // Without doc ids the second document would see the first: the result must then differ.
  m.zero_grads();
  double lnp;
  std::vector<float> znp = run(m, ids, tg, pos, nullptr, 1, 16, scale, &lnp);
  double diff = 0;
  for (size_t i = za.size(); i < znp.size(); i++) diff = std::max(diff, (double)std::fabs(znp[i] - zp[i]));
  EXPECT_GT(diff, 1e-3) << "document mask has no effect: the test would not detect contamination";
}

// Whole-model central differences in fp32 on sampled coordinates of every tensor. With h = 1e-2 and
// fp32 loss round-off ~1e-6, the difference quotient has absolute noise ~1e-4 plus O(h^2) curvature
// terms; coordinates with |g| > 2e-3 are compared at 3% relative (wiring errors give O(1) errors).
TEST_P(PackingTest, WholeModelFiniteDifferences) {
  Model m = tiny(GetParam(), 5);
  const int V = m.cfg.V, T = 12, B = 2;
  Doc d0 = make_doc(T, 21, V), d1 = make_doc(T, 22, V);
  std::vector<int32_t> ids = d0.ids, tg = d0.targets, pos, doc;
  ids.insert(ids.end(), d1.ids.begin(), d1.ids.end());
  tg.insert(tg.end(), d1.targets.begin(), d1.targets.end());
  for (int b = 0; b < B; b++)
    for (int t = 0; t < T; t++) {
      pos.push_back(t < 5 ? t : t - 5);
      doc.push_back(t < 5 ? 0 : 1);
    }
  double scale = 1.0 / count_valid_targets(tg.data(), tg.size());
  Activations a = activations_create(m.cfg, B, T, true);
  Batch batch{ids.data(), tg.data(), pos.data(), doc.data(), B, T};
  m.zero_grads();
  model_forward(m, a, batch, nullptr, true, scale);
  model_backward(m, a, batch);
  auto loss = [&]() {
    ForwardResult r = model_forward(m, a, batch, nullptr, false, 1.0);
    return r.loss_sum * scale;
  };
  Xoshiro rng(9);
  int checked = 0;
  for (auto& e : m.table.entries) {
    int compared = 0;
    for (int trial = 0; trial < 40 && compared < 3; trial++) {
      size_t i = rng.below(e.numel);
      double g = m.grads[e.grad_offset + i];
      if (std::fabs(g) < 2e-3) continue;
      float& p = m.params[e.offset + i];
      float orig = p;
      const float h = 1e-2f;
      p = orig + h;
      double lp = loss();
      p = orig - h;
      double lm = loss();
      p = orig;
      double fd = (lp - lm) / (2.0 * h);
      EXPECT_NEAR(fd, g, 0.03 * std::fabs(g) + 2e-4) << e.name << "[" << i << "]";
      compared++;
      checked++;
    }
  }
  EXPECT_GT(checked, (int)m.table.entries.size());
}

INSTANTIATE_TEST_SUITE_P(Arch, PackingTest, ::testing::Values("llama", "qwen2", "qwen3"));
