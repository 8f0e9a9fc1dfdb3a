// Decoding attention over a KV cache. The math is attention_forward's for one query against the
// cached keys 0..pos of its sequence (the training kernel is the reference in the tests).
#include <cmath>
#include <cstring>
#include <vector>

#include "kernels/cpu/blas.hpp"
#include "kernels/cpu/kernels.hpp"

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

void attention_cached_forward(float* out, const float* q, const float* kc, const float* vc,
                              const int32_t* slot, const int32_t* pos, int B, int T_, int H, int KV, int D,
                              int P) {
  const int G = H / KV, KVD = KV * D;
  const float scale = 1.0f / std::sqrt((float)D);
  const long work = (long)B * T_ * H;
  int nt = omp_get_max_threads();
  std::vector<float> scores_all((size_t)nt * P);
  parallel_blocks(work, 4, [&](long i0, long i1, int th) {
    float* sc = scores_all.data() + (size_t)th * P;
    for (long i = i0; i < i1; i++) {
      long n = i / H;
      int h = (int)(i % H), kh = h / G, b = (int)(n / T_);
      int last = pos[n];
      const float* qv = q + n * (size_t)H * D + (size_t)h * D;
      const float* kb = kc + (size_t)slot[b] * P * KVD + (size_t)kh * D;
      const float* vb = vc + (size_t)slot[b] * P * KVD + (size_t)kh * D;
      float mx = -INFINITY;
      for (int s = 0; s <= last; s++) {
        const float* kv = kb + (size_t)s * KVD;
        float dot = 0;
#pragma omp simd reduction(+ : dot)
        for (int d = 0; d < D; d++) dot += qv[d] * kv[d];
        sc[s] = dot * scale;
        mx = std::max(mx, sc[s]);
      }
      double sum = 0;
      for (int s = 0; s <= last; s++) {
        sc[s] = std::exp(sc[s] - mx);
        sum += sc[s];
      }
      float inv = (float)(1.0 / sum);
      float* o = out + n * (size_t)H * D + (size_t)h * D;
      for (int d = 0; d < D; d++) o[d] = 0;
      for (int s = 0; s <= last; s++) {
        float p = sc[s] * inv;
        const float* vv = vb + (size_t)s * KVD;
        for (int d = 0; d < D; d++) o[d] += p * vv[d];
      }
    }
  }, 4.0 * D * (pos[0] + 1));
}

}  // namespace tsft
