// Reading the peers' fixture files (written by torch/safetensors/transformers/PEFT), writing them back.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "core/fs.hpp"
#include "core/safetensors.hpp"
#include "st_test_util.hpp"

namespace tsft {
namespace {

namespace stdfs = std::filesystem;
using test::TempDir;

std::vector<std::string> fixture_files() {
  std::vector<std::string> out;
  for (const auto& e : stdfs::recursive_directory_iterator(test::hf_fixtures()))
    if (e.path().extension() == ".safetensors") out.push_back(e.path().string());
  std::sort(out.begin(), out.end());
  return out;
}

// The header as the test reads it itself: plain JSON parse of bytes [8, 8 + N).
nlohmann::json raw_header(const std::string& path) {
  std::string bytes = test::read_file(path);
  uint64_t n;
  std::memcpy(&n, bytes.data(), 8);
  return nlohmann::json::parse(bytes.substr(8, n));
}

bool same_bytes(const SafetensorsFile& a, const TensorInfo& ta, const SafetensorsFile& b,
                const TensorInfo& tb) {
  return ta.nbytes() == tb.nbytes() && std::memcmp(a.raw(ta), b.raw(tb), ta.nbytes()) == 0;
}

TEST(SafetensorsFixtures, EveryFileMatchesItsHeader) {
  auto files = fixture_files();
  ASSERT_GE(files.size(), 16u) << "fixtures missing under " << test::hf_fixtures();
  for (const std::string& path : files) {
    SCOPED_TRACE(path);
    auto f = SafetensorsFile::open(path);
    nlohmann::json h = raw_header(path);
    size_t expected = h.size() - (h.contains("__metadata__") ? 1 : 0);
    ASSERT_EQ(f->tensors().size(), expected);
    size_t prev_end = 0;
    for (const TensorInfo& t : f->tensors()) {
      ASSERT_TRUE(h.contains(t.name)) << t.name;
      const auto& e = h[t.name];
      EXPECT_EQ(dtype_name(t.dtype), e["dtype"].get<std::string>()) << t.name;
      EXPECT_EQ(t.shape, e["shape"].get<std::vector<int64_t>>()) << t.name;
      EXPECT_EQ(t.begin, e["data_offsets"][0].get<size_t>()) << t.name;
      EXPECT_EQ(t.end, e["data_offsets"][1].get<size_t>()) << t.name;
      EXPECT_EQ(t.begin, prev_end) << "tensors() must be in offset order";
      prev_end = t.end;
      EXPECT_EQ(f->find(t.name), &t);
    }
    std::map<std::string, std::string> md;
    if (h.contains("__metadata__")) md = h["__metadata__"].get<std::map<std::string, std::string>>();
    EXPECT_EQ(f->metadata(), md);
    EXPECT_EQ(8 + f->header_size() + f->data_size(), stdfs::file_size(path));
  }
}

TEST(SafetensorsFixtures, KnownDtypesAndShapes) {
  std::string hf = test::hf_fixtures();
  auto lora = SafetensorsFile::open(hf + "/llama3-lora/adapter_model.safetensors");
  ASSERT_FALSE(lora->tensors().empty());
  for (const auto& t : lora->tensors()) EXPECT_EQ(t.dtype, DType::F64) << t.name;
  auto bf = SafetensorsFile::open(hf + "/qwen2-bf16/model.safetensors");
  for (const auto& t : bf->tensors()) EXPECT_EQ(t.dtype, DType::BF16) << t.name;
  auto golden = SafetensorsFile::open(hf + "/qwen2/golden.safetensors");
  const TensorInfo& ids = golden->get("input_ids");
  EXPECT_EQ(ids.dtype, DType::I64);
  EXPECT_EQ(ids.shape, (std::vector<int64_t>{2, 24}));
  auto v = golden->to_i64("input_ids");
  ASSERT_EQ(v.size(), 48u);
  for (int64_t id : v) EXPECT_TRUE(id >= 0 && id < 320) << id;  // vocab 320
  auto labels = golden->to_i64("labels");
  EXPECT_TRUE(std::count(labels.begin(), labels.end(), -100) > 0);
  auto model = SafetensorsFile::open(hf + "/qwen2/model.safetensors");
  EXPECT_EQ(model->get("model.embed_tokens.weight").shape, (std::vector<int64_t>{320, 64}));
  EXPECT_EQ(model->metadata().at("format"), "pt");
  test::expect_error([&] { model->get("lm_head.weight"); }, {"qwen2/model.safetensors", "'lm_head.weight'"});
  test::expect_error([&] { golden->to_f32("input_ids"); }, {"golden.safetensors", "'input_ids'", "I64"});
  test::expect_error([&] { model->to_i64("model.norm.weight"); }, {"'model.norm.weight'", "F32"});
}

TEST(SafetensorsFixtures, F64AdapterReadsExactly) {
  auto lora = SafetensorsFile::open(test::hf_fixtures() + "/llama3-lora/adapter_model.safetensors");
  for (const auto& t : lora->tensors()) {
    std::vector<double> d = lora->to_f64(t.name);
    std::vector<float> f = lora->to_f32(t.name);
    ASSERT_EQ(d.size(), static_cast<size_t>(t.numel()));
    for (size_t i = 0; i < d.size(); ++i) {
      double raw;
      std::memcpy(&raw, lora->raw(t) + 8 * i, 8);
      ASSERT_EQ(std::bit_cast<uint64_t>(d[i]), std::bit_cast<uint64_t>(raw));
      ASSERT_EQ(f[i], static_cast<float>(raw));
    }
  }
}

TEST(SafetensorsFixtures, ShardedQwen2EqualsSingleFile) {
  std::string hf = test::hf_fixtures();
  auto ck = SafetensorsCheckpoint::open(hf + "/qwen2-sharded");
  auto single = SafetensorsCheckpoint::open(hf + "/qwen2");
  ASSERT_EQ(ck.files().size(), 4u);
  ASSERT_EQ(single.files().size(), 1u);
  ASSERT_EQ(ck.names(), single.names());
  nlohmann::json index =
      nlohmann::json::parse(test::read_file(hf + "/qwen2-sharded/model.safetensors.index.json"));
  ASSERT_EQ(index["weight_map"].size(), ck.names().size());
  for (const std::string& name : ck.names()) {
    auto [sf, st] = ck.locate(name);
    auto [rf, rt] = single.locate(name);
    EXPECT_EQ(stdfs::path(sf->path()).filename().string(), index["weight_map"][name].get<std::string>());
    EXPECT_EQ(st->dtype, rt->dtype) << name;
    EXPECT_EQ(st->shape, rt->shape) << name;
    EXPECT_TRUE(same_bytes(*sf, *st, *rf, *rt)) << name;
    EXPECT_EQ(sf->to_f32(name), rf->to_f32(name)) << name;
  }
  EXPECT_FALSE(ck.has("lm_head.weight"));  // tied embeddings
  test::expect_error([&] { ck.locate("lm_head.weight"); }, {"qwen2-sharded", "'lm_head.weight'"});
}

TEST(SafetensorsFixtures, Bf16IsRoundedF32) {
  std::string hf = test::hf_fixtures();
  auto bf = SafetensorsFile::open(hf + "/qwen2-bf16/model.safetensors");
  auto f32 = SafetensorsFile::open(hf + "/qwen2/model.safetensors");
  ASSERT_EQ(bf->tensors().size(), f32->tensors().size());
  size_t changed = 0, total = 0;
  for (const auto& t : bf->tensors()) {
    std::vector<float> orig = f32->to_f32(t.name);
    std::vector<float> got = bf->to_f32(t.name);
    ASSERT_EQ(got.size(), orig.size()) << t.name;
    for (size_t i = 0; i < got.size(); ++i) {
      uint16_t raw;
      std::memcpy(&raw, bf->raw(t) + 2 * i, 2);
      ASSERT_EQ(raw, f32_to_bf16(orig[i])) << t.name << "[" << i << "]";
      ASSERT_EQ(got[i], bf16_to_f32(f32_to_bf16(orig[i])));
      // Independent check: the nearer of the two bf16 neighbours (truncation and truncation + 1 ulp).
      uint32_t b = std::bit_cast<uint32_t>(orig[i]);
      double lo = std::bit_cast<float>(b & 0xFFFF0000u),
             hi = std::bit_cast<float>((b & 0xFFFF0000u) + 0x10000u);
      double x = orig[i];
      ASSERT_LE(std::fabs(double(got[i]) - x), std::min(std::fabs(x - lo), std::fabs(hi - x)));
      changed += got[i] != orig[i];
      ++total;
    }
  }
  EXPECT_GT(changed, total / 2) << "bf16 rounding should change most random weights";
}

// Writing each fixture's tensors with our writer reproduces the file byte for byte (same layout
// rule, same compact JSON, same padding) when metadata has at most one key (the reference's
// metadata map is unordered beyond that).
TEST(SafetensorsRoundTrip, WriterReproducesFixtureBytes) {
  TempDir tmp;
  for (const std::string& path : fixture_files()) {
    SCOPED_TRACE(path);
    auto f = SafetensorsFile::open(path);
    ASSERT_LE(f->metadata().size(), 1u);
    std::vector<TensorWrite> ws;
    for (const auto& t : f->tensors()) ws.push_back(safetensors_copy(*f, t));
    std::reverse(ws.begin(), ws.end());  // input order must not matter
    std::string out = tmp / "out.safetensors";
    safetensors_write(out, ws, f->metadata());
    EXPECT_TRUE(test::read_file(out) == test::read_file(path));
  }
}

TEST(SafetensorsRoundTrip, EveryFixtureWritesAndReadsBack) {
  TempDir tmp;
  for (const std::string& path : fixture_files()) {
    SCOPED_TRACE(path);
    auto f = SafetensorsFile::open(path);
    std::vector<TensorWrite> ws;
    for (const auto& t : f->tensors()) ws.push_back(safetensors_copy(*f, t));
    std::map<std::string, std::string> md = f->metadata();
    md["written_by"] = "tsft test";
    md["note"] = "quote \" backslash \\ newline \n unicode \u00e9\u4e2d";
    std::string out = tmp / stdfs::path(path).filename().string();
    safetensors_write(out, ws, md);
    auto g = SafetensorsFile::open(out);
    EXPECT_EQ(g->header_size() % 8, 0u);
    EXPECT_EQ(g->metadata(), md);
    ASSERT_EQ(g->tensors().size(), f->tensors().size());
    for (const auto& t : f->tensors()) {
      const TensorInfo* u = g->find(t.name);
      ASSERT_NE(u, nullptr) << t.name;
      EXPECT_EQ(u->dtype, t.dtype);
      EXPECT_EQ(u->shape, t.shape);
      EXPECT_TRUE(same_bytes(*f, t, *g, *u)) << t.name;
    }
  }
  std::set<std::string> basenames;
  for (const std::string& path : fixture_files()) basenames.insert(stdfs::path(path).filename().string());
  auto left = test::list_dir(tmp.path());
  EXPECT_EQ(std::set<std::string>(left.begin(), left.end()), basenames) << "no temp files may be left";
}

std::vector<TensorWrite> qwen2_tensors() {
  auto f = SafetensorsFile::open(test::hf_fixtures() + "/qwen2/model.safetensors");
  std::vector<TensorWrite> ws;
  for (const auto& t : f->tensors()) ws.push_back(safetensors_copy(*f, t));
  return ws;
}

void expect_checkpoint_equals(const SafetensorsCheckpoint& ck, const std::vector<TensorWrite>& ws) {
  ASSERT_EQ(ck.names().size(), ws.size());
  for (const TensorWrite& w : ws) {
    auto [f, t] = ck.locate(w.name);
    EXPECT_EQ(t->dtype, w.dtype);
    EXPECT_EQ(t->shape, w.shape);
    ASSERT_EQ(t->nbytes(), w.bytes.size());
    EXPECT_EQ(std::memcmp(f->raw(*t), w.bytes.data(), w.bytes.size()), 0) << w.name;
  }
}

TEST(SafetensorsCheckpointWrite, ShardsLikeSavePretrained) {
  TempDir tmp;
  auto ws = qwen2_tensors();
  std::string dir = tmp / "ck";
  // 150 kB reproduces the fixture's 4-shard split made by transformers with max_shard_size="150kB".
  safetensors_write_checkpoint(dir, ws, {{"step", "10"}}, 150000);
  std::string hf = test::hf_fixtures();
  nlohmann::json ours = nlohmann::json::parse(test::read_file(dir + "/model.safetensors.index.json"));
  nlohmann::json ref =
      nlohmann::json::parse(test::read_file(hf + "/qwen2-sharded/model.safetensors.index.json"));
  EXPECT_EQ(ours["weight_map"], ref["weight_map"]);
  EXPECT_EQ(ours["metadata"]["total_size"], ref["metadata"]["total_size"]);
  EXPECT_EQ(ours["metadata"]["total_parameters"], ref["metadata"]["total_parameters"]);
  EXPECT_EQ(test::list_dir(dir),
            (std::vector<std::string>{"model-00001-of-00004.safetensors", "model-00002-of-00004.safetensors",
                                      "model-00003-of-00004.safetensors", "model-00004-of-00004.safetensors",
                                      "model.safetensors.index.json"}));
  for (int i = 1; i <= 4; ++i) {
    std::string name = fmt::format("model-{:05d}-of-00004.safetensors", i);
    auto ours_f = SafetensorsFile::open(dir + "/" + name);
    auto ref_f = SafetensorsFile::open(hf + "/qwen2-sharded/" + name);
    EXPECT_EQ(ours_f->metadata(), (std::map<std::string, std::string>{{"format", "pt"}, {"step", "10"}}));
    ASSERT_EQ(ours_f->tensors().size(), ref_f->tensors().size()) << name;
    for (size_t k = 0; k < ref_f->tensors().size(); ++k)
      EXPECT_EQ(ours_f->tensors()[k].name, ref_f->tensors()[k].name);
  }
  expect_checkpoint_equals(SafetensorsCheckpoint::open(dir), ws);
}

TEST(SafetensorsCheckpointWrite, SmallShardsAndOversizedTensors) {
  TempDir tmp;
  auto ws = qwen2_tensors();
  std::string dir = tmp / "ck";
  // 40 kB: the 80 kB embedding and the 45 kB MLP matrices exceed the limit and get shards of their own.
  safetensors_write_checkpoint(dir, ws, {}, 40000);
  auto ck = SafetensorsCheckpoint::open(dir);
  expect_checkpoint_equals(ck, ws);
  EXPECT_GT(ck.files().size(), 8u);
  for (const auto& f : ck.files()) {
    size_t bytes = f->data_size();
    EXPECT_TRUE(bytes <= 40000 || f->tensors().size() == 1) << f->path() << " " << bytes;
    EXPECT_EQ(f->metadata(), (std::map<std::string, std::string>{{"format", "pt"}}));
  }
}

TEST(SafetensorsCheckpointWrite, SwitchingLayoutsRemovesStaleFiles) {
  TempDir tmp;
  auto ws = qwen2_tensors();
  std::string dir = tmp / "ck";
  safetensors_write_checkpoint(dir, ws, {}, 150000);
  EXPECT_EQ(test::list_dir(dir).size(), 5u);
  safetensors_write_checkpoint(dir, ws, {}, 0);
  EXPECT_EQ(test::list_dir(dir), std::vector<std::string>{"model.safetensors"});
  expect_checkpoint_equals(SafetensorsCheckpoint::open(dir), ws);
  EXPECT_EQ(test::read_file(dir + "/model.safetensors"),
            test::read_file(test::hf_fixtures() + "/qwen2/model.safetensors"));
  safetensors_write_checkpoint(dir, ws, {}, 40000);
  auto names = test::list_dir(dir);
  EXPECT_EQ(std::count(names.begin(), names.end(), "model.safetensors"), 0);
  expect_checkpoint_equals(SafetensorsCheckpoint::open(dir), ws);
  // A larger limit now: fewer shards; the extra ones from before must be gone.
  safetensors_write_checkpoint(dir, ws, {}, 150000);
  EXPECT_EQ(test::list_dir(dir).size(), 5u);
  expect_checkpoint_equals(SafetensorsCheckpoint::open(dir), ws);
}

TEST(SafetensorsCheckpointWrite, CommittedThroughTempDir) {
  TempDir tmp;
  auto ws = qwen2_tensors();
  std::string final_dir = tmp / "runs/a/checkpoint-10";
  std::string t = fs_make_temp_dir(final_dir);
  safetensors_write_checkpoint(t, ws, {}, 150000);
  fs_commit_dir(t, final_dir);
  expect_checkpoint_equals(SafetensorsCheckpoint::open(final_dir), ws);
  EXPECT_EQ(test::list_dir(tmp / "runs/a"), std::vector<std::string>{"checkpoint-10"});
}

TEST(SafetensorsWrite, EmptyAndScalarTensors) {
  TempDir tmp;
  std::string path = tmp / "x.safetensors";
  float one = 1.5f;
  std::vector<TensorWrite> ws = {{"scalar", DType::F32, {}, safetensors_encode_f32(&one, 1, DType::F32)},
                                 {"empty", DType::BF16, {0, 3}, {}},
                                 {"flags", DType::BOOL, {3}, {1, 0, 1}},
                                 {"small", DType::I8, {2}, {0xFF, 0x7F}},
                                 {"u", DType::U8, {2}, {0xFF, 0x7F}},
                                 {"h", DType::I16, {1}, {0x00, 0x80}}};
  safetensors_write(path, ws);
  auto f = SafetensorsFile::open(path);
  EXPECT_TRUE(f->metadata().empty());
  EXPECT_EQ(f->get("scalar").numel(), 1);
  EXPECT_EQ(f->to_f32("scalar"), std::vector<float>{1.5f});
  EXPECT_EQ(f->get("empty").numel(), 0);
  EXPECT_TRUE(f->to_f32("empty").empty());
  EXPECT_EQ(f->to_i64("flags"), (std::vector<int64_t>{1, 0, 1}));
  EXPECT_EQ(f->to_i64("small"), (std::vector<int64_t>{-1, 127}));
  EXPECT_EQ(f->to_i64("u"), (std::vector<int64_t>{255, 127}));
  EXPECT_EQ(f->to_i64("h"), (std::vector<int64_t>{-32768}));
  safetensors_write(path, {});
  EXPECT_EQ(test::read_file(path), test::u64_le(8) + "{}      ");  // the reference's empty file
}

}  // namespace
}  // namespace tsft
