// Softmax cross-entropy (ignore index -100), the fused LM head + cross-entropy, and AdamW.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "core/error.hpp"
#include "kernels/cpu/blas.hpp"
#include "kernels/cpu/gemm_ops.hpp"
#include "kernels/cpu/kernels.hpp"
#include "kernels/cpu/vmath.hpp"

namespace tsft {

constexpr int32_t kIgnoreIndex = -100;

// loss_n = logsumexp(z_n) - z_n[y_n] ; dz_n = (softmax(z_n) - onehot(y_n)) * grad_scale
// One row; dz may alias z. double: the scalar reference (libm exp, double sums). float: kVecLanes
// logits at a time with the vectorised exp (vmath.hpp), e_j = exp(z_j - max) kept in dz, lane sums
// added in double, dz_j = e_j * (grad_scale / sum e).
static double ce_row(double* dz, const double* z, int V, int32_t y, double grad_scale) {
  double mx = z[0];
  for (int j = 1; j < V; j++) mx = std::max(mx, z[j]);
  double sum = 0;
  for (int j = 0; j < V; j++) sum += std::exp(z[j] - mx);
  const double lse = mx + std::log(sum), loss = lse - z[y];
  if (dz) {
    for (int j = 0; j < V; j++) dz[j] = std::exp(z[j] - lse) * grad_scale;
    dz[y] -= grad_scale;
  }
  return loss;
}

static double ce_row(float* dz, const float* z, int V, int32_t y, double grad_scale) {
  constexpr float kNegInf = -std::numeric_limits<float>::infinity();
  const double zy = z[y];
  fvec vm = fvec_splat(kNegInf);
  int j = 0;
  for (; j + kVecLanes <= V; j += kVecLanes) {
    fvec v = fvec_load(z + j);
    vm = v > vm ? v : vm;
  }
  float mx = fvec_max(vm);
  for (; j < V; j++) mx = std::max(mx, z[j]);
  const fvec vmx = fvec_splat(mx);
  fvec vs = fvec_splat(0.f);
  double sum = 0;
  for (j = 0; j + kVecLanes <= V; j += kVecLanes) {
    fvec e = exp_fvec(fvec_load(z + j) - vmx);
    vs += e;
    if (dz) fvec_store(dz + j, e);
  }
  if (j < V) {
    fvec e = exp_fvec(fvec_load_part(z + j, V - j, kNegInf) - vmx);  // padding lanes: exp(-inf) = 0
    vs += e;
    if (dz) fvec_store_part(dz + j, e, V - j);
  }
  sum = fvec_sum_double(vs);
  if (dz) {
    const float k = (float)(grad_scale / sum);
    for (j = 0; j < V; j++) dz[j] *= k;
    dz[y] -= (float)grad_scale;
  }
  return (double)mx + std::log(sum) - zy;
}

template <typename T>
static void ce_check_targets(const int32_t* targets, int N, int V) {
  for (int n = 0; n < N; n++)
    TSFT_CHECK(targets[n] == kIgnoreIndex || (targets[n] >= 0 && targets[n] < V),
               "target id {} at row {} is outside the vocabulary [0, {}) and is not the ignore index {}",
               targets[n], n, V, kIgnoreIndex);
}

// Rows are split in the fixed chunks of parallel_chunks; each chunk sums its rows' losses in row
// order and the chunk sums are added in chunk order (deterministic for a thread count).
template <typename T>
double crossentropy_forward_backward(T* dlogits, int64_t* n_valid, const T* logits, const int32_t* targets,
                                     int N, int V, double grad_scale) {
  // Validated before the parallel region (an exception must not escape a pool task).
  ce_check_targets<T>(targets, N, V);
  long per = N;
  const int nc = parallel_chunk_count(N, 4, 20.0 * V, &per);
  double part_local[64];
  std::vector<double> part_heap(nc > 64 ? nc : 0);
  double* part = nc > 64 ? part_heap.data() : part_local;
  parallel_chunks(N, 4, [&](long n0, long n1, int chunk, int) {
    double acc = 0;
    for (long n = n0; n < n1; n++) {
      T* dz = dlogits ? dlogits + (size_t)n * V : nullptr;
      int32_t y = targets[n];
      if (y == kIgnoreIndex) {
        if (dz) std::fill(dz, dz + V, T(0));
        continue;
      }
      acc += ce_row(dz, logits + (size_t)n * V, V, y, grad_scale);
    }
    part[chunk] = acc;
  }, 20.0 * V);
  double loss = 0;
  for (int c = 0; c < nc; c++) loss += part[c];
  if (n_valid) {
    int64_t cnt = 0;
    for (int n = 0; n < N; n++) cnt += targets[n] != kIgnoreIndex;
    *n_valid = cnt;
  }
  return loss;
}

size_t lm_head_ce_scratch_size(int chunk_rows, int C, int V, bool dx) {
  return (size_t)chunk_rows * ((size_t)V + (size_t)C * (dx ? 2 : 1));
}

// Rows whose target is ignored contribute neither loss nor gradient, so only the valid rows are
// gathered and projected (SFT prompts are mostly ignored tokens). scratch holds the chunk's logits
// [chunk_rows, V], gathered inputs [chunk_rows, C] and (with dx) their gradient [chunk_rows, C].
// The GEMMs come from the caller: head_fwd(logits, xg, m) = xg[m,C] W^T and
// head_bwd(dxg or null, logits, xg, m) = (dxg += dlogits W, dW += dlogits^T xg).
template <typename T, typename Fwd, typename Bwd>
double lm_head_ce_chunks(Fwd head_fwd, Bwd head_bwd, T* dx, T* dW, int64_t* n_valid, T* scratch,
                         int chunk_rows, const T* x, const int32_t* targets, int N, int C, int V,
                         double grad_scale) {
  TSFT_CHECK(chunk_rows > 0, "lm_head_ce_forward_backward: chunk_rows must be positive, got {}", chunk_rows);
  ce_check_targets<T>(targets, N, V);
  std::vector<T> own;
  if (!scratch) {
    own.resize(lm_head_ce_scratch_size(chunk_rows, C, V, dx != nullptr));
    scratch = own.data();
  }
  T* logits = scratch;
  T* xg = logits + (size_t)chunk_rows * V;
  T* dxg = xg + (size_t)chunk_rows * C;
  int32_t yg_local[256];
  std::vector<int32_t> yg_heap(chunk_rows > 256 ? 2 * chunk_rows : 0);
  int32_t* yg = chunk_rows > 256 ? yg_heap.data() : yg_local;  // [chunk_rows] targets
  int32_t rg_local[256];
  int32_t* rg = chunk_rows > 256 ? yg_heap.data() + chunk_rows : rg_local;  // [chunk_rows] source rows
  const bool backward = dx || dW;
  double loss = 0;
  int64_t valid = 0;
  for (int n = 0; n < N;) {
    int m = 0;  // gather the next (up to) chunk_rows valid rows
    for (; n < N && m < chunk_rows; n++)
      if (targets[n] != kIgnoreIndex) {
        rg[m] = n;
        yg[m] = targets[n];
        std::copy_n(x + (size_t)n * C, C, xg + (size_t)m * C);
        m++;
      }
    if (m == 0) break;
    valid += m;
    head_fwd(logits, xg, m);  // logits [m, V]
    loss += crossentropy_forward_backward<T>(backward ? logits : nullptr, nullptr, logits, yg, m, V, grad_scale);
    if (!backward) continue;
    if (dx) std::fill(dxg, dxg + (size_t)m * C, T(0));
    head_bwd(dx ? dxg : nullptr, logits, xg, m);
    if (dx)
      for (int i = 0; i < m; i++) {
        T* d = dx + (size_t)rg[i] * C;
        const T* s = dxg + (size_t)i * C;
        for (int c = 0; c < C; c++) d[c] += s[c];
      }
  }
  if (n_valid) *n_valid = valid;
  return loss;
}

template <typename T>
double lm_head_ce_forward_backward(T* dx, T* dW, int64_t* n_valid, T* scratch, int chunk_rows, const T* x,
                                   const T* W, const int32_t* targets, int N, int C, int V, double grad_scale) {
  auto fwd = [&](T* logits, const T* xg, int m) { matmul_forward<T>(logits, xg, W, nullptr, m, C, V); };
  auto bwd = [&](T* dxg, const T* logits, const T* xg, int m) {
    matmul_backward<T>(dxg, dW, nullptr, logits, xg, W, m, C, V);
  };
  return lm_head_ce_chunks<T>(fwd, bwd, dx, dW, n_valid, scratch, chunk_rows, x, targets, N, C, V, grad_scale);
}

double lm_head_ce_forward_backward(GemmOps& g, float* dx, float* dW, int64_t* n_valid, float* scratch,
                                   int chunk_rows, const float* x, const float* W, const int32_t* targets, int N,
                                   int C, int V, double grad_scale) {
  auto fwd = [&](float* logits, const float* xg, int m) { g.forward(logits, xg, W, nullptr, m, C, V); };
  auto bwd = [&](float* dxg, const float* logits, const float* xg, int m) {
    g.backward(dxg, dW, nullptr, logits, xg, W, m, C, V);
  };
  return lm_head_ce_chunks<float>(fwd, bwd, dx, dW, n_valid, scratch, chunk_rows, x, targets, N, C, V,
                                  grad_scale);
}

namespace {
// The per-step constants of adamw_update (rounded to float once).
struct AdamwConst {
  float step_size, inv_sqrt_bc2, b1, b2, e, one_m_b1, one_m_b2;
  AdamwConst(double lr, double beta1, double beta2, double eps, int64_t step) {
    TSFT_CHECK(step >= 1, "adamw_update: step counts from 1, got {}", step);
    const double bc1 = 1.0 - std::pow(beta1, (double)step);
    const double bc2 = 1.0 - std::pow(beta2, (double)step);
    step_size = (float)(lr / bc1);
    inv_sqrt_bc2 = (float)(1.0 / std::sqrt(bc2));
    // 1 - beta is formed in double and rounded once: 1.0f - (float)0.999 would carry the rounding error
    // of (float)0.999 amplified 999x (1.3e-5 relative in every v update; torch uses (float)(1 - beta2)).
    b1 = (float)beta1, b2 = (float)beta2, e = (float)eps;
    one_m_b1 = (float)(1.0 - beta1), one_m_b2 = (float)(1.0 - beta2);
  }
};

void adamw_range(const AdamwConst& k, float decay, float* param, const float* grad, float* m, float* v, long i0,
                 long i1) {
  for (long i = i0; i < i1; i++) {
    float g = grad[i];
    float mi = k.b1 * m[i] + k.one_m_b1 * g;
    float vi = k.b2 * v[i] + k.one_m_b2 * g * g;
    m[i] = mi;
    v[i] = vi;
    float p = param[i] * decay;
    param[i] = p - k.step_size * mi / (std::sqrt(vi) * k.inv_sqrt_bc2 + k.e);
  }
}
}  // namespace

void adamw_update(float* param, const float* grad, float* m, float* v, size_t n, double lr, double beta1,
                  double beta2, double eps, double weight_decay, int64_t step) {
  const AdamwConst k(lr, beta1, beta2, eps, step);
  const float decay = (float)(1.0 - lr * weight_decay);
  parallel_blocks((long)n, 1024, [&](long i0, long i1, int) { adamw_range(k, decay, param, grad, m, v, i0, i1); },
                  12.0);
}

// All tensors in one parallel region: the concatenation of the segments is split in fixed chunks and
// each chunk walks the segments it overlaps. Every element gets adamw_update's arithmetic.
void adamw_update_segments(const AdamwSegment* segs, int n_segs, double lr, double beta1, double beta2,
                           double eps, int64_t step) {
  const AdamwConst k(lr, beta1, beta2, eps, step);
  long total = 0;
  for (int s = 0; s < n_segs; s++) total += (long)segs[s].n;
  parallel_blocks(total, 4096, [&](long e0, long e1, int) {
    long base = 0;  // start of segment s in the concatenation
    for (int s = 0; s < n_segs && base < e1; base += (long)segs[s].n, s++) {
      const long lo = std::max(e0, base) - base, hi = std::min(e1, base + (long)segs[s].n) - base;
      if (lo >= hi) continue;
      const AdamwSegment& g = segs[s];
      adamw_range(k, (float)(1.0 - lr * g.weight_decay), g.param, g.grad, g.m, g.v, lo, hi);
    }
  }, 12.0);
}

double sum_squares(const float* g, size_t n) {
  long per = (long)n;
  const int nc = parallel_chunk_count((long)n, 4096, 2.0, &per);
  double part_local[64];
  std::vector<double> part_heap(nc > 64 ? nc : 0);
  double* part = nc > 64 ? part_heap.data() : part_local;
  parallel_chunks((long)n, 4096, [&](long i0, long i1, int c, int) {
    double a = 0;
    for (long i = i0; i < i1; i++) a += (double)g[i] * g[i];
    part[c] = a;
  }, 2.0);
  double s = 0;
  for (int c = 0; c < nc; c++) s += part[c];
  return s;
}

void scale_inplace(float* g, size_t n, float c) {
  parallel_blocks((long)n, 4096, [&](long i0, long i1, int) {
    for (long i = i0; i < i1; i++) g[i] *= c;
  }, 1.0);
}

template double crossentropy_forward_backward<float>(float*, int64_t*, const float*, const int32_t*, int,
                                                     int, double);
template double crossentropy_forward_backward<double>(double*, int64_t*, const double*, const int32_t*, int,
                                                      int, double);
template double lm_head_ce_forward_backward<float>(float*, float*, int64_t*, float*, int, const float*,
                                                   const float*, const int32_t*, int, int, int, double);
template double lm_head_ce_forward_backward<double>(double*, double*, int64_t*, double*, int, const double*,
                                                    const double*, const int32_t*, int, int, int, double);

}  // namespace tsft
