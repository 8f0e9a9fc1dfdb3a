// The smoke experiment end to end through the CLI: killed mid-way (SIGKILL to the whole process
// group, child stage included) and re-run, it finishes without redoing completed stages; every report
// section is present and non-empty; report.html renders its tables and charts in headless Chromium.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <thread>

#include "core/fs.hpp"
#include "test_util.hpp"

using namespace tsft_test;
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {
// One smoke experiment shared by the tests of this suite (it takes ~10-20 s).
struct Smoke {
  TempDir t;
  std::string out, cfg, first_log, second_output;
  bool killed = false;
  int second_exit = -1;
};
Smoke* g_smoke = nullptr;

void run_smoke_with_kill(Smoke& s) {
  s.cfg = std::string(TSFT_SOURCE_DIR) + "/configs/smoke.toml";
  s.out = s.t / "ex";
  s.first_log = s.t / "first.log";
  pid_t pid = fork();
  if (pid == 0) {
    setpgid(0, 0);  // own process group: the kill below takes the running stage with it
    FILE* f = freopen(s.first_log.c_str(), "w", stdout);
    (void)f;
    dup2(fileno(stdout), 2);
    std::string bin = tsft_bin();
    execl(bin.c_str(), bin.c_str(), "experiment", s.cfg.c_str(), "--out", s.out.c_str(), (char*)nullptr);
    _exit(127);
  }
  setpgid(pid, pid);
  // Kill once the second arm's training has started (gen ... theorem-all finished).
  for (int i = 0; i < 1200 && !s.killed; i++) {
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
    if (fs::exists(s.out + "/train/vanilla-all-b1s1")) {
      kill(-pid, SIGKILL);
      s.killed = true;
    }
  }
  int status = 0;
  waitpid(pid, &status, 0);
  CmdResult again = run_cmd(tsft_bin() + " experiment " + s.cfg + " --out " + s.out);
  s.second_exit = again.exit_code;
  s.second_output = again.output;
}

std::string chromium() {
  for (const char* c : {"/usr/bin/chromium", "/usr/bin/chromium-browser"})
    if (fs::exists(c)) return c;
  return "";
}

std::string chromium_dump_dom(const std::string& bin, const std::string& url) {
  CmdResult r = run_cmd("timeout 120 " + bin +
                        " --headless --no-sandbox --disable-gpu --allow-file-access-from-files "
                        "--window-size=1280,2000 --virtual-time-budget=5000 --dump-dom '" +
                        url + "' 2>/dev/null");
  return r.output;
}

std::string between(const std::string& s, const std::string& open, const std::string& close) {
  size_t a = s.find(open);
  if (a == std::string::npos) return "";
  a += open.size();
  size_t b = s.find(close, a);
  return b == std::string::npos ? "" : s.substr(a, b - a);
}
}  // namespace

class ExperimentE2E : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    g_smoke = new Smoke;
    run_smoke_with_kill(*g_smoke);
  }
  static void TearDownTestSuite() {
    delete g_smoke;
    g_smoke = nullptr;
  }
};

TEST_F(ExperimentE2E, KilledMidwayResumesWithoutRedoingStages) {
  // Wall times are kept out of the manifest and the report (a resumed run's are byte-identical).
  EXPECT_TRUE(fs::exists(g_smoke->out + "/timings.json"));
  EXPECT_FALSE(json::parse(tsft::fs_read_text(g_smoke->out + "/experiment.json")).contains("timings"));
  Smoke& s = *g_smoke;
  ASSERT_TRUE(s.killed) << "the experiment finished before it could be killed:\n"
                        << (fs::exists(s.first_log) ? tsft::fs_read_text(s.first_log) : "");
  ASSERT_EQ(s.second_exit, 0) << s.second_output;
  for (const char* cached : {"stage gen: cached", "stage tokenizer: cached", "stage pretrain/b1: cached",
                             "stage instruct/b1: cached", "stage eval/base-b1: cached",
                             "stage train/theorem-all-b1s1: cached", "stage eval/theorem-all-b1s1: cached"})
    EXPECT_NE(s.second_output.find(cached), std::string::npos) << cached << "\n" << s.second_output;
  EXPECT_NE(s.second_output.find("stage train/vanilla-all-b1s1: running"), std::string::npos)
      << s.second_output;
  EXPECT_NE(s.second_output.find("stage eval/answer-only-all-b1s1: running"), std::string::npos)
      << s.second_output;
  // Progress [k/N, ETA]: no ETA before a stage of this invocation was timed (cached stages tell
  // nothing), then the per-kind estimate.
  size_t first_run = s.second_output.find("stage train/vanilla-all-b1s1: running");
  std::string first_line =
      s.second_output.substr(first_run, s.second_output.find('\n', first_run) - first_run);
  EXPECT_EQ(first_line.find("ETA"), std::string::npos) << first_line;
  EXPECT_NE(s.second_output.find(", ETA ~", first_run), std::string::npos) << s.second_output;
  // A third run has nothing left to do.
  CmdResult third = run_cmd(tsft_bin() + " experiment " + s.cfg + " --out " + s.out);
  ASSERT_EQ(third.exit_code, 0) << third.output;
  EXPECT_EQ(third.output.find(": running"), std::string::npos) << third.output;
}

