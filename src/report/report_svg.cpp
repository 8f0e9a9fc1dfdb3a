#include "report/report_svg.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace tsft {

std::string html_escape(const std::string& s) {
  std::string o;
  for (char c : s) o += c == '<' ? "&lt;" : c == '>' ? "&gt;" : c == '&' ? "&amp;" : std::string(1, c);
  return o;
}

namespace {
const char* kColors[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728",
                         "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"};

std::string svg_open(int w, int h, const std::string& title) {
  return fmt::format(
      "<svg xmlns='http://www.w3.org/2000/svg' width='{}' height='{}' class='chart'>"
      "<text x='4' y='14' font-size='13' font-weight='bold'>{}</text>",
      w, h, html_escape(title));
}
}  // namespace

std::string svg_curves(const std::string& title, const std::vector<Series>& series,
                       const std::string& x_label) {
  const int W = 760, H = 260, L = 50, B = 30;
  double maxx = 1, maxy = 0;
  for (auto& [n, pts] : series)
    for (auto& [x, y] : pts) maxx = std::max(maxx, x), maxy = std::max(maxy, y);
  if (maxy <= 0) maxy = 1;
  std::string s = svg_open(W, H, title);
  s += fmt::format(
      "<line x1='{}' y1='{}' x2='{}' y2='{}' stroke='black'/><line x1='{}' y1='20' x2='{}' y2='{}' "
      "stroke='black'/><text x='4' y='30' font-size='10'>{:.2f}</text><text x='{}' y='{}' "
      "font-size='10'>{} {}</text>",
      L, H - B, W - 10, H - B, L, L, H - B, maxy, W - 120, H - 8, html_escape(x_label), (int)maxx);
  for (size_t i = 0; i < series.size(); i++) {
    std::string pts;
    for (auto& [x, y] : series[i].second)
      pts += fmt::format("{:.1f},{:.1f} ", L + (W - 10 - L) * x / maxx, (H - B) - (H - B - 20) * y / maxy);
    s += fmt::format("<polyline fill='none' stroke='{}' stroke-width='1.5' points='{}'/>", kColors[i % 8],
                     pts);
    s += fmt::format("<text x='{}' y='{}' font-size='10' fill='{}'>{}</text>", W - 230,
                     30 + 12 * (int)(i % 16), kColors[i % 8], html_escape(series[i].first));
  }
  return s + "</svg>\n";
}

std::string svg_forest(const std::string& title, const std::vector<ForestRow>& rows) {
  const int W = 900, row = 22, left = 330, right = 110;
  const int H = 50 + row * (int)rows.size();
  double lo = -0.2, hi = 0.2;  // axis in proportions, at least +-20 points
  for (auto& r : rows)
    if (r.defined) lo = std::min({lo, r.lo, r.threshold}), hi = std::max({hi, r.hi, r.threshold});
  lo = std::max(lo, -2.0), hi = std::min(hi, 2.0);
  const double span = hi - lo, plot = W - left - right;
  auto X = [&](double v) { return left + plot * (std::clamp(v, lo, hi) - lo) / span; };
  std::string s = svg_open(W, H, title);
  s += fmt::format("<line x1='{:.1f}' x2='{:.1f}' y1='22' y2='{}' stroke='#888' stroke-dasharray='3,3'/>",
                   X(0), X(0), H - 20);
  s += fmt::format(
      "<text x='{:.1f}' y='{}' font-size='10'>{:+.0f}</text><text x='{:.1f}' y='{}' font-size='10'>0</text>"
      "<text x='{:.1f}' y='{}' font-size='10'>{:+.0f}</text>",
      X(lo), H - 6, 100 * lo, X(0) - 3, H - 6, X(hi) - 20, H - 6, 100 * hi);
  for (size_t i = 0; i < rows.size(); i++) {
    const ForestRow& r = rows[i];
    int y = 30 + row * (int)i;
    s += fmt::format("<text x='4' y='{}' font-size='11'>{}</text>", y + 4, html_escape(r.label));
    if (!r.defined) {
      s += fmt::format("<text x='{}' y='{}' font-size='11' fill='#888'>not measured</text>", left, y + 4);
      continue;
    }
    s += fmt::format("<line x1='{:.1f}' x2='{:.1f}' y1='{}' y2='{}' stroke='#c33' stroke-width='2'/>",
                     X(r.threshold), X(r.threshold), y - 7, y + 7);
    s += fmt::format("<line x1='{:.1f}' x2='{:.1f}' y1='{}' y2='{}' stroke='black' stroke-width='1.5'/>",
                     X(r.lo), X(r.hi), y, y);
    s +=
        fmt::format("<rect x='{:.1f}' y='{}' width='7' height='7' fill='#1f4e8c'/>", X(r.est) - 3.5, y - 3.5);
    s += fmt::format("<text x='{}' y='{}' font-size='10'>{:+.1f} [{:+.1f}, {:+.1f}]</text>", W - right + 4,
                     y + 4, 100 * r.est, 100 * r.lo, 100 * r.hi);
  }
  return s + "</svg>\n";
}

std::string svg_heatmap(const std::string& title, const std::vector<std::string>& rows,
                        const std::vector<std::string>& cols,
                        const std::vector<std::vector<double>>& values) {
  const int left = 220, top = 40, ch = 20;
  const int cw = std::clamp(700 / std::max<int>(1, (int)cols.size()), 34, 64);
  const int W = left + cw * (int)cols.size() + 10, H = top + ch * (int)rows.size() + 10;
  std::string s = svg_open(W, H, title);
  for (size_t j = 0; j < cols.size(); j++)
    s += fmt::format("<text x='{}' y='{}' font-size='10' text-anchor='middle'>{}</text>",
                     left + cw * (int)j + cw / 2, top - 6, html_escape(cols[j]));
  for (size_t i = 0; i < rows.size(); i++) {
    int y = top + ch * (int)i;
    s += fmt::format("<text x='4' y='{}' font-size='11'>{}</text>", y + 14, html_escape(rows[i]));
    for (size_t j = 0; j < cols.size(); j++) {
      double v = values[i][j];
      int x = left + cw * (int)j;
      if (!std::isfinite(v)) {
        s += fmt::format("<rect x='{}' y='{}' width='{}' height='{}' fill='#eee' stroke='white'/>", x, y, cw,
                         ch);
        continue;
      }
      // White (0%) to dark blue (100%); text flips to white on dark cells.
      int c = (int)std::lround(255 * (1 - 0.8 * std::clamp(v, 0.0, 1.0)));
      s += fmt::format("<rect x='{}' y='{}' width='{}' height='{}' fill='rgb({},{},255)' stroke='white'/>", x,
                       y, cw, ch, c, c);
      s += fmt::format("<text x='{}' y='{}' font-size='10' text-anchor='middle' fill='{}'>{:.0f}</text>",
                       x + cw / 2, y + 14, v > 0.6 ? "white" : "black", 100 * v);
    }
  }
  return s + "</svg>\n";
}

}  // namespace tsft
