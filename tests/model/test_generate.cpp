// Generation: greedy decoding of the HF fixtures, KV cache vs full recomputation, continuous batching,
// sampling rules, stopping.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <nlohmann/json.hpp>

#include "core/fs.hpp"
#include "core/rng.hpp"
#include "model/generate.hpp"
#include "test_util.hpp"

using namespace tsft;
using tsft_test::fixture;

class GreedyFixture : public ::testing::TestWithParam<std::string> {};
TEST_P(GreedyFixture, ReproducesHfGenerate) {
  auto eng = engine_create({}, model_load(fixture("hf/" + GetParam())));
  Engine& m = *eng;
  auto j = nlohmann::json::parse(fs_read_text(fixture("hf/" + GetParam() + "/generate.json")));
  std::vector<int32_t> prompt = j["prompt"].get<std::vector<int32_t>>();
  std::vector<int32_t> expected = j["generated"].get<std::vector<int32_t>>();
  expected.erase(expected.begin(), expected.begin() + prompt.size());
  ASSERT_EQ(expected.size(), 20u);
  for (bool cache : {true, false}) {
    GenOptions o;
    o.max_new_tokens = 20;
    o.use_cache = cache;
    auto r = generate(m, {prompt}, o);
    EXPECT_EQ(r[0].tokens, expected) << GetParam() << (cache ? " (KV cache)" : " (recompute)");
    EXPECT_EQ(r[0].finish_reason, "length");
  }
}
INSTANTIATE_TEST_SUITE_P(Hf, GreedyFixture, ::testing::Values("llama3", "qwen2"));

namespace {
Model tiny_model(const std::string& arch) {
  Model m = model_create(config_make(arch, 97, 32, 64, 2, 4, 2, 8, 96));
  model_init_weights(m, 17, 0.3);  // a large init gives peaked, input-dependent distributions
  return m;
}
std::vector<std::vector<int32_t>> some_prompts(int n, int V) {
  Xoshiro rng(4);
  std::vector<std::vector<int32_t>> ps(n);
  for (int i = 0; i < n; i++)
    for (int k = 0, len = 1 + (int)rng.below(12); k < len; k++) ps[i].push_back((int32_t)rng.below(V));
  return ps;
}
}  // namespace

class CacheTest : public ::testing::TestWithParam<std::string> {};
TEST_P(CacheTest, KvCacheEqualsFullRecomputation) {
  auto eng = engine_create({}, tiny_model(GetParam()));
  Engine& m = *eng;
  auto ps = some_prompts(7, m.config().V);
  GenOptions o;
  o.max_new_tokens = 24;
  o.max_batch = 3;
  auto with = generate(m, ps, o);
  o.use_cache = false;
  auto without = generate(m, ps, o);
  for (size_t i = 0; i < ps.size(); i++) {
    EXPECT_EQ(with[i].tokens, without[i].tokens) << "prompt " << i;
    ASSERT_EQ(with[i].first_logits.size(), without[i].first_logits.size());
    for (size_t v = 0; v < with[i].first_logits.size(); v++)
      ASSERT_NEAR(with[i].first_logits[v], without[i].first_logits[v], 1e-4);
  }
}

TEST_P(CacheTest, ContinuousBatchingDoesNotChangeResults) {
  auto eng = engine_create({}, tiny_model(GetParam()));
  Engine& m = *eng;
  auto ps = some_prompts(9, m.config().V);
  for (double temp : {0.0, 0.8}) {
    GenOptions o;
    o.max_new_tokens = 16;
    o.sampling.temperature = temp;
    o.sampling.top_k = temp > 0 ? 20 : 0;
    o.sampling.seed = 5;
    o.stop_ids = {3};  // sequences finish at different times, freeing slots mid-run
    std::vector<std::vector<int32_t>> outs[3];
    int bs[3] = {1, 4, 9};
    GenStats st;
    for (int k = 0; k < 3; k++) {
      o.max_batch = bs[k];
      auto r = generate(m, ps, o, &st);
      for (auto& x : r) outs[k].push_back(x.tokens);
    }
    EXPECT_EQ(outs[0], outs[1]) << "temperature " << temp;
    EXPECT_EQ(outs[0], outs[2]) << "temperature " << temp;
  }
}
INSTANTIATE_TEST_SUITE_P(Arch, CacheTest, ::testing::Values("llama", "qwen2", "qwen3"));

