// Device helpers shared by the .cu files: typed load/store (arithmetic is always fp32), warp/block
// reductions with a fixed order, launch helpers.
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>

#include "kernels/cuda/internal.hpp"

namespace tsft::cuda {

__device__ __forceinline__ float ld(const float* p) { return *p; }
__device__ __forceinline__ float ld(const bf16* p) { return __bfloat162float(*p); }
__device__ __forceinline__ void st(float* p, float x) { *p = x; }
__device__ __forceinline__ void st(bf16* p, float x) { *p = __float2bfloat16_rn(x); }

// Butterfly reductions: every lane ends with the same value, and the order of additions depends only
// on the lane layout (deterministic).
__device__ __forceinline__ float warp_sum(float x) {
  for (int o = 16; o > 0; o >>= 1) x += __shfl_xor_sync(0xffffffffu, x, o);
  return x;
}
__device__ __forceinline__ double warp_sum(double x) {
  for (int o = 16; o > 0; o >>= 1) x += __shfl_xor_sync(0xffffffffu, x, o);
  return x;
}
__device__ __forceinline__ float warp_max(float x) {
  for (int o = 16; o > 0; o >>= 1) x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, o));
  return x;
}

// Block-wide reduction for blockDim.x a multiple of 32 (<= 1024); every thread gets the result.
// `sh` needs 32 elements. Two __syncthreads, so it may be called repeatedly with the same `sh`.
template <typename F, typename R>
__device__ __forceinline__ R block_reduce(R x, R* sh, F op, R identity) {
  const int lane = threadIdx.x & 31, w = threadIdx.x >> 5, nw = blockDim.x >> 5;
  for (int o = 16; o > 0; o >>= 1) x = op(x, __shfl_xor_sync(0xffffffffu, x, o));
  __syncthreads();  // sh may still be read by a previous call
  if (lane == 0) sh[w] = x;
  __syncthreads();
  R y = lane < nw ? sh[lane] : identity;
  for (int o = 16; o > 0; o >>= 1) y = op(y, __shfl_xor_sync(0xffffffffu, y, o));
  return y;
}
struct AddOp {
  template <typename R>
  __device__ R operator()(R a, R b) const { return a + b; }
};
struct MaxOp {
  __device__ float operator()(float a, float b) const { return fmaxf(a, b); }
};

inline unsigned ceil_div(size_t a, size_t b) { return (unsigned)((a + b - 1) / b); }

}  // namespace tsft::cuda
