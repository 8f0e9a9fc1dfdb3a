// The validator of `tsft annotate` (validate_annotation: parse of a teacher's answer, catalog lookups,
// Map values against the problem, the boxed answer against the reference with the project's grader),
// with the real catalog (data/catalog). Input: "<reference answer>\n<problem>\n<teacher's answer>".
// A teacher's answer is outside input that must never fail the run: any exception is a finding, and a
// rejection must carry a reason and a message; an acceptance a target and the theorems it uses.
#include <string>

#include "annotate/math_catalog.hpp"
#include "annotate/validate.hpp"
#include "util.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tsft;
  static const annotate::MathCatalog cat = annotate::math_catalog_load(annotate::math_catalog_default_path());
  std::string_view in = fuzz::bytes(data, size);
  size_t a = in.find('\n'), b = a == std::string_view::npos ? a : in.find('\n', a + 1);
  if (b == std::string_view::npos) return 0;
  const std::string gold(in.substr(0, a)), problem(in.substr(a + 1, b - a - 1)), text(in.substr(b + 1));
  try {
    annotate::AnnotationCheck c = annotate::validate_annotation(text, problem, gold, cat);
    if (c.ok && (c.target.empty() || c.theorems.empty()))
      fuzz::finding("accepted without a target", text.c_str());
    if (!c.ok && (c.reason.empty() || c.message.empty()))
      fuzz::finding("rejected without a reason", text.c_str());
    annotate::value_occurs(gold, problem);
  } catch (const std::exception& e) {
    fuzz::finding("validate_annotation threw", e.what());
  }
  return 0;
}
