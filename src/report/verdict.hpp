// Verdicts computed from the numbers (never written by hand). Each claim is tested on a difference
// with a 95% interval (paired bootstrap over shared items, or t-interval over seeds).
//   improves:   "supported" if the interval is above 0, "not supported" if it is below 0 or entirely
//               within [-margin, +margin] (no practically relevant gain), else "inconclusive".
//   equivalent: "supported" if the interval lies inside [-margin, +margin], "not supported" if it lies
//               entirely outside it, else "inconclusive".
#pragma once
#include <string>

namespace tsft {

struct Verdict {
  std::string label;   // "supported" | "not supported" | "inconclusive"
  std::string reason;  // the numbers behind it, for the report
};

Verdict verdict_improves(double estimate, double lo, double hi, double margin, const std::string& what);
Verdict verdict_equivalent(double estimate, double lo, double hi, double margin, const std::string& what);

// A generalization comparison is fair only between arms that fit their training data equally well.
// Given the paired difference of the two arms' accuracy on their own training problems (estimate and
// 95% interval), a verdict whose fit difference lies entirely outside [-margin, +margin] becomes
// "inconclusive" (the reason says why); otherwise it is returned with the fit numbers appended.
Verdict verdict_require_equal_fit(const Verdict& v, double fit_est, double fit_lo, double fit_hi, double margin);

}  // namespace tsft
