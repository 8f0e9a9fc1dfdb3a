// The request bodies of `tsft serve` (parse_request: /v1/chat/completions and /v1/completions into a
// generation job) against a served model with the fuzz chat tokenizer. Byte 0: endpoint (bit 0), chat
// template (bits 1-2), context size (bits 3-5). Bad input must end as an ApiError with a 4xx status;
// any other exception is a finding. An accepted request must fit the context.
#include <string>

#include "serve/api.hpp"
#include "serve_request_model.hpp"
#include "tokenizer/tokenizer.hpp"
#include "util.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tsft;
  if (size == 0) return 0;
  static const tokenizer::Tokenizer tok(std::string(TSFT_SOURCE_DIR) + "/fuzz/data/chat_tokenizer.json");
  const uint8_t sel = data[0];
  const serve::ModelInfo mi = fuzz::serve_request_model(sel, &tok);
  const std::string body(fuzz::bytes(data + 1, size - 1));
  try {
    serve::ApiRequest r = serve::parse_request(body, fuzz::serve_request_is_chat(sel), mi);
    const serve::Job& j = *r.job;
    if (j.prompt.empty() || (int)j.prompt.size() >= mi.max_context || j.max_tokens < 1 ||
        (int)j.prompt.size() + j.max_tokens > mi.max_context || j.n < 1 || j.n > mi.max_n)
      fuzz::finding("accepted request out of bounds", body.c_str());
  } catch (const serve::ApiError& e) {
    if (e.status < 400 || e.status >= 500) fuzz::finding("ApiError status not 4xx", e.what());
  } catch (const std::exception& e) {
    fuzz::finding("parse_request threw something else than ApiError", e.what());
  }
  return 0;
}
