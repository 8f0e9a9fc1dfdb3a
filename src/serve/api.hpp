// The OpenAI wire format: request bodies of /v1/chat/completions and /v1/completions validated into a Job
// (bad input -> ApiError with the status and OpenAI's error JSON), and the response / stream-chunk JSON.
#pragma once
#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

#include "serve/scheduler.hpp"
#include "tokenizer/chat.hpp"

namespace tsft::serve {

struct ApiError : std::runtime_error {
  int status;
  std::string type, param, code;
  ApiError(int status, const std::string& message, std::string param = "", std::string code = "",
           std::string type = "invalid_request_error")
      : std::runtime_error(message),
        status(status),
        type(std::move(type)),
        param(std::move(param)),
        code(std::move(code)) {}
};
nlohmann::json error_json(int status, const std::string& message,
                          const std::string& type = "invalid_request_error", const std::string& param = "",
                          const std::string& code = "");

// What request parsing needs to know about the served model.
struct ModelInfo {
  std::string name;  // the id clients put in "model"
  const tokenizer::Tokenizer* tok = nullptr;
  tokenizer::ChatOptions chat;  // add_generation_prompt set; template_name from --chat-template
  bool has_chat_template = false;
  int max_context = 0;
  int max_n = 16;
};

struct ApiRequest {
  bool chat = false, stream = false, include_usage = false, echo = false;
  std::string prompt_text;  // completions echo
  std::shared_ptr<Job> job;
};
// Body (raw text) -> request; throws ApiError.
ApiRequest parse_request(const std::string& body, bool chat, const ModelInfo& mi);

// Whole response once every choice is done.
nlohmann::json response_json(const ApiRequest& r, const std::string& id, int64_t created,
                             const std::string& model, const tokenizer::Tokenizer& tok);
// One stream chunk of choice `index`: a text delta and/or its finish reason ("" = not yet).
nlohmann::json chunk_json(const ApiRequest& r, const std::string& id, int64_t created,
                          const std::string& model, int index, const std::string& delta,
                          const std::string& finish_reason, bool first,
                          const nlohmann::json& logprobs = nullptr);
// Logprobs of generated tokens [first, last) of a choice in the request's format (null when not asked).
nlohmann::json logprobs_json(const ApiRequest& r, const Choice& c, const tokenizer::Tokenizer& tok,
                             size_t first, size_t last);
nlohmann::json usage_json(const Job& j);

}  // namespace tsft::serve
