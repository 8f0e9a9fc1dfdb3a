// The SFT trainer end to end: learning, masking, accumulation, selection, resume, crash safety.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <fstream>
#include <thread>

#include "core/build_info.hpp"
#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/safetensors.hpp"
#include "model/transformer.hpp"
#include "test_util.hpp"
#include "train/data.hpp"
#include "train/trainer.hpp"
#include "train_fixture.hpp"

using namespace tsft;
using namespace tsft_test;
namespace fs = std::filesystem;

// The learning smoke test: a tiny model learns to reverse 4-digit strings (held-out strings).
TEST(TrainSlow, TinyModelLearnsToReverseDigits) {
  TempDir t;
  write_tiny_model(t / "model", 64, 2, 7);
  write_reverse_data(t / "train.jsonl", 3000, 4, 1);
  write_reverse_data(t / "test.jsonl", 200, 4, 999);
  TrainConfig c = base_config(t, "run");
  c.micro_batch = 8;
  c.max_steps = 350;
  c.warmup = 30;
  c.schedule = "cosine";
  c.adam.lr = 4e-3;
  c.val_path = t / "test.jsonl";
  TrainResult r = train_run(c);
  Model m = model_load(r.final_dir);
  tokenizer::Tokenizer tok(t / "model/tokenizer.json");
  double acc = token_accuracy(m, t / "test.jsonl", tok);
  std::printf(
      "[learn] reverse-4 digits: held-out token accuracy %.2f%%, final loss %.4f, val %.4f, %.0f tok/s\n",
      100 * acc, r.last_loss, r.val_loss, r.tokens_per_s);
  EXPECT_GE(acc, 0.99);
}

// Loss of a chat example == HF-convention loss over exactly the assistant tokens + end-of-turn token,
// computed independently from the token positions of the rendered text.
TEST(Train, MaskingMatchesIndependentHfLoss) {
  TempDir t;
  write_tiny_model(t / "model", 32, 1, 3);
  tokenizer::Tokenizer tok(t / "model/tokenizer.json");
  tsft::fs_write_atomic(
      t / "one.jsonl",
      R"({"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"2+2?"},)"
      R"({"role":"assistant","content":"It is 4."}]})"
      "\n");
  DataOptions o;
  o.chat.template_name = "chatml";
  auto ex = data_load_sft(t / "one.jsonl", tok, o, nullptr);
  ASSERT_EQ(ex.size(), 1u);
  // independent positions: tokens of the prefix up to the answer, the answer, then <|im_end|>
  std::string prefix =
      "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n";
  size_t P = tok.encode(prefix).size(), A = tok.encode("It is 4.").size();
  std::vector<int32_t> full = tok.encode(prefix + "It is 4.<|im_end|>\n");
  ASSERT_EQ(ex[0].ids, full);
  ASSERT_EQ(full[P + A], 258) << "end-of-turn token follows the answer";
  Model m = model_load(t / "model");
  int T = (int)full.size();
  std::vector<int32_t> pos(T);
  for (int i = 0; i < T; i++) pos[i] = i;
  std::vector<float> logits((size_t)T * m.cfg.V);
  Activations a = activations_create(m.cfg, 1, T, false);
  Batch b{full.data(), nullptr, pos.data(), nullptr, 1, T};
  model_forward(m, a, b, logits.data());
  double ref = 0;
  int n = 0;
  for (size_t k = P; k <= P + A; k++) {  // targets: answer tokens and <|im_end|>
    const float* z = logits.data() + (k - 1) * m.cfg.V;
    double mx = *std::max_element(z, z + m.cfg.V), s = 0;
    for (int v = 0; v < m.cfg.V; v++) s += std::exp(z[v] - mx);
    ref += mx + std::log(s) - z[full[k]];
    n++;
  }
  ref /= n;
  auto rows = data_pack(ex, 128, true);
  MicroBatch mb = data_make_batch(rows, {0});
  EXPECT_EQ(mb.supervised, n);
  Activations a2 = activations_create(m.cfg, 1, mb.T, false);
  Batch b2{mb.ids.data(), mb.targets.data(), mb.pos.data(), mb.doc.data(), 1, mb.T};
  ForwardResult fr = model_forward(m, a2, b2);
  EXPECT_NEAR(fr.loss_sum / fr.n_valid, ref, 1e-5);
}

