// Checkpoint I/O: round trips of every fixture, config parsing, init, and bad inputs with clear errors.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/safetensors.hpp"
#include "model/model.hpp"
#include "test_util.hpp"

using namespace tsft;
using tsft_test::error_of;
using tsft_test::fixture;
using tsft_test::TempDir;
namespace fs = std::filesystem;

namespace {
void expect_same_checkpoint(const std::string& a_dir, const std::string& b_dir) {
  SafetensorsCheckpoint a = SafetensorsCheckpoint::open(a_dir), b = SafetensorsCheckpoint::open(b_dir);
  ASSERT_EQ(a.names(), b.names());
  for (auto& n : a.names()) {
    auto [fa, ta] = a.locate(n);
    auto [fb, tb] = b.locate(n);
    EXPECT_EQ(ta->dtype, tb->dtype) << n;
    EXPECT_EQ(ta->shape, tb->shape) << n;
    ASSERT_EQ(ta->nbytes(), tb->nbytes()) << n;
    EXPECT_EQ(0, std::memcmp(fa->raw(*ta), fb->raw(*tb), ta->nbytes())) << n << ": bytes differ";
  }
}

void copy_dir(const std::string& from, const std::string& to) {
  fs::create_directories(to);
  for (auto& p : fs::directory_iterator(from)) fs::copy(p.path(), fs::path(to) / p.path().filename());
}
}  // namespace

class RoundTrip : public ::testing::TestWithParam<std::string> {};
TEST_P(RoundTrip, LoadSaveLoadIsBitExact) {
  TempDir tmp;
  std::string src = fixture(GetParam());
  Model m = model_load(src);
  model_save(m, tmp / "out", src);
  expect_same_checkpoint(src, tmp / "out");
  Model m2 = model_load(tmp / "out");
  EXPECT_EQ(0, std::memcmp(m.params.data(), m2.params.data(), m.params.size() * 4));
  EXPECT_TRUE(fs::exists(tmp / "out/generation_config.json"));
  // sharded save round-trips too
  model_save(m, tmp / "sharded", src, "", 20000);
  EXPECT_TRUE(fs::exists(tmp / "sharded/model.safetensors.index.json"));
  expect_same_checkpoint(src, tmp / "sharded");
}
INSTANTIATE_TEST_SUITE_P(Fixtures, RoundTrip,
                         ::testing::Values("hf/llama3", "hf/qwen2", "hf/qwen2-sharded", "hf/qwen2-bf16"),
                         [](auto& info) {
                           std::string s = info.param.substr(3);
                           for (auto& c : s) if (!isalnum(c)) c = '_';
                           return s;
                         });

TEST(Checkpoint, TiedWeightsSavedOnce) {
  Model m = model_load(fixture("hf/qwen2"));
  EXPECT_EQ(m.table.find("lm_head.weight"), nullptr);
  EXPECT_EQ(m.w.lm_head, m.w.embed);
  TempDir tmp;
  model_save(m, tmp / "o");
  auto ck = SafetensorsCheckpoint::open(tmp / "o");
  EXPECT_FALSE(ck.has("lm_head.weight"));
}

TEST(Checkpoint, SaveAsBf16) {
  Model m = model_load(fixture("hf/qwen2"));
  TempDir tmp;
  model_save(m, tmp / "o", "", "bfloat16");
  Model b = model_load(tmp / "o");
  EXPECT_EQ(b.cfg.dtype, "bfloat16");
  for (auto& e : b.table.entries) EXPECT_EQ(e.file_dtype, DType::BF16) << e.name;
  for (size_t i = 0; i < m.params.size(); i++)
    ASSERT_NEAR(b.params[i], m.params[i], std::fabs(m.params[i]) * (1.0 / 256) + 1e-30);
}

TEST(Config, V5RopeParametersEqualClassicKeys) {
  ModelConfig a = config_load(fixture("hf/qwen2/config.json"));
  ModelConfig b = config_load(fixture("hf/qwen2-sharded/config.json"));
  EXPECT_EQ(a.rope.theta, b.rope.theta);
  EXPECT_EQ(a.C, b.C);
  EXPECT_TRUE(a.qkv_bias && !a.o_bias && a.tie_word_embeddings);
  ModelConfig l = config_load(fixture("hf/llama3/config.json"));
  EXPECT_EQ(l.rope.type, RopeType::llama3);
  EXPECT_EQ(l.rope.factor, 32.0);
  EXPECT_FALSE(l.tie_word_embeddings);
}

TEST(Config, Llama3RopeViaV5Parameters) {
  nlohmann::json j = nlohmann::json::parse(fs_read_text(fixture("hf/llama3/config.json")));
  j["rope_parameters"] = j["rope_scaling"];
  j["rope_parameters"]["rope_theta"] = j["rope_theta"];
  j.erase("rope_scaling");
  j.erase("rope_theta");
  ModelConfig c = config_from_json(j, "v5");
  EXPECT_EQ(c.rope.type, RopeType::llama3);
  EXPECT_EQ(c.rope.theta, 500000.0);
  EXPECT_EQ(c.rope.original_max_position, 8192);
}

