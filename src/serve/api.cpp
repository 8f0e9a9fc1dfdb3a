#include "serve/api.hpp"

#include <algorithm>
#include <random>

#include "core/config_schema.hpp"
#include "core/error.hpp"

namespace tsft::serve {
using json = nlohmann::json;

json error_json(int status, const std::string& message, const std::string& type, const std::string& param,
                const std::string& code) {
  return {{"error",
           {{"message", message},
            {"type", type},
            {"param", param.empty() ? json(nullptr) : json(param)},
            {"code", code.empty() ? json(nullptr) : json(code)}}}};
}

namespace {
const json* field(const json& b, const char* key) {
  auto it = b.find(key);
  return it == b.end() || it->is_null() ? nullptr : &*it;
}

int64_t get_int(const json& b, const char* key, int64_t def, int64_t lo, int64_t hi) {
  const json* v = field(b, key);
  if (!v) return def;
  if (!v->is_number_integer())
    throw ApiError(
        400, fmt::format("Invalid type for '{}': expected an integer, got {}", key, v->type_name()), key);
  int64_t x = v->get<int64_t>();
  if (x < lo || x > hi)
    throw ApiError(400, fmt::format("Invalid value for '{}': {} is outside [{}, {}]", key, x, lo, hi), key);
  return x;
}

double get_num(const json& b, const char* key, double def, double lo, double hi) {
  const json* v = field(b, key);
  if (!v) return def;
  if (!v->is_number())
    throw ApiError(400, fmt::format("Invalid type for '{}': expected a number, got {}", key, v->type_name()),
                   key);
  double x = v->get<double>();
  if (!(x >= lo && x <= hi))
    throw ApiError(400, fmt::format("Invalid value for '{}': {} is outside [{}, {}]", key, x, lo, hi), key);
  return x;
}

bool get_bool(const json& b, const char* key, bool def) {
  const json* v = field(b, key);
  if (!v) return def;
  if (!v->is_boolean())
    throw ApiError(400, fmt::format("Invalid type for '{}': expected a boolean, got {}", key, v->type_name()),
                   key);
  return v->get<bool>();
}

std::vector<std::string> get_stop(const json& b) {
  const json* v = field(b, "stop");
  if (!v) return {};
  std::vector<std::string> out;
  if (v->is_string())
    out.push_back(v->get<std::string>());
  else if (v->is_array() && v->size() <= 4)
    for (auto& s : *v) {
      if (!s.is_string()) throw ApiError(400, "Invalid type for 'stop': expected strings", "stop");
      out.push_back(s.get<std::string>());
    }
  else
    throw ApiError(400, "Invalid 'stop': expected a string or an array of at most 4 strings", "stop");
  for (auto& s : out)
    if (s.empty()) throw ApiError(400, "Invalid 'stop': empty string", "stop");
  return out;
}

// The request fields of each endpoint (OpenAI API reference). Implemented: used as documented.
// Neutral-only: refused by refuse_unsupported unless at their neutral value. Ignored: accepted and
// checked for type, with no effect here (who the end user is, storage and routing hints). Any other
// top-level field is an error naming it and the closest known field, so a typo ("max_token") never
// silently falls back to a default.
const std::vector<std::string>& known_fields(bool chat) {
  static const std::vector<std::string> common = {"model", "max_tokens", "n", "temperature", "top_p", "seed",
                                                  "stop", "logprobs", "stream", "stream_options",
                                                  // neutral-only
                                                  "frequency_penalty", "presence_penalty", "logit_bias",
                                                  // ignored
                                                  "user", "metadata", "store", "service_tier"};
  static const std::vector<std::string> chat_fields = [] {
    std::vector<std::string> v = common;
    for (const char* k : {"messages", "max_completion_tokens", "top_logprobs", "tools", "functions",
                          "tool_choice", "function_call", "response_format", "parallel_tool_calls"})
      v.push_back(k);
    return v;
  }();
  static const std::vector<std::string> completion_fields = [] {
    std::vector<std::string> v = common;
    for (const char* k : {"prompt", "echo", "best_of", "suffix"}) v.push_back(k);
    return v;
  }();
  return chat ? chat_fields : completion_fields;
}

void check_type(const json& b, const char* key, bool ok, const char* expected) {
  const json* v = field(b, key);
  if (v && !ok)
    throw ApiError(
        400, fmt::format("Invalid type for '{}': expected {}, got {}", key, expected, v->type_name()), key);
}

void check_known_fields(const json& b, bool chat) {
  const std::vector<std::string>& known = known_fields(chat);
  for (auto& [k, v] : b.items())
    if (std::find(known.begin(), known.end(), k) == known.end())
      throw ApiError(
          400, fmt::format("Unrecognized request argument supplied: '{}'{}", k, schema::suggestion(k, known)),
          k);
  auto has = [&](const char* k) { return field(b, k) != nullptr; };
  if (has("user")) check_type(b, "user", b["user"].is_string(), "a string");
  if (has("metadata")) check_type(b, "metadata", b["metadata"].is_object(), "an object");
  if (has("store")) check_type(b, "store", b["store"].is_boolean(), "a boolean");
  if (has("service_tier")) check_type(b, "service_tier", b["service_tier"].is_string(), "a string");
  if (has("parallel_tool_calls"))
    check_type(b, "parallel_tool_calls", b["parallel_tool_calls"].is_boolean(), "a boolean");
  if (const json* so = field(b, "stream_options"); so && so->is_object())
    for (auto& [k, v] : so->items())
      if (k != "include_usage")
        throw ApiError(400,
                       fmt::format("Unrecognized argument 'stream_options.{}'{}", k,
                                   schema::suggestion(k, {"include_usage"})),
                       "stream_options." + k);
}

// Parameters this server does not implement are refused unless they are at their neutral value.
void refuse_unsupported(const json& b) {
  for (const char* k : {"frequency_penalty", "presence_penalty"})
    if (get_num(b, k, 0, -2, 2) != 0)
      throw ApiError(400, fmt::format("'{}' is not supported by this server", k), k);
  for (const char* k : {"logit_bias", "tools", "functions", "response_format"})
    if (const json* v = field(b, k); v && !v->empty())
      throw ApiError(400, fmt::format("'{}' is not supported by this server", k), k);
  if (get_int(b, "best_of", 1, 1, 1) != 1) throw ApiError(400, "'best_of' is not supported", "best_of");
  for (const char* k : {"tool_choice", "function_call"})  // without tools, "none" and "auto" mean the same
    if (const json* v = field(b, k); v && !(v->is_string() && (*v == "none" || *v == "auto")))
      throw ApiError(400, fmt::format("'{}' is not supported by this server (only \"none\" or \"auto\")", k),
                     k);
  if (const json* v = field(b, "suffix"); v && !(v->is_string() && v->get<std::string>().empty()))
    throw ApiError(400, "'suffix' is not supported by this server", "suffix");
}

std::string message_text(const json& content, size_t i) {
  if (content.is_string()) return content.get<std::string>();
  std::string param = fmt::format("messages[{}].content", i);
  if (!content.is_array()) throw ApiError(400, fmt::format("Invalid type for '{}'", param), param);
  std::string text;
  for (auto& part : content) {
    // Checked type by type: json::value() would throw a non-ApiError on {"type": 1} (fuzz finding).
    if (!part.is_object() || !part.contains("type") || part["type"] != "text" || !part.contains("text") ||
        !part["text"].is_string())
      throw ApiError(400, fmt::format("'{}': only text parts are supported", param), param);
    text += part["text"].get<std::string>();
  }
  return text;
}

std::vector<int32_t> chat_prompt(const json& b, const ModelInfo& mi) {
  const json* msgs = field(b, "messages");
  if (!msgs || !msgs->is_array() || msgs->empty())
    throw ApiError(400, "'messages' must be a non-empty array", "messages");
  if (!mi.has_chat_template)
    throw ApiError(400,
                   "this model has no chat template (serve it with --chat-template, or use /v1/completions)");
  std::vector<tokenizer::ChatMessage> cm;
  for (size_t i = 0; i < msgs->size(); i++) {
    const json& m = (*msgs)[i];
    std::string param = fmt::format("messages[{}]", i);
    if (!m.is_object() || !m.contains("role") || !m["role"].is_string() || !m.contains("content"))
      throw ApiError(400, fmt::format("'{}' needs a string 'role' and a 'content'", param), param);
    std::string role = m["role"];
    if (role != "system" && role != "user" && role != "assistant" && role != "tool")
      throw ApiError(400, fmt::format("'{}.role': unknown role '{}'", param, role), param + ".role");
    cm.push_back({role, message_text(m["content"], i), std::nullopt});
  }
  try {
    return tokenizer::chat_render(*mi.tok, cm, mi.chat).ids;
  } catch (const Error& e) {
    throw ApiError(400, fmt::format("cannot render the conversation: {}", e.what()), "messages");
  }
}

std::vector<int32_t> completion_prompt(const json& b, const ModelInfo& mi, std::string* text) {
  const json* p = field(b, "prompt");
  if (p && p->is_array() && p->size() == 1 && (*p)[0].is_string()) p = &(*p)[0];
  if (p && p->is_string()) {
    *text = p->get<std::string>();
    try {
      return mi.tok->encode(*text, true);
    } catch (const Error& e) {
      throw ApiError(400, fmt::format("cannot encode 'prompt': {}", e.what()), "prompt");
    }
  }
  if (p && p->is_array() && !p->empty() && (*p)[0].is_number_integer()) {  // token ids
    std::vector<int32_t> ids;
    for (auto& t : *p) {
      if (!t.is_number_integer() || t.get<int64_t>() < 0 || t.get<int64_t>() >= mi.tok->vocab_size())
        throw ApiError(400, "'prompt': token ids must be integers in [0, vocab size)", "prompt");
      ids.push_back(t.get<int32_t>());
    }
    *text = mi.tok->decode(ids, false);
    return ids;
  }
  throw ApiError(400, "'prompt' must be a string, an array of one string, or an array of token ids",
                 "prompt");
}
}  // namespace

namespace {
void check_model(const json& b, const ModelInfo& mi) {
  const json* model = field(b, "model");
  if (!model || !model->is_string()) throw ApiError(400, "'model' (a string) is required", "model");
  if (model->get<std::string>() != mi.name)
    throw ApiError(404,
                   fmt::format("The model '{}' does not exist (this server serves '{}')",
                               model->get<std::string>(), mi.name),
                   "model", "model_not_found");
}

// Budget, sampling, stop strings and logprobs of a request whose prompt has plen tokens.
void parse_generation(const json& b, const ModelInfo& mi, int plen, ApiRequest& r) {
  Job& job = *r.job;
  int64_t def_max = r.chat ? mi.max_context - plen : 16;
  int64_t max_tokens = get_int(b, "max_tokens", def_max, 1, 1 << 30);
  if (r.chat) max_tokens = get_int(b, "max_completion_tokens", max_tokens, 1, 1 << 30);
  job.max_tokens = (int)std::min<int64_t>(max_tokens, mi.max_context - plen);  // the context caps it
  job.n = (int)get_int(b, "n", 1, 1, mi.max_n);
  job.sampling.temperature = get_num(b, "temperature", 1.0, 0, 2);
  job.sampling.top_p = get_num(b, "top_p", 1.0, 0, 1);
  if (job.sampling.top_p <= 0) throw ApiError(400, "Invalid value for 'top_p': must be > 0", "top_p");
  static thread_local std::mt19937_64 rng(std::random_device{}());
  job.sampling.seed = (uint64_t)get_int(b, "seed", (int64_t)(rng() >> 1), INT64_MIN, INT64_MAX);
  job.stop = get_stop(b);
  if (r.chat) {
    bool lp = get_bool(b, "logprobs", false);
    int top = (int)get_int(b, "top_logprobs", 0, 0, 20);
    if (!lp && field(b, "top_logprobs"))
      throw ApiError(400, "'top_logprobs' requires 'logprobs': true", "logprobs");
    job.logprobs = lp ? top : -1;
  } else {
    job.logprobs = (int)get_int(b, "logprobs", -1, 0, 5);
    r.echo = get_bool(b, "echo", false);
  }
  r.stream = get_bool(b, "stream", false);
  if (const json* so = field(b, "stream_options")) {
    if (!so->is_object()) throw ApiError(400, "Invalid type for 'stream_options'", "stream_options");
    r.include_usage = get_bool(*so, "include_usage", false);
  }
}
}  // namespace

ApiRequest parse_request(const std::string& body, bool chat, const ModelInfo& mi) {
  json b = json::parse(body, nullptr, false);
  if (b.is_discarded())
    throw ApiError(400, "We could not parse the JSON body of your request (invalid JSON)");
  if (!b.is_object()) throw ApiError(400, "the request body must be a JSON object");
  check_known_fields(b, chat);
  check_model(b, mi);
  refuse_unsupported(b);
  ApiRequest r;
  r.chat = chat;
  r.job = std::make_shared<Job>();
  r.job->prompt = chat ? chat_prompt(b, mi) : completion_prompt(b, mi, &r.prompt_text);
  const int plen = (int)r.job->prompt.size();
  const char* param = chat ? "messages" : "prompt";
  if (plen == 0) throw ApiError(400, "the prompt is empty", param);
  if (plen >= mi.max_context)
    throw ApiError(400,
                   fmt::format("This model's maximum context length is {} tokens; your prompt has {} tokens",
                               mi.max_context, plen),
                   param, "context_length_exceeded");
  parse_generation(b, mi, plen, r);
  return r;
}

json usage_json(const Job& j) {
  int64_t done = 0;
  for (auto& c : j.choices) done += (int64_t)c.tokens.size();
  return {{"prompt_tokens", j.prompt.size()},
          {"completion_tokens", done},
          {"total_tokens", (int64_t)j.prompt.size() + done}};
}

json logprobs_json(const ApiRequest& r, const Choice& c, const tokenizer::Tokenizer& tok, size_t first,
                   size_t last) {
  if (r.job->logprobs < 0) return nullptr;
  last = std::min(last, c.logprobs.size());
  if (r.chat) {
    auto entry = [&](int32_t id, float lp) {
      const std::string& s = tok.token_bytes(id);
      std::vector<int> bytes;
      for (unsigned char ch : s) bytes.push_back(ch);
      return json{{"token", s}, {"logprob", lp}, {"bytes", bytes}};
    };
    json content = json::array();
    for (size_t k = first; k < last; k++) {
      const TokenLogprob& t = c.logprobs[k];
      json e = entry(t.id, t.logprob);
      e["top_logprobs"] = json::array();
      for (auto& [id, lp] : t.top) e["top_logprobs"].push_back(entry(id, lp));
      content.push_back(e);
    }
    return {{"content", content}};
  }
  json tokens = json::array(), lps = json::array(), tops = json::array(), offs = json::array();
  size_t off = 0;  // byte offset in the whole completion
  for (size_t k = 0; k < first && k < last; k++) off += tok.token_bytes(c.logprobs[k].id).size();
  for (size_t k = first; k < last; k++) {
    const TokenLogprob& t = c.logprobs[k];
    const std::string& s = tok.token_bytes(t.id);
    tokens.push_back(s);
    lps.push_back(t.logprob);
    json top = json::object();
    for (auto& [id, lp] : t.top) top[tok.token_bytes(id)] = lp;
    tops.push_back(top);
    offs.push_back(off);
    off += s.size();
  }
  return {{"tokens", tokens}, {"token_logprobs", lps}, {"top_logprobs", tops}, {"text_offset", offs}};
}

json response_json(const ApiRequest& r, const std::string& id, int64_t created, const std::string& model,
                   const tokenizer::Tokenizer& tok) {
  json choices = json::array();
  for (size_t i = 0; i < r.job->choices.size(); i++) {
    const Choice& c = r.job->choices[i];
    json ch = {{"index", i},
               {"logprobs", logprobs_json(r, c, tok, 0, c.logprobs.size())},
               {"finish_reason", c.finish_reason}};
    if (r.chat)
      ch["message"] = {{"role", "assistant"}, {"content", c.text}};
    else
      ch["text"] = r.echo ? r.prompt_text + c.text : c.text;
    choices.push_back(ch);
  }
  return {{"id", id},           {"object", r.chat ? "chat.completion" : "text_completion"},
          {"created", created}, {"model", model},
          {"choices", choices}, {"usage", usage_json(*r.job)}};
}

json chunk_json(const ApiRequest& r, const std::string& id, int64_t created, const std::string& model,
                int index, const std::string& delta, const std::string& finish_reason, bool first,
                const json& logprobs) {
  json ch = {{"index", index},
             {"logprobs", logprobs},
             {"finish_reason", finish_reason.empty() ? json(nullptr) : json(finish_reason)}};
  if (r.chat) {
    ch["delta"] = json::object();
    if (first) ch["delta"]["role"] = "assistant";
    if (!delta.empty() || first) ch["delta"]["content"] = delta;
  } else {
    ch["text"] = delta;
  }
  return {{"id", id},
          {"object", r.chat ? "chat.completion.chunk" : "text_completion"},
          {"created", created},
          {"model", model},
          {"choices", {ch}}};
}

}  // namespace tsft::serve
