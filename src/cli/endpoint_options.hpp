// The transport flags of an OpenAI-compatible endpoint (net::EndpointOptions), one registration for
// `tsft eval --endpoint` and `tsft annotate`: --api-key-env, --concurrency, --timeout, the HTTP retries
// and --backoff, with one help text. The defaults shown are the command's config's (eval: the client's;
// annotate: its teacher's, 4 in flight and 300 s). --endpoint and --model stay with each command: eval's
// --model is also the local model directory, annotate's are required.
#pragma once
#include <CLI/CLI.hpp>
#include <string>

#include "net/openai_client.hpp"

namespace tsft::cli {

// `retries_flag`: the flag of o.max_retries: "--retries" for eval; annotate's --retries counts validation
// re-asks, so its HTTP retries are "--http-retries".
inline void add_endpoint_options(CLI::App& app, net::EndpointOptions& o, const std::string& retries_flag) {
  app.add_option("--api-key-env", o.api_key_env, "--endpoint: environment variable holding the API key");
  app.add_option("--concurrency", o.concurrency, "--endpoint: requests in flight")->capture_default_str();
  app.add_option("--timeout", o.timeout_s, "--endpoint: seconds per request")->capture_default_str();
  app.add_option(retries_flag, o.max_retries, "--endpoint: retries on 429/5xx/connection errors/timeouts")
      ->capture_default_str();
  app.add_option("--backoff", o.backoff_s, "--endpoint: first retry delay, doubling (Retry-After honoured)")
      ->capture_default_str();
}

}  // namespace tsft::cli
