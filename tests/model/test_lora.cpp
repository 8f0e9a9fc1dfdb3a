// LoRA adapters: parity with PEFT on the fixture (fp32 and bf16), PEFT file round trips and layout,
// init, merge, frozen-base memory, dropout consistency, and clear errors on bad adapters.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "core/fs.hpp"
#include "core/safetensors.hpp"
#include "model/generate.hpp"
#include "model/lora.hpp"
#include "model/parity.hpp"
#include "test_util.hpp"

using namespace tsft;
using tsft_test::error_of;
using tsft_test::fixture;
using tsft_test::TempDir;
namespace fs = std::filesystem;

namespace {
const char* kBase = "hf/llama3";
const char* kAdapter = "hf/llama3-lora";

Model load_adapted() {
  Model m = model_load(fixture(kBase));
  adapter_load(m, fixture(kAdapter));
  return m;
}
size_t adapter_numel(const TensorTable& t) {
  size_t n = 0;
  for (auto& e : t.entries) n += e.group == Group::lora ? e.numel : 0;
  return n;
}
// Logits [N, V] of the golden batch (inference workspace).
std::vector<float> golden_logits(Engine& e) {
  auto gf = SafetensorsFile::open(fixture("hf/llama3-lora/golden.safetensors"));
  std::vector<int64_t> ids64 = gf->to_i64("input_ids");
  const int B = 2, T = (int)ids64.size() / 2;
  std::vector<int32_t> ids(ids64.begin(), ids64.end()), pos(ids.size());
  for (size_t n = 0; n < pos.size(); n++) pos[n] = (int32_t)(n % T);
  auto ws = e.workspace(B, T, false);
  std::vector<float> logits(ids.size() * e.config().V);
  Batch b{ids.data(), nullptr, pos.data(), nullptr, B, T};
  e.forward(*ws, b, logits.data());
  return logits;
}
double rel_l2f(const std::vector<float>& a, const std::vector<float>& b) {
  std::vector<double> bd(b.begin(), b.end());
  return rel_l2(a.data(), bd.data(), a.size());
}
// A copy of the fixture adapter whose config / tensors the caller edits.
std::string copy_adapter(const TempDir& d, const std::string& sub) {
  std::string dir = d / sub;
  fs::create_directories(dir);
  for (const char* f : {"adapter_config.json", "adapter_model.safetensors"})
    fs::copy_file(fixture(kAdapter) + "/" + f, dir + "/" + f);
  return dir;
}
void edit_config(const std::string& dir, const std::function<void(nlohmann::json&)>& f) {
  auto j = nlohmann::json::parse(fs_read_text(dir + "/adapter_config.json"));
  f(j);
  fs_write_atomic(dir + "/adapter_config.json", j.dump(2));
}
}  // namespace

// Acceptance: logits, loss and every LoRA gradient within the fp32 HF bounds (parity.cpp).
TEST(Lora, ParityFixtureFp32) {
  auto e = engine_create({}, load_adapted());
  e->set_trainable(lora_only);
  ParityReport r = parity_run(*e, fixture("hf/llama3-lora/golden.safetensors"));
  EXPECT_TRUE(r.missing.empty());
  EXPECT_EQ(r.grads.size(), 28u);  // 2 layers x 7 modules x (A, B)
  EXPECT_LE(r.logits_rel_l2, 1e-5);
  EXPECT_LE(r.loss_abs_err, 1e-5);
  EXPECT_LE(r.worst_grad_rel_l2, 1e-4);
  EXPECT_TRUE(r.pass);
  std::printf("[lora parity fp32] logits rel-L2 %.3e loss |d| %.3e worst grad rel-L2 %.3e\n", r.logits_rel_l2,
              r.loss_abs_err, r.worst_grad_rel_l2);
}

// The bf16 engine runs the LoRA terms on its bf16 GEMMs; the bf16 bounds (parity.cpp) hold: the LoRA
// branch adds two rounded GEMMs beside each projection, a parallel path, not a longer chain.
TEST(Lora, ParityFixtureBf16) {
  auto e = engine_create({"cpu", "bf16"}, load_adapted());
  e->set_trainable(lora_only);
  ParityReport r =
      parity_run(*e, fixture("hf/llama3-lora/golden.safetensors"), parity_bounds_bf16(e->config()));
  EXPECT_TRUE(r.pass) << "logits " << r.logits_rel_l2 << " grads " << r.worst_grad_rel_l2;
}

