#include "experiment/experiment.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <toml++/toml.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/progress.hpp"
#include "experiment/experiment_impl.hpp"
#include "report/report.hpp"

extern char** environ;
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

// Runs `bin argv...` with stdout+stderr to `log` and waits; returns the wait status. The child is
// killed when this process dies (PR_SET_PDEATHSIG), so a `kill -9` of the experiment never leaves a
// stage writing into a directory the resumed experiment is about to clean and redo.
int spawn_and_wait(const std::string& bin, std::vector<std::string> args, const std::string& log) {
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t parent = getpid();
  pid_t pid = fork();
  TSFT_CHECK(pid >= 0, "cannot start {}: fork failed ({})", bin, std::strerror(errno));
  if (pid == 0) {  // only async-signal-safe calls until exec
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent) _exit(126);
    int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0) _exit(126);
    execve(bin.c_str(), argv.data(), environ);
    _exit(127);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0)
    TSFT_CHECK(errno == EINTR, "waiting for {} failed ({})", bin, std::strerror(errno));
  return status;
}

struct Runner {
  ExperimentOptions opt;
  // [experiment] device / precision: appended to every model-running stage (pretrain, train, eval)
  // and folded into its key; the default engine (cpu/fp32) leaves arguments and keys unchanged.
  std::vector<std::string> engine_args;
  std::string engine_tag;
  json timings = json::object();
  // Progress: a dry pass counts the stages (planned) by kind (the tsft command a stage runs: pretrain,
  // train, eval, render, ...); the real pass numbers them, and the ETA is the sum over the stages left of
  // the mean seconds of their kind so far. Kinds differ by orders of magnitude (a pre-training stage vs a
  // render): a kind not yet timed counts at the mean of all timed stages, except the training commands,
  // which dominate the run -- until one of those is timed there is no ETA ("after the first train stage").
  bool dry = false;
  int planned = 0, done = 0;
  std::map<std::string, int> left_by_kind;
  std::map<std::string, std::pair<double, int>> timed_by_kind;  // seconds, stages run
  std::pair<double, int> timed_all;

  void plan(const std::string& k, int n) { planned += n, left_by_kind[k] += n; }
  void finish(const std::string& k) { done++, left_by_kind[k]--; }

  std::string eta() const {
    if (timed_all.second == 0) return "";
    double left = 0;
    for (auto& [k, n] : left_by_kind) {
      if (n <= 0) continue;
      auto t = timed_by_kind.find(k);
      if (t == timed_by_kind.end() && (k == "pretrain" || k == "train"))
        return fmt::format(", ETA after the first {} stage", k);
      const auto& [secs, runs] = t == timed_by_kind.end() ? timed_all : t->second;
      left += n * secs / runs;
    }
    return left < 90 ? fmt::format(", ETA ~{:.0f} s", left) : fmt::format(", ETA ~{:.0f} min", left / 60);
  }
  std::string progress() const { return fmt::format("[{}/{}{}]", done + 1, planned, eta()); }

