#include "experiment/experiment_runner.hpp"

namespace tsft::exp_detail {

std::pair<std::string, std::string> plan_base(Runner& r, const Plan& p, int b, const std::string& k_tok,
                                              const std::string& gen, const std::string& tokd) {
  const json& cfg = p.cfg;
  const json& md = cfg["model"];
  const std::string out = p.out, bs = std::to_string(b), tag = "b" + bs;
  std::string k_init = experiment_hash(k_tok + md.dump() + bs);
  std::string init =
      r.stage("init/" + tag, k_init,
              plus(plus({"init"}, cfg_flags(p.cfg, {{"--arch", "model", "arch"},
                                                    {"--vocab", "tokenizer", "vocab_size"},
                                                    {"--hidden", "model", "hidden"},
                                                    {"--intermediate", "model", "intermediate"},
                                                    {"--layers", "model", "layers"},
                                                    {"--heads", "model", "heads"},
                                                    {"--kv-heads", "model", "kv_heads"},
                                                    {"--max-pos", "model", "max_pos"}})),
                   {"--seed", bs, "--tokenizer-dir", tokd, "--out", out + "/init/" + tag + "/model"}));
  const json& pt = cfg["pretrain"];
  std::string k_pre = experiment_hash(k_init + pt.dump());
  std::string pre =
      r.stage("pretrain/" + tag, k_pre,
              plus(train_stage_args(p, "pretrain", "pretrain", init + "/model", gen + "/corpus.jsonl",
                                    out + "/pretrain/" + tag, cfg_arg(p.cfg, "pretrain", "steps")),
                   {"--seed", bs, "--threads", p.threads, "-q"}));
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
    std::string ins =
        r.stage("instruct/" + tag, k_base,
                plus(train_stage_args(p, "train", "instruct", base, idata + "/chat.jsonl",
                                      out + "/instruct/" + tag, s(in["steps"])),
                     {"--seed", bs, "--chat-template", "chatml", "--threads", p.threads, "-q"}));
    base = ins + "/final";
  }
  return {base, k_base};
}

}  // namespace tsft::exp_detail
