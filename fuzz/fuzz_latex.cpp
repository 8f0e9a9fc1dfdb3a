// LaTeX answers: extraction from a model's output (extract_answer), the LaTeX parser, and the
// equivalence checker. Input: "gold\npred" (pred is everything after the first newline; without one,
// gold is compared with itself). Nothing here may throw: a malformed answer is simply not equal.
#include <string>

#include "eval/equivalence.hpp"
#include "eval/extract.hpp"
#include "eval/latex_parser.hpp"
#include "util.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tsft::eval;
  std::string_view text = tsft::fuzz::bytes(data, size);
  size_t nl = text.find('\n');
  std::string_view gold = text.substr(0, nl);
  std::string_view pred = nl == std::string_view::npos ? gold : text.substr(nl + 1);
  Extraction ex = extract_answer(pred);
  extract_choice(pred);
  extract_gold_choice(gold);
  latex_parse(gold);
  EquivOptions opt;
  opt.percent = size % 3 == 0   ? PercentPolicy::Either
                : size % 3 == 1 ? PercentPolicy::Strip
                                : PercentPolicy::Divide;
  opt.decimal_comma = size & 4;
  opt.ordered_lists = size & 8;
  // The non-default grading policies (strict reduced fractions: value_has_unreduced_fraction,
  // value_literal_dp; lenient brackets) are parser-facing paths too.
  opt.allow_unreduced = !(size & 16);
  opt.strict_brackets = !(size & 32);
  equiv_strings(gold, ex.answer, opt);
  equiv_strings(gold, pred, opt);
  return 0;
}
