// The attention core on AVX-512 register tiles (fp32), for the engines' training step (kernels.hpp
// attention_forward_fused). Same arithmetic as attention.cpp (fp32 products and sums, softmax with the
// vectorised exp, dot products of the softmax backward in double), different summation order.
//
// Why not the GemmOps path: packed SFT rows hold several short documents, so the attention GEMMs are
// small and ragged (64 queries x ~100 keys x D = 32). Through a GEMM library each costs a call, a
// primitive lookup and, per new shape, a JIT compile, so that path aligns key blocks to 16 and
// multiplies the keys of other documents, then masks them (p = 0). Here there is no call overhead, so
// query blocks ("segments") are cut at document starts and every multiplied key is a visible one (up
// to the causal diagonal of the segment), and the T x T probabilities are written only where a
// segment reads them.
//
// Segments of a row: when its documents are contiguous runs (packing; one document per row when doc
// is null), every document is cut into blocks of kSegQ queries with keys [doc start, block end); query
// t of the block sees exactly keys [doc start, t]. Otherwise (ids that reappear) rows are cut every
// kSegQ queries with keys from the first occurrence of any of the block's documents, and the softmax
// masks keys of other documents, as attention.cpp does.
//
// Per segment [t0, t1), keys [lo, t1), nq = t1 - t0, nk = t1 - lo, off = t0 - lo (query i is at
// position t0 + i and sees keys j <= i + off), per query head h of kv head kh:
//   forward : S = scale Q K^T (K packed transposed, shared by the G query heads), P = softmax(S) in a
//             local [nq, nk16] tile (zeros past each row's last key), O = P V, P -> probs[t, lo + j].
//   backward: dV += P^T dO ; dP = dO V^T ; dS = scale P (dP - rowsum(P dP)) ; dQ += dS K ; dK += dS^T Q.
#include <immintrin.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <limits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "kernels/cpu/avx512.hpp"
#include "kernels/cpu/blas.hpp"
#include "kernels/cpu/kernels.hpp"
#include "kernels/cpu/vmath.hpp"

