// Embedding, RMSNorm, RoPE and SwiGLU: forward/backward pairs (see kernels.hpp for conventions).
#include <cmath>
#include <type_traits>
#include <vector>

#include "core/error.hpp"
#include "kernels/cpu/blas.hpp"
#include "kernels/cpu/kernels.hpp"
#include "kernels/cpu/vmath.hpp"

namespace tsft {

// ---- embedding ----
template <typename T>
void embedding_forward(T* out, const int32_t* ids, const T* table, int N, int C, int V) {
  for (int n = 0; n < N; n++)
    TSFT_CHECK(ids[n] >= 0 && ids[n] < V, "token id {} at position {} is outside the vocabulary [0, {})",
               ids[n], n, V);
  parallel_blocks(N, 16, [&](long n0, long n1, int) {
    for (long n = n0; n < n1; n++) std::copy_n(table + (size_t)ids[n] * C, C, out + n * C);
  }, C);
}

// dtable[ids[n], :] += dout[n, :]. Columns are split across threads (tokens may repeat an id).
template <typename T>
void embedding_backward(T* dtable, const T* dout, const int32_t* ids, int N, int C) {
  parallel_blocks(C, 16, [&](long c0, long c1, int) {
    for (int n = 0; n < N; n++) {
      T* row = dtable + (size_t)ids[n] * C;
      const T* g = dout + (size_t)n * C;
      for (long c = c0; c < c1; c++) row[c] += g[c];
    }
  }, N);
}

// ---- RMSNorm ----
// y_i = w_i x_i r, r = (mean_j x_j^2 + eps)^(-1/2). One row; with b set, x = a + b is formed first and
// stored in sum (the residual add fused into the norm that follows it).
template <typename T>
static inline void rmsnorm_row(T* y, T* rstd, T* sum, const T* a, const T* b, const T* weight, int C,
                               double eps) {
  const T* x = a;
  if (b) {
    for (int c = 0; c < C; c++) sum[c] = a[c] + b[c];
    x = sum;
  }
  double ss = 0;
  for (int c = 0; c < C; c++) ss += (double)x[c] * x[c];
  T r = (T)(1.0 / std::sqrt(ss / C + eps));
  *rstd = r;
  for (int c = 0; c < C; c++) y[c] = weight[c] * (x[c] * r);
}

template <typename T>
void rmsnorm_forward(T* out, T* rstd, const T* inp, const T* weight, int N, int C, double eps) {
  parallel_blocks(N, 8, [&](long n0, long n1, int) {
    for (long n = n0; n < n1; n++)
      rmsnorm_row<T>(out + n * C, rstd + n, nullptr, inp + n * C, nullptr, weight, C, eps);
  }, 4.0 * C);
}

template <typename T>
void residual_rmsnorm_forward(T* sum, T* out, T* rstd, const T* a, const T* b, const T* weight, int N, int C,
                              double eps) {
  parallel_blocks(N, 8, [&](long n0, long n1, int) {
    for (long n = n0; n < n1; n++)
      rmsnorm_row<T>(out + n * C, rstd + n, sum + n * C, a + n * C, b + n * C, weight, C, eps);
  }, 5.0 * C);
}

// With g = w * dy:  dx_j = r * (g_j - x_j r^2 (sum_i g_i x_i) / C)   [from dr/dx_j = -r^3 x_j / C]
//                   dw_i += dy_i x_i r
template <typename T>
void rmsnorm_backward(T* dinp, T* dweight, const T* dout, const T* inp, const T* rstd, const T* weight,
                      int N, int C) {
  // dweight: one partial per chunk of the fixed split, reduced in chunk order (deterministic for a
  // thread count whichever thread ran which chunk).
  long per = N;
  const int nc = parallel_chunk_count(N, 8, 8.0 * C, &per);
  static thread_local std::vector<T> partial;  // [nc, C], reused across calls
  if (dweight) partial.assign((size_t)nc * C, T(0));
  T* const part = partial.data();  // the lambda runs on pool threads: not `partial` (thread_local)
  parallel_chunks(N, 8, [&](long n0, long n1, int chunk, int) {
    T* dw = dweight ? part + (size_t)chunk * C : nullptr;
    for (long n = n0; n < n1; n++) {
      const T* x = inp + n * C;
      const T* dy = dout + n * C;
      T r = rstd[n];
      double dot = 0;
      for (int c = 0; c < C; c++) dot += (double)weight[c] * dy[c] * x[c];
      T k = (T)(dot / C) * r * r;
      T* dx = dinp + n * C;
      for (int c = 0; c < C; c++) dx[c] += r * (weight[c] * dy[c] - x[c] * k);
      if (dw)
        for (int c = 0; c < C; c++) dw[c] += dy[c] * x[c] * r;
    }
  }, 8.0 * C);
  if (dweight)
    for (int t = 0; t < nc; t++)
      for (int c = 0; c < C; c++) dweight[c] += part[(size_t)t * C + c];
}

// ---- RoPE ----
template <typename T>
void rope_tables(T* cos, T* sin, const double* inv_freq, int max_pos, int D) {
  int half = D / 2;
  for (int p = 0; p < max_pos; p++)
    for (int i = 0; i < half; i++) {
      double a = (double)p * inv_freq[i];
      cos[(size_t)p * half + i] = (T)std::cos(a);
      sin[(size_t)p * half + i] = (T)std::sin(a);
    }
}

template <typename T>
static void rope_rotate(T* x, const int32_t* pos, const T* cos, const T* sin, int N, int nh, int D,
                        T sign) {
  int half = D / 2;
  parallel_blocks(N, 8, [&](long n0, long n1, int) {
    for (long n = n0; n < n1; n++) {
      const T* c = cos + (size_t)pos[n] * half;
      const T* s = sin + (size_t)pos[n] * half;
      for (int h = 0; h < nh; h++) {
        T* v = x + ((size_t)n * nh + h) * D;
        for (int i = 0; i < half; i++) {
          T a = v[i], b = v[i + half], si = sign * s[i];
          v[i] = a * c[i] - b * si;
          v[i + half] = b * c[i] + a * si;
        }
      }
    }
  }, 3.0 * nh * D);
}

template <typename T>
void rope_forward(T* x, const int32_t* pos, const T* cos, const T* sin, int N, int nh, int D) {
  rope_rotate(x, pos, cos, sin, N, nh, D, T(1));
}
// The rotation is orthogonal: its transpose is the rotation by -theta.
template <typename T>
void rope_backward(T* dx, const int32_t* pos, const T* cos, const T* sin, int N, int nh, int D) {
  rope_rotate(dx, pos, cos, sin, N, nh, D, T(-1));
}

// ---- SwiGLU ----
// out = g * s(g) * u ; d/dg [g s(g)] = s(g) (1 + g (1 - s(g)))
// float: kVecLanes elements at a time with the vectorised exp (vmath.hpp; the last partial vector is
// computed on padded lanes, so every element sees the same arithmetic); double: libm exp (the fp64
// gradient checks). For g < -88.37, exp(-g) is +inf and s = 0 exactly (out = -0, no NaN).
static inline fvec swiglu_sigmoid(fvec g) { return 1.f / (1.f + exp_fvec(-g)); }

template <typename T>
void swiglu_forward(T* out, const T* gate, const T* up, size_t n) {
  parallel_blocks((long)n, 256, [&](long i0, long i1, int) {
    if constexpr (std::is_same_v<T, float>) {
      long i = i0;
      for (; i + kVecLanes <= i1; i += kVecLanes) {
        fvec g = fvec_load(gate + i);
        fvec_store(out + i, g * swiglu_sigmoid(g) * fvec_load(up + i));
      }
      if (i < i1) {
        fvec g = fvec_load_part(gate + i, i1 - i, 0.f);
        fvec_store_part(out + i, g * swiglu_sigmoid(g) * fvec_load_part(up + i, i1 - i, 0.f), i1 - i);
      }
    } else {
      for (long i = i0; i < i1; i++) {
        T g = gate[i];
        T s = T(1) / (T(1) + std::exp(-g));
        out[i] = g * s * up[i];
      }
    }
  }, 20.0);
}

template <typename T>
void swiglu_backward(T* dgate, T* dup, const T* dout, const T* gate, const T* up, size_t n) {
  parallel_blocks((long)n, 256, [&](long i0, long i1, int) {
    if constexpr (std::is_same_v<T, float>) {
      auto body = [](fvec g, fvec u, fvec dy, fvec& dg, fvec& du) {
        fvec s = swiglu_sigmoid(g);
        dg += dy * u * s * (1.f + g * (1.f - s));
        du += dy * g * s;
      };
      long i = i0;
      for (; i + kVecLanes <= i1; i += kVecLanes) {
        fvec dg = fvec_load(dgate + i), du = fvec_load(dup + i);
        body(fvec_load(gate + i), fvec_load(up + i), fvec_load(dout + i), dg, du);
        fvec_store(dgate + i, dg);
        fvec_store(dup + i, du);
      }
      if (i < i1) {
        const long m = i1 - i;
        fvec dg = fvec_load_part(dgate + i, m, 0.f), du = fvec_load_part(dup + i, m, 0.f);
        body(fvec_load_part(gate + i, m, 0.f), fvec_load_part(up + i, m, 0.f), fvec_load_part(dout + i, m, 0.f),
             dg, du);
        fvec_store_part(dgate + i, dg, m);
        fvec_store_part(dup + i, du, m);
      }
    } else {
      for (long i = i0; i < i1; i++) {
        T g = gate[i];
        T s = T(1) / (T(1) + std::exp(-g));
        dgate[i] += dout[i] * up[i] * s * (T(1) + g * (T(1) - s));
        dup[i] += dout[i] * g * s;
      }
    }
  }, 30.0);
}

#define TSFT_INSTANTIATE(T)                                                                         \
  template void embedding_forward<T>(T*, const int32_t*, const T*, int, int, int);                  \
  template void embedding_backward<T>(T*, const T*, const int32_t*, int, int);                      \
  template void rmsnorm_forward<T>(T*, T*, const T*, const T*, int, int, double);                   \
  template void residual_rmsnorm_forward<T>(T*, T*, T*, const T*, const T*, const T*, int, int, double); \
  template void rmsnorm_backward<T>(T*, T*, const T*, const T*, const T*, const T*, int, int);      \
  template void rope_tables<T>(T*, T*, const double*, int, int);                                    \
  template void rope_forward<T>(T*, const int32_t*, const T*, const T*, int, int, int);             \
  template void rope_backward<T>(T*, const int32_t*, const T*, const T*, int, int, int);            \
  template void swiglu_forward<T>(T*, const T*, const T*, size_t);                                  \
  template void swiglu_backward<T>(T*, T*, const T*, const T*, const T*, size_t);
TSFT_INSTANTIATE(float)
TSFT_INSTANTIATE(double)
#undef TSFT_INSTANTIATE

}  // namespace tsft
