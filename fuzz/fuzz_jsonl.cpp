// The JSONL readers of the commands: problems.jsonl (problems_read_jsonl), the dataset adapters
// (adapter_load, every format), `tsft grade` lines (grade_jsonl_line) and SFT / raw-text training data
// (data_load_sft / data_load_text with a small real tokenizer). Byte 0 picks the reader; the rest is
// the file. Errors must name the file (or file:line).
#include <string>

#include "data/adapters.hpp"
#include "data/problem.hpp"
#include "eval/grade.hpp"
#include "train/data.hpp"
#include "util.hpp"

namespace {
using namespace tsft;

const tokenizer::Tokenizer& small_tokenizer() {
  static const tokenizer::Tokenizer tok(std::string(TSFT_SOURCE_DIR) + "/fuzz/data/chat_tokenizer.json");
  return tok;
}

void grade_lines(std::string_view text, const std::string& path) {
  eval::GradeSummary summary;
  for (size_t lineno = 1; !text.empty(); ++lineno) {
    size_t nl = text.find('\n');
    eval::grade_jsonl_line(text.substr(0, nl), path + ":" + std::to_string(lineno), {}, summary);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
  }
}

void train_data(const std::string& path, uint8_t sel) {
  DataOptions opt;
  opt.block = 16 + sel % 48;
  opt.overlong = sel & 1 ? Overlong::drop : Overlong::truncate;
  opt.chat.template_name = sel & 2 ? "llama3" : "chatml";
  DataStats stats;
  std::vector<Example> ex = sel & 4 ? data_load_text(path, small_tokenizer(), opt, &stats)
                                    : data_load_sft(path, small_tokenizer(), opt, &stats);
  data_pack(ex, opt.block, sel & 8);
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t sel = data[0];
  std::string_view text = fuzz::bytes(data + 1, size - 1);
  const auto& formats = data::adapter_formats();
  const size_t n_readers = 3 + formats.size();
  const size_t reader = sel % n_readers;
  const std::string path = fuzz::write_scratch("input.jsonl", text);
  fuzz::expect_clean(path, [&] {
    if (reader == 0)
      data::problems_read_jsonl(path);
    else if (reader == 1)
      grade_lines(text, path);
    else if (reader == 2)
      train_data(path, sel / n_readers);
    else
      data::adapter_load(formats[reader - 3], path);
  });
  return 0;
}
