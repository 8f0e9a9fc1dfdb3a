#include "train/guard.hpp"

#include <cmath>
#include <filesystem>
#include <fstream>

#include "core/error.hpp"
#include "core/fs.hpp"

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace tsft {

NonFinitePolicy nonfinite_policy_parse(const std::string& s) {
  if (s == "stop") return NonFinitePolicy::stop;
  if (s == "skip") return NonFinitePolicy::skip;
  throw UsageError("unknown non-finite policy '" + s + "' (stop, skip)");
}

namespace {
int64_t count_nonfinite(const float* p, size_t n) {
  int64_t c = 0;
  for (size_t i = 0; i < n; i++) c += !std::isfinite(p[i]);
  return c;
}

// Replays micro-batches in order into zeroed gradients until the loss or the accumulated gradient
// norm (clip_grad_norm(0) measures without scaling) turns non-finite; returns that index or -1.
int first_bad_micro_batch(Engine& e, Workspace& ws, const std::vector<MicroBatch>& mbs, int64_t sup) {
  e.zero_grads();
  for (size_t k = 0; k < mbs.size(); k++) {
    const MicroBatch& mb = mbs[k];
    if (mb.supervised == 0) continue;
    Batch b{mb.ids.data(), mb.targets.data(), mb.pos.data(), mb.doc.data(), mb.B, mb.T};
    ForwardResult fr = e.forward(ws, b, nullptr, true, 1.0 / std::max<int64_t>(1, sup));
    e.backward(ws, b);
    if (!std::isfinite(fr.loss_sum) || !std::isfinite(e.clip_grad_norm(0.0))) return (int)k;
  }
  return -1;
}
}  // namespace

NonFiniteReport nonfinite_diagnose(Engine& e, Workspace& ws, const std::vector<MicroBatch>& mbs,
                                   const std::vector<std::vector<size_t>>& which, int64_t sup) {
  NonFiniteReport r;
  r.micro_batches = (int)mbs.size();
  r.micro_batch = first_bad_micro_batch(e, ws, mbs, sup);
  if (r.micro_batch >= 0) r.rows = which.at(r.micro_batch);
  e.for_each_tensor([&](const TensorEntry& t, TensorRef<float> ref) {
    NonFiniteTensor nt{t.name, t.numel, ref.g ? count_nonfinite(ref.g, t.numel) : 0,
                       count_nonfinite(ref.w, t.numel)};
    if (nt.grad_nonfinite > 0 && r.first_grad.empty()) r.first_grad = t.name;
    if (nt.grad_nonfinite > 0 || nt.weight_nonfinite > 0) r.tensors.push_back(nt);
  });
  return r;
}

// JSON has no NaN/inf: non-finite numbers are written as strings ("nan", "inf", "-inf").
static json number(double x) {
  if (std::isfinite(x)) return x;
  return std::isnan(x) ? "nan" : (x > 0 ? "inf" : "-inf");
}

json nonfinite_to_json(const NonFiniteReport& r) {
  json ts = json::array();
  for (auto& t : r.tensors)
    ts.push_back({{"name", t.name},
                  {"numel", t.numel},
                  {"grad_nonfinite", t.grad_nonfinite},
                  {"weight_nonfinite", t.weight_nonfinite}});
  return {{"step", r.step},
          {"loss", number(r.loss)},
          {"grad_norm", number(r.grad_norm)},
          {"lr", r.lr},
          {"micro_batch", r.micro_batch},
          {"micro_batches", r.micro_batches},
          {"rows", r.rows},
          {"first_nonfinite_grad", r.first_grad},
          {"tensors", ts}};
}

std::string nonfinite_write(const NonFiniteReport& r, const std::string& out_dir, const json& extra) {
  json j = nonfinite_to_json(r);
  j.update(extra);
  std::string path = (fs::path(out_dir) / fmt::format("nonfinite-step-{:06d}.json", r.step)).string();
  fs_write_atomic(path, j.dump(2) + "\n");
  return path;
}

std::string nonfinite_summary(const NonFiniteReport& r) {
  std::string mb = r.micro_batch >= 0
                       ? fmt::format("micro-batch {} of {}", r.micro_batch + 1, r.micro_batches)
                       : fmt::format("no single micro-batch of {}", r.micro_batches);
  std::string tensor = "no gradient value is non-finite";
  for (auto& t : r.tensors)
    if (t.name == r.first_grad)
      tensor =
          fmt::format("first non-finite gradient: {} ({} of {} values)", t.name, t.grad_nonfinite, t.numel);
  return fmt::format("step {}, {}: loss {} / grad norm {} is not finite (lr {:.3g}); {}", r.step, mb, r.loss,
                     r.grad_norm, r.lr, tensor);
}

std::string nonfinite_first_weight(const Model& host, int64_t* count) {
  for (auto& t : host.table.entries) {
    if (!t.trainable) continue;
    int64_t c = count_nonfinite(host.params.data() + t.offset, t.numel);
    if (c > 0) {
      if (count) *count = c;
      return t.name;
    }
  }
  return "";
}

int64_t mem_available_bytes() {
  std::ifstream in("/proc/meminfo");
  std::string key, unit;
  int64_t kb = 0;
  while (in >> key >> kb >> unit)
    if (key == "MemAvailable:") return kb * 1024;
  return -1;
}

void check_train_memory(int64_t trainable_params, size_t activation_bytes, int B, int T, int64_t available) {
  double optim = 12.0 * (double)trainable_params, need = optim + (double)activation_bytes;
  if (available < 0 || need <= (double)available) return;
  const double gib = 1024.0 * 1024.0 * 1024.0;
  TSFT_FAIL(
      "training needs ~{:.2f} GiB more memory (gradients + AdamW moments {:.2f} GiB, activations {:.2f} GiB "
      "for {} x {} tokens) but only {:.2f} GiB is available (MemAvailable, /proc/meminfo); lower "
      "--micro-batch "
      "or --block, train fewer tensors (--trainable), or pass --no-memory-check (TSFT_NO_MEMORY_CHECK=1)",
      need / gib, optim / gib, activation_bytes / gib, B, T, available / gib);
}

std::string last_checkpoint(const std::string& out_dir) {
  std::string best;
  std::error_code ec;
  for (auto& p : fs::directory_iterator(out_dir, ec)) {
    std::string n = p.path().filename().string();
    if (p.is_directory() && n.rfind("checkpoint-", 0) == 0 && n.find(".tsft") == std::string::npos &&
        p.path().string() > best)
      best = p.path().string();
  }
  return best;
}

}  // namespace tsft
