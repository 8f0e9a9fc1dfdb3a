#include <algorithm>
#include <filesystem>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/jsonl.hpp"
#include "experiment/experiment_runner.hpp"

namespace tsft::exp_detail {
namespace fs = std::filesystem;

namespace {

// Model selection, the same rule for every arm: each saved checkpoint is decoded greedily on the
// validation problems (held-out training problems; [sft] select_limit of them, 0 = all) and the one with
// the highest answer accuracy is kept (ties: the earliest step). Writes select/<name>.json.
std::string select_checkpoint(Runner& r, const Plan& p, const std::string& name, const std::string& tr,
                              const std::string& k_train, const std::string& val_file,
                              const std::string& base, const std::string& trainable) {
  if (r.dry) {
    r.plan("eval", 1);  // one selection decode per arm (its checkpoint count is known only after training)
    return tr + "/final";
  }
  const json& sft = p.cfg["sft"];
  const json& ev = p.cfg["eval"];
  std::vector<std::string> ckpts;
  for (auto& e : fs::directory_iterator(tr))
    if (e.is_directory() && e.path().filename().string().rfind("checkpoint-", 0) == 0)
      ckpts.push_back(e.path().string());
  std::sort(ckpts.begin(), ckpts.end());
  TSFT_CHECK(!ckpts.empty(), "{}: no checkpoint to select from", tr);
  json sel = {{"rule", "validation answer accuracy (greedy), ties: earliest"},
              {"checkpoints", json::array()}};
  std::string best;
  double best_acc = -1;
  r.plan("eval", (int)ckpts.size() - 1);
  for (auto& c : ckpts) {
    std::string step = fs::path(c).filename().string(), dir = p.out + "/select/" + name + "/" + step;
    // Early stopping on validation accuracy already decoded this checkpoint with the same arguments.
    std::string early = tr + "/val-eval/" + step;
    if (fs::exists(early + "/metrics.json"))
      dir = early, r.finish("eval");  // counted as a finished stage
    else
      r.stage(
          "select/" + name + "/" + step, experiment_hash(k_train + step + ev.dump() + sft.dump()),
          plus(plus({"eval", "--out", dir, "--max-new-tokens", cfg_arg(p.cfg, "eval", "max_new_tokens"),
                     "--batch", cfg_arg(p.cfg, "eval", "batch"), "--limit",
                     cfg_arg(p.cfg, "sft", "select_limit"), "--threads", p.threads, "-q", "--data", val_file},
                    chat_args(p)),
               model_args(base, c, trainable)));
    double acc = json_read_file(dir + "/metrics.json")["overall"]["accuracy"].get<double>();
    sel["checkpoints"].push_back({{"checkpoint", step}, {"val_accuracy", acc}});
    if (acc > best_acc) best_acc = acc, best = c;
  }
  sel["selected"] = fs::path(best).filename().string();
  sel["val_accuracy"] = best_acc;
  fs::create_directories(p.out + "/select");
  fs_write_atomic(p.out + "/select/" + name + ".json", sel.dump(2) + "\n");

  return best;
}

}  // namespace

std::vector<std::string> eval_stage_args(const Plan& p, const std::vector<std::string>& files,
                                         const std::string& model, const std::string& dir) {
  std::vector<std::string> a = plus(plus({"eval", "--model", model, "--out", dir},
                                         cfg_flags(p.cfg, {{"--max-new-tokens", "eval", "max_new_tokens"},
                                                           {"--batch", "eval", "batch"},
                                                           {"--limit", "eval", "limit"}})),
                                    {"--threads", p.threads, "-q", "--data"});
  a.insert(a.end(), files.begin(), files.end());
  return plus(a, chat_args(p));
}

json run_base(Runner& r, const Plan& p, const ArmInputs& in, json& runs) {
  const std::string out = p.out;
  const json& ev = p.cfg["eval"];
  const json& sft = p.cfg["sft"];
  const int b = in.b;
  const int64_t val_size = in.val_size, train_limit = in.train_limit;
  std::string bname = fmt::format("base-b{}", b);
  r.stage("eval/" + bname, experiment_hash(in.k_base + ev.dump() + std::to_string(train_limit)),
          in.eval_args(in.base, out + "/eval/" + bname));
  for (int seed : p.sft_seeds)
    for (auto& arm : p.arms) {
      size_t colon = arm.find(':');
      TSFT_CHECK(colon != std::string::npos, "{}: arm '{}' must be supervision:trainable (e.g. theorem:mlp)",
                 p.config_path, arm);
      std::string sup = arm.substr(0, colon), trainable = arm.substr(colon + 1);
      auto [rend, k_render] = in.source(sup);
      // The last val_size rendered problems are held out (same problems in every arm: render keeps order).
      std::string train_file = rend + "/sft.jsonl", val_file;
      if (val_size > 0) {
        train_file = rend + fmt::format("/sft_train_v{}.jsonl", val_size);
        val_file = rend + fmt::format("/sft_val_v{}.jsonl", val_size);
        if (!r.dry) {
          auto [tr_text, val_text] = experiment_split_tail(rend + "/sft.jsonl", val_size);
          fs_write_atomic(train_file, tr_text);
          fs_write_atomic(val_file, val_text);
        }
      }
      std::string name = fmt::format("{}-{}-b{}s{}", sup, trainable, b, seed);
      // One training per learning rate of the arm's grid ([sft.lr_grid], e.g. mlp = [1e-3, 3e-3]; none:
      // [sft] lr); the rate whose selected checkpoint has the best validation answer accuracy is kept.
      const bool selecting = val_size > 0 && select_rule(p) == "val_accuracy";
      json sft_for_key = sft;  // the grid itself is not an input of one training (its rate is)
      sft_for_key.erase("lr_grid");
      const std::string sft_key = sft_for_key.dump();
      std::vector<std::string> lrs = lr_grid(p, trainable);
      TSFT_CHECK(lrs.size() == 1 || selecting,
                 "{}: [sft.lr_grid] needs val_size > 0 and select = val_accuracy", p.config_path);
      std::string k_train, tr, model, train_name;
      double best_acc = -1;
      for (auto& lr : lrs) {
        std::string tn = lr.empty() ? name : name + "-lr" + lr;
        std::string kt = experiment_hash(in.k_base + k_render + p.budget + sft_key + trainable +
                                         std::to_string(seed) + lr);
        std::string t =
            r.stage("train/" + tn, kt,
                    sft_args(p, in.base, train_file, val_file, out + "/train/" + tn, trainable, seed, lr));
        std::string m =
            selecting ? select_checkpoint(r, p, tn, t, kt, in.val_eval, in.base, trainable) : t + "/final";
        double acc =
            selecting && !r.dry
                ? json_read_file(out + "/select/" + tn + ".json")["val_accuracy"].get<double>()
                : 0.0;
        if (model.empty() || acc > best_acc) best_acc = acc, model = m, tr = t, k_train = kt, train_name = tn;
      }
      // a LoRA arm's model is an adapter: evaluated as --model base --adapter model
      std::vector<std::string> eargs =
          in.eval_args(is_lora_arm(trainable) ? in.base : model, out + "/eval/" + name);
      if (is_lora_arm(trainable)) eargs = plus(eargs, {"--adapter", model});
      r.stage("eval/" + name, experiment_hash(k_train + model + ev.dump() + std::to_string(train_limit)),
              eargs);
      json run = {{"name", name},   {"supervision", sup}, {"trainable", trainable},
                  {"base_seed", b}, {"sft_seed", seed},   {"train_name", train_name}};
      runs.push_back(run);
      if (p.transplants && trainable == "all" && (sup == "theorem" || sup == "vanilla")) {
        std::string k_an = experiment_hash(k_train + model + "analyze");
        std::string an =
            r.stage("analysis/" + name, k_an,
                    {"analyze", "--base", in.base, "--tuned", model, "--out", out + "/analysis/" + name});
        for (const char* g : {"mlp", "attn"}) {
          std::string tname = fmt::format("{}-transplant_{}-b{}s{}", sup, g, b, seed);
          r.stage("eval/" + tname, experiment_hash(k_an + g + ev.dump() + std::to_string(train_limit)),
                  in.eval_args(an + "/transplant-" + g, out + "/eval/" + tname));
          run["name"] = tname;
          run["trainable"] = std::string("transplant_") + g;
          run.erase("train_name");  // no training of its own
          runs.push_back(run);
        }
      }
    }
  return {{"name", bname}, {"base_seed", b}};
}

}  // namespace tsft::exp_detail
