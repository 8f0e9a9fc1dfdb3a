// Cross-entropy, the chunked LM head + cross-entropy, AdamW and the global gradient norm.
#include <climits>
#include <cmath>

#include "core/error.hpp"
#include "kernels/cuda/common.cuh"

namespace tsft::cuda {

constexpr int32_t kIgnoreIndex = -100;

// ---- valid-row compaction (one block, stable order) ----
// rows[0..count) = indices n with a valid target, in order; info = {count, first bad row or -1, its target}.
__global__ void compact_rows_kernel(int* rows, int* info, const int32_t* y, int N, int V) {
  __shared__ int warp_tot[32];
  __shared__ int base, bad;
  const int lane = threadIdx.x & 31, w = threadIdx.x >> 5, nw = blockDim.x >> 5;
  if (threadIdx.x == 0) base = 0, bad = INT_MAX;
  __syncthreads();
  for (int n0 = 0; n0 < N; n0 += blockDim.x) {
    const int n = n0 + threadIdx.x;
    const int yv = n < N ? y[n] : kIgnoreIndex;
    const bool in_range = yv >= 0 && yv < V;
    if (n < N && yv != kIgnoreIndex && !in_range) atomicMin(&bad, n);
    const unsigned ballot = __ballot_sync(0xffffffffu, in_range);
    if (lane == 0) warp_tot[w] = __popc(ballot);
    __syncthreads();
    int off = 0, total = 0;
    for (int i = 0; i < nw; i++) {
      if (i < w) off += warp_tot[i];
      total += warp_tot[i];
    }
    if (in_range) rows[base + off + __popc(ballot & ((1u << lane) - 1u))] = n;
    __syncthreads();
    if (threadIdx.x == 0) base += total;
    __syncthreads();
  }
  if (threadIdx.x == 0) {
    info[0] = base;
    info[1] = bad == INT_MAX ? -1 : bad;
    info[2] = bad == INT_MAX ? 0 : y[bad];
  }
}

// Returns the number of valid rows; throws on a target outside [0, V) that is not the ignore index.
static int compact_rows(int* rows, int* info, const int32_t* targets, int N, int V, cudaStream_t s) {
  compact_rows_kernel<<<1, 1024, 0, s>>>(rows, info, targets, N, V);
  TSFT_CUDA_LAUNCHED(s, "compact_rows_kernel");
  int h[3];
  TSFT_CUDA_CHECK(cudaMemcpyAsync(h, info, sizeof(h), cudaMemcpyDeviceToHost, s));
  TSFT_CUDA_CHECK(cudaStreamSynchronize(s));
  TSFT_CHECK(h[1] < 0, "target id {} at row {} is outside the vocabulary [0, {}) and is not the ignore index {}",
             h[2], h[1], V, kIgnoreIndex);
  return h[0];
}

// ---- softmax cross-entropy, one block per row ----
// Row i of `logits` has target y[rows ? rows[i] : i]. loss_i = lse - z[y] (double); dz = (softmax - onehot)
// * grad_scale written to dlogits (fp32, may alias logits) and/or dlow (T); ignored rows get 0.
template <typename TD>
__global__ void ce_rows_kernel(float* dlogits, TD* dlow, double* row_loss, const float* logits, const int32_t* y,
                               const int* rows, int V, double grad_scale) {
  __shared__ float shf[32];
  __shared__ double shd[32];
  const size_t i = blockIdx.x;
  const int yv = y[rows ? rows[i] : i];
  const float* z = logits + i * V;
  if (yv == kIgnoreIndex) {
    for (int j = threadIdx.x; j < V; j += blockDim.x) {
      if (dlogits) dlogits[i * V + j] = 0.0f;
      if (dlow) st(dlow + i * V + j, 0.0f);
    }
    if (threadIdx.x == 0) row_loss[i] = 0.0;
    return;
  }
  float mx = -INFINITY;
  for (int j = threadIdx.x; j < V; j += blockDim.x) mx = fmaxf(mx, z[j]);
  mx = block_reduce(mx, shf, MaxOp{}, -INFINITY);
  double sum = 0;
  for (int j = threadIdx.x; j < V; j += blockDim.x) sum += (double)expf(z[j] - mx);
  sum = block_reduce(sum, shd, AddOp{}, 0.0);
  const double lse = (double)mx + log(sum);
  const float zy = z[yv];  // read before dlogits (which may alias z) is written
  __syncthreads();
  if (threadIdx.x == 0) row_loss[i] = lse - (double)zy;
  if (dlogits || dlow)
    for (int j = threadIdx.x; j < V; j += blockDim.x) {
      float d = (float)(exp((double)z[j] - lse) * grad_scale);
      if (j == yv) d -= (float)grad_scale;
      if (dlogits) dlogits[i * V + j] = d;
      if (dlow) st(dlow + i * V + j, d);
    }
}

// sum of x[0..n) in double, fixed order (one block)
__global__ void sum_kernel(double* out, const double* x, int n) {
  __shared__ double sh[32];
  double acc = 0;
  for (int i = threadIdx.x; i < n; i += blockDim.x) acc += x[i];
  acc = block_reduce(acc, sh, AddOp{}, 0.0);
  if (threadIdx.x == 0) *out = acc;
}

static double sum_to_host(double* dst, const double* x, int n, cudaStream_t s) {
  sum_kernel<<<1, 1024, 0, s>>>(dst, x, n);
  TSFT_CUDA_LAUNCHED(s, "sum_kernel");
  double h = 0;
  TSFT_CUDA_CHECK(cudaMemcpyAsync(&h, dst, sizeof(h), cudaMemcpyDeviceToHost, s));
  TSFT_CUDA_CHECK(cudaStreamSynchronize(s));
  return h;
}

static size_t al(size_t b) { return (b + 255) / 256 * 256; }

size_t ce_scratch_bytes(int N) { return al(N * sizeof(int)) + al(4 * sizeof(int)) + al(N * sizeof(double)) + al(8); }

double crossentropy_forward_backward(float* dlogits, int64_t* n_valid, const float* logits,
                                     const int32_t* targets, int N, int V, double grad_scale, void* scratch,
                                     cudaStream_t s) {
  if (N <= 0) {
    if (n_valid) *n_valid = 0;
    return 0.0;
  }
  ScratchGuard sg(scratch, ce_scratch_bytes(N), s);
  char* p = (char*)sg.p;
  int* rows = (int*)p;
  p += al(N * sizeof(int));
  int* info = (int*)p;
  p += al(4 * sizeof(int));
  double* row_loss = (double*)p;
  p += al(N * sizeof(double));
  double* total = (double*)p;
  const int count = compact_rows(rows, info, targets, N, V, s);
  ce_rows_kernel<float><<<N, 1024, 0, s>>>(dlogits, nullptr, row_loss, logits, targets, nullptr, V, grad_scale);
  TSFT_CUDA_LAUNCHED(s, "ce_rows_kernel");
  if (n_valid) *n_valid = count;
  return sum_to_host(total, row_loss, N, s);
}

// ---- fused LM head + cross-entropy ----
template <typename T>
__global__ void gather_rows_kernel(T* dst, const T* src, const int* rows, int m, int C) {
  const size_t total = (size_t)m * C;
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total; i += (size_t)gridDim.x * blockDim.x)
    dst[i] = src[(size_t)rows[i / C] * C + i % C];
}
template <typename T>
__global__ void scatter_add_rows_kernel(T* dst, const T* src, const int* rows, int m, int C) {
  const size_t total = (size_t)m * C;
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total; i += (size_t)gridDim.x * blockDim.x) {
    T* d = dst + (size_t)rows[i / C] * C + i % C;
    st(d, ld(d) + ld(src + i));
  }
}

