// A tsft serve instance in-process on a free loopback port, over a tiny byte-level model, and libcurl
// helpers to talk to it. Only 127.0.0.1 is ever used.
#pragma once
#include <signal.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "../train/train_fixture.hpp"
#include "net/http_client.hpp"
#include "serve/server.hpp"
#include "test_util.hpp"

namespace tsft_test {

struct LiveServer {
  std::unique_ptr<tsft::serve::Server> server;
  std::thread th;
  int port = 0;
  explicit LiveServer(tsft::serve::ServeConfig c) {
    signal(SIGPIPE, SIG_IGN);
    c.host = "127.0.0.1";
    c.port = 0;
    server = std::make_unique<tsft::serve::Server>(c);
    port = server->bind();
    th = std::thread([this] { server->run(); });
  }
  ~LiveServer() {
    server->drain_and_stop();
    th.join();
  }
  std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(port) + path; }
};

inline tsft::net::HttpResponse post(const std::string& url, const std::string& body,
                                    std::vector<std::string> headers = {}) {
  tsft::net::HttpRequest r;
  r.url = url;
  r.body = body;
  r.timeout_s = 60;
  headers.push_back("Content-Type: application/json");
  r.headers = headers;
  return tsft::net::http_request(r);
}

inline tsft::net::HttpResponse get(const std::string& url) {
  tsft::net::HttpRequest r;
  r.method = "GET";
  r.url = url;
  r.timeout_s = 60;
  return tsft::net::http_request(r);
}

// The JSON payloads of an SSE body ("data: {...}" events; "[DONE]" kept as a string).
inline std::vector<nlohmann::json> sse_events(const std::string& body) {
  std::vector<nlohmann::json> out;
  size_t p = 0;
  while ((p = body.find("data: ", p)) != std::string::npos) {
    size_t e = body.find("\n\n", p);
    std::string data = body.substr(p + 6, e - p - 6);
    out.push_back(data == "[DONE]" ? nlohmann::json("[DONE]") : nlohmann::json::parse(data));
    p = e;
  }
  return out;
}

// A tiny llama with the byte tokenizer (ChatML template) in `dir`; init 0.3 gives peaked distributions.
inline void write_serve_model(const std::string& dir) {
  write_byte_tokenizer(dir);
  tsft::ModelConfig c = tsft::config_make("llama", 259, 32, 88, 2, 4, 2, 8, 256);
  c.eos_token_ids = {258};
  tsft::Model m = tsft::model_create(c);
  tsft::model_init_weights(m, 7, 0.3);
  tsft::model_save(m, dir, dir);
}

// A model slow enough (~ms per token on CPU) that long requests are still running when a test acts.
inline void write_slow_model(const std::string& dir) {
  write_byte_tokenizer(dir);
  tsft::ModelConfig mc = tsft::config_make("llama", 259, 256, 704, 4, 4, 2, 64, 1024);
  tsft::Model m = tsft::model_create(mc);
  tsft::model_init_weights(m, 3, 0.02);
  tsft::model_save(m, dir, dir);
}

inline tsft::serve::ServeConfig serve_config(const std::string& dir) {
  tsft::serve::ServeConfig c;
  c.model_dir = dir;
  c.max_batch = 4;
  c.max_context = 256;
  c.threads = 1;
  c.http_threads = 16;
  return c;
}

}  // namespace tsft_test
