// tsft serve --model DIR: an OpenAI-compatible HTTP server (see src/serve/server.hpp). Binds 127.0.0.1
// unless told otherwise; SIGTERM / SIGINT drain in-flight requests and exit 0.
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <iostream>
#include <thread>

#include "cli/command.hpp"
#include "cli/engine_options.hpp"
#include "core/error.hpp"
#include "core/progress.hpp"
#include "net/openai_client.hpp"
#include "serve/server.hpp"

namespace cmd_serve {
int g_signal_pipe[2] = {-1, -1};
void on_signal(int sig) {
  unsigned char b = (unsigned char)sig;
  ssize_t n = write(g_signal_pipe[1], &b, 1);
  (void)n;
}

struct Opts {
  tsft::serve::ServeConfig c;
  std::string api_key_env;
};

int run(Opts o) {
  o.c.api_key = tsft::net::api_key_from_env(o.api_key_env);
  TSFT_USAGE_CHECK(o.c.max_batch >= 1 && o.c.max_queue >= 1 && o.c.http_threads >= 1,
                   "--max-batch, --max-queue and --http-threads must be >= 1");
  // SIGTERM / SIGINT: the handler only writes the signal number to a pipe (async-signal-safe); a
  // watcher thread reads it and drains. (Blocking the signals instead would not cover threads that
  // libraries such as OpenBLAS started before main.)
  TSFT_CHECK(pipe(g_signal_pipe) == 0, "serve: pipe() failed");
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
  bool loopback = o.c.host == "127.0.0.1" || o.c.host == "localhost" || o.c.host == "::1";
  if (!loopback && o.c.api_key.empty())
    tsft::log_info(
        "serve: WARNING: listening on {} without --api-key-env: anyone who can reach it can use it",
        o.c.host);
  tsft::serve::Server server(o.c);
  int port = server.bind();
  std::thread waiter([&] {
    unsigned char sig = 0;
    while (read(g_signal_pipe[0], &sig, 1) < 0 && errno == EINTR) {
    }
    if (sig == 0) return;  // the server stopped by itself
    tsft::log_info("serve: signal {}: draining in-flight requests", (int)sig);
    server.drain_and_stop();
  });
  tsft::log_info("serve: model '{}' listening on http://{}:{} (max batch {}, queue {})", server.model_name(),
                 o.c.host, port, o.c.max_batch, o.c.max_queue);
  std::cerr << "listening on http://" << o.c.host << ":" << port << std::endl;
  server.run();
  on_signal(0);  // wake the watcher if no signal did
  waiter.join();
  auto st = server.stats();
  tsft::log_info("serve: stopped after {} requests ({} errors), {} prompt + {} new tokens", st.requests,
                 st.errors, st.sched.prompt_tokens, st.sched.new_tokens);
  return 0;
}

TSFT_COMMAND(
    serve, "serve", "OpenAI-compatible HTTP server for a checkpoint (continuous batching)",
    [](CLI::App& app) {
      auto o = std::make_shared<Opts>();
      auto& c = o->c;
      app.add_option("--model", c.model_dir, "HF model directory")->required();
      tsft::cli::add_engine_options(app, c.engine);
      tsft::cli::add_adapter_option(app, c.adapter_dir);
      app.add_option("--host", c.host, "address to bind (default loopback only)")->capture_default_str();
      app.add_option("--port", c.port, "port (0 = any free port; the chosen one is printed)")
          ->capture_default_str();
      app.add_option("--api-key-env", o->api_key_env, "require 'Authorization: Bearer $VAR' on /v1/*");
      app.add_option("--served-model-name", c.served_name,
                     "model id clients send (default: the directory name)");
      app.add_option("--tokenizer", c.tokenizer_path, "tokenizer.json (default: the model's)");
      app.add_option("--chat-template", c.chat_template, "override the chat template family");
      app.add_option("--max-batch", c.max_batch, "concurrent sequences (KV-cache slots)")
          ->capture_default_str();
      app.add_option("--max-queue", c.max_queue, "queued sequences before 429")->capture_default_str();
      app.add_option("--max-context", c.max_context,
                     "positions per sequence, capped by the model (memory: KV cache of max-batch x this)")
          ->capture_default_str();
      app.add_option("--max-body", c.max_body_bytes, "request body limit in bytes (413 above)")
          ->capture_default_str();
      app.add_option("--http-threads", c.http_threads, "HTTP worker threads")->capture_default_str();
      app.add_option("--threads", c.threads, "compute threads (0 = all cores)");
      return [o] { return run(*o); };
    });
}  // namespace cmd_serve
