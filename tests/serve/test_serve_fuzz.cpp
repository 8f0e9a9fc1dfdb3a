// Request-body reproducers of the serve_request fuzz target (fuzz/fuzz_serve_request.cpp,
// fuzz/regressions/serve_request): each is fed to parse_request exactly as the target feeds it (byte 0
// picks the endpoint, chat template and context) and must end as an ApiError with a 4xx status.
#include <gtest/gtest.h>

#include "../../fuzz/serve_request_model.hpp"
#include "../fuzz_regression.hpp"
#include "serve/api.hpp"
#include "tokenizer/tokenizer.hpp"

namespace {

void expect_api_error_4xx(const std::string& name, const std::string& param) {
  static const tsft::tokenizer::Tokenizer tok(std::string(TSFT_SOURCE_DIR) +
                                              "/fuzz/data/chat_tokenizer.json");
  const std::string bytes = tsft::test::fuzz_regression_bytes("serve_request", name);
  ASSERT_FALSE(bytes.empty());
  const auto sel = (uint8_t)bytes[0];
  const tsft::serve::ModelInfo mi = tsft::fuzz::serve_request_model(sel, &tok);
  try {
    tsft::serve::parse_request(bytes.substr(1), tsft::fuzz::serve_request_is_chat(sel), mi);
    ADD_FAILURE() << name << ": accepted";
  } catch (const tsft::serve::ApiError& e) {
    EXPECT_GE(e.status, 400) << e.what();
    EXPECT_LT(e.status, 500) << e.what();
    EXPECT_EQ(e.param, param) << e.what();
  }
  // Anything else escapes and fails the test (it was nlohmann's type_error 302 before the fix).
}

}  // namespace

// {"type": 9223372036854775808} in a content part: json::value("type", "") threw a type_error.
TEST(ServeFuzz, ContentPartTypeNotAString) {
  expect_api_error_4xx("content-part-type-not-a-string", "messages[0].content");
}
