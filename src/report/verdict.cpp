#include "report/verdict.hpp"

#include <fmt/format.h>

namespace tsft {

Verdict verdict_improves(double est, double lo, double hi, double margin, const std::string& what) {
  std::string nums = fmt::format("{} = {:+.1f} points, 95% interval [{:+.1f}, {:+.1f}]", what, 100 * est, 100 * lo, 100 * hi);
  if (lo > 0) return {"supported", nums + ": above 0"};
  if (hi < 0) return {"not supported", nums + ": below 0 (the opposite holds)"};
  if (lo >= -margin && hi <= margin)
    return {"not supported", nums + fmt::format(": within +-{:.1f} points (no relevant gain)", 100 * margin)};
  return {"inconclusive", nums + ": the interval contains 0"};
}

Verdict verdict_equivalent(double est, double lo, double hi, double margin, const std::string& what) {
  std::string nums = fmt::format("{} = {:+.1f} points, 95% interval [{:+.1f}, {:+.1f}], margin +-{:.1f}", what, 100 * est,
                                 100 * lo, 100 * hi, 100 * margin);
  if (lo >= -margin && hi <= margin) return {"supported", nums + ": inside the margin"};
  if (hi < -margin || lo > margin) return {"not supported", nums + ": entirely outside the margin"};
  return {"inconclusive", nums + ": overlaps the margin's edge"};
}

Verdict verdict_require_equal_fit(const Verdict& v, double est, double lo, double hi, double margin) {
  std::string fit = fmt::format("training-problem accuracy difference {:+.1f} points [{:+.1f}, {:+.1f}]", 100 * est,
                                100 * lo, 100 * hi);
  if (hi < -margin || lo > margin)
    return {"inconclusive", v.reason + "; but the arms fit their training data unequally (" + fit +
                                fmt::format(", beyond +-{:.1f}", 100 * margin) + "), so the comparison is not fair"};
  return {v.label, v.reason + "; " + fit};
}

}  // namespace tsft