size_t lm_head_ce_scratch_bytes(int chunk_rows, int N, int C, int V, bool bf16_storage) {
  const size_t es = bf16_storage ? 2 : 4, cv = (size_t)chunk_rows * V;
  return al(N * sizeof(int)) + al(4 * sizeof(int)) + al(N * sizeof(double)) + al(8) + al(cv * 4) +
         (bf16_storage ? al(cv * 2) : 0) + 2 * al((size_t)chunk_rows * C * es);
}

template <typename T>
double lm_head_ce_forward_backward(Context& ctx, T* dx, float* dW, int64_t* n_valid, void* scratch, int chunk_rows,
                                   const T* x, const T* W, const int32_t* targets, int N, int C, int V,
                                   double grad_scale) {
  TSFT_CHECK(chunk_rows > 0, "lm_head_ce_forward_backward: chunk_rows must be positive, got {}", chunk_rows);
  cudaStream_t s = ctx.stream();
  constexpr bool low = std::is_same_v<T, bf16>;
  ScratchGuard sg(scratch, lm_head_ce_scratch_bytes(chunk_rows, N, C, V, low), s);
  char* p = (char*)sg.p;
  auto take = [&](size_t bytes) {
    char* r = p;
    p += al(bytes);
    return r;
  };
  int* rows = (int*)take(N * sizeof(int));
  int* info = (int*)take(4 * sizeof(int));
  double* row_loss = (double*)take(N * sizeof(double));
  double* total = (double*)take(8);
  float* logits = (float*)take((size_t)chunk_rows * V * 4);
  T* dlow = low ? (T*)take((size_t)chunk_rows * V * 2) : nullptr;
  T* xg = (T*)take((size_t)chunk_rows * C * sizeof(T));
  T* dxg = (T*)take((size_t)chunk_rows * C * sizeof(T));
  const int count = N > 0 ? compact_rows(rows, info, targets, N, V, s) : 0;
  const bool backward = dx || dW;
  for (int r0 = 0; r0 < count; r0 += chunk_rows) {
    const int m = std::min(chunk_rows, count - r0);
    const unsigned g = std::min<unsigned>(ceil_div((size_t)m * C, 256), 4096);
    gather_rows_kernel<<<g, 256, 0, s>>>(xg, x, rows + r0, m, C);
    TSFT_CUDA_LAUNCHED(s, "gather_rows_kernel");
    gemm<T, float>(ctx, false, true, m, V, C, 1.0f, xg, C, W, C, 0.0f, logits, V);  // [m, V] fp32
    // dlogits overwrite the fp32 logits in fp32 mode, or go to the bf16 copy used by the bf16 GEMMs
    float* dl32 = backward && !low ? logits : nullptr;
    ce_rows_kernel<T><<<m, 1024, 0, s>>>(dl32, backward ? dlow : nullptr, row_loss + r0, logits, targets,
                                        rows + r0, V, grad_scale);
    TSFT_CUDA_LAUNCHED(s, "ce_rows_kernel");
    if (!backward) continue;
    const T* dl = low ? dlow : (const T*)(const void*)logits;
    if (dx) {
      gemm<T, T>(ctx, false, false, m, C, V, 1.0f, dl, V, W, C, 0.0f, dxg, C);  // dlogits @ W
      scatter_add_rows_kernel<<<g, 256, 0, s>>>(dx, dxg, rows + r0, m, C);
      TSFT_CUDA_LAUNCHED(s, "scatter_add_rows_kernel");
    }
    if (dW) gemm<T, float>(ctx, true, false, V, C, m, 1.0f, dl, V, xg, C, 1.0f, dW, C);  // += dlogits^T x
  }
  if (n_valid) *n_valid = count;
  return count > 0 ? sum_to_host(total, row_loss, count, s) : 0.0;
}

