// The dataset adapters one record at a time (adapter_convert: MATH, GSM8K, GSM-Plus and every other
// format), then what `tsft annotate` builds from a converted problem: the vanilla arm's target
// (annotate_vanilla_target: GSM8K <<calc>> marks, "#### N", the last \boxed{}). Byte 0 picks the format;
// the rest is one JSON record. Errors must name the record ("rec.jsonl:7").
#include <nlohmann/json.hpp>
#include <string>

#include "annotate/annotate.hpp"
#include "data/adapters.hpp"
#include "util.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tsft;
  if (size == 0) return 0;
  const auto& formats = data::adapter_formats();
  const std::string& format = formats[data[0] % formats.size()];
  nlohmann::json rec = nlohmann::json::parse(fuzz::bytes(data + 1, size - 1), nullptr, false);
  if (rec.is_discarded()) return 0;  // the JSON layer is fuzzed by fuzz_jsonl
  fuzz::expect_clean("rec.jsonl:7", [&] {
    data::Problem p = data::adapter_convert(format, rec, "rec.jsonl:7", "train", 6);
    annotate::annotate_vanilla_target(p);
    data::adapter_last_boxed(p.question);
  });
  return 0;
}
