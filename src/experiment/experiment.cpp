#include "experiment/experiment.hpp"

#include <toml++/toml.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "experiment/experiment_runner.hpp"
#include "report/report.hpp"

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace tsft {
using namespace exp_detail;

std::string experiment_hash(const std::string& bytes) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : bytes) h = (h ^ c) * 1099511628211ULL;
  return fmt::format("{:016x}", h);
}

namespace {

std::string self_exe() {
  std::error_code ec;
  auto p = fs::read_symlink("/proc/self/exe", ec);
  return ec ? "tsft" : p.string();
}

// Catalog content hash: the data the generator reads (so editing a template invalidates gen).
std::string catalog_hash(const std::string& dir) {
  std::vector<std::string> files;
  if (fs::is_directory(dir))
    for (auto& p : fs::directory_iterator(dir))
      if (p.path().extension() == ".toml") files.push_back(p.path().string());
  std::sort(files.begin(), files.end());
  std::string all;
  for (auto& f : files) all += f.substr(f.rfind('/') + 1) + "\n" + fs_read_text(f);
  return experiment_hash(all);
}
}  // namespace

std::string experiment_head_lines(const std::string& path, int64_t n) {
  std::ifstream in(path);
  TSFT_CHECK(in, "cannot read {}", path);
  std::string line, out;
  for (int64_t k = 0; k < n && std::getline(in, line);)
    if (!line.empty()) out += line + "\n", k++;
  return out;
}

std::pair<std::string, std::string> experiment_split_tail(const std::string& path, int64_t tail) {
  std::ifstream in(path);
  TSFT_CHECK(in, "cannot read {}", path);
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) lines.push_back(line);
  TSFT_CHECK((int64_t)lines.size() > tail,
             "{}: {} examples cannot hold out {} for validation (lower [sft] val_size)", path, lines.size(),
             tail);
  std::pair<std::string, std::string> r;
  for (size_t i = 0; i < lines.size(); i++) (i + tail < lines.size() ? r.first : r.second) += lines[i] + "\n";
  return r;
}

