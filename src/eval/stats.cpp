#include "eval/stats.hpp"

#include <algorithm>
#include <cmath>
#include <random>

#include "core/error.hpp"

namespace tsft::eval {

Interval stats_wilson(int64_t k, int64_t n, double z) {
  TSFT_CHECK(n >= 0 && k >= 0 && k <= n, "stats_wilson: need 0 <= k <= n, got k={} n={}", k, n);
  if (n == 0) return {0, 0, 1};
  const double nn = static_cast<double>(n), p = static_cast<double>(k) / nn, z2 = z * z;
  const double denom = 1 + z2 / nn;
  const double centre = (p + z2 / (2 * nn)) / denom;
  const double half = z * std::sqrt(p * (1 - p) / nn + z2 / (4 * nn * nn)) / denom;
  return {p, std::max(0.0, centre - half), std::min(1.0, centre + half)};
}

double stats_mcnemar_exact(int64_t b, int64_t c) {
  TSFT_CHECK(b >= 0 && c >= 0, "stats_mcnemar_exact: negative counts b={} c={}", b, c);
  const int64_t n = b + c, k = std::min(b, c);
  if (n == 0) return 1.0;
  // P[X <= k] summed in log space: log C(n,i) - n log 2.
  double tail = 0;
  const double lg_n1 = std::lgamma(static_cast<double>(n) + 1), ln2 = std::log(2.0);
  for (int64_t i = 0; i <= k; ++i)
    tail += std::exp(lg_n1 - std::lgamma(static_cast<double>(i) + 1) -
                     std::lgamma(static_cast<double>(n - i) + 1) - static_cast<double>(n) * ln2);
  return std::min(1.0, 2 * tail);
}

McNemar stats_mcnemar(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b) {
  TSFT_CHECK(a.size() == b.size(), "stats_mcnemar: {} vs {} items (must be paired)", a.size(), b.size());
  McNemar m;
  for (size_t i = 0; i < a.size(); ++i) {
    m.b += (a[i] && !b[i]);
    m.c += (!a[i] && b[i]);
  }
  m.p_value = stats_mcnemar_exact(m.b, m.c);
  return m;
}

Interval stats_paired_bootstrap_diff(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b, int iters,
                                     uint64_t seed, double level) {
  TSFT_CHECK(a.size() == b.size(), "paired bootstrap: {} vs {} items (must be paired)", a.size(), b.size());
  TSFT_CHECK(iters > 0 && level > 0 && level < 1, "paired bootstrap: bad iters={} level={}", iters, level);
  const size_t n = a.size();
  if (n == 0) return {0, 0, 0};
  std::vector<int> d(n);  // per-item difference in {-1, 0, 1}
  double obs = 0;
  for (size_t i = 0; i < n; ++i) obs += d[i] = int(a[i] != 0) - int(b[i] != 0);
  obs /= static_cast<double>(n);
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<size_t> pick(0, n - 1);
  std::vector<double> stats(static_cast<size_t>(iters));
  for (int it = 0; it < iters; ++it) {
    int64_t s = 0;
    for (size_t j = 0; j < n; ++j) s += d[pick(rng)];
    stats[it] = static_cast<double>(s) / static_cast<double>(n);
  }
  std::sort(stats.begin(), stats.end());
  auto quantile = [&](double q) {  // linear interpolation between order statistics
    double pos = q * (iters - 1);
    size_t i = static_cast<size_t>(std::floor(pos));
    double f = pos - static_cast<double>(i);
    return i + 1 < stats.size() ? stats[i] * (1 - f) + stats[i + 1] * f : stats[i];
  };
  const double alpha = (1 - level) / 2;
  return {obs, quantile(alpha), quantile(1 - alpha)};
}

double stats_t_quantile_975(int64_t df) {
  TSFT_CHECK(df >= 1, "t quantile: df must be >= 1, got {}", df);
  static const double table[] = {
      12.706204736, 4.302652730, 3.182446305, 2.776445105, 2.570581836, 2.446911851, 2.364624252, 2.306004135,
      2.262157163,  2.228138852, 2.200985160, 2.178812830, 2.160368656, 2.144786688, 2.131449546, 2.119905299,
      2.109815578,  2.100922040, 2.093024054, 2.085963447, 2.079613845, 2.073873068, 2.068657610, 2.063898562,
      2.059538553,  2.055529439, 2.051830516, 2.048407142, 2.045229642, 2.042272456};
  if (df <= 30) return table[df - 1];
  // Cornish-Fisher expansion around the normal quantile; error < 1e-6 for df > 30.
  const double z = 1.959963984540054, v = static_cast<double>(df);
  const double z3 = z * z * z, z5 = z3 * z * z, z7 = z5 * z * z;
  return z + (z3 + z) / (4 * v) + (5 * z5 + 16 * z3 + 3 * z) / (96 * v * v) +
         (3 * z7 + 19 * z5 + 17 * z3 - 15 * z) / (384 * v * v * v);
}

Interval stats_mean_t_interval(const std::vector<double>& v) {
  if (v.empty()) return {0, 0, 0};
  const double n = static_cast<double>(v.size());
  double mean = 0;
  for (double x : v) mean += x;
  mean /= n;
  if (v.size() == 1) return {mean, mean, mean};
  double ss = 0;
  for (double x : v) ss += (x - mean) * (x - mean);
  const double half =
      stats_t_quantile_975(static_cast<int64_t>(v.size()) - 1) * std::sqrt(ss / (n - 1)) / std::sqrt(n);
  return {mean, mean - half, mean + half};
}

PairStats stats_pairs(const std::vector<uint8_t>& parent, const std::vector<uint8_t>& variant) {
  TSFT_CHECK(parent.size() == variant.size(), "pair stats: {} parents vs {} variants", parent.size(),
             variant.size());
  PairStats s;
  s.pairs = static_cast<int64_t>(parent.size());
  if (s.pairs == 0) return s;
  int64_t pr = 0, vr = 0, both = 0, pr_vw = 0;
  for (size_t i = 0; i < parent.size(); ++i) {
    pr += parent[i] != 0;
    vr += variant[i] != 0;
    both += parent[i] && variant[i];
    pr_vw += parent[i] && !variant[i];
  }
  const double n = static_cast<double>(s.pairs);
  s.parent_acc = pr / n;
  s.variant_acc = vr / n;
  s.drop = s.parent_acc - s.variant_acc;
  s.relative_drop = s.parent_acc > 0 ? s.drop / s.parent_acc : 0;
  s.conditional_drop = pr > 0 ? static_cast<double>(pr_vw) / static_cast<double>(pr) : 0;
  s.consistency = both / n;
  return s;
}

Interval stats_copy_rate(const std::vector<uint8_t>& copied, const std::vector<uint8_t>& golds_differ) {
  TSFT_CHECK(copied.size() == golds_differ.size(), "copy rate: {} vs {} items", copied.size(),
             golds_differ.size());
  int64_t k = 0, n = 0;
  for (size_t i = 0; i < copied.size(); ++i) {
    if (!golds_differ[i]) continue;
    ++n;
    k += copied[i] != 0;
  }
  return stats_wilson(k, n);
}

Interval stats_flag_rate(const std::vector<uint8_t>& flagged) {
  int64_t k = 0;
  for (auto f : flagged) k += f != 0;
  return stats_wilson(k, static_cast<int64_t>(flagged.size()));
}

}  // namespace tsft::eval