TEST(Sampling, TopK1AndTinyTopPAreGreedy) {
  Xoshiro rng(1);
  std::vector<float> z(50);
  for (auto& v : z) v = (float)rng.normal();
  int argmax = (int)(std::max_element(z.begin(), z.end()) - z.begin());
  uint64_t s = 1;
  for (int i = 0; i < 20; i++) {
    auto a = z, b = z;
    EXPECT_EQ(sample_token(a.data(), 50, {1.0, 1, 1.0, 0}, &s), argmax);
    EXPECT_EQ(sample_token(b.data(), 50, {1.0, 0, 1e-6, 0}, &s), argmax);
  }
}

TEST(Sampling, FrequenciesFollowSoftmaxWithTemperatureAndTopP) {
  std::vector<float> z = {2.0f, 1.0f, 0.5f, -1.0f};
  const double T = 0.7;
  std::vector<double> p(4);
  double sum = 0;
  for (int i = 0; i < 4; i++) sum += p[i] = std::exp(z[i] / T);
  for (auto& v : p) v /= sum;
  uint64_t s = 42;
  const int n = 40000;
  std::vector<int> cnt(4, 0);
  for (int i = 0; i < n; i++) {
    auto a = z;
    cnt[sample_token(a.data(), 4, {T, 0, 1.0, 0}, &s)]++;
  }
  // binomial standard error sqrt(p(1-p)/n) <= 0.0025; 5 sigma
  for (int i = 0; i < 4; i++) EXPECT_NEAR(cnt[i] / (double)n, p[i], 0.0125) << i;
  // top-p = p0 + p1 - tiny: only the two most likely tokens remain, renormalised
  std::fill(cnt.begin(), cnt.end(), 0);
  for (int i = 0; i < n; i++) {
    auto a = z;
    cnt[sample_token(a.data(), 4, {T, 0, p[0] + p[1] - 1e-3, 0}, &s)]++;
  }
  EXPECT_EQ(cnt[2] + cnt[3], 0);
  EXPECT_NEAR(cnt[0] / (double)n, p[0] / (p[0] + p[1]), 0.0125);
}

TEST(Generate, StopIdsStopCallbackAndLength) {
  auto eng = engine_create({}, tiny_model("qwen2"));
  Engine& m = *eng;
  auto ps = some_prompts(3, m.config().V);
  GenOptions o;
  o.max_new_tokens = 30;
  auto free_run = generate(m, ps, o);
  // stop at the 4th generated token of prompt 0 via its id
  o.stop_ids = {free_run[0].tokens[3]};
  auto r = generate(m, ps, o);
  auto first = std::find(free_run[0].tokens.begin(), free_run[0].tokens.end(), o.stop_ids[0]);
  EXPECT_EQ(r[0].tokens.size(), (size_t)(first - free_run[0].tokens.begin()) + 1);
  EXPECT_EQ(r[0].finish_reason, "stop_id");
  o.stop_ids.clear();
  o.stop_check = [](size_t, const std::vector<int32_t>& t) { return t.size() == 5; };
  r = generate(m, ps, o);
  for (auto& x : r) {
    EXPECT_EQ(x.tokens.size(), 5u);
    EXPECT_EQ(x.finish_reason, "stop");
  }
  o.stop_check = nullptr;
  o.max_new_tokens = 7;
  r = generate(m, ps, o);
  for (auto& x : r) EXPECT_EQ(x.finish_reason, "length");
}
