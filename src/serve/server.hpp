// tsft serve: an OpenAI-compatible HTTP server (cpp-httplib) over one loaded checkpoint.
// Routes: POST /v1/chat/completions, POST /v1/completions (both with "stream": true as server-sent
// events), GET /v1/models, GET /health. Errors are OpenAI's error JSON. Requests share the model through
// the Scheduler's continuous batching; drain() finishes in-flight requests and stops listening.
#pragma once
#include <atomic>
#include <memory>
#include <string>

#include "model/engine.hpp"
#include "serve/api.hpp"

namespace tsft::serve {

struct ServeConfig {
  std::string model_dir, adapter_dir, tokenizer_path, chat_template,
      served_name;  // served_name "" = model dir's name
  std::string host = "127.0.0.1";
  int port = 8000;
  std::string api_key;  // "" = no authentication
  int max_batch = 16, max_queue = 256, http_threads = 64, max_context = 4096, threads = 0;
  size_t max_body_bytes = 1 << 20;
  int retry_after_s = 1;
  EngineSpec engine;  // --device / --precision
};

struct ServerStats {
  int64_t requests = 0, errors = 0, in_flight = 0;
  SchedulerStats sched;
};

class Server {
 public:
  explicit Server(const ServeConfig& cfg);
  ~Server();
  int bind();  // binds cfg.host:cfg.port (0 = any free port); returns the port
  void run();  // serves until stop(); call after bind()
  // Refuse new requests (503), wait for in-flight ones to finish, stop listening.
  void drain_and_stop();
  ServerStats stats();
  const std::string& model_name() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tsft::serve