template double lm_head_ce_forward_backward<float>(Context&, float*, float*, int64_t*, void*, int, const float*,
                                                   const float*, const int32_t*, int, int, int, double);
template double lm_head_ce_forward_backward<bf16>(Context&, bf16*, float*, int64_t*, void*, int, const bf16*,
                                                  const bf16*, const int32_t*, int, int, int, double);

// ---- AdamW: blockIdx.y = tensor, grid-stride over its elements ----
__global__ void adamw_kernel(float* param, bf16* plow, const float* grad, float* m, float* v,
                             const AdamwTensor* tensors, double lr, float b1, float b2, float one_m_b1,
                             float one_m_b2, float e, float step_size, float inv_sqrt_bc2, const float* clip) {
  const AdamwTensor tt = tensors[blockIdx.y];
  // (float)(1 - lr wd) rounded as on the host (no fused multiply-add)
  const float decay = (float)__dsub_rn(1.0, __dmul_rn(lr, tt.weight_decay));
  const float cc = clip ? *clip : 1.0f;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < tt.n; i += (int64_t)gridDim.x * blockDim.x) {
    const int64_t gi = tt.grad_offset + i, pi = tt.param_offset + i;
    float g = grad[gi];
    if (clip) g *= cc;
    const float mi = b1 * m[gi] + one_m_b1 * g;
    const float vi = b2 * v[gi] + one_m_b2 * g * g;
    m[gi] = mi;
    v[gi] = vi;
    float p = param[pi] * decay;
    p = p - step_size * mi / (sqrtf(vi) * inv_sqrt_bc2 + e);
    param[pi] = p;
    if (plow) plow[pi] = __float2bfloat16_rn(p);
  }
}

