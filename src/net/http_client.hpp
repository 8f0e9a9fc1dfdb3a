// One HTTP request through libcurl (blocking; thread-safe, one easy handle per call). Used by the
// OpenAI-endpoint client of `tsft eval --endpoint` and by the serve tests.
#pragma once
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace tsft::net {

struct HttpRequest {
  std::string method = "POST", url, body;
  std::vector<std::string> headers;  // "Name: value"
  double timeout_s = 600, connect_timeout_s = 10;
  // Streaming: called with each received piece of the body (then not stored); false aborts the transfer.
  std::function<bool(const char*, size_t)> on_data;
};

struct HttpResponse {
  long status = 0;                             // 0 when no response came (see error)
  std::string body;                            // unless on_data was given
  std::map<std::string, std::string> headers;  // names lower-case
  std::string error;                           // transport error (connect, timeout, aborted); "" when none
  bool timed_out = false, aborted = false;
};

HttpResponse http_request(const HttpRequest& req);

}  // namespace tsft::net
