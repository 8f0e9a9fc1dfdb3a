// tsft init: a randomly initialised model (HF-style init, seeded) saved as an HF directory.
#include <fmt/format.h>

#include "cli/command.hpp"
#include "core/error.hpp"
#include "model/model.hpp"

namespace cmd_init {
struct Opts {
  std::string arch = "llama", out, tokenizer_dir, from_config;
  int vocab = 512, hidden = 256, intermediate = 0, layers = 4, heads = 4, kv_heads = 0, head_dim = 0,
      max_pos = 2048;
  int bos = -1, eos = -1;
  double init_std = 0.02, rope_theta = 0;
  uint64_t seed = 0;
  std::string tie = "auto";
};

int run(const Opts& o) {
  tsft::ModelConfig cfg;
  if (!o.from_config.empty()) {
    cfg = tsft::config_load(o.from_config);
  } else {
    int F = o.intermediate > 0 ? o.intermediate : (int)(8.0 * o.hidden / 3 / 8 + 0.5) * 8;
    cfg = tsft::config_make(o.arch, o.vocab, o.hidden, F, o.layers, o.heads, o.kv_heads > 0 ? o.kv_heads : o.heads,
                            o.head_dim, o.max_pos);
    if (o.rope_theta > 0) cfg.rope.theta = o.rope_theta;
    if (o.tie != "auto") cfg.tie_word_embeddings = o.tie == "yes";
    if (o.bos >= 0) cfg.bos_token_id = o.bos;
    if (o.eos >= 0) cfg.eos_token_ids = {o.eos};
    cfg.raw["initializer_range"] = o.init_std;
  }
  tsft::Model m = tsft::model_create(cfg);
  tsft::model_init_weights(m, o.seed, o.init_std);
  tsft::model_save(m, o.out, o.tokenizer_dir);
  fmt::print("wrote {} ({} L={} C={} F={} H={} KV={} V={}, {} parameters, seed {})\n", o.out, cfg.model_type,
             cfg.L, cfg.C, cfg.F, cfg.H, cfg.KV, cfg.V, m.table.count_params(), o.seed);
  return 0;
}

TSFT_COMMAND(init, "init", "Create a randomly initialised model (HF directory)", [](CLI::App& app) {
  auto o = std::make_shared<Opts>();
  app.add_option("--out", o->out, "output directory")->required();
  app.add_option("--arch", o->arch, "llama | qwen2 | qwen3")
      ->check(CLI::IsMember({"llama", "qwen2", "qwen3"}))->capture_default_str();
  app.add_option("--from-config", o->from_config, "take the architecture from an HF config.json");
  app.add_option("--vocab", o->vocab, "vocabulary size V")->capture_default_str();
  app.add_option("--hidden", o->hidden, "hidden size C")->capture_default_str();
  app.add_option("--intermediate", o->intermediate, "MLP width F (default ~8C/3, multiple of 8)");
  app.add_option("--layers", o->layers, "layers L")->capture_default_str();
  app.add_option("--heads", o->heads, "query heads H")->capture_default_str();
  app.add_option("--kv-heads", o->kv_heads, "key/value heads KV (default H)");
  app.add_option("--head-dim", o->head_dim, "head dim D (default C/H)");
  app.add_option("--max-pos", o->max_pos, "max_position_embeddings")->capture_default_str();
  app.add_option("--rope-theta", o->rope_theta, "RoPE base (default 5e5 llama, 1e6 qwen)");
  app.add_option("--tie", o->tie, "tie embeddings: auto | yes | no")->check(CLI::IsMember({"auto", "yes", "no"}));
  app.add_option("--bos", o->bos, "bos_token_id");
  app.add_option("--eos", o->eos, "eos_token_id");
  app.add_option("--init-std", o->init_std, "initializer_range")->capture_default_str();
  app.add_option("--seed", o->seed, "random seed")->capture_default_str();
  app.add_option("--tokenizer-dir", o->tokenizer_dir, "copy tokenizer files from this directory");
  return [o] { return run(*o); };
});
}  // namespace cmd_init
