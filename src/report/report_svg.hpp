// Inline SVG charts of the report (self-contained, no scripts, <= 1000 px wide).
#pragma once
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace tsft {

std::string html_escape(const std::string& s);

using Series = std::pair<std::string, std::vector<std::pair<double, double>>>;  // name, (x, y)
std::string svg_curves(const std::string& title, const std::vector<Series>& series,
                       const std::string& x_label);

// Forest plot: one row per effect (label, estimate, lo, hi, threshold), on a common axis in points
// (fractions drawn in %); a vertical line at 0 and a tick at each row's decision threshold.
struct ForestRow {
  std::string label;
  double est = 0, lo = 0, hi = 0, threshold = 0;
  bool defined = true;
};
std::string svg_forest(const std::string& title, const std::vector<ForestRow>& rows);

// Heatmap: rows x columns of values in [0, 1] (NaN: no data), each cell coloured and labelled in %.
std::string svg_heatmap(const std::string& title, const std::vector<std::string>& rows,
                        const std::vector<std::string>& cols, const std::vector<std::vector<double>>& values);

}  // namespace tsft
