// Causal GQA attention over packed rows, fp32 arithmetic, O(T) memory: the forward keeps an online
// softmax per query and saves lse = log(sum_s exp(score_s)); the backward recomputes p = exp(score - lse).
// A straightforward tiled version (CUDA cores, one warp per query or key row, 32-row K/V or Q tiles in
// shared memory); tensor-core flash kernels are a later optimisation with these same signatures.
//
// Masking is per element (s <= t and doc[s] == doc[t], as on CPU, so documents need not be contiguous);
// a tile that no row of the block may attend to is skipped without being loaded.
#include <cmath>

#include "core/error.hpp"
#include "kernels/cuda/common.cuh"

namespace tsft::cuda {

constexpr int kMaxD = 128;    // head dim limit of these kernels (shared-memory tiles)
constexpr int kTile = 32;     // keys (forward, dQ) or queries (dK/dV) per shared tile = lanes of a warp
constexpr int kRows = 8;      // warps per block = query (or key) rows per block
constexpr int kPer = kMaxD / 32;

// ---- forward: block (8 queries, head h, row b); warp w owns query t = t0 + w ----
template <typename T>
__global__ void __launch_bounds__(kRows * 32) attn_fwd_kernel(T* out, float* lse, const T* q, const T* k,
                                                               const T* v, const int32_t* doc, int T_, int H,
                                                               int KV, int D, float scale) {
  __shared__ float Ks[kTile][kMaxD + 1];  // +1: lane j reads row j at a common column without conflicts
  __shared__ float Vs[kTile][kMaxD];
  __shared__ float Qs[kRows][kMaxD];
  const int b = blockIdx.z, h = blockIdx.y, kh = h / (H / KV);
  const int w = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int t0 = blockIdx.x * kRows, t = t0 + w;
  const bool active = t < T_;
  const size_t qs = (size_t)H * D, ks = (size_t)KV * D, base = (size_t)b * T_;
  const int32_t* drow = doc ? doc + base : nullptr;
  for (int d = lane; d < D; d += 32) Qs[w][d] = active ? ld(q + (base + t) * qs + (size_t)h * D + d) : 0.0f;
  const int my_doc = (drow && active) ? drow[t] : 0;
  const int t_last = min(T_ - 1, t0 + kRows - 1);
  float m = -INFINITY, l = 0.0f, o[kPer];
  for (int i = 0; i < kPer; i++) o[i] = 0.0f;

  for (int s0 = 0; s0 <= t_last; s0 += kTile) {
    const int s = s0 + lane;
    const bool allowed = active && s <= t && (!drow || drow[s] == my_doc);
    if (!__syncthreads_or(allowed)) continue;  // block-uniform
    for (int i = threadIdx.x; i < kTile * D; i += blockDim.x) {
      const int r = i / D, d = i - r * D, sr = s0 + r;
      const bool in = sr < T_;
      Ks[r][d] = in ? ld(k + (base + sr) * ks + (size_t)kh * D + d) : 0.0f;
      Vs[r][d] = in ? ld(v + (base + sr) * ks + (size_t)kh * D + d) : 0.0f;
    }
    __syncthreads();
    float sc = -INFINITY;
    if (allowed) {
      float dot = 0.0f;
      for (int d = 0; d < D; d++) dot += Qs[w][d] * Ks[lane][d];
      sc = dot * scale;
    }
    const float mt = warp_max(sc);
    if (mt != -INFINITY) {  // warp-uniform: this query sees at least one key of the tile
      const float mnew = fmaxf(m, mt);
      const float corr = expf(m - mnew);  // 0 on the first tile (m = -inf)
      const float p = allowed ? expf(sc - mnew) : 0.0f;
      l = l * corr + warp_sum(p);
      for (int i = 0; i < kPer; i++) o[i] *= corr;
      for (int j = 0; j < kTile; j++) {
        const float pj = __shfl_sync(0xffffffffu, p, j);
        for (int i = 0; i < kPer; i++) {
          const int d = lane + 32 * i;
          if (d < D) o[i] += pj * Vs[j][d];
        }
      }
      m = mnew;
    }
    __syncthreads();  // the tile is overwritten next iteration
  }
  if (active) {
    const float inv = 1.0f / l;  // key s = t is always allowed, so l >= 1
    for (int i = 0; i < kPer; i++) {
      const int d = lane + 32 * i;
      if (d < D) st(out + (base + t) * qs + (size_t)h * D + d, o[i] * inv);
    }
    if (lane == 0) lse[((size_t)b * H + h) * T_ + t] = m + logf(l);
  }
}

// ---- backward ----
// delta[b,h,t] = sum_d dO[t,h,d] O[t,h,d] (= rowsum(P * dP), the softmax-backward correction)
template <typename T>
__global__ void attn_delta_kernel(float* delta, const T* dout, const T* out, int N, int T_, int H, int D) {
  const size_t gw = (blockIdx.x * (size_t)blockDim.x + threadIdx.x) >> 5;  // one warp per (n, h)
  const int lane = threadIdx.x & 31;
  if (gw >= (size_t)N * H) return;
  const size_t n = gw / H;
  const int h = (int)(gw % H);
  const size_t off = n * H * D + (size_t)h * D;
  float acc = 0.0f;
  for (int d = lane; d < D; d += 32) acc += ld(dout + off + d) * ld(out + off + d);
  acc = warp_sum(acc);
  const size_t b = n / T_, t = n % T_;
  if (lane == 0) delta[(b * H + h) * T_ + t] = acc;
}

// dQ: block (8 queries, head h, row b); over key tiles: p = exp(s - lse), dp = dO.v, ds = p (dp - delta),
// dq += scale * sum_s ds k_s.
template <typename T>
__global__ void __launch_bounds__(kRows * 32) attn_dq_kernel(T* dq, const float* delta, const T* dout,
                                                              const float* lse, const T* q, const T* k,
                                                              const T* v, const int32_t* doc, int T_, int H,
                                                              int KV, int D, float scale) {
  __shared__ float Ks[kTile][kMaxD + 1];
  __shared__ float Vs[kTile][kMaxD + 1];
  __shared__ float Qs[kRows][kMaxD];
  __shared__ float dOs[kRows][kMaxD];
  const int b = blockIdx.z, h = blockIdx.y, kh = h / (H / KV);
  const int w = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int t0 = blockIdx.x * kRows, t = t0 + w;
  const bool active = t < T_;
  const size_t qs = (size_t)H * D, ks = (size_t)KV * D, base = (size_t)b * T_;
  const int32_t* drow = doc ? doc + base : nullptr;
  for (int d = lane; d < D; d += 32) {
    Qs[w][d] = active ? ld(q + (base + t) * qs + (size_t)h * D + d) : 0.0f;
    dOs[w][d] = active ? ld(dout + (base + t) * qs + (size_t)h * D + d) : 0.0f;
  }
  const size_t st_idx = ((size_t)b * H + h) * T_ + t;
  const float lse_t = active ? lse[st_idx] : 0.0f, delta_t = active ? delta[st_idx] : 0.0f;
  const int my_doc = (drow && active) ? drow[t] : 0;
  const int t_last = min(T_ - 1, t0 + kRows - 1);
  float acc[kPer];
  for (int i = 0; i < kPer; i++) acc[i] = 0.0f;

  for (int s0 = 0; s0 <= t_last; s0 += kTile) {
    const int s = s0 + lane;
    const bool allowed = active && s <= t && (!drow || drow[s] == my_doc);
    if (!__syncthreads_or(allowed)) continue;
    for (int i = threadIdx.x; i < kTile * D; i += blockDim.x) {
      const int r = i / D, d = i - r * D, sr = s0 + r;
      const bool in = sr < T_;
      Ks[r][d] = in ? ld(k + (base + sr) * ks + (size_t)kh * D + d) : 0.0f;
      Vs[r][d] = in ? ld(v + (base + sr) * ks + (size_t)kh * D + d) : 0.0f;
    }
    __syncthreads();
    float ds = 0.0f;
    if (allowed) {
      float dot = 0.0f, dp = 0.0f;
      for (int d = 0; d < D; d++) {
        dot += Qs[w][d] * Ks[lane][d];
        dp += dOs[w][d] * Vs[lane][d];
      }
      const float p = expf(dot * scale - lse_t);
      ds = p * (dp - delta_t);
    }
    for (int j = 0; j < kTile; j++) {
      const float dsj = __shfl_sync(0xffffffffu, ds, j);
      for (int i = 0; i < kPer; i++) {
        const int d = lane + 32 * i;
        if (d < D) acc[i] += dsj * Ks[j][d];
      }
    }
    __syncthreads();
  }
  if (active)
    for (int i = 0; i < kPer; i++) {
      const int d = lane + 32 * i;
      if (d < D) {
        T* p = dq + (base + t) * qs + (size_t)h * D + d;
        st(p, ld(p) + scale * acc[i]);
      }
    }
}

// dK, dV: block (8 keys, kv head kh, row b); warp w owns key s. Over the G query heads of the group and
// the query tiles t >= s: dv += p dO_t ; dk += scale * ds q_t. One owner per dk/dv element: no atomics.
template <typename T>
__global__ void __launch_bounds__(kRows * 32) attn_dkv_kernel(T* dk, T* dv, const float* delta, const T* dout,
                                                               const float* lse, const T* q, const T* k,
                                                               const T* v, const int32_t* doc, int T_, int H,
                                                               int KV, int D, float scale) {
  __shared__ float Qs[kTile][kMaxD + 1];
  __shared__ float dOs[kTile][kMaxD + 1];
  __shared__ float Kr[kRows][kMaxD];
  __shared__ float Vr[kRows][kMaxD];
  __shared__ float lse_s[kTile], delta_s[kTile];
  const int b = blockIdx.z, kh = blockIdx.y, G = H / KV;
  const int w = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int s_first = blockIdx.x * kRows, s = s_first + w;
  const bool active = s < T_;
  const size_t qs = (size_t)H * D, ks = (size_t)KV * D, base = (size_t)b * T_;
  const int32_t* drow = doc ? doc + base : nullptr;
  for (int d = lane; d < D; d += 32) {
    Kr[w][d] = active ? ld(k + (base + s) * ks + (size_t)kh * D + d) : 0.0f;
    Vr[w][d] = active ? ld(v + (base + s) * ks + (size_t)kh * D + d) : 0.0f;
  }
  const int my_doc = (drow && active) ? drow[s] : 0;
  float dka[kPer], dva[kPer];
  for (int i = 0; i < kPer; i++) dka[i] = dva[i] = 0.0f;

  for (int g = 0; g < G; g++) {
    const int h = kh * G + g;
    const size_t hbase = ((size_t)b * H + h) * T_;
    for (int t0 = s_first / kTile * kTile; t0 < T_; t0 += kTile) {
      const int t = t0 + lane;
      const bool allowed = active && t < T_ && t >= s && (!drow || drow[t] == my_doc);
      if (!__syncthreads_or(allowed)) continue;
      for (int i = threadIdx.x; i < kTile * D; i += blockDim.x) {
        const int r = i / D, d = i - r * D, tr = t0 + r;
        const bool in = tr < T_;
        Qs[r][d] = in ? ld(q + (base + tr) * qs + (size_t)h * D + d) : 0.0f;
        dOs[r][d] = in ? ld(dout + (base + tr) * qs + (size_t)h * D + d) : 0.0f;
      }
      if (threadIdx.x < kTile) {
        const int tr = t0 + threadIdx.x;
        lse_s[threadIdx.x] = tr < T_ ? lse[hbase + tr] : 0.0f;
        delta_s[threadIdx.x] = tr < T_ ? delta[hbase + tr] : 0.0f;
      }
      __syncthreads();
      float p = 0.0f, ds = 0.0f;
      if (allowed) {  // lane = query t of the tile, against this warp's key s
        float dot = 0.0f, dp = 0.0f;
        for (int d = 0; d < D; d++) {
          dot += Kr[w][d] * Qs[lane][d];
          dp += Vr[w][d] * dOs[lane][d];
        }
        p = expf(dot * scale - lse_s[lane]);
        ds = p * (dp - delta_s[lane]);
      }
      for (int j = 0; j < kTile; j++) {
        const float pj = __shfl_sync(0xffffffffu, p, j), dsj = __shfl_sync(0xffffffffu, ds, j);
        for (int i = 0; i < kPer; i++) {
          const int d = lane + 32 * i;
          if (d < D) {
            dva[i] += pj * dOs[j][d];
            dka[i] += dsj * Qs[j][d];
          }
        }
      }
      __syncthreads();
    }
  }
  if (active)
    for (int i = 0; i < kPer; i++) {
      const int d = lane + 32 * i;
      if (d < D) {
        const size_t off = (base + s) * ks + (size_t)kh * D + d;
        st(dk + off, ld(dk + off) + scale * dka[i]);
        st(dv + off, ld(dv + off) + dva[i]);
      }
    }
}

static void attn_check_dims(int B, int T_, int H, int KV, int D) {
  TSFT_CHECK(D > 0 && D <= kMaxD, "CUDA attention supports head dim 1..{}, got {}", kMaxD, D);
  TSFT_CHECK(KV > 0 && H % KV == 0, "CUDA attention: {} query heads are not a multiple of {} kv heads", H, KV);
  TSFT_CHECK(B <= 65535 && H <= 65535, "CUDA attention: batch {} or heads {} exceed the grid limit", B, H);
}

template <typename T>
void attention_forward(T* out, float* lse, const T* q, const T* k, const T* v, const int32_t* doc, int B, int T_,
                       int H, int KV, int D, cudaStream_t s) {
  if (B <= 0 || T_ <= 0) return;
  attn_check_dims(B, T_, H, KV, D);
  const float scale = 1.0f / sqrtf((float)D);
  attn_fwd_kernel<<<dim3(ceil_div(T_, kRows), H, B), kRows * 32, 0, s>>>(out, lse, q, k, v, doc, T_, H, KV, D,
                                                                          scale);
  TSFT_CUDA_LAUNCHED(s, "attn_fwd_kernel");
}

size_t attention_backward_scratch_bytes(int B, int T_, int H) { return (size_t)B * H * T_ * sizeof(float); }

template <typename T>
void attention_backward(T* dq, T* dk, T* dv, void* scratch, const T* dout, const T* out, const float* lse,
                        const T* q, const T* k, const T* v, const int32_t* doc, int B, int T_, int H, int KV,
                        int D, cudaStream_t s) {
  if (B <= 0 || T_ <= 0) return;
  attn_check_dims(B, T_, H, KV, D);
  const float scale = 1.0f / sqrtf((float)D);
  ScratchGuard sg(scratch, attention_backward_scratch_bytes(B, T_, H), s);
  float* delta = (float*)sg.p;
  const size_t warps = (size_t)B * T_ * H;
  attn_delta_kernel<<<ceil_div(warps * 32, 256), 256, 0, s>>>(delta, dout, out, B * T_, T_, H, D);
  TSFT_CUDA_LAUNCHED(s, "attn_delta_kernel");
  attn_dq_kernel<<<dim3(ceil_div(T_, kRows), H, B), kRows * 32, 0, s>>>(dq, delta, dout, lse, q, k, v, doc, T_,
                                                                         H, KV, D, scale);
  TSFT_CUDA_LAUNCHED(s, "attn_dq_kernel");
  attn_dkv_kernel<<<dim3(ceil_div(T_, kRows), KV, B), kRows * 32, 0, s>>>(dk, dv, delta, dout, lse, q, k, v, doc,
                                                                           T_, H, KV, D, scale);
  TSFT_CUDA_LAUNCHED(s, "attn_dkv_kernel");
}

#define TSFT_INSTANTIATE(T)                                                                                  \
  template void attention_forward<T>(T*, float*, const T*, const T*, const T*, const int32_t*, int, int, int, \
                                     int, int, cudaStream_t);                                                \
  template void attention_backward<T>(T*, T*, T*, void*, const T*, const T*, const float*, const T*, const T*, \
                                      const T*, const int32_t*, int, int, int, int, int, cudaStream_t);
TSFT_INSTANTIATE(float)
TSFT_INSTANTIATE(bf16)
#undef TSFT_INSTANTIATE

}  // namespace tsft::cuda
