// cpu/bf16 against cpu/fp32: every HF fixture within the bounds derived in src/model/parity.cpp
// (parity_bounds_bf16), and both engines driven through the same training + generation sequence.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>

#include "core/safetensors.hpp"
#include "model/engine.hpp"
#include "model/generate.hpp"
#include "model/parity.hpp"
#include "test_util.hpp"

using namespace tsft;
using tsft_test::fixture;

namespace {
struct Golden {
  std::vector<int32_t> ids, targets, pos;
  int B = 0, T = 0;
  int64_t n_valid = 0;
  Batch batch() const { return {ids.data(), targets.data(), pos.data(), nullptr, B, T}; }
};
Golden golden(const std::string& path) {
  auto gf = SafetensorsFile::open(path);
  Golden g;
  g.B = (int)gf->get("input_ids").shape[0];
  g.T = (int)gf->get("input_ids").shape[1];
  auto ids = gf->to_i64("input_ids");
  g.ids.assign(ids.begin(), ids.end());
  g.targets = targets_from_labels(gf->to_i64("labels"), g.B, g.T);
  for (int n = 0; n < g.B * g.T; n++) g.pos.push_back(n % g.T);
  g.n_valid = count_valid_targets(g.targets.data(), g.targets.size());
  return g;
}

struct StepOut {
  std::vector<float> logits;
  double loss = 0;
  std::vector<std::vector<float>> grads;  // per tensor, table order
  std::vector<std::string> names;
};
// zero, forward (logits + loss + head backward), backward.
StepOut step(Engine& e, Workspace& ws, const Golden& g) {
  StepOut o;
  o.logits.resize((size_t)g.B * g.T * e.config().V);
  e.zero_grads();
  ForwardResult r = e.forward(ws, g.batch(), o.logits.data(), true, 1.0 / g.n_valid);
  e.backward(ws, g.batch());
  o.loss = r.loss_sum / r.n_valid;
  e.for_each_tensor([&](const TensorEntry& t, TensorRef<float> ref) {
    o.grads.emplace_back(ref.g, ref.g + t.numel);
    o.names.push_back(t.name);
  });
  return o;
}

double rel_l2f(const std::vector<float>& a, const std::vector<float>& ref, double* max_abs) {
  std::vector<double> r(ref.begin(), ref.end());
  return rel_l2(a.data(), r.data(), r.size(), max_abs);
}

// bf16 vs fp32 on one step: logits, loss (2 max|d logits| + 1e-5: log-softmax is 1-Lipschitz) and
// every gradient within parity_bounds_bf16.
void expect_within(const StepOut& bf, const StepOut& fp, const ParityBounds& b, const std::string& what) {
  double max_abs = 0;
  double lr = rel_l2f(bf.logits, fp.logits, &max_abs);
  EXPECT_LE(lr, b.logits_rel_l2) << what << " logits";
  EXPECT_LE(std::fabs(bf.loss - fp.loss), 2 * max_abs + 1e-5) << what << " loss";
  double worst = 0;
  for (size_t i = 0; i < fp.grads.size(); i++) {
    double m = 0, e = rel_l2f(bf.grads[i], fp.grads[i], &m);
    worst = std::max(worst, e);
    EXPECT_LE(e, b.grad_rel_l2) << what << " " << fp.names[i];
  }
  std::printf(
      "[bf16] %-22s logits rel-L2 %.2e (bound %.1e) max|d| %.2e | loss |d| %.2e | worst grad %.2e (bound "
      "%.1e)\n",
      what.c_str(), lr, b.logits_rel_l2, max_abs, std::fabs(bf.loss - fp.loss), worst, b.grad_rel_l2);
}

auto every_tensor = [](const TensorEntry&) { return true; };
}  // namespace

class Bf16Fixture : public ::testing::TestWithParam<std::pair<const char*, const char*>> {};
TEST_P(Bf16Fixture, WithinDerivedBoundsOfFp32) {
  auto [model, gold] = GetParam();
  Golden g = golden(fixture(gold));
  auto fp = engine_create({"cpu", "fp32"}, model_load(fixture(model)));
  auto bf = engine_create({"cpu", "bf16"}, model_load(fixture(model)));
  fp->set_trainable(every_tensor);
  bf->set_trainable(every_tensor);
  auto wf = fp->workspace(g.B, g.T, true), wb = bf->workspace(g.B, g.T, true);
  StepOut a = step(*fp, *wf, g), b = step(*bf, *wb, g);
  expect_within(b, a, parity_bounds_bf16(bf->config()), model);
  // and against the float64 golden with the same bounds (tsft parity --precision bf16)
  ParityReport r = parity_run(*bf, fixture(gold), parity_bounds_bf16(bf->config()));
  EXPECT_TRUE(r.pass) << model << ": logits " << r.logits_rel_l2 << " grads " << r.worst_grad_rel_l2;
}
INSTANTIATE_TEST_SUITE_P(Hf, Bf16Fixture,
                         ::testing::Values(std::make_pair("hf/llama3", "hf/llama3/golden.safetensors"),
                                           std::make_pair("hf/qwen2", "hf/qwen2/golden.safetensors"),
                                           std::make_pair("hf/qwen2-sharded", "hf/qwen2/golden.safetensors"),
                                           std::make_pair("hf/qwen2-bf16",
                                                          "hf/qwen2-bf16/golden.safetensors")));