// Changed inputs re-run a stage from scratch: a copy of the finished run with another SFT learning
// rate retrains every arm and re-evaluates it without resuming the old arm's graded items.
TEST_F(ExperimentE2E, ChangedInputsRerunStagesCleanly) {
  Smoke& s = *g_smoke;
  ASSERT_EQ(s.second_exit, 0) << s.second_output;
  std::string out = s.t / "changed", cfg = s.t / "changed.toml";
  fs::copy(s.out, out, fs::copy_options::recursive);
  std::string text = tsft::fs_read_text(s.cfg);
  size_t sft = text.find("[sft]"), lr = text.find("lr = ", sft);
  ASSERT_NE(lr, std::string::npos);
  text.replace(lr, text.find('\n', lr) - lr, "lr = 3e-3");
  tsft::fs_write_atomic(cfg, text);
  CmdResult r = run_cmd(tsft_bin() + " experiment " + cfg + " --out " + out);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("stage pretrain/b1: cached"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("stage train/theorem-all-b1s1: running"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("stage eval/theorem-all-b1s1: running"), std::string::npos) << r.output;
  std::string log = tsft::fs_read_text(out + "/logs/theorem-all-b1s1.log");
  EXPECT_EQ(log.find("resuming"), std::string::npos) << log;
  // The graded items were made by the new weights: the eval fingerprint names the retrained files.
  auto fp = json::parse(tsft::fs_read_text(out + "/eval/theorem-all-b1s1/eval_run.json"));
  bool weights = false;
  for (auto& f : fp["model_files"]) {
    if (f[0] != "model.safetensors") continue;
    weights = true;
    // The evaluated weights are the checkpoint chosen on validation answer accuracy (select/<run>.json).
    auto sel = json::parse(tsft::fs_read_text(out + "/select/theorem-all-b1s1.json"));
    EXPECT_EQ(fp["model_dir"].get<std::string>(),
              out + "/train/theorem-all-b1s1/" + sel["selected"].get<std::string>());
    auto w = fs::last_write_time(out + "/train/theorem-all-b1s1/" + sel["selected"].get<std::string>() +
                                 "/model.safetensors");
    EXPECT_EQ(f[2].get<int64_t>(), (int64_t)w.time_since_epoch().count());
  }
  EXPECT_TRUE(weights) << fp.dump();
}

// A per-arm learning-rate grid: every rate of theorem:mlp is trained and its checkpoint chosen on
// validation answer accuracy; the rate kept is the one with the best of those accuracies (ties: first).
TEST_F(ExperimentE2E, LearningRateGridKeepsTheBestValidationAccuracy) {
  Smoke& s = *g_smoke;
  ASSERT_EQ(s.second_exit, 0) << s.second_output;
  std::string out = s.t / "grid", cfg = s.t / "grid.toml";
  fs::copy(s.out, out, fs::copy_options::recursive);
  std::string text = tsft::fs_read_text(s.cfg);
  size_t eval = text.find("[eval]");
  ASSERT_NE(eval, std::string::npos);
  text.insert(eval, "[sft.lr_grid]\nmlp = [1e-3, 3e-3]\n\n");
  tsft::fs_write_atomic(cfg, text);
  CmdResult r = run_cmd(tsft_bin() + " experiment " + cfg + " --out " + out);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("stage train/theorem-all-b1s1: cached"), std::string::npos) << r.output;
  double best = -1;
  std::string expect;
  for (const char* lr : {"0.001", "0.003"}) {
    std::string name = std::string("theorem-mlp-b1s1-lr") + lr;
    ASSERT_TRUE(fs::exists(out + "/train/" + name + "/summary.json")) << name;
    double acc = json::parse(tsft::fs_read_text(out + "/select/" + name + ".json"))["val_accuracy"];
    if (acc > best) best = acc, expect = name;
  }
  auto ex = json::parse(tsft::fs_read_text(out + "/experiment.json"));
  bool found = false;
  for (auto& run : ex["runs"])
    if (run["name"] == "theorem-mlp-b1s1") {
      found = true;
      EXPECT_EQ(run["train_name"], expect);
    }
  EXPECT_TRUE(found);
  // A grid for a trainable spec no arm uses is a config error.
  std::string bad = text;
  bad.replace(bad.find("mlp = [1e-3"), 3, "embed");
  tsft::fs_write_atomic(cfg, bad);
  CmdResult e = run_cmd(tsft_bin() + " experiment " + cfg + " --out " + out);
  EXPECT_NE(e.exit_code, 0);
  EXPECT_NE(e.output.find("no arm trains 'embed'"), std::string::npos) << e.output;
}

