// Softmax cross-entropy (ignore index -100), the fused LM head + cross-entropy, and AdamW.
#include <cmath>
#include <vector>

#include "core/error.hpp"
#include "kernels/cpu/blas.hpp"
#include "kernels/cpu/kernels.hpp"

namespace tsft {

constexpr int32_t kIgnoreIndex = -100;

// loss_n = logsumexp(z_n) - z_n[y_n] ; dz_n = (softmax(z_n) - onehot(y_n)) * grad_scale
template <typename T>
double crossentropy_forward_backward(T* dlogits, int64_t* n_valid, const T* logits, const int32_t* targets,
                                     int N, int V, double grad_scale) {
  // Validated before the parallel region (an exception must not escape an OpenMP block).
  for (int n = 0; n < N; n++)
    TSFT_CHECK(targets[n] == kIgnoreIndex || (targets[n] >= 0 && targets[n] < V),
               "target id {} at row {} is outside the vocabulary [0, {}) and is not the ignore index {}",
               targets[n], n, V, kIgnoreIndex);
  std::vector<double> row_loss(N, 0.0);
  parallel_blocks(N, 4, [&](long n0, long n1, int) {
    for (long n = n0; n < n1; n++) {
      const T* z = logits + (size_t)n * V;
      T* dz = dlogits ? dlogits + (size_t)n * V : nullptr;
      int32_t y = targets[n];
      if (y == kIgnoreIndex) {
        if (dz)
          for (int j = 0; j < V; j++) dz[j] = 0;
        continue;
      }
      T mx = z[0];
      for (int j = 1; j < V; j++) mx = std::max(mx, z[j]);
      double sum = 0;
      for (int j = 0; j < V; j++) sum += std::exp((double)(z[j] - mx));
      double lse = (double)mx + std::log(sum);
      row_loss[n] = lse - (double)z[y];
      if (dz) {
        for (int j = 0; j < V; j++) dz[j] = (T)(std::exp((double)z[j] - lse) * grad_scale);
        dz[y] -= (T)grad_scale;
      }
    }
  }, 20.0 * V);
  double loss = 0;
  int64_t cnt = 0;
  for (int n = 0; n < N; n++)
    if (targets[n] != kIgnoreIndex) {
      loss += row_loss[n];
      cnt++;
    }
  if (n_valid) *n_valid = cnt;
  return loss;
}

// Rows whose target is ignored contribute neither loss nor gradient, so only the valid rows are
// gathered and projected (SFT prompts are mostly ignored tokens).
template <typename T>
double lm_head_ce_forward_backward(T* dx, T* dW, int64_t* n_valid, T* scratch, int chunk_rows, const T* x,
                                   const T* W, const int32_t* targets, int N, int C, int V, double grad_scale) {
  TSFT_CHECK(chunk_rows > 0, "lm_head_ce_forward_backward: chunk_rows must be positive, got {}", chunk_rows);
  std::vector<int> rows;
  rows.reserve(N);
  for (int n = 0; n < N; n++) {
    TSFT_CHECK(targets[n] == kIgnoreIndex || (targets[n] >= 0 && targets[n] < V),
               "target id {} at row {} is outside the vocabulary [0, {}) and is not the ignore index {}",
               targets[n], n, V, kIgnoreIndex);
    if (targets[n] != kIgnoreIndex) rows.push_back(n);
  }
  std::vector<T> own;
  if (!scratch) {
    own.resize((size_t)chunk_rows * V);
    scratch = own.data();
  }
  std::vector<T> xg((size_t)chunk_rows * C), dxg(dx ? (size_t)chunk_rows * C : 0);
  std::vector<int32_t> yg(chunk_rows);
  bool backward = dx || dW;
  double loss = 0;
  for (size_t r0 = 0; r0 < rows.size(); r0 += chunk_rows) {
    int m = (int)std::min<size_t>(chunk_rows, rows.size() - r0);
    for (int i = 0; i < m; i++) {
      std::copy_n(x + (size_t)rows[r0 + i] * C, C, xg.data() + (size_t)i * C);
      yg[i] = targets[rows[r0 + i]];
    }
    matmul_forward<T>(scratch, xg.data(), W, nullptr, m, C, V);  // logits [m, V]
    loss += crossentropy_forward_backward<T>(backward ? scratch : nullptr, nullptr, scratch, yg.data(), m, V,
                                             grad_scale);
    if (!backward) continue;
    if (dx) std::fill(dxg.begin(), dxg.begin() + (size_t)m * C, T(0));
    matmul_backward<T>(dx ? dxg.data() : nullptr, dW, nullptr, scratch, xg.data(), W, m, C, V);
    if (dx)
      for (int i = 0; i < m; i++) {
        T* d = dx + (size_t)rows[r0 + i] * C;
        const T* s = dxg.data() + (size_t)i * C;
        for (int c = 0; c < C; c++) d[c] += s[c];
      }
  }
  if (n_valid) *n_valid = (int64_t)rows.size();
  return loss;
}

void adamw_update(float* param, const float* grad, float* m, float* v, size_t n, double lr, double beta1,
                  double beta2, double eps, double weight_decay, int64_t step) {
  TSFT_CHECK(step >= 1, "adamw_update: step counts from 1, got {}", step);
  const double bc1 = 1.0 - std::pow(beta1, (double)step);
  const double bc2 = 1.0 - std::pow(beta2, (double)step);
  const float step_size = (float)(lr / bc1);
  const float inv_sqrt_bc2 = (float)(1.0 / std::sqrt(bc2));
  const float decay = (float)(1.0 - lr * weight_decay);
  // 1 - beta is formed in double and rounded once: 1.0f - (float)0.999 would carry the rounding error
  // of (float)0.999 amplified 999x (1.3e-5 relative in every v update; torch uses (float)(1 - beta2)).
  const float b1 = (float)beta1, b2 = (float)beta2, e = (float)eps;
  const float one_m_b1 = (float)(1.0 - beta1), one_m_b2 = (float)(1.0 - beta2);
  parallel_blocks((long)n, 1024, [&](long i0, long i1, int) {
    for (long i = i0; i < i1; i++) {
      float g = grad[i];
      float mi = b1 * m[i] + one_m_b1 * g;
      float vi = b2 * v[i] + one_m_b2 * g * g;
      m[i] = mi;
      v[i] = vi;
      float p = param[i] * decay;
      param[i] = p - step_size * mi / (std::sqrt(vi) * inv_sqrt_bc2 + e);
    }
  }, 12.0);
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