TEST(Train, ZeroSupervisedWarnsAndAllMaskedFails) {
  TempDir t;
  write_byte_tokenizer(t / "tok");
  tokenizer::Tokenizer tok(t / "tok/tokenizer.json");
  tsft::fs_write_atomic(
      t / "d.jsonl",
      R"({"id":"a","messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"yo"}]})"
      "\n"
      R"({"id":"b","messages":[{"role":"user","content":"no answer here"}]})"
      "\n");
  DataOptions o;
  o.chat.template_name = "chatml";
  DataStats st;
  auto ex = data_load_sft(t / "d.jsonl", tok, o, &st);
  EXPECT_EQ(st.zero_supervised, std::vector<std::string>{"b"});
  tsft::fs_write_atomic(t / "none.jsonl", R"({"messages":[{"role":"user","content":"x"}]})"
                                          "\n");
  try {
    data_load_sft(t / "none.jsonl", tok, o, nullptr);
    FAIL() << "all-masked data must be an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("supervised"), std::string::npos) << e.what();
  }
  tsft::fs_write_atomic(t / "bad.jsonl", "{\"messages\":[{\"role\":\"user\"}]}\n");
  try {
    data_load_sft(t / "bad.jsonl", tok, o, nullptr);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("bad.jsonl:1"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("content"), std::string::npos) << e.what();
  }
}

TEST(Train, PackingKeepsDocumentsApartAndOverlongPolicy) {
  std::vector<Example> ex(5);
  int lens[5] = {50, 70, 30, 100, 20};
  for (int i = 0; i < 5; i++) {
    ex[i].ids.assign(lens[i], i + 1);
    ex[i].mask.assign(lens[i], 1);
  }
  auto rows = data_pack(ex, 128, true);
  int64_t total = 0;
  for (auto& r : rows) {
    EXPECT_LE(r.ids.size(), 128u);
    total += (int64_t)r.ids.size();
    for (size_t i = 0; i < r.ids.size(); i++) {
      if (i + 1 < r.ids.size() && r.doc[i + 1] != r.doc[i]) {
        EXPECT_EQ(r.targets[i], -100) << "loss crosses documents";
      }
      if (i > 0 && r.doc[i] != r.doc[i - 1]) {
        EXPECT_EQ(r.pos[i], 0) << "positions restart";
      }
    }
  }
  EXPECT_EQ(total, 270);
  EXPECT_EQ(rows.size(), 3u);  // 270 tokens fit in 3 rows of 128 with best-fit
  EXPECT_EQ(data_pack(ex, 128, false).size(), 5u);
}

// 4 micro-batches of 1 example == 1 batch of 4 examples (different supervised lengths). The summed
// gradients differ only by fp32 summation order (~1e-7 relative); after one AdamW step the weights
// therefore agree to ~1e-7 of the update size: bound 1e-4 relative on the change.
TEST(Train, AccumulationEqualsOneBigBatch) {
  TempDir t;
  write_tiny_model(t / "model", 32, 2, 5);
  std::string data;
  for (int i = 0; i < 4; i++)
    data += nlohmann::json{{"messages",
                            {{{"role", "user"}, {"content", "q" + std::to_string(i)}},
                             {{"role", "assistant"}, {"content", std::string(3 + 9 * i, 'a' + i)}}}}}
                .dump() +
            "\n";
  tsft::fs_write_atomic(t / "train.jsonl", data);
  TrainConfig a = base_config(t, "a"), b = base_config(t, "b");
  a.packing = b.packing = false;
  a.micro_batch = 1;
  a.grad_accum = 4;
  b.micro_batch = 4;
  b.grad_accum = 1;
  a.max_steps = b.max_steps = 1;
  a.adam.lr = b.adam.lr = 1e-3;
  TrainResult ra = train_run(a), rb = train_run(b);
  EXPECT_NEAR(ra.last_loss, rb.last_loss, 1e-6 * rb.last_loss);
  Model base = model_load(t / "model"), ma = model_load(ra.final_dir), mb = model_load(rb.final_dir);
  double num = 0, den = 0;
  for (size_t i = 0; i < base.params.size(); i++) {
    double da = ma.params[i] - base.params[i], db = mb.params[i] - base.params[i];
    num += (da - db) * (da - db);
    den += db * db;
  }
  ASSERT_GT(den, 0);
  EXPECT_LE(std::sqrt(num / den), 1e-4);
}

