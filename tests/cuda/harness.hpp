// Helpers for the CUDA op harness: device buffers, bf16 rounding on the host, random data, and a
// tolerance check that reports the worst element.
#pragma once
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include "kernels/cuda/kernels.hpp"

namespace tsft::cuda::test {

// Skip (visibly) when the machine has no usable device.
#define TSFT_REQUIRE_GPU()                                                                         \
  do {                                                                                             \
    if (::tsft::cuda::cuda_device_count() == 0)                                                    \
      GTEST_SKIP() << ::tsft::cuda::cuda_unavailable_reason();                                  \
  } while (0)

constexpr double kU32 = 0x1p-24;  // unit roundoff of fp32 (24-bit significand)
constexpr double kUbf = 0x1p-8;   // unit roundoff of bf16 (8-bit significand)
template <typename T>
constexpr double u_store = std::is_same_v<T, float> ? kU32 : kUbf;
// Safety factor on the worst-case summation bound (Higham Thm 3.1) used by every absolute tolerance.
constexpr double kC = 8.0;
// The storage types every typed CUDA suite runs: exact fp32 mode and bf16.
using StorageTypes = ::testing::Types<float, bf16>;

template <typename T>
struct Dev {
  T* p = nullptr;
  size_t n = 0;
  Dev() = default;
  explicit Dev(size_t n_) : n(n_) {
    TSFT_CUDA_CHECK(cudaMalloc((void**)&p, std::max<size_t>(n, 1) * sizeof(T)));
    TSFT_CUDA_CHECK(cudaMemset(p, 0, std::max<size_t>(n, 1) * sizeof(T)));
    // The memset runs on the legacy stream, which does not order the Context's non-blocking stream.
    TSFT_CUDA_CHECK(cudaDeviceSynchronize());
  }
  explicit Dev(const std::vector<T>& h) : Dev(h.size()) { upload(h); }
  ~Dev() {
    if (p) cudaFree(p);
  }
  Dev(const Dev&) = delete;
  void upload(const std::vector<T>& h) {
    TSFT_CUDA_CHECK(cudaMemcpy(p, h.data(), h.size() * sizeof(T), cudaMemcpyHostToDevice));
  }
  std::vector<T> download() const {
    std::vector<T> h(n);
    TSFT_CUDA_CHECK(cudaDeviceSynchronize());
    TSFT_CUDA_CHECK(cudaMemcpy(h.data(), p, n * sizeof(T), cudaMemcpyDeviceToHost));
    return h;
  }
};

// Storage conversions on the host (round to nearest even, as the device does).
template <typename T>
inline T to_store(double x) {
  if constexpr (std::is_same_v<T, float>) return (float)x;
  else return __float2bfloat16_rn((float)x);
}
template <typename T>
inline double from_store(T x) {
  if constexpr (std::is_same_v<T, float>) return x;
  else return (double)__bfloat162float(x);
}
// The values the device will see: random numbers rounded to the storage type, kept in double for the
// CPU reference, and the storage copy for upload.
template <typename T>
struct Data {
  std::vector<double> ref;
  std::vector<T> store;
};
template <typename T>
inline Data<T> random_data(size_t n, std::mt19937& rng, double scale = 1.0) {
  std::normal_distribution<double> nd(0.0, scale);
  Data<T> d;
  d.ref.resize(n);
  d.store.resize(n);
  for (size_t i = 0; i < n; i++) {
    d.store[i] = to_store<T>(nd(rng));
    d.ref[i] = from_store(d.store[i]);
  }
  return d;
}
template <typename T>
inline std::vector<double> to_double(const std::vector<T>& v) {
  std::vector<double> o(v.size());
  for (size_t i = 0; i < v.size(); i++) o[i] = from_store(v[i]);
  return o;
}
inline double max_abs(const std::vector<double>& v) {
  double m = 0;
  for (double x : v) m = std::max(m, std::fabs(x));
  return m;
}
inline double max_abs_diff(const std::vector<double>& a, const std::vector<double>& b) {
  double m = 0;
  for (size_t i = 0; i < a.size(); i++) m = std::max(m, std::fabs(a[i] - b[i]));
  return m;
}

// Passes if every element satisfies |got - ref| <= rel * |ref| + abs_tol. On failure names the worst
// element (largest error / allowance) with both values.
inline ::testing::AssertionResult close(const std::string& what, const std::vector<double>& got,
                                        const std::vector<double>& ref, double rel, double abs_tol) {
  if (got.size() != ref.size())
    return ::testing::AssertionFailure() << what << ": size " << got.size() << " vs " << ref.size();
  double worst = -1;
  size_t wi = 0;
  for (size_t i = 0; i < got.size(); i++) {
    double err = std::fabs(got[i] - ref[i]), allow = rel * std::fabs(ref[i]) + abs_tol;
    double ratio = allow > 0 ? err / allow : (err > 0 ? INFINITY : 0);
    if (!(ratio <= worst) || std::isnan(got[i])) {
      worst = std::isnan(got[i]) ? INFINITY : ratio;
      wi = i;
    }
  }
  if (got.empty() || worst <= 1.0)
    return ::testing::AssertionSuccess() << what << ": worst error/allowance " << worst;
  return ::testing::AssertionFailure() << what << ": element " << wi << " got " << got[wi] << " ref " << ref[wi]
                                       << " (error " << std::fabs(got[wi] - ref[wi]) << ", allowance "
                                       << rel * std::fabs(ref[wi]) + abs_tol << ", rel " << rel << ", abs "
                                       << abs_tol << ", worst ratio " << worst << ")";
}

}  // namespace tsft::cuda::test
