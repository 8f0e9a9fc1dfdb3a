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
  auto eng = engine_create({}, model_load(fixture("hf/" + model)));
  Engine& m = *eng;
  Model start = model_load(fixture("hf/" + model));
  m.set_trainable(select_parse(which, m.config().L, m.config().tie_word_embeddings));
  Optimizer opt;
  opt.cfg.lr = j["lr"];
  opt.cfg.beta1 = j["betas"][0];
  opt.cfg.beta2 = j["betas"][1];
  opt.cfg.eps = j["eps"];
  opt.cfg.weight_decay = j["weight_decay"];
  opt.cfg.clip = j["clip_grad_norm"];
  auto gf = SafetensorsFile::open(fixture("hf/" + model + "/golden.safetensors"));
  auto ids64 = gf->to_i64("input_ids");
  auto labels = gf->to_i64("labels");
  const int B = (int)gf->get("input_ids").shape[0], T = (int)gf->get("input_ids").shape[1];
  std::vector<int32_t> ids(ids64.begin(), ids64.end()), pos(B * T);
  for (int i = 0; i < B * T; i++) pos[i] = i % T;
  std::vector<int32_t> targets = targets_from_labels(labels, B, T);
  std::unique_ptr<Workspace> act = m.workspace(B, T, true);
  Batch batch{ids.data(), targets.data(), pos.data(), nullptr, B, T};
  int64_t n_valid = count_valid_targets(targets.data(), targets.size());
  const int steps = j["steps"];
  for (int s = 0; s < steps; s++) {
    m.zero_grads();
    ForwardResult r = m.forward(*act, batch, nullptr, true, 1.0 / n_valid);
    m.backward(*act, batch);
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
  Model fin = engine_download(m);
  for (auto& e : fin.table.entries) {
    std::vector<double> ref = tf->to_f64(e.name);
    ASSERT_EQ(ref.size(), e.numel);
    double err = rel_l2(fin.params.data() + e.offset, ref.data(), e.numel);
    worst = std::max(worst, err);
    EXPECT_LE(err, 1e-4) << model << "/" << which << " " << e.name;
    if (!e.trainable) {  // frozen tensors stay bit-identical
      EXPECT_EQ(0, std::memcmp(fin.params.data() + e.offset, start.params.data() + e.offset, e.numel * 4))
          << e.name;
    }
  }
  EXPECT_EQ(m.gradient_bytes(), 3 * sizeof(float) * m.table().count_params(true))
      << "gradients and optimizer state only for trainable tensors";
  std::printf("[trajectory] %s/%s worst final-parameter rel-L2 %.3e\n", model.c_str(), which.c_str(), worst);
}
}  // namespace

TEST(Trajectory, Llama3All) { run_trajectory("llama3", "all"); }
TEST(Trajectory, Llama3Mlp) { run_trajectory("llama3", "mlp"); }
TEST(Trajectory, Qwen2All) { run_trajectory("qwen2", "all"); }
TEST(Trajectory, Qwen2Mlp) { run_trajectory("qwen2", "mlp"); }
