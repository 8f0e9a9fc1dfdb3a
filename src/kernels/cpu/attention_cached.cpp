// Decoding attention over a KV cache. The math is attention_forward's for one query against the
// cached keys 0..pos of its sequence (the training kernel is the reference in the tests); on AVX-512
// CPUs with D a multiple of 16 the vectorised variant runs (same bounds: only the summation order and
// the exp, within 1 ulp, differ).
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "kernels/cpu/avx512.hpp"
#include "kernels/cpu/blas.hpp"
#include "kernels/cpu/kernels.hpp"
#include "kernels/cpu/vmath.hpp"

namespace tsft {

void kv_cache_store(float* kc, float* vc, const float* k, const float* v, const int32_t* slot,
                    const int32_t* pos, int B, int T_, int KVD, int P) {
  for (int b = 0; b < B; b++)
    for (int t = 0; t < T_; t++) {
      size_t n = (size_t)b * T_ + t;
      size_t dst = ((size_t)slot[b] * P + pos[n]) * KVD;
      std::memcpy(kc + dst, k + n * KVD, KVD * sizeof(float));
      std::memcpy(vc + dst, v + n * KVD, KVD * sizeof(float));
    }
}

namespace {

// One token against its cached keys 0..last, query heads h0 .. h0 + G - 1 of one kv head (they read the
// same keys and values). Scalar reference.
void cached_heads_scalar(float* o, const float* q, const float* kb, const float* vb, int KVD, int last, int D,
                         int G, float scale, float* sc) {
  for (int g = 0; g < G; g++, q += D, o += D) {
    float mx = -INFINITY;
    for (int s = 0; s <= last; s++) {
      const float* kv = kb + (size_t)s * KVD;
      float dot = 0;
#pragma omp simd reduction(+ : dot)
      for (int d = 0; d < D; d++) dot += q[d] * kv[d];
      sc[s] = dot * scale;
      mx = std::max(mx, sc[s]);
    }
    double sum = 0;
    for (int s = 0; s <= last; s++) {
      sc[s] = std::exp(sc[s] - mx);
      sum += sc[s];
    }
    float inv = (float)(1.0 / sum);
    for (int d = 0; d < D; d++) o[d] = 0;
    for (int s = 0; s <= last; s++) {
      float p = sc[s] * inv;
      const float* vv = vb + (size_t)s * KVD;
      for (int d = 0; d < D; d++) o[d] += p * vv[d];
    }
  }
}

// o[16 NV] = inv sum_t p[t] v[t][16 NV] (the accumulators stay in registers: NV is a constant).
template <int NV>
TSFT_AVX512 void sum_pv(float* o, const float* p, const float* vb, int KVD, int L, __m512 inv) {
  __m512 acc[NV];
  for (int v = 0; v < NV; v++) acc[v] = _mm512_setzero_ps();
  for (int t = 0; t < L; t++) {
    const __m512 pt = _mm512_set1_ps(p[t]);
    const float* vv = vb + (size_t)t * KVD;
    for (int v = 0; v < NV; v++) acc[v] = _mm512_fmadd_ps(pt, _mm512_loadu_ps(vv + 16 * v), acc[v]);
  }
  for (int v = 0; v < NV; v++) _mm512_storeu_ps(o + 16 * v, _mm512_mul_ps(acc[v], inv));
}

// The same on AVX-512 (D a multiple of 16): each key row is read once for the G heads; scores in a
// [G, last + 1] tile, the vectorised exp, the output accumulated in registers (128 floats at a time).
TSFT_AVX512 void cached_heads_avx512(float* o, const float* q, const float* kb, const float* vb, int KVD,
                                     int last, int D, int G, float scale, float* sc) {
  const int L = last + 1;
  for (int s = 0; s < L; s++) {
    const float* kv = kb + (size_t)s * KVD;
    for (int g = 0; g < G; g++) {
      const float* qg = q + (size_t)g * D;
      __m512 acc = _mm512_mul_ps(_mm512_loadu_ps(qg), _mm512_loadu_ps(kv));
      for (int d = 16; d < D; d += 16)
        acc = _mm512_fmadd_ps(_mm512_loadu_ps(qg + d), _mm512_loadu_ps(kv + d), acc);
      sc[(size_t)g * L + s] = _mm512_reduce_add_ps(acc) * scale;
    }
  }
  for (int g = 0; g < G; g++) {
    float* z = sc + (size_t)g * L;
    float mx = -INFINITY;
    for (int s = 0; s < L; s++) mx = std::max(mx, z[s]);
    const fvec vmx = fvec_splat(mx);
    fvec vs = fvec_splat(0.f);
    int s = 0;
    for (; s + kVecLanes <= L; s += kVecLanes) {
      const fvec e = exp_fvec(fvec_load(z + s) - vmx);
      vs += e;
      fvec_store(z + s, e);
    }
    double sum = fvec_sum_double(vs);
    for (; s < L; s++) sum += (z[s] = exp_vec(z[s] - mx));
    const __m512 inv = _mm512_set1_ps((float)(1.0 / sum));
    float* og = o + (size_t)g * D;
    for (int c = 0; c < D; c += 128) {
      switch (std::min(8, (D - c) / 16)) {
#define TSFT_PV(NV)                             \
  case NV:                                      \
    sum_pv<NV>(og + c, z, vb + c, KVD, L, inv); \
    break;
        TSFT_PV(1) TSFT_PV(2) TSFT_PV(3) TSFT_PV(4) TSFT_PV(5) TSFT_PV(6) TSFT_PV(7) TSFT_PV(8)
#undef TSFT_PV
      }
    }
  }
}

}  // namespace

// Work items are (token, kv head) pairs; each handles the G query heads that share the kv head.
void attention_cached_forward(float* out, const float* q, const float* kc, const float* vc,
                              const int32_t* slot, const int32_t* pos, int B, int T_, int H, int KV, int D,
                              int P) {
  const int G = H / KV, KVD = KV * D;
  const float scale = 1.0f / std::sqrt((float)D);
  const long work = (long)B * T_ * KV;
  double keys = 0;  // mean keys per token, for the parallel split
  for (long n = 0; n < (long)B * T_; n++) keys += pos[n] + 1;
  keys /= std::max<long>(1, (long)B * T_);
  auto* heads = cpu_has_avx512() && D % 16 == 0 ? cached_heads_avx512 : cached_heads_scalar;
  parallel_blocks(
      work, 1,
      [&](long i0, long i1, int) {
        thread_local std::vector<float> sc;
        if (sc.size() < (size_t)G * P) sc.resize((size_t)G * P);
        for (long i = i0; i < i1; i++) {
          const long n = i / KV;
          const int kh = (int)(i % KV), b = (int)(n / T_);
          const size_t base = (size_t)slot[b] * P * KVD + (size_t)kh * D,
                       qo = (n * (size_t)H + (size_t)kh * G) * D;
          heads(out + qo, q + qo, kc + base, vc + base, KVD, pos[n], D, G, scale, sc.data());
        }
      },
      4.0 * D * G * keys);
}

}  // namespace tsft