// Only the adapter has gradients and optimizer state: 3 x its floats (grad, m, v).
TEST(Lora, FrozenBaseMemoryIsAdapterSized) {
  auto e = engine_create({}, load_adapted());
  EXPECT_EQ(e->gradient_bytes(), 0u);
  e->set_trainable(lora_only);
  const size_t n = adapter_numel(e->table());
  EXPECT_EQ(n, 2u * (4 * (64 + 64) + 4 * (64 + 32) * 2 + 4 * (64 + 64) + 3 * 4 * (64 + 176)));
  EXPECT_EQ(e->gradient_bytes(), 3 * n * sizeof(float));
  e->for_each_tensor(
      [&](const TensorEntry& t, TensorRef<float> r) { EXPECT_EQ(r.g != nullptr, lora_only(t)); });
}

// B = 0 at init: the adapted model computes exactly the base model; A ~ U(-1/sqrt(in), 1/sqrt(in)).
TEST(Lora, PeftInitIsIdentity) {
  Model base = model_load(fixture(kBase));
  Model m = base;
  LoraConfig lc;
  lc.r = 8;
  lc.alpha = 16;
  lc.targets = lora_targets(
      m.table, [](const TensorEntry& e) { return e.group == Group::mlp; }, "mlp");
  ASSERT_EQ(lc.targets.size(), 6u);
  lora_attach(m, lc, 1);
  for_each_tensor(m, [&](const TensorEntry& e, TensorRef<float> r) {
    if (e.group != Group::lora) return;
    double bound = 1.0 / std::sqrt((double)e.shape[1]), mx = 0;
    for (size_t i = 0; i < e.numel; i++) mx = std::max(mx, (double)std::fabs(r.w[i]));
    if (e.name.find("lora_B") != std::string::npos)
      EXPECT_EQ(mx, 0.0) << e.name;
    else
      EXPECT_TRUE(mx <= bound && mx > 0.9 * bound) << e.name << " max " << mx << " bound " << bound;
  });
  auto eb = engine_create({}, std::move(base));
  auto ea = engine_create({}, std::move(m));
  std::vector<float> lb = golden_logits(*eb), la = golden_logits(*ea);
  EXPECT_EQ(0, std::memcmp(lb.data(), la.data(), lb.size() * sizeof(float)));
}

// load PEFT -> save -> load is bit-exact (F64 kept as F64; an F32 save reloads to the same floats).
TEST(Lora, RoundTripBitExact) {
  TempDir d;
  Model a = load_adapted();
  adapter_save(a, d / "f64", "shared/fixtures/hf/llama3");
  adapter_save(a, d / "f32", "", "float32");
  for (const char* sub : {"f64", "f32"}) {
    Model b = model_load(fixture(kBase));
    adapter_load(b, d / sub);
    ASSERT_EQ(a.params.size(), b.params.size());
    EXPECT_EQ(0, std::memcmp(a.params.data(), b.params.data(), a.params.size() * sizeof(float))) << sub;
  }
  // the F64 file holds the same tensors (names, shapes, dtype) as PEFT's, with the values we hold: fp32
  // (engine precision), so PEFT's F64 values rounded to fp32
  auto ours = SafetensorsFile::open(d / "f64/adapter_model.safetensors");
  auto peft = SafetensorsFile::open(fixture("hf/llama3-lora/adapter_model.safetensors"));
  ASSERT_EQ(ours->tensors().size(), peft->tensors().size());
  for (const TensorInfo& t : peft->tensors()) {
    const TensorInfo* o = ours->find(t.name);
    ASSERT_TRUE(o) << t.name;
    EXPECT_EQ(o->shape, t.shape);
    EXPECT_EQ(o->dtype, t.dtype);
    EXPECT_EQ(ours->to_f32(t.name), peft->to_f32(t.name)) << t.name;
  }
  EXPECT_EQ(ours->metadata(), peft->metadata());
}

