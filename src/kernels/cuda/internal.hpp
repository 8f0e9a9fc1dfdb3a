// Launchers shared between the CUDA translation units (not part of the backend's public surface).
#pragma once
#include "kernels/cuda/kernels.hpp"

namespace tsft::cuda::detail {

// out[n, :] = bias (broadcast before a beta=1 GEMM).
template <typename T>
void bias_broadcast(T* out, const T* bias, int N, int O, cudaStream_t s);
// dst[c] += sum_n src[n, c] (* x[n, c] * rstd[n] when x is given), fixed order. partial: kColSplit * C floats.
constexpr int kColSplit = 64;
template <typename T>
void column_sum_accumulate(float* dst, const T* src, const T* x, const float* rstd, int N, int C, float* partial,
                           cudaStream_t s);

}  // namespace tsft::cuda::detail

namespace tsft::cuda {
// Stream-ordered scratch for a call whose caller passed none (freed at the end of the call, in order).
struct ScratchGuard {
  void* p = nullptr;
  cudaStream_t s;
  ScratchGuard(void* given, size_t bytes, cudaStream_t st) : s(st) {
    if (given || bytes == 0) {
      p = given;
      owned = false;
    } else {
      TSFT_CUDA_CHECK(cudaMallocAsync(&p, bytes, s));
      owned = true;
    }
  }
  ~ScratchGuard() {
    if (owned) cudaFreeAsync(p, s);
  }
  bool owned = false;
};

}  // namespace tsft::cuda