// --trainable mlp: tsft diff shows every non-MLP tensor bit-identical, MLP tensors changed; the
// optimizer state exists only for MLP tensors.
TEST(Train, MlpOnlySelectionLeavesOthersBitIdentical) {
  TempDir t;
  write_tiny_model(t / "model", 32, 2, 6);
  write_reverse_data(t / "train.jsonl", 40, 4, 2);
  CmdResult r = run_cmd(
      tsft_bin() + " train --model " + t / "model" + " --data " + t / "train.jsonl" + " --out " + t / "run" +
      " --trainable mlp --steps 3 --micro-batch 2 --block 64 --lr 1e-3 --chat-template chatml");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  CmdResult d = run_cmd(tsft_bin() + " diff --a " + t / "model" + " --b " + t / "run/final");
  ASSERT_EQ(d.exit_code, 0) << d.output;
  int mlp_changed = 0, others = 0;
  std::istringstream in(d.output);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model.", 0) != 0 && line.rfind("lm_head", 0) != 0) continue;
    bool changed = line.find(" 0.0%") == std::string::npos;
    if (line.find(".mlp.") != std::string::npos)
      mlp_changed += changed;
    else {
      others++;
      EXPECT_FALSE(changed) << line;
    }
  }
  EXPECT_EQ(mlp_changed, 6);
  EXPECT_GT(others, 5);
  auto of = SafetensorsFile::open(t / "run/checkpoint-000003/optimizer.safetensors");
  EXPECT_EQ(of->tensors().size(), 12u);  // exp_avg + exp_avg_sq of 6 MLP tensors
  for (auto& ti : of->tensors()) EXPECT_NE(ti.name.find(".mlp."), std::string::npos) << ti.name;
  EXPECT_NE(r.output.find("trainable 'mlp'"), std::string::npos) << r.output;  // counts per group in the log
}

// 20 steps straight == 10 steps + --resume + 10 steps: bit-identical losses and weights.
TEST(Train, ResumeIsBitIdentical) {
  TempDir t;
  write_tiny_model(t / "model", 32, 2, 8);
  write_reverse_data(t / "train.jsonl", 60, 4, 3);
  TrainConfig a = base_config(t, "straight");
  a.max_steps = 20;
  a.micro_batch = 3;
  a.grad_accum = 2;
  a.schedule = "cosine";
  a.warmup = 3;
  train_run(a);
  TrainConfig b = a;
  b.out_dir = t / "split";
  b.save_every = 10;
  b.stop_after = 10;
  train_run(b);
  ASSERT_TRUE(fs::exists(t / "split/checkpoint-000010/trainer_state.json"));
  ASSERT_FALSE(fs::exists(t / "split/final"));
  b.stop_after = 0;
  b.resume_dir = t / "split/checkpoint-000010";
  train_run(b);
  auto la = read_lines(t / "straight/metrics.jsonl"), lb = read_lines(t / "split/metrics.jsonl");
  ASSERT_EQ(la.size(), 20u);
  ASSERT_EQ(lb.size(), 20u);
  for (size_t i = 0; i < la.size(); i++) {
    auto ja = nlohmann::json::parse(la[i]), jb = nlohmann::json::parse(lb[i]);
    EXPECT_EQ(ja["loss"].get<double>(), jb["loss"].get<double>()) << "step " << i + 1;
    EXPECT_EQ(ja["grad_norm"].get<double>(), jb["grad_norm"].get<double>()) << "step " << i + 1;
  }
  Model ma = model_load(t / "straight/final"), mb = model_load(t / "split/final");
  EXPECT_EQ(0, std::memcmp(ma.params.data(), mb.params.data(), ma.params.size() * 4));
}