// adapter_config.json: PEFT's key set, and the values that define the adapter.
TEST(Lora, ConfigHasPeftKeys) {
  TempDir d;
  adapter_save(load_adapted(), d / "a", "shared/fixtures/hf/llama3");
  auto ours = nlohmann::json::parse(fs_read_text(d / "a/adapter_config.json"));
  auto peft = nlohmann::json::parse(fs_read_text(fixture("hf/llama3-lora/adapter_config.json")));
  std::set<std::string> ko, kp;
  for (auto& [k, v] : ours.items()) ko.insert(k);
  for (auto& [k, v] : peft.items()) kp.insert(k);
  EXPECT_EQ(ko, kp);
  for (const char* k : {"r", "lora_alpha", "lora_dropout", "use_rslora", "peft_type", "task_type", "bias",
                        "use_dora", "fan_in_fan_out", "layers_to_transform", "base_model_name_or_path"})
    EXPECT_EQ(ours[k], peft[k]) << k;
  auto tm = [](const nlohmann::json& j) { return j.get<std::set<std::string>>(); };
  EXPECT_EQ(tm(ours["target_modules"]), tm(peft["target_modules"]));
}

// A selection that is not (modules x layers) is written as a regex PEFT full-matches; it reads back.
TEST(Lora, IrregularTargetsRoundTripAsRegex) {
  TempDir d;
  Model m = model_load(fixture(kBase));
  LoraConfig lc;
  lc.r = 2;
  lc.targets = {"model.layers.0.self_attn.q_proj.weight", "model.layers.1.mlp.down_proj.weight"};
  lora_attach(m, lc, 3);
  adapter_save(m, d / "a");
  auto j = nlohmann::json::parse(fs_read_text(d / "a/adapter_config.json"));
  EXPECT_EQ(j["target_modules"],
            "model\\.layers\\.0\\.self_attn\\.q_proj|model\\.layers\\.1\\.mlp\\.down_proj");
  Model b = model_load(fixture(kBase));
  adapter_load(b, d / "a");
  EXPECT_EQ(b.cfg.lora.targets, lc.targets);
  EXPECT_EQ(0, std::memcmp(m.params.data(), b.params.data(), m.params.size() * sizeof(float)));
  // layers_to_transform: every module of one layer
  Model c = model_load(fixture(kBase));
  lc.targets = lora_targets(
      c.table, [](const TensorEntry& e) { return e.layer == 1; }, "layers[1]");
  lora_attach(c, lc, 4);
  adapter_save(c, d / "c");
  j = nlohmann::json::parse(fs_read_text(d / "c/adapter_config.json"));
  EXPECT_EQ(j["layers_to_transform"], nlohmann::json::array({1}));
  Model c2 = model_load(fixture(kBase));
  adapter_load(c2, d / "c");
  EXPECT_EQ(c2.cfg.lora.targets, lc.targets);
}

// merge(base, adapter) computes the same logits as base + adapter. Bound: the merged weight rounds
// W + s B A once to fp32 (relative u = 6e-8 per weight) where the unmerged path rounds x A^T, u B^T and
// the sum; both are fp32 evaluations of one function, so they agree like two fp32 runs against the
// float64 golden: rel-L2 <= 1e-5 (parity.cpp). Also: the merged checkpoint save -> load is bit-exact.
TEST(Lora, MergeMatchesAdapter) {
  Model a = load_adapted();
  Model merged = lora_merge(a);
  TempDir d;
  model_save(merged, d / "merged");
  Model reloaded = model_load(d / "merged");
  ASSERT_EQ(reloaded.params.size(), merged.params.size());
  EXPECT_EQ(0,
            std::memcmp(reloaded.params.data(), merged.params.data(), merged.params.size() * sizeof(float)));
  auto ea = engine_create({}, std::move(a));
  auto em = engine_create({}, std::move(reloaded));
  const double err = rel_l2f(golden_logits(*em), golden_logits(*ea));
  EXPECT_LE(err, 1e-5);
  EXPECT_GT(err, 0.0);  // really two different computations
  std::printf("[lora merge] merged vs adapter logits rel-L2 %.3e\n", err);
}

