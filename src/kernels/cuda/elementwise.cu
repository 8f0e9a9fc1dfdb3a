// Embedding, RMSNorm, RoPE, SwiGLU, conversions and column sums (see kernels.hpp for conventions).
#include <climits>

#include "core/error.hpp"
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/internal.hpp"

namespace tsft::cuda {

// ---- conversions ----
template <typename D, typename S>
__global__ void convert_kernel(D* dst, const S* src, size_t n) {
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
    st(dst + i, ld(src + i));
}
static unsigned grid_for(size_t n, int threads) { return (unsigned)std::min<size_t>(ceil_div(n, threads), 65535u * 8); }

void convert(bf16* dst, const float* src, size_t n, cudaStream_t s) {
  if (!n) return;
  convert_kernel<<<grid_for(n, 256), 256, 0, s>>>(dst, src, n);
  TSFT_CUDA_LAUNCHED(s, "convert_kernel<bf16,float>");
}
void convert(float* dst, const bf16* src, size_t n, cudaStream_t s) {
  if (!n) return;
  convert_kernel<<<grid_for(n, 256), 256, 0, s>>>(dst, src, n);
  TSFT_CUDA_LAUNCHED(s, "convert_kernel<float,bf16>");
}

// ---- embedding ----
// First bad (position, id) packed as position << 32 | id; ULLONG_MAX when none (atomicMin keeps the
// lowest position, so the report is deterministic).
__device__ unsigned long long g_bad_token = ~0ull;

template <typename T>
__global__ void embedding_forward_kernel(T* out, const int32_t* ids, const T* table, int N, int C, int V) {
  const int n = blockIdx.x;
  const int id = ids[n];
  const bool ok = id >= 0 && id < V;
  if (!ok && threadIdx.x == 0)
    atomicMin(&g_bad_token, ((unsigned long long)(unsigned)n << 32) | (unsigned)id);
  for (int c = threadIdx.x; c < C; c += blockDim.x)
    out[(size_t)n * C + c] = ok ? table[(size_t)id * C + c] : T(0.0f);
}

template <typename T>
void embedding_forward(T* out, const int32_t* ids, const T* table, int N, int C, int V, cudaStream_t s) {
  if (N <= 0) return;
  embedding_forward_kernel<<<N, 256, 0, s>>>(out, ids, table, N, C, V);
  TSFT_CUDA_LAUNCHED(s, "embedding_forward_kernel");
}

void embedding_check_ids(cudaStream_t s) {
  unsigned long long bad = 0, none = ~0ull;
  TSFT_CUDA_CHECK(cudaMemcpyFromSymbolAsync(&bad, g_bad_token, sizeof(bad), 0, cudaMemcpyDeviceToHost, s));
  TSFT_CUDA_CHECK(cudaStreamSynchronize(s));
  if (bad == none) return;
  TSFT_CUDA_CHECK(cudaMemcpyToSymbolAsync(g_bad_token, &none, sizeof(none), 0, cudaMemcpyHostToDevice, s));
  TSFT_CUDA_CHECK(cudaStreamSynchronize(s));
  TSFT_FAIL("token id {} at position {} is outside the vocabulary", (int32_t)(uint32_t)(bad & 0xffffffffu),
            (long long)(bad >> 32));
}

// Block (column tile of blockDim.x, vocabulary range r) scans all ids in token order and adds the rows
// whose id falls in its range: each dtable element has exactly one writer, visiting tokens in order.
constexpr int kEmbRanges = 128, kEmbIdsChunk = 2048;
template <typename T>
__global__ void embedding_backward_kernel(float* dtable, const T* dout, const int32_t* ids, int N, int C,
                                          int per_range) {
  __shared__ int sid[kEmbIdsChunk];
  const int c = blockIdx.x * blockDim.x + threadIdx.x;
  const int v0 = blockIdx.y * per_range, v1 = v0 + per_range;
  for (int n0 = 0; n0 < N; n0 += kEmbIdsChunk) {
    const int m = min(kEmbIdsChunk, N - n0);
    __syncthreads();
    for (int i = threadIdx.x; i < m; i += blockDim.x) sid[i] = ids[n0 + i];
    __syncthreads();
    if (c >= C) continue;
    for (int i = 0; i < m; i++) {
      const int id = sid[i];
      if (id >= v0 && id < v1) dtable[(size_t)id * C + c] += ld(dout + (size_t)(n0 + i) * C + c);
    }
  }
}

template <typename T>
void embedding_backward(float* dtable, const T* dout, const int32_t* ids, int N, int C, int V, cudaStream_t s) {
  if (N <= 0 || !dtable) return;
  const int ranges = std::min(V, kEmbRanges), per = (V + ranges - 1) / ranges;
  dim3 grid(ceil_div(C, 128), ranges);
  embedding_backward_kernel<<<grid, 128, 0, s>>>(dtable, dout, ids, N, C, per);
  TSFT_CUDA_LAUNCHED(s, "embedding_backward_kernel");
}

// ---- RMSNorm ----
constexpr int kRowThreads = 256;

template <typename T>
__global__ void rmsnorm_forward_kernel(T* out, float* rstd, const T* inp, const T* weight, int C, double eps) {
  __shared__ float sh[32];
  const size_t row = (size_t)blockIdx.x * C;
  float ss = 0;
  for (int c = threadIdx.x; c < C; c += blockDim.x) {
    float x = ld(inp + row + c);
    ss += x * x;
  }
  ss = block_reduce(ss, sh, AddOp{}, 0.0f);
  const float r = (float)(1.0 / sqrt((double)ss / C + eps));
  if (threadIdx.x == 0) rstd[blockIdx.x] = r;
  for (int c = threadIdx.x; c < C; c += blockDim.x) st(out + row + c, ld(weight + c) * (ld(inp + row + c) * r));
}

template <typename T>
void rmsnorm_forward(T* out, float* rstd, const T* inp, const T* weight, int N, int C, double eps,
                     cudaStream_t s) {
  if (N <= 0) return;
  rmsnorm_forward_kernel<<<N, kRowThreads, 0, s>>>(out, rstd, inp, weight, C, eps);
  TSFT_CUDA_LAUNCHED(s, "rmsnorm_forward_kernel");
}

// g = w * dy: dx_j += r (g_j - x_j r^2 (sum_i g_i x_i) / C)
template <typename T>
__global__ void rmsnorm_backward_kernel(T* dinp, const T* dout, const T* inp, const float* rstd, const T* weight,
                                       int C) {
  __shared__ float sh[32];
  const size_t row = (size_t)blockIdx.x * C;
  const float r = rstd[blockIdx.x];
  float dot = 0;
  for (int c = threadIdx.x; c < C; c += blockDim.x) dot += ld(weight + c) * ld(dout + row + c) * ld(inp + row + c);
  dot = block_reduce(dot, sh, AddOp{}, 0.0f);
  const float k = dot / C * r * r;
  for (int c = threadIdx.x; c < C; c += blockDim.x)
    st(dinp + row + c, ld(dinp + row + c) + r * (ld(weight + c) * ld(dout + row + c) - ld(inp + row + c) * k));
}

size_t rmsnorm_backward_scratch_bytes(int C) { return (size_t)detail::kColSplit * C * sizeof(float); }

template <typename T>
void rmsnorm_backward(T* dinp, float* dweight, const T* dout, const T* inp, const float* rstd, const T* weight,
                      int N, int C, void* scratch, cudaStream_t s) {
  if (N <= 0) return;
  if (dinp) {
    rmsnorm_backward_kernel<<<N, kRowThreads, 0, s>>>(dinp, dout, inp, rstd, weight, C);
    TSFT_CUDA_LAUNCHED(s, "rmsnorm_backward_kernel");
  }
  if (dweight) {  // dw_c += sum_n dy[n,c] x[n,c] r[n]
    ScratchGuard sg(scratch, rmsnorm_backward_scratch_bytes(C), s);
    detail::column_sum_accumulate(dweight, dout, inp, rstd, N, C, (float*)sg.p, s);
  }
}

// ---- column sums (dbias, RMSNorm dweight): phase 1 partial[split][c], phase 2 ordered sum ----
template <typename T>
__global__ void column_partial_kernel(float* partial, const T* src, const T* x, const float* rstd, int N, int C) {
  __shared__ float sh[8][33];
  const int c = blockIdx.x * 32 + threadIdx.x;
  float acc = 0;
  if (c < C)
    for (int n = blockIdx.y * 8 + threadIdx.y; n < N; n += gridDim.y * 8) {
      float v = ld(src + (size_t)n * C + c);
      if (x) v *= ld(x + (size_t)n * C + c) * rstd[n];
      acc += v;
    }
  sh[threadIdx.y][threadIdx.x] = acc;
  __syncthreads();
  if (threadIdx.y == 0 && c < C) {
    float t = 0;
    for (int i = 0; i < 8; i++) t += sh[i][threadIdx.x];
    partial[(size_t)blockIdx.y * C + c] = t;
  }
}
__global__ void column_finish_kernel(float* dst, const float* partial, int splits, int C) {
  const int c = blockIdx.x * blockDim.x + threadIdx.x;
  if (c >= C) return;
  float t = 0;
  for (int i = 0; i < splits; i++) t += partial[(size_t)i * C + c];
  dst[c] += t;
}

namespace detail {
template <typename T>
void column_sum_accumulate(float* dst, const T* src, const T* x, const float* rstd, int N, int C, float* partial,
                           cudaStream_t s) {
  column_partial_kernel<<<dim3(ceil_div(C, 32), kColSplit), dim3(32, 8), 0, s>>>(partial, src, x, rstd, N, C);
  TSFT_CUDA_LAUNCHED(s, "column_partial_kernel");
  column_finish_kernel<<<ceil_div(C, 256), 256, 0, s>>>(dst, partial, kColSplit, C);
  TSFT_CUDA_LAUNCHED(s, "column_finish_kernel");
}

template <typename T>
__global__ void bias_broadcast_kernel(T* out, const T* bias, size_t total, int O) {
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total; i += (size_t)gridDim.x * blockDim.x)
    out[i] = bias[i % O];
}
template <typename T>
void bias_broadcast(T* out, const T* bias, int N, int O, cudaStream_t s) {
  size_t total = (size_t)N * O;
  if (!total) return;
  bias_broadcast_kernel<<<grid_for(total, 256), 256, 0, s>>>(out, bias, total, O);
  TSFT_CUDA_LAUNCHED(s, "bias_broadcast_kernel");
}
template void bias_broadcast<float>(float*, const float*, int, int, cudaStream_t);
template void bias_broadcast<bf16>(bf16*, const bf16*, int, int, cudaStream_t);
template void column_sum_accumulate<float>(float*, const float*, const float*, const float*, int, int, float*,
                                           cudaStream_t);
template void column_sum_accumulate<bf16>(float*, const bf16*, const bf16*, const float*, int, int, float*,
                                          cudaStream_t);
}  // namespace detail

