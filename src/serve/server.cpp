#include "serve/server.hpp"

#include <httplib.h>

#include <chrono>
#include <filesystem>
#include <random>
#include <thread>

#include "core/error.hpp"
#include "core/progress.hpp"
#include "kernels/cpu/kernels.hpp"
#include "model/lora.hpp"

namespace tsft::serve {
using json = nlohmann::json;

namespace {
std::string dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

int64_t now_s() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void send_error(httplib::Response& res, int status, const std::string& msg, const std::string& type,
                const std::string& param = "", const std::string& code = "") {
  res.status = status;
  res.set_content(dump(error_json(status, msg, type, param, code)), "application/json");
}

// Per stream: what of each choice was sent already.
struct StreamState {
  ApiRequest r;
  std::string id, model;
  int64_t created = 0;
  const tokenizer::Tokenizer* tok = nullptr;
  std::vector<size_t> sent, sent_tokens;  // text bytes / tokens (logprobs) already sent per choice
  std::vector<char> started, finished;
};

// Whether a choice has text, a first chunk or its end to send (call with job.mu held).
bool has_news(const StreamState& s) {
  for (size_t i = 0; i < s.r.job->choices.size(); i++) {
    const Choice& c = s.r.job->choices[i];
    if (!s.finished[i] && (!s.started[i] || c.done || c.stable > s.sent[i])) return true;
  }
  return false;
}

// SSE events for everything new in the job (call with job.mu held); true when every choice is finished.
bool collect_events(StreamState& s, std::vector<std::string>& events) {
  bool all = true;
  for (size_t i = 0; i < s.r.job->choices.size(); i++) {
    const Choice& c = s.r.job->choices[i];
    if (s.finished[i]) continue;
    std::string delta = c.text.substr(s.sent[i], c.stable - std::min(c.stable, s.sent[i]));
    bool fin = c.done;
    if (!delta.empty() || !s.started[i] || fin) {
      std::string reason = fin ? c.finish_reason : "";
      // logprobs of the tokens generated since the last chunk travel with the text they produced
      json lp = logprobs_json(s.r, c, *s.tok, s.sent_tokens[i], c.logprobs.size());
      s.sent_tokens[i] = c.logprobs.size();
      if (!delta.empty() || !s.started[i]) {
        events.push_back(
            dump(chunk_json(s.r, s.id, s.created, s.model, (int)i, delta, "", !s.started[i], lp)));
        lp = logprobs_json(s.r, c, *s.tok, 0, 0);
      }
      if (fin)
        events.push_back(dump(chunk_json(s.r, s.id, s.created, s.model, (int)i, "", reason, false, lp)));
      s.started[i] = 1;
      s.sent[i] = c.stable;
      s.finished[i] = fin;
    }
    all = all && fin;
  }
  return all;
}
}  // namespace

struct Server::Impl {
  ServeConfig cfg;
  std::unique_ptr<Engine> engine;
  tokenizer::Tokenizer tok;
  std::unique_ptr<Backend> be;
  std::unique_ptr<Scheduler> sched;
  ModelInfo mi;
  httplib::Server http;
  std::atomic<int64_t> requests{0}, errors{0}, in_flight{0}, next_id{0};
  std::atomic<bool> draining{false};
  uint64_t id_salt = std::random_device{}();