// One sequence on both engines: (forward, backward, clip, AdamW step) x 3, then greedy generation.
// After k updates the weights themselves differ: Adam's first updates are ~ lr * sign(g), so the
// elements whose gradient sign the bf16 error flips (a fraction f ~ the gradient's relative error,
// <= 1e-2) move 2 lr apart: a relative weight change of 2 lr sqrt(f) / rms(W) <= 2e-4 * 0.1 / 0.02 =
// 1e-3 per step at lr 1e-4 (fixture weights have rms >= 0.02), a third of one GEMM's rounding
// (sigma_g = 3.2e-3). Each step therefore adds at most one more GEMM-stage worth of error:
// bounds x sqrt(1 + k) after k steps, well inside 2x for k <= 3.
TEST(Bf16Sequence, SameStepsAndGenerationAsFp32) {
  Golden g = golden(fixture("hf/llama3/golden.safetensors"));
  std::unique_ptr<Engine> e[2] = {engine_create({"cpu", "fp32"}, model_load(fixture("hf/llama3"))),
                                  engine_create({"cpu", "bf16"}, model_load(fixture("hf/llama3")))};
  std::unique_ptr<Workspace> ws[2];
  for (int i = 0; i < 2; i++) {
    e[i]->set_trainable(every_tensor);
    ws[i] = e[i]->workspace(g.B, g.T, true);
  }
  AdamWConfig adam;
  adam.lr = 1e-4;
  ParityBounds b = parity_bounds_bf16(e[1]->config());
  for (int k = 0; k < 3; k++) {
    StepOut o[2];
    double gn[2];
    for (int i = 0; i < 2; i++) {
      o[i] = step(*e[i], *ws[i], g);
      gn[i] = e[i]->clip_grad_norm(1.0);
      e[i]->adamw_step(adam, adam.lr, k + 1);
    }
    ParityBounds bk = b;
    bk.logits_rel_l2 *= std::sqrt(1.0 + k);
    bk.grad_rel_l2 *= std::sqrt(1.0 + k);
    expect_within(o[1], o[0], bk, "llama3 step " + std::to_string(k + 1));
    EXPECT_LE(std::fabs(gn[1] - gn[0]) / gn[0], bk.grad_rel_l2) << "grad norm, step " << k + 1;
  }
  // Host writes reach the bf16 copies: scale every weight matrix by 1.25 through for_each_tensor on
  // both engines. A stale bf16 copy would keep the old weights (logits off by tens of percent).
  for (int i = 0; i < 2; i++)
    e[i]->for_each_tensor([](const TensorEntry& t, TensorRef<float> r) {
      if (t.shape.size() == 2)
        for (size_t j = 0; j < t.numel; j++) r.w[j] *= 1.25f;
    });
  StepOut o[2] = {step(*e[0], *ws[0], g), step(*e[1], *ws[1], g)};
  expect_within(o[1], o[0], b, "llama3 after host write");
  GenOptions go;
  go.max_new_tokens = 12;
  std::vector<std::vector<int32_t>> prompts = {{g.ids.begin(), g.ids.begin() + 8}};
  auto r0 = generate(*e[0], prompts, go), r1 = generate(*e[1], prompts, go);
  double max_abs = 0;
  double lr = rel_l2f(r1[0].first_logits, r0[0].first_logits, &max_abs);
  EXPECT_LE(lr, 2 * b.logits_rel_l2) << "first generated logits";
  // The first greedy token must agree wherever fp32's top-2 margin exceeds what the logits error can
  // close (2 max|d logits|).
  std::vector<float> z = r0[0].first_logits;
  std::partial_sort(z.begin(), z.begin() + 2, z.end(), std::greater<float>());
  if (z[0] - z[1] > 2 * max_abs) {
    EXPECT_EQ(r1[0].tokens.at(0), r0[0].tokens.at(0));
  }
  size_t same = 0;
  while (same < r0[0].tokens.size() && same < r1[0].tokens.size() && r0[0].tokens[same] == r1[0].tokens[same])
    same++;
  std::printf("[bf16] generation: first logits rel-L2 %.2e, greedy tokens equal for %zu of %zu\n", lr, same,
              r0[0].tokens.size());
}
