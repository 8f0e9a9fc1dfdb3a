#include <gtest/gtest.h>

#include "core/error.hpp"
#include "model/model.hpp"
#include "train/optimizer.hpp"
#include "train/select.hpp"

using namespace tsft;

namespace {
std::vector<std::string> chosen(const std::string& spec, const std::string& arch = "llama", int L = 4) {
  ModelConfig c = config_make(arch, 50, 16, 32, L, 2, 1, 8, 32);
  TensorTable t = tensor_table_build(c);
  auto pred = select_parse(spec, L, c.tie_word_embeddings);
  std::vector<std::string> out;
  for (auto& e : t.entries)
    if (pred(e)) out.push_back(e.name);
  return out;
}
bool has(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}
}  // namespace

TEST(Select, Presets) {
  auto mlp = chosen("mlp");
  EXPECT_EQ(mlp.size(), 12u);  // 3 projections x 4 layers
  for (auto& n : mlp) EXPECT_NE(n.find(".mlp."), std::string::npos);
  auto attn = chosen("attn");
  EXPECT_EQ(attn.size(), 16u);
  EXPECT_EQ(chosen("norm").size(), 9u);  // 2 per layer + final
  EXPECT_EQ(chosen("embed"), std::vector<std::string>{"model.embed_tokens.weight"});
  EXPECT_EQ(chosen("head"), std::vector<std::string>{"lm_head.weight"});
  EXPECT_EQ(chosen("head", "qwen2"), std::vector<std::string>{"model.embed_tokens.weight"});  // tied
  EXPECT_EQ(chosen("all").size(), tensor_table_build(config_make("llama", 50, 16, 32, 4, 2, 1, 8, 32)).entries.size());
  auto qn = chosen("norm", "qwen3");
  EXPECT_TRUE(has(qn, "model.layers.0.self_attn.q_norm.weight"));
  EXPECT_FALSE(has(chosen("attn", "qwen3"), "model.layers.0.self_attn.q_norm.weight"));
}

TEST(Select, CombinationsRangesRegex) {
  auto mn = chosen("mlp+norm");
  EXPECT_EQ(mn.size(), 21u);
  auto r = chosen("layers[1:3].mlp");
  EXPECT_EQ(r.size(), 6u);
  EXPECT_TRUE(has(r, "model.layers.1.mlp.up_proj.weight"));
  EXPECT_FALSE(has(r, "model.layers.3.mlp.up_proj.weight"));
  EXPECT_EQ(chosen("layers[-1:].attn").size(), 4u);
  EXPECT_EQ(chosen("layers[2]").size(), 9u);
  auto re = chosen("attn+re:layers\\.(0|1)\\.mlp\\.up_proj");
  EXPECT_EQ(re.size(), 18u);
  EXPECT_EQ(chosen("re:lm_head|embed").size(), 2u);
}

TEST(Select, BadSpecsAreUsageErrors) {
  for (const char* bad : {"mlps", "layers[1:2", "layers[x:2].mlp", "mlp++attn", "re:(", "layers[1]mlp"})
    EXPECT_THROW(chosen(bad), UsageError) << bad;
}

TEST(Schedule, WarmupCosineLinearConstant) {
  EXPECT_DOUBLE_EQ(lr_at(0, 100, 10, LrSchedule::cosine, 1.0, 0.0), 0.1);
  EXPECT_DOUBLE_EQ(lr_at(9, 100, 10, LrSchedule::cosine, 1.0, 0.0), 1.0);
  EXPECT_DOUBLE_EQ(lr_at(10, 100, 10, LrSchedule::cosine, 1.0, 0.0), 1.0);
  EXPECT_NEAR(lr_at(55, 100, 10, LrSchedule::cosine, 1.0, 0.0), 0.5, 1e-12);
  EXPECT_NEAR(lr_at(100, 100, 10, LrSchedule::cosine, 1.0, 0.1), 0.1, 1e-12);
  EXPECT_NEAR(lr_at(55, 100, 10, LrSchedule::linear, 1.0, 0.0), 0.5, 1e-12);
  EXPECT_DOUBLE_EQ(lr_at(70, 100, 0, LrSchedule::constant, 0.3, 0.0), 0.3);
  EXPECT_THROW(lr_schedule_parse("exp"), UsageError);
}