// LoRA arms (issue 15): trainable lora-<spec> trains an adapter of the base on <spec>'s linear layers;
// checkpoints and final/ are adapters, selection and evaluation run --model base --adapter DIR.
TEST_F(ExperimentE2E, LoraArmsTrainAdaptersAndAreEvaluated) {
  Smoke& s = *g_smoke;
  ASSERT_EQ(s.second_exit, 0) << s.second_output;
  std::string out = s.t / "lora", cfg = s.t / "lora.toml";
  fs::copy(s.out, out, fs::copy_options::recursive);
  std::string text = tsft::fs_read_text(s.cfg);
  text = std::regex_replace(text, std::regex("arms = \\[[^\\]]*\\]"),
                            "arms = [\"theorem:all\", \"theorem:lora-mlp\", \"vanilla:lora-all\"]");
  text = std::regex_replace(text, std::regex("\\[sft\\]\n"), "[sft]\nlora_rank = 4\nlora_alpha = 8\n");
  tsft::fs_write_atomic(cfg, text);
  CmdResult r = run_cmd(tsft_bin() + " experiment " + cfg + " --out " + out);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (const char* arm : {"theorem-lora-mlp-b1s1", "vanilla-lora-all-b1s1"}) {
    std::string tr = out + "/train/" + arm;
    EXPECT_TRUE(fs::exists(tr + "/final/adapter_config.json")) << arm;
    EXPECT_FALSE(fs::exists(tr + "/final/model.safetensors")) << arm << ": final/ must be the adapter only";
    auto targs = json::parse(tsft::fs_read_text(tr + "/.stage.json"))["args"].dump();
    EXPECT_NE(targs.find("--lora-rank"), std::string::npos) << targs;
    EXPECT_EQ(targs.find("--trainable"), std::string::npos) << targs;
    auto eargs = json::parse(tsft::fs_read_text(out + "/eval/" + arm + "/.stage.json"))["args"].dump();
    EXPECT_NE(eargs.find("--adapter"), std::string::npos) << eargs;
    EXPECT_TRUE(fs::exists(out + "/eval/" + arm + "/metrics.json")) << arm;
  }
  auto cfg_json =
      json::parse(tsft::fs_read_text(out + "/train/theorem-lora-mlp-b1s1/final/adapter_config.json"));
  EXPECT_EQ(cfg_json["r"], 4);
  EXPECT_EQ(cfg_json["target_modules"], json::array({"down_proj", "gate_proj", "up_proj"}));
  auto ex = json::parse(tsft::fs_read_text(out + "/experiment.json"));
  int lora_runs = 0;
  for (auto& run : ex["runs"]) lora_runs += run["trainable"].get<std::string>().rfind("lora-", 0) == 0;
  EXPECT_EQ(lora_runs, 2);
  EXPECT_NE(tsft::fs_read_text(out + "/report.md").find("theorem-lora-mlp-b1s1"), std::string::npos);
}