namespace {

// [real_data]: the user's base model (no init / pretrain / instruct stages) and the annotated arms as the
// SFT data; the evaluation sets are the converted adapter-format files.
json plan_run_real(Runner& r, const Plan& p) {
  RealData d = real_prepare(p, r.dry);
  const int64_t val_size = cfg_value(p.cfg, "sft", "val_size").get<int64_t>(),
                train_limit = cfg_value(p.cfg, "eval", "train_limit").get<int64_t>();
  TSFT_CHECK(p.budget != "converged" || val_size > 0,
             "{}: [experiment] budget = 'converged' needs [sft] val_size > 0", p.config_path);
  auto eval_args = [&](const std::string& model, const std::string& dir) {
    return eval_stage_args(p, d.eval_files, model, dir);
  };
  ArmInputs in = {p.base_model, d.inputs_key, p.base_seeds[0], eval_args,
                  val_size,     train_limit,  nullptr,         d.val_file};
  in.source = [&](const std::string& sup) {
    std::string dir = p.out + "/render/" + sup;
    if (!r.dry) {
      fs::create_directories(dir);
      fs_write_atomic(dir + "/sft.jsonl", fs_read_text(p.annotated + "/" + sup + ".jsonl"));
    }
    return std::make_pair(dir, experiment_hash(d.inputs_key + sup));
  };
  json runs = json::array(), bases = json::array();
  bases.push_back(run_base(r, p, in, runs));
  return {{"runs", runs}, {"bases", bases}};
}

json plan_run(Runner& r, const Plan& p) {
  if (p.real) return plan_run_real(r, p);
  const json& cfg = p.cfg;
  const std::string out = p.out;
  std::string k_gen = experiment_hash(cfg["gen"].dump() + catalog_hash(p.catalog));
  std::string gen =
      r.stage("gen", k_gen,
              {"gen", "--config", p.cfg_copy, "--out", out + "/gen", "--corpus", "--catalog", p.catalog});
  const json& tk = cfg["tokenizer"];
  std::string k_tok = experiment_hash(k_gen + tk.dump());
  std::string tokd = r.stage(
      "tokenizer", k_tok,
      {"tokenizer", "train", "--corpus", gen + "/corpus.jsonl", "--vocab-size",
       cfg_arg(p.cfg, "tokenizer", "vocab_size"), "--special-tokens", "<|endoftext|>,<|im_start|>,<|im_end|>",
       "--style", cfg_arg(p.cfg, "tokenizer", "style"), "--out", out + "/tokenizer/tokenizer.json"});
  // Evaluation sets: every split and probe file of gen except train, plus a sample of the training
  // problems themselves (train_limit; how well each arm fits its own data) -- written once here.
  const int64_t val_size = cfg_value(cfg, "sft", "val_size").get<int64_t>(),
                train_limit = cfg_value(cfg, "eval", "train_limit").get<int64_t>();
  TSFT_CHECK(
      p.budget != "converged" || val_size > 0,
      "{}: [experiment] budget = 'converged' needs [sft] val_size > 0 (held-out training problems for early "
      "stopping)",
      p.config_path);
  std::vector<std::string> eval_files;
  if (!r.dry) {
    for (auto& f : fs::directory_iterator(gen + "/problems"))
      if (f.path().extension() == ".jsonl" && f.path().stem() != "train" &&
          !p.eval_skip.count(f.path().stem()))
        eval_files.push_back(f.path().string());
    std::sort(eval_files.begin(), eval_files.end());
    for (auto& k : p.eval_skip)
      TSFT_CHECK(fs::exists(gen + "/problems/" + k + ".jsonl"),
                 "{}: [eval] skip: no gen file problems/{}.jsonl", p.config_path, k);
    if (val_size > 0) {  // the held-out training problems (render keeps order: the same tail in every arm)
      fs::create_directories(out + "/eval-sets");
      fs_write_atomic(out + "/eval-sets/val.jsonl",
                      experiment_split_tail(gen + "/problems/train.jsonl", val_size).second);
    }
    if (train_limit > 0) {
      std::string fit = out + "/eval-sets/train_fit.jsonl";
      fs::create_directories(out + "/eval-sets");
      fs_write_atomic(fit, experiment_head_lines(gen + "/problems/train.jsonl", train_limit));
      eval_files.push_back(fit);
    }
  }
  auto eval_args = [&](const std::string& model, const std::string& dir) {
    return eval_stage_args(p, eval_files, model, dir);
  };
  json runs = json::array(), bases = json::array();
  for (int b : p.base_seeds) {
    auto [base, k_base] = plan_base(r, p, b, k_tok, gen, tokd);
    ArmInputs in = {base, k_base, b, eval_args, val_size, train_limit, nullptr, out + "/eval-sets/val.jsonl"};
    in.source = [&](const std::string& sup) {
      // vanilla-matched lengths are counted in the run's tokenizer (its render depends on it).
      const bool matched = sup == "vanilla-matched";
      std::string k_render = experiment_hash(k_gen + sup + (matched ? k_tok : ""));
      std::vector<std::string> rargs = {
          "render", "--in", gen + "/problems/train.jsonl", "--out", out + "/render/" + sup + "/sft.jsonl",
          "--arm",  sup};
      if (matched) rargs.insert(rargs.end(), {"--tokenizer", out + "/tokenizer/tokenizer.json"});
      return std::make_pair(r.stage("render/" + sup, k_render, rargs), k_render);
    };
    bases.push_back(run_base(r, p, in, runs));
  }
  return {{"runs", runs}, {"bases", bases}};
}

}  // namespace

std::string experiment_run(const ExperimentOptions& o) {
  fs::create_directories(o.out_dir);
  const std::string out = fs::absolute(o.out_dir).string();
  Plan p = plan_parse(o, out);
  // One experiment per directory; its running stage inherits the lock, so a resumed run waits for a killed
  // run's stage to die before it cleans up what the killed run left (temp files of interrupted writes).
  DirLock lock(out, "tsft experiment", /*inherit=*/true);
  fs_remove_stale_temps(out);
  Runner r;
  r.opt = o;
  if (r.opt.tsft_bin.empty()) r.opt.tsft_bin = self_exe();
  r.opt.out_dir = out;
  if (p.device != "cpu" || p.precision != "fp32") {
    r.engine_tag = p.device + "/" + p.precision;
    r.engine_args = {"--device", p.device, "--precision", p.precision};
  }
  p.cfg_copy = out + "/config.toml";
  fs_write_atomic(p.cfg_copy, fs_read_text(o.config_path));
  auto t_start = std::chrono::steady_clock::now();
  r.dry = true;
  plan_run(r, p);
  r.dry = false;
  json plan = plan_run(r, p);
  // Wall times go to timings.json, not experiment.json or the report: a resumed run's manifest and
  // report are then byte-identical to an uninterrupted run's.
  json manifest = {{"config", p.cfg},        {"budget", p.budget},         {"runs", plan["runs"]},
                   {"bases", plan["bases"]}, {"base_seeds", p.base_seeds}, {"sft_seeds", p.sft_seeds}};
  fs_write_atomic(out + "/experiment.json", manifest.dump(2) + "\n");
  double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
  fs_write_atomic(out + "/timings.json",
                  json{{"stages", r.timings}, {"wall_seconds_last_invocation", wall}}.dump(2) + "\n");
  return report_write(out);
}

}  // namespace tsft
