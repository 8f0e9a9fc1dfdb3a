// Causal grouped-query attention over packed rows (see kernels.hpp). Work is split over (row b,
// kv head) pairs so that the query heads sharing a kv head accumulate dk/dv in one thread.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "kernels/cpu/blas.hpp"
#include "kernels/cpu/gemm_ops.hpp"
#include "kernels/cpu/kernels.hpp"
#include "kernels/cpu/vmath.hpp"

namespace tsft {

// s may be attended from t: same row (implicit), s <= t, same document.
static inline bool attn_allowed(const int32_t* doc_row, int t, int s) {
  return s <= t && (!doc_row || doc_row[s] == doc_row[t]);
}

// Query rows are processed in blocks of kQBlock: block [t0, t1) only needs keys [lo, t1), lo the first
// key any of its queries may see (causality, and for packed rows the start of the earliest document
// in the block), so fully masked key ranges are never multiplied.
constexpr int kQBlock = 64;

// lo for the query block [t0, t1) of a row (doc ids of the row, or null).
static int key_lo(const int32_t* drow, int t0, int t1) {
  if (!drow) return 0;
  int lo = t0;
  for (int t = t0; t < t1; t++) {  // first occurrence of doc[t] at or before t
    int s = 0;
    while (s < lo && drow[s] != drow[t]) s++;
    lo = std::min(lo, s);
  }
  return lo;
}

// Softmax of row[lo..t] over the allowed keys (doc[s] == doc[t] when drow is set); every other entry
// of row[0, T) becomes 0. The double version is the scalar reference (libm exp, double sum); the float
// version runs kVecLanes keys at a time with the vectorised exp, lane sums added in double.
static void softmax_causal_row(double* row, const int32_t* drow, int T_, int lo, int t) {
  double mx = -std::numeric_limits<double>::infinity();
  for (int s = lo; s <= t; s++)
    if (attn_allowed(drow, t, s)) mx = std::max(mx, row[s]);
  double sum = 0;
  for (int s = 0; s < T_; s++) {
    if (s >= lo && s <= t && attn_allowed(drow, t, s)) {
      row[s] = std::exp(row[s] - mx);
      sum += row[s];
    } else {
      row[s] = 0;
    }
  }
  double inv = 1.0 / sum;  // s = t is always allowed, so sum >= 1
  for (int s = lo; s <= t; s++) row[s] *= inv;
}

static void softmax_causal_row(float* row, const int32_t* drow, int T_, int lo, int t) {
  constexpr float kNegInf = -std::numeric_limits<float>::infinity();
  const long n = t + 1 - lo;
  float* z = row + lo;
  const int32_t* dz = drow ? drow + lo : nullptr;
  const ivec dt = ivec{} + (drow ? drow[t] : 0);
  // Lanes [s, s + m) of z; masked keys (other document, or padding past the end) read as -inf.
  auto load = [&](long s, long m) {
    fvec v = m == kVecLanes ? fvec_load(z + s) : fvec_load_part(z + s, m, kNegInf);
    if (dz) {
      ivec d;
      if (m == kVecLanes)
        std::memcpy(&d, dz + s, sizeof d);
      else {
        d = dt;
        std::memcpy(&d, dz + s, (size_t)m * sizeof(int32_t));
      }
      v = d == dt ? v : fvec_splat(kNegInf);
    }
    return v;
  };
  fvec vm = fvec_splat(kNegInf);
  for (long s = 0; s < n; s += kVecLanes) {
    fvec v = load(s, std::min<long>(kVecLanes, n - s));
    vm = v > vm ? v : vm;
  }
  const fvec mx = fvec_splat(fvec_max(vm));  // finite: key t is always allowed
  fvec vs = fvec_splat(0.f);
  for (long s = 0; s < n; s += kVecLanes) {
    const long m = std::min<long>(kVecLanes, n - s);
    fvec e = exp_fvec(load(s, m) - mx);  // masked: exp(-inf) = 0
    vs += e;
    if (m == kVecLanes)
      fvec_store(z + s, e);
    else
      fvec_store_part(z + s, e, m);
  }
  const float inv = (float)(1.0 / fvec_sum_double(vs));
  for (long s = 0; s < n; s++) z[s] *= inv;
  std::fill(row, row + lo, 0.f);
  std::fill(row + t + 1, row + T_, 0.f);
}

// The GEMMs go through mm (a callable with tsft::gemm's signature). lo_align > 1 rounds each block's
// first key down to a multiple of it: the extra keys belong to other documents and are masked by the
// softmax (p = 0), and a GemmOps sees at most T_ / lo_align key counts per shape instead of T_ (each
// new shape costs oneDNN a JIT compile).
template <typename T, typename Mm>
static void attention_forward_impl(Mm&& mm, int lo_align, T* out, T* probs, const T* q, const T* k,
                                   const T* v, const int32_t* doc, int B, int T_, int H, int KV, int D) {
  const int G = H / KV;  // query heads per kv head
  const T scale = T(1) / std::sqrt(T(D));
  const int qs = H * D, ks = KV * D;  // row strides of q/out and k/v
  parallel_blocks((long)B * KV, 1,
                  [&](long i0, long i1, int) {
                    for (long i = i0; i < i1; i++) {
                      int b = (int)(i / KV), kh = (int)(i % KV);
                      const int32_t* drow = doc ? doc + (size_t)b * T_ : nullptr;
                      const T* kb = k + (size_t)b * T_ * ks + kh * D;
                      const T* vb = v + (size_t)b * T_ * ks + kh * D;
                      for (int t0 = 0; t0 < T_; t0 += kQBlock) {
                        const int t1 = std::min(T_, t0 + kQBlock), nq = t1 - t0,
                                  lo = key_lo(drow, t0, t1) / lo_align * lo_align, nk = t1 - lo;
                        for (int g = 0; g < G; g++) {
                          int h = kh * G + g;
                          const T* qb = q + ((size_t)b * T_ + t0) * qs + h * D;
                          T* P = probs + ((size_t)b * H + h) * T_ * T_ + (size_t)t0 * T_;  // rows t0..t1-1
                          // S[t0:t1, lo:t1] = scale * Q K^T
                          mm(false, true, nq, nk, D, scale, qb, qs, kb + (size_t)lo * ks, ks, T(0), P + lo,
                             T_);
                          for (int t = t0; t < t1; t++)
                            softmax_causal_row(P + (size_t)(t - t0) * T_, drow, T_, lo, t);
                          // O[t0:t1] = P[t0:t1, lo:t1] V[lo:t1]
                          mm(false, false, nq, D, nk, T(1), P + lo, T_, vb + (size_t)lo * ks, ks, T(0),
                             out + ((size_t)b * T_ + t0) * qs + h * D, qs);
                        }
                      }
                    }
                  },
                  4.0 * G * T_ * T_ * D);
}

// d[s] = p[s] (d[s] - sum_{s' <= last} p[s'] d[s']) for s <= last, 0 beyond (masked keys have p = 0).
// The dot is accumulated in double (float: per-lane float products of one vector, lanes in double).
static void softmax_backward_row(double* d, const double* p, int last, int nk) {
  double dot = 0;
  for (int s = 0; s <= last; s++) dot += p[s] * d[s];
  for (int s = 0; s < nk; s++) d[s] = s <= last ? p[s] * (d[s] - dot) : 0.0;
}
static void softmax_backward_row(float* d, const float* p, int last, int nk) {
  const long n = last + 1;
  double dot = 0;
  long s = 0;
  for (; s + kVecLanes <= n; s += kVecLanes) dot += fvec_sum_double(fvec_load(p + s) * fvec_load(d + s));
  for (; s < n; s++) dot += (double)p[s] * d[s];
  const fvec vdot = fvec_splat((float)dot);
  s = 0;
  for (; s + kVecLanes <= n; s += kVecLanes) fvec_store(d + s, fvec_load(p + s) * (fvec_load(d + s) - vdot));
  for (; s < n; s++) d[s] = p[s] * (d[s] - (float)dot);
  std::fill(d + n, d + nk, 0.f);
}

// Backward of O = P V, P = softmax(S), S = scale Q K^T, per query block [t0, t1) over keys [lo, t1):
//   dV += P^T dO ; dP = dO V^T ; dS = P * (dP - rowsum(P * dP)) ; dQ += scale dS K ; dK += scale dS^T Q
template <typename T, typename Mm>
static void attention_backward_impl(Mm&& mm, int lo_align, T* dq, T* dk, T* dv, T* scratch, const T* dout,
                                    const T* probs, const T* q, const T* k, const T* v, const int32_t* doc,
                                    int B, int T_, int H, int KV, int D) {
  const int G = H / KV;
  const T scale = T(1) / std::sqrt(T(D));
  const int qs = H * D, ks = KV * D;
  int nt = omp_get_max_threads();
  std::vector<T> own;
  if (!scratch) {
    own.resize((size_t)nt * T_ * T_);
    scratch = own.data();
  }
  parallel_blocks(
      (long)B * KV, 1,
      [&](long i0, long i1, int th) {
        T* dS = scratch + (size_t)th * T_ * T_;
        for (long i = i0; i < i1; i++) {
          int b = (int)(i / KV), kh = (int)(i % KV);
          const int32_t* drow = doc ? doc + (size_t)b * T_ : nullptr;
          for (int t0 = 0; t0 < T_; t0 += kQBlock) {
            const int t1 = std::min(T_, t0 + kQBlock), nq = t1 - t0,
                      lo = key_lo(drow, t0, t1) / lo_align * lo_align, nk = t1 - lo;
            size_t koff = ((size_t)b * T_ + lo) * ks + kh * D;
            for (int g = 0; g < G; g++) {
              int h = kh * G + g;
              size_t qoff = ((size_t)b * T_ + t0) * qs + h * D;
              const T* P = probs + ((size_t)b * H + h) * T_ * T_ + (size_t)t0 * T_ + lo;  // [nq, nk], ld T_
              // dV[lo:t1] += P^T dO
              mm(true, false, nk, D, nq, T(1), P, T_, dout + qoff, qs, T(1), dv + koff, ks);
              // dP = dO V^T   [nq, nk] in dS (ld nk)
              mm(false, true, nq, nk, D, T(1), dout + qoff, qs, v + koff, ks, T(0), dS, nk);
              for (int t = t0; t < t1; t++)
                softmax_backward_row(dS + (size_t)(t - t0) * nk, P + (size_t)(t - t0) * T_, t - lo, nk);
              // dQ += scale dS K ; dK += scale dS^T Q
              mm(false, false, nq, D, nk, scale, dS, nk, k + koff, ks, T(1), dq + qoff, qs);
              mm(true, false, nk, D, nq, scale, dS, nk, q + qoff, qs, T(1), dk + koff, ks);
            }
          }
        }
      },
      8.0 * G * T_ * T_ * D);
}

template <typename T>
void attention_forward(T* out, T* probs, const T* q, const T* k, const T* v, const int32_t* doc, int B,
                       int T_, int H, int KV, int D) {
  attention_forward_impl([](auto... a) { gemm(a...); }, 1, out, probs, q, k, v, doc, B, T_, H, KV, D);
}
template <typename T>
void attention_backward(T* dq, T* dk, T* dv, T* scratch, const T* dout, const T* probs, const T* q,
                        const T* k, const T* v, const int32_t* doc, int B, int T_, int H, int KV, int D) {
  attention_backward_impl([](auto... a) { gemm(a...); }, 1, dq, dk, dv, scratch, dout, probs, q, k, v, doc, B,
                          T_, H, KV, D);
}

// Key blocks of a GemmOps start at multiples of 16 keys (T_ / 16 shapes per GEMM of the block loop).
constexpr int kGemmOpsKeyAlign = 16;
void attention_forward(GemmOps& g, float* out, float* probs, const float* q, const float* k, const float* v,
                       const int32_t* doc, int B, int T_, int H, int KV, int D) {
  attention_forward_impl([&g](auto... a) { g.gemm(a...); }, kGemmOpsKeyAlign, out, probs, q, k, v, doc, B, T_,
                         H, KV, D);
}
void attention_backward(GemmOps& g, float* dq, float* dk, float* dv, float* scratch, const float* dout,
                        const float* probs, const float* q, const float* k, const float* v,
                        const int32_t* doc, int B, int T_, int H, int KV, int D) {
  attention_backward_impl([&g](auto... a) { g.gemm(a...); }, kGemmOpsKeyAlign, dq, dk, dv, scratch, dout,
                          probs, q, k, v, doc, B, T_, H, KV, D);
}

template void attention_forward<float>(float*, float*, const float*, const float*, const float*,
                                       const int32_t*, int, int, int, int, int);
template void attention_forward<double>(double*, double*, const double*, const double*, const double*,
                                        const int32_t*, int, int, int, int, int);
template void attention_backward<float>(float*, float*, float*, float*, const float*, const float*,
                                        const float*, const float*, const float*, const int32_t*, int, int,
                                        int, int, int);
template void attention_backward<double>(double*, double*, double*, double*, const double*, const double*,
                                         const double*, const double*, const double*, const int32_t*, int,
                                         int, int, int, int);

}  // namespace tsft