// Equal problems seen: one problem per row, ceil(problems / micro_batch) steps for every arm.
TEST_F(ExperimentE2E, EqualProblemsBudgetGivesEveryArmTheSameProblems) {
  Smoke& s = *g_smoke;
  ASSERT_EQ(s.second_exit, 0) << s.second_output;
  std::string out = s.t / "problems", cfg = s.t / "problems.toml";
  fs::copy(s.out, out, fs::copy_options::recursive);
  std::string text = tsft::fs_read_text(s.cfg);
  text = std::regex_replace(text, std::regex("budget = \"converged\""), "budget = \"problems\"");
  text = std::regex_replace(text, std::regex("\\[sft\\]\n"), "[sft]\nproblems = 20\n");
  tsft::fs_write_atomic(cfg, text);
  CmdResult r = run_cmd(tsft_bin() + " experiment " + cfg + " --out " + out);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (const char* arm : {"theorem-all-b1s1", "vanilla-all-b1s1", "answer-only-all-b1s1"}) {
    auto su = json::parse(tsft::fs_read_text(out + "/train/" + arm + "/summary.json"));
    EXPECT_EQ(su["steps"].get<int>(), 5) << arm;  // 20 problems / micro_batch 4
    auto st = json::parse(tsft::fs_read_text(out + "/train/" + arm + "/.stage.json"));
    EXPECT_NE(st["args"].dump().find("--no-packing"), std::string::npos) << arm;
  }
  EXPECT_NE(tsft::fs_read_text(out + "/report.md").find("equal problems seen"), std::string::npos);
}

// Nothing learns at smoke scale: every claim is present, none is "supported", and with one run every
// verdict says it is exploratory.
TEST_F(ExperimentE2E, SmokeReportDecidesEveryClaimAndSupportsNone) {
  Smoke& s = *g_smoke;
  ASSERT_EQ(s.second_exit, 0) << s.second_output;
  std::string md = tsft::fs_read_text(s.out + "/report.md");
  size_t at = md.find("## Verdicts"), end = md.find("\n## ", at + 3);
  ASSERT_NE(at, std::string::npos);
  std::string verdicts = md.substr(at, end - at);
  for (const char* claim :
       {"| C1 brittleness", "| C2a in-distribution", "| C2b generalization", "| C3 localization"}) {
    size_t row = verdicts.find(claim);
    ASSERT_NE(row, std::string::npos) << claim << "\n" << verdicts;
    std::string line = verdicts.substr(row, verdicts.find('\n', row) - row);
    EXPECT_EQ(line.find("| supported"), std::string::npos) << line;
    EXPECT_NE(line.find("exploratory (1 run)"), std::string::npos) << line;
  }
}

TEST_F(ExperimentE2E, ReportHasEverySection) {
  Smoke& s = *g_smoke;
  ASSERT_EQ(s.second_exit, 0) << s.second_output;
  std::string md = tsft::fs_read_text(s.out + "/report.md");
  for (const char* sec : {"## Question and declared claims", "## Verdicts", "## Per-run effects",
                          "## Controls and ablations", "## Accuracy by split and probe", "## Probe drops",
                          "## Per-theorem breakdown", "## Training and validation curves", "## Setup"}) {
    size_t at = md.find(sec);
    ASSERT_NE(at, std::string::npos) << sec;
    size_t next = md.find("\n## ", at + 3);
    std::string body = md.substr(at, next == std::string::npos ? std::string::npos : next - at);
    EXPECT_GT(body.size(), std::string(sec).size() + 40) << sec << " is empty";
  }
  // The declared claims come before any number: the declaration precedes the verdicts.
  EXPECT_LT(md.find("**C1 brittleness**"), md.find("## Verdicts"));
  // The budget (smoke: converged) is stated, and the training table shows the fit on training problems.
  EXPECT_NE(md.find("trained to convergence"), std::string::npos);
  EXPECT_NE(md.find("train-problem acc"), std::string::npos);
  EXPECT_NE(md.find("| train |"), std::string::npos) << "no 'train' column in the accuracy table";
  EXPECT_NE(md.find("step_drills_eval_facts = true"), std::string::npos)
      << "the leakage declaration is missing";
  // Every control and ablation arm is trained, evaluated and reported beside the others.
  for (const char* arm : {"vanilla-matched:all", "answer-only:all", "theorem-no-statement:all",
                          "theorem-no-cond:all", "theorem-no-map:all"}) {
    EXPECT_NE(md.find(std::string("| ") + arm + " - vanilla:all, i.i.d. test |"), std::string::npos) << arm;
    std::string run = std::string(arm).replace(std::string(arm).find(':'), 1, "-") + "-b1s1";
    EXPECT_TRUE(fs::exists(s.out + "/eval/" + run + "/metrics.json")) << run;
  }
  // The neutral control's length is counted in the run's own tokenizer.
  auto rs = json::parse(tsft::fs_read_text(s.out + "/render/vanilla-matched/.stage.json"));
  EXPECT_NE(rs["args"].dump().find("--tokenizer"), std::string::npos) << rs.dump();
  auto summary = json::parse(tsft::fs_read_text(s.out + "/train/theorem-all-b1s1/summary.json"));
  EXPECT_GT(summary["supervised_tokens"].get<int64_t>(), 0);
}