  // Run `args` as a stage unless DIR/.stage.json has `key`. Returns the stage directory.
  std::string stage(const std::string& name, std::string key, std::vector<std::string> args) {
    if (!engine_tag.empty() && !args.empty() &&
        (args[0] == "pretrain" || args[0] == "train" || args[0] == "eval")) {
      args.insert(args.end(), engine_args.begin(), engine_args.end());
      key = experiment_hash(key + engine_tag);
    }
    std::string dir = (fs::path(opt.out_dir) / name).string();
    if (dry) {
      plan(args.at(0), 1);
      return dir;
    }
    std::string marker = dir + "/.stage.json", pending = dir + "/.stage.pending";
    if (fs::exists(marker)) {
      json m = json::parse(fs_read_text(marker));
      if (m.value("key", "") == key) {
        std::error_code ec;  // a kill between writing the marker and removing .stage.pending left it
        fs::remove(pending, ec);
        timings[name] = m.value("seconds", 0.0);
        if (!opt.quiet) log_info("stage {}: cached {}", name, progress());
        finish(args.at(0));
        return dir;
      }
    }
    if (!opt.quiet) log_info("stage {}: running {}", name, progress());
    // An interrupted stage restarts clean, except an eval stage interrupted with the same key, which
    // resumes inside tsft eval. A stage whose inputs changed (another key) always starts clean.
    bool resume = name.rfind("eval", 0) == 0 && fs::exists(pending) && fs_read_text(pending) == key;
    if (!resume) fs_remove_dir(dir);
    fs::create_directories(dir);
    fs_write_atomic(pending, key);
    auto t0 = std::chrono::steady_clock::now();
    std::vector<std::string> full = {opt.tsft_bin};
    for (auto& a : args) full.push_back(a);
    std::string log =
        (fs::path(opt.out_dir) / "logs" / (fs::path(name).filename().string() + ".log")).string();
    fs::create_directories(fs::path(log).parent_path());
    int status = spawn_and_wait(opt.tsft_bin, full, log);
    TSFT_CHECK(!WIFEXITED(status) || WEXITSTATUS(status) != 127, "stage {}: cannot run {}; see {}", name,
               opt.tsft_bin, log);
    TSFT_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "stage {} failed (exit {}); see {}", name,
               WIFEXITED(status) ? WEXITSTATUS(status) : -1, log);
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    fs::create_directories(dir);
    fs_write_atomic(marker, json{{"key", key}, {"seconds", secs}, {"args", args}}.dump(2) + "\n");
    fs::remove(pending);
    timings[name] = secs;
    for (auto* t : {&timed_by_kind[args[0]], &timed_all}) t->first += secs, t->second++;
    finish(args[0]);
    return dir;
  }
};

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

// Base model of one base seed: init -> pretrain -> [instruct-data -> instruct]. Returns (dir, key).
std::pair<std::string, std::string> plan_base(Runner& r, const Plan& p, int b, const std::string& k_tok,
                                              const std::string& gen, const std::string& tokd) {
  const json& cfg = p.cfg;
  const json& md = cfg["model"];
  const std::string out = p.out, bs = std::to_string(b), tag = "b" + bs;
  std::string k_init = experiment_hash(k_tok + md.dump() + bs);
  std::string init = r.stage("init/" + tag, k_init,
                             {"init",
                              "--arch",
                              cfg_arg(p.cfg, "model", "arch"),
                              "--vocab",
                              cfg_arg(p.cfg, "tokenizer", "vocab_size"),
                              "--hidden",
                              cfg_arg(p.cfg, "model", "hidden"),
                              "--intermediate",
                              cfg_arg(p.cfg, "model", "intermediate"),
                              "--layers",
                              cfg_arg(p.cfg, "model", "layers"),
                              "--heads",
                              cfg_arg(p.cfg, "model", "heads"),
                              "--kv-heads",
                              cfg_arg(p.cfg, "model", "kv_heads"),
                              "--max-pos",
                              cfg_arg(p.cfg, "model", "max_pos"),
                              "--seed",
                              bs,
                              "--tokenizer-dir",
                              tokd,
                              "--out",
                              out + "/init/" + tag + "/model"});
  const json& pt = cfg["pretrain"];
  std::string k_pre = experiment_hash(k_init + pt.dump());
  std::string pre = r.stage("pretrain/" + tag, k_pre,
                            {"pretrain",
                             "--model",
                             init + "/model",
                             "--data",
                             gen + "/corpus.jsonl",
                             "--out",
                             out + "/pretrain/" + tag,
                             "--steps",
                             cfg_arg(p.cfg, "pretrain", "steps"),
                             "--micro-batch",
                             cfg_arg(p.cfg, "pretrain", "micro_batch"),
                             "--block",
                             cfg_arg(p.cfg, "pretrain", "block"),
                             "--lr",
                             cfg_arg(p.cfg, "pretrain", "lr"),
                             "--warmup",
                             cfg_arg(p.cfg, "pretrain", "warmup"),
                             "--seed",
                             bs,
                             "--threads",
                             p.threads,
                             "-q"});
  std::string base = pre + "/final", k_base = k_pre;
  // Generic instruction stage: the base model learns the chat format and to box answers on drills that
  // share nothing with the problem templates (the paper's base is an instruct model).
  if (cfg_value(cfg, "instruct", "steps").get<int64_t>() > 0) {
    const json& in = cfg["instruct"];
    std::string k_idata = experiment_hash(k_base + in.dump());
    std::string idata = r.stage(
        "instruct-data/" + tag, k_idata,
        {"instruct", "--corpus", gen + "/corpus.jsonl", "--out",
         out + "/instruct-data/" + tag + "/chat.jsonl", "--count", cfg_arg(p.cfg, "instruct", "examples"),
         "--seed", bs, "--style", cfg_arg(p.cfg, "instruct", "style")});
    k_base = experiment_hash(k_pre + k_idata + in.dump());
    std::string ins = r.stage("instruct/" + tag, k_base,
                              {"train",
                               "--model",
                               base,
                               "--data",
                               idata + "/chat.jsonl",
                               "--out",
                               out + "/instruct/" + tag,
                               "--steps",
                               s(in["steps"]),
                               "--micro-batch",
                               cfg_arg(p.cfg, "instruct", "micro_batch"),
                               "--block",
                               cfg_arg(p.cfg, "instruct", "block"),
                               "--lr",
                               cfg_arg(p.cfg, "instruct", "lr"),
                               "--warmup",
                               cfg_arg(p.cfg, "instruct", "warmup"),
                               "--seed",
                               bs,
                               "--chat-template",
                               "chatml",
                               "--threads",
                               p.threads,
                               "-q"});
    base = ins + "/final";
  }
  return {base, k_base};
}

