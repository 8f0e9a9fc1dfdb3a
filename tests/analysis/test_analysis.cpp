#include <gtest/gtest.h>

#include "analysis/analysis.hpp"
#include "core/rng.hpp"

using namespace tsft;

TEST(Analysis, DeltasAndTransplantAreLocalized) {
  ModelConfig c = config_make("llama", 40, 16, 32, 3, 2, 1, 8, 32);
  Model base = model_create(c);
  model_init_weights(base, 1, 0.02);
  Model tuned = base;
  // change only layer 1's MLP
  for (auto& e : tuned.table.entries)
    if (e.group == Group::mlp && e.layer == 1)
      for (size_t i = 0; i < e.numel; i++) tuned.params[e.offset + i] *= 1.5f;
  tuned.bind();
  auto j = analysis_weight_deltas(base, tuned);
  EXPECT_NEAR(j["groups"]["mlp"]["rel_change"].get<double>(), 0.5 / std::sqrt(3.0), 0.05);
  EXPECT_EQ(j["groups"]["attn"]["rel_change"].get<double>(), 0.0);
  EXPECT_NEAR(j["layers"][1]["mlp"].get<double>(), 0.5, 1e-6);
  EXPECT_EQ(j["layers"][0]["mlp"].get<double>(), 0.0);
  Model only_attn = analysis_transplant(base, tuned, "attn");
  EXPECT_EQ(only_attn.params, base.params);
  Model only_mlp = analysis_transplant(base, tuned, "mlp");
  EXPECT_EQ(only_mlp.params, tuned.params);
  EXPECT_ANY_THROW(analysis_transplant(base, tuned, "mlps"));
}