// budget = converged: every arm stops on validation answer accuracy (not its own target loss), and the
// selection stage reads the very decodes early stopping made of each checkpoint.
TEST_F(ExperimentE2E, ConvergedArmsStopOnValidationAccuracy) {
  Smoke& s = *g_smoke;
  ASSERT_EQ(s.second_exit, 0) << s.second_output;
  for (const char* run : {"theorem-all-b1s1", "vanilla-all-b1s1", "theorem-no-map-all-b1s1"}) {
    std::string tr = s.out + "/train/" + run;
    auto cfg = json::parse(tsft::fs_read_text(tr + "/config.json"));
    EXPECT_EQ(cfg["early_stop_metric"], "accuracy") << run;
    auto summary = json::parse(tsft::fs_read_text(tr + "/summary.json"));
    EXPECT_EQ(summary["early_stop_metric"], "accuracy") << run;
    auto sel = json::parse(tsft::fs_read_text(s.out + "/select/" + run + ".json"));
    ASSERT_FALSE(sel["checkpoints"].empty()) << run;
    for (auto& c : sel["checkpoints"]) {
      std::string m = tr + "/val-eval/" + c["checkpoint"].get<std::string>() + "/metrics.json";
      ASSERT_TRUE(fs::exists(m)) << m;
      EXPECT_EQ(json::parse(tsft::fs_read_text(m))["overall"]["accuracy"], c["val_accuracy"]) << m;
    }
    EXPECT_FALSE(fs::exists(tr + "/val-model")) << "the scored weights are not kept";
  }
}