std::vector<std::string> plus(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

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
    double acc = json::parse(fs_read_text(dir + "/metrics.json"))["overall"]["accuracy"].get<double>();
    sel["checkpoints"].push_back({{"checkpoint", step}, {"val_accuracy", acc}});
    if (acc > best_acc) best_acc = acc, best = c;
  }
  sel["selected"] = fs::path(best).filename().string();
  sel["val_accuracy"] = best_acc;
  fs::create_directories(p.out + "/select");
  fs_write_atomic(p.out + "/select/" + name + ".json", sel.dump(2) + "\n");

  return best;
}

// The arguments of an eval stage over `files`.
std::vector<std::string> eval_stage_args(const Plan& p, const std::vector<std::string>& files,
                                         const std::string& model, const std::string& dir) {
  std::vector<std::string> a = {"eval",
                                "--model",
                                model,
                                "--out",
                                dir,
                                "--max-new-tokens",
                                cfg_arg(p.cfg, "eval", "max_new_tokens"),
                                "--batch",
                                cfg_arg(p.cfg, "eval", "batch"),
                                "--limit",
                                cfg_arg(p.cfg, "eval", "limit"),
                                "--threads",
                                p.threads,
                                "-q",
                                "--data"};
  a.insert(a.end(), files.begin(), files.end());
  return plus(a, chat_args(p));
}

// What the arms of one base need: the base model and its key, how to evaluate a model, where each
// supervision's SFT file comes from (a directory holding sft.jsonl, and its key).
struct ArmInputs {
  std::string base, k_base;
  int b = 0;
  std::function<std::vector<std::string>(const std::string&, const std::string&)> eval_args;
  int64_t val_size = 0, train_limit = 0;
  std::function<std::pair<std::string, std::string>(const std::string&)> source;
  std::string val_eval;  // validation problems for checkpoint selection
};

// The base's evaluation, then every (sft seed, arm) of it: train (per learning rate of the arm's grid),
// select, evaluate, and the transplant analysis of all-layer theorem/vanilla arms.
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
                ? json::parse(fs_read_text(out + "/select/" + tn + ".json"))["val_accuracy"].get<double>()
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
