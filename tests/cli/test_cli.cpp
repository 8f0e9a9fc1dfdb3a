// The tsft binary: --help for every subcommand, exit codes (0 ok, 1 failure, 2 usage), parity/info/init.
#include <gtest/gtest.h>

#include "test_util.hpp"

using namespace tsft_test;

TEST(Cli, HelpForEverySubcommand) {
  CmdResult top = run_cmd(tsft_bin() + " --help");
  ASSERT_EQ(top.exit_code, 0) << top.output;
  for (const char* sub : {"parity", "info", "init"}) {
    EXPECT_NE(top.output.find(sub), std::string::npos) << sub;
    CmdResult r = run_cmd(tsft_bin() + " " + sub + " --help");
    EXPECT_EQ(r.exit_code, 0) << sub << r.output;
    EXPECT_NE(r.output.find("--"), std::string::npos) << sub;
  }
}

TEST(Cli, UsageErrorsExitTwo) {
  EXPECT_EQ(run_cmd(tsft_bin()).exit_code, 2);
  EXPECT_EQ(run_cmd(tsft_bin() + " no-such-command").exit_code, 2);
  EXPECT_EQ(run_cmd(tsft_bin() + " parity --golden x").exit_code, 2);  // --model missing
  EXPECT_EQ(run_cmd(tsft_bin() + " info --model x --no-such-flag").exit_code, 2);
}

TEST(Cli, ParityPassesOnFixturesAndFailsOnMismatch) {
  CmdResult ok = run_cmd(tsft_bin() + " parity --model " + fixture("hf/llama3") + " --golden " +
                         fixture("hf/llama3/golden.safetensors"));
  EXPECT_EQ(ok.exit_code, 0) << ok.output;
  EXPECT_NE(ok.output.find("PASS"), std::string::npos);
  // The bf16 model against the fp32 golden: the weights differ by bf16 rounding -> beyond tolerance.
  CmdResult bad = run_cmd(tsft_bin() + " parity --model " + fixture("hf/qwen2-bf16") + " --golden " +
                          fixture("hf/qwen2/golden.safetensors"));
  EXPECT_EQ(bad.exit_code, 1) << bad.output;
  EXPECT_NE(bad.output.find("FAIL"), std::string::npos);
  // The bf16 engine passes its own derived bounds; unknown engines are usage errors naming the choices.
  CmdResult bf = run_cmd(tsft_bin() + " parity --precision bf16 --model " + fixture("hf/llama3") +
                         " --golden " + fixture("hf/llama3/golden.safetensors"));
  EXPECT_EQ(bf.exit_code, 0) << bf.output;
  EXPECT_NE(bf.output.find("on cpu/bf16"), std::string::npos) << bf.output;
  CmdResult fp16 = run_cmd(tsft_bin() + " parity --precision fp16 --model " + fixture("hf/llama3") +
                           " --golden " + fixture("hf/llama3/golden.safetensors"));
  EXPECT_EQ(fp16.exit_code, 2) << fp16.output;
  EXPECT_NE(fp16.output.find("fp32, fp32-ref, bf16"), std::string::npos) << fp16.output;
  // The reference engine passes the fp32 bounds too.
  CmdResult ref = run_cmd(tsft_bin() + " parity --precision fp32-ref --model " + fixture("hf/llama3") +
                          " --golden " + fixture("hf/llama3/golden.safetensors"));
  EXPECT_EQ(ref.exit_code, 0) << ref.output;
  EXPECT_NE(ref.output.find("on cpu/fp32-ref"), std::string::npos) << ref.output;
  CmdResult cuda = run_cmd("TSFT_CUDA_MODULE=/nonexistent/m.so " + tsft_bin() +
                           " generate --device cuda --raw --prompt hi --model " + fixture("hf/llama3"));
  EXPECT_EQ(cuda.exit_code, 2) << cuda.output;
  EXPECT_NE(cuda.output.find("/nonexistent/m.so"), std::string::npos) << cuda.output;
  CmdResult missing = run_cmd(tsft_bin() + " parity --model /nonexistent --golden x");
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.output.find("/nonexistent"), std::string::npos) << missing.output;
}

TEST(Cli, InitThenInfo) {
  TempDir tmp;
  CmdResult r = run_cmd(tsft_bin() +
                        " init --arch qwen3 --vocab 128 --hidden 64 --layers 2 --heads 4 "
                        "--kv-heads 2 --seed 3 --out " +
                        tmp / "m");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  CmdResult i = run_cmd(tsft_bin() + " info --model " + tmp / "m");
  ASSERT_EQ(i.exit_code, 0) << i.output;
  EXPECT_NE(i.output.find("qwen3"), std::string::npos);
  EXPECT_NE(i.output.find("mlp"), std::string::npos);
  EXPECT_NE(i.output.find("activations"), std::string::npos);
  CmdResult same = run_cmd(tsft_bin() +
                           " init --arch qwen3 --vocab 128 --hidden 64 --layers 2 --heads 4 "
                           "--kv-heads 2 --seed 3 --out " +
                           tmp / "m2");
  ASSERT_EQ(same.exit_code, 0);
  EXPECT_EQ(run_cmd("cmp " + tmp / "m/model.safetensors" + " " + tmp / "m2/model.safetensors").exit_code, 0)
      << "same seed must give identical weights";
}