// report.html in headless Chromium: a layout probe (script added to a copy of the page) measures every
// table and chart; a screenshot is then read back through a canvas and each measured region must
// contain drawn (non-white) pixels.
TEST_F(ExperimentE2E, ReportRendersInHeadlessChromium) {
  Smoke& s = *g_smoke;
  ASSERT_EQ(s.second_exit, 0) << s.second_output;
  std::string bin = chromium();
  if (bin.empty())
    GTEST_SKIP() << "chromium is not installed (scripts/setup.sh installs it); report.html not rendered";
  std::string html = tsft::fs_read_text(s.out + "/report.html");
  // Self-contained: nothing is fetched (xmlns URIs are names, not requests).
  ASSERT_FALSE(std::regex_search(html, std::regex("(src|href|url)\\s*[=(]\\s*['\"]?(https?:)?//")))
      << "report.html must not load anything from the network";
  // 1. layout probe
  std::string probe = html;
  const std::string script =
      "<pre id='tsft-layout'>pending</pre><script>"
      "const box=e=>{const r=e.getBoundingClientRect();return "
      "[r.left+scrollX,r.top+scrollY,r.width,r.height];};"
      "document.getElementById('tsft-layout').textContent=JSON.stringify({"
      "tables:[...document.querySelectorAll('table')].map(t=>({box:box(t),rows:t.rows.length})),"
      "svgs:[...document.querySelectorAll('svg')].map(v=>({box:box(v),nodes:v.querySelectorAll('*').length}))"
      ","
      "height:document.documentElement.scrollHeight});</script>";
  size_t end = probe.rfind("</body>");
  ASSERT_NE(end, std::string::npos);
  probe.insert(end, script);
  tsft::fs_write_atomic(s.t / "probe.html", probe);
  std::string dom = chromium_dump_dom(bin, "file://" + s.t / "probe.html");
  std::string layout_text = between(dom, "<pre id=\"tsft-layout\">", "</pre>");
  layout_text = std::regex_replace(layout_text, std::regex("&quot;"), "\"");
  ASSERT_FALSE(layout_text.empty() || layout_text == "pending") << "the page did not run:\n"
                                                                << dom.substr(0, 2000);
  json layout = json::parse(layout_text);
  ASSERT_GE(layout["tables"].size(), 5u);  // the stage-timings table moved out to timings.json
  ASSERT_GE(layout["svgs"].size(), 3u);
  // At a 1280-px width nothing runs off the page (the old 14-column table did; the heatmap replaces it).
  for (auto* kind : {"tables", "svgs"})
    for (auto& t : layout[kind])
      EXPECT_LE(t["box"][0].get<double>() + t["box"][2].get<double>(), 1280.0) << kind << " " << t.dump();
  for (auto& t : layout["tables"]) {
    EXPECT_GE(t["rows"].get<int>(), 2);
    EXPECT_GT(t["box"][2].get<double>(), 50);
    EXPECT_GT(t["box"][3].get<double>(), 20);
  }
  for (auto& v : layout["svgs"]) {
    EXPECT_GT(v["nodes"].get<int>(), 3);
    EXPECT_GT(v["box"][3].get<double>(), 20);
  }
  // 2. screenshot of the real page, tall enough for everything
  int height = std::min(16000, (int)layout["height"].get<double>() + 50);
  std::string shot = s.t / "shot.png";
  CmdResult sc =
      run_cmd("timeout 120 " + bin +
              " --headless --no-sandbox --disable-gpu --hide-scrollbars "
              "--window-size=1100," +
              std::to_string(height) + " --screenshot=" + shot + " 'file://" + s.out + "/report.html'");
  ASSERT_TRUE(fs::exists(shot)) << sc.output;
  // 3. count non-white pixels of the screenshot inside every table and chart box
  json regions = json::array();
  for (auto& t : layout["tables"]) regions.push_back(t["box"]);
  for (auto& v : layout["svgs"]) regions.push_back(v["box"]);
  std::string reader =
      "<!doctype html><html><body><img id='i' src='shot.png'><pre id='out'>pending</pre><script>"
      "const R=" +
      regions.dump() +
      ";const img=document.getElementById('i');img.onload=()=>{"
      "const c=document.createElement('canvas');c.width=img.naturalWidth;c.height=img.naturalHeight;"
      "const x=c.getContext('2d');x.drawImage(img,0,0);const res=[];"
      "try{for(const [l,t,w,h] of R){const W=Math.max(1,Math.min(Math.floor(w),c.width-Math.floor(l))),"
      "H=Math.max(1,Math.min(Math.floor(h),c.height-Math.floor(t)));"
      "const d=x.getImageData(Math.floor(l),Math.floor(t),W,H).data;let n=0;"
      "for(let k=0;k<d.length;k+=4)if(d[k]<200||d[k+1]<200||d[k+2]<200)n++;res.push(n/(W*H));}"
      "document.getElementById('out').textContent=JSON.stringify({w:c.width,h:c.height,ink:res});}"
      "catch(e){document.getElementById('out').textContent='error '+e;}};</script></body></html>";
  tsft::fs_write_atomic(s.t / "reader.html", reader);
  std::string rdom = chromium_dump_dom(bin, "file://" + s.t / "reader.html");
  std::string ink_text =
      std::regex_replace(between(rdom, "<pre id=\"out\">", "</pre>"), std::regex("&quot;"), "\"");
  ASSERT_EQ(ink_text.rfind("{", 0), 0u) << "screenshot could not be read back: " << ink_text;
  json ink = json::parse(ink_text);
  EXPECT_EQ(ink["w"].get<int>(), 1100);
  ASSERT_EQ(ink["ink"].size(), regions.size());
  // Text, grid lines and axes cover a few % of a table or chart box; a blank (unrendered) region is 0.
  for (size_t i = 0; i < regions.size(); i++)
    EXPECT_GT(ink["ink"][i].get<double>(), 0.005)
        << "region " << i << " " << regions[i].dump() << " looks blank";
}