namespace tsft {

bool attention_fused_supported(int D) {
  return cpu_has_avx512() && D > 0 && D % 16 == 0;
}

namespace {

constexpr int kSegQ = 64;  // queries per segment
inline int round16(int n) {
  return (n + 15) / 16 * 16;
}

struct Seg {
  int t0, t1, lo;
};

// The segments of one row (see the top of the file); returns whether the softmax must mask keys.
bool row_segments(const int32_t* drow, int T, std::vector<Seg>& segs) {
  segs.clear();
  bool runs = true;
  if (drow) {  // runs iff no document id starts a second run
    std::vector<int32_t> heads;
    for (int t = 0; t < T; t++)
      if (t == 0 || drow[t] != drow[t - 1]) heads.push_back(drow[t]);
    std::sort(heads.begin(), heads.end());
    runs = std::adjacent_find(heads.begin(), heads.end()) == heads.end();
  }
  if (runs) {
    for (int s = 0; s < T;) {
      int e = s + 1;
      while (e < T && (!drow || drow[e] == drow[s])) e++;
      for (int a = s; a < e; a += kSegQ) segs.push_back({a, std::min(e, a + kSegQ), s});
      s = e;
    }
    return false;
  }
  std::unordered_map<int32_t, int> first;
  for (int t = 0; t < T; t++) first.emplace(drow[t], t);
  for (int t0 = 0; t0 < T; t0 += kSegQ) {
    const int t1 = std::min(T, t0 + kSegQ);
    int lo = t0;
    for (int t = t0; t < t1; t++) lo = std::min(lo, first[drow[t]]);
    segs.push_back({t0, t1, lo});
  }
  return true;
}

// ---- register tiles ------------------------------------------------------------------------------
// A loaded vector kept in its register: without this GCC folds the load into each row's FMA, so a
// tile of M rows reads the vector M times and becomes load-bound.
TSFT_AVX512 inline __m512 in_register(__m512 x) {
  asm("" : "+v"(x));
  return x;
}

// (A) C[r][16v + c] = alpha sum_d A[r lda + d] Bt[d ldb + 16v + c], r < M, v < NV.
template <int M, int NV>
TSFT_AVX512 void tile_rows_dot(const float* A, int lda, const float* Bt, int ldb, int D, float alpha,
                               float* C, int ldc) {
  __m512 acc[M][NV];
  for (int r = 0; r < M; r++)
    for (int v = 0; v < NV; v++) acc[r][v] = _mm512_setzero_ps();
  for (int d = 0; d < D; d++) {
    __m512 b[NV];
    for (int v = 0; v < NV; v++) b[v] = in_register(_mm512_loadu_ps(Bt + (size_t)d * ldb + 16 * v));
    for (int r = 0; r < M; r++) {
      const __m512 a = _mm512_set1_ps(A[(size_t)r * lda + d]);
      for (int v = 0; v < NV; v++) acc[r][v] = _mm512_fmadd_ps(a, b[v], acc[r][v]);
    }
  }
  const __m512 al = _mm512_set1_ps(alpha);
  for (int r = 0; r < M; r++)
    for (int v = 0; v < NV; v++) _mm512_storeu_ps(C + (size_t)r * ldc + 16 * v, _mm512_mul_ps(acc[r][v], al));
}

// (B) Out[r][16v + c] (+)= sum_{k0 <= k < n} W[r sr + k sk] X[k ldx + 16v + c], r < M, v < NV: with
// (sr, sk) = (ldw, 1) the rows of W weight the rows of X (P V, dS K); with (1, ldw) its columns do
// (P^T dO, dS^T Q).
template <int M, int NV>
TSFT_AVX512 void tile_combine(const float* W, long sr, long sk, const float* X, int ldx, int k0, int n,
                              float* Out, int ldo, bool accumulate) {
  __m512 acc[M][NV];
  for (int r = 0; r < M; r++)
    for (int v = 0; v < NV; v++)
      acc[r][v] = accumulate ? _mm512_loadu_ps(Out + (size_t)r * ldo + 16 * v) : _mm512_setzero_ps();
  for (int k = k0; k < n; k++) {
    __m512 x[NV];
    for (int v = 0; v < NV; v++) x[v] = in_register(_mm512_loadu_ps(X + (size_t)k * ldx + 16 * v));
    for (int r = 0; r < M; r++) {
      const __m512 w = _mm512_set1_ps(W[r * sr + k * sk]);
      for (int v = 0; v < NV; v++) acc[r][v] = _mm512_fmadd_ps(w, x[v], acc[r][v]);
    }
  }
  for (int r = 0; r < M; r++)
    for (int v = 0; v < NV; v++) _mm512_storeu_ps(Out + (size_t)r * ldo + 16 * v, acc[r][v]);
}

// Tile dispatch over M in [1, 12], NV in [1, 4]: table[M - 1][NV - 1]. Tiles hold at most 24
// accumulators (of 32 registers, next to NV loaded vectors and one broadcast): M = 12 rows when a
// tile is at most 2 vectors wide (D <= 32), else 6.
template <template <int, int> class K>
struct Tiles {
  template <int M, int... NV>
  static constexpr auto row(std::integer_sequence<int, NV...>) {
    return std::array{K<M, NV + 1>::fn...};
  }
  template <int... M>
  static constexpr auto table(std::integer_sequence<int, M...>) {
    return std::array{row<M + 1>(std::make_integer_sequence<int, 4>{})...};
  }
  static constexpr auto all = table(std::make_integer_sequence<int, 12>{});
};
template <int M, int NV>
struct RowsDot {
  static constexpr auto fn = &tile_rows_dot<M, NV>;
};
template <int M, int NV>
struct Combine {
  static constexpr auto fn = &tile_combine<M, NV>;
};

// ---- segment products (causal: row i sees keys j <= i + off) -------------------------------------
// C[i][j] = alpha A_i . Bt[:, j] for i < nq and, per group of 4 rows, the key vectors up to its last
// row's last key (later entries of a row are left for the softmax to zero).
void seg_rows_dot(const float* A, int lda, const float* Bt, int nk16, int D, float alpha, float* C, int nq,
                  int off) {
  for (int i = 0; i < nq; i += 6) {
    const int m = std::min(6, nq - i), jn = std::min(nk16, round16(i + m + off));
    for (int j = 0; j < jn; j += 64)
      Tiles<RowsDot>::all[m - 1][std::min(4, (jn - j) / 16) - 1](A + (size_t)i * lda, lda, Bt + j, nk16, D,
                                                                 alpha, C + (size_t)i * nk16 + j, nk16);
  }
}
inline int tile_rows(int width) {  // width: floats of the tile's row
  return width <= 32 ? 12 : 6;
}
// Out[i] (+)= sum_j W[i][j] X[j] for i < nq (W zero past each row's last key).
void seg_rows_combine(const float* W, int nk16, const float* X, int ldx, int nk, int D, float* Out, int ldo,
                      int nq, int off, bool accumulate) {
  const int M = tile_rows(D);
  for (int i = 0; i < nq; i += M) {
    const int m = std::min(M, nq - i), n = std::min(nk, i + m + off);
    for (int c = 0; c < D; c += 64)
      Tiles<Combine>::all[m - 1][std::min(4, (D - c) / 16) - 1](
          W + (size_t)i * nk16, nk16, 1, X + c, ldx, 0, n, Out + (size_t)i * ldo + c, ldo, accumulate);
  }
}
// Out[j] += sum_i W[i][j] Y[i] for keys j < nk (rows before j - off see no key j); W: leading dim ldw,
// zero past each row's last key.
void seg_cols_combine(const float* W, int ldw, const float* Y, int ldy, int nk, int D, float* Out, int ldo,
                      int nq, int off) {
  const int M = tile_rows(D);
  for (int j = 0; j < nk; j += M) {
    const int m = std::min(M, nk - j), i0 = std::max(0, j - off);
    for (int c = 0; c < D; c += 64)
      Tiles<Combine>::all[m - 1][std::min(4, (D - c) / 16) - 1](W + j, 1, ldw, Y + c, ldy, i0, nq,
                                                                Out + (size_t)j * ldo + c, ldo, true);
  }
}

// Bt[d][j] = X[j ldx + d] for j < nk, 0 for nk <= j < nk16.
void pack_transposed(float* Bt, const float* X, int ldx, int nk, int nk16, int D) {
  for (int d = 0; d < D; d++) {
    float* row = Bt + (size_t)d * nk16;
    for (int j = 0; j < nk; j++) row[j] = X[(size_t)j * ldx + d];
    std::fill(row + nk, row + nk16, 0.f);
  }
}

// ---- softmax over one tile row ---------------------------------------------------------------------
// z[0, n) <- softmax over the visible keys (all of them, or those with dz[j] == dt when dz is set),
// z[n, nk16) <- 0. Arithmetic as attention.cpp's float softmax_causal_row.
void softmax_tile_row(float* z, int n, int nk16, const int32_t* dz, int32_t dt) {
  constexpr float kNegInf = -std::numeric_limits<float>::infinity();
  if (dz)
    for (int j = 0; j < n; j++)
      if (dz[j] != dt) z[j] = kNegInf;
  fvec vm = fvec_splat(kNegInf);
  for (int s = 0; s < n; s += kVecLanes) {
    const int m = std::min(kVecLanes, n - s);
    const fvec v = m == kVecLanes ? fvec_load(z + s) : fvec_load_part(z + s, m, kNegInf);
    vm = v > vm ? v : vm;
  }
  const fvec mx = fvec_splat(fvec_max(vm));  // finite: the diagonal key is always visible
  fvec vs = fvec_splat(0.f);
  for (int s = 0; s < n; s += kVecLanes) {
    const int m = std::min(kVecLanes, n - s);
    const fvec e = exp_fvec((m == kVecLanes ? fvec_load(z + s) : fvec_load_part(z + s, m, kNegInf)) - mx);
    vs += e;
    if (m == kVecLanes)
      fvec_store(z + s, e);
    else
      fvec_store_part(z + s, e, m);
  }
  const fvec inv = fvec_splat((float)(1.0 / fvec_sum_double(vs)));
  int s = 0;
  for (; s + kVecLanes <= n; s += kVecLanes) fvec_store(z + s, fvec_load(z + s) * inv);
  for (; s < n; s++) z[s] *= inv[0];
  std::fill(z + n, z + nk16, 0.f);
}

// dS[0, n) <- scale p (dS - sum_j p_j dS_j) (dot in double, lanes of one vector in float), zeros after.
void softmax_backward_tile_row(float* d, const float* p, int n, int nk16, float scale) {
  double dot = 0;
  int s = 0;
  for (; s + kVecLanes <= n; s += kVecLanes) dot += fvec_sum_double(fvec_load(p + s) * fvec_load(d + s));
  for (; s < n; s++) dot += (double)p[s] * d[s];
  const fvec vdot = fvec_splat((float)dot), vsc = fvec_splat(scale);
  s = 0;
  for (; s + kVecLanes <= n; s += kVecLanes)
    fvec_store(d + s, vsc * (fvec_load(p + s) * (fvec_load(d + s) - vdot)));
  for (; s < n; s++) d[s] = scale * (p[s] * (d[s] - (float)dot));
  std::fill(d + n, d + nk16, 0.f);
}

// Per-thread tiles, kept between calls (no allocation or zeroing per step): a transposed K or V block
// [D, T16] and two [kSegQ, T16] tiles. Every entry a product reads is written first.
struct Scratch {
  std::vector<float> packed, a, b;
  static Scratch& get(int T, int D) {
    static thread_local Scratch s;
    const size_t np = (size_t)D * round16(T), nt = (size_t)kSegQ * round16(T);
    if (s.packed.size() < np) s.packed.resize(np);
    if (s.a.size() < nt) s.a.resize(nt), s.b.resize(nt);
    return s;
  }
};

// Shapes shared by the forward and backward of one call.
struct Dims {
  int T, H, KV, D, G, qs, ks;
  float scale;
  Dims(int T_, int H_, int KV_, int D_)
      : T(T_),
        H(H_),
        KV(KV_),
        D(D_),
        G(H_ / KV_),
        qs(H_ * D_),
        ks(KV_ * D_),
        scale(1.f / std::sqrt((float)D_)) {}
};

// One segment of row b, kv head kh: its sizes and where its keys/values, a query head's rows and that
// head's probabilities start.
struct SegView {
  int nq, nk, nk16, off;
  size_t koff;  // element offset of key (and value) row lo of kv head kh
  size_t qrow;  // element offset of query row t0, head 0
  size_t bh0;   // (b, head 0) index of the [B, H, T, T] probabilities
  int T, D, t0, lo;
  SegView(const Dims& d, const Seg& sg, int b, int kh)
      : nq(sg.t1 - sg.t0),
        nk(sg.t1 - sg.lo),
        nk16(round16(nk)),
        off(sg.t0 - sg.lo),
        koff(((size_t)b * d.T + sg.lo) * d.ks + kh * d.D),
        qrow(((size_t)b * d.T + sg.t0) * d.qs),
        bh0((size_t)b * d.H),
        T(d.T),
        D(d.D),
        t0(sg.t0),
        lo(sg.lo) {}
  size_t q(int h) const { return qrow + (size_t)h * D; }
  // P[t0.., lo..] of head h: [nq, nk] with leading dim T
  size_t p(int h) const { return ((bh0 + h) * T + t0) * T + lo; }
};

// Forward of one segment of row b, kv head kh, for its G query heads (drow: the row's documents when
// the softmax must mask them, else null).
void segment_forward(const Dims& d, const Seg& sg, int b, int kh, const int32_t* drow, Scratch& sc,
                     float* out, float* probs, const float* q, const float* k, const float* v) {
  const SegView z(d, sg, b, kh);
  const int nq = z.nq, nk = z.nk, nk16 = z.nk16, off = z.off;
  const size_t koff = z.koff;
  pack_transposed(sc.packed.data(), k + koff, d.ks, nk, nk16, d.D);
  float* S = sc.a.data();
  for (int g = 0; g < d.G; g++) {
    const int h = kh * d.G + g;
    const size_t qoff = z.q(h);
    seg_rows_dot(q + qoff, d.qs, sc.packed.data(), nk16, d.D, d.scale, S, nq, off);
    for (int i = 0; i < nq; i++)
      softmax_tile_row(S + (size_t)i * nk16, i + off + 1, nk16, drow ? drow + sg.lo : nullptr,
                       drow ? drow[sg.t0 + i] : 0);
    seg_rows_combine(S, nk16, v + koff, d.ks, nk, d.D, out + qoff, d.qs, nq, off, false);
    float* P = probs + z.p(h);
    for (int i = 0; i < nq; i++) std::memcpy(P + (size_t)i * d.T, S + (size_t)i * nk16, nk * sizeof(float));
  }
}

// Backward of one segment. P is read in place in probs (leading dim T): the forward wrote [0, nk) of
// each row, zeros past the diagonal.
void segment_backward(const Dims& d, const Seg& sg, int b, int kh, Scratch& sc, float* dq, float* dk,
                      float* dv, const float* dout, const float* probs, const float* q, const float* k,
                      const float* v) {
  const SegView z(d, sg, b, kh);
  const int nq = z.nq, nk = z.nk, nk16 = z.nk16, off = z.off;
  const size_t koff = z.koff;
  pack_transposed(sc.packed.data(), v + koff, d.ks, nk, nk16, d.D);
  float* dS = sc.b.data();
  for (int g = 0; g < d.G; g++) {
    const int h = kh * d.G + g;
    const size_t qoff = z.q(h);
    const float* P = probs + z.p(h);
    seg_cols_combine(P, d.T, dout + qoff, d.qs, nk, d.D, dv + koff, d.ks, nq, off);
    seg_rows_dot(dout + qoff, d.qs, sc.packed.data(), nk16, d.D, 1.f, dS, nq, off);
    for (int i = 0; i < nq; i++)
      softmax_backward_tile_row(dS + (size_t)i * nk16, P + (size_t)i * d.T, i + off + 1, nk16, d.scale);
    seg_rows_combine(dS, nk16, k + koff, d.ks, nk, d.D, dq + qoff, d.qs, nq, off, true);
    seg_cols_combine(dS, nk16, q + qoff, d.qs, nk, d.D, dk + koff, d.ks, nq, off);
  }
}

}  // namespace

// Work items are (row, kv head) pairs: the G query heads of a kv head accumulate dk/dv in one thread.
void attention_forward_fused(float* out, float* probs, const float* q, const float* k, const float* v,
                             const int32_t* doc, int B, int T_, int H, int KV, int D) {
  const Dims d(T_, H, KV, D);
  parallel_blocks((long)B * KV, 1,
                  [&](long i0, long i1, int) {
                    Scratch& sc = Scratch::get(T_, D);
                    std::vector<Seg> segs;
                    for (long it = i0; it < i1; it++) {
                      const int b = (int)(it / KV), kh = (int)(it % KV);
                      const int32_t* drow = doc ? doc + (size_t)b * T_ : nullptr;
                      const bool masked = row_segments(drow, T_, segs);
                      for (const Seg& sg : segs)
                        segment_forward(d, sg, b, kh, masked ? drow : nullptr, sc, out, probs, q, k, v);
                    }
                  },
                  4.0 * d.G * T_ * T_ * D);
}

void attention_backward_fused(float* dq, float* dk, float* dv, const float* dout, const float* probs,
                              const float* q, const float* k, const float* v, const int32_t* doc, int B,
                              int T_, int H, int KV, int D) {
  const Dims d(T_, H, KV, D);
  parallel_blocks((long)B * KV, 1,
                  [&](long i0, long i1, int) {
                    Scratch& sc = Scratch::get(T_, D);
                    std::vector<Seg> segs;
                    for (long it = i0; it < i1; it++) {
                      const int b = (int)(it / KV), kh = (int)(it % KV);
                      row_segments(doc ? doc + (size_t)b * T_ : nullptr, T_, segs);
                      for (const Seg& sg : segs)
                        segment_backward(d, sg, b, kh, sc, dq, dk, dv, dout, probs, q, k, v);
                    }
                  },
                  8.0 * d.G * T_ * T_ * D);
}

}  // namespace tsft
