// Parity of forward + backward against Hugging Face float64 references (../shared/fixtures/hf), for
// both fp32 engines (cpu/fp32: oneDNN GEMMs; cpu/fp32-ref: the reference kernels; cpu/bf16 has its
// own bounds, tests/model/test_engine_bf16.cpp). Bounds (derivation in src/model/parity.cpp; they hold
// for any summation order): logits rel-L2 <= 1e-5, |loss - golden| <= 1e-5, every gradient rel-L2 <= 1e-4.
#include <gtest/gtest.h>

#include "kernels/cpu/kernels.hpp"
#include "model/parity.hpp"
#include "test_util.hpp"

using namespace tsft;
using tsft_test::fixture;

namespace {
std::vector<float> all_grads(Engine& e) {
  std::vector<float> g;
  e.for_each_tensor([&](const TensorEntry& t, TensorRef<float> r) {
    if (r.g) g.insert(g.end(), r.g, r.g + t.numel);
  });
  return g;
}

void expect_parity_on(const std::string& precision, const std::string& model_dir, const std::string& golden) {
  SCOPED_TRACE("cpu/" + precision);
  auto eng = engine_create({"cpu", precision}, model_load(fixture(model_dir)));
  Engine& m = *eng;
  ParityReport r = parity_run(m, fixture(golden));
  EXPECT_LE(r.logits_rel_l2, 1e-5) << model_dir;
  EXPECT_LE(r.loss_abs_err, 1e-5) << model_dir;
  EXPECT_LE(r.inv_freq_rel, 1e-12) << model_dir << ": RoPE inverse frequencies differ from HF";
  EXPECT_TRUE(r.missing.empty()) << model_dir << ": parameters without golden gradient";
  EXPECT_EQ(r.grads.size(), m.table().entries.size());
  for (auto& g : r.grads) EXPECT_LE(g.rel_l2, 1e-4) << model_dir << " " << g.name;
  EXPECT_TRUE(r.pass);
  std::printf(
      "[parity] %-12s %-14s logits rel-L2 %.3e max|d| %.3e | loss |d| %.3e | worst grad rel-L2 %.3e | "
      "fwd+bwd %.2f ms\n",
      m.name().c_str(), model_dir.c_str(), r.logits_rel_l2, r.logits_max_abs, r.loss_abs_err,
      r.worst_grad_rel_l2, r.forward_backward_ms);
}
void expect_parity(const std::string& model_dir, const std::string& golden) {
  for (const char* p : {"fp32", "fp32-ref"}) expect_parity_on(p, model_dir, golden);
}
}  // namespace

TEST(Parity, Llama3) {
  expect_parity("hf/llama3", "hf/llama3/golden.safetensors");
}
TEST(Parity, Qwen2Tied) {
  expect_parity("hf/qwen2", "hf/qwen2/golden.safetensors");
}
TEST(Parity, Qwen2ShardedLoadsAndPassesQwen2Golden) {
  expect_parity("hf/qwen2-sharded", "hf/qwen2/golden.safetensors");
}
TEST(Parity, Qwen2Bf16OwnGolden) {
  expect_parity("hf/qwen2-bf16", "hf/qwen2-bf16/golden.safetensors");
}

TEST(Parity, ShardedEqualsSingleFileBitExact) {
  Model a = model_load(fixture("hf/qwen2"));
  Model b = model_load(fixture("hf/qwen2-sharded"));
  ASSERT_EQ(a.params.size(), b.params.size());
  EXPECT_EQ(0, std::memcmp(a.params.data(), b.params.data(), a.params.size() * sizeof(float)));
}

TEST(Parity, ThreadCountDoesNotChangeResultsBeyondRoundoff) {
  auto eng = engine_create({}, model_load(fixture("hf/llama3")));
  Engine& m = *eng;
  kernels_init_threads(1);
  ParityReport r1 = parity_run(m, fixture("hf/llama3/golden.safetensors"));
  kernels_init_threads(2);
  ParityReport r2 = parity_run(m, fixture("hf/llama3/golden.safetensors"));
  EXPECT_NEAR(r1.loss, r2.loss, 1e-6);
  EXPECT_TRUE(r1.pass && r2.pass);
}

TEST(Parity, DeterministicSameThreads) {
  auto eng = engine_create({}, model_load(fixture("hf/qwen2")));
  Engine& m = *eng;
  ParityReport r1 = parity_run(m, fixture("hf/qwen2/golden.safetensors"));
  std::vector<float> g1 = all_grads(m);
  ParityReport r2 = parity_run(m, fixture("hf/qwen2/golden.safetensors"));
  EXPECT_EQ(r1.loss, r2.loss);
  std::vector<float> g2 = all_grads(m);
  ASSERT_EQ(g1.size(), g2.size());
  EXPECT_EQ(0, std::memcmp(g1.data(), g2.data(), g1.size() * sizeof(float)));
}