TEST(Config, ErrorsNameTheKey) {
  nlohmann::json j = nlohmann::json::parse(fs_read_text(fixture("hf/llama3/config.json")));
  auto with = [&](const std::string& key, nlohmann::json v) {
    nlohmann::json k = j;
    if (v.is_null()) k.erase(key);
    else k[key] = v;
    return error_of([&] { config_from_json(k, "cfg.json"); });
  };
  EXPECT_NE(with("model_type", "gpt2").find("'model_type' = 'gpt2'"), std::string::npos);
  EXPECT_NE(with("hidden_act", "gelu").find("hidden_act"), std::string::npos);
  EXPECT_NE(with("use_sliding_window", true).find("use_sliding_window"), std::string::npos);
  EXPECT_NE(with("hidden_size", nullptr).find("'hidden_size'"), std::string::npos);
  EXPECT_NE(with("num_key_value_heads", 3).find("num_key_value_heads"), std::string::npos);
  EXPECT_NE(with("rope_scaling", {{"rope_type", "yarn"}, {"factor", 4}}).find("yarn"), std::string::npos);
  EXPECT_NE(with("vocab_size", "many").find("'vocab_size'"), std::string::npos);
  EXPECT_NE(with("hidden_size", 64).find(""), std::string::npos);
}

TEST(Init, SeededAndHfStyle) {
  ModelConfig c = config_make("qwen3", 100, 32, 64, 2, 4, 2, 8, 128);
  Model a = model_create(c), b = model_create(c), d = model_create(c);
  model_init_weights(a, 1, 0.02);
  model_init_weights(b, 1, 0.02);
  model_init_weights(d, 2, 0.02);
  EXPECT_EQ(a.params, b.params);
  EXPECT_NE(a.params, d.params);
  for (auto& e : a.table.entries) {
    const float* p = a.params.data() + e.offset;
    if (e.group == Group::norm) {
      for (size_t i = 0; i < e.numel; i++) ASSERT_EQ(p[i], 1.f) << e.name;
    } else if (e.numel > 1000) {
      double s = 0, s2 = 0;
      for (size_t i = 0; i < e.numel; i++) s += p[i], s2 += (double)p[i] * p[i];
      double mean = s / e.numel, sd = std::sqrt(s2 / e.numel - mean * mean);
      EXPECT_NEAR(sd, 0.02, 0.002) << e.name;
      EXPECT_NEAR(mean, 0.0, 0.002) << e.name;
    }
  }
  EXPECT_TRUE(a.table.find("model.layers.1.self_attn.q_norm.weight"));
}

// ---- bad inputs: each a clear error naming the file and the problem, no crash ----
TEST(BadCheckpoint, UnknownArchitecture) {
  TempDir tmp;
  copy_dir(fixture("hf/llama3"), tmp / "m");
  nlohmann::json j = nlohmann::json::parse(fs_read_text(tmp / "m/config.json"));
  j["model_type"] = "mamba";
  fs_write_atomic(tmp / "m/config.json", j.dump());
  std::string e = error_of([&] { model_load(tmp / "m"); });
  EXPECT_NE(e.find("model_type"), std::string::npos) << e;
  EXPECT_NE(e.find("mamba"), std::string::npos) << e;
  EXPECT_NE(e.find("config.json"), std::string::npos) << e;
}

TEST(BadCheckpoint, ShapeMismatchWithConfig) {
  TempDir tmp;
  copy_dir(fixture("hf/llama3"), tmp / "m");
  nlohmann::json j = nlohmann::json::parse(fs_read_text(tmp / "m/config.json"));
  j["intermediate_size"] = 128;
  fs_write_atomic(tmp / "m/config.json", j.dump());
  std::string e = error_of([&] { model_load(tmp / "m"); });
  EXPECT_NE(e.find("mlp.gate_proj.weight"), std::string::npos) << e;
  EXPECT_NE(e.find("[176, 64]"), std::string::npos) << e;
  EXPECT_NE(e.find("[128, 64]"), std::string::npos) << e;
}

TEST(BadCheckpoint, MissingTensorAndNonFloatDtype) {
  TempDir tmp;
  auto f = SafetensorsFile::open(fixture("hf/llama3/model.safetensors"));
  std::vector<TensorWrite> ts;
  for (auto& t : f->tensors()) {
    if (t.name == "model.layers.1.mlp.up_proj.weight") continue;
    TensorWrite w{t.name, t.dtype, t.shape, std::vector<uint8_t>(f->raw(t), f->raw(t) + t.nbytes())};
    ts.push_back(w);
  }
  fs::create_directories(tmp / "m");
  fs::copy(fixture("hf/llama3/config.json"), tmp / "m/config.json");
  safetensors_write(tmp / "m/model.safetensors", ts);
  std::string e = error_of([&] { model_load(tmp / "m"); });
  EXPECT_NE(e.find("missing tensor 'model.layers.1.mlp.up_proj.weight'"), std::string::npos) << e;

  // integer weights
  ts.clear();
  for (auto& t : f->tensors())
    ts.push_back({t.name, t.dtype, t.shape, std::vector<uint8_t>(f->raw(t), f->raw(t) + t.nbytes())});
  for (auto& t : ts)
    if (t.name == "model.norm.weight") t.dtype = DType::I32;
  safetensors_write(tmp / "m/model.safetensors", ts);
  e = error_of([&] { model_load(tmp / "m"); });
  EXPECT_NE(e.find("model.norm.weight"), std::string::npos) << e;
}

TEST(BadCheckpoint, TruncatedWeightsFile) {
  TempDir tmp;
  copy_dir(fixture("hf/qwen2"), tmp / "m");
  fs::resize_file(tmp / "m/model.safetensors", fs::file_size(tmp / "m/model.safetensors") - 100);
  std::string e = error_of([&] { model_load(tmp / "m"); });
  EXPECT_NE(e.find("model.safetensors"), std::string::npos) << e;
}

TEST(BadCheckpoint, NotADirectoryOrNoConfig) {
  TempDir tmp;
  EXPECT_NE(error_of([&] { model_load(tmp / "nope"); }).find("nope"), std::string::npos);
  EXPECT_NE(error_of([&] { model_load(tmp.str()); }).find("config.json"), std::string::npos);
}