  explicit Impl(const ServeConfig& c);
  void routes();
  bool authorized(const httplib::Request& req, httplib::Response& res);
  void generate(const httplib::Request& req, httplib::Response& res, bool chat);
  void stream(httplib::Response& res, ApiRequest r, const std::string& id);
};

Server::Impl::Impl(const ServeConfig& c)
    : cfg(c),
      engine(engine_create(c.engine, model_load_adapted(c.model_dir, c.adapter_dir))),
      tok(c.tokenizer_path.empty() ? (std::filesystem::path(c.model_dir) / "tokenizer.json").string()
                                   : c.tokenizer_path) {
  kernels_init_threads(cfg.threads);
  be = std::make_unique<Backend>(*engine, cfg.max_batch, cfg.max_context);
  std::vector<int32_t> stop_ids;
  for (int32_t id : {tok.end_of_turn_id(), tok.eos_id()})
    if (id >= 0) stop_ids.push_back(id);
  for (int id : engine->config().eos_token_ids) stop_ids.push_back(id);
  sched = std::make_unique<Scheduler>(*be, tok, stop_ids, cfg.max_queue);
  std::string name = cfg.served_name;
  if (name.empty()) name = std::filesystem::path(cfg.model_dir).lexically_normal().filename().string();
  if (name.empty()) name = std::filesystem::path(cfg.model_dir).lexically_normal().parent_path().filename();
  mi.name = name;
  mi.tok = &tok;
  mi.chat.add_generation_prompt = true;
  mi.chat.template_name = cfg.chat_template;
  mi.has_chat_template = !tok.chat_template_source().empty() || !cfg.chat_template.empty();
  mi.max_context = be->max_context();
  mi.max_n = cfg.max_batch;
  routes();
}

bool Server::Impl::authorized(const httplib::Request& req, httplib::Response& res) {
  if (cfg.api_key.empty()) return true;
  if (req.get_header_value("Authorization") == "Bearer " + cfg.api_key) return true;
  send_error(res, 401, "Incorrect or missing API key (send 'Authorization: Bearer KEY')",
             "invalid_request_error", "", "invalid_api_key");
  return false;
}

void Server::Impl::routes() {
  http.set_payload_max_length(cfg.max_body_bytes);
  http.new_task_queue = [n = cfg.http_threads] { return new httplib::ThreadPool(n); };
  http.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    requests++;
    if (req.path.rfind("/v1/", 0) == 0 && !authorized(req, res))
      return httplib::Server::HandlerResponse::Handled;
    return httplib::Server::HandlerResponse::Unhandled;
  });
  http.set_error_handler(
      httplib::Server::HandlerWithResponse([this](const httplib::Request&, httplib::Response& res) {
        errors++;
        if (!res.body.empty()) return httplib::Server::HandlerResponse::Handled;
        std::string msg = res.status == 413
                              ? fmt::format("Request body too large (limit {} bytes)", cfg.max_body_bytes)
                          : res.status == 404 ? "Unknown path"
                                              : fmt::format("HTTP status {}", res.status);
        send_error(res, res.status, msg, "invalid_request_error");
        return httplib::Server::HandlerResponse::Handled;
      }));
  http.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    std::string msg = "internal error";
    try {
      std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      msg = e.what();
    } catch (...) {
    }
    send_error(res, 500, msg, "server_error");
  });
  http.Get("/health", [this](const httplib::Request&, httplib::Response& res) {
    SchedulerStats st = sched->stats();
    res.status = draining ? 503 : 200;
    res.set_content(dump({{"status", draining ? "draining" : "ok"},
                          {"active", st.active},
                          {"queued", st.queued},
                          {"jobs", st.jobs},
                          {"prompt_tokens", st.prompt_tokens},
                          {"new_tokens", st.new_tokens}}),
                    "application/json");
  });
  http.Get("/v1/models", [this](const httplib::Request&, httplib::Response& res) {
    json m = {{"id", mi.name},
              {"object", "model"},
              {"created", 0},
              {"owned_by", "tsft"},
              {"max_model_len", mi.max_context}};
    res.set_content(dump({{"object", "list"}, {"data", {m}}}), "application/json");
  });
  http.Post("/v1/chat/completions",
            [this](const httplib::Request& req, httplib::Response& res) { generate(req, res, true); });
  http.Post("/v1/completions",
            [this](const httplib::Request& req, httplib::Response& res) { generate(req, res, false); });
}

