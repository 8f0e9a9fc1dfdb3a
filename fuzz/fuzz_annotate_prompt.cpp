// The teacher prompt template of `tsft annotate` (prompt_load of a TOML file), then filling it the way
// a run does: the first attempt's messages and a retry message.
#include <string>

#include "annotate/prompt.hpp"
#include "util.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tsft;
  const std::string path = fuzz::write_scratch("prompt.toml", fuzz::bytes(data, size));
  fuzz::expect_clean(path, [&] {
    annotate::PromptTemplate t = annotate::prompt_load(path);
    annotate::prompt_messages(t, {{"problem", "What is {{answer}} + 1?"},
                                  {"solution", "2 + 1 = 3 {{"},
                                  {"answer", "3"},
                                  {"theorems", "- Sum. a + b = b + a"}});
    annotate::prompt_fill(t.retry, {{"reason", "line 2: }} {{reason}}"}});
  });
  return 0;
}
