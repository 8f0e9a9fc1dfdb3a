// Shared helpers of the CPU kernel tests: seeded random tensors, the central finite-difference gradient
// checker, and a scoped OpenMP thread-count setter (kernel code paths depend on the thread count).
#pragma once
#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "core/rng.hpp"
#include "kernels/cpu/kernels.hpp"

namespace tsft::kernels_testing {

// fp32 unit roundoff u = 2^-24: |fl(a op b) - (a op b)| <= u |a op b| for one correctly rounded op.
constexpr double kU32 = 0x1.0p-24;
constexpr double u = kU32;  // its name in the derivations beside the checks

// N(0, scale^2) values rounded through float, so a float run and a double run see identical inputs and
// every float-vs-double difference comes from the float arithmetic alone.
inline std::vector<double> randn(size_t n, uint64_t seed, double scale = 1.0) {
  Xoshiro rng(seed);
  std::vector<double> v(n);
  for (auto& x : v) x = (double)(float)(scale * rng.normal());
  return v;
}
inline std::vector<int32_t> rand_ids(size_t n, int V, uint64_t seed) {
  Xoshiro rng(seed);
  std::vector<int32_t> v(n);
  for (auto& x : v) x = (int32_t)rng.below((uint64_t)V);
  return v;
}
template <typename T, typename S>
std::vector<T> cast(const std::vector<S>& v) {
  return std::vector<T>(v.begin(), v.end());
}
inline double dot(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); i++) s += a[i] * b[i];
  return s;
}
inline double max_abs(const std::vector<double>& a) {
  double m = 0;
  for (double x : a) m = std::max(m, std::fabs(x));
  return m;
}
template <typename T>
bool bit_equal(const std::vector<T>& a, const std::vector<T>& b) {
  // memcmp of an empty vector would pass data() == nullptr (undefined behaviour, UBSan reports it)
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0);
}

// Sets the OpenMP thread count for the kernels for one scope (restored afterwards).
struct ScopedThreads {
  int saved;
  explicit ScopedThreads(int n) : saved(omp_get_max_threads()) { kernels_init_threads(n); }
  ~ScopedThreads() { omp_set_num_threads(saved); }
};

// ---- central finite-difference gradient check, in double ------------------------------------------
// The scalar loss is L = sum_i out_i R_i for a fixed random R (seeded), so dL/dout = R is passed to the
// backward as the upstream gradient. For every element x_j of every input: fd_j = (L(x_j+h) - L(x_j-h))/2h.
//
// Tolerance: with double round-off eps = 1.1e-16, evaluating L has an absolute error ~ eps * sum|out R|
// (times a small growth factor), so the difference quotient carries ~ eps * sum|out R| / h; with
// sum|out R| = O(1..100) and h = 1e-6 that is 1e-10..1e-8. Truncation is h^2/6 |L'''| ~ 1e-13. Relative
// to the gradient scale (max |fd| over all inputs, O(0.1..10) here) a correct backward therefore agrees
// to ~1e-8; we accept |analytic - fd| <= rtol (|fd| + scale) with rtol = 1e-6 (100x margin), while a
// wrong term, index or factor gives errors of O(1e-3..1) (GradCheck.DetectsWrongGradient shows the
// checker rejects a 0.1% scaling error).
struct GradInput {
  std::string name;
  std::vector<double>* x;  // perturbed in place (restored exactly) by the finite differences
};
struct GradCheckResult {
  double max_err = 0;  // max over elements of |analytic - fd| / (|fd| + scale)
  double scale = 0;    // max |fd| over all inputs
  size_t n_checked = 0;
  std::string worst;  // "input[index]: analytic vs fd" of the worst element
};
using ForwardFn = std::function<std::vector<double>()>;
// Accumulates dL/dinput_i into grads[i] (zero on entry), given dL/dout; called after a forward() at the
// unperturbed point (kernels that save activations read them from that call).
using BackwardFn =
    std::function<void(const std::vector<double>& dout, std::vector<std::vector<double>>& grads)>;

// The analytic forward/backward run at the caller's thread count (the code paths under test); the
// finite differences only need the function's value, so they run single-threaded (thousands of tiny
// parallel regions are very slow on an oversubscribed machine). The 1-thread forward must agree with
// the caller's to round-off (1e-13 relative), which also checks the multi-threaded forward path.
inline GradCheckResult grad_check(const std::vector<GradInput>& inputs, const ForwardFn& forward,
                                  const BackwardFn& backward, uint64_t seed, double h = 1e-6) {
  std::vector<double> out0 = forward();
  std::vector<double> R = randn(out0.size(), seed);
  std::vector<std::vector<double>> grads(inputs.size());
  for (size_t i = 0; i < inputs.size(); i++) grads[i].assign(inputs[i].x->size(), 0.0);
  backward(R, grads);
  ScopedThreads serial(1);
  std::vector<double> out1 = forward();
  double out_scale = max_abs(out0);
  for (size_t i = 0; i < out0.size(); i++)
    EXPECT_LE(std::fabs(out1[i] - out0[i]), 1e-13 * out_scale) << "1-thread forward differs at " << i;
  std::vector<std::vector<double>> fd(inputs.size());
  GradCheckResult res;
  for (size_t i = 0; i < inputs.size(); i++) {
    std::vector<double>& x = *inputs[i].x;
    fd[i].resize(x.size());
    for (size_t j = 0; j < x.size(); j++) {
      double saved = x[j];
      x[j] = saved + h;
      double lp = dot(forward(), R);
      x[j] = saved - h;
      double lm = dot(forward(), R);
      x[j] = saved;
      fd[i][j] = (lp - lm) / (2 * h);
      res.scale = std::max(res.scale, std::fabs(fd[i][j]));
    }
  }
  double scale = res.scale > 0 ? res.scale : 1.0;
  for (size_t i = 0; i < inputs.size(); i++)
    for (size_t j = 0; j < fd[i].size(); j++) {
      double err = std::fabs(grads[i][j] - fd[i][j]) / (std::fabs(fd[i][j]) + scale);
      res.n_checked++;
      if (err >= res.max_err) {
        res.max_err = err;
        res.worst = inputs[i].name + "[" + std::to_string(j) + "]: analytic " + std::to_string(grads[i][j]) +
                    " vs fd " + std::to_string(fd[i][j]);
      }
    }
  return res;
}

constexpr double kGradRtol = 1e-6;

#define EXPECT_GRAD_OK(res)                                                                                \
  do {                                                                                                     \
    const auto& r_ = (res);                                                                                \
    EXPECT_GT(r_.n_checked, 0u);                                                                           \
    EXPECT_GT(r_.scale, 0.0) << "all finite-difference gradients are zero: the check is vacuous";          \
    EXPECT_LT(r_.max_err, ::tsft::kernels_testing::kGradRtol) << "worst: " << r_.worst;                    \
    ::testing::Test::RecordProperty("max_rel_err", std::to_string(r_.max_err));                            \
    std::printf("[ grad     ] %s: %zu elements, max rel err %.2e (scale %.3g)\n",                          \
                ::testing::UnitTest::GetInstance()->current_test_info()->name(), r_.n_checked, r_.max_err, \
                r_.scale);                                                                                 \
  } while (0)

}  // namespace tsft::kernels_testing