// ---- RoPE: x'[i] = x[i] c - x[i+h] s ; x'[i+h] = x[i+h] c + x[i] s (s negated for backward) ----
template <typename T>
__global__ void rope_kernel(T* x, const int32_t* pos, const float* cos, const float* sin, int N, int nh, int D,
                            float sign) {
  const int half = D / 2;
  const size_t total = (size_t)N * nh * half;
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total; i += (size_t)gridDim.x * blockDim.x) {
    const int j = (int)(i % half);
    const size_t nhd = i / half;  // n * nh + h
    const size_t n = nhd / nh;
    const size_t tab = (size_t)pos[n] * half + j;
    const float c = cos[tab], si = sign * sin[tab];
    T* v = x + nhd * D;
    const float a = ld(v + j), b = ld(v + j + half);
    st(v + j, a * c - b * si);
    st(v + j + half, b * c + a * si);
  }
}

template <typename T>
void rope_forward(T* x, const int32_t* pos, const float* cos, const float* sin, int N, int nh, int D,
                  cudaStream_t s) {
  size_t total = (size_t)N * nh * (D / 2);
  if (!total) return;
  rope_kernel<<<grid_for(total, 256), 256, 0, s>>>(x, pos, cos, sin, N, nh, D, 1.0f);
  TSFT_CUDA_LAUNCHED(s, "rope_kernel(forward)");
}
template <typename T>
void rope_backward(T* dx, const int32_t* pos, const float* cos, const float* sin, int N, int nh, int D,
                   cudaStream_t s) {
  size_t total = (size_t)N * nh * (D / 2);
  if (!total) return;
  rope_kernel<<<grid_for(total, 256), 256, 0, s>>>(dx, pos, cos, sin, N, nh, D, -1.0f);
  TSFT_CUDA_LAUNCHED(s, "rope_kernel(backward)");
}

