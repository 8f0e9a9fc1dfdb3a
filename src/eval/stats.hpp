// Statistics for `tsft eval` / `tsft compare`: pure functions over per-item correctness vectors.
// Conventions: proportions in [0,1]; intervals are two-sided 95% unless a level is given.
#pragma once
#include <cstdint>
#include <vector>

namespace tsft::eval {

struct Interval {
  double estimate = 0, lo = 0, hi = 0;
};

// Wilson score interval for k successes in n trials: centre (k + z^2/2)/(n + z^2),
// half-width z*sqrt(k(n-k)/n + z^2/4)/(n + z^2). n = 0 gives {0, 0, 1}.
Interval stats_wilson(int64_t k, int64_t n, double z = 1.959963984540054);

// McNemar exact test on paired outcomes: b = #(A right, B wrong), c = #(A wrong, B right).
// Two-sided p = min(1, 2 * P[X <= min(b,c)]), X ~ Binomial(b+c, 1/2); b = c = 0 gives 1.
double stats_mcnemar_exact(int64_t b, int64_t c);

struct McNemar {
  int64_t b = 0, c = 0;  // discordant counts (A-only right, B-only right)
  double p_value = 1;
};
McNemar stats_mcnemar(const std::vector<uint8_t>& a_correct, const std::vector<uint8_t>& b_correct);

// Paired bootstrap (percentile) interval for acc(A) - acc(B) over the same items: resample item indices
// with replacement `iters` times from a seeded mt19937_64. estimate = the observed difference.
Interval stats_paired_bootstrap_diff(const std::vector<uint8_t>& a_correct,
                                     const std::vector<uint8_t>& b_correct, int iters = 10000,
                                     uint64_t seed = 0, double level = 0.95);

// Mean +- Student-t interval across seeds: mean +- t_{0.975, n-1} * sd / sqrt(n) (sd with n-1).
// n = 1 gives a zero-width interval at the value (no spread estimate); n = 0 gives zeros.
Interval stats_mean_t_interval(const std::vector<double>& values);
double stats_t_quantile_975(int64_t df);  // two-sided 95% critical value of Student's t

// Probe variants against their parent (i.i.d.) items, one entry per (parent, variant) pair.
struct PairStats {
  int64_t pairs = 0;
  double parent_acc = 0, variant_acc = 0;
  double drop = 0;              // parent_acc - variant_acc (accuracy points lost on the variants)
  double relative_drop = 0;     // drop / parent_acc (0 when parent_acc = 0)
  double conditional_drop = 0;  // P(variant wrong | parent right)
  double consistency = 0;       // P(parent right and variant right)
};
PairStats stats_pairs(const std::vector<uint8_t>& parent_correct,
                      const std::vector<uint8_t>& variant_correct);

// Answer-copy rate: among variants whose gold differs from the parent's gold, the fraction whose output
// equals the parent's gold (the model answered the memorised instance, not the question asked).
// copied[i]: variant output == parent gold; golds_differ[i]: variant gold != parent gold.
Interval stats_copy_rate(const std::vector<uint8_t>& copied, const std::vector<uint8_t>& golds_differ);

// Premise-flag rate on P8/P9 items: fraction of outputs that flag the violated premise, with Wilson CI.
Interval stats_flag_rate(const std::vector<uint8_t>& flagged);

}  // namespace tsft::eval
