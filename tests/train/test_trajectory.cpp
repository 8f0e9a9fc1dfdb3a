// AdamW parity with torch.optim.AdamW: 10 steps on the golden batch (fixture hyper-parameters) must
// reproduce the recorded losses (relative error <= 1e-5) and final parameters (relative L2 <= 1e-4
// per tensor). fp32 against a float64 reference: each step's gradients carry ~1e-6 relative error
// (see parity bounds); Adam's update m/sqrt(v) is scale-free, so those errors move each update by a
// similar relative amount, and 10 updates of size lr = 1e-3 accumulate well under 1e-4 of ||W||.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/fs.hpp"
#include "core/safetensors.hpp"
#include "model/parity.hpp"
#include "model/transformer.hpp"
#include "test_util.hpp"
#include "train/optimizer.hpp"
#include "train/select.hpp"

using namespace tsft;
using tsft_test::fixture;

namespace {
void run_trajectory(const std::string& model, const std::string& which) {
  auto j = nlohmann::json::parse(fs_read_text(fixture("hf/" + model + "/trajectory-" + which + ".json")));
  Model m = model_load(fixture("hf/" + model));
  Model start = model_load(fixture("hf/" + model));
  m.set_trainable(select_parse(which, m.cfg.L, m.cfg.tie_word_embeddings));
  Optimizer opt;
  opt.cfg.lr = j["lr"];
  opt.cfg.beta1 = j["betas"][0];
  opt.cfg.beta2 = j["betas"][1];
  opt.cfg.eps = j["eps"];
  opt.cfg.weight_decay = j["weight_decay"];
  opt.cfg.clip = j["clip_grad_norm"];
  opt.init(m);
  auto gf = SafetensorsFile::open(fixture("hf/" + model + "/golden.safetensors"));
  auto ids64 = gf->to_i64("input_ids");
  auto labels = gf->to_i64("labels");
  const int B = (int)gf->get("input_ids").shape[0], T = (int)gf->get("input_ids").shape[1];
  std::vector<int32_t> ids(ids64.begin(), ids64.end()), pos(B * T);
  for (int i = 0; i < B * T; i++) pos[i] = i % T;
  std::vector<int32_t> targets = targets_from_labels(labels, B, T);
  Activations act = activations_create(m.cfg, B, T, true);
  Batch batch{ids.data(), targets.data(), pos.data(), nullptr, B, T};
  int64_t n_valid = count_valid_targets(targets.data(), targets.size());
  const int steps = j["steps"];
  for (int s = 0; s < steps; s++) {
    m.zero_grads();
    ForwardResult r = model_forward(m, act, batch, nullptr, true, 1.0 / n_valid);
    model_backward(m, act, batch);
    double loss = r.loss_sum / r.n_valid;
    double gn = opt.clip_gradients(m);
    double ref = j["losses"][s];
    EXPECT_LE(std::fabs(loss - ref) / ref, 1e-5) << model << "/" << which << " step " << s;
    double ref_gn = j["grad_norms"][s];
    EXPECT_LE(std::fabs(gn - ref_gn) / ref_gn, 1e-4) << "grad norm, step " << s;
    opt.update(m, opt.cfg.lr);
  }
  auto tf = SafetensorsFile::open(fixture("hf/" + model + "/trajectory-" + which + ".safetensors"));
  double worst = 0;
  for (auto& e : m.table.entries) {
    std::vector<double> ref = tf->to_f64(e.name);
    ASSERT_EQ(ref.size(), e.numel);
    double err = rel_l2(m.params.data() + e.offset, ref.data(), e.numel);
    worst = std::max(worst, err);
    EXPECT_LE(err, 1e-4) << model << "/" << which << " " << e.name;
    if (!e.trainable)  // frozen tensors stay bit-identical
      EXPECT_EQ(0, std::memcmp(m.params.data() + e.offset, start.params.data() + e.offset, e.numel * 4))
          << e.name;
  }
  EXPECT_EQ(opt.m.size(), m.table.count_params(true)) << "optimizer state only for trainable tensors";
  std::printf("[trajectory] %s/%s worst final-parameter rel-L2 %.3e\n", model.c_str(), which.c_str(), worst);
}
}  // namespace

TEST(Trajectory, Llama3All) { run_trajectory("llama3", "all"); }
TEST(Trajectory, Llama3Mlp) { run_trajectory("llama3", "mlp"); }
TEST(Trajectory, Qwen2All) { run_trajectory("qwen2", "all"); }
TEST(Trajectory, Qwen2Mlp) { run_trajectory("qwen2", "mlp"); }
