// The engine interface: the factory's errors, gradient memory only when training, and the fp32
// reference CPU engine (cpu/fp32-ref) equal (bit for bit) to the kernels it wraps.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>

#include "core/error.hpp"
#include "model/engine.hpp"
#include "model/generate.hpp"
#include "model/parity.hpp"
#include "test_util.hpp"

using namespace tsft;
using tsft_test::fixture;

namespace {
auto all = [](const TensorEntry&) { return true; };
}

TEST(Engine, UnknownDeviceOrPrecisionIsAUsageError) {
  EXPECT_THROW(engine_create({"tpu", "fp32"}, model_load(fixture("hf/qwen2"))), UsageError);
  EXPECT_THROW(engine_create({"cpu", "fp8"}, model_load(fixture("hf/qwen2"))), UsageError);
  EXPECT_THROW(engine_spec_parse("gpu", "fp32"), UsageError);
  EXPECT_EQ(engine_create({"cpu", "fp32-ref"}, model_load(fixture("hf/qwen2")))->name(), "cpu/fp32-ref");
  EXPECT_EQ(engine_create({"cpu", "fp32"}, model_load(fixture("hf/qwen2")))->name(), "cpu/fp32");
  EXPECT_NO_THROW(engine_spec_parse("cuda", "bf16"));
}

TEST(Engine, CudaWithoutItsModuleSaysSo) {
  setenv("TSFT_CUDA_MODULE", "/nonexistent/libtsft_cuda_module.so", 1);
  try {
    engine_create({"cuda", "fp32"}, model_load(fixture("hf/qwen2")));
    ADD_FAILURE() << "expected a UsageError";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/libtsft_cuda_module.so"), std::string::npos)
        << e.what();
  }
  unsetenv("TSFT_CUDA_MODULE");
}

// Read-only work (load, generate, eval) allocates weights, KV cache and activations only.
TEST(Engine, InferenceAllocatesNoGradientMemory) {
  Model host = model_load(fixture("hf/llama3"));
  EXPECT_TRUE(host.grads.empty());
  EXPECT_EQ(host.gradient_bytes(), 0u);
  auto e = engine_create({}, std::move(host));
  EXPECT_EQ(e->gradient_bytes(), 0u);
  EXPECT_EQ(e->weight_bytes(), e->table().total * sizeof(float));
  GenOptions o;
  o.max_new_tokens = 4;
  generate(*e, {{1, 2, 3}}, o);
  EXPECT_EQ(e->gradient_bytes(), 0u) << "generation allocated gradient memory";
  // A backward on an inference engine is a clear error, not a write into nothing.
  auto ws = e->workspace(1, 4, true);
  std::vector<int32_t> ids = {1, 2, 3, 4}, tg = {2, 3, 4, -100}, pos = {0, 1, 2, 3};
  Batch b{ids.data(), tg.data(), pos.data(), nullptr, 1, 4};
  EXPECT_THROW(e->forward(*ws, b, nullptr, true, 1.0), Error);
  e->forward(*ws, b);  // inference forward is fine
  EXPECT_EQ(e->gradient_bytes(), 0u);
  // Training: gradients and two AdamW moments for the trainable tensors only.
  e->set_trainable([](const TensorEntry& t) { return t.group == Group::mlp; });
  EXPECT_EQ(e->gradient_bytes(), 3 * sizeof(float) * e->table().count_params(true));
  EXPECT_LT(e->table().count_params(true), e->table().count_params());
}

// The reference engine's step equals the kernels it wraps, bit for bit (forward, backward, clip, AdamW).
TEST(Engine, Fp32RefEngineIsTheReferenceBitForBit) {
  Model ref = model_load(fixture("hf/qwen2"));
  ref.set_trainable(all);
  auto e = engine_create({"cpu", "fp32-ref"}, model_load(fixture("hf/qwen2")));
  e->set_trainable(all);
  const int B = 2, T = 8, N = B * T;
  std::vector<int32_t> ids(N), tg(N), pos(N);
  for (int n = 0; n < N; n++) ids[n] = (7 * n + 3) % ref.cfg.V, pos[n] = n % T;
  for (int n = 0; n < N; n++) tg[n] = pos[n] == T - 1 ? -100 : ids[n + 1];
  Batch b{ids.data(), tg.data(), pos.data(), nullptr, B, T};
  Activations a = activations_create(ref.cfg, B, T, true);
  std::vector<float> l1((size_t)N * ref.cfg.V), l2(l1.size());
  ForwardResult r1 = model_forward(ref, a, b, l1.data(), true, 1.0 / N);
  model_backward(ref, a, b);
  auto ws = e->workspace(B, T, true);
  ForwardResult r2 = e->forward(*ws, b, l2.data(), true, 1.0 / N);
  e->backward(*ws, b);
  EXPECT_EQ(r1.loss_sum, r2.loss_sum);
  EXPECT_EQ(0, std::memcmp(l1.data(), l2.data(), l1.size() * sizeof(float)));
  std::vector<float> g2;
  e->for_each_tensor(
      [&](const TensorEntry& t, TensorRef<float> r) { g2.insert(g2.end(), r.g, r.g + t.numel); });
  ASSERT_EQ(g2.size(), ref.grads.size());
  EXPECT_EQ(0, std::memcmp(g2.data(), ref.grads.data(), g2.size() * sizeof(float)));
  // logits of chosen rows = the same rows of the full logits
  std::vector<int> rows = {3, 15};
  std::vector<float> lr(2 * (size_t)ref.cfg.V);
  e->forward(*ws, b);
  e->logits_rows(*ws, rows.data(), 2, lr.data());
  for (int i = 0; i < 2; i++)
    EXPECT_EQ(0, std::memcmp(lr.data() + (size_t)i * ref.cfg.V, l1.data() + (size_t)rows[i] * ref.cfg.V,
                             ref.cfg.V * sizeof(float)));
}