void Server::Impl::generate(const httplib::Request& req, httplib::Response& res, bool chat) {
  in_flight++;
  bool streaming = false;
  struct Leave {
    Impl* s;
    bool* streaming;
    ~Leave() {
      if (!*streaming) s->in_flight--;
    }
  } leave{this, &streaming};
  auto busy = [&](int status, const std::string& msg) {
    res.set_header("Retry-After", std::to_string(cfg.retry_after_s));
    send_error(res, status, msg, status == 429 ? "rate_limit_error" : "server_error");
  };
  if (draining) return busy(503, "the server is shutting down");
  ApiRequest r;
  try {
    r = parse_request(req.body, chat, mi);
  } catch (const ApiError& e) {
    return send_error(res, e.status, e.what(), e.type, e.param, e.code);
  }
  auto st = sched->submit(r.job);
  if (st == Scheduler::Submit::queue_full) return busy(429, "the request queue is full; retry later");
  if (st == Scheduler::Submit::draining) return busy(503, "the server is shutting down");
  std::string id = fmt::format("{}-{:x}{:06x}", chat ? "chatcmpl" : "cmpl", id_salt & 0xffffff, next_id++);
  if (r.stream) {
    streaming = true;
    return stream(res, std::move(r), id);
  }
  Job& j = *r.job;
  std::unique_lock<std::mutex> lk(j.mu);
  j.cv.wait(lk, [&] { return j.remaining == 0; });
  for (auto& c : j.choices)
    if (c.finish_reason == "error")
      return send_error(res, 500, "generation failed (see the server log)", "server_error");
  res.set_content(dump(response_json(r, id, now_s(), mi.name, tok)), "application/json");
}

void Server::Impl::stream(httplib::Response& res, ApiRequest r, const std::string& id) {
  auto s = std::make_shared<StreamState>();
  size_t n = r.job->choices.size();
  s->r = std::move(r);
  s->id = id;
  s->model = mi.name;
  s->created = now_s();
  s->tok = &tok;
  s->sent.assign(n, 0);
  s->sent_tokens.assign(n, 0);
  s->started.assign(n, 0);
  s->finished.assign(n, 0);
  auto provider = [s](size_t, httplib::DataSink& sink) {
    Job& j = *s->r.job;
    std::vector<std::string> events;
    bool all = false;
    {
      std::unique_lock<std::mutex> lk(j.mu);
      j.cv.wait_for(lk, std::chrono::milliseconds(50), [&] { return has_news(*s); });
      all = collect_events(*s, events);
    }
    if (all && s->r.include_usage)
      events.push_back(dump({{"id", s->id},
                             {"object", s->r.chat ? "chat.completion.chunk" : "text_completion"},
                             {"created", s->created},
                             {"model", s->model},
                             {"choices", json::array()},
                             {"usage", usage_json(j)}}));
    if (all) events.push_back("[DONE]");
    for (auto& e : events) {
      std::string line = "data: " + e + "\n\n";
      if (!sink.write(line.data(), line.size())) {  // the client went away: free its slots
        j.cancelled = true;
        return false;
      }
    }
    if (events.empty() && !sink.is_writable()) {
      j.cancelled = true;
      return false;
    }
    if (all) sink.done();
    return true;
  };
  auto releaser = [s, this](bool ok) {
    if (!ok) s->r.job->cancelled = true;
    in_flight--;
  };
  res.set_header("Cache-Control", "no-cache");
  res.set_chunked_content_provider("text/event-stream", provider, releaser);
}

Server::Server(const ServeConfig& cfg) : impl_(std::make_unique<Impl>(cfg)) {}
Server::~Server() = default;

int Server::bind() {
  auto& h = impl_->http;
  if (impl_->cfg.port == 0) {
    int p = h.bind_to_any_port(impl_->cfg.host);
    TSFT_CHECK(p > 0, "serve: cannot bind {}:(any port)", impl_->cfg.host);
    return p;
  }
  TSFT_CHECK(h.bind_to_port(impl_->cfg.host, impl_->cfg.port), "serve: cannot bind {}:{} (in use?)",
             impl_->cfg.host, impl_->cfg.port);
  return impl_->cfg.port;
}

void Server::run() {
  impl_->http.listen_after_bind();
}

void Server::drain_and_stop() {
  impl_->draining = true;
  impl_->sched->drain();
  // Streams still writing their last events: bounded wait.
  for (int i = 0; i < 3000 && impl_->in_flight > 0; i++)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  impl_->http.stop();
}

ServerStats Server::stats() {
  return {impl_->requests, impl_->errors, impl_->in_flight, impl_->sched->stats()};
}

const std::string& Server::model_name() const {
  return impl_->mi.name;
}

}  // namespace tsft::serve