// ---- SwiGLU: out = g s(g) u ; d/dg [g s(g)] = s(g) (1 + g (1 - s(g))) ----
template <typename T>
__global__ void swiglu_forward_kernel(T* out, const T* gate, const T* up, size_t n) {
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
    const float g = ld(gate + i), sg = 1.0f / (1.0f + expf(-g));
    st(out + i, g * sg * ld(up + i));
  }
}
template <typename T>
__global__ void swiglu_backward_kernel(T* dgate, T* dup, const T* dout, const T* gate, const T* up, size_t n) {
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
    const float g = ld(gate + i), sg = 1.0f / (1.0f + expf(-g)), dy = ld(dout + i), u = ld(up + i);
    st(dgate + i, ld(dgate + i) + dy * u * sg * (1.0f + g * (1.0f - sg)));
    st(dup + i, ld(dup + i) + dy * g * sg);
  }
}
template <typename T>
void swiglu_forward(T* out, const T* gate, const T* up, size_t n, cudaStream_t s) {
  if (!n) return;
  swiglu_forward_kernel<<<grid_for(n, 256), 256, 0, s>>>(out, gate, up, n);
  TSFT_CUDA_LAUNCHED(s, "swiglu_forward_kernel");
}
template <typename T>
void swiglu_backward(T* dgate, T* dup, const T* dout, const T* gate, const T* up, size_t n, cudaStream_t s) {
  if (!n) return;
  swiglu_backward_kernel<<<grid_for(n, 256), 256, 0, s>>>(dgate, dup, dout, gate, up, n);
  TSFT_CUDA_LAUNCHED(s, "swiglu_backward_kernel");
}

#define TSFT_INSTANTIATE(T)                                                                               \
  template void embedding_forward<T>(T*, const int32_t*, const T*, int, int, int, cudaStream_t);          \
  template void embedding_backward<T>(float*, const T*, const int32_t*, int, int, int, cudaStream_t);     \
  template void rmsnorm_forward<T>(T*, float*, const T*, const T*, int, int, double, cudaStream_t);       \
  template void rmsnorm_backward<T>(T*, float*, const T*, const T*, const float*, const T*, int, int, void*, \
                                    cudaStream_t);                                                        \
  template void rope_forward<T>(T*, const int32_t*, const float*, const float*, int, int, int, cudaStream_t); \
  template void rope_backward<T>(T*, const int32_t*, const float*, const float*, int, int, int, cudaStream_t); \
  template void swiglu_forward<T>(T*, const T*, const T*, size_t, cudaStream_t);                          \
  template void swiglu_backward<T>(T*, T*, const T*, const T*, const T*, size_t, cudaStream_t);
TSFT_INSTANTIATE(float)
TSFT_INSTANTIATE(bf16)
#undef TSFT_INSTANTIATE

}  // namespace tsft::cuda