// Every run records what made it: the build's checkout, the CPU, the GEMM libraries (versions.json).
TEST(Train, VersionsRecordTheBuildAndTheMachine) {
  TempDir t;
  write_tiny_model(t / "model", 32, 2, 8);
  write_reverse_data(t / "train.jsonl", 12, 4, 3);
  TrainConfig c = base_config(t, "run");
  c.max_steps = 1;
  train_run(c);
  const auto v = nlohmann::json::parse(fs_read_text(t / "run/versions.json"));
  for (const char* k : {"tsft", "compiler", "openblas", "onednn", "git", "cpu"}) {
    ASSERT_TRUE(v.contains(k) && v[k].is_string()) << k << " in " << v.dump();
    EXPECT_FALSE(v[k].get<std::string>().empty()) << k;
  }
  EXPECT_EQ(v["git"], build_git());  // a git describe of the source tree, or "unknown" outside a checkout
  const std::string onednn = v["onednn"];
  EXPECT_EQ(std::count(onednn.begin(), onednn.end(), '.'), 2) << onednn;
}

// SIGKILL during a checkpoint write leaves the previous checkpoint loadable. The run is held inside the
// step-4 checkpoint write by the tests' LD_PRELOAD interposer (tests/reliability/slow_rename_preload.cc:
// every rename under the checkpoint's temp directory sleeps 1.5 s), and killed once that temp directory
// exists, i.e. mid-write for sure.
TEST(Train, KilledDuringCheckpointWriteKeepsPreviousCheckpoint) {
  TempDir t;
  write_tiny_model(t / "model", 32, 1, 9);
  write_reverse_data(t / "train.jsonl", 40, 4, 4);
  std::string out = t / "run";
  pid_t pid = fork();
  if (pid == 0) {
    setenv("LD_PRELOAD", TSFT_SLOW_RENAME_LIB, 1);
    setenv("TSFT_SLOW_RENAME_MATCH", "/.checkpoint-000004", 1);
    setenv("TSFT_SLOW_RENAME_MS", "1500", 1);
    const char* asan = getenv("ASAN_OPTIONS");  // the interposer comes before the ASan runtime
    setenv("ASAN_OPTIONS", (std::string(asan ? asan : "") + ":verify_asan_link_order=0").c_str(), 1);
    std::string bin = tsft_bin(), model = t / "model", data = t / "train.jsonl";
    execl(bin.c_str(), bin.c_str(), "train", "--model", model.c_str(), "--data", data.c_str(), "--out",
          out.c_str(), "--steps", "4", "--save-every", "2", "--micro-batch", "2", "--block", "64",
          "--chat-template", "chatml", "-q", (char*)nullptr);
    _exit(127);
  }
  // wait for checkpoint-000002 to be committed and the step-4 temp dir to appear, then kill
  bool killed = false;
  for (int i = 0; i < 600 && !killed; i++) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (!fs::exists(out + "/checkpoint-000002")) continue;
    for (auto& p : fs::directory_iterator(out))
      if (p.path().filename().string().find("checkpoint-000004") != std::string::npos &&
          p.path().filename().string().find("tmp") != std::string::npos) {
        kill(pid, SIGKILL);
        killed = true;
        break;
      }
  }
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(killed) << "the run finished before it could be killed mid-checkpoint";
  EXPECT_TRUE(WIFSIGNALED(status));
  EXPECT_FALSE(fs::exists(out + "/checkpoint-000004"));
  bool mid_write = false;  // the step-4 temp dir is left behind, its last file (trainer_state.json) unwritten
  for (auto& p : fs::directory_iterator(out))
    mid_write |= p.path().filename().string().rfind(".checkpoint-000004.tsft-tmp-", 0) == 0 &&
                 !fs::exists(p.path() / "trainer_state.json");
  EXPECT_TRUE(mid_write) << "the kill did not land inside the step-4 checkpoint write";
  Model m = model_load(out + "/checkpoint-000002");
  EXPECT_GT(m.params.size(), 0u);
  auto st = nlohmann::json::parse(tsft::fs_read_text(out + "/checkpoint-000002/trainer_state.json"));
  EXPECT_EQ(st["step"], 2);
  EXPECT_NO_THROW(SafetensorsFile::open(out + "/checkpoint-000002/optimizer.safetensors"));
}