// Dropout: eval forwards ignore it; a training step's backward uses the forward's mask, which a
// directional central difference of the loss (same seed) along the gradient confirms. Error budget: fp32
// loss round-off ~1e-6 over 2h gives ~5e-5 relative, and the step's curvature term adds a few 1e-4
// (measured 4.5e-4); a backward that regenerates a different mask is off by 7e-2 (checked by mutation),
// so 1e-2 separates the two.
TEST(Lora, DropoutForwardBackwardAgree) {
  Model m = load_adapted();
  m.cfg.lora.dropout = 0.3;
  auto e = engine_create({}, std::move(m));
  e->set_trainable(lora_only);
  auto gf = SafetensorsFile::open(fixture("hf/llama3-lora/golden.safetensors"));
  std::vector<int64_t> ids64 = gf->to_i64("input_ids"), labels = gf->to_i64("labels");
  const int B = 2, T = 24, N = B * T;
  std::vector<int32_t> ids(ids64.begin(), ids64.end()), pos(N), tg = targets_from_labels(labels, B, T);
  for (int n = 0; n < N; n++) pos[n] = n % T;
  auto ws = e->workspace(B, T, true);
  Batch b{ids.data(), tg.data(), pos.data(), nullptr, B, T};
  b.dropout_seed = 99;
  const int64_t nv = count_valid_targets(tg.data(), tg.size());
  auto loss = [&](bool train) {
    e->zero_grads();
    ForwardResult r = e->forward(*ws, b, nullptr, train, 1.0 / nv);
    return r.loss_sum / nv;
  };
  const double l_eval = loss(false), l_train = loss(true);
  EXPECT_NE(l_eval, l_train);
  EXPECT_EQ(l_train, loss(true));  // same seed, same mask
  e->backward(*ws, b);
  std::vector<float> g, d;
  e->for_each_tensor([&](const TensorEntry& t, TensorRef<float> r) {
    if (r.g) g.insert(g.end(), r.g, r.g + t.numel);
  });
  double gg = 0;
  for (float x : g) gg += (double)x * x;
  const double h = 1e-2 / std::sqrt(gg);  // step along the gradient direction
  auto shift = [&](double k) {
    size_t i = 0;
    e->for_each_tensor([&](const TensorEntry& t, TensorRef<float> r) {
      if (!r.g) return;
      for (size_t j = 0; j < t.numel; j++) r.w[j] += (float)(k * g[i + j]);
      i += t.numel;
    });
  };
  shift(h);
  const double lp = loss(true);
  shift(-2 * h);
  const double lm = loss(true);
  shift(h);
  const double fd = (lp - lm) / (2 * h), analytic = gg;
  EXPECT_NEAR(fd, analytic, 1e-2 * analytic) << "fd " << fd << " analytic " << analytic;
  std::printf("[lora dropout] directional derivative: fd %.6f analytic %.6f (rel %.2e)\n", fd, analytic,
              std::fabs(fd - analytic) / analytic);
}

TEST(Lora, BadAdapterErrorsNameFileAndKey) {
  TempDir d;
  {  // unknown target module
    std::string dir = copy_adapter(d, "a1");
    edit_config(dir, [](nlohmann::json& j) { j["target_modules"].push_back("foo_proj"); });
    Model m = model_load(fixture(kBase));
    std::string err = error_of([&] { adapter_load(m, dir); });
    EXPECT_NE(err.find("adapter_config.json"), std::string::npos) << err;
    EXPECT_NE(err.find("unknown target module 'foo_proj'"), std::string::npos) << err;
  }
  {  // a module no adapter here can target
    std::string dir = copy_adapter(d, "b");
    edit_config(dir, [](nlohmann::json& j) { j["target_modules"] = {"lm_head"}; });
    Model m = model_load(fixture(kBase));
    std::string err = error_of([&] { adapter_load(m, dir); });
    EXPECT_NE(err.find("'lm_head'"), std::string::npos) << err;
  }
  {  // DoRA is not plain LoRA
    std::string dir = copy_adapter(d, "a2");
    edit_config(dir, [](nlohmann::json& j) { j["use_dora"] = true; });
    Model m = model_load(fixture(kBase));
    std::string err = error_of([&] { adapter_load(m, dir); });
    EXPECT_NE(err.find("'use_dora'"), std::string::npos) << err;
    fs::remove_all(dir);
  }
  {  // integers are range-checked before narrowing; the rank is checked against the file before allocating
    auto refused = [&](const char* name, const std::function<void(nlohmann::json&)>& edit,
                       const std::string& msg) {
      std::string dir = copy_adapter(d, name);
      edit_config(dir, edit);
      Model m = model_load(fixture(kBase));
      std::string err = error_of([&] { adapter_load(m, dir); });
      EXPECT_NE(err.find(msg), std::string::npos) << err;
      fs::remove_all(dir);
    };
    refused(
        "r1", [](nlohmann::json& j) { j["r"] = 4294967297LL; }, "r = 4294967297 must be a positive integer");
    refused(
        "r2", [](nlohmann::json& j) { j["r"] = 0; }, "r = 0 must be a positive integer");
    refused(
        "r4", [](nlohmann::json& j) { j["r"] = 1000000000; },
        "says r = 1000000000 (every lora_A is [r, in])");
    refused(
        "l1", [](nlohmann::json& j) { j["layers_to_transform"] = 4294967296LL; },
        "layers_to_transform has layer 4294967296");
    refused(
        "l2",
        [](nlohmann::json& j) {
          j["layers_to_transform"] = {0, 18446744073709551615ULL};
        },
        "layers_to_transform has layer 9223372036854775807");
  }
  {  // missing tensor
    std::string dir = copy_adapter(d, "a3");
    auto f = SafetensorsFile::open(dir + "/adapter_model.safetensors");
    std::vector<TensorWrite> keep;
    for (auto& t : f->tensors())
      if (t.name.find("layers.1.mlp.up_proj.lora_B") == std::string::npos)
        keep.push_back(safetensors_copy(*f, t));
    f.reset();
    safetensors_write(dir + "/adapter_model.safetensors", keep, {{"format", "pt"}});
    Model m = model_load(fixture(kBase));
    std::string err = error_of([&] { adapter_load(m, dir); });
    EXPECT_NE(err.find("adapter_model.safetensors"), std::string::npos) << err;
    EXPECT_NE(err.find("missing tensor 'base_model.model.model.layers.1.mlp.up_proj.lora_B.weight'"),
              std::string::npos)
        << err;
    fs::remove_all(dir);
  }
  {  // another architecture: hidden size 32 -> shape error; 1 layer -> unexpected tensors
    ModelConfig c = model_load(fixture(kBase)).cfg;
    c.C = 32;
    c.raw = nlohmann::json::object();
    Model small = model_create(c);
    std::string err = error_of([&] { adapter_load(small, fixture(kAdapter)); });
    EXPECT_NE(err.find("has shape [4, 64]"), std::string::npos) << err;
    EXPECT_NE(err.find("another architecture"), std::string::npos) << err;
    ModelConfig c1 = model_load(fixture(kBase)).cfg;
    c1.L = 1;
    Model one = model_create(c1);
    err = error_of([&] { adapter_load(one, fixture(kAdapter)); });
    EXPECT_NE(err.find("unexpected tensor 'base_model.model.model.layers.1."), std::string::npos) << err;
  }
}

