// Endpoint generation for tsft eval --endpoint: the same conversations sent to an OpenAI-compatible
// /v1/chat/completions (greedy: temperature 0), concurrently, with retries (src/net/openai_client).
#include "eval/gen_source.hpp"
#include "net/openai_client.hpp"

namespace tsft::eval {

namespace {
class EndpointSource : public GenSource {
 public:
  explicit EndpointSource(const EvalConfig& cfg)
      : cfg_(cfg),
        c_(net::chat_client_config(cfg.endpoint, {{"max_tokens", cfg.max_new_tokens}, {"temperature", 0}})) {
    c_.keep_failures = true;  // one lost request is one ungraded item, not a lost chunk
  }

  std::vector<GenOutput> generate(const std::vector<std::string>& questions) override {
    std::vector<nlohmann::json> convs;
    for (auto& q : questions) {
      nlohmann::json msgs = nlohmann::json::array();
      if (!cfg_.system.empty()) msgs.push_back({{"role", "system"}, {"content", cfg_.system}});
      msgs.push_back({{"role", "user"}, {"content", q}});
      convs.push_back(msgs);
    }
    net::ChatStats st;
    auto res = net::chat_complete_all(c_, convs, &st);
    stats.prompt_tokens += st.prompt_tokens;
    stats.new_tokens += st.completion_tokens;
    stats.requests += st.requests;
    stats.retries += st.retries;
    std::vector<GenOutput> out(res.size());
    for (size_t i = 0; i < res.size(); i++)
      out[i] = {res[i].text, res[i].completion_tokens, res[i].prompt_tokens, res[i].error};
    return out;
  }

  std::string model_name() const override { return cfg_.endpoint.model; }

 private:
  EvalConfig cfg_;
  net::ChatClientConfig c_;
};
}  // namespace

std::unique_ptr<GenSource> gen_source_endpoint(const EvalConfig& cfg) {
  return std::make_unique<EndpointSource>(cfg);
}

}  // namespace tsft::eval