// Issue 15 acceptance: parity with a PEFT adapter prints PASS (fp32 HF bounds); merge writes a full
// checkpoint; a bad adapter is an error naming the file.
TEST(Cli, LoraParityAndMerge) {
  const std::string base = fixture("hf/llama3"), adapter = fixture("hf/llama3-lora");
  CmdResult ok = run_cmd(tsft_bin() + " parity --model " + base + " --adapter " + adapter + " --golden " +
                         adapter + "/golden.safetensors");
  EXPECT_EQ(ok.exit_code, 0) << ok.output;
  EXPECT_NE(ok.output.find("grads   28 tensors"), std::string::npos) << ok.output;
  EXPECT_NE(ok.output.find("PASS"), std::string::npos) << ok.output;
  // without the adapter the same golden fails (the adapter moves the logits)
  CmdResult no =
      run_cmd(tsft_bin() + " parity --model " + base + " --golden " + adapter + "/golden.safetensors");
  EXPECT_EQ(no.exit_code, 1) << no.output;
  TempDir tmp;
  CmdResult m =
      run_cmd(tsft_bin() + " merge --model " + base + " --adapter " + adapter + " --out " + tmp / "merged");
  ASSERT_EQ(m.exit_code, 0) << m.output;
  CmdResult i = run_cmd(tsft_bin() + " info --model " + tmp / "merged");
  EXPECT_EQ(i.exit_code, 0) << i.output;
  CmdResult bad =
      run_cmd(tsft_bin() + " merge --model " + base + " --adapter " + base + " --out " + tmp / "x");
  EXPECT_EQ(bad.exit_code, 1) << bad.output;
  EXPECT_NE(bad.output.find("no adapter_config.json"), std::string::npos) << bad.output;
}

// Memory with LoRA: tsft info prints the optimizer state, which is exactly the adapter's two moments.
// llama3 fixture, r 4 on every linear layer: per layer q 4(64+64) + k 4(64+32) + v 4(64+32) + o 4(64+64)
// + gate/up/down 3 x 4(64+176) = 4672, two layers 9344 parameters.
TEST(Cli, InfoLoraOptimizerStateIsAdapterSize) {
  CmdResult r =
      run_cmd(tsft_bin() + " info --model " + fixture("hf/llama3") + " --lora-rank 4 --lora-alpha 8");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("14 modules, 9344 adapter parameters"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("optimizer state 74752 bytes = adapter 9344 parameters x 2 moments x 4 bytes"),
            std::string::npos)
      << r.output;
  CmdResult mlp =
      run_cmd(tsft_bin() + " info --model " + fixture("hf/llama3") + " --lora-rank 2 --lora-targets mlp");
  ASSERT_EQ(mlp.exit_code, 0) << mlp.output;
  EXPECT_NE(mlp.output.find("6 modules, 2880 adapter parameters"), std::string::npos)
      << mlp.output;  // 2*3*2*240
  CmdResult bad =
      run_cmd(tsft_bin() + " info --model " + fixture("hf/llama3") + " --lora-rank 2 --lora-targets norm");
  EXPECT_EQ(bad.exit_code, 2) << bad.output;
  EXPECT_NE(bad.output.find("--lora-targets"), std::string::npos) << bad.output;
}

// `tsft tokenize --decode`: an id outside the vocabulary names the line and the value, also when it only
// wraps into range as a 32-bit integer (2^32 + 5 is not 5).
TEST(Cli, TokenizeDecodeRefusesIdsOutsideTheVocabulary) {
  const std::string tok = fixture("tokenizers/hf-trained/qwen2-bpe1500.tokenizer.json");
  CmdResult ok =
      run_cmd("printf '{\"ids\": [5]}\\n' | " + tsft_bin() + " tokenize --decode --tokenizer " + tok);
  EXPECT_EQ(ok.exit_code, 0) << ok.output;
  for (const std::string id : {"4294967301", "-1", "1500000"}) {
    CmdResult bad = run_cmd("printf '{\"ids\": [1]}\\n{\"ids\": [" + id + "]}\\n' | " + tsft_bin() +
                            " tokenize --decode --tokenizer " + tok);
    EXPECT_NE(bad.exit_code, 0) << bad.output;
    EXPECT_NE(bad.output.find("stdin line 2: field \"ids\" holds " + id + ", not a token id"),
              std::string::npos)
        << bad.output;
  }
}