// Generation with an adapter: KV-cache decoding equals full recomputation (the LoRA term runs in both
// paths), and the first-token logits equal the merged model's (fp32 round-off: |d| <= 1e-4 as the
// cache test of test_generate.cpp).
TEST(Lora, GenerateWithAdapterCacheAndMerge) {
  Model a = load_adapted();
  auto em = engine_create({}, lora_merge(a));
  auto ea = engine_create({}, std::move(a));
  std::vector<std::vector<int32_t>> ps = {{1, 17, 45, 3}, {1, 200, 5}, {1, 9, 9, 9, 9, 31, 77}};
  GenOptions o;
  o.max_new_tokens = 12;
  o.max_batch = 2;
  auto with = generate(*ea, ps, o);
  auto merged = generate(*em, ps, o);
  o.use_cache = false;
  auto without = generate(*ea, ps, o);
  for (size_t i = 0; i < ps.size(); i++) {
    EXPECT_EQ(with[i].tokens, without[i].tokens) << "prompt " << i;
    ASSERT_EQ(with[i].first_logits.size(), merged[i].first_logits.size());
    for (size_t v = 0; v < with[i].first_logits.size(); v++)
      ASSERT_NEAR(with[i].first_logits[v], merged[i].first_logits[v], 1e-4) << "prompt " << i << " id " << v;
  }
}

// PEFT's "all-linear" shorthand is every linear layer but the head; exclude_modules (which would change
// the targets) is refused rather than ignored.
TEST(Lora, AllLinearShorthandAndExcludeModules) {
  TempDir d;
  std::string dir = copy_adapter(d, "all");
  edit_config(dir, [](nlohmann::json& j) { j["target_modules"] = "all-linear"; });
  Model m = model_load(fixture(kBase));
  adapter_load(m, dir);
  EXPECT_EQ(m.cfg.lora.targets, load_adapted().cfg.lora.targets);
  std::string ex = copy_adapter(d, "ex");
  edit_config(ex, [](nlohmann::json& j) { j["exclude_modules"] = {"q_proj"}; });
  Model m2 = model_load(fixture(kBase));
  std::string err = error_of([&] { adapter_load(m2, ex); });
  EXPECT_NE(err.find("'exclude_modules'"), std::string::npos) << err;
}
