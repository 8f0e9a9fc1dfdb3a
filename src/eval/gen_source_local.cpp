// Local generation for tsft eval: chat template + batched generate() over the loaded model.
#include <filesystem>

#include "eval/gen_source.hpp"
#include "model/engine.hpp"
#include "model/generate.hpp"
#include "model/lora.hpp"
#include "tokenizer/chat.hpp"

namespace tsft::eval {

namespace {
class LocalSource : public GenSource {
 public:
  explicit LocalSource(const EvalConfig& cfg)
      : cfg_(cfg),
        eng_(engine_create(cfg.engine, model_load_adapted(cfg.model_dir, cfg.adapter_dir))),
        tok_(cfg.tokenizer_path.empty() ? (std::filesystem::path(cfg.model_dir) / "tokenizer.json").string()
                                        : cfg.tokenizer_path) {
    copt_.add_generation_prompt = true;
    copt_.template_name = cfg.chat_template;
    g_.max_new_tokens = cfg.max_new_tokens;
    g_.max_batch = cfg.batch;
    for (int32_t id : {tok_.end_of_turn_id(), tok_.eos_id()})
      if (id >= 0) g_.stop_ids.push_back(id);
    for (int id : eng_->config().eos_token_ids) g_.stop_ids.push_back(id);
  }

  std::vector<GenOutput> generate(const std::vector<std::string>& questions) override {
    std::vector<std::vector<int32_t>> prompts;
    for (auto& q : questions) {
      std::vector<tokenizer::ChatMessage> msgs;
      if (!cfg_.system.empty()) msgs.push_back({"system", cfg_.system, std::nullopt});
      msgs.push_back({"user", q, std::nullopt});
      prompts.push_back(tokenizer::chat_render(tok_, msgs, copt_).ids);
    }
    GenStats st;
    auto res = tsft::generate(*eng_, prompts, g_, &st);
    stats.prompt_tokens += st.prompt_tokens;
    stats.new_tokens += st.new_tokens;
    std::vector<GenOutput> out(res.size());
    for (size_t i = 0; i < res.size(); i++) {
      out[i].text = tok_.decode(res[i].tokens, true);
      out[i].new_tokens = (int64_t)res[i].tokens.size();
      out[i].prompt_tokens = (int64_t)prompts[i].size();
    }
    return out;
  }

  std::string model_name() const override { return cfg_.model_dir; }

 private:
  EvalConfig cfg_;
  std::unique_ptr<Engine> eng_;
  tokenizer::Tokenizer tok_;
  tokenizer::ChatOptions copt_;
  GenOptions g_;
};
}  // namespace

std::unique_ptr<GenSource> gen_source_local(const EvalConfig& cfg) {
  return std::make_unique<LocalSource>(cfg);
}

std::unique_ptr<GenSource> gen_source_make(const EvalConfig& cfg) {
  return cfg.endpoint.url.empty() ? gen_source_local(cfg) : gen_source_endpoint(cfg);
}

}  // namespace tsft::eval