void adamw_update(float* param, bf16* param_lowp, const float* grad, float* m, float* v, const AdamwTensor* tensors,
                  int n_tensors, int64_t max_tensor_n, double lr, double beta1, double beta2, double eps,
                  int64_t step, const float* clip_coef, cudaStream_t s) {
  TSFT_CHECK(step >= 1, "adamw_update: step counts from 1, got {}", step);
  TSFT_CHECK(n_tensors <= 65535, "adamw_update: {} tensors exceed one launch (65535)", n_tensors);
  if (n_tensors <= 0 || max_tensor_n <= 0) return;
  // Scalars formed exactly as in kernels/cpu adamw_update.
  const double bc1 = 1.0 - std::pow(beta1, (double)step), bc2 = 1.0 - std::pow(beta2, (double)step);
  const float step_size = (float)(lr / bc1), inv_sqrt_bc2 = (float)(1.0 / std::sqrt(bc2));
  const unsigned gx = std::min<unsigned>(ceil_div((size_t)max_tensor_n, 256 * 4), 1024);
  adamw_kernel<<<dim3(gx, n_tensors), 256, 0, s>>>(param, param_lowp, grad, m, v, tensors, lr, (float)beta1,
                                                    (float)beta2, (float)(1.0 - beta1), (float)(1.0 - beta2),
                                                    (float)eps, step_size, inv_sqrt_bc2, clip_coef);
  TSFT_CUDA_LAUNCHED(s, "adamw_kernel");
}

// ---- global gradient norm: fixed grid of partial sums (double), then one ordered block ----
constexpr int kNormBlocks = 1024;
__global__ void sumsq_partial_kernel(double* partial, const float* g, size_t n) {
  __shared__ double sh[32];
  double acc = 0;
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
    acc += (double)g[i] * g[i];
  acc = block_reduce(acc, sh, AddOp{}, 0.0);
  if (threadIdx.x == 0) partial[blockIdx.x] = acc;
}
__global__ void norm_finish_kernel(double* norm, float* coef, const double* partial, double clip) {
  __shared__ double sh[32];
  double acc = 0;
  for (int i = threadIdx.x; i < kNormBlocks; i += blockDim.x) acc += partial[i];
  acc = block_reduce(acc, sh, AddOp{}, 0.0);
  if (threadIdx.x == 0) {
    const double nrm = sqrt(acc);
    if (norm) *norm = nrm;
    if (coef) {
      const double c = clip > 0 ? clip / (nrm + 1e-6) : 1.0;
      *coef = c < 1.0 ? (float)c : 1.0f;
    }
  }
}

size_t grad_norm_scratch_bytes() { return kNormBlocks * sizeof(double); }

void grad_global_norm(double* norm, float* clip_coef, const float* grad, size_t n, double clip, void* scratch,
                      cudaStream_t s) {
  ScratchGuard sg(scratch, grad_norm_scratch_bytes(), s);
  sumsq_partial_kernel<<<kNormBlocks, 256, 0, s>>>((double*)sg.p, grad, n);
  TSFT_CUDA_LAUNCHED(s, "sumsq_partial_kernel");
  norm_finish_kernel<<<1, 1024, 0, s>>>(norm, clip_coef, (const double*)sg.p, clip);
  TSFT_CUDA_LAUNCHED(s, "norm_finish_kernel");
}

}  // namespace tsft::cuda
